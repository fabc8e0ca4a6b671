/**
 * recognize-attention — finds unfused attention and replaces it with the fused attention op:
 *
 *   o = matmul(softmax(E(matmul(q, kᵀ)), axis = -1), v)   ->   attention(q, k, v, scale, score, mask, bias)
 *
 * where E is an elementwise chain over the score matrix s (index [*b, i, j]): its parts are read
 * off from the outside in: `where(m, X, -inf)` (or select) becomes the mask hook m (m may not read
 * s), `X + bias[*b, j]` a per-key bias, `s * c` / `s / c` with a power-of-two constant c the
 * scale, and whatever is left the score hook (s is `score`). Other tensors the chain reads
 * (masks, biases, iota comparisons) are loaded by the hooks, through layout ops inlined.
 * Why: the unfused form materializes the N×N scores and probabilities; the fused op never does.
 * Pre:  simplified, constants folded (so `1/sqrt(64)` is a constant); before fuse-elementwise.
 * Post: every matched pattern is one attention node; declined candidates get a remark saying why.
 *
 * Inexact (exact: false): the attention op keeps the probabilities in float64 until Σ p·v, where
 * the unfused graph rounds softmax's output to f32 first; results differ by about one f32 ulp per
 * term. Logits are bit-identical (only power-of-two scales are folded into `scale`; other
 * factors stay in the score hook), and rows with no key left give 0 in both. Only f32 scores are
 * matched: f16 scores would round to f16 in the unfused graph but to f32 in the op. A value of
 * ±inf/NaN in v also differs for fully masked keys (0·inf is NaN unfused, skipped fused).
 */
import * as D from "../dim.ts";
import type { Dim } from "../dim.ts";
import type { SExpr } from "../expr.ts";
import type { Graph } from "../node.ts";
import type { Node, OpArgs } from "../ops.ts";
import { canonicalOperands } from "./cse.ts";
import { hasReduce, isIdentityLoad, remapSrcs, replaceLoads, usesScore, walk } from "./expr-utils.ts";
import { cheap, exactBody, inline, refuse, type Candidate } from "./fuse-elementwise.ts";
import { describeNode, type Pass, type PassContext } from "./pass.ts";
import { mapGraph, useCounts } from "./rebuild.ts";

type Match = { ok: true; q: Node; kt: Node; v: Node; leaves: Node[]; arg: OpArgs["attention"] } | { ok: false; why: string };

const fail = (why: string): Match => ({ ok: false, why });
const isPow2 = (c: number): boolean => c > 0 && Number.isFinite(c) && Math.log2(c) === Math.round(Math.log2(c)) && Math.abs(Math.log2(c)) < 100;
const negInf = (e: SExpr) => e.k === "const" && e.value === -Infinity;
const constOf = (e: SExpr): number | undefined => (e.k === "const" && e.dtype === "f32" ? Math.fround(e.value) : undefined);

/** Matches `o = matmul(softmax(chain), v)` on nodes of the old graph. */
function match(o: Node, uses: ReadonlyMap<Node, number>): Match {
  const [p, v] = o.src as [Node, Node];
  if (p.op !== "softmax") return fail("the matmul's left operand is not a softmax");
  const x = p.src[0]!;
  if ((p.arg as OpArgs["softmax"]).axis !== x.shape.length - 1) return fail("softmax is not over the last axis");
  if (p.dtype !== "f32" || o.dtype !== "f32") return fail(`scores are ${p.dtype}, not f32 (the fused op keeps f32 logits, which would round differently)`);
  if (x.shape.length < 2 || v.shape.length < 2) return fail("rank below 2 (vector matmul)");
  if ((uses.get(p) ?? 0) !== 1) return fail("the probabilities are used elsewhere too (they must exist anyway)");
  const s = findScores(x);
  if (!s) return fail("no matmul(q, kᵀ) of the score shape reaches the softmax through elementwise ops");
  if (s.dtype !== "f32") return fail(`q·kᵀ is ${s.dtype}, not f32`);
  if ((uses.get(s) ?? 0) !== 1) return fail("the score matrix q·kᵀ is used elsewhere too");
  const chain = chainBody(x, s, uses);
  if (typeof chain === "string") return fail(chain);
  // operands of the attention node: q, k, v, then the chain's other tensors
  const ks = chain.src.indexOf(s);
  const leaves = chain.src.filter((n) => n !== s);
  let e = replaceLoads(chain.body, (l) => (l.src === ks ? { k: "score", dtype: "f32" } : undefined));
  e = remapSrcs(e, (i) => (i === ks ? i : 3 + leaves.indexOf(chain.src[i]!)));
  const parts = decompose(e, leaves, x.shape);
  if (typeof parts === "string") return fail(parts);
  return { ok: true, q: s.src[0]!, kt: s.src[1]!, v, leaves, arg: { ...parts, valueScale: undefined, blocks: undefined, returns: [] } };
}

/**
 * The elementwise chain from the score matrix s to the softmax input x as one body over
 * [*b, i, j]: nodes computed from s are inlined (they must be elementwise and used only here);
 * cheap views of at most one other tensor (masks, iota comparisons) are read through. Returns
 * why not when the chain cannot be expressed.
 */
function chainBody(x: Node, s: Node, uses: ReadonlyMap<Node, number>): { body: SExpr; src: Node[] } | string {
  const r = x.shape.length;
  if (x === s) return { body: { k: "load", src: 0, idx: [...Array(r).keys()].map((i) => ({ k: "var", id: i, dtype: "i32" })), dtype: "f32" }, src: [s] };
  const dependsOnS = new Map<Node, boolean>();
  const dep = (n: Node): boolean => {
    let d = dependsOnS.get(n);
    if (d === undefined) dependsOnS.set(n, (d = n === s || n.src.some(dep)));
    return d;
  };
  const xb = exactBody(x);
  if (!xb || hasReduce(xb)) return `the softmax input ${describeNode(x)} is not elementwise`;
  if ((uses.get(x) ?? 0) !== 1) return `${describeNode(x)} is used elsewhere too`;
  let { body, src } = canonicalOperands(xb, x.src, r);
  for (let guard = 0; guard < 64; guard++) {
    const chosen: Candidate[] = [];
    for (const [k, n] of src.entries()) {
      if (n === s) continue;
      const nb = exactBody(n);
      const why = nb && refuse({ body, shape: x.shape }, k, n, nb, { uses: 1, loopEscape: false });
      if (dep(n)) {
        if (!nb || hasReduce(nb)) return `${describeNode(n)} between the scores and the softmax is not elementwise`;
        if ((uses.get(n) ?? 0) !== 1) return `${describeNode(n)} (computed from the scores) is used elsewhere too`;
        if (why) return `cannot inline ${describeNode(n)}: ${why}`;
        chosen.push({ k, body: nb });
      } else if (nb && !why && readThrough(n)) chosen.push({ k, body: nb });
    }
    if (chosen.length === 0) break;
    ({ body, src } = inline(body, src, chosen, r));
    ({ body, src } = canonicalOperands(body, src, r));
  }
  const ks = src.indexOf(s);
  if (ks < 0) return "the scores do not reach the softmax";
  let bad = false;
  walk(body, (e) => {
    if (e.k === "reduce" || (e.k === "load" && e.src === ks && !isIdentityLoad(e, r))) bad = true;
  });
  return bad ? "the chain reads the scores at another index or inside a reduction" : { body, src };
}

/**
 * Splits a score expression (over `score` and loads of attention operands 3…) from the outside in:
 * select(m, X, -inf) -> mask m; X + bias[*b, j] -> per-key bias; score * c or score / c with a
 * power-of-two c -> scale; the rest -> score hook.
 */
function decompose(e: SExpr, leaves: readonly Node[], shape: readonly Dim[]): Pick<OpArgs["attention"], "scale" | "score" | "mask" | "bias"> | string {
  let mask: SExpr | undefined;
  while (e.k === "select" && !usesScore(e.c) && (negInf(e.a) || negInf(e.b))) {
    const keep = negInf(e.b) ? e.c : not(e.c);
    mask = mask ? and(mask, keep) : keep;
    e = negInf(e.b) ? e.a : e.b;
  }
  let bias: number | undefined;
  if (e.k === "binary" && e.fn === "add") {
    const t = perKeyBias(e.b, leaves, shape) ? e.b : perKeyBias(e.a, leaves, shape) ? e.a : undefined;
    if (t?.k === "load") {
      bias = t.src;
      e = t === e.b ? e.a : e.b;
    }
  }
  let scale = 1;
  if (e.k === "binary" && (e.fn === "mul" || e.fn === "div")) {
    const c = e.a.k === "score" ? constOf(e.b) : e.fn === "mul" && e.b.k === "score" ? constOf(e.a) : undefined;
    if (c !== undefined && isPow2(c)) {
      scale = e.fn === "mul" ? c : 1 / c;
      e = { k: "score", dtype: "f32" };
    }
  }
  if (e.dtype !== "f32") return "the score chain is not f32";
  if (bias !== undefined && leavesAt(leaves, bias).dtype !== "f32") return "the bias is not f32";
  return { scale, score: e.k === "score" ? undefined : e, mask, bias };
}

/** A load bias[*b', j] of an attention operand: right-aligned batch variables (or 0 on unit dims), then j. */
function perKeyBias(t: SExpr, leaves: readonly Node[], shape: readonly Dim[]): boolean {
  if (t.k !== "load" || usesScore(t)) return false;
  const r = shape.length;
  const nb = r - 2;
  const tn = leavesAt(leaves, t.src);
  const rank = t.idx.length;
  if (rank < 1 || rank > nb + 1 || tn.shape[rank - 1] !== shape[r - 1]) return false;
  const last = t.idx[rank - 1]!;
  if (last.k !== "var" || last.id !== nb + 1) return false;
  return t.idx.slice(0, -1).every((ix, a) => {
    const out = nb - (rank - 1) + a;
    return (ix.k === "var" && ix.id === out && tn.shape[a] === shape[out]) || (ix.k === "const" && ix.value === 0 && tn.shape[a]!.value === 1);
  });
}

const through = new WeakMap<Node, ReadonlySet<Node> | null>();
/**
 * The tensors a hook would read if n (independent of the scores) were inlined, when that is at
 * most one tensor through cheap per-element work (iota comparisons, views and tests of one mask);
 * undefined when n should stay a tensor of its own.
 */
function readThrough(n: Node): ReadonlySet<Node> | undefined {
  const known = through.get(n);
  if (known !== undefined) return known ?? undefined;
  let res: ReadonlySet<Node> | undefined;
  const nb = n.op === "input" ? undefined : exactBody(n);
  if (nb && !hasReduce(nb) && cheap(nb)) {
    const leaves = new Set<Node>();
    for (const s of n.src) for (const l of readThrough(s) ?? [s]) leaves.add(l);
    if (leaves.size <= 1) res = leaves;
  }
  through.set(n, res ?? null);
  return res;
}

const leavesAt = (leaves: readonly Node[], i: number): Node => leaves[i - 3]!;
const and = (a: SExpr, b: SExpr): SExpr => ({ k: "binary", fn: "and", a, b, dtype: "bool" });
const not = (a: SExpr): SExpr => ({ k: "unary", fn: "not", a, dtype: "bool" });

/** The matmul of the score shape found by walking elementwise producers back from x (one, f32, rank >= 2). */
function findScores(x: Node): Node | undefined {
  const seen = new Set<Node>();
  const found: Node[] = [];
  const go = (n: Node) => {
    if (seen.has(n)) return;
    seen.add(n);
    if (n.op === "matmul" && D.shapeEq(n.shape, x.shape) && n.src.every((t) => t.shape.length >= 2)) {
      found.push(n);
      return;
    }
    if (n === x || (exactBody(n) && n.op !== "input")) n.src.forEach(go);
  };
  go(x);
  return found.length === 1 ? found[0] : undefined;
}

export const recognizeAttention: Pass = {
  name: "recognize-attention",
  description:
    "matmul(softmax(E(matmul(q, kᵀ)), -1), v) -> attention(q, k, v) with E's mask (where(m, s, -inf)), per-key bias, " +
    "power-of-two scale and remaining score hook; probabilities stay in float64 (inexact: ~1 ulp)",
  exact: false,
  run(g: Graph, cx: PassContext): Graph {
    const uses = useCounts(g);
    const matched = new Set<Node>();
    const out = mapGraph(g, (old, m) => {
      if (old.op !== "matmul" || old.src[0]!.op !== "softmax") return undefined;
      const r = match(old, uses);
      if (!r.ok) {
        cx.remark("missed", old.src[0]!, `attention not recognized: ${r.why}`);
        return undefined;
      }
      matched.add(old.src[0]!);
      const q = m.get(r.q);
      const kt = m.get(r.kt);
      const rk = kt.shape.length;
      const perm = [...Array(rk).keys()];
      [perm[rk - 2], perm[rk - 1]] = [perm[rk - 1]!, perm[rk - 2]!];
      // kᵀ is usually a transpose already: compose the permutations instead of stacking them
      const k =
        kt.op === "permute" && perm.map((i) => (kt.arg as OpArgs["permute"]).perm[i]!).every((p, i) => p === i)
          ? kt.src[0]!
          : m.cx.node("permute", [{ dtype: kt.dtype as "f32", shape: perm.map((i) => kt.shape[i]!) }], [kt], { perm });
      const src = [q, k, m.get(r.v), ...r.leaves.map(m.get)];
      const att = m.cx.node("attention", [old.types[0]!], src, r.arg);
      const parts = [r.arg.scale !== 1 ? `scale ${r.arg.scale}` : "", r.arg.mask ? "mask hook" : "", r.arg.bias !== undefined ? "per-key bias" : "", r.arg.score ? "score hook" : ""].filter(Boolean);
      cx.remark("fired", old.src[0]!, `attention recognized${parts.length ? ` (${parts.join(", ")})` : ""}`);
      return att;
    });
    for (const n of uses.keys())
      if (n.op === "softmax" && !matched.has(n) && ![...uses.keys()].some((u) => u.op === "matmul" && u.src[0] === n))
        cx.remark("missed", n, "attention not recognized: the softmax does not feed a matmul with values");
    return out;
  },
};
