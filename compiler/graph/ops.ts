/**
 * The graph IR's op set and its semantics. The reference interpreter (interp.ts) implements
 * exactly what is written here; every pass and backend is tested against it.
 *
 * General rules
 * - A node has one dtype and one symbolic shape (dim.ts), computed when it is built. Multi-output
 *   ops (topk, compact, quantize, attention with side outputs, iterate) have dtype "tuple" and
 *   list their outputs in `types`; `proj` nodes take them apart.
 * - Elementwise ops broadcast like NumPy on trailing axes; a dim of 1 stretches. Operands are
 *   first converted to the node's compute dtype (dtype.ts `promote`): f16/bf16 results are
 *   computed in float64 and rounded to the storage dtype once per op (the interpreter emulates
 *   f16 and bf16 rounding; f32 rounds with Math.fround).
 * - Integers are i32 (wrapping, two's complement) or u32. Integer `div` and `mod` are floored
 *   (Python); division by zero gives 0. Float `mod` is floored too (x - floor(x/y)*y).
 * - Reductions, matmul, softmax and attention accumulate in f32 or better for f16/bf16 inputs
 *   (the interpreter accumulates in float64) and round once at the end.
 * - Order: topk, argsort, argmax, argmin break ties toward the lowest index; NaN counts as
 *   larger than every number. argsort is stable.
 * - Data-dependent indices (gather, segment ids, attention block routes, loads in compute):
 *   the index -1 means "no element" (the padding of compact): a read yields 0 and a write is
 *   dropped, silently. Any other out-of-range index also reads 0 / drops the write, and sets the
 *   program's error flag, which the runtime reports after the run.
 * - Attention rows whose keys are all masked give output 0 and lse -inf, never NaN.
 * - Zero-sized dims are legal everywhere.
 * - Malformed graphs or inputs (shapes that do not match, a slice or pad that reads outside its
 *   operand because symbolic bounds evaluated badly, a negative dim, a topk k > n) are errors of
 *   the program, not data: the interpreter throws InterpError instead of producing values.
 */
import type { Dim } from "./dim.ts";
import type { DType } from "./dtype.ts";
import type { SExpr } from "./expr.ts";

/**
 * Elementwise unary functions. x is converted to the node dtype first (float for transcendental ones).
 * Decisions: gelu is the exact erf form 0.5·x·(1 + erf(x/√2)) (gelu(-inf) = 0); round is half to
 * even; sign(0) = 0 and sign(NaN) = NaN; relu(NaN) = NaN; rsqrt = 1/sqrt, recip = 1/x,
 * sigmoid = 1/(1 + exp(-x)). On i32/u32, neg and abs wrap (neg(-2^31) = abs(-2^31) = -2^31,
 * neg of a u32 is 2^32 - x), not is bitwise (~x), floor/ceil/round are the identity and relu is
 * max(x, 0). not on bool is logical.
 */
export const UNARY_FNS = [
  "neg", "not", "abs", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "tanh",
  "sigmoid", "relu", "gelu", "erf", "floor", "ceil", "round", "sign", "isnan", "recip", "log1p", "expm1",
] as const;
export type UnaryFn = (typeof UNARY_FNS)[number];
/** Unary functions defined only on floats (int operands are converted to f32). */
export const FLOAT_UNARY: ReadonlySet<UnaryFn> = new Set<UnaryFn>([
  "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "tanh", "sigmoid", "gelu", "erf",
  "recip", "log1p", "expm1",
]);

/**
 * Elementwise binary functions. Comparisons give bool; and/or/xor take bool (or ints, bitwise);
 * pow and atan2 are float-only; min/max propagate NaN.
 * Decisions: integer add/sub/mul wrap (mul keeps the exact low 32 bits); integer div and mod
 * by zero both give 0; float mod is literally x - floor(x/y)·y, so y = 0 or y = ±inf gives NaN;
 * pow follows C99 pow: pow(1, y) = 1 and pow(x, ±0) = 1 even for NaN, pow(-1, ±inf) = 1, a
 * negative base with a non-integer exponent is NaN; comparisons with a NaN operand are false
 * except ne, which is true; min/max of -0 and 0 follow Math.min/Math.max (min is -0, max is 0).
 */
export const BINARY_FNS = [
  "add", "sub", "mul", "div", "mod", "pow", "min", "max", "atan2",
  "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor",
] as const;
export type BinaryFn = (typeof BINARY_FNS)[number];
export const COMPARE_FNS: ReadonlySet<BinaryFn> = new Set<BinaryFn>(["eq", "ne", "lt", "le", "gt", "ge"]);
export const LOGIC_FNS: ReadonlySet<BinaryFn> = new Set<BinaryFn>(["and", "or", "xor"]);

/**
 * sum/mean/prod (numeric), max/min (numeric; empty max is -inf for floats), any/all (bool).
 * Decisions: an empty sum is 0, prod 1, max -inf and min +inf for floats, max/min 0 for ints,
 * any false, all true, and mean NaN (0/0, like NumPy). max/min propagate NaN. Integer sum and
 * prod wrap; integer mean (result f32) sums exactly, without wrapping.
 */
export const REDUCE_FNS = ["sum", "mean", "max", "min", "prod", "any", "all"] as const;
export type ReduceFn = (typeof REDUCE_FNS)[number];

/** Attention side outputs, in the order requested. */
export type AttnReturn =
  /** per-row log-sum-exp of the final logits, f32 [*batch, Nq]; -inf on fully masked rows */
  | { readonly kind: "lse" }
  /** probabilities of chosen rows: src[rows] is i32 [*batch', R] (broadcast on batch); out f32 [*batch, R, Nk]; row -1 gives zeros */
  | { readonly kind: "probs"; readonly rows: number }
  /** mass of each row on a key subset: src[keys] is bool [*batch', Nk]; out f32 [*batch, Nq] = sum of p over the subset */
  | { readonly kind: "mass"; readonly keys: number };

/** The arguments of each op. `src` positions are documented per op. */
export interface OpArgs {
  /** A graph input. */
  input: { readonly name: string };
  /** A literal tensor, row-major; a scalar when shape is []. */
  const: { readonly values: readonly number[] };
  /** out[..., i, ...] = i along `axis` (i32). */
  iota: { readonly axis: number };
  unary: { readonly fn: UnaryFn };
  /** src: [a, b] broadcast. */
  binary: { readonly fn: BinaryFn };
  /** src: [cond (bool), a, b] broadcast. */
  where: Record<string, never>;
  /**
   * Converts to the node dtype: float→int truncates toward zero (NaN→0, saturating), bool is 0/1, x≠0 → true.
   * Decisions: NaN → bool is true (NaN ≠ 0); float → u32 saturates negatives to 0; i32 ↔ u32
   * keeps the 32 bits (-1 ↔ 4294967295); any → float rounds to nearest even (may overflow to inf).
   */
  cast: Record<string, never>;
  /** Same elements in row-major order, new shape. */
  reshape: Record<string, never>;
  /** out[i_perm[0], …] = x[i_0, …]; out.shape[k] = x.shape[perm[k]]. */
  permute: { readonly perm: readonly number[] };
  /** Broadcasts to the node shape (NumPy rules, prepending axes). */
  broadcast: Record<string, never>;
  /**
   * out[..., i, ...] = x[..., start + i*step, ...] per axis; the node shape gives the counts.
   * Every index read must lie inside x (symbolic bounds are not clamped like Python's); a
   * non-empty slice reading outside is malformed. An empty slice reads nothing.
   */
  slice: { readonly starts: readonly Dim[]; readonly steps: readonly number[] };
  /** src: tensors concatenated along axis. */
  concat: { readonly axis: number };
  /** Pads with `value`: before/after counts per axis; out[i] = x[i - before] where that exists, else value (a negative count crops). */
  pad: { readonly before: readonly Dim[]; readonly after: readonly Dim[]; readonly value: number };
  /**
   * x [B, H, W, C] → [B, sh*sw, (H/sh)*(W/sw), C]: region r = ry*sw + rx in raster order, token
   * t = ty*(W/sw) + tx inside the region (BiFormer's partition). H % sh == 0 and W % sw == 0.
   */
  regions: { readonly sh: number; readonly sw: number };
  /** The inverse of regions: [B, sh*sw, T, C] → [B, H, W, C] (H, W from the node shape). */
  unregions: { readonly sh: number; readonly sw: number };
  /** Reduces `axes` (sorted, distinct); keepdims keeps them as 1. */
  reduce: { readonly fn: ReduceFn; readonly axes: readonly number[]; readonly keepdims: boolean };
  /**
   * Index (i32) of the max/min along axis; ties → lowest index; NaN is the max.
   * Decisions: like PyTorch, NaN propagates: argmax and argmin both return the first NaN. An
   * empty axis gives -1.
   */
  argreduce: { readonly fn: "argmax" | "argmin"; readonly axis: number; readonly keepdims: boolean };
  /** exp(x - max) / sum along axis, computed in float64; all -inf row → zeros. A NaN (or +inf) in the row gives NaN for the whole row. */
  softmax: { readonly axis: number };
  /** log(sum(exp(x))) along axis; -inf for empty or all -inf; +inf if any entry is +inf; NaN if any is NaN. */
  logsumexp: { readonly axis: number; readonly keepdims: boolean };
  /** src: [a [..., M, K], b [..., K, N]] → [..., M, N]; batch axes broadcast; rank-1 operands are vectors. Integer matmul wraps. */
  matmul: Record<string, never>;
  /**
   * Inclusive (or exclusive) prefix sum along axis; reverse sums from the end. Each output is the
   * float64 prefix sum rounded once to the dtype (integers wrap).
   */
  cumsum: { readonly axis: number; readonly exclusive: boolean; readonly reverse: boolean };
  /**
   * tuple(values [.., k, ..], indices i32): the k largest (or smallest) along axis, in order; ties → lowest index.
   * NaN is the largest value (first for largest, last for smallest); -0 and 0 are equal keys.
   */
  topk: { readonly k: Dim; readonly axis: number; readonly largest: boolean };
  /**
   * The permutation (i32) that sorts along axis, stable (equal keys keep index order). Descending
   * order also keeps equal keys in ascending index order (it is not the reverse of ascending).
   * NaN sorts as the largest; -0 equals 0.
   */
  argsort: { readonly axis: number; readonly descending: boolean };
  /**
   * src: [mask bool [..., N]] → tuple(indices i32 [..., N] of the true positions in ascending order,
   * padded with -1; count i32 [...]). The static upper bound is N.
   */
  compact: Record<string, never>;
  /**
   * src: [x [*pre, N, *post], idx i32 [*pre', J]] with pre' broadcastable to pre (axis = len(pre)):
   * out[*pre, j, *post] = x[*pre, idx[*pre, j], *post].
   * Negative indices do not count from the end: -1 reads zeros silently, other negatives flag.
   */
  gather: { readonly axis: number };
  /**
   * src: [x [*pre, N, *post], seg i32 [*pre', N]] → out [*pre, num, *post]:
   * out[*pre, s, *post] = fn over {i : seg[*pre, i] == s} of x[*pre, i, *post], in index order.
   * Empty segment: sum/mean 0, max -inf, min +inf (floats) or 0 (ints).
   * max/min propagate NaN; integer sums wrap; integer mean (f32) sums exactly.
   */
  segment_reduce: { readonly fn: "sum" | "mean" | "max" | "min"; readonly axis: number; readonly num: Dim };
  /**
   * Index notation: out[v0, …, v_{r-1}] = body, evaluated independently at every point.
   * Every sub-expression is rounded to its own dtype (the same scalar semantics as the ops).
   * A load reads 0 when an index is out of range: silently when every offending index is -1,
   * otherwise also setting the error flag. select evaluates only the chosen branch (a guarded
   * load neither reads nor flags). Inside expressions, reduce follows the reduce op (empty mean
   * NaN, NaN propagation in max/min); argmax/argmin take exactly one variable, break ties toward
   * the lowest index, return the first NaN, and give -1 for an empty domain (or when cond never
   * holds).
   */
  compute: { readonly body: SExpr };
  /**
   * src: [x [B, H, W, C], w [C, kh, kw], bias? [C]]: depthwise cross-correlation, stride 1,
   * zero padding kh//2, kw//2 (same size for odd kernels).
   */
  dwconv2d: { readonly hasBias: boolean };
  /** src: [x, weight?, bias?] over the last axis: (x - mean) / sqrt(var + eps) * w + b (biased var). */
  layernorm: { readonly eps: number; readonly hasWeight: boolean; readonly hasBias: boolean };
  /** src: [x, weight?]: x / sqrt(mean(x²) + eps) * w over the last axis. */
  rmsnorm: { readonly eps: number; readonly hasWeight: boolean };
  /** x / max(‖x‖₂, eps) along axis. */
  l2normalize: { readonly axis: number; readonly eps: number };
  /**
   * Asymmetric round-to-nearest quantization with groups along `axis` (-1: per token over the last
   * axis; -2: per channel over the second-to-last): scale = (max - min)/(2^bits - 1), zero = min,
   * q = clamp(round_half_even((x - zero)/scale), 0, 2^bits - 1) (scale 0 → q 0). Output
   * tuple(packed u32 [..., ceil(D*bits/32)], scale f32, zero f32) where the scale/zero shapes are
   * x's shape without `axis`. Packing: element d of a row occupies bits [d*bits, d*bits + bits) of
   * the row's little-endian bit stream (a value may straddle two words).
   * Decisions: scale and zero are rounded to f32 first (scale = f32((max - min)/(2^bits - 1)),
   * zero = f32(min)) and q is computed in float64 from those stored values, so dequantize sees
   * exactly the numbers quantize used. Unused high bits of the last word are 0. A group holding a
   * NaN gets scale = zero = NaN and q = 0; an empty group gets scale 0, zero 0; a q that is NaN
   * (e.g. from infinite inputs) is 0.
   */
  quantize: { readonly bits: number; readonly axis: number };
  /** src: [packed, scale, zero] → x̂ = scale*q + zero with shape [..., n] (the inverse layout of quantize), computed in float64 and rounded once. */
  dequantize: { readonly bits: number; readonly axis: number; readonly n: Dim };
  /**
   * Fused attention. src: [q [*b, Nq, D], k [*b, Nk, D], v [*b, Nk, Dv], ...extras]; batch axes broadcast.
   * z[i, j] = scale * q_i·k_j (q·k accumulated in float64); then the score hook z' = score(z, *bidx, i, j);
   * then bias adds src[bias][*b, j] (broadcast on batch); the mask hook and the block route remove
   * keys, as does a final logit of -inf; p = softmax_j(z); o_i = Σ_j p_ij * vscale_j * v_j.
   * Hooks are SExprs over variables v0..v{nb-1} (batch indices), v{nb} = i, v{nb+1} = j; the score
   * hook reads the logit through the `score` expression (f32); the mask hook gives bool (true keeps).
   * blocks: src[blocks] i32 [*b', Qb, K]: query i may attend key j iff j / blockK appears in
   * route[*b, i / blockQ, :] (entries -1 skipped; duplicate entries count twice).
   * Output tuple(o, ...returns) when returns is non-empty, else o alone.
   *
   * Decisions (the interpreter's precise reading):
   * - Logits are f32 values: z = f32(scale · q·k) with the dot product in float64; the score hook
   *   sees that f32 value and its result is f32; the bias is added and the sum rounded to f32. The
   *   softmax, lse and Σ p·v run in float64 from those logits and round once.
   * - A head dim D = 0 gives logits 0 whatever the scale (no NaN from ∞·0); scale null is 1/√D.
   * - Per (query, key), the route decides first, then the mask hook, then the score hook and
   *   bias: hooks run only for keys the route admits, the score hook only where the mask keeps
   *   the key. (This only matters for the error flag of loads inside hooks.)
   * - A key admitted m times by the route (duplicate entries) weighs m·exp(z): the result equals
   *   dense attention over the gathered keys, duplicates included, and lse, probs and mass include
   *   the multiplicity (probs[i, j] = m·exp(z_j - lse_i)). Key blocks are j / blockK; the last
   *   block may be partial; route entries outside [0, ceil(Nk/blockK)) other than -1 are skipped
   *   and set the error flag. Query i uses route row i / blockQ.
   * - A final logit of +inf or NaN makes the row NaN (as softmax does); only -inf removes a key.
   * - probs rows other than -1 outside [0, Nq) give zeros and set the error flag.
   */
  attention: {
    /** null: 1/sqrt(D) with D the head dim (resolved at run time when D is symbolic). */
    readonly scale: number | null;
    readonly score: SExpr | undefined;
    readonly mask: SExpr | undefined;
    readonly bias: number | undefined;
    readonly valueScale: number | undefined;
    readonly blocks: { readonly src: number; readonly blockQ: Dim; readonly blockK: Dim } | undefined;
    readonly returns: readonly AttnReturn[];
  };
  /**
   * Fixed-count loop: src = initial states; body = the state after one step, built from
   * loop_state(loop, i) and loop_index(loop) nodes (free references to outer nodes allowed).
   * Output tuple(final states). n = 0 returns the initial states; a negative n is malformed.
   * Nodes depending on no loop placeholder are evaluated once; a node depending on loop_state or
   * loop_index of this loop is re-evaluated every iteration (its value never carries over).
   */
  iterate: { readonly n: Dim; readonly loop: number; readonly body: readonly Node[] };
  loop_state: { readonly loop: number; readonly index: number };
  /** The iteration number 0..n-1 (i32 scalar). */
  loop_index: { readonly loop: number };
  /** Output `index` of a tuple node. */
  proj: { readonly index: number };
}

export type GOp = keyof OpArgs;

export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

/** A graph IR node. Create only through GraphContext.node (interned: equal nodes are the same object). */
export interface Node<O extends GOp = GOp> {
  readonly id: number;
  readonly op: O;
  readonly dtype: DType | "tuple";
  readonly shape: readonly Dim[];
  /** Output types of a tuple node; [own type] otherwise. */
  readonly types: readonly TensorType[];
  readonly src: readonly Node[];
  readonly arg: OpArgs[O];
}

export const isTuple = (n: Node): boolean => n.dtype === "tuple";
