/**
 * Evaluation of scalar expressions (expr.ts) at one point: compute bodies and attention hooks.
 * Every sub-expression's value is rounded to its own dtype, exactly like the graph op of the
 * same name. `select` evaluates only the chosen branch, so a load guarded by a condition neither
 * reads nor flags when the condition is false.
 *
 * An expression is translated once into a tree of closures (one per sub-expression, each the
 * direct transcription of its case below) that is then called at every point; this is only a
 * faster way to walk the tree; the semantics are those of the switch.
 */
import type { SExpr, SReduce } from "../expr.ts";
import { forEachExpr } from "../expr.ts";
import type { Node } from "../ops.ts";
import { InterpError, stridesOf, type Ctx, type HostTensor } from "./core.ts";
import { binaryScalar, castScalar, roundTo, unaryScalar } from "./scalar.ts";

export interface ExprEnv {
  /** Index-variable values by id. */
  readonly vars: Float64Array;
  /** The enclosing node's tensor operands. */
  readonly srcs: readonly HostTensor[];
  readonly strides: readonly (readonly number[])[];
  /** The logit inside an attention score hook. */
  score: number;
  readonly ctx: Ctx;
  readonly node: Node;
}

/** An environment for evaluating `exprs` of `node`: sized for every variable id they use. */
export function makeEnv(node: Node, exprs: readonly SExpr[], srcs: readonly HostTensor[], ctx: Ctx, outerVars: number): ExprEnv {
  let maxId = outerVars - 1;
  for (const e of exprs)
    forEachExpr(e, (x) => {
      if (x.k === "var") maxId = Math.max(maxId, x.id);
      if (x.k === "reduce") {
        for (const v of x.vars) maxId = Math.max(maxId, v.id);
        if ((x.fn === "argmax" || x.fn === "argmin") && x.vars.length !== 1) throw new InterpError(`${x.fn} over ${x.vars.length} variables (needs exactly one)`, node);
      }
      if (x.k === "load" && (x.src < 0 || x.src >= srcs.length)) throw new InterpError(`load from operand ${x.src} but the node has ${srcs.length}`, node);
      if (x.k === "load" && x.idx.length !== srcs[x.src]!.shape.length)
        throw new InterpError(`load with ${x.idx.length} indices from operand ${x.src} of rank ${srcs[x.src]!.shape.length}`, node);
    });
  return { vars: new Float64Array(maxId + 1), srcs, strides: srcs.map((s) => stridesOf(s.shape)), score: NaN, ctx, node };
}

/** A compiled expression: its value at the point described by `env`. */
export type Compiled = (env: ExprEnv) => number;

const compiledCache = new WeakMap<SExpr, Compiled>();

/** The compiled form of `e` (cached per expression object; closures hold no per-run state). */
export function compileExpr(e: SExpr): Compiled {
  let f = compiledCache.get(e);
  if (!f) {
    f = compile(e);
    compiledCache.set(e, f);
  }
  return f;
}

/** The value of `e` at the point described by `env`. */
export const evalExpr = (e: SExpr, env: ExprEnv): number => compileExpr(e)(env);

function compile(e: SExpr): Compiled {
  switch (e.k) {
    case "var": {
      const id = e.id;
      return (env) => env.vars[id]!;
    }
    case "score":
      return (env) => Math.fround(env.score);
    case "const": {
      const v = roundTo(e.dtype, e.value);
      return () => v;
    }
    case "dim": {
      const d = e.dim;
      return (env) => roundTo("i32", env.ctx.dim(d, env.node));
    }
    case "load":
      return compileLoad(e.src, e.idx);
    case "unary": {
      const { fn, dtype } = e;
      const t = e.a.dtype;
      const a = compileExpr(e.a);
      return (env) => roundTo(dtype, unaryScalar(fn, t, a(env)));
    }
    case "binary": {
      const { fn, dtype } = e;
      const t = e.a.dtype;
      const a = compileExpr(e.a);
      const b = compileExpr(e.b);
      if (dtype === "f32" && (fn === "add" || fn === "mul")) {
        // the two hottest cases of index-notation bodies, spelled out (same result as binaryScalar)
        return fn === "add" ? (env) => Math.fround(a(env) + b(env)) : (env) => Math.fround(a(env) * b(env));
      }
      return (env) => roundTo(dtype, binaryScalar(fn, t, a(env), b(env)));
    }
    case "select": {
      const dtype = e.dtype;
      const c = compileExpr(e.c);
      const a = compileExpr(e.a);
      const b = compileExpr(e.b);
      return (env) => roundTo(dtype, c(env) !== 0 ? a(env) : b(env));
    }
    case "cast": {
      const dtype = e.dtype;
      const from = e.a.dtype;
      const a = compileExpr(e.a);
      return (env) => roundTo(dtype, castScalar(from, dtype, a(env)));
    }
    case "reduce":
      return compileReduce(e);
  }
}

function compileLoad(src: number, idxExprs: readonly SExpr[]): Compiled {
  const idx = idxExprs.map(compileExpr);
  const r = idx.length;
  return (env) => {
    const t = env.srcs[src]!;
    const st = env.strides[src]!;
    let off = 0;
    let bad = false;
    let silent = true;
    for (let k = 0; k < r; k++) {
      const i = idx[k]!(env);
      if (i >= 0 && i < t.shape[k]!) off += i * st[k]!;
      else {
        bad = true;
        if (i !== -1) silent = false;
      }
    }
    if (!bad) return t.data[off]!;
    if (!silent) {
      const at = idx.map((x) => x(env)).join(", ");
      env.ctx.flag(env.node, `load of operand ${src} at [${at}] is out of range for shape [${t.shape.join(", ")}]`);
    }
    return 0;
  };
}

function compileReduce(e: SReduce): Compiled {
  const { fn, vars, dtype } = e;
  const cond = e.cond && compileExpr(e.cond);
  const body = compileExpr(e.body);
  const r = vars.length;
  const ids = vars.map((v) => v.id);
  const extents = vars.map((v) => v.extent);
  const bt = e.body.dtype;
  const bodyInt = bt === "i32" || bt === "u32";
  return (env) => {
    const ext = new Array<number>(r);
    let empty = false;
    for (let k = 0; k < r; k++) {
      ext[k] = env.ctx.dim(extents[k]!, env.node);
      if (ext[k]! <= 0) empty = true;
      env.vars[ids[k]!] = 0;
    }
    let acc = fn === "prod" || fn === "all" ? 1 : fn === "max" ? -Infinity : fn === "min" ? Infinity : 0;
    let count = 0;
    let best = -1; // argmax/argmin: the chosen index
    let bestVal = 0;
    let nan = false;
    while (!empty) {
      if (!cond || cond(env) !== 0) {
        const x = body(env);
        count++;
        switch (fn) {
          case "sum":
            acc = bt === "i32" ? (acc + x) | 0 : bt === "u32" ? (acc + x) >>> 0 : acc + x;
            break;
          case "mean":
            acc += x;
            break;
          case "prod":
            acc = bodyInt ? Math.imul(acc, x) : acc * x;
            break;
          case "max":
            if (acc === acc && (x !== x || x > acc)) acc = x; // NaN sticks
            break;
          case "min":
            if (acc === acc && (x !== x || x < acc)) acc = x;
            break;
          case "any":
            if (x !== 0) acc = 1;
            break;
          case "all":
            if (x === 0) acc = 0;
            break;
          case "argmax":
          case "argmin":
            if (nan) break;
            if (x !== x) {
              nan = true;
              best = env.vars[ids[0]!]!;
            } else if (best === -1 || (fn === "argmax" ? x > bestVal : x < bestVal)) {
              best = env.vars[ids[0]!]!;
              bestVal = x;
            }
            break;
        }
      }
      // odometer over the box, last variable fastest
      let k = r - 1;
      for (; k >= 0; k--) {
        const id = ids[k]!;
        if (++env.vars[id]! < ext[k]!) break;
        env.vars[id] = 0;
      }
      if (k < 0) break;
    }
    switch (fn) {
      case "argmax":
      case "argmin":
        return best;
      case "mean":
        return roundTo(dtype, count === 0 ? NaN : acc / count);
      case "max":
      case "min":
        return roundTo(dtype, count === 0 && bodyInt ? 0 : acc);
      default:
        return roundTo(dtype, acc);
    }
  };
}
