/**
 * The generic per-element kernel: one thread per output element evaluates an index-notation body
 * (a compute node, or an op's as-compute form) and stores it, rounded to the output dtype.
 * Workgroups of 64 threads along x; the workgroup id is linearized (wid.x + wid.y * nwg.x) so the
 * runtime can fold large grids into y.
 */
import { ceilDiv, dim, numel, type Dim } from "../../graph/dim.ts";
import type { SExpr } from "../../graph/expr.ts";
import { K, type KExpr, type KStmt, type Kernel } from "../ir.ts";
import type { LowerCtx } from "../registry.ts";
import type { Launch } from "../program.ts";
import { KernelScope, castK, compileExpr, dimToK, ktype, type SrcInfo } from "../sexpr-to-kernel.ts";

export const WG = 64;

/** i32 linear thread id for [n, 1, 1] dispatches. */
export function linearId(wg: number): KExpr {
  const wgId = K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0)));
  return K.cast(K.add(K.mul(wgId, K.u32(wg)), K.lid(0)), "i32");
}

/** Splits a row-major flat index into per-axis index lets; returns the index expressions. */
export function decompose(flat: KExpr, shape: readonly Dim[], sc: KernelScope, out: KStmt[], prefix = "o"): KExpr[] {
  const idx: KExpr[] = [];
  let rest = flat;
  for (let i = shape.length - 1; i >= 0; i--) {
    const name = sc.fresh(prefix);
    if (i === 0) out.push({ k: "let", name, t: "i32", init: rest, mutable: false });
    else {
      const d = dimToK(shape[i]!, sc);
      out.push({ k: "let", name, t: "i32", init: K.bin("mod", rest, d), mutable: false });
      const q = sc.fresh("q");
      out.push({ k: "let", name: q, t: "i32", init: K.bin("div", rest, d), mutable: false });
      rest = K.v(q, "i32");
    }
    idx[i] = K.v(name, "i32");
  }
  return idx;
}

export function computeKernel(cx: LowerCtx, body: SExpr): Launch {
  const node = cx.node;
  const out = cx.outputs[0]!;
  const sc = new KernelScope();
  const srcs: SrcInfo[] = cx.inputs.map((inp, i) => ({ buf: `in${i}`, dtype: inp.type.dtype, shape: inp.type.shape }));
  const stmts: KStmt[] = [];
  const total = numel(out.type.shape);
  stmts.push({ k: "let", name: "gi", t: "i32", init: linearId(WG), mutable: false });
  const inner: KStmt[] = [];
  const idx = decompose(K.v("gi", "i32"), out.type.shape, sc, inner);
  const vars = new Map<number, KExpr>(idx.map((e, i) => [i, e]));
  const extents = new Map<number, Dim>(out.type.shape.map((d, i) => [i, d]));
  const value = compileExpr(body, { sc, srcs, vars, extents, flag: "flag" }, inner);
  inner.push({ k: "store", buf: "out", index: K.v("gi", "i32"), value: castK(value, ktype(out.type.dtype)) });
  stmts.push({ k: "if", cond: K.bin("lt", K.v("gi", "i32"), dimToK(total, sc)), then: inner });
  const uniforms = [...sc.uniforms].sort();
  const kernel: Kernel = {
    name: `${node.op}_${node.id}`,
    workgroup: [WG, 1, 1],
    buffers: [
      ...srcs.map((s) => ({ name: s.buf, t: ktype(s.dtype), access: "read" as const })),
      { name: "out", t: ktype(out.type.dtype), access: "read_write" as const },
      { name: "flag", t: "u32" as const, access: "read_write" as const },
    ],
    uniforms: uniforms.map((name) => ({ name, t: "i32" as const })),
    shared: [],
    body: stmts,
    dispatch: [ceilDiv(total, WG), dim(1), dim(1)],
  };
  return {
    k: "launch",
    kernel,
    args: [...cx.inputs.map((i) => i.id), out.id, cx.flag],
    uniforms: uniforms.map((u) => ({ kind: "dim", name: u.slice(2) })),
    node,
  };
}
