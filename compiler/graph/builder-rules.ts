/**
 * The rules GraphBuilder's ops share: axis normalization, NumPy broadcasting, Python slice bounds,
 * size and bit-width checks (raising BuildError), literal dtypes and rounding, and finalizeExpr,
 * which turns builder-time scalar expressions into node bodies. The verifier (infer-shapes) uses
 * the same broadcasting rule.
 */
import { Diagnostics } from "../diagnostics/messages.ts";
import * as D from "./dim.ts";
import { dim, shapeToString, type Dim, type DimLike } from "./dim.ts";
import { isFloat, type DType } from "./dtype.ts";
import { BuildError } from "./errors.ts";
import type { BinaryFn, Node, UnaryFn } from "./ops.ts";
import type { SExpr, SVar } from "./expr.ts";

export const FLOATY: ReadonlySet<UnaryFn> = new Set<UnaryFn>([
  "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "tanh", "sigmoid", "gelu", "erf", "recip", "log1p", "expm1",
]);

const SYMBOLS: Partial<Record<BinaryFn, string>> = {
  add: "+", sub: "-", mul: "*", div: "/", mod: "%", pow: "**", eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=", and: "&&", or: "||",
};
export const opSymbol = (fn: BinaryFn): string => SYMBOLS[fn] ?? fn;

export function litDType(v: number | boolean, other: DType | undefined): DType {
  if (typeof v === "boolean") return "bool";
  if (other === undefined || other === "bool") return Number.isInteger(v) ? "i32" : "f32";
  if (isFloat(other)) return other;
  return Number.isInteger(v) ? other : "f32";
}

export function roundLiteral(v: number, t: DType): number {
  if (t === "i32") return Math.trunc(v) | 0;
  if (t === "u32") return Math.trunc(v) >>> 0;
  if (t === "bool") return v ? 1 : 0;
  return v;
}

export function checkBits(bits: number): void {
  if (![2, 3, 4, 8].includes(bits)) throw new BuildError(Diagnostics.Bits_must_be_2_3_4_or_8_got_0, [bits]);
}

/** A dim of a shape: a constant must not be negative. */
export function sizeDim(d: DimLike): Dim {
  const x = dim(d);
  if (x.value !== undefined && x.value < 0) throw new BuildError(Diagnostics.Dim_must_be_nonnegative_0, [x.value]);
  return x;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) throw new BuildError(Diagnostics.Axis_0_out_of_range_for_rank_1, [axis, rank]);
  return a;
}

/** NumPy broadcasting on trailing axes; symbolic dims must be equal or 1. */
export function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? dim(1);
    const y = b[b.length - r + i] ?? dim(1);
    if (x === y || y.value === 1) out.push(x);
    else if (x.value === 1) out.push(y);
    else throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(a), shapeToString(b)]);
  }
  return out;
}

/** Python slice bounds on a (possibly symbolic) length. */
export function sliceBounds(n: Dim, start: DimLike | undefined, stop: DimLike | undefined, step: number): { first: Dim; count: Dim } {
  const norm = (x: DimLike | undefined, dflt: Dim): Dim => {
    if (x === undefined) return dflt;
    const d = dim(x);
    const v = d.value;
    if (v !== undefined && v < 0) return D.max(D.add(n, v), step > 0 ? 0 : -1);
    if (v !== undefined && n.value !== undefined) return dim(Math.min(v, step > 0 ? n.value : n.value - 1));
    return d;
  };
  if (step > 0) {
    const s = norm(start, dim(0));
    const e = norm(stop, n);
    // a dim is never negative, so the whole axis needs no clamp (x[:], x[::2])
    const len = s.value === 0 && e === n ? n : D.max(D.sub(e, s), 0);
    return { first: s, count: D.ceilDiv(len, step) };
  }
  const s = norm(start, D.sub(n, 1));
  const e = norm(stop, dim(-1));
  const len = s === D.sub(n, 1) && e.value === -1 ? n : D.max(D.sub(s, e), 0);
  return { first: s, count: D.ceilDiv(len, -step) };
}

/**
 * Replaces builder-time loads (which hold nodes) by src positions and renumbers variables
 * canonically: the given outer vars become 0..n-1, reduction vars follow in pre-order.
 */
export function finalizeExpr(e: SExpr, outer: readonly SVar[], src: Node[]): { expr: SExpr; srcs: Node[] } {
  const ids = new Map<number, number>(outer.map((v, i) => [v.id, i]));
  let next = outer.length;
  const walk = (x: SExpr): SExpr => {
    switch (x.k) {
      case "var": {
        const id = ids.get(x.id);
        if (id === undefined) throw new BuildError(Diagnostics.Index_variable_0_not_bound, [`v${x.id}`]);
        return { k: "var", id, dtype: "i32" };
      }
      case "score":
      case "const":
      case "dim":
        return x;
      case "load": {
        const node = (x as unknown as { node?: Node }).node;
        let pos = x.src;
        if (node) {
          pos = src.indexOf(node);
          if (pos < 0) {
            src.push(node);
            pos = src.length - 1;
          }
        }
        return { k: "load", src: pos, idx: x.idx.map(walk), dtype: x.dtype };
      }
      case "unary":
        return { k: "unary", fn: x.fn, a: walk(x.a), dtype: x.dtype };
      case "binary":
        return { k: "binary", fn: x.fn, a: walk(x.a), b: walk(x.b), dtype: x.dtype };
      case "select":
        return { k: "select", c: walk(x.c), a: walk(x.a), b: walk(x.b), dtype: x.dtype };
      case "cast":
        return { k: "cast", a: walk(x.a), dtype: x.dtype };
      case "reduce": {
        const vars = x.vars.map((v) => {
          ids.set(v.id, next);
          return { id: next++, extent: v.extent };
        });
        const cond = x.cond ? walk(x.cond) : undefined;
        const body = walk(x.body);
        return { k: "reduce", fn: x.fn, vars, cond, body, dtype: x.dtype };
      }
    }
  };
  const expr = walk(e);
  return { expr, srcs: src };
}
