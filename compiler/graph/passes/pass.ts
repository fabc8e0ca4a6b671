/**
 * The shape every graph pass has (style.md §12.3, H3): a kebab-case name, a one-line description
 * of its algebra, and `run(graph, cx) → graph`, pure in the graph. Passes that fire or decline
 * say so through `cx.remark`, which `attnc compile --explain` prints.
 */
import type { Graph } from "../node.ts";
import type { Node } from "../ops.ts";

/** Something a pass did (fired) or considered and declined (missed), with the reason. */
export interface Remark {
  readonly pass: string;
  readonly kind: "fired" | "missed";
  /** The node it is about, described as `%id op : type` in the graph the pass ran on. */
  readonly at: string;
  readonly message: string;
}

export interface PassContext {
  /** Records a remark (cheap; always collected, printed only with --explain). */
  remark(kind: Remark["kind"], at: Node | string, message: string): void;
  /** Options the pipeline was run with (passes read their own). */
  readonly options: PassOptions;
}

export interface PassOptions {
  /** Fold nodes whose inputs are constants when the result has at most this many elements (default 16). */
  readonly foldLimit?: number;
  /** Largest compute body (in expression nodes) fuse-elementwise may create (default 512). */
  readonly maxBodySize?: number;
  /** Most buffers (operands, outputs, error flag) a kernel fuse-elementwise creates may bind (default 8). */
  readonly maxKernelBuffers?: number;
}

export interface Pass {
  /** kebab-case, unique; the file name and the --print-after / --stop-after argument. */
  readonly name: string;
  /** What it does, as algebra where it can be (shown by `attnc compile --explain`). */
  readonly description: string;
  /**
   * Whether the result is bit-identical under the reference interpreter for every input. Passes
   * that are not (recognize-attention) document how rounding changes; `exact` pipelines skip them.
   */
  readonly exact: boolean;
  run(graph: Graph, cx: PassContext): Graph;
}

/** A PassContext that collects remarks into `remarks`. */
export function passContext(pass: string, remarks: Remark[], options: PassOptions = {}): PassContext {
  return {
    options,
    remark(kind, at, message) {
      remarks.push({ pass, kind, at: typeof at === "string" ? at : describeNode(at), message });
    },
  };
}

/** `%12 softmax : f32[B, N, N]` — a node as remarks and errors name it. */
export function describeNode(n: Node): string {
  const fn = n.op === "unary" || n.op === "binary" || n.op === "reduce" || n.op === "argreduce" ? ` ${(n.arg as { fn: string }).fn}` : "";
  const ty = n.types.map((t) => `${t.dtype}[${t.shape.map((d) => d.toString()).join(", ")}]`).join(", ");
  return `%${n.id} ${n.op}${fn} : ${n.types.length === 1 ? ty : `(${ty})`}`;
}
