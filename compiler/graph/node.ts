/**
 * Node interning and whole-graph helpers. A GraphContext hash-conses nodes by (op, dtype, shape,
 * src, arg): building the same expression twice yields the same object, so CSE is free and
 * equality is identity. Interning is per context, so ids are deterministic for a given build
 * order. Source spans that produced a node live in a side table (`origin`), outside the key.
 */
import { Dim } from "./dim.ts";
import type { DType } from "./dtype.ts";
import { exprKey, type SExpr } from "./expr.ts";
import type { GOp, Node, OpArgs, TensorType } from "./ops.ts";

export class GraphContext {
  private readonly table = new Map<string, Node>();
  private nextId = 0;
  /** Opaque provenance (e.g. DSL spans) per node; never part of the key. */
  readonly origin = new Map<Node, unknown[]>();

  node<O extends GOp>(op: O, types: readonly TensorType[], src: readonly Node[], arg: OpArgs[O], at?: unknown): Node<O> {
    const tuple = types.length !== 1 || op === "topk" || op === "compact" || op === "quantize" || op === "iterate";
    const dtype: DType | "tuple" = tuple ? "tuple" : types[0]!.dtype;
    const shape = tuple ? [] : types[0]!.shape;
    const key = `${op}|${dtype}|${typesKey(types)}|${src.map((s) => s.id).join(",")}|${nodeArgKey(arg)}`;
    let n = this.table.get(key) as Node<O> | undefined;
    if (!n) {
      n = Object.freeze({ id: this.nextId++, op, dtype, shape, types, src, arg }) as Node<O>;
      this.table.set(key, n);
    }
    if (at !== undefined) {
      const o = this.origin.get(n);
      if (o) {
        if (!o.includes(at)) o.push(at);
      } else this.origin.set(n, [at]);
    }
    return n;
  }

  get size(): number {
    return this.table.size;
  }
}

/**
 * Key texts of types arrays and op arguments, memoized per object: both are immutable once a node
 * holds them, and passes that rebuild a graph pass the same objects again for the nodes they keep.
 */
const typesKeys = new WeakMap<readonly TensorType[], string>();
const argKeys = new WeakMap<object, string>();

function typesKey(ts: readonly TensorType[]): string {
  let k = typesKeys.get(ts);
  if (k === undefined) typesKeys.set(ts, (k = ts.map((t) => `${t.dtype}[${t.shape.map((d) => d.key).join(",")}]`).join(";")));
  return k;
}

function nodeArgKey(a: unknown): string {
  if (typeof a !== "object" || a === null) return argKey(a);
  let k = argKeys.get(a);
  if (k === undefined) argKeys.set(a, (k = argKey(a)));
  return k;
}

/** Deterministic key of an op argument: Dims by canonical key, SExprs by canonical text, nodes by id. */
export function argKey(a: unknown): string {
  if (a === undefined) return "_";
  if (a === null) return "null";
  if (typeof a === "number") return Object.is(a, -0) ? "-0" : String(a);
  if (typeof a === "string") return JSON.stringify(a);
  if (typeof a === "boolean") return a ? "T" : "F";
  if (a instanceof Dim) return `d(${a.key})`;
  if (Array.isArray(a)) return `[${a.map(argKey).join(",")}]`;
  if (typeof a === "object") {
    const o = a as Record<string, unknown>;
    if (typeof o.k === "string" && "dtype" in o) return `e(${exprKey(o as unknown as SExpr)})`;
    if (typeof o.id === "number" && typeof o.op === "string") return `n${o.id}`;
    return `{${Object.keys(o).sort().map((k) => `${k}:${argKey(o[k])}`).join(",")}}`;
  }
  return String(a);
}

/** A finished graph: named inputs and outputs. */
export interface Graph {
  readonly name: string;
  readonly inputs: readonly Node<"input">[];
  readonly outputs: readonly Node[];
  readonly outputNames: readonly string[];
  readonly cx: GraphContext;
  /** Divisibility the graph's shapes assume (e.g. heads dividing the width); checked when dims are bound. */
  readonly requires?: readonly DivisibilityRequirement[];
}

export interface DivisibilityRequirement {
  readonly dim: Dim;
  readonly divisor: number;
  /** What needs it, for the message (e.g. "split_heads"). */
  readonly what: string;
  readonly origin?: unknown;
}

/** Children of a node for traversal: its src plus, for iterate, the body results. */
export function children(n: Node): readonly Node[] {
  return n.op === "iterate" ? [...n.src, ...(n.arg as OpArgs["iterate"]).body] : n.src;
}

/** Nodes reachable from roots, each after all of its children (deterministic post-order). */
export function toposort(roots: readonly Node[]): Node[] {
  const out: Node[] = [];
  const seen = new Set<Node>();
  const stack: [Node, number][] = [];
  for (const r of roots) {
    if (seen.has(r)) continue;
    stack.push([r, 0]);
    seen.add(r);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const ch = children(top[0]);
      if (top[1] < ch.length) {
        const c = ch[top[1]++]!;
        if (!seen.has(c)) {
          seen.add(c);
          stack.push([c, 0]);
        }
      } else {
        stack.pop();
        out.push(top[0]);
      }
    }
  }
  return out;
}
