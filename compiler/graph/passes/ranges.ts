/**
 * Symbolic bounds of index expressions, to prove that a load reads inside its operand. A load
 * whose index may fall outside gives 0 (and may set the error flag), so a producer can be
 * substituted for such a load only when every index is provably in range. The analysis knows
 * the extents of index variables, the facts that hold inside `select` branches and reduction
 * conditions (`i >= 0 && i < n`), and the usual interval rules for + - * / %. Bounds are Dims
 * (lo inclusive, hi exclusive); a claim is proved only when the difference is a constant or a
 * sum of products of dim variables with positive coefficients (dims are never negative).
 */
import * as D from "../dim.ts";
import { Dim, dim } from "../dim.ts";
import { exprKey, type SExpr } from "../expr.ts";

/** Candidate bounds: any lo in `lo` and any hi in `hi` is valid (lo <= x < hi). */
interface Bounds {
  readonly lo: readonly Dim[];
  readonly hi: readonly Dim[];
}

/** What is known at a point of an expression: variable extents and path facts. */
export interface Scope {
  readonly extents: ReadonlyMap<number, Dim>;
  /** Conditions known true (by exprKey). */
  readonly truths: ReadonlySet<string>;
  /** Conditions known false (by exprKey). */
  readonly falsehoods: ReadonlySet<string>;
  /** Extra bounds of sub-expressions (by exprKey), from facts. */
  readonly facts: ReadonlyMap<string, Bounds>;
}

export const rootScope = (extents: readonly Dim[]): Scope => ({
  extents: new Map(extents.map((d, i) => [i, d])),
  truths: new Set(),
  falsehoods: new Set(),
  facts: new Map(),
});

const VAR_MONO = /^[A-Za-z_][A-Za-z0-9_]*(\*[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Provably >= 0 for every binding of the dim variables (which are never negative). */
export function nonNegative(d: Dim): boolean {
  const v = d.value;
  if (v !== undefined) return v >= 0;
  let plain = true;
  for (const [mono, coef] of d.terms) {
    if (mono === "") {
      if (coef < 0) plain = false;
    } else if (coef <= 0 || !VAR_MONO.test(mono)) plain = false;
  }
  return plain || withoutFloorDiv(d);
}

/**
 * d >= 0 through a floor division c·(X / k) (constant k > 0): k·d is at least k·rest + c·X when
 * c < 0 (floor(X/k) <= X/k) and k·rest + c·(X - k + 1) when c > 0 (floor(X/k) >= (X - k + 1)/k),
 * so d >= 0 when that bound is; e.g. N - 2·(N / 2) >= 0 and N + 1 - 2·((N + 1) / 2) >= 0.
 */
function withoutFloorDiv(d: Dim): boolean {
  for (const t of D.dimTerms(d)) {
    const a = t.atoms.length === 1 ? t.atoms[0]! : undefined;
    const k = a && a.kind === "div" ? a.b.value : undefined;
    if (!a || a.kind !== "div" || k === undefined || k <= 0) continue;
    const rest = D.sub(d, D.mul(D.div(a.a, a.b), t.coef));
    const bound = D.add(D.mul(rest, k), D.mul(t.coef < 0 ? a.a : D.sub(a.a, k - 1), t.coef));
    return nonNegative(bound);
  }
  return false;
}

/** a <= b provably. */
export const provablyLE = (a: Dim, b: Dim): boolean => a === b || nonNegative(D.sub(b, a));

/** a / b when b divides a exactly as polynomials (a constant, or a monomial of variables). */
export function divExact(a: Dim, b: Dim): Dim | undefined {
  const bv = b.value;
  if (bv !== undefined) {
    if (bv <= 0) return undefined;
    for (const c of a.terms.values()) if (c % bv !== 0) return undefined;
    return D.div(a, bv);
  }
  if (b.terms.size !== 1) return undefined;
  const [[bm, bc]] = [...b.terms] as [[string, number]];
  if (bc <= 0 || !VAR_MONO.test(bm)) return undefined;
  const bAtoms = bm.split("*");
  let q = dim(0);
  for (const [mono, coef] of a.terms) {
    if (coef % bc !== 0) return undefined;
    const atoms = mono === "" ? [] : mono.split("*");
    if (!VAR_MONO.test(mono) && mono !== "") return undefined;
    for (const x of bAtoms) {
      const i = atoms.indexOf(x);
      if (i < 0) return undefined;
      atoms.splice(i, 1);
    }
    q = D.add(q, atoms.reduce<Dim>((acc, v) => D.mul(acc, v), dim(coef / bc)));
  }
  return q;
}

/** A Dim equal to the value of an integer expression that does not vary (a literal or dim). */
function constDim(e: SExpr): Dim | undefined {
  if (e.k === "const" && (e.dtype === "i32" || e.dtype === "u32") && Number.isInteger(e.value)) return dim(e.value);
  if (e.k === "dim") return e.dim;
  return undefined;
}

const cap = <T>(xs: T[]): T[] => xs.slice(0, 4);
const pairs = (as: readonly Dim[], bs: readonly Dim[], f: (a: Dim, b: Dim) => Dim | undefined): Dim[] => {
  const out: Dim[] = [];
  for (const a of as) for (const b of bs) {
    const r = f(a, b);
    if (r && !out.includes(r)) out.push(r);
  }
  return cap(out);
};

const EMPTY: Bounds = { lo: [], hi: [] };

/** Bounds of an i32 expression at a point described by `sc`. */
export function boundsOf(e: SExpr, sc: Scope): Bounds {
  const own = structural(e, sc);
  const f = sc.facts.size === 0 ? undefined : sc.facts.get(exprKey(e));
  return f ? { lo: cap([...own.lo, ...f.lo]), hi: cap([...own.hi, ...f.hi]) } : own;
}

function structural(e: SExpr, sc: Scope): Bounds {
  const c = constDim(e);
  if (c) return { lo: [c], hi: [D.add(c, 1)] };
  switch (e.k) {
    case "var": {
      const n = sc.extents.get(e.id);
      return n ? { lo: [dim(0)], hi: [n] } : EMPTY;
    }
    case "cast":
      return e.a.dtype === "i32" && e.dtype === "i32" ? boundsOf(e.a, sc) : EMPTY;
    case "select": {
      if (sc.truths.size + sc.falsehoods.size > 0) {
        const key = exprKey(e.c);
        if (sc.truths.has(key)) return boundsOf(e.a, sc);
        if (sc.falsehoods.has(key)) return boundsOf(e.b, sc);
      }
      const a = boundsOf(e.a, branch(sc, e.c, true));
      const b = boundsOf(e.b, branch(sc, e.c, false));
      return { lo: pairs(a.lo, b.lo, (x, y) => (provablyLE(x, y) ? x : provablyLE(y, x) ? y : undefined)), hi: pairs(a.hi, b.hi, (x, y) => (provablyLE(x, y) ? y : provablyLE(y, x) ? x : undefined)) };
    }
    case "binary": {
      if (e.dtype !== "i32") return EMPTY;
      const a = boundsOf(e.a, sc);
      const b = boundsOf(e.b, sc);
      switch (e.fn) {
        case "add":
          return { lo: pairs(a.lo, b.lo, D.add), hi: pairs(a.hi, b.hi, (x, y) => D.sub(D.add(x, y), 1)) };
        case "sub":
          return { lo: pairs(a.lo, b.hi, (x, y) => D.add(D.sub(x, y), 1)), hi: pairs(a.hi, b.lo, D.sub) };
        case "mul": {
          // x * k for a non-negative constant (or dim) k and x >= 0
          const k = constDim(e.b) ?? constDim(e.a);
          const x = constDim(e.b) ? a : b;
          if (!k || !nonNegative(k) || !x.lo.some(nonNegative)) return EMPTY;
          return { lo: x.lo.filter(nonNegative).map((l) => D.mul(l, k)), hi: x.hi.map((h) => D.add(D.mul(D.sub(h, 1), k), 1)) };
        }
        case "div": {
          const k = constDim(e.b);
          if (!k || !a.lo.some(nonNegative) || !positiveWhereEvaluated(k, sc)) return EMPTY;
          // floor(x / k) for 0 <= x < h: 0 <= q < h / k when k divides h, else q <= (h - 1) / k
          return {
            lo: a.lo.filter(nonNegative).map((l) => (k.value !== undefined ? D.div(l, k) : dim(0))),
            hi: a.hi.map((h) => divExact(h, k) ?? D.add(D.div(D.sub(h, 1), k), 1)),
          };
        }
        case "mod": {
          const k = constDim(e.b);
          if (!k || !a.lo.some(nonNegative) || !positiveWhereEvaluated(k, sc)) return EMPTY;
          // x % k = x when x < k; otherwise in [0, k)
          const small = a.hi.some((h) => provablyLE(h, k));
          return small ? a : { lo: [dim(0)], hi: [k] };
        }
        case "min":
          return { lo: pairs(a.lo, b.lo, D.min), hi: [...a.hi, ...b.hi] };
        case "max":
          return { lo: [...a.lo, ...b.lo], hi: pairs(a.hi, b.hi, D.max) };
        default:
          return EMPTY;
      }
    }
    default:
      return EMPTY;
  }
}

/**
 * Whether divisor k is >= 1 wherever the expression is evaluated: a positive constant, provably
 * >= 1, or a divisor of the product of the extents in scope (k = 0 would make some extent 0, so
 * nothing here runs). Integer division by 0 gives 0, which the interval rules do not model.
 */
function positiveWhereEvaluated(k: Dim, sc: Scope): boolean {
  if (k.value !== undefined) return k.value > 0;
  if (nonNegative(D.sub(k, 1))) return true;
  const total = [...sc.extents.values()].reduce<Dim>((acc, d) => D.mul(acc, d), dim(1));
  return divExact(total, k) !== undefined;
}

/** The scope inside a branch where `c` is `value`. */
export function branch(sc: Scope, c: SExpr, value: boolean): Scope {
  const truths = new Set(sc.truths);
  const falsehoods = new Set(sc.falsehoods);
  const facts = new Map(sc.facts);
  const addFact = (x: SExpr, lo: Dim | undefined, hi: Dim | undefined) => {
    const k = exprKey(x);
    const f = facts.get(k) ?? EMPTY;
    facts.set(k, { lo: lo ? [...f.lo, lo] : f.lo, hi: hi ? [...f.hi, hi] : f.hi });
  };
  const learn = (x: SExpr, v: boolean) => {
    (v ? truths : falsehoods).add(exprKey(x));
    if (x.k === "binary" && x.fn === "and" && v) {
      learn(x.a, true);
      learn(x.b, true);
    } else if (x.k === "binary" && x.fn === "or" && !v) {
      learn(x.a, false);
      learn(x.b, false);
    } else if (x.k === "unary" && x.fn === "not" && x.dtype === "bool") learn(x.a, !v);
    else if (x.k === "binary" && x.a.dtype === "i32" && ["lt", "le", "gt", "ge"].includes(x.fn)) {
      // normalize to l < r (strict) or l <= r, then negate when false
      let [l, r, strict] = x.fn === "lt" ? [x.a, x.b, true] : x.fn === "le" ? [x.a, x.b, false] : x.fn === "gt" ? [x.b, x.a, true] : [x.b, x.a, false];
      if (!v) [l, r, strict] = [r, l, !strict]; // !(l < r) is r <= l; !(l <= r) is r < l
      const rd = constDim(r);
      const ld = constDim(l);
      if (rd) addFact(l, undefined, strict ? rd : D.add(rd, 1)); // l < r  /  l <= r
      if (ld) addFact(r, strict ? D.add(ld, 1) : ld, undefined); // r > l  /  r >= l
    }
  };
  learn(c, value);
  return { extents: sc.extents, truths, falsehoods, facts };
}

/** The scope inside a reduction: its variables' extents, and its condition as a fact. */
export function reduceScope(sc: Scope, vars: readonly { id: number; extent: Dim }[], cond: SExpr | undefined): Scope {
  const extents = new Map(sc.extents);
  for (const v of vars) extents.set(v.id, v.extent);
  const s = { ...sc, extents };
  return cond ? branch(s, cond, true) : s;
}

/** Whether 0 <= e < n is provable at the point described by sc. */
export function inRange(e: SExpr, n: Dim, sc: Scope): boolean {
  const b = boundsOf(e, sc);
  return b.lo.some(nonNegative) && b.hi.some((h) => provablyLE(h, n));
}

/**
 * Visits every load with the scope that holds where it is evaluated (select branches and
 * reduction bodies refine it); `outerReduce` tells whether the load sits inside a reduction.
 */
export function forEachLoadInScope(
  e: SExpr,
  sc: Scope,
  f: (l: Extract<SExpr, { k: "load" }>, sc: Scope, insideReduce: boolean) => void,
  insideReduce = false,
): void {
  switch (e.k) {
    case "load":
      f(e, sc, insideReduce);
      e.idx.forEach((i) => forEachLoadInScope(i, sc, f, insideReduce));
      return;
    case "unary":
    case "cast":
      forEachLoadInScope(e.a, sc, f, insideReduce);
      return;
    case "binary":
      forEachLoadInScope(e.a, sc, f, insideReduce);
      forEachLoadInScope(e.b, sc, f, insideReduce);
      return;
    case "select":
      forEachLoadInScope(e.c, sc, f, insideReduce);
      forEachLoadInScope(e.a, branch(sc, e.c, true), f, insideReduce);
      forEachLoadInScope(e.b, branch(sc, e.c, false), f, insideReduce);
      return;
    case "reduce": {
      const extents = new Map(sc.extents);
      for (const v of e.vars) extents.set(v.id, v.extent);
      const inner: Scope = { ...sc, extents };
      if (e.cond) forEachLoadInScope(e.cond, inner, f, true);
      forEachLoadInScope(e.body, reduceScope(sc, e.vars, e.cond), f, true);
      return;
    }
    default:
      return;
  }
}
