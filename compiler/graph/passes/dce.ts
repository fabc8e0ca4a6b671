/**
 * dce — dead code elimination. Rebuilding from the outputs drops unreachable nodes; besides that,
 * compute operands no load reads are removed, attention side outputs (lse, probs, mass) nobody
 * projects are no longer requested, and iterate states that neither an output nor a needed state
 * reads are dropped from the loop.
 * Why: fusion, folding and simplification leave operands and outputs behind; each costs a buffer
 *      and, for side outputs and loop states, real work in every step.
 * Pre:  a well-typed graph.
 * Post: every node, compute operand, attention side output and loop state is used.
 *       Exact, error flag included: an operand, side output (probs rows) or loop state whose
 *       evaluation may set the flag (may-flag.ts) is kept.
 */
import { toposort, type Graph } from "../node.ts";
import type { AttnReturn, Node, OpArgs, TensorType } from "../ops.ts";
import { remapSrcs, usedSrcs } from "./expr-utils.ts";
import type { Pass } from "./pass.ts";
import { mayFlag } from "./may-flag.ts";
import { consumers, mapGraph } from "./rebuild.ts";

/** Indices of the tuple outputs of n that some proj reads (all of them if n is used as a whole). */
function usedOutputs(n: Node, users: readonly Node[]): Set<number> {
  const s = new Set<number>();
  for (const u of users) {
    if (u.op === "proj") s.add((u.arg as OpArgs["proj"]).index);
    else for (let i = 0; i < n.types.length; i++) s.add(i);
  }
  return s;
}

/** The loop states of `it` that are needed: projected, or read by the step of a needed state. */
function neededStates(it: Node<"iterate">, used: ReadonlySet<number>): Set<number> {
  const { body, loop } = it.arg;
  const need = new Set(used);
  const reads = body.map((b) => {
    const s = new Set<number>();
    for (const x of toposort([b])) if (x.op === "loop_state" && (x.arg as OpArgs["loop_state"]).loop === loop) s.add((x.arg as OpArgs["loop_state"]).index);
    return s;
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (const j of [...need]) for (const k of reads[j]!) if (!need.has(k)) need.add(k), (changed = true);
  }
  return need;
}

export const dce: Pass = {
  name: "dce",
  description: "unreachable nodes, unread compute operands, unprojected attention side outputs and unneeded loop states are removed",
  exact: true,
  run(g, cx) {
    const users = consumers(g);
    // old tuple node -> (old output index -> new index); undefined entry: dropped
    const outMap = new Map<Node, Map<number, number>>();
    // loop id -> (old state index -> new index)
    const stateMap = new Map<number, Map<number, number>>();
    for (const n of toposort([...g.inputs, ...g.outputs])) {
      if (n.op === "attention" && n.dtype === "tuple") {
        const used = usedOutputs(n, users.get(n) ?? []);
        used.add(0);
        // probs rows may be out of range and set the error flag: keep them
        (n.arg as OpArgs["attention"]).returns.forEach((r, i) => {
          if (r.kind === "probs") used.add(i + 1);
        });
        if (used.size < n.types.length) outMap.set(n, new Map([...used].sort((a, b) => a - b).map((i, j) => [i, j])));
      } else if (n.op === "iterate") {
        const it = n as Node<"iterate">;
        const need = neededStates(it, usedOutputs(n, users.get(n) ?? []));
        // a state whose step may set the error flag keeps being computed
        it.arg.body.forEach((b, i) => {
          if ((mayFlag(b) || mayFlag(it.src[i]!)) && !need.has(i)) for (const j of neededStates(it, new Set([...need, i]))) need.add(j);
        });
        if (need.size < n.types.length) {
          const map = new Map([...need].sort((a, b) => a - b).map((i, j) => [i, j]));
          outMap.set(n, map);
          stateMap.set(it.arg.loop, map);
        }
      }
    }
    return mapGraph(g, (old, m) => {
      switch (old.op) {
        case "compute": {
          const n = m.copy(old);
          const body = (n.arg as OpArgs["compute"]).body;
          const used = usedSrcs(body);
          n.src.forEach((x, i) => mayFlag(x) && used.add(i)); // still evaluated for its error flag
          if (used.size === n.src.length) return n;
          const keep = n.src.map((_, i) => i).filter((i) => used.has(i));
          cx.remark("fired", n, `dropped ${n.src.length - keep.length} unread operand(s)`);
          return m.cx.node("compute", n.types, keep.map((i) => n.src[i]!), { body: remapSrcs(body, (i) => keep.indexOf(i)) });
        }
        case "loop_state": {
          const a = old.arg as OpArgs["loop_state"];
          const j = stateMap.get(a.loop)?.get(a.index);
          return j === undefined ? undefined : m.cx.node("loop_state", old.types, [], { loop: a.loop, index: j });
        }
        case "iterate": {
          const map = outMap.get(old);
          if (!map) return undefined;
          const a = old.arg as OpArgs["iterate"];
          const keep = [...map.keys()];
          cx.remark("fired", old, `dropped ${old.types.length - keep.length} unneeded loop state(s)`);
          return m.cx.node("iterate", keep.map((i) => old.types[i]!), keep.map((i) => m.get(old.src[i]!)), { ...a, body: keep.map((i) => m.get(a.body[i]!)) });
        }
        case "attention": {
          const map = outMap.get(old);
          if (!map) return undefined;
          cx.remark("fired", old, `dropped ${old.types.length - map.size} unused side output(s)`);
          return dropReturns(m.cx, m.copy(old) as Node<"attention">, map);
        }
        case "proj": {
          const t = old.src[0]!;
          const map = outMap.get(t);
          if (!map) return undefined;
          const i = map.get((old.arg as OpArgs["proj"]).index)!;
          const nt = m.get(t);
          return nt.dtype === "tuple" ? m.cx.node("proj", old.types, [nt], { index: i }) : nt;
        }
        default:
          return undefined;
      }
    });
  },
};

/** Attention without the side outputs `map` leaves out; operands only they read are removed. */
function dropReturns(cx: Graph["cx"], n: Node<"attention">, map: ReadonlyMap<number, number>): Node {
  const a = n.arg;
  const returns = a.returns.filter((_, r) => map.has(r + 1));
  const types: TensorType[] = n.types.filter((_, i) => map.has(i));
  // operands still read: q, k, v, bias, value scale, route, hook loads, kept returns
  const used = new Set<number>([0, 1, 2]);
  for (const i of [a.bias, a.valueScale, a.blocks?.src]) if (i !== undefined) used.add(i);
  for (const e of [a.score, a.mask]) if (e) for (const i of usedSrcs(e)) used.add(i);
  for (const r of returns) if (r.kind !== "lse") used.add(r.kind === "probs" ? r.rows : r.keys);
  const keep = n.src.map((_, i) => i).filter((i) => used.has(i));
  const to = (i: number) => keep.indexOf(i);
  const arg: OpArgs["attention"] = {
    ...a,
    score: a.score && remapSrcs(a.score, to),
    mask: a.mask && remapSrcs(a.mask, to),
    bias: a.bias === undefined ? undefined : to(a.bias),
    valueScale: a.valueScale === undefined ? undefined : to(a.valueScale),
    blocks: a.blocks && { ...a.blocks, src: to(a.blocks.src) },
    returns: returns.map((r): AttnReturn => (r.kind === "lse" ? r : r.kind === "probs" ? { kind: "probs", rows: to(r.rows) } : { kind: "mass", keys: to(r.keys) })),
  };
  return cx.node("attention", types, keep.map((i) => n.src[i]!), arg);
}
