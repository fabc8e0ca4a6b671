/**
 * Key ranges implied by an attention mask hook (attention.ts): when the mask keeps key j of query i
 * only if i + lo ≤ j ≤ i + hi (causal: j ≤ i, a sliding window: i − j < w, their conjunctions),
 * a query tile's key loop can skip the key tiles outside [r0 + lo, r1 − 1 + hi]. Those keys are
 * removed by the mask anyway, and a tile whose keys are all removed leaves m, l and O unchanged,
 * so the result is the same bit for bit.
 *
 * Recognized: comparisons (lt, le, gt, ge, eq) of i32 expressions that are linear in i and j with
 * j − i (or i − j) as their only index part and constants or dims as offsets, combined with `and`.
 * Anything else contributes no bound (a conjunct without one is fine; `or`, `not`, selects, float
 * arithmetic give none). A mask that may set the error flag (loads at computed indices, reductions)
 * is never bounded: skipping keys would skip its flag checks.
 */
import { forEachExpr, type SExpr } from "../../graph/expr.ts";
import { K, type KExpr } from "../ir.ts";
import { dimToK, type KernelScope } from "../sexpr-to-kernel.ts";

/** A sum of constant and dim terms. */
interface Off {
  readonly c: number;
  readonly dims: readonly { readonly sign: 1 | -1; readonly e: SExpr & { k: "dim" } }[];
}
interface Lin {
  readonly ci: number;
  readonly cj: number;
  readonly off: Off;
}

const LIMIT = 2 ** 24;

function addOff(a: Off, b: Off, sb: 1 | -1): Off {
  return { c: a.c + sb * b.c, dims: [...a.dims, ...b.dims.map((d) => ({ sign: (d.sign * sb) as 1 | -1, e: d.e }))] };
}

function lin(e: SExpr, iId: number, jId: number): Lin | undefined {
  if (e.dtype !== "i32") return undefined;
  switch (e.k) {
    case "var":
      if (e.id === iId) return { ci: 1, cj: 0, off: { c: 0, dims: [] } };
      if (e.id === jId) return { ci: 0, cj: 1, off: { c: 0, dims: [] } };
      return undefined;
    case "const":
      return Number.isInteger(e.value) && Math.abs(e.value) < LIMIT ? { ci: 0, cj: 0, off: { c: e.value, dims: [] } } : undefined;
    case "dim":
      return { ci: 0, cj: 0, off: { c: 0, dims: [{ sign: 1, e }] } };
    case "unary":
      if (e.fn !== "neg") return undefined;
      {
        const a = lin(e.a, iId, jId);
        return a && { ci: -a.ci, cj: -a.cj, off: addOff({ c: 0, dims: [] }, a.off, -1) };
      }
    case "binary": {
      if (e.fn !== "add" && e.fn !== "sub") return undefined;
      const a = lin(e.a, iId, jId);
      const b = lin(e.b, iId, jId);
      if (!a || !b) return undefined;
      const s = e.fn === "add" ? 1 : -1;
      return { ci: a.ci + s * b.ci, cj: a.cj + s * b.cj, off: addOff(a.off, b.off, s) };
    }
    default:
      return undefined;
  }
}

/** Bounds j ≥ i + lo and j ≤ i + hi, each a list of offsets (the tightest applies). */
export interface KeyBounds {
  readonly lo: readonly Off[];
  readonly hi: readonly Off[];
}

function collect(e: SExpr, iId: number, jId: number, lo: Off[], hi: Off[]): void {
  if (e.k !== "binary") return;
  if (e.fn === "and") {
    collect(e.a, iId, jId, lo, hi);
    collect(e.b, iId, jId, lo, hi);
    return;
  }
  if (!["lt", "le", "gt", "ge", "eq"].includes(e.fn)) return;
  const a = lin(e.a, iId, jId);
  const b = lin(e.b, iId, jId);
  if (!a || !b) return;
  // a − b (op) 0
  let d: Lin = { ci: a.ci - b.ci, cj: a.cj - b.cj, off: addOff(a.off, b.off, -1) };
  let fn = e.fn;
  if (d.cj === -1) {
    d = { ci: -d.ci, cj: 1, off: addOff({ c: 0, dims: [] }, d.off, -1) };
    fn = ({ lt: "gt", le: "ge", gt: "lt", ge: "le", eq: "eq" } as const)[fn as "lt" | "le" | "gt" | "ge" | "eq"];
  }
  if (d.cj !== 1 || d.ci !== -1) return;
  // j − i + off (fn) 0, i.e. j (fn) i − off
  const neg = addOff({ c: 0, dims: [] }, d.off, -1);
  const shift = (o: Off, k: number): Off => ({ c: o.c + k, dims: o.dims });
  if (fn === "lt") hi.push(shift(neg, -1));
  else if (fn === "le") hi.push(neg);
  else if (fn === "gt") lo.push(shift(neg, 1));
  else if (fn === "ge") lo.push(neg);
  else {
    lo.push(neg);
    hi.push(neg);
  }
}

/** The key bounds a mask implies for query variable iId and key variable jId (undefined: none). */
export function maskKeyBounds(mask: SExpr | undefined, iId: number, jId: number): KeyBounds | undefined {
  if (!mask) return undefined;
  let flags = false;
  forEachExpr(mask, (x) => {
    if (x.k === "reduce" || (x.k === "load" && !x.idx.every((ix) => ix.k === "var"))) flags = true;
  });
  if (flags) return undefined;
  const lo: Off[] = [];
  const hi: Off[] = [];
  collect(mask, iId, jId, lo, hi);
  if (!lo.length && !hi.length) return undefined;
  return { lo, hi };
}

/** An offset as an i32 kernel expression. */
export function offK(o: Off, sc: KernelScope): KExpr {
  let e: KExpr | undefined;
  for (const d of o.dims) {
    const x = dimToK(d.e.dim, sc);
    e = e === undefined ? (d.sign === 1 ? x : K.bin("sub", K.i32(0), x)) : K.bin(d.sign === 1 ? "add" : "sub", e, x);
  }
  if (e === undefined) return K.i32(o.c);
  return o.c === 0 ? e : K.add(e, K.i32(o.c));
}
