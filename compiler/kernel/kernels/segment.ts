/**
 * segment_reduce as a CSR build plus a member-only reduction (registered in KERNELS_FIRST, tried
 * before the op's per-element form, which scans all n ids of a row twice for every output element).
 *
 * x: [pre…, n, post…], seg: [segpre…, n] (segpre broadcasts to pre), out: [pre…, num, post…].
 * A "seg row" is one row of seg (S = numel(segpre) of them); the CSR depends only on seg.
 *
 * 1. `_csr`: one thread per (seg row, k) with k ∈ [0, n + num + 1):
 *    - k < n (token i = k): when 0 ≤ id_i < num, its position in the slot-sorted order is
 *        pos_i = #{j : 0 ≤ id_j < id_i} + #{j < i : id_j = id_i}
 *      (a stable counting sort: members of a slot in ascending token order) and it writes
 *      order[row, pos_i] = i. Every valid token has a distinct position, so no atomics and the
 *      result does not depend on thread scheduling.
 *    - k = n + s (s ∈ [0, num]): offsets[row, s] = #{j : 0 ≤ id_j < s}; slot s holds positions
 *      [offsets[s], offsets[s+1]). The s = num thread also checks the row: an id < -1 or ≥ num sets
 *      the error flag (exactly the interpreter's condition: any row of x reads a bad id, i.e. any
 *      bad id when numel(pre) > 0; -1 means "no segment").
 *    Each thread reads the row's n ids once: O(n·(n + num)) per seg row, independent of post.
 * 2. `_reduce`: one thread per output (p, s, q) folds only its slot's members, in ascending token
 *    order, with the per-element kernel's accumulator, init and finish (as-compute.ts
 *    segmentBody): floats accumulate in f32 and round once to the output dtype, ints wrap; mean
 *    divides the f32 sum by the count (empty → 0); float max/min of an empty slot stay ∓inf, int
 *    ones give 0; max/min propagate NaN. Results are bit-identical to the per-element kernel, except
 *    that one adds a +0 probe in rows with a bad id (turning -0 into +0); here such a row keeps the
 *    reference's value for its valid members.
 */
import * as D from "../../graph/dim.ts";
import type { Dim } from "../../graph/dim.ts";
import { isFloat, type DType } from "../../graph/dtype.ts";
import type { OpArgs } from "../../graph/ops.ts";
import { K, type KExpr, type KType, type Kernel } from "../ir.ts";
import { markFullWrite } from "../plan.ts";
import type { Launch } from "../program.ts";
import { KERNELS_FIRST, type LowerCtx } from "../registry.ts";
import { castK, ktype } from "../sexpr-to-kernel.ts";
import { KB } from "./kb.ts";

/** Threads per workgroup (both kernels are one thread per item). */
const WG = 64;


const isConst = (e: KExpr, v: number) => e.k === "const" && e.v === v;
/** Floored i32 division / modulo of non-negative values, folding a divisor of 1. */
const divK = (a: KExpr, b: KExpr): KExpr => (isConst(b, 1) ? a : K.bin("div", a, b));
const modK = (a: KExpr, b: KExpr): KExpr => (isConst(b, 1) ? K.i32(0) : K.bin("mod", a, b));
const and = (a: KExpr, b: KExpr): KExpr => K.bin("and", a, b);
const or = (a: KExpr, b: KExpr): KExpr => K.bin("or", a, b);
const lt = (a: KExpr, b: KExpr): KExpr => K.bin("lt", a, b);
const ge = (a: KExpr, b: KExpr): KExpr => K.bin("ge", a, b);
const eq = (a: KExpr, b: KExpr): KExpr => K.bin("eq", a, b);
const one = (c: KExpr): KExpr => K.sel(c, K.i32(1), K.i32(0));
/** The i32 linear thread id of a [n, 1, 1] dispatch of WG-thread workgroups (the runtime may fold n into y). */
const threadLinear = (): KExpr => K.cast(K.add(K.mul(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), K.u32(WG)), K.lid(0)), "i32");

interface Buf {
  readonly name: string;
  readonly t: KType;
  readonly access: "read" | "read_write";
  readonly id: number;
}

function mkLaunch(cx: LowerCtx, name: string, kb: KB, bufs: readonly Buf[], threads: Dim): Launch {
  const uniforms = [...kb.sc.uniforms].sort();
  const kernel: Kernel = {
    name: `${cx.node.op}_${cx.node.id}_${name}`,
    workgroup: [WG, 1, 1],
    buffers: bufs.map((b) => ({ name: b.name, t: b.t, access: b.access })),
    uniforms: uniforms.map((n) => ({ name: n, t: "i32" as const })),
    shared: [],
    body: kb.body,
    dispatch: [D.ceilDiv(threads, WG), D.dim(1), D.dim(1)],
  };
  return { k: "launch", kernel, args: bufs.map((b) => b.id), uniforms: uniforms.map((u) => ({ kind: "dim", name: u.slice(2) })), node: cx.node };
}

/** The CSR kernel: order (slot-sorted token indices) and offsets per seg row, and the bad-id check. */
function csrLaunch(cx: LowerCtx, S: Dim, n: Dim, num: Dim, P: Dim, seg: number, offsets: number, order: number): Launch {
  const kb = new KB();
  const N = kb.dim(n);
  const NUM = kb.dim(num);
  const L = D.add(D.add(n, num), 1);
  const LK = kb.dim(L);
  const t = kb.let("t", threadLinear());
  kb.if(lt(t, kb.dim(D.mul(S, L))), () => {
    const row = kb.let("row", divK(t, LK));
    const k = kb.let("k", modK(t, LK));
    const base = kb.let("base", K.mul(row, N));
    kb.if(
      lt(k, N),
      () => {
        const id = kb.let("id", K.load("seg", K.add(base, k), "i32"));
        kb.if(and(ge(id, K.i32(0)), lt(id, NUM)), () => {
          const pos = kb.var("pos", K.i32(0));
          kb.for("j", K.i32(0), N, (j) => {
            const idj = kb.let("idj", K.load("seg", K.add(base, j), "i32"));
            const before = or(lt(idj, id), and(eq(idj, id), lt(j, k)));
            kb.set(pos, K.add(pos, one(and(ge(idj, K.i32(0)), before))));
          });
          kb.store("order", K.add(base, pos), k);
        });
      },
      () => {
        const s = kb.let("s", K.sub(k, N));
        const c = kb.var("c", K.i32(0));
        const bad = kb.var("bad", K.bool(false));
        kb.for("j", K.i32(0), N, (j) => {
          const idj = kb.let("idj", K.load("seg", K.add(base, j), "i32"));
          kb.set(c, K.add(c, one(and(ge(idj, K.i32(0)), lt(idj, s)))));
          kb.set(bad, or(bad, or(lt(idj, K.i32(-1)), ge(idj, NUM))));
        });
        kb.store("offsets", K.add(K.mul(row, kb.dim(D.add(num, 1))), s), c);
        // rows of x that read this seg row exist iff numel(pre) > 0
        const rowsExist = P.value !== undefined ? K.bool(P.value > 0) : K.bin("gt", kb.dim(P), K.i32(0));
        kb.if(and(and(eq(s, NUM), bad), rowsExist), () => kb.store("flag", K.i32(0), K.u32(1)));
      },
    );
  });
  const launch = mkLaunch(cx, "csr", kb, [
    { name: "seg", t: "i32", access: "read", id: seg },
    { name: "offsets", t: "i32", access: "read_write", id: offsets },
    { name: "order", t: "i32", access: "read_write", id: order },
    { name: "flag", t: "u32", access: "read_write", id: cx.flag },
  ], D.mul(S, L));
  return markFullWrite(launch, offsets);
}

/** The seg row read by row p of x's pre dims (broadcast size-1 seg dims, as as-compute's bcastIdx). */
function segRow(kb: KB, p: KExpr, pre: readonly Dim[], segPre: readonly Dim[]): KExpr {
  if (D.shapeEq(pre, segPre)) return p;
  let rest = p;
  let row: KExpr = K.i32(0);
  let stride: Dim = D.dim(1);
  for (let a = pre.length - 1; a >= 0; a--) {
    const ext = kb.dim(pre[a]!);
    const pa = a === 0 ? rest : kb.let("pa", modK(rest, ext));
    if (a > 0) rest = kb.let("pq", divK(rest, ext));
    const bc = segPre[a]!.value === 1 && pre[a]!.value !== 1;
    if (!bc) row = K.add(row, K.mul(pa, kb.dim(stride)));
    stride = D.mul(stride, segPre[a]!);
  }
  return kb.let("srow", row);
}

/** The reduction kernel: one thread per output element over its slot's members. */
function reduceLaunch(cx: LowerCtx, num: Dim, offsets: number, order: number): Launch {
  const a = cx.node.arg as OpArgs["segment_reduce"];
  const [x, seg] = cx.inputs as [LowerCtx["inputs"][0], LowerCtx["inputs"][0]];
  const out = cx.outputs[0]!;
  const xs = x.type.shape;
  const pre = xs.slice(0, a.axis);
  const n = xs[a.axis]!;
  const Q = D.numel(xs.slice(a.axis + 1));
  const total = D.numel(out.type.shape);
  const f = out.type.dtype as DType;
  const xt = ktype(x.type.dtype);
  const kb = new KB();
  const gi = kb.let("gi", threadLinear());
  kb.if(lt(gi, kb.dim(total)), () => {
    const QK = kb.dim(Q);
    const NUM = kb.dim(num);
    const q = kb.let("q", modK(gi, QK));
    const ps = kb.let("ps", divK(gi, QK));
    const s = kb.let("s", modK(ps, NUM));
    const p = kb.let("p", divK(ps, NUM));
    const srow = segRow(kb, p, pre, seg.type.shape.slice(0, a.axis));
    const ob = kb.let("ob", K.add(K.mul(srow, kb.dim(D.add(num, 1))), s));
    const lo = kb.let("lo", K.load("offsets", ob, "i32"));
    const hi = kb.let("hi", K.load("offsets", K.add(ob, K.i32(1)), "i32"));
    const tb = kb.let("tb", K.mul(srow, kb.dim(n)));
    const xb = kb.let("xb", K.mul(p, kb.dim(n)));
    // accumulator type and init, as as-compute's segmentBody + emitReduce
    const floatOut = isFloat(f);
    const accT: KType = a.fn === "mean" || floatOut ? "f32" : ktype(f);
    const init: KExpr =
      a.fn === "sum" || a.fn === "mean"
        ? { k: "const", v: 0, t: accT }
        : { k: "const", v: accT === "f32" ? (a.fn === "max" ? -Infinity : Infinity) : accT === "i32" ? (a.fn === "max" ? -2147483648 : 2147483647) : a.fn === "max" ? 0 : 4294967295, t: accT };
    const acc = kb.var("acc", init);
    kb.for("m", lo, hi, (m) => {
      const i = kb.let("i", K.load("order", K.add(tb, m), "i32"));
      const v = castK(K.load("x", K.add(K.mul(K.add(xb, i), QK), q), xt), accT);
      kb.set(acc, a.fn === "sum" || a.fn === "mean" ? K.add(acc, v) : K.bin(a.fn, acc, v));
    });
    let value: KExpr = acc;
    const empty = eq(hi, lo);
    if (a.fn === "mean") value = K.sel(empty, K.f32(0), K.bin("div", acc, castK(K.sub(hi, lo), "f32")));
    else if ((a.fn === "max" || a.fn === "min") && !floatOut) value = K.sel(empty, { k: "const", v: 0, t: accT }, acc);
    kb.store("out", gi, castK(value, ktype(f)));
  });
  const launch = mkLaunch(cx, "reduce", kb, [
    { name: "x", t: xt, access: "read", id: x.id },
    { name: "offsets", t: "i32", access: "read", id: offsets },
    { name: "order", t: "i32", access: "read", id: order },
    { name: "out", t: ktype(f), access: "read_write", id: out.id },
  ], total);
  return markFullWrite(launch, out.id);
}

function segmentReduce(cx: LowerCtx): Launch[] | undefined {
  const a = cx.node.arg as OpArgs["segment_reduce"];
  const [x, seg] = cx.inputs;
  if (!x || !seg || seg.type.dtype !== "i32") return undefined;
  const xs = x.type.shape;
  const n = xs[a.axis]!;
  const S = D.numel(seg.type.shape.slice(0, a.axis));
  const P = D.numel(xs.slice(0, a.axis));
  const offsets = cx.temp("i32", D.mul(S, D.add(a.num, 1)));
  const order = cx.temp("i32", D.mul(S, n));
  return [csrLaunch(cx, S, n, a.num, P, seg.id, offsets, order), reduceLaunch(cx, a.num, offsets, order)];
}

KERNELS_FIRST.segment_reduce = segmentReduce;
