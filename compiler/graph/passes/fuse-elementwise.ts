/**
 * fuse-elementwise — substitutes producers into their consumers' per-element bodies, so a chain
 * of elementwise, layout and epilogue ops becomes one compute node (one kernel, no intermediate
 * buffers).
 * Why: each unfused node is a launch and a round trip of its whole result through memory.
 * Pre:  a well-typed graph (run after recognize-attention, which matches unfused op patterns).
 * Post: a consumer with a per-element body (a compute node or an op in EXACT_BODIES) has
 *       inlined every producer the rules below allow; producers left without consumers vanish.
 *
 * Rules (P the producer, C the consumer; both need a per-element body: a compute node, or an op
 * whose as-compute form reproduces the interpreter bit for bit — EXACT_BODIES):
 * 1. Every load of P in C must read provably inside P (ranges.ts): a load out of range gives 0,
 *    which P's substituted body would not.
 * 2. P without reductions is substituted at each of its loads in C. If a load is evaluated
 *    more often than P has elements (C broadcasts P, or reads it inside a reduction whose variable
 *    the index does not use, as a matmul-like sum does), P's work would be repeated, so only
 *    cheap P (no transcendental function, at most two float operations) go there: fusing exp(x)
 *    into a matmul-like sum would evaluate exp N times per element of x instead of once. A load
 *    evaluated at most numel(P) times (elementwise, reshape, a reduction over P) is always fine.
 *    Loads at different indices add up (a stencil reads P twice per element), so deep stencils
 *    stop fusing once the inlined body is no longer cheap; equal loads count once.
 * 3. P with reductions (a reduce, argmax, an index-notation sum) is inlined only as C's
 *    prologue-free epilogue: P has exactly one consumer, C, which loads it exactly once, at C's own
 *    output index [v0, …, v{r-1}], outside any reduction of C. Each P element is then computed
 *    once, as before; anything else would repeat a whole reduction per use (quadratic work).
 * 4. A producer that does not depend on a loop the consumer is inside is not pulled into the
 *    loop (it would be recomputed every iteration), unless it is a scalar constant or an iota.
 * 5. A producer whose own reads may set the error flag (a gather, a data-dependent load) is
 *    inlined only where the consumer reads all of it, at its own index, unconditionally; the
 *    flag must come out the same, so every element must still be evaluated.
 * 6. A fused body stays below `maxBodySize` expression nodes (default 512), so repeated loads of
 *    an inlined producer (stencils) cannot blow up exponentially along a chain.
 */
import { exprKey, type SExpr, type SLoad } from "../expr.ts";
import type { Graph } from "../node.ts";
import type { GOp, Node, OpArgs } from "../ops.ts";
import { asCompute } from "../../kernel/as-compute.ts";
import { simplifyExpr } from "./expr-rules.ts";
import { canonicalVars, exprSize, freshenReductions, hasReduce, isIdentityLoad, remapSrcs, replaceLoads, substVars, walk } from "./expr-utils.ts";
import * as D from "../dim.ts";
import type { Dim } from "../dim.ts";
import { bodyMayFlag } from "./may-flag.ts";
import { describeNode, type Pass, type PassContext } from "./pass.ts";
import { forEachLoadInScope, inRange, provablyLE, rootScope } from "./ranges.ts";
import { loopDeps, mapGraph, useCounts } from "./rebuild.ts";
import { canonicalCompute, canonicalOperands } from "./cse.ts";

/**
 * Ops whose as-compute body (kernel/as-compute.ts) gives exactly the interpreter's result, error
 * flag included (test/passes/fuse-elementwise.test.ts checks each). Left out: matmul, softmax,
 * logsumexp, dwconv2d and the norms (their bodies round intermediate products or sums to f32
 * where the interpreter keeps doubles), and segment_reduce (its mean divides an f32-rounded sum,
 * its f16 sums round to f32 before the result dtype, and its bad-segment probe turns -0 into +0).
 */
export const EXACT_BODIES: ReadonlySet<GOp> = new Set<GOp>([
  "unary", "binary", "where", "cast", "broadcast", "const", "iota", "reshape", "permute", "slice", "pad", "concat",
  "regions", "unregions", "reduce", "argreduce", "gather",
]);

const TRANSCENDENTAL: ReadonlySet<string> = new Set([
  "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "tanh", "sigmoid", "gelu", "erf", "log1p", "expm1", "pow", "atan2",
]);

/** The exact per-element body of n, if it has one. */
export function exactBody(n: Node): SExpr | undefined {
  if (n.dtype === "tuple") return undefined;
  if (n.op === "compute") return (n.arg as OpArgs["compute"]).body;
  return EXACT_BODIES.has(n.op) ? asCompute(n) : undefined;
}

/** Cheap enough to recompute at every step of a reduction: no transcendental, <= 2 float ops. */
export function cheap(e: SExpr): boolean {
  let flops = 0;
  let ok = true;
  walk(e, (x) => {
    if ((x.k === "unary" || x.k === "binary") && TRANSCENDENTAL.has(x.fn)) ok = false;
    if ((x.k === "unary" || x.k === "binary") && (x.dtype === "f32" || x.dtype === "f16" || x.dtype === "bf16")) flops++;
    if (x.k === "reduce") ok = false;
  });
  return ok && flops <= 2;
}

/** A trivially recomputable producer (rule 4's exception). */
const trivial = (p: Node): boolean => p.op === "iota" || (p.op === "const" && p.shape.length === 0);

export interface Candidate {
  readonly k: number;
  readonly body: SExpr;
}

/** Why P (operand k of a consumer with body `body`, src `src`) cannot be inlined, or undefined when it can. */
export function refuse(
  c: { body: SExpr; shape: Node["shape"] },
  k: number,
  p: Node,
  pBody: SExpr,
  info: { uses: number; loopEscape: boolean },
): string | undefined {
  if (info.loopEscape && !trivial(p)) return "the producer is loop-invariant and the consumer is inside a loop (it would be recomputed every iteration)";
  const loads: { l: SLoad; inReduce: boolean; ok: boolean; always: boolean }[] = [];
  // how often P's body would be evaluated: per distinct load, once per point of every variable in scope
  const evals = new Map<string, Dim>();
  forEachLoadInScope(c.body, rootScope(c.shape), (l, sc, inReduce) => {
    if (l.src !== k) return;
    const key = exprKey(l);
    const here = [...sc.extents.values()].reduce<Dim>((acc, d) => D.mul(acc, d), D.dim(1));
    const prev = evals.get(key);
    evals.set(key, prev === undefined ? here : D.max(prev, here));
    loads.push({ l, inReduce, ok: l.idx.every((ix, a) => inRange(ix, p.shape[a]!, sc)), always: !inReduce && sc.truths.size + sc.falsehoods.size === 0 });
  });
  const repeats = !provablyLE([...evals.values()].reduce<Dim>((acc, d) => D.add(acc, d), D.dim(0)), D.numel(p.shape));
  if (loads.length === 0) return undefined;
  const bad = loads.find((x) => !x.ok);
  if (bad) return "a load of the producer may be out of range (it must read 0 there)";
  if (bodyMayFlag(pBody, p.shape, p.src)) {
    // the producer's own reads may set the error flag: every element must still be evaluated
    const whole = D.shapeEq(p.shape, c.shape) && loads.some((x) => x.always && isIdentityLoad(x.l, c.shape.length));
    if (!whole) return "the producer may set the error flag (a data-dependent index) and the consumer does not read all of it";
  }
  if (hasReduce(pBody)) {
    if (info.uses !== 1) return `the producer has a reduction and ${info.uses} uses (inlining would repeat the reduction)`;
    if (loads.length !== 1) return `the producer has a reduction and is loaded ${loads.length} times`;
    if (loads[0]!.inReduce) return "the producer has a reduction and is loaded inside a reduction (quadratic work)";
    if (!isIdentityLoad(loads[0]!.l, c.shape.length)) return "the producer has a reduction and is not read at the consumer's own index";
  } else if (repeats && !cheap(pBody)) {
    return "the producer is not cheap and would be evaluated more often than it has elements (broadcast or re-read in a reduction)";
  }
  return undefined;
}

/** body over src with the chosen operands replaced by their (renamed) bodies; the new operand list. */
export function inline(body: SExpr, src: readonly Node[], chosen: readonly Candidate[], r: number): { body: SExpr; src: Node[] } {
  const out: Node[] = [];
  const add = (n: Node): number => {
    const i = out.indexOf(n);
    if (i >= 0) return i;
    out.push(n);
    return out.length - 1;
  };
  const keep = new Map<number, number>();
  src.forEach((s, i) => {
    if (!chosen.some((c) => c.k === i)) keep.set(i, add(s));
  });
  const subst = new Map<number, SExpr>();
  for (const c of chosen) {
    const p = src[c.k]!;
    const to = new Map(p.src.map((s, i) => [i, add(s)] as const));
    subst.set(c.k, remapSrcs(c.body, (i) => to.get(i)!));
  }
  const nb = replaceLoads(body, (l) => {
    const pb = subst.get(l.src);
    if (pb) return substVars(freshenReductions(pb), new Map(l.idx.map((ix, a) => [a, ix])));
    return { ...l, src: keep.get(l.src)! };
  });
  return { body: canonicalVars(simplifyExpr(nb), r), src: out };
}

export const fuseElementwise: Pass = {
  name: "fuse-elementwise",
  description:
    "C(…, P[idx], …) -> C(…, body_P[v := idx], …): per-element producers are substituted into consumers' bodies; " +
    "producers with reductions only as a single-use epilogue read at the consumer's own index",
  exact: true,
  run(g: Graph, cx: PassContext): Graph {
    const uses = useCounts(g);
    const loops = loopDeps(g);
    const maxSize = cx.options.maxBodySize ?? 512;
    return mapGraph(g, (old, m) => {
      const n = m.copy(old);
      const cBody = exactBody(n);
      if (!cBody) {
        for (const s of new Set(old.src))
          if (exactBody(m.get(s)) && hasWork(s)) cx.remark("missed", s, `kept: its consumer ${describeNode(old)} has no per-element form`);
        return n;
      }
      const r = n.shape.length;
      // canonical operands (duplicates merged), so loads of one producer are counted together
      const { body, src } = canonicalOperands(cBody, n.src, r);
      const oldOf = new Map<Node, Node>(old.src.map((s) => [m.get(s), s]));
      const chosen: Candidate[] = [];
      let size = exprSize(body);
      src.forEach((p, k) => {
        const pBody = exactBody(p);
        const oldP = oldOf.get(p);
        if (!pBody || !oldP || p.op === "input") return;
        const cl = loops.get(old)!;
        const pl = loops.get(oldP)!;
        const loopEscape = [...cl].some((l) => !pl.has(l));
        const why = refuse({ body, shape: n.shape }, k, p, pBody, { uses: uses.get(oldP) ?? 0, loopEscape });
        if (why) {
          if (hasWork(oldP)) cx.remark("missed", oldP, `not fused into ${describeNode(old)}: ${why}`);
          return;
        }
        let count = 0;
        walk(body, (x) => {
          if (x.k === "load" && x.src === k) count++;
        });
        const grown = size + count * (exprSize(pBody) - 1);
        if (grown > maxSize) {
          cx.remark("missed", oldP, `not fused into ${describeNode(old)}: the fused body would have ${grown} nodes (limit ${maxSize})`);
          return;
        }
        size = grown;
        chosen.push({ k, body: pBody });
        if (hasWork(oldP)) cx.remark("fired", oldP, `fused into ${describeNode(old)}`);
      });
      if (chosen.length === 0) return n;
      const fused = inline(body, src, chosen, r);
      return canonicalCompute(m.cx, m.cx.node("compute", n.types, fused.src, { body: fused.body }));
    });
  },
};

/** Producers worth a remark: ones that compute something (not constants, inputs or placeholders). */
const hasWork = (n: Node): boolean => !["input", "const", "iota", "loop_state", "loop_index", "proj"].includes(n.op);
