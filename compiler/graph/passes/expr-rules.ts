/**
 * Rewrite rules on scalar expressions (compute bodies and attention hooks), applied bottom-up
 * to a fixed point by `simplifyExpr`. Every rule is exact under the interpreter's scalar
 * semantics (each sub-expression rounds to its own dtype): folding runs the interpreter's own
 * scalar functions, and a rule may drop a sub-expression only when it holds no load (a load out
 * of range sets the error flag, so dropping one could hide it; `select` already evaluates only
 * the branch it takes).
 */
import type { DType } from "../dtype.ts";
import { exprKey, type SExpr } from "../expr.ts";
import { binaryScalar, castScalar, roundTo, unaryScalar } from "../interp/scalar.ts";
import { mapExpr, some } from "./expr-utils.ts";

export interface ExprRule {
  readonly name: string;
  readonly k: SExpr["k"];
  readonly rewrite: (e: SExpr) => SExpr | undefined;
}

const rule = (k: SExpr["k"], name: string, rewrite: (e: SExpr) => SExpr | undefined): ExprRule => ({ name, k, rewrite });

const isInt = (t: DType) => t === "i32" || t === "u32";
const isFloat = (t: DType) => t === "f32" || t === "f16" || t === "bf16";
const cst = (e: SExpr): number | undefined => (e.k === "const" ? roundTo(e.dtype, e.value) : undefined);
const is = (e: SExpr, v: number): boolean => {
  const c = cst(e);
  return c !== undefined && Object.is(c, v);
};
const isZeroInt = (e: SExpr) => isInt(e.dtype) && cst(e) === 0;
const loadFree = (e: SExpr): boolean => !some(e, (x) => x.k === "load");
/** The neutral element of add: floats only -0 (-0 + 0 = +0), integers 0. */
const addZero = (x: SExpr): boolean => (isFloat(x.dtype) ? is(x, -0) : isZeroInt(x));
const lit = (value: number, dtype: DType): SExpr => ({ k: "const", value: roundTo(dtype, value), dtype });

/** Casts that lose nothing going there and back: cast<A>(cast<B>(x: A)) == x. */
const LOSSLESS: ReadonlySet<string> = new Set([
  "f16>f32", "bf16>f32", "i32>u32", "u32>i32",
  "bool>i32", "bool>u32", "bool>f32", "bool>f16", "bool>bf16",
]);

export const EXPR_RULES: readonly ExprRule[] = [
  // ── constant folding (the interpreter's own scalar functions) ──
  rule("unary", "fold-unary", (e) => (e.k === "unary" && cst(e.a) !== undefined ? lit(unaryScalar(e.fn, e.a.dtype, cst(e.a)!), e.dtype) : undefined)), // f(c) -> c'
  rule("binary", "fold-binary", (e) =>
    e.k === "binary" && cst(e.a) !== undefined && cst(e.b) !== undefined ? lit(binaryScalar(e.fn, e.a.dtype, cst(e.a)!, cst(e.b)!), e.dtype) : undefined), // c1 op c2 -> c
  rule("cast", "fold-cast", (e) => (e.k === "cast" && cst(e.a) !== undefined ? lit(castScalar(e.a.dtype, e.dtype, cst(e.a)!), e.dtype) : undefined)), // cast(c) -> c'
  // ── casts ──
  rule("cast", "cast-same", (e) => (e.k === "cast" && e.a.dtype === e.dtype ? e.a : undefined)), // cast<T>(x: T) -> x
  rule("cast", "cast-roundtrip", (e) =>
    e.k === "cast" && e.a.k === "cast" && e.a.a.dtype === e.dtype && LOSSLESS.has(`${e.dtype}>${e.a.dtype}`) ? e.a.a : undefined), // cast<A>(cast<B>(x: A)) -> x, B holds A
  // ── arithmetic identities ──
  rule("binary", "mul-one", (e) => (e.k === "binary" && e.fn === "mul" ? (is(e.b, 1) ? e.a : is(e.a, 1) ? e.b : undefined) : undefined)), // x*1 -> x, 1*x -> x
  rule("binary", "add-zero", (e) => {
    if (e.k !== "binary" || e.fn !== "add") return undefined;
    return addZero(e.b) ? e.a : addZero(e.a) ? e.b : undefined; // x+0 -> x (float: x+(-0))
  }),
  rule("binary", "sub-zero", (e) => (e.k === "binary" && e.fn === "sub" && (isFloat(e.b.dtype) ? is(e.b, 0) : isZeroInt(e.b)) ? e.a : undefined)), // x-0 -> x (float: +0)
  rule("binary", "div-one", (e) => (e.k === "binary" && e.fn === "div" && is(e.b, 1) ? e.a : undefined)), // x/1 -> x
  rule("binary", "int-add-assoc", (e) => {
    // (x + c1) + c2 -> x + (c1 + c2): i32 wraps, so addition is associative
    if (e.k !== "binary" || e.fn !== "add" || e.dtype !== "i32" || cst(e.b) === undefined || e.a.k !== "binary" || e.a.fn !== "add" || cst(e.a.b) === undefined) return undefined;
    return { ...e, a: e.a.a, b: lit(cst(e.a.b)! + cst(e.b)!, "i32") };
  }),
  rule("unary", "neg-neg", (e) => (e.k === "unary" && e.fn === "neg" && e.a.k === "unary" && e.a.fn === "neg" ? e.a.a : undefined)), // -(-x) -> x
  rule("unary", "not-not", (e) => (e.k === "unary" && e.fn === "not" && e.a.k === "unary" && e.a.fn === "not" ? e.a.a : undefined)), // !!x -> x
  // ── logic ──
  rule("binary", "and-true", (e) => (e.k === "binary" && e.fn === "and" && e.dtype === "bool" ? (is(e.b, 1) ? e.a : is(e.a, 1) ? e.b : undefined) : undefined)), // x && true -> x
  rule("binary", "or-false", (e) => (e.k === "binary" && e.fn === "or" && e.dtype === "bool" ? (is(e.b, 0) ? e.a : is(e.a, 0) ? e.b : undefined) : undefined)), // x || false -> x
  rule("binary", "and-false", (e) =>
    e.k === "binary" && e.fn === "and" && e.dtype === "bool" && ((is(e.b, 0) && loadFree(e.a)) || (is(e.a, 0) && loadFree(e.b))) ? lit(0, "bool") : undefined), // x && false -> false (x load-free)
  rule("binary", "or-true", (e) =>
    e.k === "binary" && e.fn === "or" && e.dtype === "bool" && ((is(e.b, 1) && loadFree(e.a)) || (is(e.a, 1) && loadFree(e.b))) ? lit(1, "bool") : undefined), // x || true -> true (x load-free)
  // ── select folding ──
  rule("select", "select-const", (e) => (e.k === "select" && cst(e.c) !== undefined ? (cst(e.c) ? e.a : e.b) : undefined)), // select(true, a, b) -> a; select(false, a, b) -> b
  rule("select", "select-same", (e) => (e.k === "select" && exprKey(e.a) === exprKey(e.b) && loadFree(e.c) ? e.a : undefined)), // select(c, a, a) -> a (c load-free)
  rule("select", "select-not", (e) => (e.k === "select" && e.c.k === "unary" && e.c.fn === "not" ? { ...e, c: e.c.a, a: e.b, b: e.a } : undefined)), // select(!c, a, b) -> select(c, b, a)
  rule("select", "select-nested", (e) => {
    // select(c, select(c, a, b), d) -> select(c, a, d); select(c, d, select(c, a, b)) -> select(c, d, b)
    if (e.k !== "select") return undefined;
    const c = exprKey(e.c);
    if (e.a.k === "select" && exprKey(e.a.c) === c) return { ...e, a: e.a.a };
    if (e.b.k === "select" && exprKey(e.b.c) === c) return { ...e, b: e.b.b };
    return undefined;
  }),
  rule("select", "select-bool", (e) => {
    // select(c, true, false) -> c; select(c, false, true) -> !c
    if (e.k !== "select" || e.dtype !== "bool") return undefined;
    if (is(e.a, 1) && is(e.b, 0)) return e.c;
    if (is(e.a, 0) && is(e.b, 1)) return { k: "unary", fn: "not", a: e.c, dtype: "bool" };
    return undefined;
  }),
];

const BY_KIND = new Map<SExpr["k"], ExprRule[]>();
for (const r of EXPR_RULES) BY_KIND.set(r.k, [...(BY_KIND.get(r.k) ?? []), r]);

/** Applies EXPR_RULES bottom-up until none matches; returns e itself when nothing changed. */
export function simplifyExpr(e: SExpr, fired?: (rule: string) => void): SExpr {
  return mapExpr(e, (x) => {
    for (let guard = 0; guard < 64; guard++) {
      let next: SExpr | undefined;
      for (const r of BY_KIND.get(x.k) ?? []) {
        next = r.rewrite(x);
        if (next !== undefined && next !== x) {
          fired?.(r.name);
          break;
        }
        next = undefined;
      }
      if (!next) return x;
      // a rewrite may expose new matches below (select-not swaps branches): re-simplify its children
      x = next === x ? x : simplifyExpr(next, fired);
    }
    return x;
  });
}
