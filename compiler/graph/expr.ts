/**
 * Scalar expressions: the bodies of index-notation `compute` nodes and of attention hooks.
 * An expression is evaluated at one point of an index space; index variables are i32 scalars.
 * `load` reads an element of a tensor input of the enclosing node (`src` is the position in
 * the node's src list); `reduce` folds its body over a box of index variables, optionally
 * restricted by a condition. Elementwise functions share their names and semantics with the
 * graph ops of the same name (ops.ts).
 */
import type { Dim } from "./dim.ts";
import type { DType } from "./dtype.ts";
import type { BinaryFn, ReduceFn, UnaryFn } from "./ops.ts";

export type SExpr = SVar | SScore | SConst | SDim | SLoad | SUnary | SBinary | SSelect | SCast | SReduce;

/** An index variable; ids are canonical per node: output axes 0..r-1, then reduction variables in pre-order. */
export interface SVar { readonly k: "var"; readonly id: number; readonly dtype: "i32" }
/** The logit value inside an attention score hook (f32). */
export interface SScore { readonly k: "score"; readonly dtype: "f32" }
export interface SConst { readonly k: "const"; readonly value: number; readonly dtype: DType }
/** The run-time value of a symbolic dim, as i32. */
export interface SDim { readonly k: "dim"; readonly dim: Dim; readonly dtype: "i32" }
export interface SLoad { readonly k: "load"; readonly src: number; readonly idx: readonly SExpr[]; readonly dtype: DType }
export interface SUnary { readonly k: "unary"; readonly fn: UnaryFn; readonly a: SExpr; readonly dtype: DType }
export interface SBinary { readonly k: "binary"; readonly fn: BinaryFn; readonly a: SExpr; readonly b: SExpr; readonly dtype: DType }
export interface SSelect { readonly k: "select"; readonly c: SExpr; readonly a: SExpr; readonly b: SExpr; readonly dtype: DType }
export interface SCast { readonly k: "cast"; readonly a: SExpr; readonly dtype: DType }
export interface SReduce {
  readonly k: "reduce";
  readonly fn: ReduceFn | "argmax" | "argmin";
  readonly vars: readonly { readonly id: number; readonly extent: Dim }[];
  readonly cond: SExpr | undefined;
  readonly body: SExpr;
  readonly dtype: DType;
}

/** exprKey of compound expressions; expressions are immutable once built, so the text is too. */
const keys = new WeakMap<SExpr, string>();

/** Canonical text of an expression (used in node keys and in the IR printer). */
export function exprKey(e: SExpr): string {
  switch (e.k) {
    case "var":
      return `v${e.id}`;
    case "score":
      return "score";
    case "const":
      return `${fmtNum(e.value)}:${e.dtype}`;
  }
  let k = keys.get(e);
  if (k === undefined) keys.set(e, (k = keyText(e)));
  return k;
}

function keyText(e: SExpr): string {
  switch (e.k) {
    case "var":
      return `v${e.id}`;
    case "score":
      return "score";
    case "const":
      return `${fmtNum(e.value)}:${e.dtype}`;
    case "dim":
      return `dim(${e.dim.toString()})`;
    case "load":
      return `$${e.src}[${e.idx.map(exprKey).join(", ")}]`;
    case "unary":
      return `${e.fn}(${exprKey(e.a)})`;
    case "binary":
      return `${e.fn}(${exprKey(e.a)}, ${exprKey(e.b)})`;
    case "select":
      return `select(${exprKey(e.c)}, ${exprKey(e.a)}, ${exprKey(e.b)})`;
    case "cast":
      return `cast<${e.dtype}>(${exprKey(e.a)})`;
    case "reduce": {
      const vars = e.vars.map((v) => `v${v.id} < ${v.extent.toString()}`).join(", ");
      const cond = e.cond ? ` | ${exprKey(e.cond)}` : "";
      return `${e.fn}(${vars}${cond}) ${exprKey(e.body)}`;
    }
  }
}

/** Numbers print so that they parse back to the same double. */
export function fmtNum(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (Object.is(v, -0)) return "-0.0";
  return String(v);
}

/** Visits every sub-expression, parents first. */
export function forEachExpr(e: SExpr, f: (x: SExpr) => void): void {
  f(e);
  switch (e.k) {
    case "load":
      e.idx.forEach((x) => forEachExpr(x, f));
      break;
    case "unary":
    case "cast":
      forEachExpr(e.a, f);
      break;
    case "binary":
      forEachExpr(e.a, f);
      forEachExpr(e.b, f);
      break;
    case "select":
      forEachExpr(e.c, f);
      forEachExpr(e.a, f);
      forEachExpr(e.b, f);
      break;
    case "reduce":
      if (e.cond) forEachExpr(e.cond, f);
      forEachExpr(e.body, f);
      break;
  }
}
