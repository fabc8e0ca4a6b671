/**
 * GraphBuilder: the programmatic API for building graph IR, and the only way the DSL builds it.
 * Every method checks its operands and computes the result's dtype and symbolic shape; invalid
 * input raises BuildError (a catalog message + arguments) so callers can attach a source span.
 * Tensor handles are the interned nodes themselves.
 */
import { Diagnostics } from "../diagnostics/messages.ts";
import * as D from "./dim.ts";
import { dim, shapeToString, type Dim, type DimLike } from "./dim.ts";
import { isFloat, isInt, type DType } from "./dtype.ts";
import { BuildError } from "./errors.ts";
import { GraphContext, type DivisibilityRequirement, type Graph } from "./node.ts";
import type { BinaryFn, GOp, Node, OpArgs, ReduceFn, TensorType, UnaryFn } from "./ops.ts";
import { binaryType, freshVar, sReduceWith, toExpr, type Scalar } from "./scalar.ts";
import type { SExpr, SVar } from "./expr.ts";
import { buildAttention, type AttentionOptions } from "./builder-attention.ts";
import { broadcastShapes, checkBits, finalizeExpr, FLOATY, litDType, normAxis, opSymbol, roundLiteral, sizeDim, sliceBounds } from "./builder-rules.ts";

export { broadcastShapes, finalizeExpr, normAxis } from "./builder-rules.ts";
export type { AttentionOptions } from "./builder-attention.ts";

export type Tensor = Node;
export type TensorLike = Node | number | boolean;

export class GraphBuilder {
  readonly cx = new GraphContext();
  /** Provenance attached to nodes built while set (the DSL sets the current span). */
  at: unknown = undefined;
  private readonly inputs: Node<"input">[] = [];
  private loopCounter = 0;
  private readonly requires: DivisibilityRequirement[] = [];

  constructor(readonly name = "main") {}

  /** @internal A node with provenance `at` (for builder-attention.ts). */
  mk<O extends GOp>(op: O, t: TensorType | readonly TensorType[], src: readonly Node[], arg: OpArgs[O]): Node<O> {
    return this.cx.node(op, Array.isArray(t) ? t : [t as TensorType], src, arg, this.at);
  }

  // ── sources ──────────────────────────────────────────────────────────────────────────────

  input(name: string, dtype: DType, shape: readonly DimLike[]): Tensor {
    const dup = this.inputs.find((i) => i.arg.name === name);
    if (dup) throw new BuildError(Diagnostics.Duplicate_name_0, [name]);
    const n = this.mk("input", { dtype, shape: shape.map(sizeDim) }, [], { name });
    this.inputs.push(n);
    return n;
  }

  /** A literal tensor (row-major values) or a scalar. */
  constant(values: number | boolean | readonly number[], dtype: DType, shape?: readonly DimLike[]): Tensor {
    const vals = typeof values === "object" ? values.map(Number) : [Number(values)];
    const shp = shape ? shape.map(sizeDim) : typeof values === "object" ? [dim(vals.length)] : [];
    const count = D.numel(shp).value;
    if (count !== vals.length) throw new BuildError(Diagnostics.Reshape_0_to_1_changes_size, [`[${vals.length}]`, shapeToString(shp)]);
    return this.mk("const", { dtype, shape: shp }, [], { values: vals.map((v) => roundLiteral(v, dtype)) });
  }

  scalar(v: number | boolean, dtype?: DType): Tensor {
    const t = dtype ?? (typeof v === "boolean" ? "bool" : Number.isInteger(v) ? "i32" : "f32");
    return this.constant(v, t);
  }

  full(shape: readonly DimLike[], value: number | boolean, dtype: DType): Tensor {
    return this.broadcastTo(this.scalar(value, dtype), shape);
  }

  iota(shape: readonly DimLike[], axis: number): Tensor {
    const s = shape.map(sizeDim);
    return this.mk("iota", { dtype: "i32", shape: s }, [], { axis: normAxis(axis, s.length) });
  }

  arange(n: DimLike): Tensor {
    return this.iota([n], 0);
  }

  // ── elementwise ──────────────────────────────────────────────────────────────────────────

  private lift(x: TensorLike, other?: DType): Tensor {
    if (typeof x === "object") return x;
    return this.scalar(x, litDType(x, other));
  }

  /** @internal Checks that x belongs to this builder (for builder-attention.ts). */
  check(x: Tensor, what = "tensor"): Tensor {
    if (x.dtype === "tuple") throw new BuildError(Diagnostics.Name_0_is_a_1_not_a_tensor, [what, "tuple"]);
    return x;
  }

  cast(x: Tensor, dtype: DType): Tensor {
    this.check(x);
    if (x.dtype === dtype) return x;
    return this.mk("cast", { dtype, shape: x.shape }, [x], {});
  }

  unary(fn: UnaryFn, x: TensorLike): Tensor {
    let a = this.check(this.lift(x));
    const dt = a.dtype as DType;
    if (fn === "not") {
      if (dt !== "bool" && !isInt(dt)) throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["!", "bool or an integer", dt]);
      return this.mk("unary", { dtype: dt, shape: a.shape }, [a], { fn });
    }
    if (dt === "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, [fn, "a number", "bool"]);
    if (fn === "isnan") return this.mk("unary", { dtype: "bool", shape: a.shape }, [a], { fn });
    if (!isFloat(dt) && FLOATY.has(fn)) a = this.cast(a, "f32");
    return this.mk("unary", { dtype: a.dtype as DType, shape: a.shape }, [a], { fn });
  }

  binary(fn: BinaryFn, x: TensorLike, y: TensorLike): Tensor {
    const a = this.lift(x, typeof y === "object" ? (y.dtype as DType) : undefined);
    const b = this.lift(y, a.dtype as DType);
    this.check(a);
    this.check(b);
    const { operand, result } = binaryType(fn, a.dtype as DType, b.dtype as DType, opSymbol(fn));
    const shape = broadcastShapes(a.shape, b.shape);
    return this.mk("binary", { dtype: result, shape }, [this.cast(a, operand), this.cast(b, operand)], { fn });
  }

  where(c: TensorLike, x: TensorLike, y: TensorLike): Tensor {
    const cond = this.check(this.lift(c));
    if (cond.dtype !== "bool") throw new BuildError(Diagnostics.Condition_must_be_bool_got_0, [cond.dtype]);
    const a = this.lift(x, typeof y === "object" ? (y.dtype as DType) : undefined);
    const b = this.lift(y, a.dtype as DType);
    this.check(a);
    this.check(b);
    const t = a.dtype === b.dtype ? (a.dtype as DType) : binaryType("add", a.dtype as DType, b.dtype as DType, "?:").operand;
    const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
    return this.mk("where", { dtype: t, shape }, [cond, this.cast(a, t), this.cast(b, t)], {});
  }

  add = (a: TensorLike, b: TensorLike): Tensor => this.binary("add", a, b);
  sub = (a: TensorLike, b: TensorLike): Tensor => this.binary("sub", a, b);
  mul = (a: TensorLike, b: TensorLike): Tensor => this.binary("mul", a, b);
  div = (a: TensorLike, b: TensorLike): Tensor => this.binary("div", a, b);
  exp = (x: TensorLike): Tensor => this.unary("exp", x);
  log = (x: TensorLike): Tensor => this.unary("log", x);
  sqrt = (x: TensorLike): Tensor => this.unary("sqrt", x);
  neg = (x: TensorLike): Tensor => this.unary("neg", x);

  /** ELU with parameter alpha: x if x > 0 else alpha*(exp(x) - 1). */
  elu(x: Tensor, alpha = 1): Tensor {
    return this.where(this.binary("gt", x, 0), x, this.mul(this.unary("expm1", x), alpha));
  }

  clamp(x: Tensor, lo: TensorLike, hi: TensorLike): Tensor {
    return this.binary("min", this.binary("max", x, lo), hi);
  }

  // ── layout ───────────────────────────────────────────────────────────────────────────────

  reshape(x: Tensor, shape: readonly DimLike[]): Tensor {
    this.check(x);
    let s = shape.map((d) => (d === -1 ? undefined : sizeDim(d)));
    const holes = s.filter((d) => d === undefined).length;
    if (holes > 1) throw new BuildError(Diagnostics.Reshape_0_to_1_changes_size, [shapeToString(x.shape), `[${shape.join(", ")}]`]);
    if (holes === 1) {
      const known = D.numel(s.filter((d): d is Dim => d !== undefined));
      const total = D.numel(x.shape);
      // Cancel the factors both shapes share (B in [B, N, 4] -> [B, -1]) so the quotient of the
      // rest is exact whenever what remains of the known dims is a constant.
      const rest = [...x.shape];
      const knownRest: Dim[] = [];
      for (const d of s) {
        if (d === undefined) continue;
        const i = d.value === undefined ? rest.indexOf(d) : -1;
        if (i >= 0) rest.splice(i, 1);
        else knownRest.push(d);
      }
      const inferred = D.div(D.numel(rest), D.numel(knownRest));
      if (D.mul(inferred, known) !== total) throw new BuildError(Diagnostics.Reshape_0_to_1_changes_size, [shapeToString(x.shape), `[${shape.join(", ")}]`]);
      s = s.map((d) => d ?? inferred);
    }
    const out = s as Dim[];
    if (D.numel(out) !== D.numel(x.shape)) throw new BuildError(Diagnostics.Reshape_0_to_1_changes_size, [shapeToString(x.shape), shapeToString(out)]);
    if (D.shapeEq(out, x.shape)) return x;
    return this.mk("reshape", { dtype: x.dtype as DType, shape: out }, [x], {});
  }

  permute(x: Tensor, perm: readonly number[]): Tensor {
    this.check(x);
    const r = x.shape.length;
    const p = perm.map((a) => normAxis(a, r));
    if (p.length !== r || new Set(p).size !== r) throw new BuildError(Diagnostics.Value_out_of_range_0_1, ["permutation", `[${perm.join(", ")}] for rank ${r}`]);
    if (p.every((a, i) => a === i)) return x;
    return this.mk("permute", { dtype: x.dtype as DType, shape: p.map((a) => x.shape[a]!) }, [x], { perm: p });
  }

  /** Swaps the last two axes (`x^T`). */
  transpose(x: Tensor): Tensor {
    const r = x.shape.length;
    if (r < 2) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 2", r, shapeToString(x.shape)]);
    const p = [...Array(r).keys()];
    [p[r - 2], p[r - 1]] = [p[r - 1]!, p[r - 2]!];
    return this.permute(x, p);
  }

  broadcastTo(x: Tensor, shape: readonly DimLike[]): Tensor {
    this.check(x);
    const s = shape.map(sizeDim);
    const b = broadcastShapes(x.shape, s);
    if (!D.shapeEq(b, s)) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(x.shape), shapeToString(s)]);
    if (D.shapeEq(x.shape, s)) return x;
    return this.mk("broadcast", { dtype: x.dtype as DType, shape: s }, [x], {});
  }

  unsqueeze(x: Tensor, axis: number): Tensor {
    const r = x.shape.length + 1;
    const a = normAxis(axis, r);
    const s = [...x.shape];
    s.splice(a, 0, dim(1));
    return this.reshape(x, s);
  }

  squeeze(x: Tensor, axis: number): Tensor {
    const a = normAxis(axis, x.shape.length);
    if (x.shape[a]!.value !== 1) throw new BuildError(Diagnostics.Value_out_of_range_0_1, ["squeeze", `axis ${axis} has size ${x.shape[a]}`]);
    return this.reshape(x, x.shape.filter((_, i) => i !== a));
  }

  /**
   * Python slicing on one axis: start/stop may be negative (from the end; symbolic dims allowed),
   * step may be negative. Counts are computed symbolically.
   */
  slice(x: Tensor, axis: number, start?: DimLike, stop?: DimLike, step = 1): Tensor {
    this.check(x);
    const a = normAxis(axis, x.shape.length);
    if (step === 0) throw new BuildError(Diagnostics.Slice_step_zero, []);
    const n = x.shape[a]!;
    const { first, count } = sliceBounds(n, start, stop, step);
    if (count === n && step === 1) return x;
    const starts = x.shape.map((_, i) => (i === a ? first : dim(0)));
    const steps = x.shape.map((_, i) => (i === a ? step : 1));
    const shape = x.shape.map((d, i) => (i === a ? count : d));
    return this.mk("slice", { dtype: x.dtype as DType, shape }, [x], { starts, steps });
  }

  /** x[..., i, ...] on one axis, dropping it; negative i counts from the end. */
  select(x: Tensor, axis: number, i: DimLike): Tensor {
    const a = normAxis(axis, x.shape.length);
    const n = x.shape[a]!;
    const idx = dim(i);
    const at = idx.value !== undefined && idx.value < 0 ? D.add(n, idx) : idx;
    const s = this.slice(x, a, at, D.add(at, 1), 1);
    return this.reshape(s, x.shape.filter((_, k) => k !== a));
  }

  concat(xs: readonly Tensor[], axis: number): Tensor {
    if (xs.length === 0) throw new BuildError(Diagnostics._0_expects_1_arguments_got_2, ["concat", "at least 1 tensor", 0]);
    xs.forEach((x) => this.check(x));
    const r = xs[0]!.shape.length;
    const a = normAxis(axis, r);
    const dt = xs[0]!.dtype as DType;
    let total = dim(0);
    for (const x of xs) {
      if (x.dtype !== dt) throw new BuildError(Diagnostics.Dtype_mismatch_0_1_in_2, [dt, x.dtype, "concat"]);
      if (x.shape.length !== r || x.shape.some((d, i) => i !== a && d !== xs[0]!.shape[i]))
        throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(xs[0]!.shape), shapeToString(x.shape)]);
      total = D.add(total, x.shape[a]!);
    }
    if (xs.length === 1) return xs[0]!;
    const shape = xs[0]!.shape.map((d, i) => (i === a ? total : d));
    return this.mk("concat", { dtype: dt, shape }, xs, { axis: a });
  }

  /** Splits into `parts` equal pieces (or the given sizes) along axis. */
  split(x: Tensor, parts: number | readonly DimLike[], axis: number): Tensor[] {
    const a = normAxis(axis, x.shape.length);
    const n = x.shape[a]!;
    let sizes: Dim[];
    if (typeof parts === "number") {
      if (!Number.isInteger(parts) || parts <= 0) throw new BuildError(Diagnostics.Value_out_of_range_0_1, ["split count", String(parts)]);
      const piece = D.div(n, parts);
      if (D.mul(piece, parts) !== n) throw new BuildError(Diagnostics.Dim_0_not_divisible_by_1, [n.toString(), parts]);
      sizes = Array(parts).fill(piece);
    } else sizes = parts.map(dim);
    const sum = sizes.reduce((s, d) => D.add(s, d), dim(0));
    if (sum !== n) throw new BuildError(Diagnostics.Value_out_of_range_0_1, ["split sizes", `they add up to ${sum}, not ${n}`]);
    let off = dim(0);
    return sizes.map((sz) => {
      const s = this.slice(x, a, off, D.add(off, sz), 1);
      off = D.add(off, sz);
      return s;
    });
  }

  pad(x: Tensor, before: readonly DimLike[], after: readonly DimLike[], value = 0): Tensor {
    this.check(x);
    const r = x.shape.length;
    if (before.length !== r || after.length !== r) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [r, before.length, shapeToString(x.shape)]);
    const b = before.map(dim);
    const e = after.map(dim);
    if (b.every((d) => d.value === 0) && e.every((d) => d.value === 0)) return x;
    const shape = x.shape.map((d, i) => D.add(D.add(d, b[i]!), e[i]!));
    return this.mk("pad", { dtype: x.dtype as DType, shape }, [x], { before: b, after: e, value });
  }

  regions(x: Tensor, sh: number, sw: number): Tensor {
    this.check(x);
    if (x.shape.length !== 4) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [4, x.shape.length, shapeToString(x.shape)]);
    const [B, H, W, C] = x.shape as [Dim, Dim, Dim, Dim];
    const shape = [B, dim(sh * sw), D.mul(this.divExact(H, sh, "regions"), this.divExact(W, sw, "regions")), C];
    return this.mk("regions", { dtype: x.dtype as DType, shape }, [x], { sh, sw });
  }

  /**
   * d / k assumed exact: a constant remainder is an error now; a symbolic one becomes a
   * requirement checked when dims are bound (the interpreter and runtimes report it).
   */
  divExact(d: Dim, k: number, what: string): Dim {
    const rem = D.mod(d, k).value;
    if (rem !== undefined && rem !== 0) throw new BuildError(Diagnostics.Dim_0_not_divisible_by_1, [d.toString(), k]);
    if (rem === undefined && !this.requires.some((r) => r.dim === d && r.divisor === k)) this.requires.push({ dim: d, divisor: k, what, origin: this.at });
    return D.exactDiv(d, k);
  }

  /** [..., N, C] → [..., h, N, C/h] (heads split off the channel axis; h must divide C). */
  splitHeads(x: Tensor, h: number): Tensor {
    this.check(x);
    const r = x.shape.length;
    if (r < 2) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 2", r, shapeToString(x.shape)]);
    if (!Number.isInteger(h) || h <= 0) throw new BuildError(Diagnostics.Value_out_of_range_0_1, ["heads", String(h)]);
    const C = x.shape[r - 1]!;
    const d = this.divExact(C, h, "split_heads");
    const y = this.reshape(x, [...x.shape.slice(0, -1), h, d]);
    return this.permute(y, [...Array(r - 2).keys(), r - 1, r - 2, r]);
  }

  /** [..., h, N, d] → [..., N, h*d]. */
  mergeHeads(x: Tensor): Tensor {
    this.check(x);
    const r = x.shape.length;
    if (r < 3) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 3", r, shapeToString(x.shape)]);
    const y = this.permute(x, [...Array(r - 3).keys(), r - 2, r - 3, r - 1]);
    return this.reshape(y, [...y.shape.slice(0, -2), D.mul(x.shape[r - 3]!, x.shape[r - 1]!)]);
  }

  unregions(x: Tensor, sh: number, sw: number, H: DimLike, W: DimLike): Tensor {
    this.check(x);
    if (x.shape.length !== 4) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [4, x.shape.length, shapeToString(x.shape)]);
    const [B, R, T, C] = x.shape as [Dim, Dim, Dim, Dim];
    const h = dim(H);
    const w = dim(W);
    if (R !== dim(sh * sw) || T !== D.mul(this.divExact(h, sh, "unregions"), this.divExact(w, sw, "unregions")))
      throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(x.shape), shapeToString([B, dim(sh * sw), D.mul(D.div(h, sh), D.div(w, sw)), C])]);
    return this.mk("unregions", { dtype: x.dtype as DType, shape: [B, h, w, C] }, [x], { sh, sw });
  }

  // ── reductions and contractions ──────────────────────────────────────────────────────────

  reduce(fn: ReduceFn, x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
    this.check(x);
    const r = x.shape.length;
    const ax = axes === undefined ? [...Array(r).keys()] : (typeof axes === "number" ? [axes] : axes).map((a) => normAxis(a, r));
    const sorted = [...new Set(ax)].sort((a, b) => a - b);
    const dt = x.dtype as DType;
    if ((fn === "any" || fn === "all") !== (dt === "bool"))
      throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, [fn, fn === "any" || fn === "all" ? "bool" : "a number", dt]);
    const out: DType = fn === "mean" && !isFloat(dt) ? "f32" : dt;
    const shape = keepdims ? x.shape.map((d, i) => (sorted.includes(i) ? dim(1) : d)) : x.shape.filter((_, i) => !sorted.includes(i));
    return this.mk("reduce", { dtype: out, shape }, [x], { fn, axes: sorted, keepdims });
  }

  argreduce(fn: "argmax" | "argmin", x: Tensor, axis = -1, keepdims = false): Tensor {
    this.check(x);
    if (x.dtype === "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, [fn, "a number", "bool"]);
    const a = normAxis(axis, x.shape.length);
    const shape = keepdims ? x.shape.map((d, i) => (i === a ? dim(1) : d)) : x.shape.filter((_, i) => i !== a);
    return this.mk("argreduce", { dtype: "i32", shape }, [x], { fn, axis: a, keepdims });
  }

  softmax(x: Tensor, axis = -1): Tensor {
    const f = this.floatOf(x, "softmax");
    return this.mk("softmax", { dtype: f.dtype as DType, shape: f.shape }, [f], { axis: normAxis(axis, f.shape.length) });
  }

  logsumexp(x: Tensor, axis = -1, keepdims = false): Tensor {
    const f = this.floatOf(x, "logsumexp");
    const a = normAxis(axis, f.shape.length);
    const shape = keepdims ? f.shape.map((d, i) => (i === a ? dim(1) : d)) : f.shape.filter((_, i) => i !== a);
    return this.mk("logsumexp", { dtype: f.dtype as DType, shape }, [f], { axis: a, keepdims });
  }

  private floatOf(x: Tensor, what: string): Tensor {
    this.check(x);
    if (x.dtype === "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, [what, "a number", "bool"]);
    return isFloat(x.dtype as DType) ? x : this.cast(x, "f32");
  }

  matmul(a: Tensor, b: Tensor): Tensor {
    this.check(a);
    this.check(b);
    if (a.shape.length === 0 || b.shape.length === 0) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 1", 0, "a scalar"]);
    const dt = binaryType("mul", a.dtype as DType, b.dtype as DType, "@").operand;
    const A = a.shape.length === 1 ? this.unsqueeze(a, 0) : a;
    const B = b.shape.length === 1 ? this.unsqueeze(b, -1) : b;
    const [M, K1] = A.shape.slice(-2) as [Dim, Dim];
    const [K2, N] = B.shape.slice(-2) as [Dim, Dim];
    if (K1 !== K2) throw new BuildError(Diagnostics.Matmul_inner_dims_0_and_1_differ, [shapeToString(a.shape), shapeToString(b.shape)]);
    const batch = broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2));
    const out = this.mk("matmul", { dtype: dt, shape: [...batch, M, N] }, [this.cast(A, dt), this.cast(B, dt)], {});
    if (a.shape.length === 1 && b.shape.length === 1) return this.reshape(out, []);
    if (a.shape.length === 1) return this.squeeze(out, -2);
    if (b.shape.length === 1) return this.squeeze(out, -1);
    return out;
  }

  /** einsum("bnc,cd->bnd", a, b): a compute node summing over the letters absent from the output. */
  einsum(spec: string, ...xs: Tensor[]): Tensor {
    const m = /^\s*([a-zA-Z,\s]*)->\s*([a-zA-Z]*)\s*$/.exec(spec);
    if (!m) throw new BuildError(Diagnostics.Einsum_spec_invalid_0, [`'${spec}' (expected 'ab,bc->ac')`]);
    const ins = m[1]!.split(",").map((s) => s.trim());
    const out = m[2]!;
    if (ins.length !== xs.length) throw new BuildError(Diagnostics.Einsum_spec_invalid_0, [`${ins.length} operand(s) in the spec, ${xs.length} given`]);
    const ext = new Map<string, Dim>();
    ins.forEach((letters, k) => {
      const x = this.check(xs[k]!);
      if (letters.length !== x.shape.length) throw new BuildError(Diagnostics.Einsum_spec_invalid_0, [`'${letters}' has ${letters.length} axes but operand ${k + 1} has shape ${shapeToString(x.shape)}`]);
      [...letters].forEach((c, i) => {
        const d = x.shape[i]!;
        const prev = ext.get(c);
        if (prev && prev !== d) throw new BuildError(Diagnostics.Extent_0_of_1_conflicts_with_2, [d.toString(), c, prev.toString()]);
        ext.set(c, d);
      });
    });
    for (const c of out) if (!ext.has(c)) throw new BuildError(Diagnostics.Einsum_spec_invalid_0, [`output letter '${c}' is not in any input`]);
    const red = [...ext.keys()].filter((c) => !out.includes(c));
    return this.compute([...out].map((c) => ext.get(c)!), (...ov) => {
      const env = new Map<string, SExpr>([...out].map((c, i) => [c, ov[i]!]));
      const prod = (): Scalar => {
        let acc: Scalar | undefined;
        xs.forEach((x, k) => {
          const ld = this.at_(x, [...ins[k]!].map((c) => env.get(c)!));
          acc = acc === undefined ? ld : S.binary("mul", acc, ld);
        });
        return acc!;
      };
      if (red.length === 0) return prod();
      return S.reduce("sum", red.map((c) => ext.get(c)!), (...rv) => {
        red.forEach((c, i) => env.set(c, rv[i]!));
        return prod();
      });
    });
  }

  cumsum(x: Tensor, axis = -1, exclusive = false, reverse = false): Tensor {
    this.check(x);
    if (x.dtype === "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["cumsum", "a number", "bool"]);
    return this.mk("cumsum", { dtype: x.dtype as DType, shape: x.shape }, [x], { axis: normAxis(axis, x.shape.length), exclusive, reverse });
  }

  // ── order and indices ────────────────────────────────────────────────────────────────────

  /** [values, indices]: the k largest (or smallest) along axis, sorted; ties → lowest index. */
  topk(x: Tensor, k: DimLike, axis = -1, largest = true): [Tensor, Tensor] {
    this.check(x);
    if (x.dtype === "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["topk", "a number", "bool"]);
    const a = normAxis(axis, x.shape.length);
    const kd = dim(k);
    const n = x.shape[a]!;
    const diff = D.sub(n, kd).value;
    if ((kd.value !== undefined && kd.value < 0) || (diff !== undefined && diff < 0)) throw new BuildError(Diagnostics.K_0_exceeds_dim_1, [kd.toString(), n.toString()]);
    const shape = x.shape.map((d, i) => (i === a ? kd : d));
    const t = this.mk("topk", [{ dtype: x.dtype as DType, shape }, { dtype: "i32", shape }], [x], { k: kd, axis: a, largest });
    return [this.proj(t, 0), this.proj(t, 1)];
  }

  argsort(x: Tensor, axis = -1, descending = false): Tensor {
    this.check(x);
    if (x.dtype === "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["argsort", "a number", "bool"]);
    return this.mk("argsort", { dtype: "i32", shape: x.shape }, [x], { axis: normAxis(axis, x.shape.length), descending });
  }

  sort(x: Tensor, axis = -1, descending = false): Tensor {
    const a = normAxis(axis, x.shape.length);
    return this.takeAlong(x, this.argsort(x, a, descending), a);
  }

  /** [indices padded with -1, count]: positions of true values along the last axis. */
  compact(mask: Tensor): [Tensor, Tensor] {
    this.check(mask);
    if (mask.dtype !== "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["compact", "bool", mask.dtype]);
    if (mask.shape.length === 0) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 1", 0, "[]"]);
    const t = this.mk("compact", [{ dtype: "i32", shape: mask.shape }, { dtype: "i32", shape: mask.shape.slice(0, -1) }], [mask], {});
    return [this.proj(t, 0), this.proj(t, 1)];
  }

  /** out[*pre, j, *post] = x[*pre, idx[*pre, j], *post] with axis = len(pre); idx's prefix broadcasts. */
  gather(x: Tensor, idx: Tensor, axis: number): Tensor {
    this.check(x);
    this.check(idx);
    if (!isInt(idx.dtype as DType)) throw new BuildError(Diagnostics.Index_must_be_integer_got_0, [idx.dtype]);
    const a = normAxis(axis, x.shape.length);
    if (idx.shape.length !== a + 1) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [a + 1, idx.shape.length, shapeToString(idx.shape)]);
    const pre = broadcastShapes(x.shape.slice(0, a), idx.shape.slice(0, a));
    if (!D.shapeEq(pre, x.shape.slice(0, a))) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(idx.shape), shapeToString(x.shape)]);
    const shape = [...pre, idx.shape[a]!, ...x.shape.slice(a + 1)];
    return this.mk("gather", { dtype: x.dtype as DType, shape }, [x, this.cast(idx, "i32")], { axis: a });
  }

  /** take_along_axis: idx has x's rank; out[..., j, ...] = x[..., idx[..., j, ...], ...]. */
  takeAlong(x: Tensor, idx: Tensor, axis: number): Tensor {
    const a = normAxis(axis, x.shape.length);
    if (idx.shape.length !== x.shape.length) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [x.shape.length, idx.shape.length, shapeToString(idx.shape)]);
    return this.compute(idx.shape, (...v) => this.at_(x, v.map((vi, i) => (i === a ? this.at_(idx, v) : vi))));
  }

  segmentReduce(fn: "sum" | "mean" | "max" | "min", x: Tensor, seg: Tensor, num: DimLike, axis: number): Tensor {
    this.check(x);
    this.check(seg);
    if (!isInt(seg.dtype as DType)) throw new BuildError(Diagnostics.Index_must_be_integer_got_0, [seg.dtype]);
    if (x.dtype === "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, [`segment_${fn}`, "a number", "bool"]);
    const a = normAxis(axis, x.shape.length);
    if (seg.shape.length !== a + 1) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [a + 1, seg.shape.length, shapeToString(seg.shape)]);
    const pre = broadcastShapes(x.shape.slice(0, a + 1), seg.shape);
    if (!D.shapeEq(pre, x.shape.slice(0, a + 1))) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(seg.shape), shapeToString(x.shape)]);
    const n = dim(num);
    const dt: DType = fn === "mean" && !isFloat(x.dtype as DType) ? "f32" : (x.dtype as DType);
    const shape = x.shape.map((d, i) => (i === a ? n : d));
    return this.mk("segment_reduce", { dtype: dt, shape }, [x, this.cast(seg, "i32")], { fn, axis: a, num: n });
  }

  // ── index notation ───────────────────────────────────────────────────────────────────────

  /** A load for use inside compute bodies and hooks: x[idx...]. */
  at_(x: Tensor, idx: readonly Scalar[]): SExpr {
    return S.load(x, idx);
  }

  /**
   * out[v0..] = body(v0..) over `shape`. The body may load from any tensor built by this builder.
   * Variables are renumbered canonically so equal bodies give equal nodes.
   */
  compute(shape: readonly DimLike[], body: (...vars: SVar[]) => Scalar): Tensor {
    const s = shape.map(sizeDim);
    const vars = s.map(() => freshVar());
    return this.computeExpr(s, vars, toExpr(body(...vars)));
  }

  /** compute() for a body already built over the given variables (one per output axis). */
  computeExpr(shape: readonly DimLike[], vars: readonly SVar[], body: SExpr): Tensor {
    const s = shape.map(sizeDim);
    const { expr, srcs } = finalizeExpr(body, vars, []);
    return this.mk("compute", { dtype: expr.dtype, shape: s }, srcs, { body: expr });
  }

  /** A reduction expression over given variables (the DSL's `sum(i | cond) body`). */
  reduceExpr(fn: ReduceFn | "argmax" | "argmin", vars: readonly SVar[], extents: readonly DimLike[], body: SExpr, cond?: SExpr): SExpr {
    return sReduceWith(fn, vars, extents, body, cond);
  }

  // ── nn ───────────────────────────────────────────────────────────────────────────────────

  dwconv2d(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
    this.check(x);
    this.check(w);
    if (x.shape.length !== 4) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [4, x.shape.length, shapeToString(x.shape)]);
    if (w.shape.length !== 3) throw new BuildError(Diagnostics.Rank_0_expected_got_1, [3, w.shape.length, shapeToString(w.shape)]);
    if (w.shape[0] !== x.shape[3]) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(x.shape), shapeToString(w.shape)]);
    const dt = binaryType("mul", x.dtype as DType, w.dtype as DType, "dwconv2d").operand;
    const src = [this.cast(x, dt), this.cast(w, dt)];
    if (bias) {
      if (bias.shape.length !== 1 || bias.shape[0] !== x.shape[3]) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(bias.shape), `[${x.shape[3]}]`]);
      src.push(this.cast(bias, dt));
    }
    return this.mk("dwconv2d", { dtype: dt, shape: x.shape }, src, { hasBias: !!bias });
  }

  layernorm(x: Tensor, weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
    const f = this.floatOf(x, "layernorm");
    const src = [f, ...[weight, bias].filter((t): t is Tensor => !!t).map((t) => this.lastAxisParam(t, f))];
    return this.mk("layernorm", { dtype: f.dtype as DType, shape: f.shape }, src, { eps, hasWeight: !!weight, hasBias: !!bias });
  }

  rmsnorm(x: Tensor, weight?: Tensor, eps = 1e-6): Tensor {
    const f = this.floatOf(x, "rmsnorm");
    const src = [f, ...(weight ? [this.lastAxisParam(weight, f)] : [])];
    return this.mk("rmsnorm", { dtype: f.dtype as DType, shape: f.shape }, src, { eps, hasWeight: !!weight });
  }

  private lastAxisParam(t: Tensor, x: Tensor): Tensor {
    const c = x.shape[x.shape.length - 1];
    if (t.shape.length !== 1 || t.shape[0] !== c) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(t.shape), `[${c}]`]);
    return this.cast(t, x.dtype as DType);
  }

  l2normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
    const f = this.floatOf(x, "l2normalize");
    return this.mk("l2normalize", { dtype: f.dtype as DType, shape: f.shape }, [f], { axis: normAxis(axis, f.shape.length), eps });
  }

  // ── quantization ─────────────────────────────────────────────────────────────────────────

  quantize(x: Tensor, bits: number, axis = -1): [Tensor, Tensor, Tensor] {
    const f = this.floatOf(x, "quantize");
    checkBits(bits);
    const r = f.shape.length;
    if (r < 1) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 1", 0, "[]"]);
    const a = normAxis(axis, r);
    if (a !== r - 1 && a !== r - 2) throw new BuildError(Diagnostics.Value_out_of_range_0_1, ["quantize axis", "must be -1 (per token) or -2 (per channel)"]);
    const Dd = f.shape[r - 1]!;
    const words = D.ceilDiv(D.mul(Dd, bits), 32);
    const packed: TensorType = { dtype: "u32", shape: [...f.shape.slice(0, -1), words] };
    const sshape = f.shape.filter((_, i) => i !== a);
    const t = this.mk("quantize", [packed, { dtype: "f32", shape: sshape }, { dtype: "f32", shape: sshape }], [f], { bits, axis: a - r });
    return [this.proj(t, 0), this.proj(t, 1), this.proj(t, 2)];
  }

  dequantize(packed: Tensor, scale: Tensor, zero: Tensor, bits: number, n: DimLike, axis = -1, dtype: DType = "f32"): Tensor {
    checkBits(bits);
    [packed, scale, zero].forEach((t) => this.check(t));
    if (packed.dtype !== "u32") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["dequant", "packed u32", packed.dtype]);
    const r = packed.shape.length;
    const a = normAxis(axis, r);
    const nd = dim(n);
    const words = D.ceilDiv(D.mul(nd, bits), 32);
    if (packed.shape[r - 1] !== words) throw new BuildError(Diagnostics.Value_out_of_range_0_1, ["packed width", `${packed.shape[r - 1]} words hold ${bits}-bit rows of ${D.div(D.mul(packed.shape[r - 1]!, 32), bits)}, not ${nd}`]);
    const shape = [...packed.shape.slice(0, -1), nd];
    const sshape = shape.filter((_, i) => i !== a);
    for (const t of [scale, zero]) if (!D.shapeEq(t.shape, sshape)) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(t.shape), shapeToString(sshape)]);
    return this.mk("dequantize", { dtype, shape }, [packed, this.cast(scale, "f32"), this.cast(zero, "f32")], { bits, axis: a - r, n: nd });
  }

  // ── attention ────────────────────────────────────────────────────────────────────────────

  /** Fused attention; returns o, or [o, ...side outputs] when `returns` is given (builder-attention.ts). */
  attention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor | Tensor[] {
    return buildAttention(this, q, k, v, o);
  }

  // ── iteration ────────────────────────────────────────────────────────────────────────────

  /** Runs `step` n times from `init`; step receives the state and the iteration number (i32 scalar). */
  iterate(n: DimLike, init: readonly Tensor[], step: (state: Tensor[], t: Tensor) => Tensor[]): Tensor[] {
    init.forEach((t) => this.check(t));
    const nd = dim(n);
    if (nd.value !== undefined && nd.value < 0) throw new BuildError(Diagnostics.Dim_must_be_nonnegative_0, [nd.value]);
    const loop = this.loopCounter++;
    const state = init.map((t, i) => this.mk("loop_state", { dtype: t.dtype as DType, shape: t.shape }, [], { loop, index: i }));
    const idx = this.mk("loop_index", { dtype: "i32", shape: [] }, [], { loop });
    const next = step(state, idx);
    if (next.length !== init.length) throw new BuildError(Diagnostics.Tuple_arity_0_vs_1, [init.length, next.length]);
    next.forEach((t, i) => {
      this.check(t);
      const a = init[i]!;
      if (t.dtype !== a.dtype || !D.shapeEq(t.shape, a.shape))
        throw new BuildError(Diagnostics.Iterate_state_0_changes_type_1_to_2, [i, `${a.dtype}${shapeToString(a.shape)}`, `${t.dtype}${shapeToString(t.shape)}`]);
    });
    const node = this.mk("iterate", init.map((t) => ({ dtype: t.dtype as DType, shape: t.shape })), init, { n: nd, loop, body: next });
    return init.map((_, i) => this.proj(node, i));
  }

  proj(t: Tensor, index: number): Tensor {
    const ty = t.types[index]!;
    return this.mk("proj", ty, [t], { index });
  }

  /** Finishes the graph with its outputs (and optional output names). */
  finish(outputs: readonly Tensor[], names?: readonly string[]): Graph {
    outputs.forEach((t) => this.check(t, "output"));
    return {
      name: this.name,
      inputs: [...this.inputs],
      outputs: [...outputs],
      outputNames: names ? [...names] : outputs.map((_, i) => (outputs.length === 1 ? "out" : `out${i}`)),
      cx: this.cx,
      requires: [...this.requires],
    };
  }
}

/** Scalar-expression helpers for compute bodies and hooks. */
export { S } from "./scalar-api.ts";
import { S } from "./scalar-api.ts";
