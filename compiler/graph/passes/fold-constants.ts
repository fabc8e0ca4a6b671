/**
 * fold-constants — a node whose operands are all constants becomes a constant, computed by the
 * reference interpreter itself (so folding is exact by construction).
 * Why: constant subgraphs (literal tables, scales written as expressions) cost a launch each.
 * Pre:  a well-typed graph.
 * Post: no foldable node is left: one with constant operands, a constant shape of at most
 *       `foldLimit` elements (default 16), operands of at most 4096 elements, and an evaluation
 *       that neither throws nor sets the error flag (those stay, to fail at run time as written).
 *       iota and other operand-less ops are left alone: they are cheaper than a table.
 */
import * as D from "../dim.ts";
import type { Graph } from "../node.ts";
import { interpret, InterpError } from "../interp.ts";
import type { Node } from "../ops.ts";
import type { Pass } from "./pass.ts";
import { mapGraph } from "./rebuild.ts";

const MAX_OPERAND = 4096;
const NEVER: ReadonlySet<string> = new Set(["input", "const", "iota", "loop_state", "loop_index", "iterate"]);

const constSize = (n: Node): number | undefined => {
  let total = 0;
  for (const t of n.types) {
    const v = D.numel(t.shape).value;
    if (v === undefined) return undefined;
    total += v;
  }
  return total;
};

export const foldConstants: Pass = {
  name: "fold-constants",
  description: "op(const, …, const) -> const, evaluated by the reference interpreter (small constant results only)",
  exact: true,
  run(g, cx) {
    const limit = cx.options.foldLimit ?? 16;
    return mapGraph(g, (old, m) => {
      const n = m.copy(old);
      if (NEVER.has(n.op) || n.dtype === "tuple") return n;
      // the constant operands: of n itself, or of the tuple a proj takes apart
      const srcs = n.op === "proj" ? n.src[0]!.src : n.src;
      if (n.op === "proj" && NEVER.has(n.src[0]!.op)) return n;
      if (srcs.length === 0 || !srcs.every((s) => s.op === "const" && (constSize(s) ?? Infinity) <= MAX_OPERAND)) return n;
      const size = constSize(n);
      if (size === undefined || size > limit) return n;
      const mini: Graph = { name: "fold", inputs: [], outputs: [n], outputNames: ["out"], cx: m.cx };
      try {
        const res = interpret(mini, {});
        if (res.errorFlag) {
          cx.remark("missed", n, "not folded: evaluating it sets the error flag");
          return n;
        }
        const values = [...res.outputs[0]!.data];
        cx.remark("fired", n, `folded to a constant of ${values.length} element${values.length === 1 ? "" : "s"}`);
        return m.cx.node("const", n.types, [], { values });
      } catch (e) {
        if (!(e instanceof InterpError)) throw e;
        cx.remark("missed", n, `not folded: ${e.message}`);
        return n;
      }
    });
  },
};
