/**
 * Evaluation of scalar expressions (expr.ts) at one point: compute bodies and attention hooks.
 * Every sub-expression's value is rounded to its own dtype, exactly like the graph op of the
 * same name. `select` evaluates only the chosen branch, so a load guarded by a condition neither
 * reads nor flags when the condition is false.
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
      if (x.k === "reduce") for (const v of x.vars) maxId = Math.max(maxId, v.id);
      if (x.k === "load" && (x.src < 0 || x.src >= srcs.length)) throw new InterpError(`load from operand ${x.src} but the node has ${srcs.length}`, node);
      if (x.k === "load" && x.idx.length !== srcs[x.src]!.shape.length)
        throw new InterpError(`load with ${x.idx.length} indices from operand ${x.src} of rank ${srcs[x.src]!.shape.length}`, node);
    });
  return { vars: new Float64Array(maxId + 1), srcs, strides: srcs.map((s) => stridesOf(s.shape)), score: NaN, ctx, node };
}

export function evalExpr(e: SExpr, env: ExprEnv): number {
  switch (e.k) {
    case "var":
      return env.vars[e.id]!;
    case "score":
      return Math.fround(env.score);
    case "const":
      return roundTo(e.dtype, e.value);
    case "dim":
      return roundTo("i32", env.ctx.dim(e.dim, env.node));
    case "load":
      return evalLoad(e.src, e.idx, env);
    case "unary":
      return roundTo(e.dtype, unaryScalar(e.fn, e.a.dtype, evalExpr(e.a, env)));
    case "binary":
      return roundTo(e.dtype, binaryScalar(e.fn, e.a.dtype, evalExpr(e.a, env), evalExpr(e.b, env)));
    case "select":
      return roundTo(e.dtype, evalExpr(e.c, env) !== 0 ? evalExpr(e.a, env) : evalExpr(e.b, env));
    case "cast":
      return roundTo(e.dtype, castScalar(e.a.dtype, e.dtype, evalExpr(e.a, env)));
    case "reduce":
      return evalReduce(e, env);
  }
}

function evalLoad(src: number, idx: readonly SExpr[], env: ExprEnv): number {
  const t = env.srcs[src]!;
  const st = env.strides[src]!;
  let off = 0;
  let bad = false;
  let silent = true;
  for (let k = 0; k < idx.length; k++) {
    const i = evalExpr(idx[k]!, env);
    const n = t.shape[k]!;
    if (i >= 0 && i < n) off += i * st[k]!;
    else {
      bad = true;
      if (i !== -1) silent = false;
    }
  }
  if (!bad) return t.data[off]!;
  if (!silent) {
    const at = idx.map((x) => evalExpr(x, env)).join(", ");
    env.ctx.flag(env.node, `load of operand ${src} at [${at}] is out of range for shape [${t.shape.join(", ")}]`);
  }
  return 0;
}

function evalReduce(e: SReduce, env: ExprEnv): number {
  const { fn, vars, cond, body } = e;
  const r = vars.length;
  const ext = vars.map((v) => env.ctx.dim(v.extent, env.node));
  const bt = body.dtype;
  const bodyInt = bt === "i32" || bt === "u32";
  let acc = fn === "prod" || fn === "all" ? 1 : fn === "max" ? -Infinity : fn === "min" ? Infinity : 0;
  let count = 0;
  let best = -1; // argmax/argmin: the chosen index
  let bestVal = 0;
  let nan = false;
  const empty = ext.some((n) => n <= 0);
  for (const v of vars) env.vars[v.id] = 0;
  while (!empty) {
    if (!cond || evalExpr(cond, env) !== 0) {
      const x = evalExpr(body, env);
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
            best = env.vars[vars[0]!.id]!;
          } else if (best === -1 || (fn === "argmax" ? x > bestVal : x < bestVal)) {
            best = env.vars[vars[0]!.id]!;
            bestVal = x;
          }
          break;
      }
    }
    // odometer over the box, last variable fastest
    let k = r - 1;
    for (; k >= 0; k--) {
      const id = vars[k]!.id;
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
      return roundTo(e.dtype, count === 0 ? NaN : acc / count);
    case "max":
    case "min":
      return roundTo(e.dtype, count === 0 && bodyInt ? 0 : acc);
    default:
      return roundTo(e.dtype, acc);
  }
}
