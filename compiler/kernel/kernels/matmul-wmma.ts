/**
 * The "wmma" variant of a matmul's per-element kernel (Kernel.variants, CUDA sm_80+): for f16 or
 * bf16 operands of one dtype, C[*b, i, j] = Σ_k f32(A[*b', i, k])·f32(B[*b'', k, j]) (batch dims
 * broadcast as in as-compute.ts) on tensor cores, 16×16 output tiles with f32 accumulation.
 *
 * It keeps the scalar kernel's launch (buffers, uniforms, 64-thread workgroups and grid): the
 * workgroups visit tile pairs grid-stride (warp w of workgroup g takes tile 2·(g + s·G) + w for
 * s = 0, 1, …, where G = ceil(total / 64) is the scalar grid), so every launch shape is covered.
 * Per tile, K is walked in panels of KC = 64: the warp's threads stage A[i0.., k0..] (16 × KC)
 * and B[k0.., j0..] (KC × 16) zero-padded into packed shared tiles, a barrier, one mma of KC/16
 * steps into the warp's f32 C tile (zeroed first), a barrier. Then the tile is stored (rounded to
 * the output dtype) within bounds. The loops have workgroup-uniform bounds, so both warps reach
 * every barrier; tiles past the end compute zeros and store nothing.
 */
import * as Dm from "../../graph/dim.ts";
import type { Dim } from "../../graph/dim.ts";
import { K, type KExpr, type KStmt, type KType, type Kernel } from "../ir.ts";
import type { LowerCtx } from "../registry.ts";
import { KernelScope, castK, dimToK, ktype, stridesK } from "../sexpr-to-kernel.ts";
import { decompose } from "./elementwise.ts";

const WG = 64;
const KC = 64;

const lt = (a: KExpr, b: KExpr): KExpr => K.bin("lt", a, b);
const and = (a: KExpr, b: KExpr): KExpr => K.bin("and", a, b);
const v = (name: string): KExpr => K.v(name, "i32");
const let_ = (name: string, init: KExpr): KStmt => ({ k: "let", name, t: init.t, init, mutable: false });
const sload = (arr: string, index: KExpr): KExpr => ({ k: "sload", arr, index, t: "f32" });

/** Offset of [...batch idx, row, col] in a tensor whose batch dims broadcast to the output's. */
function offset(shape: readonly Dim[], outBatch: readonly Dim[], bidx: readonly KExpr[], row: KExpr, col: KExpr, sc: KernelScope): KExpr {
  const st = stridesK(shape, sc);
  const r = shape.length;
  const off = outBatch.length - (r - 2);
  let o: KExpr = K.add(K.mul(row, st[r - 2]!), K.mul(col, st[r - 1]!));
  for (let a = 0; a < r - 2; a++) {
    if (shape[a]!.value === 1 && outBatch[a + off]!.value !== 1) continue;
    o = K.add(o, K.mul(bidx[a + off]!, st[a]!));
  }
  return o;
}

export function matmulWmmaVariant(cx: LowerCtx, base: Kernel): Kernel | undefined {
  if (cx.node.op !== "matmul" || cx.inputs.length !== 2) return undefined;
  const [A, B] = cx.inputs.map((i) => i.type);
  const O = cx.outputs[0]!.type;
  const t = ktype(A!.dtype) as KType;
  if ((t !== "f16" && t !== "bf16") || ktype(B!.dtype) !== t || A!.shape.length < 2 || B!.shape.length < 2 || O.shape.length < 2) return undefined;
  const sc = new KernelScope();
  const r = O.shape.length;
  const batch = O.shape.slice(0, -2);
  const [M, N] = [O.shape[r - 2]!, O.shape[r - 1]!];
  const Kd = A!.shape[A!.shape.length - 1]!;
  const MK = dimToK(M, sc);
  const NK = dimToK(N, sc);
  const KK = dimToK(Kd, sc);
  const tm = Dm.ceilDiv(M, 16);
  const tn = Dm.ceilDiv(N, 16);
  const tiles = Dm.mul(Dm.mul(Dm.numel(batch), tm), tn);
  const total = Dm.numel(O.shape);
  const groups = Dm.ceilDiv(total, WG); // the scalar kernel's grid
  const body: KStmt[] = [
    let_("tid", K.cast(K.lid(0), "i32")),
    let_("lane", K.cast(K.bin("bitand", K.lid(0), K.u32(31)), "i32")),
    let_("warp", K.cast(K.bin("shr", K.lid(0), K.u32(5)), "i32")),
    let_("wg", K.cast(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), "i32")),
    let_("ngroups", dimToK(groups, sc)),
    let_("ntiles", dimToK(tiles, sc)),
  ];
  // per tile: which batch, rows and columns
  const tile: KStmt[] = [let_("ti", K.add(K.mul(K.add(v("wg"), K.mul(v("s"), v("ngroups"))), K.i32(2)), v("warp")))];
  const tmK = dimToK(tm, sc);
  const tnK = dimToK(tn, sc);
  tile.push(
    let_("tj", K.bin("mod", v("ti"), tnK)),
    let_("tq", K.bin("div", v("ti"), tnK)),
    let_("tr", K.bin("mod", v("tq"), tmK)),
    let_("tb", K.bin("div", v("tq"), tmK)),
    let_("i0", K.mul(v("tr"), K.i32(16))),
    let_("j0", K.mul(v("tj"), K.i32(16))),
    let_("live", lt(v("ti"), v("ntiles"))),
  );
  const bidx = decompose(v("tb"), batch, sc, tile, "b");
  const cBase = K.mul(v("warp"), K.i32(256));
  const aBase = K.mul(v("warp"), K.i32(16 * KC));
  const bBase = K.mul(v("warp"), K.i32(KC * 16));
  // zero this warp's C tile
  tile.push({ k: "for", var: "e", start: v("lane"), end: K.i32(256), step: 32, body: [{ k: "sstore", arr: "ct", index: K.add(cBase, v("e")), value: K.f32(0) }] });
  // K panels
  const panel: KStmt[] = [];
  const stage = (arr: string, rows: number, cols: number, base: KExpr, src: string, shape: readonly Dim[], row: KExpr, col: KExpr, ok: KExpr): KStmt => {
    const b: KStmt[] = [let_("sr", K.bin("div", v("e"), K.i32(cols))), let_("scol", K.bin("mod", v("e"), K.i32(cols)))];
    const x = `x_${arr}`;
    b.push({ k: "let", name: x, t, init: { k: "const", v: 0, t }, mutable: true });
    b.push({ k: "if", cond: and(v("live"), ok), then: [{ k: "assign", name: x, value: K.load(src, offset(shape, batch, bidx, row, col, sc), t) }] });
    b.push({ k: "sstore", arr, index: K.add(base, v("e")), value: castK(K.v(x, t), t) });
    return { k: "for", var: "e", start: v("lane"), end: K.i32(rows * cols), step: 32, body: b };
  };
  const ai = K.add(v("i0"), v("sr"));
  const ak = K.add(v("k0"), v("scol"));
  panel.push(stage("at", 16, KC, aBase, "in0", A!.shape, ai, ak, and(lt(ai, MK), lt(ak, KK))));
  const bk = K.add(v("k0"), v("sr"));
  const bj = K.add(v("j0"), v("scol"));
  panel.push(stage("bt", KC, 16, bBase, "in1", B!.shape, bk, bj, and(lt(bk, KK), lt(bj, NK))));
  panel.push({ k: "barrier" });
  panel.push({
    k: "mma", ab: t, acc: true, ksteps: KC / 16,
    a: { arr: "at", offset: aBase, ld: KC },
    b: { arr: "bt", offset: bBase, ld: 16, layout: "row" },
    c: { arr: "ct", offset: cBase, ld: 16 },
  });
  panel.push({ k: "barrier" });
  tile.push({ k: "for", var: "k0", start: K.i32(0), end: KK, step: KC, body: panel });
  // store the tile
  const oT = ktype(O.dtype);
  const oi = K.add(v("i0"), K.bin("div", v("e"), K.i32(16)));
  const oj = K.add(v("j0"), K.bin("mod", v("e"), K.i32(16)));
  const oStrides = stridesK(O.shape, sc);
  let oOff: KExpr = K.add(K.mul(oi, oStrides[r - 2]!), K.mul(oj, oStrides[r - 1]!));
  bidx.forEach((b, a) => (oOff = K.add(oOff, K.mul(b, oStrides[a]!))));
  tile.push({
    k: "for", var: "e", start: v("lane"), end: K.i32(256), step: 32, body: [
      { k: "if", cond: and(v("live"), and(lt(oi, MK), lt(oj, NK))), then: [{ k: "store", buf: "out", index: oOff, value: castK(sload("ct", K.add(cBase, v("e"))), oT) }] },
    ],
  });
  // tile pairs, grid-stride: s < ceil(ceil(ntiles / 2) / ngroups), uniform in the workgroup
  const pairs = K.bin("div", K.add(K.bin("div", K.add(v("ntiles"), K.i32(1)), K.i32(2)), K.sub(v("ngroups"), K.i32(1))), v("ngroups"));
  body.push({ k: "if", cond: lt(v("wg"), v("ngroups")), then: [{ k: "for", var: "s", start: K.i32(0), end: pairs, step: 1, body: tile }] });
  const kernel: Kernel = {
    ...base,
    shared: [
      { name: "at", t, size: 2 * 16 * KC, packed: true },
      { name: "bt", t, size: 2 * KC * 16, packed: true },
      { name: "ct", t: "f32", size: 2 * 256 },
    ],
    uniforms: [...sc.uniforms].sort().map((name) => ({ name, t: "i32" as const })),
    body,
  };
  // the launch is shared with the scalar kernel: same uniforms, or no variant
  return JSON.stringify(kernel.uniforms) === JSON.stringify(base.uniforms) ? kernel : undefined;
}
