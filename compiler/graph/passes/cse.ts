/**
 * cse — common subexpression elimination. Rebuilding the graph in a fresh context re-interns
 * every node, so structurally equal nodes become one; compute nodes are first put in a canonical
 * form (operands deduplicated and ordered by their first load in the body, reduction variables
 * renumbered), so bodies that differ only in operand order or duplication merge too.
 * Why: fusion and recognition duplicate and rebuild subgraphs; equal work should run once.
 * Pre:  a well-typed graph.
 * Post: no two reachable nodes are structurally equal (same op, types, operands and argument).
 */
import type { SExpr } from "../expr.ts";
import type { OpArgs } from "../ops.ts";
import { canonicalVars, remapSrcs, walk } from "./expr-utils.ts";
import type { Pass } from "./pass.ts";
import { graphSize, mapGraph } from "./rebuild.ts";
import type { Node } from "../ops.ts";
import type { GraphContext } from "../node.ts";

/** A body over `src` with duplicate operands merged, operands ordered by first load (unread ones last), variables canonical. */
export function canonicalOperands(body: SExpr, src: readonly Node[], r: number): { body: SExpr; src: Node[] } {
  const order: number[] = [];
  walk(body, (x) => {
    if (x.k === "load" && !order.includes(x.src)) order.push(x.src);
  });
  src.forEach((_, i) => {
    if (!order.includes(i)) order.push(i);
  });
  const out: Node[] = [];
  const to = new Map<number, number>();
  for (const i of order) {
    const s = src[i]!;
    let j = out.indexOf(s);
    if (j < 0) {
      out.push(s);
      j = out.length - 1;
    }
    to.set(i, j);
  }
  return { body: canonicalVars(remapSrcs(body, (i) => to.get(i)!), r), src: out };
}

/** compute(srcs){body} in canonical form (canonicalOperands); n itself when already canonical. */
export function canonicalCompute(cx: GraphContext, n: Node): Node {
  if (n.op !== "compute") return n;
  const body = (n.arg as OpArgs["compute"]).body;
  const c = canonicalOperands(body, n.src, n.shape.length);
  const same = c.src.length === n.src.length && c.src.every((s, i) => s === n.src[i]) && c.body === body;
  return same ? n : cx.node("compute", n.types, c.src, { body: c.body });
}

export const cse: Pass = {
  name: "cse",
  description: "equal nodes -> one node (re-interning in a fresh context); compute operands deduplicated and ordered by first load",
  exact: true,
  run(g, cx) {
    const out = mapGraph(g, (old, m) => {
      const c = m.copy(old);
      const n = canonicalCompute(m.cx, c);
      if (n !== c) cx.remark("fired", n, "compute operands put in canonical order");
      return n;
    });
    const merged = graphSize(g) - graphSize(out);
    if (merged > 0) cx.remark("fired", g.name, `${merged} node${merged === 1 ? "" : "s"} merged or dropped`);
    return out;
  },
};
