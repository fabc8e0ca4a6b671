/**
 * Rebuilding graphs. `rebuild(cx, n, change)` makes a node with new operands or arguments in n's
 * context and returns n itself when nothing changed (Halide's same_as, TypeScript's update*).
 * `mapGraph` maps every node bottom-up into a fresh GraphContext: re-interning merges equal
 * nodes (CSE for free) and leaves unreachable ones behind (DCE for free); a visitor may replace
 * nodes on the way. Provenance (`cx.origin`) follows each node to its replacement.
 */
import { GraphContext, argKey, children, toposort, type Graph } from "../node.ts";
import type { GOp, Node, OpArgs, TensorType } from "../ops.ts";

/** n with new src / arg / types in context cx; n itself when they are unchanged. */
export function rebuild<O extends GOp>(
  cx: GraphContext,
  n: Node<O>,
  change: { src?: readonly Node[]; arg?: OpArgs[O]; types?: readonly TensorType[] },
): Node<O> {
  const src = change.src ?? n.src;
  const arg = change.arg ?? n.arg;
  const types = change.types ?? n.types;
  const same = src.length === n.src.length && src.every((s, i) => s === n.src[i]) && types === n.types && (arg === n.arg || argKey(arg) === argKey(n.arg));
  if (same) return n;
  const m = cx.node(n.op, types, src, arg);
  const from = cx.origin.get(n as Node);
  if (from && m !== n) {
    const to = cx.origin.get(m);
    if (to) {
      for (const o of from) if (!to.includes(o)) to.push(o);
    } else cx.origin.set(m, [...from]);
  }
  return m;
}

/** What a mapGraph visitor can use: the new context and the images of already-mapped nodes. */
export interface NodeMap {
  /** The fresh context the new graph lives in. */
  readonly cx: GraphContext;
  /** The image of an old node (its children are mapped before it). */
  get(old: Node): Node;
  /** The default image of `old`: same op and arg, mapped operands (and iterate body). */
  copy(old: Node): Node;
  /** Records old's provenance on a replacement node. */
  inherit(old: Node, replacement: Node): Node;
}

/**
 * Maps g bottom-up into a fresh context. `visit(old, m)` returns the image of `old` (built in
 * m.cx), or undefined for the default copy. Inputs are kept even when unused.
 */
export function mapGraph(g: Graph, visit?: (old: Node, m: NodeMap) => Node | undefined): Graph {
  const cx = new GraphContext();
  const image = new Map<Node, Node>();
  const get = (old: Node): Node => {
    const x = image.get(old);
    if (!x) throw new Error(`mapGraph: node %${old.id} (${old.op}) used before it was mapped`);
    return x;
  };
  const inherit = (old: Node, rep: Node): Node => {
    const from = g.cx.origin.get(old);
    if (from) {
      const to = cx.origin.get(rep);
      if (to) {
        for (const o of from) if (!to.includes(o)) to.push(o);
      } else cx.origin.set(rep, [...from]);
    }
    return rep;
  };
  const copy = (old: Node): Node => {
    const src = old.src.map(get);
    const arg = old.op === "iterate" ? { ...(old.arg as OpArgs["iterate"]), body: (old.arg as OpArgs["iterate"]).body.map(get) } : old.arg;
    return inherit(old, cx.node(old.op, old.types, src, arg as never));
  };
  const m: NodeMap = { cx, get, copy, inherit };
  for (const old of toposort([...g.inputs, ...g.outputs])) {
    const rep = old.op === "input" ? undefined : visit?.(old, m);
    image.set(old, rep ? inherit(old, rep) : copy(old));
  }
  return {
    ...g,
    inputs: g.inputs.map((i) => get(i) as Node<"input">),
    outputs: g.outputs.map(get),
    cx,
  };
}

/** Number of distinct consumers of each node (iterate bodies count; graph outputs count once each). */
export function useCounts(g: Graph): Map<Node, number> {
  const uses = new Map<Node, number>();
  const bump = (n: Node) => uses.set(n, (uses.get(n) ?? 0) + 1);
  for (const n of toposort([...g.inputs, ...g.outputs])) for (const c of new Set(children(n))) bump(c);
  for (const o of g.outputs) bump(o);
  return uses;
}

/** Consumers of each node (distinct), in topological order. */
export function consumers(g: Graph): Map<Node, Node[]> {
  const out = new Map<Node, Node[]>();
  for (const n of toposort([...g.inputs, ...g.outputs]))
    for (const c of new Set(children(n))) {
      const l = out.get(c);
      if (l) l.push(n);
      else out.set(c, [n]);
    }
  return out;
}

/** The loops each node depends on through loop_state / loop_index (the interpreter's rule). */
export function loopDeps(g: Graph): Map<Node, ReadonlySet<number>> {
  const deps = new Map<Node, ReadonlySet<number>>();
  for (const n of toposort([...g.inputs, ...g.outputs])) {
    const s = new Set<number>();
    if (n.op === "loop_state" || n.op === "loop_index") s.add((n.arg as OpArgs["loop_index"]).loop);
    for (const c of n.src) for (const l of deps.get(c)!) s.add(l);
    if (n.op === "iterate") {
      const a = n.arg as OpArgs["iterate"];
      for (const b of a.body) for (const l of deps.get(b)!) s.add(l);
      s.delete(a.loop);
    }
    deps.set(n, s);
  }
  return deps;
}

/** Number of nodes reachable from the graph's inputs and outputs. */
export const graphSize = (g: Graph): number => toposort([...g.inputs, ...g.outputs]).length;
