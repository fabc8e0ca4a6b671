/**
 * The graph rewrite engine: rules are data (`rule(op, name, fn)`, indexed by root op), applied
 * bottom-up while mapping the graph into a fresh context, each node to a fixed point with a loop
 * guard (tinygrad's graph_rewrite). A handler returns the replacement or undefined (no match);
 * it builds new nodes through `Emit`, which applies the builder's shape rules.
 */
import * as D from "../dim.ts";
import type { Dim } from "../dim.ts";
import type { DType } from "../dtype.ts";
import { InternalCompilerError } from "../errors.ts";
import type { Graph, GraphContext } from "../node.ts";
import type { GOp, Node, OpArgs, TensorType } from "../ops.ts";
import { describeNode, type PassContext } from "./pass.ts";
import { mapGraph } from "./rebuild.ts";

/** Builds nodes in a context (no checks beyond shapes: rules produce well-typed nodes). */
export class Emit {
  constructor(readonly cx: GraphContext) {}

  node<O extends GOp>(op: O, types: readonly TensorType[], src: readonly Node[], arg: OpArgs[O]): Node {
    return this.cx.node(op, types, src, arg);
  }

  /** x viewed with shape `s` (row-major); x itself when the shape is unchanged. */
  reshape(x: Node, s: readonly Dim[]): Node {
    if (D.shapeEq(x.shape, s)) return x;
    return this.node("reshape", [{ dtype: x.dtype as DType, shape: s }], [x], {});
  }

  /** out.shape[k] = x.shape[perm[k]]; x itself for the identity. */
  permute(x: Node, perm: readonly number[]): Node {
    if (perm.every((p, i) => p === i)) return x;
    return this.node("permute", [{ dtype: x.dtype as DType, shape: perm.map((p) => x.shape[p]!) }], [x], { perm });
  }

  /** x broadcast to s; x itself when it already has shape s. */
  broadcast(x: Node, s: readonly Dim[]): Node {
    if (D.shapeEq(x.shape, s)) return x;
    return this.node("broadcast", [{ dtype: x.dtype as DType, shape: s }], [x], {});
  }

  /** x made to have exactly type `t` by broadcasting (dtype must already match). */
  as(x: Node, t: TensorType): Node | undefined {
    if (x.dtype !== t.dtype) return undefined;
    return this.broadcast(x, t.shape);
  }
}

export interface Rule {
  readonly op: GOp;
  readonly name: string;
  readonly rewrite: (n: Node, e: Emit) => Node | undefined;
}

export const rule = <O extends GOp>(op: O, name: string, rewrite: (n: Node<O>, e: Emit) => Node | undefined): Rule => ({
  op,
  name,
  rewrite: rewrite as (n: Node, e: Emit) => Node | undefined,
});

/** Rules indexed by root op. */
export class PatternMatcher {
  private readonly byOp = new Map<GOp, Rule[]>();
  constructor(readonly rules: readonly Rule[]) {
    for (const r of rules) this.byOp.set(r.op, [...(this.byOp.get(r.op) ?? []), r]);
  }
  plus(other: PatternMatcher): PatternMatcher {
    return new PatternMatcher([...this.rules, ...other.rules]);
  }
  /** n rewritten to a fixed point (n itself when no rule matches). */
  apply(n: Node, e: Emit, fired?: (r: Rule, before: Node) => void): Node {
    for (let guard = 0; guard < 100; guard++) {
      let next: Node | undefined;
      for (const r of this.byOp.get(n.op) ?? []) {
        next = r.rewrite(n, e);
        if (next !== undefined && next !== n) {
          if (next.dtype !== n.dtype || !D.shapeEq(next.shape, n.shape) || next.types.length !== n.types.length)
            throw new InternalCompilerError(`rule ${r.name}`, `${describeNode(n)} rewritten to ${describeNode(next)} of another type`);
          fired?.(r, n);
          break;
        }
        next = undefined;
      }
      if (!next) return n;
      n = next;
    }
    throw new InternalCompilerError("rewrite", `rules did not reach a fixed point at ${describeNode(n)}`);
  }
}

/** Maps g into a fresh context, rewriting every node with pm; remarks name the rules that fired. */
export function rewriteGraph(g: Graph, pm: PatternMatcher, cx?: PassContext): Graph {
  return mapGraph(g, (old, m) => {
    const e = new Emit(m.cx);
    return pm.apply(m.copy(old), e, (r, before) => cx?.remark("fired", before, r.name));
  });
}
