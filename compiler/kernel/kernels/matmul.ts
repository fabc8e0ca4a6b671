/**
 * Tiled f32 matmul (KERNELS_FIRST, tried before the per-element form): each workgroup of 256
 * threads computes a T×T = 64×64 output tile, each thread a 4×4 block in registers (rows ty + (T/4)·i, columns
 * tx + (T/4)·j). K is staged through workgroup memory in panels of KT = 16 (A panel T×KT, B panel
 * KT×T) with barriers; edges are zero-padded, so any M, N, K works (symbolic dims as uniforms).
 *
 * Every output's sum runs over k = 0, 1, …, K-1 in order with `acc = acc + a·b` in f32, exactly as
 * the per-element kernel does; the padded products are +0·+0 added to an accumulator that starts
 * at +0 (and so is never -0), which leaves it unchanged. Results are therefore the per-element
 * kernel's bits (up to the target compiler's own choice of contracting a·b + acc into an fma,
 * which both kernels leave to it alike).
 *
 * (A 32×32 tile on 64 threads, 8 panel loads per thread, made SwiftShader's shader compiler run out
 * of memory (12 GB) for M = 1; the 64-wide tile is used for every shape.)
 *
 * Declines (undefined → per-element kernel) on targets with fewer than 256 invocations or 8 KiB
 * of workgroup storage, and for non-f32 operands: f16/bf16 keep the per-element
 * kernel and its "wmma" variant (matmul-wmma.ts); integer matmul keeps its wrapping i32 loop.
 * Batch axes are linearized into the workgroup id and broadcast per operand (size-1 axes read 0).
 */
import * as D from "../../graph/dim.ts";
import type { Dim } from "../../graph/dim.ts";
import { K, type KExpr, type KStmt, type Kernel } from "../ir.ts";
import type { Launch } from "../program.ts";
import { markFullWrite } from "../plan.ts";
import { KERNELS_FIRST, type LowerCtx } from "../registry.ts";
import { KernelScope, dimToK } from "../sexpr-to-kernel.ts";

const KT = 16;
const R = 4;

const lt = (a: KExpr, b: KExpr): KExpr => K.bin("lt", a, b);
const and = (a: KExpr, b: KExpr): KExpr => K.bin("and", a, b);
const sload = (arr: string, index: KExpr): KExpr => ({ k: "sload", arr, index, t: "f32" });
const isConst = (e: KExpr, v: number) => e.k === "const" && e.v === v;
const divK = (a: KExpr, b: KExpr): KExpr => (isConst(b, 1) ? a : K.bin("div", a, b));
const modK = (a: KExpr, b: KExpr): KExpr => (isConst(b, 1) ? K.i32(0) : K.bin("mod", a, b));

export function tiledMatmul(cx: LowerCtx): Launch[] | undefined {
  const node = cx.node;
  const [a, b] = cx.inputs as [LowerCtx["inputs"][0], LowerCtx["inputs"][0]];
  const out = cx.outputs[0]!;
  if (a.type.dtype !== "f32" || b.type.dtype !== "f32" || out.type.dtype !== "f32") return undefined;
  const as = a.type.shape;
  const bs = b.type.shape;
  const os = out.type.shape;
  if (as.length < 2 || bs.length < 2 || os.length < 2) return undefined;
  const T = 64;
  const TPR = T / R; // threads per row of the thread grid
  const WGN = TPR * TPR;
  if ((cx.caps?.maxComputeInvocationsPerWorkgroup ?? 256) < WGN || (cx.caps?.maxComputeWorkgroupStorageSize ?? 16384) < 2 * T * KT * 4) return undefined;

  const sc = new KernelScope();
  const s: KStmt[] = [];
  const let_ = (prefix: string, init: KExpr, mutable = false, t: "i32" | "f32" = "i32"): KExpr => {
    const name = sc.fresh(prefix);
    s.push({ k: "let", name, t, init, mutable });
    return K.v(name, t);
  };
  const Md = os[os.length - 2]!;
  const Nd = os[os.length - 1]!;
  const Kd = as[as.length - 1]!;
  const M = dimToK(Md, sc);
  const N = dimToK(Nd, sc);
  const Kk = dimToK(Kd, sc);
  const batchShape = os.slice(0, -2);
  const tilesN = D.ceilDiv(Nd, T);
  const tilesM = D.ceilDiv(Md, T);
  const tilesND = dimToK(tilesN, sc);
  const tilesMD = dimToK(tilesM, sc);

  const wg = let_("wg", K.cast(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), "i32"));
  const t = let_("t", K.cast(K.lid(0), "i32"));
  const tx = let_("tx", K.bin("bitand", t, K.i32(TPR - 1)));
  const ty = let_("ty", K.bin("shr", t, K.u32(Math.log2(TPR))));
  const tn = let_("tn", modK(wg, tilesND));
  const rest = let_("rest", divK(wg, tilesND));
  const tm = let_("tm", modK(rest, tilesMD));
  const bi = let_("bi", divK(rest, tilesMD));
  // batch index → per-operand offsets (broadcast: size-1 operand axes stay 0)
  let aOff: KExpr = K.i32(0);
  let bOff: KExpr = K.i32(0);
  {
    let q = bi;
    const aB = as.slice(0, -2);
    const bB = bs.slice(0, -2);
    let aStride: KExpr = K.mul(dimToK(as[as.length - 2]!, sc), Kk);
    let bStride: KExpr = K.mul(Kk, dimToK(bs[bs.length - 1]!, sc));
    for (let i = batchShape.length - 1; i >= 0; i--) {
      const d = dimToK(batchShape[i]!, sc);
      const idx = i === 0 ? q : let_("bx", modK(q, d));
      if (i > 0) q = let_("bq", divK(q, d));
      const ai = i - (batchShape.length - aB.length);
      if (ai >= 0 && !(aB[ai]!.value === 1 && batchShape[i]!.value !== 1)) {
        aOff = K.add(aOff, K.mul(idx, aStride));
      }
      if (ai >= 0) aStride = K.mul(aStride, dimToK(aB[ai]!, sc));
      const bj = i - (batchShape.length - bB.length);
      if (bj >= 0 && !(bB[bj]!.value === 1 && batchShape[i]!.value !== 1)) {
        bOff = K.add(bOff, K.mul(idx, bStride));
      }
      if (bj >= 0) bStride = K.mul(bStride, dimToK(bB[bj]!, sc));
    }
  }
  const aBase = let_("abase", aOff);
  const bBase = let_("bbase", bOff);
  const row0 = let_("row0", K.mul(tm, K.i32(T)));
  const col0 = let_("col0", K.mul(tn, K.i32(T)));
  const oBase = let_("obase", K.mul(bi, K.mul(M, N)));
  // a grid folded into y may have workgroups past the last tile: they read and write nothing
  const total = D.mul(D.mul(tilesN, tilesM), batchShape.reduce<Dim>((p, d) => D.mul(p, d), D.dim(1)));
  const valid = lt(wg, dimToK(total, sc));
  const mEff = let_("mlim", K.sel(valid, M, K.i32(0)));
  const kEff = let_("klim", K.sel(valid, Kk, K.i32(0)));

  const accs: KExpr[][] = [];
  for (let i = 0; i < R; i++) {
    accs.push([]);
    for (let j = 0; j < R; j++) accs[i]!.push(let_(`c${i}_${j}_`, K.f32(0), true, "f32"));
  }

  // one K panel: stage A[row0.., k0..] and B[k0.., col0..] (zero-padded), then accumulate
  const panel: KStmt[] = [];
  const k0 = K.v("k0", "i32");
  const loadsPer = (T * KT) / WGN;
  for (let l = 0; l < loadsPer; l++) {
    const e = K.add(t, K.i32(l * WGN));
    // A panel: T rows × KT columns
    const ar = K.bin("shr", e, K.u32(Math.log2(KT)));
    const ak = K.bin("bitand", e, K.i32(KT - 1));
    const gr = K.add(row0, ar);
    const gk = K.add(k0, ak);
    const aok = and(lt(gr, mEff), lt(gk, Kk));
    const aidx = K.sel(aok, K.add(aBase, K.add(K.mul(gr, Kk), gk)), K.i32(0));
    panel.push({ k: "sstore", arr: "As", index: e, value: K.sel(aok, K.load("in0", aidx, "f32"), K.f32(0)) });
    // B panel: KT rows × T columns
    const bk = K.bin("shr", e, K.u32(Math.log2(T)));
    const bc = K.bin("bitand", e, K.i32(T - 1));
    const gk2 = K.add(k0, bk);
    const gc = K.add(col0, bc);
    const bok = and(lt(gk2, kEff), lt(gc, N));
    const bidx = K.sel(bok, K.add(bBase, K.add(K.mul(gk2, N), gc)), K.i32(0));
    panel.push({ k: "sstore", arr: "Bs", index: e, value: K.sel(bok, K.load("in1", bidx, "f32"), K.f32(0)) });
  }
  panel.push({ k: "barrier" });
  const kk = K.v("kk", "i32");
  const inner: KStmt[] = [];
  const av: KExpr[] = [];
  const bv: KExpr[] = [];
  for (let i = 0; i < R; i++) {
    const name = `a${i}_`;
    inner.push({ k: "let", name, t: "f32", init: sload("As", K.add(K.mul(K.add(ty, K.i32(TPR * i)), K.i32(KT)), kk)), mutable: false });
    av.push(K.v(name, "f32"));
  }
  for (let j = 0; j < R; j++) {
    const name = `b${j}_`;
    inner.push({ k: "let", name, t: "f32", init: sload("Bs", K.add(K.mul(kk, K.i32(T)), K.add(tx, K.i32(TPR * j)))), mutable: false });
    bv.push(K.v(name, "f32"));
  }
  for (let i = 0; i < R; i++)
    for (let j = 0; j < R; j++) {
      const c = accs[i]![j]! as Extract<KExpr, { k: "var" }>;
      inner.push({ k: "assign", name: c.name, value: K.add(c, K.mul(av[i]!, bv[j]!)) });
    }
  panel.push({ k: "for", var: "kk", start: K.i32(0), end: K.i32(KT), step: 1, body: inner });
  panel.push({ k: "barrier" });
  s.push({ k: "for", var: "k0", start: K.i32(0), end: Kk, step: KT, body: panel });

  for (let i = 0; i < R; i++) {
    const r = let_("r", K.add(row0, K.add(ty, K.i32(TPR * i))));
    for (let j = 0; j < R; j++) {
      const c = K.add(col0, K.add(tx, K.i32(TPR * j)));
      s.push({
        k: "if",
        cond: and(lt(r, mEff), lt(c, N)),
        then: [{ k: "store", buf: "out", index: K.add(oBase, K.add(K.mul(r, N), c)), value: accs[i]![j]! }],
      });
    }
  }

  const uniforms = [...sc.uniforms].sort();
  const kernel: Kernel = {
    name: `${node.op}_${node.id}`,
    workgroup: [WGN, 1, 1],
    buffers: [
      { name: "in0", t: "f32", access: "read" },
      { name: "in1", t: "f32", access: "read" },
      { name: "out", t: "f32", access: "read_write" },
    ],
    uniforms: uniforms.map((name) => ({ name, t: "i32" as const })),
    shared: [
      { name: "As", t: "f32", size: T * KT },
      { name: "Bs", t: "f32", size: KT * T },
    ],
    body: s,
    dispatch: [total, D.dim(1), D.dim(1)],
  };
  // every output element is stored (zero-padded K included), so plan-memory may hand it a reused buffer
  return [markFullWrite({ k: "launch", kernel, args: [a.id, b.id, out.id], uniforms: uniforms.map((u) => ({ kind: "dim", name: u.slice(2) })), node }, out.id)];
}

KERNELS_FIRST.matmul = tiledMatmul;
