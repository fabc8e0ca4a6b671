/**
 * share-argmax — a row max whose argmax is also computed reads its value at the argmax instead of
 * reducing the row again:
 *   m = max[j < n | c] E(j),  a = argmax[j < n | c] E(j)   (same operands, body and condition)
 *   -> m = (a >= 0 && a < n) ? E(a) : -inf                (min / argmin alike, +inf; 0 for ints)
 * Why: ToMe's best similarity and its destination (methods.md §2.2 step 6) and PiToMe-BSM's are
 * such a pair. Reduced separately, each would recompute (or read) the whole similarity row; now
 * one pass over the row finds both, and fuse-elementwise can inline the similarity into the
 * argmax (which reads each element once) and into m (one element per row), so the [B, Na, Nb]
 * matrix is never stored.
 * Exact: argmax keeps the first maximal element and the first NaN, the max the first maximal
 * value it meets (ties of -0 and +0 included) and NaN once seen; an empty or fully excluded row
 * gives a = -1 and the max's identity. So E(a) is the max's value bit for bit, and the guard, true
 * whenever a >= 0, also proves the read in range (ranges.ts) for the passes after it.
 * Pre:  a well-typed graph. Post: no compute node is such a max while its argmax exists.
 */
import * as D from "../dim.ts";
import { exprKey, type SExpr, type SReduce } from "../expr.ts";
import type { Graph } from "../node.ts";
import type { Node, OpArgs } from "../ops.ts";
import { canonicalVars, remapSrcs, substVars } from "./expr-utils.ts";
import { describeNode, type Pass } from "./pass.ts";
import { mapGraph } from "./rebuild.ts";
import { toposort } from "../node.ts";

const PARTNER = { max: "argmax", min: "argmin" } as const;

/** The body's single top-level reduction over one variable, if that is all the body is. */
function rowReduce(n: Node): SReduce | undefined {
  if (n.op !== "compute") return undefined;
  const b = (n.arg as OpArgs["compute"]).body;
  return b.k === "reduce" && b.vars.length === 1 ? b : undefined;
}

/** The reduction with its operands named by node id, so two nodes' reductions compare by text. */
function key(n: Node, r: SReduce, fn: string): string {
  const e = remapSrcs(r, (i) => n.src[i]!.id);
  return `[${n.shape.map(String).join(",")}] ${exprKey({ ...e, fn } as SExpr)}`;
}

export const shareArgmax: Pass = {
  name: "share-argmax",
  description: "max[j|c] E and argmax[j|c] E -> a = argmax[j|c] E; max = a >= 0 && a < n ? E[j := a] : -inf (one pass over the row finds both)",
  exact: true,
  run(g: Graph, cx) {
    const args = new Map<string, Node>();
    for (const n of toposort([...g.inputs, ...g.outputs])) {
      const r = rowReduce(n);
      if (r && (r.fn === "argmax" || r.fn === "argmin") && !args.has(key(n, r, r.fn))) args.set(key(n, r, r.fn), n);
    }
    if (args.size === 0) return g;
    return mapGraph(g, (old, m) => {
      const r = rowReduce(old);
      if (!r || (r.fn !== "max" && r.fn !== "min") || r.dtype !== r.body.dtype) return undefined;
      const a = args.get(key(old, r, PARTNER[r.fn]));
      if (!a) return undefined;
      // the argmax node's operands are the max's (same loads), so they are already mapped
      const an = m.cx.node("compute", a.types, a.src.map((s) => m.get(s)), a.arg as OpArgs["compute"]);
      const rank = old.shape.length;
      const at: SExpr = { k: "load", src: 0, idx: old.shape.map((_, i) => ({ k: "var", id: i, dtype: "i32" })), dtype: "i32" };
      const v = r.vars[0]!;
      const value = substVars(remapSrcs(r.body, (i) => i + 1), new Map([[v.id, at]]));
      const float = r.dtype === "f32" || r.dtype === "f16" || r.dtype === "bf16";
      const none: SExpr = { k: "const", value: float ? (r.fn === "max" ? -Infinity : Infinity) : 0, dtype: r.dtype };
      const inRow: SExpr = {
        k: "binary",
        fn: "and",
        a: { k: "binary", fn: "ge", a: at, b: { k: "const", value: 0, dtype: "i32" }, dtype: "bool" },
        b: { k: "binary", fn: "lt", a: at, b: { k: "dim", dim: D.dim(v.extent), dtype: "i32" }, dtype: "bool" },
        dtype: "bool",
      };
      const body = canonicalVars({ k: "select", c: inRow, a: value, b: none, dtype: r.dtype }, rank);
      cx.remark("fired", old, `${r.fn} read at ${describeNode(a)}'s index (one pass over the row finds both)`);
      return m.cx.node("compute", old.types, [an, ...old.src.map((s) => m.get(s))], { body });
    });
  },
};
