/**
 * Row-parallel softmax and logsumexp (KERNELS_FIRST, tried before the per-element form, whose
 * threads each recompute their row's max and sum: O(L) per element). One 64-thread workgroup per
 * row along the op's axis (any axis: the row is base + j·inner): the threads take every 64th element
 * for a partial max, a tree reduction in workgroup memory combines them (max propagates NaN like the
 * sequential loop), then the same for Σ exp(x - max), then the elementwise epilogue (softmax) or one
 * store (logsumexp). The sum's order differs from the per-element kernel's sequential loop, within
 * the f32 tolerance policy (compiler/tolerance.ts), as these ops' per-element bodies already are.
 * A fully -inf row gives softmax 0 and logsumexp -inf (ops.ts), like the per-element body; a row
 * whose max is +inf or NaN gives that max as its logsumexp, like the interpreter (logSumExpRow).
 * Declines rows statically shorter than 64 (the per-element kernel is fine there).
 */
import * as D from "../../graph/dim.ts";
import type { Dim } from "../../graph/dim.ts";
import type { OpArgs } from "../../graph/ops.ts";
import { K, type KExpr, type KStmt, type Kernel } from "../ir.ts";
import type { Launch } from "../program.ts";
import { markFullWrite } from "../plan.ts";
import { KERNELS_FIRST, type LowerCtx } from "../registry.ts";
import { KernelScope, castK, dimToK, ktype } from "../sexpr-to-kernel.ts";

const WG = 64;

const lt = (a: KExpr, b: KExpr): KExpr => K.bin("lt", a, b);
const sload = (arr: string, index: KExpr): KExpr => ({ k: "sload", arr, index, t: "f32" });

function rowKernel(cx: LowerCtx): Launch[] | undefined {
  const node = cx.node;
  if (node.op !== "softmax" && node.op !== "logsumexp") return undefined;
  const x = cx.inputs[0]!;
  const out = cx.outputs[0]!;
  const xt = ktype(x.type.dtype);
  const ot = ktype(out.type.dtype);
  if (!["f32", "f16", "bf16"].includes(xt) || !["f32", "f16", "bf16"].includes(ot)) return undefined;
  const xs = x.type.shape;
  const rank = xs.length;
  if (rank === 0) return undefined;
  const axis0 = (node.arg as OpArgs["softmax"] | OpArgs["logsumexp"]).axis;
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  const Ld = xs[axis]!;
  if (Ld.value !== undefined && Ld.value < WG) return undefined;
  const innerD = xs.slice(axis + 1).reduce<Dim>((p, d) => D.mul(p, d), D.dim(1));
  const rowsD = xs.filter((_, i) => i !== axis).reduce<Dim>((p, d) => D.mul(p, d), D.dim(1));

  const sc = new KernelScope();
  const s: KStmt[] = [];
  const let_ = (prefix: string, init: KExpr, mutable = false, t: "i32" | "f32" | "bool" = "i32"): Extract<KExpr, { k: "var" }> => {
    const name = sc.fresh(prefix);
    s.push({ k: "let", name, t, init, mutable });
    return { k: "var", name, t };
  };
  const L = dimToK(Ld, sc);
  const inner = dimToK(innerD, sc);
  const row = let_("row", K.cast(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), "i32"));
  const t = let_("t", K.cast(K.lid(0), "i32"));
  // workgroups past the last row (a grid folded into y) walk an empty row but reach every barrier
  const lim = let_("lim", K.sel(lt(row, dimToK(rowsD, sc)), L, K.i32(0)));
  const base = let_("base", K.add(K.mul(K.mul(K.bin("div", row, inner), L), inner), K.bin("mod", row, inner)));
  const at = (j: KExpr): KExpr => castK(K.load("x", K.add(base, K.mul(j, inner)), xt), "f32");
  const strided = (body: (j: KExpr) => KStmt[]): KStmt => {
    const v = sc.fresh("j");
    return { k: "for", var: v, start: t, end: lim, step: WG, body: body(K.v(v, "i32")) };
  };
  /** Tree-combines each thread's `v` in workgroup memory; returns the row's value (all threads). */
  const tree = (v: Extract<KExpr, { k: "var" }>, op: "max" | "add"): Extract<KExpr, { k: "var" }> => {
    s.push({ k: "sstore", arr: "red", index: t, value: v });
    s.push({ k: "barrier" });
    for (let w = WG / 2; w >= 1; w /= 2) {
      const o = K.add(t, K.i32(w));
      const c = op === "max" ? K.bin("max", sload("red", t), sload("red", o)) : K.add(sload("red", t), sload("red", o));
      s.push({ k: "if", cond: lt(t, K.i32(w)), then: [{ k: "sstore", arr: "red", index: t, value: c }] });
      s.push({ k: "barrier" });
    }
    const r = let_("r", sload("red", K.i32(0)), false, "f32");
    s.push({ k: "barrier" }); // everyone has read red[0] before it is written again
    return r;
  };

  const pm = let_("pm", K.f32(-Infinity), true, "f32");
  s.push(strided((j) => [{ k: "assign", name: pm.name, value: K.bin("max", pm, at(j)) }]));
  const mx = tree(pm, "max");
  const dead = let_("dead", K.bin("eq", mx, K.f32(-Infinity)), false, "bool");
  const safe = let_("safe", K.sel(dead, K.f32(0), mx), false, "f32");
  const ps = let_("ps", K.f32(0), true, "f32");
  s.push(strided((j) => [{ k: "assign", name: ps.name, value: K.add(ps, K.un("exp", K.bin("sub", at(j), safe))) }]));
  const sum = tree(ps, "add");
  if (node.op === "softmax") {
    s.push(
      strided((j) => [
        {
          k: "store",
          buf: "out",
          index: K.add(base, K.mul(j, inner)),
          value: castK(K.sel(dead, K.f32(0), K.bin("div", K.un("exp", K.bin("sub", at(j), safe)), sum)), ot),
        },
      ]),
    );
  } else {
    s.push({
      k: "if",
      cond: K.bin("and", K.bin("eq", t, K.i32(0)), lt(row, dimToK(rowsD, sc))),
      then: [{ k: "store", buf: "out", index: row, value: castK(K.sel(lt(K.un("abs", mx), K.f32(Infinity)), K.add(mx, K.un("log", sum)), mx), ot) }],
    });
  }

  const uniforms = [...sc.uniforms].sort();
  const kernel: Kernel = {
    name: `${node.op}_${node.id}`,
    workgroup: [WG, 1, 1],
    buffers: [
      { name: "x", t: xt, access: "read" },
      { name: "out", t: ot, access: "read_write" },
    ],
    uniforms: uniforms.map((name) => ({ name, t: "i32" as const })),
    shared: [{ name: "red", t: "f32", size: WG }],
    body: s,
    dispatch: [rowsD, D.dim(1), D.dim(1)],
  };
  // every output element is stored (an empty row's logsumexp included), so plan-memory may reuse a buffer for it
  return [markFullWrite({ k: "launch", kernel, args: [x.id, out.id], uniforms: uniforms.map((u) => ({ kind: "dim", name: u.slice(2) })), node }, out.id)];
}

KERNELS_FIRST.softmax = rowKernel;
KERNELS_FIRST.logsumexp = rowKernel;
