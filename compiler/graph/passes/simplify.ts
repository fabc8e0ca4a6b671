/**
 * simplify — algebraic identities on graph nodes, and expression rules inside compute bodies and
 * attention hooks (expr-rules.ts).
 * Why: the front end and other passes leave identities behind (x*1, layout round trips, scalar
 *      selects on constants); removing them shrinks the graph and exposes patterns to later passes.
 * Pre:  a well-typed graph.
 * Post: no rule of pmAlgebra, pmLayout or pmCompute matches; every rewrite is exact under the
 *       interpreter (floats: only -0 is neutral for +, only +0 for -; see each rule).
 */
import * as D from "../dim.ts";
import { roundTo } from "../interp/scalar.ts";
import type { Node, OpArgs } from "../ops.ts";
import { simplifyExpr } from "./expr-rules.ts";
import { mayFlag } from "./may-flag.ts";
import { isIdentityLoad } from "./expr-utils.ts";
import type { Pass } from "./pass.ts";
import { Emit, PatternMatcher, rewriteGraph, rule } from "./rewrite.ts";

const isFloat = (t: string) => t === "f32" || t === "f16" || t === "bf16";

/** The single value every element of n has, when n is a constant (or a broadcast of one). */
export function splat(n: Node): number | undefined {
  if (n.op === "broadcast") return splat(n.src[0]!);
  if (n.op !== "const") return undefined;
  const vs = (n.arg as OpArgs["const"]).values;
  if (vs.length === 0) return undefined;
  const v = vs[0]!;
  return vs.every((x) => Object.is(x, v)) ? v : undefined;
}
const isSplat = (n: Node, v: number): boolean => {
  const s = splat(n);
  return s !== undefined && n.dtype !== "tuple" && Object.is(roundTo(n.dtype, s), v);
};
const isZero = (n: Node, floatZero: number): boolean => (isFloat(n.dtype) ? isSplat(n, floatZero) : isSplat(n, 0));

/** x standing in for n: same dtype required, broadcast up to n's shape. */
const as = (x: Node, n: Node, e: Emit): Node | undefined => (x.dtype === n.dtype ? e.as(x, n.types[0]!) : undefined);

/** Casts that lose nothing going there and back: cast<A>(cast<B>(x: A)) == x. */
const LOSSLESS: ReadonlySet<string> = new Set(["f16>f32", "bf16>f32", "i32>u32", "u32>i32", "bool>i32", "bool>u32", "bool>f32", "bool>f16", "bool>bf16"]);

const binFn = (n: Node) => (n.arg as OpArgs["binary"]).fn;

export const pmAlgebra = new PatternMatcher([
  rule("binary", "mul-one", (n, e) => (binFn(n) === "mul" ? (isSplat(n.src[1]!, 1) ? as(n.src[0]!, n, e) : isSplat(n.src[0]!, 1) ? as(n.src[1]!, n, e) : undefined) : undefined)), // x*1 -> x, 1*x -> x
  rule("binary", "add-zero", (n, e) => (binFn(n) === "add" ? (isZero(n.src[1]!, -0) ? as(n.src[0]!, n, e) : isZero(n.src[0]!, -0) ? as(n.src[1]!, n, e) : undefined) : undefined)), // x+0 -> x (floats: x+(-0), since -0+0 = +0)
  rule("binary", "sub-zero", (n, e) => (binFn(n) === "sub" && isZero(n.src[1]!, 0) ? as(n.src[0]!, n, e) : undefined)), // x-0 -> x (floats: +0)
  rule("binary", "div-one", (n, e) => (binFn(n) === "div" && isSplat(n.src[1]!, 1) ? as(n.src[0]!, n, e) : undefined)), // x/1 -> x
  rule("binary", "and-true", (n, e) => (binFn(n) === "and" && n.dtype === "bool" ? (isSplat(n.src[1]!, 1) ? as(n.src[0]!, n, e) : isSplat(n.src[0]!, 1) ? as(n.src[1]!, n, e) : undefined) : undefined)), // x && true -> x
  rule("binary", "or-false", (n, e) => (binFn(n) === "or" && n.dtype === "bool" ? (isSplat(n.src[1]!, 0) ? as(n.src[0]!, n, e) : isSplat(n.src[0]!, 0) ? as(n.src[1]!, n, e) : undefined) : undefined)), // x || false -> x
  rule("unary", "involution", (n) => {
    // -(-x) -> x; !!x -> x
    const fn = (n.arg as OpArgs["unary"]).fn;
    const x = n.src[0]!;
    return (fn === "neg" || fn === "not") && x.op === "unary" && (x.arg as OpArgs["unary"]).fn === fn ? x.src[0] : undefined;
  }),
  rule("where", "where-const", (n, e) => {
    // where(true, a, b) -> a; where(false, a, b) -> b (the other branch must not be able to set the error flag)
    const c = splat(n.src[0]!);
    if (c === undefined || mayFlag(c ? n.src[2]! : n.src[1]!)) return undefined;
    return as(c ? n.src[1]! : n.src[2]!, n, e);
  }),
  rule("cast", "cast-same", (n) => (n.src[0]!.dtype === n.dtype ? n.src[0] : undefined)), // cast<T>(x: T) -> x
  rule("cast", "cast-roundtrip", (n) => {
    // cast<A>(cast<B>(x: A)) -> x when B holds every value of A
    const m = n.src[0]!;
    return m.op === "cast" && m.src[0]!.dtype === n.dtype && LOSSLESS.has(`${n.dtype}>${m.dtype}`) ? m.src[0] : undefined;
  }),
  rule("reduce", "reduce-unit", (n, e) => {
    // reduce over axes of extent 1 -> reshape (one element: sum, max, prod… give it back exactly)
    const a = n.arg as OpArgs["reduce"];
    const x = n.src[0]!;
    if (n.dtype !== x.dtype || !a.axes.every((ax) => x.shape[ax]!.value === 1)) return undefined;
    return e.reshape(x, n.shape);
  }),
]);

export const pmLayout = new PatternMatcher([
  rule("reshape", "reshape-same", (n) => (D.shapeEq(n.shape, n.src[0]!.shape) ? n.src[0] : undefined)), // reshape(x: S, S) -> x
  rule("reshape", "reshape-reshape", (n, e) => (n.src[0]!.op === "reshape" ? e.reshape(n.src[0]!.src[0]!, n.shape) : undefined)), // reshape(reshape(x)) -> reshape(x)
  rule("permute", "permute-identity", (n) => ((n.arg as OpArgs["permute"]).perm.every((p, i) => p === i) ? n.src[0] : undefined)), // permute(x, id) -> x
  rule("permute", "permute-permute", (n, e) => {
    // permute(permute(x, p), q) -> permute(x, k -> p[q[k]])
    const m = n.src[0]!;
    if (m.op !== "permute") return undefined;
    const p = (m.arg as OpArgs["permute"]).perm;
    const q = (n.arg as OpArgs["permute"]).perm;
    return e.permute(m.src[0]!, q.map((k) => p[k]!));
  }),
  rule("broadcast", "broadcast-same", (n) => (D.shapeEq(n.shape, n.src[0]!.shape) ? n.src[0] : undefined)), // broadcast(x: S, S) -> x
  rule("broadcast", "broadcast-broadcast", (n, e) => (n.src[0]!.op === "broadcast" ? e.broadcast(n.src[0]!.src[0]!, n.shape) : undefined)), // broadcast(broadcast(x)) -> broadcast(x)
  rule("slice", "slice-full", (n) => {
    // slice(x, starts 0, steps 1) of the full shape -> x
    const a = n.arg as OpArgs["slice"];
    return a.starts.every((s) => s.value === 0) && a.steps.every((s) => s === 1) && D.shapeEq(n.shape, n.src[0]!.shape) ? n.src[0] : undefined;
  }),
  rule("pad", "pad-none", (n) => {
    // pad(x, 0, 0) -> x
    const a = n.arg as OpArgs["pad"];
    return [...a.before, ...a.after].every((d) => d.value === 0) ? n.src[0] : undefined;
  }),
  rule("concat", "concat-one", (n) => (n.src.length === 1 ? n.src[0] : undefined)), // concat([x]) -> x
]);

export const pmCompute = new PatternMatcher([
  rule("compute", "compute-body", (n, e) => {
    // simplify the body with EXPR_RULES
    const body = (n.arg as OpArgs["compute"]).body;
    const s = simplifyExpr(body);
    return s === body ? undefined : e.node("compute", n.types, n.src, { body: s });
  }),
  rule("compute", "compute-copy", (n) => {
    // compute x { $0[v0, …, v{r-1}] } -> x
    const body = (n.arg as OpArgs["compute"]).body;
    if (body.k !== "load" || !isIdentityLoad(body, n.shape.length)) return undefined;
    const x = n.src[body.src]!;
    return x.dtype === n.dtype && D.shapeEq(x.shape, n.shape) ? x : undefined;
  }),
  rule("attention", "attention-hooks", (n, e) => {
    // simplify the score and mask hooks with EXPR_RULES
    const a = n.arg as OpArgs["attention"];
    let score = a.score && simplifyExpr(a.score);
    let mask = a.mask && simplifyExpr(a.mask);
    if (score?.k === "score") score = undefined; // the identity hook
    if (mask?.k === "const" && mask.value !== 0) mask = undefined; // every key kept
    if (score === a.score && mask === a.mask) return undefined;
    return e.node("attention", n.types, n.src, { ...a, score, mask });
  }),
]);

export const simplify: Pass = {
  name: "simplify",
  description:
    "x*1, x+(-0), x-0, x/1 -> x; --x, !!x -> x; where(const) -> branch; lossless cast round trips and same-dtype casts vanish; " +
    "permute∘permute, reshape∘reshape, broadcast∘broadcast compose; identity layouts vanish; unit reductions -> reshape; " +
    "compute bodies and attention hooks fold constants and selects",
  exact: true,
  run: (g, cx) => rewriteGraph(g, pmAlgebra.plus(pmLayout).plus(pmCompute), cx),
};
