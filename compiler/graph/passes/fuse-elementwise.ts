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
 * 3. P with reductions (a reduce, argmax, an index-notation sum) is inlined only where C
 *    evaluates it at most numel(P) times (equal loads count once: the kernel computes a repeated
 *    reduction once): C's epilogue at its own index, or a reduction of C that reads each element
 *    once (a GEMM into its row max: the matrix is never stored). Each P element is then computed
 *    once, as before; anything else would repeat a whole reduction per use (quadratic work).
 *    With several consumers, P is inlined only into all of them at once (sharePlan): one consumer
 *    may read all of it, every other one at most one element per row of P (numel(P) / extent of
 *    an axis: argmax's companion max reads the chosen element), so the work grows by at most one
 *    row's worth and P's buffer disappears.
 * 4. A producer that does not depend on a loop the consumer is inside is not pulled into the
 *    loop (it would be recomputed every iteration), unless it is a scalar constant or an iota.
 * 5. A producer whose own reads may set the error flag (a gather, a data-dependent load) is
 *    inlined only where the consumer reads all of it unconditionally (at its own index, or
 *    through a reduction whose variables span P's axes), or, with several consumers, where one
 *    of them does and all of them inline it; the flag must come out the same, so every element
 *    must still be evaluated.
 * 6. A fused body stays below `maxBodySize` expression nodes (default 512), so repeated loads of
 *    an inlined producer (stencils) cannot blow up exponentially along a chain.
 * 7. A fused kernel binds every tensor it reads, its outputs and the error flag; it stays within
 *    `maxKernelBuffers` bindings (default 8, WebGPU's default maxStorageBuffersPerShaderStage;
 *    the lowering passes the target record's limit), so fusion never makes a kernel that the
 *    target cannot bind. Constants and iotas are inlined and do not count.
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
import { forEachLoadInScope, inRange, provablyLE, rootScope, type Scope } from "./ranges.ts";
import { consumers, loopDeps, mapGraph, useCounts } from "./rebuild.ts";
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

/** How a consumer reads operand k (producer p): its loads, its evaluations of p, whether it reads all of p. */
export interface LoadUse {
  readonly ok: boolean;
  readonly count: number;
  /** Evaluations of p's body if inlined: per distinct load, once per point of every variable in scope. */
  readonly evals: Dim;
  /** Some load is evaluated at every point of p unconditionally (p's flag comes out the same). */
  readonly covers: boolean;
}

/**
 * The loads of a body with the scope each is evaluated in, in visiting order. refuse asks about
 * every operand of a consumer in turn; one walk of the body serves them all.
 */
const scopedLoads = new WeakMap<SExpr, { shape: Node["shape"]; loads: { l: SLoad; sc: Scope }[] }>();
function loadsInScope(body: SExpr, shape: Node["shape"]): readonly { l: SLoad; sc: Scope }[] {
  const hit = scopedLoads.get(body);
  if (hit && D.shapeEq(hit.shape, shape)) return hit.loads;
  const loads: { l: SLoad; sc: Scope }[] = [];
  forEachLoadInScope(body, rootScope(shape), (l, sc) => loads.push({ l, sc }));
  scopedLoads.set(body, { shape, loads });
  return loads;
}

export function loadUse(c: { body: SExpr; shape: Node["shape"] }, k: number, p: Node): LoadUse {
  const evals = new Map<string, Dim>();
  let ok = true;
  let count = 0;
  let covers = false;
  for (const { l, sc } of loadsInScope(c.body, c.shape)) {
    if (l.src !== k) continue;
    count++;
    const key = exprKey(l);
    const here = [...sc.extents.values()].reduce<Dim>((acc, d) => D.mul(acc, d), D.dim(1));
    const prev = evals.get(key);
    evals.set(key, prev === undefined ? here : D.max(prev, here));
    if (!l.idx.every((ix, a) => inRange(ix, p.shape[a]!, sc))) ok = false;
    // distinct variables, each spanning its axis of p, outside any branch or reduction condition
    const ids = l.idx.map((ix, a) => (ix.k === "var" && sc.extents.get(ix.id) === p.shape[a] ? ix.id : -1));
    if (sc.truths.size + sc.falsehoods.size === 0 && ids.every((id) => id >= 0) && new Set(ids).size === ids.length) covers = true;
  }
  return { ok, count, evals: [...evals.values()].reduce<Dim>((acc, d) => D.add(acc, d), D.dim(0)), covers };
}

/** "sampled": at most one element per row of p (numel(p) / some axis extent > 1); "full": at most numel(p). */
export function evalRole(evals: Dim, p: Node): "sampled" | "full" | undefined {
  const n = D.numel(p.shape);
  if (p.shape.some((d) => !(d.value !== undefined && d.value <= 1) && provablyLE(D.mul(evals, d), n))) return "sampled";
  return provablyLE(evals, n) ? "full" : undefined;
}

/** Rule 3 with several consumers: whether every consumer can inline P (at most one of them fully), and whether one reads all of it. */
export interface SharePlan {
  readonly ok: boolean;
  readonly covered: boolean;
  readonly roles: ReadonlyMap<Node, "sampled" | "full">;
}

/** Why P (operand k of a consumer with body `body`, src `src`) cannot be inlined, or undefined when it can. */
export function refuse(
  c: { body: SExpr; shape: Node["shape"] },
  k: number,
  p: Node,
  pBody: SExpr,
  info: { uses: number; loopEscape: boolean; share?: () => SharePlan; consumer?: Node },
): string | undefined {
  if (info.loopEscape && !trivial(p)) return "the producer is loop-invariant and the consumer is inside a loop (it would be recomputed every iteration)";
  const use = loadUse(c, k, p);
  if (use.count === 0) return undefined;
  if (!use.ok) return "a load of the producer may be out of range (it must read 0 there)";
  const role = evalRole(use.evals, p);
  const repeats = role === undefined;
  const red = hasReduce(pBody);
  const shared = info.uses > 1 && (red || bodyMayFlag(pBody, p.shape, p.src)) ? info.share?.() : undefined;
  if (bodyMayFlag(pBody, p.shape, p.src)) {
    // the producer's own reads may set the error flag: every element must still be evaluated
    if (!use.covers && !(shared?.ok && shared.covered)) return "the producer may set the error flag (a data-dependent index) and the consumer does not read all of it";
  }
  if (red) {
    if (info.uses !== 1 && !shared?.ok) return `the producer has a reduction and ${info.uses} uses (inlining would repeat the reduction)`;
    if (repeats) return "the producer has a reduction and would be evaluated more often than it has elements (quadratic work)";
    if (info.uses !== 1 && shared!.roles.get(info.consumer!) === "sampled" && role !== "sampled") return "the producer has a reduction and this consumer would read more of it than planned";
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
    const cons = consumers(g);
    const maxSize = cx.options.maxBodySize ?? 512;
    const maxBuffers = cx.options.maxKernelBuffers ?? 8;
    const plans = new Map<Node, SharePlan>();
    const planFor = (oldP: Node, p: Node): SharePlan => {
      let plan = plans.get(oldP);
      if (!plan) plans.set(oldP, (plan = sharePlan(oldP, p, cons.get(oldP) ?? [], uses.get(oldP) ?? 0, loops)));
      return plan;
    };
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
      // tensors the fused kernel binds: operands not inlined, plus inlined producers' operands
      const bound = new Set(src.filter(binds));
      const budget = maxBuffers - n.types.length - 1; // outputs and the error flag
      src.forEach((p, k) => {
        const pBody = exactBody(p);
        const oldP = oldOf.get(p);
        if (!pBody || !oldP || p.op === "input") return;
        const cl = loops.get(old)!;
        const pl = loops.get(oldP)!;
        const loopEscape = [...cl].some((l) => !pl.has(l));
        const nUses = uses.get(oldP) ?? 0;
        const share = () => planFor(oldP, p);
        const why = refuse({ body, shape: n.shape }, k, p, pBody, { uses: nUses, loopEscape, share, consumer: old });
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
        const after = new Set(bound);
        after.delete(p);
        for (const q of p.src) if (binds(q)) after.add(q);
        if (after.size > Math.max(budget, bound.size)) {
          cx.remark("missed", oldP, `not fused into ${describeNode(old)}: the fused kernel would bind ${after.size + n.types.length + 1} buffers (limit ${maxBuffers})`);
          return;
        }
        bound.clear();
        for (const q of after) bound.add(q);
        size = grown;
        chosen.push({ k, body: pBody });
        const sharedBy = nUses > 1 && hasReduce(pBody) ? plans.get(oldP) : undefined;
        const how = sharedBy ? ` (shared by ${nUses} consumers: ${sharedBy.roles.get(old) === "sampled" ? "this one reads one element per row" : "this one reads all of it"}; not stored)` : "";
        if (hasWork(oldP)) cx.remark("fired", oldP, `fused into ${describeNode(old)}${how}`);
      });
      if (chosen.length === 0) return n;
      const fused = inline(body, src, chosen, r);
      return canonicalCompute(m.cx, m.cx.node("compute", n.types, fused.src, { body: fused.body }));
    });
  },
};

/** Whether a node is bound as a buffer by the kernel reading it (constants and iotas are inlined). */
const binds = (n: Node): boolean => n.op !== "const" && n.op !== "iota";

/** Producers worth a remark: ones that compute something (not constants, inputs or placeholders). */
const hasWork = (n: Node): boolean => !["input", "const", "iota", "loop_state", "loop_index", "proj"].includes(n.op);

/**
 * Whether a producer with several consumers (oldP in the graph the pass runs on; p its image, with
 * its fused body) can be inlined into every one of them: each has a per-element body that reads p
 * in range, at most one reads up to numel(p) elements and the others at most one element per
 * row, none is inside a loop p is not in, and p is not a graph output.
 */
function sharePlan(oldP: Node, p: Node, cs: readonly Node[], uses: number, loops: ReadonlyMap<Node, ReadonlySet<number>>): SharePlan {
  const roles = new Map<Node, "sampled" | "full">();
  const no: SharePlan = { ok: false, covered: false, roles };
  if (cs.length !== uses || cs.length < 2) return no; // a graph output stays stored anyway
  let covered = false;
  let full = 0;
  for (const c of cs) {
    const cb = exactBody(c);
    if (!cb) return no;
    const pl = loops.get(oldP)!;
    if ([...loops.get(c)!].some((l) => !pl.has(l))) return no;
    const { body, src } = canonicalOperands(cb, c.src, c.shape.length);
    const use = loadUse({ body, shape: c.shape }, src.indexOf(oldP), p);
    const role = use.ok ? evalRole(use.evals, p) : undefined;
    if (!role) return no;
    roles.set(c, role);
    if (role === "full") full++;
    covered ||= use.covers;
  }
  return { ok: full <= 1, covered, roles };
}
