/**
 * Fused attention kernels (ops.ts `attention`): a flash-style online softmax with the hooks
 * inlined, block routes read in the kernel (block-sparse: only routed key blocks are visited,
 * nothing is gathered), and the side outputs.
 *
 * Main kernel: one workgroup of WG threads per (batch, query tile of Tq rows, value chunk of Dvc
 * columns); the workgroup id is linearized so large grids fold into y. For every key tile of TK
 * keys it
 *   1. stages K (and Q, unless the whole Q tile stays resident because D ≤ DC_MAX: a constant, or
 *      a symbolic D checked at run time) in workgroup memory, D chunk by D chunk, and accumulates
 *      the dot products S = Q·Kᵀ in registers (Tq × TK, sequential over d);
 *   2. turns them into final logits per (row, key): route/range check, mask hook, scale (1/√D from
 *      the D uniform when D is symbolic), score hook, bias; removed keys get -inf;
 *   3. row threads (tid < Tq) update the running max m, sum l (and one restricted sum per `mass`
 *      return, over the key subset) and the rescale factor α = exp(m_old − m_new), overwriting S
 *      with p = exp(z − m_new) (0 for a removed key, −1 in wmma) — meanwhile all threads stage the V tile
 *      (already multiplied by the value scale);
 *   4. O ← α·O + P·V on the workgroup's Tq × Dvc accumulator, held in registers (a thread owns
 *      fixed (row, column) pairs; wmma: in workgroup memory). When the V tile is all finite, p·v
 *      is added for every key (a removed key's 0 adds nothing); else only where p > 0 (a removed
 *      key, or an admitted one whose p underflowed to 0, adds nothing, not 0·inf = NaN).
 * Without block routes, the key loop covers only the keys the mask can admit for the tile's rows
 * (attention-range.ts: j ≤ i + c, j ≥ i − w and conjunctions; else every key): the skipped
 * tiles are all removed keys, which leave m, l and O unchanged.
 * At the end o = O / l (0 on fully masked rows), lse = m + log l (−inf), mass = l_S / l (0).
 * A +inf or NaN logit poisons its row with NaN explicitly (ops.ts), and ±inf/NaN are tested on
 * the bits, since targets may assume finite math (WGSL) or compare NaN unreliably (SwiftShader).
 * Resources: 128 threads; at most 16·64 + 32·64 + 16·32 + 16·(3 + #mass) floats of workgroup
 * memory (≈ 14.5 KB, under the 16 KiB WebGPU default; 16-key tiles when the target allows less). Every input the kernel reads,
 * each output and the flag is one storage binding (12 on SwiftShader, 8 in the WebGPU default).
 * Block routes: a workgroup's rows all lie in one query block (query blocks are split into
 * ceil(blockQ/Tq) tiles), so its key set is the union of its route row's blocks, visited entry by
 * entry (duplicates twice: multiplicity for free); -1 entries are skipped, other out-of-range
 * entries set the flag and are skipped.
 * Workgroup-uniform control flow: every barrier sits under loops and ifs whose conditions depend
 * only on the workgroup id, uniforms, constants and loads from read-only buffers at such indices.
 *
 * Constant vs symbolic: Tq (≤ 16; fewer for a short constant Nq, or blockQ split evenly), TK (≤ 32, 16 for wmma;
 * the next power of two of a shorter constant Nk or blockK), the D chunk Dc and the value chunk Dvc
 * are compile-time constants (Dc, Dvc the next power of two of D, Dv when those are constants ≤ 64,
 * else 64; wmma: Dc 32). Per-thread work is register-blocked: a thread owns one column (key, value
 * column) of several rows, unrolled, so one shared load of K or V serves all of them. D, Dv,
 * Nq, Nk, batch dims, block sizes and the route width may all be symbolic (loops and the grid use
 * their uniforms). A symbolic (or > 64) Dv is split over ceil(Dv/64) workgroups per query tile,
 * each recomputing the logits.
 *
 * probs: a second kernel, one thread per (batch, chosen row, key), recomputes that logit exactly
 * as the main kernel does (same dot order) and writes mult·exp(z − lse) using the lse the main
 * kernel stored (in a temp buffer when lse is not itself returned). No Nq × Nk buffer exists.
 */
import * as Dm from "../../graph/dim.ts";
import { dim, printDim, type Dim } from "../../graph/dim.ts";
import type { Node } from "../../graph/ops.ts";
import { K, forEachKernelNode, type Capability, type KExpr, type KShared, type KStmt, type Kernel, type KernelVariant, type KernelVariantKind } from "../ir.ts";
import type { Launch } from "../program.ts";
import { KERNELS, type LowerCtx } from "../registry.ts";
import { KernelScope, castK, compileExpr, dimToK, ktype, stridesK, type ExprCtx, type SrcInfo } from "../sexpr-to-kernel.ts";
import { decompose, linearId } from "./elementwise.ts";
import { maskKeyBounds, offK } from "./attention-range.ts";
import { BARRIER, REMOVED, Em, NAN, bits, NEG_INF, ZERO, and, assign, fadd, fmul, iff, isNegInf, isPosInf, lt, mmaStmt, nextPow2, not, rowStatsWarp, setFlag, sload, sstore } from "./attention-util.ts";

/** Threads per workgroup of the main kernel. */
const WG = 128;
/** Keys per tile (at most); the wmma variant's tiles are 16 keys. */
const TK_MAX = 32;
const TK_WMMA = 16;
/** Query rows per workgroup (at most). */
const TQ = 16;
/** Largest D kept as one resident chunk; the chunk width when D is symbolic or larger. */
const DC_MAX = 64;
/** The D chunk of the wmma variant when D is symbolic or larger. */
const DC_SYM = 32;
/** Value columns per workgroup (at most). */
const DVC = 64;
/** Threads per workgroup of the probs kernel. */
const WG_P = 64;
/** Workgroup memory the main kernel may use (the WebGPU default limit). */
const SHARED_LIMIT = 16384;
/** Static shared memory per block on CUDA (the variants). */
const CUDA_SHARED_LIMIT = 49152;


/**
 * Offset of element [...idx] of a tensor of `shape` broadcast to the indexed shape (right-aligned;
 * axes of static size 1 stretch).
 */
function bcastIndex(shape: readonly Dim[], idx: readonly KExpr[], sc: KernelScope): KExpr {
  const strides = stridesK(shape, sc);
  let off: KExpr = K.i32(0);
  const r = shape.length;
  for (let a = 0; a < r; a++) {
    const ix = idx[idx.length - r + a];
    if (ix === undefined || shape[a]!.value === 1) continue;
    off = K.add(off, K.mul(ix, strides[a]!));
  }
  return off;
}

/** A per-key tensor [*b', Nk] (or anything broadcasting to it): base offset for the batch and stride along keys. */
interface PerKey {
  readonly buf: string;
  readonly base: KExpr;
  readonly stride: number;
}

function attentionKernels(cx: LowerCtx): Launch[] {
  const node = cx.node as Node<"attention">;
  const a = node.arg;
  const ins = cx.inputs;
  const oType = cx.outputs[0]!.type;
  const batch = oType.shape.slice(0, -2);
  const nb = batch.length;
  const qS = ins[0]!.type.shape;
  const kS = ins[1]!.type.shape;
  const vS = ins[2]!.type.shape;
  const Nq = qS[qS.length - 2]!;
  const Dq = qS[qS.length - 1]!;
  const Nk = kS[kS.length - 2]!;
  const Dv = vS[vS.length - 1]!;
  const Bn = Dm.numel(batch);

  const lseOuts: number[] = [];
  const massOuts: { out: number; keys: number }[] = [];
  const probsOuts: { out: number; rows: number; shape: readonly Dim[] }[] = [];
  a.returns.forEach((r, n) => {
    const o = cx.outputs[n + 1]!;
    if (r.kind === "lse") lseOuts.push(o.id);
    else if (r.kind === "mass") massOuts.push({ out: o.id, keys: r.keys });
    else probsOuts.push({ out: o.id, rows: r.rows, shape: o.type.shape });
  });
  // the probs kernel needs the lse of every row
  if (probsOuts.length && lseOuts.length === 0) lseOuts.push(cx.temp("f32", Dm.mul(Bn, Nq)));

  const srcs: SrcInfo[] = ins.map((inp, i) => ({ buf: `in${i}`, dtype: inp.type.dtype, shape: inp.type.shape }));
  const common = { node, a, ins, batch, nb, Nq, Dq, Nk, Dv, Bn, srcs };
  const launches = [withVariants(cx, common, lseOuts, massOuts)];
  for (const p of probsOuts) launches.push(probsKernel(cx, common, lseOuts[0]!, p));
  return launches;
}

interface Common {
  readonly node: Node<"attention">;
  readonly a: Node<"attention">["arg"];
  readonly ins: LowerCtx["inputs"];
  readonly batch: readonly Dim[];
  readonly nb: number;
  readonly Nq: Dim;
  readonly Dq: Dim;
  readonly Nk: Dim;
  readonly Dv: Dim;
  readonly Bn: Dim;
  readonly srcs: readonly SrcInfo[];
}

/** Emission shared by both kernels: hook contexts, per-key tensors, logits. */
class AttnEm extends Em {
  readonly vars: KExpr[] = [];
  constructor(
    sc: KernelScope,
    readonly c: Common,
    readonly bidx: readonly KExpr[],
  ) {
    super(sc);
  }
  dK(d: Dim): KExpr {
    return dimToK(d, this.sc);
  }
  perKey(out: KStmt[], src: number): PerKey {
    const info = this.c.srcs[src]!;
    const shape = info.shape;
    const base = this.let(out, "kb", bcastIndex(shape, [...this.bidx, K.i32(0)], this.sc));
    const last = shape[shape.length - 1];
    return { buf: info.buf, base, stride: last === undefined || last.value === 1 ? 0 : 1 };
  }
  keyIndex(p: PerKey, j: KExpr): KExpr {
    return p.stride === 0 ? p.base : K.add(p.base, j);
  }
  /** The hook context for query i, key j (and the logit in a score hook). */
  exprCx(i: KExpr, j: KExpr, score?: KExpr): ExprCtx {
    const vars = new Map<number, KExpr>();
    const extents = new Map<number, Dim>();
    this.bidx.forEach((e, d) => {
      vars.set(d, e);
      extents.set(d, this.c.batch[d]!);
    });
    vars.set(this.c.nb, i);
    extents.set(this.c.nb, this.c.Nq);
    vars.set(this.c.nb + 1, j);
    extents.set(this.c.nb + 1, this.c.Nk);
    return { sc: this.sc, srcs: this.c.srcs, vars, extents, score, flag: "flag" };
  }
  /** f32 scale; null → 1/√D (1 when D = 0). */
  scale(out: KStmt[]): KExpr {
    const { a, Dq } = this.c;
    if (a.scale !== null) return K.f32(a.scale);
    const dv = Dq.value;
    if (dv !== undefined) return K.f32(dv > 0 ? 1 / Math.sqrt(dv) : 1);
    const d = this.dK(Dq);
    return this.let(out, "scale", K.sel(K.bin("gt", d, K.i32(0)), K.bin("div", K.f32(1), K.un("sqrt", K.cast(d, "f32"))), K.f32(1)));
  }
  /**
   * The final logit of (i, j) for an admitted key (i, j in range, route checked by the caller):
   * -inf when the mask hook removes the key, else score(f32(scale·dot)) + bias. `dot` emits the
   * dot product (only evaluated when the mask keeps the key).
   */
  logit(out: KStmt[], i: KExpr, j: KExpr, scale: KExpr, bias: PerKey | undefined, dot: (out: KStmt[]) => KExpr): KExpr {
    const { a, Dq } = this.c;
    const z = this.mut(out, "z", NEG_INF);
    const kept: KStmt[] = [];
    const d = dot(kept);
    const raw = Dq.value === 0 ? ZERO : Dq.value !== undefined ? fmul(scale, d) : K.sel(K.bin("eq", this.dK(Dq), K.i32(0)), ZERO, fmul(scale, d));
    let s = this.let(kept, "s", raw);
    if (a.score) {
      const r = compileExpr(a.score, this.exprCx(i, j, s), kept);
      s = this.let(kept, "s", castK(r, "f32"));
    }
    if (bias) s = this.let(kept, "s", fadd(s, K.load(bias.buf, this.keyIndex(bias, j), "f32")));
    kept.push(assign(z, s));
    if (a.mask) {
      const keep = compileExpr(a.mask, this.exprCx(i, j), out);
      out.push(iff(castK(keep, "bool"), kept));
    } else out.push(...kept);
    return z;
  }
}

/** Buffers a kernel body actually touches, in a stable order, with their launch args. */
function bindings(body: readonly KStmt[], cands: readonly { name: string; t: Kernel["buffers"][number]["t"]; id: number; write: boolean }[]) {
  const used = new Set<string>();
  const probe: Kernel = { name: "", workgroup: [1, 1, 1], buffers: [], uniforms: [], shared: [], body, dispatch: [dim(1), dim(1), dim(1)] };
  forEachKernelNode(probe, (s) => {
    if (s.k === "store") used.add(s.buf);
  }, (e) => {
    if (e.k === "load") used.add(e.buf);
  });
  const keep = cands.filter((c) => used.has(c.name));
  return {
    buffers: keep.map((c) => ({ name: c.name, t: c.t, access: c.write ? ("read_write" as const) : ("read" as const) })),
    args: keep.map((c) => c.id),
  };
}

function finish(name: string, sc: KernelScope, body: KStmt[], wg: number, shared: KShared[], dispatch: Dim, cands: Parameters<typeof bindings>[1], node: Node): Launch {
  const { buffers, args } = bindings(body, cands);
  const uniforms = [...sc.uniforms].sort();
  const kernel: Kernel = {
    name,
    workgroup: [wg, 1, 1],
    buffers,
    uniforms: uniforms.map((n) => ({ name: n, t: "i32" as const })),
    shared,
    body,
    dispatch: [dispatch, dim(1), dim(1)],
  };
  return { k: "launch", kernel, args, uniforms: uniforms.map((u) => ({ kind: "dim" as const, name: u.slice(2) })), node };
}

function inputCands(cx: LowerCtx, c: Common) {
  return c.ins.map((inp, i) => ({ name: c.srcs[i]!.buf, t: ktype(inp.type.dtype), id: inp.id, write: false }));
}

/**
 * The main kernel and its CUDA variants (Kernel.variants): "warp-shuffle" computes the row
 * statistics with warp reductions (TK lanes per row) instead of one thread per row; "wmma"
 * (f16/bf16 q, k, v of one dtype, no value scale) also forms S = Q·Kᵀ and O += P·V with warp
 * matrix multiply-accumulates on zero-padded 16×16 tiles. P goes to the tensor cores as two
 * halves, P = hi + lo (each rounded to the input dtype), so P·V keeps f32 accuracy; m, l and the
 * logits stay f32. A variant whose buffers, uniforms or dispatch would differ from the scalar
 * kernel's is dropped (the launch is shared). ±inf and NaN in V stay out of the tensor cores
 * (0·inf would reach rows that removed the key): they are added for the admitted keys afterwards.
 */
function withVariants(cx: LowerCtx, c: Common, lseOuts: readonly number[], massOuts: readonly { out: number; keys: number }[]): Launch {
  const base = mainKernel(cx, c, lseOuts, massOuts, "scalar"); if (cx.variants === false) return base; // a target without variants
  const dts = [0, 1, 2].map((i) => ktype(c.ins[i]!.type.dtype));
  const tc = (dts[0] === "f16" || dts[0] === "bf16") && dts.every((t) => t === dts[0]) && c.a.valueScale === undefined;
  const sig = (k: Kernel) => JSON.stringify([k.buffers, k.uniforms, k.workgroup, k.dispatch.map(printDim)]);
  const variants: KernelVariant[] = [];
  const modes: [KernelVariantKind, Capability[]][] = [["warp-shuffle", ["warp-shuffle"]]];
  if (tc) modes.push(["wmma", ["warp-shuffle", "wmma"]]);
  for (const [kind, requires] of modes) {
    const v = mainKernel(cx, c, lseOuts, massOuts, kind).kernel;
    if (sig(v) === sig(base.kernel)) variants.push({ kind, requires, kernel: v });
  }
  return { ...base, kernel: { ...base.kernel, variants } };
}

function mainKernel(cx: LowerCtx, c: Common, lseOuts: readonly number[], massOuts: readonly { out: number; keys: number }[], mode: KernelVariantKind): Launch {
  const { a, batch, Nq, Dq, Nk, Dv, Bn, srcs } = c;
  const tc = mode === "wmma";
  const shuffle = mode !== "scalar";
  const sc = new KernelScope();
  const oT = ktype(cx.outputs[0]!.type.dtype);
  const qT = ktype(c.ins[0]!.type.dtype);
  const kT = ktype(c.ins[1]!.type.dtype);
  const vT = ktype(c.ins[2]!.type.dtype);

  // compile-time tiling
  const Dval = Dq.value;
  const dRes = Dval !== undefined && Dval <= DC_MAX; // one resident D chunk: Q staged once
  // wmma tiles are 16 wide: pad D and the value chunk (zeros) to at least 16
  const Dc = Math.max(tc ? 16 : 1, dRes ? nextPow2(Dval) : tc ? DC_SYM : DC_MAX);
  const DvVal = Dv.value;
  const Dvc = Math.max(tc ? 16 : 1, DvVal !== undefined && DvVal <= DVC ? nextPow2(DvVal) : DVC);
  const nDc: Dim = DvVal !== undefined ? dim(Math.max(1, Math.ceil(DvVal / Dvc))) : Dm.max(Dm.ceilDiv(Dv, Dvc), 1);
  const blocks = a.blocks;
  const bqV = blocks?.blockQ.value;
  let Tq = Nq.value !== undefined ? Math.max(1, Math.min(TQ, Nq.value)) : TQ;
  let nSub: Dim | undefined; // query tiles per query block (routed)
  if (blocks) {
    Tq = TQ;
    if (bqV !== undefined) {
      const n = Math.max(1, Math.ceil(bqV / TQ));
      Tq = Math.max(1, Math.ceil(bqV / n));
      nSub = dim(n);
    } else nSub = Dm.ceilDiv(blocks.blockQ, TQ);
  }
  // keys per tile: fewer when a constant key range (Nk, or blockK when routed) is shorter
  const keySpan = blocks ? blocks.blockK.value : Nk.value;
  // (scalar kernels: 32 keys per tile when the workgroup memory allows, else 16)
  const scalarBytes = (tk: number) => 4 * (Tq * Dc + tk * Math.max(Dc, Dvc) + Tq * tk + Tq * (3 + massOuts.length) + 1);
  const roomy = scalarBytes(TK_MAX) <= Math.min(SHARED_LIMIT, cx.caps?.maxComputeWorkgroupStorageSize ?? SHARED_LIMIT);
  const TK = tc ? TK_WMMA : Math.min(roomy ? TK_MAX : TK_WMMA, keySpan !== undefined ? nextPow2(keySpan) : TK_MAX);
  /** Rows of the query-side tiles: Tq, or 16 (zero-padded) for wmma. */
  const TQP = tc ? 16 : Tq;
  const nQB: Dim | undefined = blocks ? Dm.ceilDiv(Nq, blocks.blockQ) : undefined;
  const nQT: Dim = blocks ? Dm.mul(nQB!, nSub!) : Dm.ceilDiv(Nq, Tq);
  const total = Dm.mul(Dm.mul(Bn, nQT), nDc);
  const nMass = massOuts.length;
  const hT = ktype(c.ins[0]!.type.dtype); // the packed tile type of the wmma variant
  const packed = (name: string, size: number): KShared => ({ name, t: hT, size, packed: true });
  const shared: KShared[] = [
    ...(tc
      ? [
          packed("qh", 16 * Dc), packed("kh", 16 * Dc), packed("vh", 32 * Dvc), packed("ph", 16 * 32), { name: "sc", t: "f32" as const, size: 16 * 16 },
          // non-finite V values (0 elsewhere) and whether the tile has any: added outside the tensor cores
          { name: "vx", t: "f32" as const, size: 16 * Dvc }, { name: "vb", t: "u32" as const, size: 1 },
        ]
      : [
          { name: "qs", t: "f32" as const, size: Tq * Dc }, { name: "kv", t: "f32" as const, size: TK * Math.max(Dc, Dvc) },
          // whether the V tile has a non-finite value (then P·V tests which keys are admitted)
          { name: "vb", t: "u32" as const, size: 1 },
        ]),
    { name: "sp", t: "f32", size: Tq * TK },
    // the scalar kernels keep O in registers
    ...(tc ? [{ name: "os", t: "f32" as const, size: TQP * Dvc }] : []),
    { name: "rm", t: "f32", size: Tq },
    { name: "rl", t: "f32", size: Tq },
    ...(tc ? [] : [{ name: "ra", t: "f32" as const, size: Tq }]),
    ...massOuts.map((_, n) => ({ name: `rs${n}`, t: "f32" as const, size: Tq })),
  ];
  const bytes = shared.reduce((s, x) => s + (x.packed ? 2 : 4) * x.size, 0);
  // the scalar kernel must fit WebGPU's default; the CUDA variants 48 KiB of static shared memory
  if (bytes > (mode === "scalar" ? SHARED_LIMIT : CUDA_SHARED_LIMIT)) throw new Error(`attention kernel needs ${bytes} bytes of workgroup memory`);

  const body: KStmt[] = [];
  const tid = K.v("tid", "i32");
  body.push({ k: "let", name: "tid", t: "i32", init: K.cast(K.lid(0), "i32"), mutable: false });
  body.push({ k: "let", name: "wg", t: "i32", init: K.cast(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), "i32"), mutable: false });
  const main: KStmt[] = [];
  const base = new Em(sc);
  // per-thread grid coordinates: thread tid owns column tid % cols and rows tid / cols + n·(WG / cols)
  const gridCols = new Map<number, { col: KExpr; row0: KExpr }>();
  const grid = (out: KStmt[], rows: number, cols: number, f: (r: KExpr, col: KExpr, out: KStmt[]) => void): void => {
    if (WG % cols !== 0) throw new Error(`attention: ${cols} columns do not divide ${WG} threads`);
    let g = gridCols.get(cols);
    if (!g) {
      g = { col: base.let(main, "col", K.bin("mod", tid, K.i32(cols))), row0: base.let(main, "row", K.bin("div", tid, K.i32(cols))) };
      gridCols.set(cols, g);
    }
    const step = WG / cols;
    const { col, row0 } = g;
    if (rows <= step) {
      const b: KStmt[] = [];
      f(row0, col, b);
      out.push(iff(lt(row0, K.i32(rows)), b));
    } else base.loop(out, "r", row0, K.i32(rows), step, (r, b) => f(r, col, b));
  };
  for (const cols of new Set([Dc, TK, Dvc, ...(tc ? [32] : [])])) grid([], 1, cols, () => {}); // hoist the coordinates
  /**
   * The rows a thread owns in a rows × cols grid (column tid % cols, rows tid / cols + n·(WG/cols)),
   * unrolled: r, a clamped copy rc safe to read with, and a validity test when the last may be past the end.
   */
  const owned = (rows: number, cols: number) => {
    const { col, row0 } = gridCols.get(cols)!;
    const step = WG / cols;
    const n = Math.max(1, Math.ceil(rows / step));
    const list = Array.from({ length: n }, (_, k) => {
      const r = k === 0 ? row0 : base.let(main, "ro", K.add(row0, K.i32(k * step)));
      const valid = (k + 1) * step <= rows ? undefined : lt(r, K.i32(rows));
      const rc = valid ? base.let(main, "rc", K.bin("min", r, K.i32(rows - 1))) : r;
      return { r, rc, valid };
    });
    return Object.assign(list, { col });
  };

  const wg = K.v("wg", "i32");
  const nDcK = dimToK(nDc, sc);
  const nQTK = dimToK(nQT, sc);
  const one = nDc.value === 1;
  const dc = one ? K.i32(0) : base.let(main, "dc", K.bin("mod", wg, nDcK));
  const rest = one ? wg : base.let(main, "wq", K.bin("div", wg, nDcK));
  const qt = base.let(main, "qt", K.bin("mod", rest, nQTK));
  const t = base.let(main, "t", K.bin("div", rest, nQTK));
  const bidx = decompose(t, batch, sc, main, "b");
  const em = new AttnEm(sc, c, bidx);
  const NqK = em.dK(Nq);
  const NkK = em.dK(Nk);
  const DK = em.dK(Dq);
  const DvK = em.dK(Dv);
  let rowStart: KExpr;
  let rowEnd: KExpr;
  let qb: KExpr | undefined;
  if (blocks) {
    const nSubK = em.dK(nSub!);
    const bqK = em.dK(blocks.blockQ);
    const whole = nSub!.value === 1;
    qb = whole ? qt : em.let(main, "qb", K.bin("div", qt, nSubK));
    const sub = whole ? K.i32(0) : em.let(main, "qsub", K.bin("mod", qt, nSubK));
    const qb0 = em.let(main, "qb0", K.mul(qb, bqK));
    rowStart = em.let(main, "r0", K.add(qb0, K.mul(sub, K.i32(Tq))));
    rowEnd = em.let(main, "r1", K.bin("min", K.add(qb0, bqK), NqK));
  } else {
    rowStart = em.let(main, "r0", K.mul(qt, K.i32(Tq)));
    rowEnd = NqK;
  }
  const c0 = em.let(main, "c0", K.mul(dc, K.i32(Dvc)));
  const qBase = em.let(main, "qbase", bcastIndex(c.ins[0]!.type.shape, [...bidx, K.i32(0), K.i32(0)], sc));
  const kBase = em.let(main, "kbase", bcastIndex(c.ins[1]!.type.shape, [...bidx, K.i32(0), K.i32(0)], sc));
  const vBase = em.let(main, "vbase", bcastIndex(c.ins[2]!.type.shape, [...bidx, K.i32(0), K.i32(0)], sc));
  const bias = a.bias !== undefined ? em.perKey(main, a.bias) : undefined;
  const vscale = a.valueScale !== undefined ? em.perKey(main, a.valueScale) : undefined;
  const massKeys = massOuts.map((m) => em.perKey(main, m.keys));
  const scale = em.scale(main);

  // initial state: O (in workgroup memory for wmma, else in registers: a thread owns column
  // tid % Dvc of rows tid / Dvc + n·(WG/Dvc))
  if (tc) grid(main, TQP, Dvc, (r, col, b) => b.push(sstore("os", K.add(K.mul(r, K.i32(Dvc)), col), ZERO)));
  const ownV = owned(Tq, Dvc);
  const oacc = tc ? [] : ownV.map(() => em.mut(main, "o", ZERO));
  // wmma: P's padding rows (≥ Tq) stay zero; the rows < Tq are rewritten every key tile
  if (tc) grid(main, 16, 32, (r, col, b) => b.push(sstore("ph", K.add(K.mul(r, K.i32(32)), col), ZERO)));
  main.push(iff(lt(tid, K.i32(Tq)), [sstore("rm", tid, NEG_INF), sstore("rl", tid, ZERO), ...massOuts.map((_, n) => sstore(`rs${n}`, tid, ZERO))]));
  const stageQ = (out: KStmt[], d0: KExpr) =>
    grid(out, TQP, Dc, (r, col, b) => {
      const i = em.let(b, "qi", K.add(rowStart, r));
      const d = em.let(b, "d", K.add(d0, col));
      const ok = and(lt(i, rowEnd), lt(d, DK));
      const x = em.guardedLoad(b, TQP > Tq ? and(lt(r, K.i32(Tq)), ok) : ok, srcs[0]!.buf, K.add(qBase, K.add(K.mul(i, DK), d)), qT, { k: "const", v: 0, t: qT });
      b.push(sstore(tc ? "qh" : "qs", K.add(K.mul(r, K.i32(Dc)), col), castK(x, tc ? hT : "f32")));
    });
  if (dRes) stageQ(main, K.i32(0));
  // symbolic D (scalar kernels): Q is resident too when D ≤ Dc at run time (a uniform condition)
  const qRes = !dRes && !tc && Dval === undefined ? em.let(main, "qres", K.bin("le", DK, K.i32(Dc))) : undefined;
  if (qRes) {
    const st: KStmt[] = [];
    stageQ(st, K.i32(0));
    main.push(iff(qRes, st));
  }

  /** One key tile: keys kStart + kt + [0, TK), admitted while kt + jj < len and < Nk. */
  const keyTile = (out: KStmt[], kStart: KExpr, len: KExpr, kt: KExpr): void => {
    const dense = len === NkK; // keys [0, Nk): the range check is the bounds check
    const keyOk = (b: KStmt[], jj: KExpr): { j: KExpr; ok: KExpr } => {
      const kk = em.let(b, "kk", K.add(kt, jj));
      const j = em.let(b, "j", K.add(kStart, kk));
      return { j, ok: em.let(b, "kok", dense ? lt(kk, len) : and(lt(kk, len), lt(j, NkK))) };
    };
    const stageK = (b0: KStmt[], d0: KExpr) =>
      grid(b0, TK, Dc, (r, col, b) => {
        const { j, ok } = keyOk(b, r);
        const d = em.let(b, "d", K.add(d0, col));
        const x = em.guardedLoad(b, and(ok, lt(d, DK)), srcs[1]!.buf, K.add(kBase, K.add(K.mul(j, DK), d)), kT, { k: "const", v: 0, t: kT });
        b.push(sstore(tc ? "kh" : "kv", K.add(K.mul(r, K.i32(Dc)), col), castK(x, tc ? hT : "f32")));
      });
    // a thread owns key column jj = tid % TK of rows tid / TK + n·(WG/TK): one K element load serves them all
    const own = owned(Tq, TK);
    /** accs[n] += Σ_dd qs[row n, dd]·kv[jj, dd] over dd < len, sequential in dd (the probs kernel's order). */
    const dots = (b: KStmt[], accs: readonly KExpr[], len: KExpr): void => {
      const qb = own.map(({ rc }) => em.let(b, "qr", K.mul(rc, K.i32(Dc))));
      const kb = em.let(b, "kr", K.mul(own.col, K.i32(Dc)));
      em.loop(b, "dd", K.i32(0), len, 1, (dd, lb) => {
        const kx = em.let(lb, "kx", sload("kv", K.add(kb, dd)));
        own.forEach((_, n) => lb.push(assign(accs[n]!, fadd(accs[n]!, fmul(sload("qs", K.add(qb[n]!, dd)), kx)))));
      });
    };
    /** Logits from the dot products, into sp. */
    const logits = (b0: KStmt[], accs: readonly KExpr[]) =>
      own.forEach(({ r, valid }, n) => {
        const b: KStmt[] = [];
        const i = em.let(b, "qi", K.add(rowStart, r));
        const { j, ok } = keyOk(b, own.col);
        const z = em.mut(b, "zt", NEG_INF);
        const kept: KStmt[] = [];
        const zz = em.logit(kept, i, j, scale, bias, () => accs[n]!);
        kept.push(assign(z, zz));
        b.push(iff(and(lt(i, rowEnd), ok), kept));
        b.push(sstore("sp", K.add(K.mul(r, K.i32(TK)), own.col), z));
        if (valid) b0.push(iff(valid, b));
        else b0.push(...b);
      });
    // 1–2. dot products (in registers) and logits
    if (tc) {
      // S = Q·Kᵀ by warp 0 on tensor cores: qh (16 × Dc) times khᵀ (kh is K row-major = Kᵀ column-major)
      const qk = (acc: boolean): KStmt =>
        iff(lt(tid, K.i32(32)), [mmaStmt(hT, { arr: "qh", offset: K.i32(0), ld: Dc }, { arr: "kh", offset: K.i32(0), ld: Dc, layout: "col" }, { arr: "sc", offset: K.i32(0), ld: 16 }, Dc / 16, acc)]);
      if (dRes) {
        stageK(out, K.i32(0));
        out.push(BARRIER, qk(false), BARRIER);
      } else {
        grid(out, 16, 16, (r, col, b) => b.push(sstore("sc", K.add(K.mul(r, K.i32(16)), col), ZERO)));
        em.loop(out, "d0", K.i32(0), DK, Dc, (d0, lb) => {
          stageQ(lb, d0);
          stageK(lb, d0);
          lb.push(BARRIER, qk(true), BARRIER);
        });
      }
      logits(out, own.map(({ rc }) => em.let(out, "acc", sload("sc", K.add(K.mul(rc, K.i32(16)), own.col)))));
      out.push(iff(K.bin("eq", tid, K.i32(0)), [sstore("vb", K.i32(0), K.u32(0))]));
    }
    const accs = tc ? [] : own.map(() => em.mut(out, "acc", ZERO));
    if (tc) {
      // done above
    } else if (dRes) {
      stageK(out, K.i32(0));
      out.push(BARRIER);
      dots(out, accs, K.i32(Dval));
    } else {
      const chunks: KStmt[] = [];
      em.loop(chunks, "d0", K.i32(0), DK, Dc, (d0, lb) => {
        stageQ(lb, d0);
        stageK(lb, d0);
        lb.push(BARRIER);
        dots(lb, accs, K.i32(Dc));
        lb.push(BARRIER);
      });
      if (qRes) {
        // D ≤ Dc at run time: Q stays resident (staged before the key loop), one K chunk per tile
        const res: KStmt[] = [];
        stageK(res, K.i32(0));
        res.push(BARRIER);
        dots(res, accs, DK);
        out.push(iff(qRes, res, chunks));
      } else out.push(...chunks);
    }
    if (!tc) {
      logits(out, accs);
      out.push(iff(K.bin("eq", tid, K.i32(0)), [sstore("vb", K.i32(0), K.u32(0))]));
    }
    out.push(BARRIER);
    // 3. row statistics (tid < Tq; warp variants: TK lanes per row), while everyone stages V·vscale
    if (shuffle) rowStatsWarp({ em, ...gridCols.get(TK)!, WG, TK, Tq, tc, hT, Dvc, massKeys, keyIndex: (p, j) => em.keyIndex(p as PerKey, j) }, out, kStart, kt);
    const row: KStmt[] = [];
    const rb = em.let(row, "rb", K.mul(tid, K.i32(TK)));
    const mOld = em.let(row, "mo", sload("rm", tid));
    const mNew = em.mut(row, "mn", mOld);
    em.loop(row, "jj", K.i32(0), K.i32(TK), 1, (jj, b) => b.push(assign(mNew, K.bin("max", mNew, sload("sp", K.add(rb, jj))))));
    // α = exp(m_old − m_new), spelled out at ±inf (exp of -inf or NaN is not to be trusted on every target)
    const alpha = em.let(row, "al", K.sel(isNegInf(mNew), K.f32(1), K.sel(isNegInf(mOld), ZERO, K.un("exp", K.bin("sub", mOld, mNew)))));
    // a +inf or NaN logit makes the row NaN (ops.ts): p = NaN for every admitted key
    const bad = em.let(row, "bad", K.bin("or", K.un("isnan", mNew), isPosInf(mNew)));
    const lsum = em.mut(row, "ls", ZERO);
    const msum = massOuts.map(() => em.mut(row, "ms", ZERO));
    em.loop(row, "jj", K.i32(0), K.i32(TK), 1, (jj, b) => {
      const e = em.let(b, "e", K.add(rb, jj));
      const s = em.let(b, "sv", sload("sp", e));
      const live = em.let(b, "live", not(isNegInf(s)));
      const p = em.let(b, "p", K.sel(live, K.sel(bad, NAN, K.un("exp", K.bin("sub", s, mNew))), REMOVED));
      b.push(sstore("sp", e, p));
      const add: KStmt[] = [assign(lsum, fadd(lsum, p))];
      if (nMass) {
        const j = em.let(add, "j", K.add(kStart, K.add(kt, jj)));
        massKeys.forEach((mk, n) => {
          const inS = K.load(mk.buf, em.keyIndex(mk, j), "bool");
          add.push(iff(inS, [assign(msum[n]!, fadd(msum[n]!, p))]));
        });
      }
      b.push(iff(live, add));
    });
    row.push(sstore("rm", tid, mNew), sstore("ra", tid, alpha), sstore("rl", tid, fadd(fmul(sload("rl", tid), alpha), lsum)));
    massOuts.forEach((_, n) => row.push(sstore(`rs${n}`, tid, fadd(fmul(sload(`rs${n}`, tid), alpha), msum[n]!))));
    if (!shuffle) out.push(iff(lt(tid, K.i32(Tq)), row));
    grid(out, TK, Dvc, (jj, col, b) => {
      const { j, ok } = keyOk(b, jj);
      const cc = em.let(b, "cv", K.add(c0, col));
      const ld = em.mut(b, "vx", ZERO);
      const load: KStmt[] = [];
      let x = castK(K.load(srcs[2]!.buf, K.add(vBase, K.add(K.mul(j, DvK), cc)), vT), "f32");
      if (vscale) x = fmul(x, K.load(vscale.buf, em.keyIndex(vscale, j), "f32"));
      load.push(assign(ld, x));
      b.push(iff(and(ok, lt(cc, DvK)), load));
      if (tc) {
        // V twice (rows 0–15 and 16–31): one two-step mma multiplies both halves of P by it. ±inf and
        // NaN stay out of it (0·inf would reach rows that removed the key): they go to vx instead
        const fin = em.let(b, "vfin", K.bin("ne", K.bin("bitand", bits(ld), K.u32(0x7f800000)), K.u32(0x7f800000)));
        const h = em.let(b, "vh", castK(K.sel(fin, ld, ZERO), hT));
        const vi = em.let(b, "vi", K.add(K.mul(jj, K.i32(Dvc)), col));
        b.push(sstore("vh", vi, h), sstore("vh", K.add(vi, K.i32(16 * Dvc)), h), sstore("vx", vi, K.sel(fin, ZERO, ld)));
        b.push(iff(not(fin), [sstore("vb", K.i32(0), K.u32(1))]));
      } else {
        b.push(sstore("kv", K.add(K.mul(jj, K.i32(Dvc)), col), ld));
        b.push(iff(K.bin("eq", K.bin("bitand", bits(ld), K.u32(0x7f800000)), K.u32(0x7f800000)), [sstore("vb", K.i32(0), K.u32(1))]));
      }
    });
    out.push(BARRIER);
    if (tc) {
      // 4. O += [P_hi P_lo]·[V; V] on tensor cores: warp w owns O's columns 16w..16w+15 (O was rescaled by α in step 3)
      const w16 = em.let(out, "wc", K.mul(K.bin("div", tid, K.i32(32)), K.i32(16)));
      const pv = mmaStmt(hT, { arr: "ph", offset: K.i32(0), ld: 32 }, { arr: "vh", offset: w16, ld: Dvc, layout: "row" }, { arr: "os", offset: w16, ld: Dvc }, 2, true);
      out.push(iff(lt(tid, K.i32(32 * (Dvc / 16))), [pv]), BARRIER);
      // non-finite V: add p·v for the admitted keys (p ≥ 0) as the scalar kernel does
      const fix: KStmt[] = [];
      grid(fix, Tq, Dvc, (r, col, b) => {
        const oi = em.let(b, "oi", K.add(K.mul(r, K.i32(Dvc)), col));
        const acc = em.mut(b, "o", sload("os", oi));
        em.loop(b, "jj", K.i32(0), K.i32(TK), 1, (jj, lb) => {
          const x = em.let(lb, "x", sload("vx", K.add(K.mul(jj, K.i32(Dvc)), col)));
          const p = em.let(lb, "p", sload("sp", K.add(K.mul(r, K.i32(TK)), jj)));
          lb.push(iff(and(K.bin("ge", p, ZERO), K.bin("eq", K.bin("bitand", bits(x), K.u32(0x7f800000)), K.u32(0x7f800000))), [assign(acc, fadd(acc, fmul(p, x)))]));
        });
        b.push(sstore("os", oi, acc));
      });
      out.push(iff(K.bin("ne", { k: "sload", arr: "vb", index: K.i32(0), t: "u32" }, K.u32(0)), [...fix, BARRIER]));
      return;
    }
    // 4. O ← α·O + P·V in registers; a thread owns column col of rows row0 + n·(WG/Dvc), each V element loaded once for all of them
    ownV.forEach(({ rc }, n) => out.push(assign(oacc[n]!, fmul(oacc[n]!, sload("ra", rc)))));
    const pbs = ownV.map(({ rc }) => em.let(out, "pb", K.mul(rc, K.i32(TK))));
    // a removed key has p = 0: with a finite V tile p·v adds nothing; else only p > 0 is added
    const pv = (checked: boolean): KStmt[] => {
      const b: KStmt[] = [];
      em.loop(b, "jj", K.i32(0), K.i32(TK), 1, (jj, lb) => {
        const vv = em.let(lb, "vv", sload("kv", K.add(K.mul(jj, K.i32(Dvc)), ownV.col)));
        ownV.forEach((_, n) => {
          const p = em.let(lb, "p", sload("sp", K.add(pbs[n]!, jj)));
          const pv = fmul(p, vv);
          lb.push(assign(oacc[n]!, fadd(oacc[n]!, checked ? K.sel(K.bin("gt", p, ZERO), pv, ZERO) : pv)));
        });
      });
      return b;
    };
    out.push(iff(K.bin("eq", { k: "sload", arr: "vb", index: K.i32(0), t: "u32" }, K.u32(0)), pv(false), pv(true)));
    out.push(BARRIER);
  };

  const keyRange = (out: KStmt[], kStart: KExpr, len: KExpr, from: KExpr = K.i32(0), to: KExpr = len) => em.loop(out, "kt", from, to, TK, (kt, b) => keyTile(b, kStart, len, kt));
  if (blocks) {
    const rS = srcs[blocks.src]!;
    const R = rS.shape[rS.shape.length - 1]!;
    const bkK = em.dK(blocks.blockK);
    const nKB = em.let(main, "nkb", em.dK(Dm.ceilDiv(Nk, blocks.blockK)));
    em.loop(main, "re", K.i32(0), em.dK(R), 1, (e, b) => {
      const blk = em.let(b, "blk", K.load(rS.buf, bcastIndex(rS.shape, [...bidx, qb!, e], sc), "i32"));
      const ok = em.let(b, "bok", and(K.bin("ge", blk, K.i32(0)), lt(blk, nKB)));
      b.push(iff(and(and(not(ok), K.bin("ne", blk, K.i32(-1))), K.bin("eq", tid, K.i32(0))), [setFlag("flag")]));
      const inner: KStmt[] = [];
      keyRange(inner, em.let(inner, "ks", K.mul(blk, bkK)), bkK);
      b.push(iff(ok, inner));
    });
  } else {
    // keys the mask admits for rows [r0, r1): [r0 + lo, r1 − 1 + hi], the start aligned down to a tile
    const kb = maskKeyBounds(a.mask, c.nb, c.nb + 1);
    let from: KExpr = K.i32(0);
    let to: KExpr = NkK;
    if (kb?.lo.length) {
      const lo = kb.lo.map((o) => K.add(rowStart, offK(o, sc))).reduce((x, y) => K.bin("max", x, y));
      const k0 = em.let(main, "klo", K.bin("max", lo, K.i32(0)));
      from = em.let(main, "kt0", K.mul(K.bin("div", k0, K.i32(TK)), K.i32(TK)));
    }
    if (kb?.hi.length) {
      const r1 = em.let(main, "r1", K.bin("min", K.add(rowStart, K.i32(Tq)), NqK));
      to = em.let(main, "kt1", kb.hi.map((o) => K.add(r1, offK(o, sc))).reduce((x, y) => K.bin("min", x, y), NkK));
    }
    keyRange(main, K.i32(0), NkK, from, to);
  }
  main.push(BARRIER);

  // outputs
  if (!tc)
    ownV.forEach(({ r, valid }, n) => {
      const i = em.let(main, "qi", K.add(rowStart, r));
      const cc = em.let(main, "cv", K.add(c0, ownV.col));
      const st: KStmt[] = [];
      const m = em.let(st, "m", sload("rm", r));
      const l = em.let(st, "l", sload("rl", r));
      const val = K.sel(isNegInf(m), ZERO, K.sel(K.un("isnan", l), NAN, K.bin("div", oacc[n]!, l)));
      st.push({ k: "store", buf: "o", index: K.add(K.mul(K.add(K.mul(t, NqK), i), DvK), cc), value: castK(val, oT) });
      const ok = and(lt(i, rowEnd), lt(cc, DvK));
      main.push(iff(valid ? and(valid, ok) : ok, st));
    });
  else grid(main, Tq, Dvc, (r, col, b) => {
    const i = em.let(b, "qi", K.add(rowStart, r));
    const cc = em.let(b, "cv", K.add(c0, col));
    const st: KStmt[] = [];
    const m = em.let(st, "m", sload("rm", r));
    const l = em.let(st, "l", sload("rl", r));
    const val = K.sel(isNegInf(m), ZERO, K.sel(K.un("isnan", l), NAN, K.bin("div", sload("os", K.add(K.mul(r, K.i32(Dvc)), col)), l)));
    st.push({ k: "store", buf: "o", index: K.add(K.mul(K.add(K.mul(t, NqK), i), DvK), cc), value: castK(val, oT) });
    b.push(iff(and(lt(i, rowEnd), lt(cc, DvK)), st));
  });
  if (lseOuts.length || nMass) {
    const st: KStmt[] = [];
    const i = em.let(st, "qi", K.add(rowStart, tid));
    const w: KStmt[] = [];
    const m = em.let(w, "m", sload("rm", tid));
    const l = em.let(w, "l", sload("rl", tid));
    const dead = em.let(w, "dead", isNegInf(m));
    const nan = em.let(w, "nan", K.un("isnan", l)); // a NaN row (l is NaN exactly then)
    const idx = em.let(w, "li", K.add(K.mul(t, NqK), i));
    lseOuts.forEach((_, n) => w.push({ k: "store", buf: `lse${n}`, index: idx, value: K.sel(dead, NEG_INF, K.sel(nan, NAN, fadd(m, K.un("log", l)))) }));
    massOuts.forEach((_, n) => w.push({ k: "store", buf: `mass${n}`, index: idx, value: K.sel(dead, ZERO, K.sel(nan, NAN, K.bin("div", sload(`rs${n}`, tid), l))) }));
    st.push(iff(lt(i, rowEnd), w));
    main.push(iff(one ? lt(tid, K.i32(Tq)) : and(lt(tid, K.i32(Tq)), K.bin("eq", dc, K.i32(0))), st));
  }
  body.push(iff(lt(wg, dimToK(total, sc)), main));

  const cands = [
    ...inputCands(cx, c),
    { name: "o", t: oT, id: cx.outputs[0]!.id, write: true },
    ...lseOuts.map((id, n) => ({ name: `lse${n}`, t: "f32" as const, id, write: true })),
    ...massOuts.map((m, n) => ({ name: `mass${n}`, t: "f32" as const, id: m.out, write: true })),
    { name: "flag", t: "u32" as const, id: cx.flag, write: true },
  ];
  return finish(`attention_${c.node.id}`, sc, body, WG, shared, total, cands, c.node);
}

/** probs[*b, r, j] = mult·exp(z_ij − lse_i) for i = rows[*b, r], one thread per element. */
function probsKernel(cx: LowerCtx, c: Common, lseBuf: number, p: { out: number; rows: number; shape: readonly Dim[] }): Launch {
  const { a, batch, Nq, Dq, Nk, Bn, srcs } = c;
  const sc = new KernelScope();
  const qT = ktype(c.ins[0]!.type.dtype);
  const kT = ktype(c.ins[1]!.type.dtype);
  const R = p.shape[p.shape.length - 2]!;
  const total = Dm.mul(Dm.mul(Bn, R), Nk);
  const body: KStmt[] = [];
  body.push({ k: "let", name: "gi", t: "i32", init: linearId(WG_P), mutable: false });
  const gi = K.v("gi", "i32");
  const w: KStmt[] = [];
  const e0 = new Em(sc);
  const NkK = dimToK(Nk, sc);
  const RK = dimToK(R, sc);
  const j = e0.let(w, "j", K.bin("mod", gi, NkK));
  const q1 = e0.let(w, "q", K.bin("div", gi, NkK));
  const rr = e0.let(w, "rr", K.bin("mod", q1, RK));
  const t = e0.let(w, "t", K.bin("div", q1, RK));
  const bidx = decompose(t, batch, sc, w, "b");
  const em = new AttnEm(sc, c, bidx);
  const NqK = em.dK(Nq);
  const DK = em.dK(Dq);
  const rowsS = srcs[p.rows]!;
  const i = em.let(w, "qi", K.load(rowsS.buf, bcastIndex(rowsS.shape, [...bidx, rr], sc), "i32"));
  const val = em.mut(w, "pv", ZERO);
  const iok = em.let(w, "iok", and(K.bin("ge", i, K.i32(0)), lt(i, NqK)));
  w.push(iff(and(not(iok), K.bin("ne", i, K.i32(-1))), [setFlag("flag")]));
  const row: KStmt[] = [];
  let mult: KExpr = K.i32(1);
  if (a.blocks) {
    const rS = srcs[a.blocks.src]!;
    const Rt = rS.shape[rS.shape.length - 1]!;
    const qb = em.let(row, "qb", K.bin("div", i, em.dK(a.blocks.blockQ)));
    const kb = em.let(row, "kb", K.bin("div", j, em.dK(a.blocks.blockK)));
    const cnt = em.mut(row, "cnt", K.i32(0));
    em.loop(row, "re", K.i32(0), em.dK(Rt), 1, (e, b) => {
      const blk = K.load(rS.buf, bcastIndex(rS.shape, [...bidx, qb, e], sc), "i32");
      b.push(iff(K.bin("eq", blk, kb), [assign(cnt, K.add(cnt, K.i32(1)))]));
    });
    mult = cnt;
  }
  const kept: KStmt[] = [];
  const qBase = em.let(kept, "qbase", bcastIndex(c.ins[0]!.type.shape, [...bidx, K.i32(0), K.i32(0)], sc));
  const kBase = em.let(kept, "kbase", bcastIndex(c.ins[1]!.type.shape, [...bidx, K.i32(0), K.i32(0)], sc));
  const bias = a.bias !== undefined ? em.perKey(kept, a.bias) : undefined;
  const scale = em.scale(kept);
  const z = em.logit(kept, i, j, scale, bias, (b) => {
    const acc = em.mut(b, "acc", ZERO);
    const qr = em.let(b, "qr", K.add(qBase, K.mul(i, DK)));
    const kr = em.let(b, "kr", K.add(kBase, K.mul(j, DK)));
    em.loop(b, "d", K.i32(0), DK, 1, (d, lb) =>
      lb.push(assign(acc, fadd(acc, fmul(castK(K.load(srcs[0]!.buf, K.add(qr, d), qT), "f32"), castK(K.load(srcs[1]!.buf, K.add(kr, d), kT), "f32"))))),
    );
    return acc;
  });
  const l = em.let(kept, "l", K.load("lse", K.add(K.mul(t, NqK), i), "f32"));
  // a NaN row (lse NaN) is NaN at every admitted key
  const pz = K.sel(K.un("isnan", l), NAN, fmul(K.cast(mult, "f32"), K.un("exp", K.bin("sub", z, l))));
  kept.push(iff(and(not(isNegInf(z)), not(isNegInf(l))), [assign(val, pz)]));
  if (a.blocks) row.push(iff(K.bin("gt", mult, K.i32(0)), kept));
  else row.push(...kept);
  w.push(iff(iok, row));
  w.push({ k: "store", buf: "p", index: gi, value: val });
  body.push(iff(lt(gi, dimToK(total, sc)), w));
  const cands = [
    ...inputCands(cx, c),
    { name: "lse", t: "f32" as const, id: lseBuf, write: false },
    { name: "p", t: "f32" as const, id: p.out, write: true },
    { name: "flag", t: "u32" as const, id: cx.flag, write: true },
  ];
  return finish(`attention_${c.node.id}_probs`, sc, body, WG_P, [], Dm.ceilDiv(total, WG_P), cands, c.node);
}

KERNELS.attention = attentionKernels;
