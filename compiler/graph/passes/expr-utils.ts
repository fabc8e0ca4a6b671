/**
 * Structural helpers on scalar expressions (expr.ts) shared by the graph passes: bottom-up
 * mapping that keeps unchanged subtrees, load and variable substitution, canonical renumbering
 * of reduction variables (the builder's rule: output axes 0..r-1, then reduction variables in
 * pre-order), operand remapping, sizes.
 */
import type { SExpr, SLoad, SReduce } from "../expr.ts";

/** Maps children first, then the node; a node whose children are unchanged is passed as is. */
export function mapExpr(e: SExpr, f: (x: SExpr) => SExpr): SExpr {
  let x: SExpr = e;
  switch (e.k) {
    case "load": {
      const idx = e.idx.map((i) => mapExpr(i, f));
      if (idx.some((v, i) => v !== e.idx[i])) x = { ...e, idx };
      break;
    }
    case "unary":
    case "cast": {
      const a = mapExpr(e.a, f);
      if (a !== e.a) x = { ...e, a };
      break;
    }
    case "binary": {
      const a = mapExpr(e.a, f);
      const b = mapExpr(e.b, f);
      if (a !== e.a || b !== e.b) x = { ...e, a, b };
      break;
    }
    case "select": {
      const c = mapExpr(e.c, f);
      const a = mapExpr(e.a, f);
      const b = mapExpr(e.b, f);
      if (c !== e.c || a !== e.a || b !== e.b) x = { ...e, c, a, b };
      break;
    }
    case "reduce": {
      const cond = e.cond && mapExpr(e.cond, f);
      const body = mapExpr(e.body, f);
      if (cond !== e.cond || body !== e.body) x = { ...e, cond, body };
      break;
    }
  }
  return f(x);
}

/** Number of expression nodes. */
export function exprSize(e: SExpr): number {
  let n = 0;
  walk(e, () => n++);
  return n;
}

/** Visits every sub-expression, parents first. */
export function walk(e: SExpr, f: (x: SExpr) => void): void {
  f(e);
  switch (e.k) {
    case "load":
      e.idx.forEach((i) => walk(i, f));
      break;
    case "unary":
    case "cast":
      walk(e.a, f);
      break;
    case "binary":
      walk(e.a, f);
      walk(e.b, f);
      break;
    case "select":
      walk(e.c, f);
      walk(e.a, f);
      walk(e.b, f);
      break;
    case "reduce":
      if (e.cond) walk(e.cond, f);
      walk(e.body, f);
      break;
  }
}

export const hasReduce = (e: SExpr): boolean => some(e, (x) => x.k === "reduce");
export const usesScore = (e: SExpr): boolean => some(e, (x) => x.k === "score");

export function some(e: SExpr, p: (x: SExpr) => boolean): boolean {
  let hit = false;
  walk(e, (x) => {
    if (!hit && p(x)) hit = true;
  });
  return hit;
}

/** The operand positions an expression loads from. */
export function usedSrcs(e: SExpr): Set<number> {
  const s = new Set<number>();
  walk(e, (x) => {
    if (x.k === "load") s.add(x.src);
  });
  return s;
}

/** Renames load operands: `$i` becomes `$to(i)`. */
export const remapSrcs = (e: SExpr, to: (i: number) => number): SExpr =>
  mapExpr(e, (x) => (x.k === "load" && to(x.src) !== x.src ? { ...x, src: to(x.src) } : x));

/** Replaces free variables by expressions (reduction variables must not clash with `sub`'s keys). */
export const substVars = (e: SExpr, sub: ReadonlyMap<number, SExpr>): SExpr =>
  mapExpr(e, (x) => (x.k === "var" ? sub.get(x.id) ?? x : x));

/** Replaces every load for which `f` returns an expression (children first). */
export const replaceLoads = (e: SExpr, f: (l: SLoad) => SExpr | undefined): SExpr => mapExpr(e, (x) => (x.k === "load" ? f(x) ?? x : x));

let freshId = 1 << 22;

/** e with every reduction variable renamed to a fresh id (so it can be pasted under other scopes). */
export function freshenReductions(e: SExpr): SExpr {
  const walkF = (x: SExpr, ren: ReadonlyMap<number, number>): SExpr => {
    switch (x.k) {
      case "var": {
        const id = ren.get(x.id);
        return id === undefined ? x : { k: "var", id, dtype: "i32" };
      }
      case "score":
      case "const":
      case "dim":
        return x;
      case "load":
        return { ...x, idx: x.idx.map((i) => walkF(i, ren)) };
      case "unary":
      case "cast":
        return { ...x, a: walkF(x.a, ren) };
      case "binary":
        return { ...x, a: walkF(x.a, ren), b: walkF(x.b, ren) };
      case "select":
        return { ...x, c: walkF(x.c, ren), a: walkF(x.a, ren), b: walkF(x.b, ren) };
      case "reduce": {
        const inner = new Map(ren);
        const vars = x.vars.map((v) => {
          const id = freshId++;
          inner.set(v.id, id);
          return { id, extent: v.extent };
        });
        return { ...x, vars, cond: x.cond && walkF(x.cond, inner), body: walkF(x.body, inner) } as SReduce;
      }
    }
  };
  return hasReduce(e) ? walkF(e, new Map()) : e;
}

/**
 * Renumbers reduction variables canonically: the `outer` output variables keep 0..outer-1 and
 * reduction variables get outer, outer+1, … in pre-order (a reduce's variables before its cond,
 * its cond before its body; operands left to right), as GraphBuilder's finalizeExpr does.
 */
export function canonicalVars(e: SExpr, outer: number): SExpr {
  if (!hasReduce(e)) return e;
  let next = outer;
  const go = (x: SExpr, ren: ReadonlyMap<number, number>): SExpr => {
    switch (x.k) {
      case "var": {
        const id = ren.get(x.id);
        return id === undefined || id === x.id ? x : { k: "var", id, dtype: "i32" };
      }
      case "score":
      case "const":
      case "dim":
        return x;
      case "load": {
        const idx = x.idx.map((i) => go(i, ren));
        return idx.every((v, i) => v === x.idx[i]) ? x : { ...x, idx };
      }
      case "unary":
      case "cast": {
        const a = go(x.a, ren);
        return a === x.a ? x : { ...x, a };
      }
      case "binary": {
        const a = go(x.a, ren);
        const b = go(x.b, ren);
        return a === x.a && b === x.b ? x : { ...x, a, b };
      }
      case "select": {
        const c = go(x.c, ren);
        const a = go(x.a, ren);
        const b = go(x.b, ren);
        return c === x.c && a === x.a && b === x.b ? x : { ...x, c, a, b };
      }
      case "reduce": {
        const inner = new Map(ren);
        const vars = x.vars.map((v) => {
          const id = next++;
          inner.set(v.id, id);
          return { id, extent: v.extent };
        });
        const cond = x.cond && go(x.cond, inner);
        const body = go(x.body, inner);
        return { k: "reduce", fn: x.fn, vars, cond, body, dtype: x.dtype };
      }
    }
  };
  return go(e, new Map());
}

/** The loads of an expression, outermost first. */
export function loadsOf(e: SExpr): SLoad[] {
  const out: SLoad[] = [];
  walk(e, (x) => {
    if (x.k === "load") out.push(x);
  });
  return out;
}

/** Whether the load reads `$src` at exactly [v0, …, v{r-1}] (the consumer's own output index). */
export const isIdentityLoad = (l: SLoad, r: number): boolean =>
  l.idx.length === r && l.idx.every((x, i) => x.k === "var" && x.id === i);
