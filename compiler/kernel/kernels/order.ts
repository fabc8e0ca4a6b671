/**
 * Kernels for order and scan ops: topk, argsort, compact, cumsum; and quantize/dequantize.
 *
 * Sorting (argsort, topk). Every element becomes a (key, index) pair where key is a u32 whose
 * unsigned order is the op's order: floats map through the usual sign-flip (NaN → 0xffffffff,
 * the largest; -0 → the key of +0), i32 flips its sign bit, u32 is itself, and descending order
 * complements the key. Pairs compare by key, then index; they are all distinct, so any correct
 * sorting network yields exactly the stable order of the reference (ties → lower index, in both
 * directions). Values written by topk are re-read from the input by index (bit-exact, -0 and NaN
 * payloads included).
 * - A row of n ≤ SORT_CAP elements is bitonic-sorted in workgroup memory: padded to a power of two
 *   P with sentinels (key 0xffffffff, index ≥ n: they sort after every real pair); several short
 *   rows share a workgroup (segments of P slots; the last merge stage is forced ascending so every
 *   segment sorts the same way).
 * - Longer rows are cut into chunks of SORT_CAP that are sorted the same way into scratch buffers;
 *   then every element's rank is its position in its own chunk plus, for every other chunk, the
 *   number of pairs below it (a binary search), and it scatters itself to that rank. Work is
 *   O(n · n/SORT_CAP · log SORT_CAP) per row, deterministic, no atomics.
 * - With a symbolic n the kernel picks P = min(next_pow2(n), SORT_CAP) at run time and the rank
 *   pass is dispatched only when n > SORT_CAP (its grid and scratch size are 0 otherwise).
 * Rows lie along any axis: row r = (o, c) of the [outer, n, inner] view, element i at
 * o·n·inner + c + i·inner.
 *
 * compact: one workgroup per row; tiles of WG·E elements; each thread counts its E elements, a
 * Hillis–Steele scan over the workgroup gives exclusive positions, true elements write their index;
 * the tail [count, n) is filled with -1 and the count written by thread 0.
 *
 * cumsum: one thread per row (sequential) when rows are short or the axis is strided over a wide
 * inner extent; else one workgroup per row with the same tiled scan. Floats accumulate in f32 and
 * round once to the dtype; i32/u32 wrap exactly.
 *
 * quantize: a stats kernel (one thread per group: min, max, NaN in the reference's order), then a
 * packing kernel (one thread per output word: every element overlapping the word is quantized and
 * shifted in; no atomics). Exactness: the reference computes scale = f32((max - min)/(2^b - 1)) and
 * q = round_half_even((x - zero)/scale) in float64. Here an f32 estimate is corrected with exact
 * sign tests of sums of f32 terms (TwoSum expansions, Shewchuk's grow-expansion; products are made
 * exact by splitting a factor into 12-bit halves), so scale is the correctly rounded quotient and q
 * the correctly rounded ratio: identical to the reference except where float64 itself rounds
 * (operands more than 2^29 apart in magnitude; overflow of max - min).
 * dequantize: one thread per element, x̂ = scale·q + zero correctly rounded to f32 by the same
 * exact tests (the reference rounds the float64 value; they differ only by double rounding), then
 * rounded to the output dtype.
 */
import * as D from "../../graph/dim.ts";
import type { Dim } from "../../graph/dim.ts";
import type { DType } from "../../graph/dtype.ts";
import type { OpArgs } from "../../graph/ops.ts";
import { K, type KExpr, type KShared, type KType, type Kernel } from "../ir.ts";
import type { Launch } from "../program.ts";
import { KERNELS, type LowerCtx } from "../registry.ts";
import { KB } from "./kb.ts";
import { castK, ktype } from "../sexpr-to-kernel.ts";
import { sortLimits } from "../caps.ts";

/**
 * Slots of one workgroup sort under WebGPU's default limits: keys u32 + indices i32 = 8 bytes a
 * slot, 16 KiB. The lowering takes the cap and the threads per workgroup from the target's record
 * (caps.ts sortLimits: a smaller workgroup storage gives shorter chunks and the multi-pass sort).
 */
export const SORT_CAP = sortLimits(undefined).cap;
/** Per-element kernels. */
const EW_WG = 64;
/** Elements per thread in a scan tile. */
const SCAN_E = 4;


const sload = (arr: string, index: KExpr, t: KType): KExpr => ({ k: "sload", arr, index, t });
const bitcast = (a: KExpr, t: KType): KExpr => ({ k: "bitcast", a, t });
const isF = (t: KType) => t === "f32" || t === "f16" || t === "bf16";
const isConst = (e: KExpr, v: number) => e.k === "const" && e.v === v;
/** i32 (or u32) floored division and modulo, folding constants and powers of two for non-negative operands. */
function divK(a: KExpr, b: KExpr): KExpr {
  if (isConst(b, 1)) return a;
  if (a.k === "const" && b.k === "const" && b.v !== 0) return { k: "const", v: Math.floor(a.v / b.v), t: a.t };
  return K.bin("div", a, b);
}
function modK(a: KExpr, b: KExpr): KExpr {
  if (isConst(b, 1)) return { k: "const", v: 0, t: a.t };
  if (a.k === "const" && b.k === "const" && b.v !== 0) return { k: "const", v: a.v - Math.floor(a.v / b.v) * b.v, t: a.t };
  return K.bin("mod", a, b);
}
/** a / 2^s and a mod 2^s for non-negative i32 a and a static power of two. */
const shrPow2 = (a: KExpr, p: number): KExpr => (p === 1 ? a : K.bin("shr", a, K.u32(Math.log2(p))));
const andMask = (a: KExpr, m: number): KExpr => K.bin("bitand", a, K.i32(m));
const shl = (a: KExpr, s: KExpr): KExpr => K.bin("shl", a, K.cast(s, "u32"));
const shr = (a: KExpr, s: KExpr): KExpr => K.bin("shr", a, K.cast(s, "u32"));
const and = (a: KExpr, b: KExpr): KExpr => (isConst(a, 1) && a.t === "bool" ? b : K.bin("and", a, b));
const or = (a: KExpr, b: KExpr): KExpr => K.bin("or", a, b);
const not = (a: KExpr): KExpr => K.un("not", a, "bool");
const lt = (a: KExpr, b: KExpr): KExpr => K.bin("lt", a, b);
const eq = (a: KExpr, b: KExpr): KExpr => K.bin("eq", a, b);
const lidI = (): KExpr => K.cast(K.lid(0), "i32");
/** The i32 linear workgroup id of a [n, 1, 1] dispatch (the runtime may fold n into y). */
const wgLinear = (): KExpr => K.cast(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), "i32");
/** The i32 linear thread id of a [n, 1, 1] dispatch of EW_WG-thread workgroups. */
const threadLinear = (): KExpr => K.cast(K.add(K.mul(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), K.u32(EW_WG)), K.lid(0)), "i32");
const nextPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)));
/** 1 when d > cap, else 0 (d ≥ 0), as a Dim. */
const dimGt = (d: Dim, cap: number): Dim => D.div(D.min(d, cap + 1), cap + 1);

interface Buf {
  readonly name: string;
  readonly t: KType;
  readonly access: "read" | "read_write";
  readonly id: number;
}

function mkLaunch(cx: LowerCtx, name: string, kb: KB, wg: number, bufs: readonly Buf[], shared: readonly KShared[], dispatch: Dim): Launch {
  const uniforms = [...kb.sc.uniforms].sort();
  const kernel: Kernel = {
    name: `${cx.node.op}_${cx.node.id}_${name}`,
    workgroup: [wg, 1, 1],
    buffers: bufs.map((b) => ({ name: b.name, t: b.t, access: b.access })),
    uniforms: uniforms.map((n) => ({ name: n, t: "i32" as const })),
    shared,
    body: kb.body,
    dispatch: [dispatch, D.dim(1), D.dim(1)],
  };
  return { k: "launch", kernel, args: bufs.map((b) => b.id), uniforms: uniforms.map((u) => ({ kind: "dim", name: u.slice(2) })), node: cx.node };
}

/** The [outer, n, inner] view of a shape around an axis. */
function axisView(shape: readonly Dim[], axis: number): { outer: Dim; n: Dim; inner: Dim } {
  return { outer: D.numel(shape.slice(0, axis)), n: shape[axis]!, inner: D.numel(shape.slice(axis + 1)) };
}

/** (o, c) of row r in the [outer, n, inner] view; returns the base offset o·n·inner + c for a row length m. */
function rowOffsets(kb: KB, row: KExpr, inner: KExpr, lens: readonly KExpr[]): KExpr[] {
  if (isConst(inner, 1)) return lens.map((m) => kb.let("rb", K.mul(row, m)));
  const o = kb.let("ro", divK(row, inner));
  const c = kb.let("rc", modK(row, inner));
  return lens.map((m) => kb.let("rb", K.add(K.mul(K.mul(o, m), inner), c)));
}

// ── sorting ──────────────────────────────────────────────────────────────────────────────────

/** The u32 sort key of a value: unsigned order = the op's order (NaN largest, -0 = 0); complemented when descending. */
function sortKey(kb: KB, v: KExpr, desc: boolean): KExpr {
  let key: KExpr;
  if (isF(v.t)) {
    const b = kb.let("kb", bitcast(v, "u32"));
    const mag = K.bin("bitand", b, K.u32(0x7fffffff));
    const flipped = K.sel(K.bin("ne", K.bin("bitand", b, K.u32(0x80000000)), K.u32(0)), K.un("not", b, "u32"), K.bin("bitor", b, K.u32(0x80000000)));
    key = K.sel(K.bin("gt", mag, K.u32(0x7f800000)), K.u32(0xffffffff), K.sel(eq(mag, K.u32(0)), K.u32(0x80000000), flipped));
  } else if (v.t === "i32") key = K.bin("xor", bitcast(v, "u32"), K.u32(0x80000000));
  else if (v.t === "u32") key = v;
  else throw new Error(`sort of ${v.t}`);
  return kb.let("key", desc ? K.un("not", key, "u32") : key);
}

/** (ka, ia) > (kb, ib) in the pair order. */
const pairGt = (ka: KExpr, ia: KExpr, kb: KExpr, ib: KExpr): KExpr => or(K.bin("gt", ka, kb), and(eq(ka, kb), K.bin("gt", ia, ib)));

interface SortSpec {
  readonly kind: "argsort" | "topk";
  readonly axis: number;
  readonly desc: boolean;
  /** topk's k. */
  readonly k?: Dim;
}

function sortLaunches(cx: LowerCtx, spec: SortSpec): Launch[] {
  const x = cx.inputs[0]!;
  const xt = ktype(x.type.dtype);
  const { outer, n, inner } = axisView(x.type.shape, spec.axis);
  const rowsD = D.mul(outer, inner);
  const nv = n.value;
  const kD = spec.k ?? n;
  if (nv === 0 || kD.value === 0 || rowsD.value === 0) return [];
  const { cap: SORT_CAP, maxWg: MAX_WG } = sortLimits(cx.caps);
  const LOG_CAP = Math.log2(SORT_CAP);
  if (SORT_CAP < sortLimits(undefined).cap && (nv === undefined || (nv > SORT_CAP && nv <= sortLimits(undefined).cap)))
    cx.note?.(`the target's workgroup storage (${cx.caps!.maxComputeWorkgroupStorageSize} bytes) holds ${SORT_CAP} sort slots: rows of more than ${SORT_CAP} elements take the multi-pass sort (chunks of ${SORT_CAP}, then a rank-merge pass)`);
  const outs: Buf[] =
    spec.kind === "argsort"
      ? [{ name: "out", t: "i32", access: "read_write", id: cx.outputs[0]!.id }]
      : [
          { name: "vals", t: ktype(cx.outputs[0]!.type.dtype), access: "read_write", id: cx.outputs[0]!.id },
          { name: "inds", t: "i32", access: "read_write", id: cx.outputs[1]!.id },
        ];
  const xbuf: Buf = { name: "x", t: xt, access: "read", id: x.id };

  // Static plan: P (slots per row-chunk, a power of two; undefined = chosen at run time), R rows per workgroup.
  const staticP = nv !== undefined ? (nv <= SORT_CAP ? nextPow2(nv) : SORT_CAP) : undefined;
  const chunked: "never" | "always" | "runtime" = nv === undefined ? "runtime" : nv > SORT_CAP ? "always" : "never";
  let R = 1;
  if (staticP !== undefined && chunked === "never") {
    R = Math.max(1, Math.floor(Math.min(2 * MAX_WG, SORT_CAP) / staticP));
    const rv = rowsD.value;
    if (rv !== undefined) R = Math.min(R, nextPow2(rv));
  }
  const slots = staticP !== undefined ? R * staticP : SORT_CAP;
  const T = Math.max(1, Math.min(MAX_WG, slots / 2));
  const chunksD = chunked === "never" ? D.dim(1) : D.ceilDiv(n, SORT_CAP);
  const gate = chunked === "never" ? D.dim(0) : chunked === "always" ? D.dim(1) : dimGt(n, SORT_CAP);
  const scratchN = D.mul(D.mul(D.mul(rowsD, chunksD), SORT_CAP), gate);
  const tk: Buf | undefined = chunked !== "never" ? { name: "tk", t: "u32", access: "read_write", id: cx.temp("u32", scratchN) } : undefined;
  const ti: Buf | undefined = chunked !== "never" ? { name: "ti", t: "i32", access: "read_write", id: cx.temp("i32", scratchN) } : undefined;

  /** Writes sorted position p (< n) of `row` holding index `id` to the outputs. */
  const writeOut = (kb: KB, row: KExpr, p: KExpr, id: KExpr, nK: KExpr, innerK: KExpr): void => {
    if (spec.kind === "argsort") {
      const [base] = rowOffsets(kb, row, innerK, [nK]);
      kb.store("out", K.add(base!, K.mul(p, innerK)), id);
    } else {
      const kK = kb.dim(kD);
      kb.if(lt(p, kK), () => {
        const [base, obase] = rowOffsets(kb, row, innerK, [nK, kK]);
        const at = kb.let("at", K.add(obase!, K.mul(p, innerK)));
        kb.store("vals", at, K.load("x", K.add(base!, K.mul(id, innerK)), xt));
        kb.store("inds", at, id);
      });
    }
  };

  const launches: Launch[] = [];
  // ── kernel A: sort each (row, chunk) in workgroup memory
  {
    const kb = new KB();
    const nK = kb.dim(n);
    const innerK = kb.dim(inner);
    const rowsK = kb.dim(rowsD);
    const wg = kb.let("wg", wgLinear());
    const lid = kb.let("lid", lidI());
    const C = chunked === "never" ? K.i32(1) : kb.let("nch", kb.dim(chunksD));
    let P: KExpr;
    let lp: KExpr;
    if (staticP !== undefined) {
      P = K.i32(staticP);
      lp = K.i32(Math.log2(staticP));
    } else {
      const pn = kb.let("pn", K.bin("min", nK, K.i32(SORT_CAP)));
      const lpv = kb.var("lp", K.i32(0));
      kb.for("t", K.i32(0), K.i32(LOG_CAP), () => kb.if(lt(shl(K.i32(1), lpv), pn), () => kb.set(lpv, K.add(lpv, K.i32(1)))));
      lp = lpv;
      P = kb.let("P", shl(K.i32(1), lpv));
    }
    const S = staticP !== undefined ? K.i32(slots) : P;
    const rowBase = kb.let("row0", K.mul(divK(wg, C), K.i32(R)));
    const chunk = chunked === "never" ? K.i32(0) : kb.let("chunk", modK(wg, C));
    const slotRow = (kb: KB, s: KExpr) => (R === 1 ? { r: K.i32(0), p: s } : { r: kb.let("sr", shrPow2(s, staticP!)), p: kb.let("sp", andMask(s, staticP! - 1)) });
    // load, padding with sentinels
    kb.for("s", lid, S, (s) => {
      const { r, p } = slotRow(kb, s);
      const row = kb.let("row", K.add(rowBase, r));
      const i = kb.let("i", K.add(K.mul(chunk, P), p));
      const key = kb.var("k", K.u32(0xffffffff));
      kb.if(and(lt(row, rowsK), lt(i, nK)), () => {
        const [base] = rowOffsets(kb, row, innerK, [nK]);
        kb.set(key, sortKey(kb, K.load("x", K.add(base!, K.mul(i, innerK)), xt), spec.desc));
      });
      kb.sstore("sk", s, key);
      kb.sstore("si", s, i);
    }, T);
    kb.barrier();
    // bitonic network: stage (lk, lj) compares slots lo and lo + 2^lj
    kb.for("lk", K.i32(1), K.add(lp, K.i32(1)), (lk) => {
      kb.for("t", K.i32(0), lk, (t) => {
        const lj = kb.let("lj", K.sub(K.sub(lk, K.i32(1)), t));
        const j = kb.let("j", shl(K.i32(1), lj));
        const dirMask = kb.let("dm", K.bin("bitand", shl(K.i32(1), lk), K.sub(P, K.i32(1))));
        kb.for("q", lid, shrPow2Dyn(S), (q) => {
          const lo = kb.let("lo", K.bin("bitor", shl(shr(q, lj), K.add(lj, K.i32(1))), K.bin("bitand", q, K.sub(j, K.i32(1)))));
          const hi = kb.let("hi", K.add(lo, j));
          const ka = kb.let("ka", sload("sk", lo, "u32"));
          const kb2 = kb.let("kb", sload("sk", hi, "u32"));
          const ia = kb.let("ia", sload("si", lo, "i32"));
          const ib = kb.let("ib", sload("si", hi, "i32"));
          const asc = eq(K.bin("bitand", lo, dirMask), K.i32(0));
          kb.if(eq(pairGt(ka, ia, kb2, ib), asc), () => {
            kb.sstore("sk", lo, kb2);
            kb.sstore("si", lo, ib);
            kb.sstore("sk", hi, ka);
            kb.sstore("si", hi, ia);
          });
        }, T);
        kb.barrier();
      });
    });
    // outputs (one chunk) or scratch (several)
    kb.for("s", lid, S, (s) => {
      const { r, p } = slotRow(kb, s);
      const row = kb.let("row", K.add(rowBase, r));
      const direct = () => kb.if(and(lt(row, rowsK), lt(p, nK)), () => writeOut(kb, row, p, sload("si", s, "i32"), nK, innerK));
      const scratch = () =>
        kb.if(lt(row, rowsK), () => {
          const at = kb.let("at", K.add(K.mul(K.add(K.mul(row, C), chunk), K.i32(SORT_CAP)), p));
          kb.store("tk", at, sload("sk", s, "u32"));
          kb.store("ti", at, sload("si", s, "i32"));
        });
      if (chunked === "never") direct();
      else if (chunked === "always") scratch();
      else kb.if(eq(C, K.i32(1)), direct, scratch);
    }, T);
    const shared: KShared[] = [
      { name: "sk", t: "u32", size: slots },
      { name: "si", t: "i32", size: slots },
    ];
    const dispatch = chunked === "never" ? D.ceilDiv(rowsD, R) : D.mul(rowsD, chunksD);
    launches.push(mkLaunch(cx, "sort", kb, T, [xbuf, ...outs, ...(tk ? [tk, ti!] : [])], shared, dispatch));
  }
  // ── kernel B: merge ranks across chunks and scatter
  if (chunked !== "never") {
    const kb = new KB();
    const nK = kb.dim(n);
    const innerK = kb.dim(inner);
    const C = kb.let("nch", kb.dim(chunksD));
    const total = kb.dim(D.mul(D.mul(rowsD, chunksD), SORT_CAP));
    const g = kb.let("g", threadLinear());
    kb.if(lt(g, total), () => {
      const p = kb.let("p", andMask(g, SORT_CAP - 1));
      const rc = kb.let("rc", shrPow2(g, SORT_CAP));
      const chunk = kb.let("chunk", modK(rc, C));
      const row = kb.let("row", divK(rc, C));
      const myk = kb.let("mk", K.load("tk", g, "u32"));
      const myi = kb.let("mi", K.load("ti", g, "i32"));
      kb.if(lt(myi, nK), () => {
        const rank = kb.var("rank", p);
        kb.for("c", K.i32(0), C, (c) => {
          kb.if(K.bin("ne", c, chunk), () => {
            const base = kb.let("cb", K.mul(K.add(K.mul(row, C), c), K.i32(SORT_CAP)));
            const lo = kb.var("lo", K.i32(0));
            const hi = kb.var("hi", K.i32(SORT_CAP));
            kb.for("it", K.i32(0), K.i32(LOG_CAP + 1), () => {
              kb.if(lt(lo, hi), () => {
                const mid = kb.let("mid", K.bin("shr", K.add(lo, hi), K.u32(1)));
                const at = kb.let("at", K.add(base, mid));
                // pair at mid < mine ⇔ mine > pair at mid
                kb.if(pairGt(myk, myi, K.load("tk", at, "u32"), K.load("ti", at, "i32")), () => kb.set(lo, K.add(mid, K.i32(1))), () => kb.set(hi, mid));
              });
            });
            kb.set(rank, K.add(rank, lo));
          });
        });
        writeOut(kb, row, rank, myi, nK, innerK);
      });
    });
    const dispatch = D.mul(D.ceilDiv(D.mul(D.mul(rowsD, chunksD), SORT_CAP), EW_WG), gate);
    launches.push(mkLaunch(cx, "rank", kb, EW_WG, [xbuf, ...outs, { ...tk!, access: "read" }, { ...ti!, access: "read" }], [], dispatch));
  }
  return launches;
}

/** S / 2 for a slot count (static or a run-time power of two). */
function shrPow2Dyn(S: KExpr): KExpr {
  return S.k === "const" ? K.i32(Math.max(0, Math.floor(S.v / 2))) : K.bin("shr", S, K.u32(1));
}

KERNELS.argsort = (cx) => {
  const a = cx.node.arg as OpArgs["argsort"];
  return sortLaunches(cx, { kind: "argsort", axis: a.axis, desc: a.descending });
};

KERNELS.topk = (cx) => {
  const a = cx.node.arg as OpArgs["topk"];
  return sortLaunches(cx, { kind: "topk", axis: a.axis, desc: a.largest, k: a.k });
};

// ── scans: compact and cumsum ────────────────────────────────────────────────────────────────

/**
 * Workgroup inclusive scan (Hillis–Steele) of one value per thread in shared array `arr` (size T).
 * Returns the exclusive prefix of this thread and the workgroup total. Ends with a barrier, so the
 * array may be reused at once.
 */
function wgScan(kb: KB, arr: string, T: number, lid: KExpr, v: KExpr): { excl: KExpr; total: KExpr } {
  const t = v.t;
  const zero: KExpr = { k: "const", v: 0, t };
  kb.sstore(arr, lid, v);
  kb.barrier();
  for (let off = 1; off < T; off *= 2) {
    const o = K.i32(off);
    const add = kb.var("sa", zero);
    kb.if(K.bin("ge", lid, o), () => kb.set(add, sload(arr, K.sub(lid, o), t)));
    kb.barrier();
    kb.sstore(arr, lid, K.add(sload(arr, lid, t), add));
    kb.barrier();
  }
  const excl = kb.var("ex", zero);
  kb.if(K.bin("gt", lid, K.i32(0)), () => kb.set(excl, sload(arr, K.sub(lid, K.i32(1)), t)));
  const total = kb.let("tot", sload(arr, K.i32(T - 1), t));
  kb.barrier();
  return { excl, total };
}

/** Threads of a per-row scan workgroup for rows of n elements. */
function scanThreads(n: Dim, cx: LowerCtx): number {
  const MAX_WG = sortLimits(cx.caps).maxWg;
  const nv = n.value;
  if (nv === undefined) return MAX_WG;
  return Math.max(Math.min(32, MAX_WG), Math.min(MAX_WG, nextPow2(Math.ceil(nv / SCAN_E))));
}

KERNELS.compact = (cx) => {
  const m = cx.inputs[0]!;
  const shape = m.type.shape;
  const n = shape[shape.length - 1]!;
  const rowsD = D.numel(shape.slice(0, -1));
  if (rowsD.value === 0) return [];
  const T = scanThreads(n, cx);
  const kb = new KB();
  const nK = kb.dim(n);
  const row = kb.let("row", wgLinear());
  const lid = kb.let("lid", lidI());
  kb.if(lt(row, kb.dim(rowsD)), () => {
    const base = kb.let("base", K.mul(row, nK));
    const carry = kb.var("carry", K.i32(0));
    const tile = T * SCAN_E;
    kb.for("tile", K.i32(0), divK(K.add(nK, K.i32(tile - 1)), K.i32(tile)), (ti) => {
      const start = kb.let("st", K.add(K.mul(ti, K.i32(tile)), K.mul(lid, K.i32(SCAN_E))));
      const flags: KExpr[] = [];
      const cnt = kb.var("cnt", K.i32(0));
      for (let e = 0; e < SCAN_E; e++) {
        const i = K.add(start, K.i32(e));
        const f = kb.var("f", K.bool(false));
        kb.if(lt(i, nK), () => kb.set(f, K.load("mask", K.add(base, i), "bool")));
        flags.push(f);
        kb.if(f, () => kb.set(cnt, K.add(cnt, K.i32(1))));
      }
      const { excl, total } = wgScan(kb, "scan", T, lid, cnt);
      const pos = kb.var("pos", K.add(carry, excl));
      flags.forEach((f, e) =>
        kb.if(f, () => {
          kb.store("idx", K.add(base, pos), K.add(start, K.i32(e)));
          kb.set(pos, K.add(pos, K.i32(1)));
        }),
      );
      kb.set(carry, K.add(carry, total));
    });
    kb.for("p", K.add(carry, lid), nK, (p) => kb.store("idx", K.add(base, p), K.i32(-1)), T);
    kb.if(eq(lid, K.i32(0)), () => kb.store("count", row, carry));
  });
  return [
    mkLaunch(
      cx,
      "scan",
      kb,
      T,
      [
        { name: "mask", t: "bool", access: "read", id: m.id },
        { name: "idx", t: "i32", access: "read_write", id: cx.outputs[0]!.id },
        { name: "count", t: "i32", access: "read_write", id: cx.outputs[1]!.id },
      ],
      [{ name: "scan", t: "i32", size: T }],
      rowsD,
    ),
  ];
};

KERNELS.cumsum = (cx) => {
  const a = cx.node.arg as OpArgs["cumsum"];
  const x = cx.inputs[0]!;
  const dt = x.type.dtype;
  const xt = ktype(dt);
  const at: KType = isF(xt) ? "f32" : xt;
  const { outer, n, inner } = axisView(x.type.shape, a.axis);
  const rowsD = D.mul(outer, inner);
  if (rowsD.value === 0 || n.value === 0) return [];
  const bufs: Buf[] = [
    { name: "x", t: xt, access: "read", id: x.id },
    { name: "out", t: ktype(cx.outputs[0]!.type.dtype), access: "read_write", id: cx.outputs[0]!.id },
  ];
  const zero: KExpr = { k: "const", v: 0, t: at };
  const outT = ktype(cx.outputs[0]!.type.dtype);
  const sequential = (n.value !== undefined && n.value <= 64) || (inner.value !== undefined && inner.value >= 32);
  const kb = new KB();
  const nK = kb.dim(n);
  const innerK = kb.dim(inner);
  const rowsK = kb.dim(rowsD);
  /** offset of the s-th element in scan order of a row with base offset `base` */
  const offsetOf = (base: KExpr, s: KExpr) => K.add(base, K.mul(a.reverse ? K.sub(K.sub(nK, K.i32(1)), s) : s, innerK));
  if (sequential) {
    const g = kb.let("g", threadLinear());
    kb.if(lt(g, rowsK), () => {
      const [base] = rowOffsets(kb, g, innerK, [nK]);
      const acc = kb.var("acc", zero);
      kb.for("s", K.i32(0), nK, (s) => {
        const off = kb.let("off", offsetOf(base!, s));
        const v = kb.let("v", K.cast(K.load("x", off, xt), at));
        const next = kb.let("nx", K.add(acc, v));
        kb.store("out", off, castK(a.exclusive ? acc : next, outT));
        kb.set(acc, next);
      });
    });
    return [mkLaunch(cx, "seq", kb, EW_WG, bufs, [], D.ceilDiv(rowsD, EW_WG))];
  }
  const T = scanThreads(n, cx);
  const row = kb.let("row", wgLinear());
  const lid = kb.let("lid", lidI());
  kb.if(lt(row, rowsK), () => {
    const [base] = rowOffsets(kb, row, innerK, [nK]);
    const carry = kb.var("carry", zero);
    const tile = T * SCAN_E;
    kb.for("tile", K.i32(0), divK(K.add(nK, K.i32(tile - 1)), K.i32(tile)), (ti) => {
      const start = kb.let("st", K.add(K.mul(ti, K.i32(tile)), K.mul(lid, K.i32(SCAN_E))));
      const vals: KExpr[] = [];
      const offs: KExpr[] = [];
      const sum = kb.var("sum", zero);
      for (let e = 0; e < SCAN_E; e++) {
        const s = kb.let("s", K.add(start, K.i32(e)));
        const off = kb.let("off", offsetOf(base!, s));
        const v = kb.var("v", zero);
        kb.if(lt(s, nK), () => kb.set(v, K.cast(K.load("x", off, xt), at)));
        kb.set(sum, K.add(sum, v));
        vals.push(v);
        offs.push(off);
      }
      const { excl, total } = wgScan(kb, "scan", T, lid, sum);
      const run = kb.var("run", K.add(carry, excl));
      vals.forEach((v, e) => {
        const s = K.add(start, K.i32(e));
        kb.if(lt(s, nK), () => {
          const next = kb.let("nx", K.add(run, v));
          kb.store("out", offs[e]!, castK(a.exclusive ? run : next, outT));
          kb.set(run, next);
        });
      });
      kb.set(carry, K.add(carry, total));
    });
  });
  return [mkLaunch(cx, "scan", kb, T, bufs, [{ name: "scan", t: at, size: T }], rowsD)];
};

// ── exact float helpers (quantize / dequantize) ─────────────────────────────────────────────────

/** Knuth's TwoSum: s + e = a + b exactly (round to nearest, no overflow). */
function twoSum(kb: KB, a: KExpr, b: KExpr): [KExpr, KExpr] {
  const s = kb.let("ts", K.add(a, b));
  const bb = kb.let("tb", K.sub(s, a));
  const e = kb.let("te", K.add(K.sub(a, K.sub(s, bb)), K.sub(b, bb)));
  return [s, e];
}

/** The exact sign (-1, 0, 1 as i32) of a sum of f32 terms: Shewchuk's grow-expansion, then the sign of the largest nonzero component. */
function exactSign(kb: KB, terms: readonly KExpr[]): KExpr {
  let e: KExpr[] = [terms[0]!];
  for (const b of terms.slice(1)) {
    let q = b;
    const next: KExpr[] = [];
    for (const c of e) {
      const [s, h] = twoSum(kb, q, c);
      next.push(h);
      q = s;
    }
    next.push(q);
    e = next;
  }
  const sg = kb.var("sg", K.i32(0));
  for (const c of e) {
    kb.if(K.bin("gt", c, K.f32(0)), () => kb.set(sg, K.i32(1)));
    kb.if(lt(c, K.f32(0)), () => kb.set(sg, K.i32(-1)));
  }
  return sg;
}

/** s = hi + lo with hi holding the top 12 significant bits: products of either part with ≤ 12-bit integers are exact. */
function split12(kb: KB, s: KExpr): [KExpr, KExpr] {
  const hi = kb.let("sh", bitcast(K.bin("bitand", bitcast(s, "u32"), K.u32(0xfffff000)), "f32"));
  return [hi, kb.let("sl", K.sub(s, hi))];
}

const finite = (v: KExpr): KExpr => lt(K.bin("bitand", bitcast(v, "u32"), K.u32(0x7f800000)), K.u32(0x7f800000));
const neg = (v: KExpr): KExpr => K.un("neg", v);

/**
 * Corrects c (a nonzero finite f32 variable within a few ulps of the target X) to the f32 nearest X
 * (ties to even). midSign(c, h) must return the exact sign of X - (c + h) scaled by a positive factor.
 */
function correctRound(kb: KB, c: KExpr, iters: number, midSign: (c: KExpr, h: KExpr) => KExpr): void {
  kb.for("it", K.i32(0), K.i32(iters), () => {
    kb.if(and(K.bin("ne", c, K.f32(0)), finite(c)), () => {
      const bits = kb.let("cb", bitcast(c, "u32"));
      const pos = kb.let("cp", K.bin("gt", c, K.f32(0)));
      const odd = kb.let("co", K.bin("ne", K.bin("bitand", bits, K.u32(1)), K.u32(0)));
      const up = kb.let("cu", bitcast(K.sel(pos, K.add(bits, K.u32(1)), K.sub(bits, K.u32(1))), "f32"));
      const dn = kb.let("cd", bitcast(K.sel(pos, K.sub(bits, K.u32(1)), K.add(bits, K.u32(1))), "f32"));
      kb.if(finite(up), () => {
        const sgU = midSign(c, kb.let("hu", K.mul(K.sub(up, c), K.f32(0.5))));
        kb.if(or(K.bin("gt", sgU, K.i32(0)), and(eq(sgU, K.i32(0)), odd)), () => kb.set(c, up), () => {
          const sgD = midSign(c, kb.let("hd", K.mul(K.sub(dn, c), K.f32(0.5))));
          kb.if(or(lt(sgD, K.i32(0)), and(eq(sgD, K.i32(0)), odd)), () => kb.set(c, dn));
        });
      });
    });
  });
}

function checkBits(bits: number): void {
  if (![2, 3, 4, 8].includes(bits)) throw new Error(`quantization to ${bits} bits`);
}

/** Group of element (row, d) of x's last-axis rows: per token the row, per channel (row / T)·D + d. */
const groupOf = (kb: KB, axis: number, row: KExpr, d: KExpr, TK: KExpr, DK: KExpr): KExpr =>
  axis === -1 ? row : kb.let("grp", K.add(K.mul(divK(row, TK), DK), d));

KERNELS.quantize = (cx) => {
  const { bits, axis } = cx.node.arg as OpArgs["quantize"];
  checkBits(bits);
  const x = cx.inputs[0]!;
  const xt = ktype(x.type.dtype);
  const shape = x.type.shape;
  const r = shape.length;
  const Dd = shape[r - 1]!;
  const Td = axis === -2 ? shape[r - 2]! : D.dim(1);
  const rowsD = D.numel(shape.slice(0, -1));
  const W = D.ceilDiv(D.mul(Dd, bits), 32);
  const G = D.numel(shape.filter((_, i) => i !== r + axis));
  const L = 2 ** bits - 1;
  const [packed, scale, zero] = cx.outputs.map((o) => o.id) as [number, number, number];
  const launches: Launch[] = [];
  // ── stats: one thread per group
  if (G.value !== 0) {
    const kb = new KB();
    const DK = kb.dim(Dd);
    const TK = kb.dim(Td);
    const g = kb.let("g", threadLinear());
    kb.if(lt(g, kb.dim(G)), () => {
      const lo = kb.var("lo", K.f32(Infinity));
      const hi = kb.var("hi", K.f32(-Infinity));
      const nan = kb.var("nan", K.bool(false));
      const visit = (off: KExpr) => {
        const v = kb.let("v", K.cast(K.load("x", off, xt), "f32"));
        kb.if(K.un("isnan", v, "bool"), () => kb.set(nan, K.bool(true)));
        kb.if(lt(v, lo), () => kb.set(lo, v));
        kb.if(K.bin("gt", v, hi), () => kb.set(hi, v));
      };
      if (axis === -1) {
        const base = kb.let("base", K.mul(g, DK));
        kb.for("d", K.i32(0), DK, (d) => visit(K.add(base, d)));
      } else {
        const b = kb.let("b", divK(g, DK));
        const d = kb.let("d", modK(g, DK));
        const base = kb.let("base", K.add(K.mul(K.mul(b, TK), DK), d));
        kb.for("t", K.i32(0), TK, (t) => visit(K.add(base, K.mul(t, DK))));
      }
      const sOut = kb.var("s", K.f32(0));
      const zOut = kb.var("z", K.f32(0));
      kb.if(nan, () => {
        kb.set(sOut, K.f32(NaN));
        kb.set(zOut, K.f32(NaN));
      }, () =>
        kb.if(K.bin("le", lo, hi), () => {
          kb.set(zOut, lo);
          const diff = kb.let("df", K.sub(hi, lo));
          kb.if(K.bin("gt", diff, K.f32(0)), () => {
            kb.set(sOut, K.bin("div", diff, K.f32(L)));
            // sOut·L vs hi - lo exactly: terms hi, -lo, -L·c_hi, -L·c_lo, -L·h
            correctRound(kb, sOut, 3, (c, h) => {
              const [ch, cl] = split12(kb, c);
              return exactSign(kb, [hi, neg(lo), K.mul(ch, K.f32(-L)), K.mul(cl, K.f32(-L)), K.mul(h, K.f32(-L))]);
            });
          });
        }),
      );
      kb.store("scale", g, sOut);
      kb.store("zero", g, zOut);
    });
    launches.push(
      mkLaunch(
        cx,
        "stats",
        kb,
        EW_WG,
        [
          { name: "x", t: xt, access: "read", id: x.id },
          { name: "scale", t: "f32", access: "read_write", id: scale },
          { name: "zero", t: "f32", access: "read_write", id: zero },
        ],
        [],
        D.ceilDiv(G, EW_WG),
      ),
    );
  }
  // ── pack: one thread per word
  const words = D.mul(rowsD, W);
  if (words.value !== 0) {
    const kb = new KB();
    const DK = kb.dim(Dd);
    const TK = kb.dim(Td);
    const WK = kb.dim(W);
    const gi = kb.let("gi", threadLinear());
    kb.if(lt(gi, kb.dim(words)), () => {
      const row = kb.let("row", divK(gi, WK));
      const w = kb.let("w", modK(gi, WK));
      const bit0 = kb.let("b0", K.mul(w, K.i32(32)));
      const d0 = kb.let("d0", divK(bit0, K.i32(bits)));
      const d1 = kb.let("d1", K.bin("min", DK, K.add(divK(K.add(bit0, K.i32(31)), K.i32(bits)), K.i32(1))));
      const word = kb.var("word", K.u32(0));
      kb.for("d", d0, d1, (d) => {
        const grp = groupOf(kb, axis, row, d, TK, DK);
        const s = kb.let("s", K.load("scale", grp, "f32"));
        const z = kb.let("z", K.load("zero", grp, "f32"));
        const xv = kb.let("xv", K.cast(K.load("x", K.add(K.mul(row, DK), d), xt), "f32"));
        const q = kb.var("q", K.i32(0));
        kb.if(K.bin("gt", s, K.f32(0)), () => {
          const diff = kb.let("df", K.sub(xv, z));
          const t = kb.let("tq", K.bin("div", diff, s));
          kb.if(not(K.un("isnan", t, "bool")), () => {
            const q0 = kb.let("q0", K.cast(K.bin("min", K.bin("max", K.un("round", t), K.f32(0)), K.f32(L)), "i32"));
            kb.set(q, q0);
            kb.if(and(and(finite(s), finite(xv)), finite(diff)), () => {
              const [sh, sl] = split12(kb, s);
              // sign of x - z - m·s for the half-integer m = q0 ± 0.5
              const sgn = (m: KExpr) => exactSign(kb, [xv, neg(z), neg(K.mul(m, sh)), neg(K.mul(m, sl))]);
              const odd = kb.let("qo", eq(K.bin("bitand", q0, K.i32(1)), K.i32(1)));
              const qf = kb.let("qf", K.cast(q0, "f32"));
              kb.if(lt(q0, K.i32(L)), () => {
                const su = sgn(K.add(qf, K.f32(0.5)));
                kb.if(or(K.bin("gt", su, K.i32(0)), and(eq(su, K.i32(0)), odd)), () => kb.set(q, K.add(q0, K.i32(1))));
              });
              kb.if(and(K.bin("gt", q0, K.i32(0)), eq(q, q0)), () => {
                const sd = sgn(K.sub(qf, K.f32(0.5)));
                kb.if(or(lt(sd, K.i32(0)), and(eq(sd, K.i32(0)), odd)), () => kb.set(q, K.sub(q0, K.i32(1))));
              });
            });
          });
        });
        const qu = kb.let("qu", K.cast(q, "u32"));
        const off = kb.let("off", K.sub(K.mul(d, K.i32(bits)), bit0));
        kb.if(K.bin("ge", off, K.i32(0)), () => kb.set(word, K.bin("bitor", word, shl(qu, off))), () => kb.set(word, K.bin("bitor", word, shr(qu, K.un("neg", off)))));
      });
      kb.store("packed", gi, word);
    });
    launches.push(
      mkLaunch(
        cx,
        "pack",
        kb,
        EW_WG,
        [
          { name: "x", t: xt, access: "read", id: x.id },
          { name: "scale", t: "f32", access: "read", id: scale },
          { name: "zero", t: "f32", access: "read", id: zero },
          { name: "packed", t: "u32", access: "read_write", id: packed },
        ],
        [],
        D.ceilDiv(words, EW_WG),
      ),
    );
  }
  return launches;
};

KERNELS.dequantize = (cx) => {
  const { bits, axis, n } = cx.node.arg as OpArgs["dequantize"];
  checkBits(bits);
  const out = cx.outputs[0]!;
  const shape = out.type.shape;
  const r = shape.length;
  const outT = ktype(out.type.dtype as DType);
  const Td = axis === -2 ? shape[r - 2]! : D.dim(1);
  const total = D.numel(shape);
  if (total.value === 0) return [];
  const W = D.ceilDiv(D.mul(n, bits), 32);
  const mask = 2 ** bits - 1;
  const kb = new KB();
  const DK = kb.dim(n);
  const TK = kb.dim(Td);
  const WK = kb.dim(W);
  const gi = kb.let("gi", threadLinear());
  kb.if(lt(gi, kb.dim(total)), () => {
    const row = kb.let("row", divK(gi, DK));
    const d = kb.let("d", modK(gi, DK));
    const bit = kb.let("bit", K.mul(d, K.i32(bits)));
    const w = kb.let("w", K.add(K.mul(row, WK), K.bin("shr", bit, K.u32(5))));
    const o = kb.let("o", K.bin("bitand", bit, K.i32(31)));
    const q = kb.var("q", K.bin("bitand", shr(K.load("packed", w, "u32"), o), K.u32(mask)));
    if (32 % bits !== 0)
      kb.if(K.bin("gt", K.add(o, K.i32(bits)), K.i32(32)), () =>
        kb.set(q, K.bin("bitor", q, K.bin("bitand", shl(K.load("packed", K.add(w, K.i32(1)), "u32"), K.sub(K.i32(32), o)), K.u32(mask)))),
      );
    const grp = groupOf(kb, axis, row, d, TK, DK);
    const s = kb.let("s", K.load("scale", grp, "f32"));
    const z = kb.let("z", K.load("zero", grp, "f32"));
    const qf = kb.let("qf", K.cast(q, "f32"));
    const [sh, sl] = split12(kb, s);
    const p1 = kb.let("p1", K.mul(sh, qf));
    const p2 = kb.let("p2", K.mul(sl, qf));
    const y = kb.var("y", K.add(K.mul(s, qf), z));
    kb.if(and(and(finite(s), finite(z)), finite(y)), () => {
      const [s1, e1] = twoSum(kb, p1, z);
      kb.set(y, K.add(s1, K.add(e1, p2)));
      correctRound(kb, y, 2, (c, h) => exactSign(kb, [p1, p2, z, neg(c), neg(h)]));
    });
    kb.store("out", gi, castK(y, outT));
  });
  const [packed, scale, zero] = cx.inputs;
  return [
    mkLaunch(
      cx,
      "dequant",
      kb,
      EW_WG,
      [
        { name: "packed", t: "u32", access: "read", id: packed!.id },
        { name: "scale", t: "f32", access: "read", id: scale!.id },
        { name: "zero", t: "f32", access: "read", id: zero!.id },
        { name: "out", t: outT, access: "read_write", id: out.id },
      ],
      [],
      D.ceilDiv(total, EW_WG),
    ),
  ];
};
