/** `S`: the scalar-expression vocabulary for compute bodies and attention hooks (builder API). */
import type { DimLike } from "./dim.ts";
import type { DType } from "./dtype.ts";
import type { SExpr, SVar } from "./expr.ts";
import type { BinaryFn, Node, ReduceFn, UnaryFn } from "./ops.ts";
import { sBinary, sCast, sConst, sDim, sLoad, sReduce, sSelect, sUnary, type Scalar } from "./scalar.ts";

export const S = {
  load: (x: Node, idx: readonly Scalar[]): SExpr => sLoad(x, idx),
  const: (v: number, dtype: DType): SExpr => sConst(v, dtype),
  dim: (d: DimLike): SExpr => sDim(d),
  cast: (a: Scalar, dtype: DType): SExpr => sCast(a, dtype),
  unary: (fn: UnaryFn, a: Scalar): SExpr => sUnary(fn, a),
  binary: (fn: BinaryFn, a: Scalar, b: Scalar): SExpr => sBinary(fn, a, b),
  select: (c: Scalar, a: Scalar, b: Scalar): SExpr => sSelect(c, a, b),
  reduce: (
    fn: ReduceFn | "argmax" | "argmin",
    extents: readonly DimLike[],
    body: (...v: SVar[]) => Scalar,
    cond?: (...v: SVar[]) => Scalar,
  ): SExpr => sReduce(fn, extents, body, cond),
  add: (a: Scalar, b: Scalar): SExpr => sBinary("add", a, b),
  sub: (a: Scalar, b: Scalar): SExpr => sBinary("sub", a, b),
  mul: (a: Scalar, b: Scalar): SExpr => sBinary("mul", a, b),
  div: (a: Scalar, b: Scalar): SExpr => sBinary("div", a, b),
  eq: (a: Scalar, b: Scalar): SExpr => sBinary("eq", a, b),
  lt: (a: Scalar, b: Scalar): SExpr => sBinary("lt", a, b),
  le: (a: Scalar, b: Scalar): SExpr => sBinary("le", a, b),
  gt: (a: Scalar, b: Scalar): SExpr => sBinary("gt", a, b),
  ge: (a: Scalar, b: Scalar): SExpr => sBinary("ge", a, b),
  and: (a: Scalar, b: Scalar): SExpr => sBinary("and", a, b),
  or: (a: Scalar, b: Scalar): SExpr => sBinary("or", a, b),
  exp: (a: Scalar): SExpr => sUnary("exp", a),
  log: (a: Scalar): SExpr => sUnary("log", a),
  neg: (a: Scalar): SExpr => sUnary("neg", a),
  sum: (extents: readonly DimLike[], body: (...v: SVar[]) => Scalar, cond?: (...v: SVar[]) => Scalar): SExpr =>
    sReduce("sum", extents, body, cond),
};
