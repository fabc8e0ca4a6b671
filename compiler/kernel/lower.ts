/**
 * lower-graph: graph IR → Program (buffers + kernel launches + loops).
 * Pre:  a finished Graph (shapes and dtypes known; symbolic dims allowed).
 * Post: one buffer per node output (proj aliases its tuple's buffer); every node that does work
 *       has launches in dependency order; iterate becomes a loop step whose body recomputes only
 *       the loop-variant nodes (loop-invariant ones are computed once before the loop).
 * Per-element ops go through as-compute and the generic elementwise kernel; ops that need
 * cross-element algorithms use the kernel generators registered in KERNELS.
 */
import { dim, numel as numelOf, type Dim } from "../graph/dim.ts";
import type { DType } from "../graph/dtype.ts";
import { toposort, type Graph } from "../graph/node.ts";
import type { Node, OpArgs, TensorType } from "../graph/ops.ts";
import type { SExpr } from "../graph/expr.ts";
import { asCompute } from "./as-compute.ts";
import { computeKernel } from "./kernels/elementwise.ts";
import { markFullWrite } from "./plan.ts";
import type { BufferDecl, Launch, Program, Step } from "./program.ts";
import type { Kernel } from "./ir.ts";
import type { TargetCaps } from "./caps.ts";
import "./kernels/index.ts";
import { KERNELS, KERNELS_FIRST, type LowerCtx } from "./registry.ts";
export { KERNELS, KERNELS_FIRST, type LowerCtx, type KernelGen } from "./registry.ts";

export class LoweringError extends Error {
  constructor(
    readonly node: Node,
    message: string,
  ) {
    super(message);
  }
}

export interface LowerOptions {
  /** The target's capability record: kernel generators choose algorithms that fit it (default: WebGPU's default limits). */
  readonly caps?: TargetCaps;
  /** Called when a generator chose a fallback because of the record. */
  readonly note?: (node: Node, text: string) => void;
  /**
   * Build the capability variants of kernels (Kernel.variants: CUDA warp shuffles, tensor cores;
   * default true). A target that launches only base kernels (WGSL) skips them: same program, less
   * compile time.
   */
  readonly variants?: boolean;
}

export function lowerGraph(g: Graph, opts: LowerOptions = {}): Program {
  const buffers: BufferDecl[] = [];
  const bufOf = new Map<Node, number[]>();
  const newBuf = (dtype: DType, n: Dim, role: BufferDecl["role"], node?: Node, values?: readonly number[]) => {
    buffers.push({ id: buffers.length, dtype, numel: n, role, node, values });
    return buffers.length - 1;
  };
  const flag = newBuf("u32", dim(1), "flag");
  const loopState = new Map<number, number[]>(); // loop id → cur buffers
  const loopIndex = new Map<number, number>(); // loop id → i32 buffer holding the iteration

  // which loops each node depends on (transitively through loop_state / loop_index)
  const deps = new Map<Node, ReadonlySet<number>>();
  const loopsOf = (n: Node): ReadonlySet<number> => {
    const known = deps.get(n);
    if (known) return known;
    const s = new Set<number>();
    if (n.op === "loop_state" || n.op === "loop_index") s.add((n.arg as { loop: number }).loop);
    for (const c of n.src) for (const l of loopsOf(c)) s.add(l);
    if (n.op === "iterate") {
      const a = n.arg as OpArgs["iterate"];
      for (const b of a.body) for (const l of loopsOf(b)) if (l !== a.loop) s.add(l);
    }
    deps.set(n, s);
    return s;
  };

  const emit = (n: Node, steps: Step[]): number[] => {
    const have = bufOf.get(n);
    if (have) return have;
    // children first (iterate handles its own body)
    for (const c of n.src) emit(c, steps);
    const ids = lowerNode(n, steps);
    bufOf.set(n, ids);
    return ids;
  };

  const lowerNode = (n: Node, steps: Step[]): number[] => {
    const types = n.types;
    switch (n.op) {
      case "input":
        return [newBuf(n.dtype as DType, numelOf(n.shape), "input", n)];
      case "const":
        return [newBuf(n.dtype as DType, numelOf(n.shape), "const", n, (n.arg as OpArgs["const"]).values)];
      case "proj":
        return [bufOf.get(n.src[0]!)![(n.arg as OpArgs["proj"]).index]!];
      case "loop_state": {
        const a = n.arg as OpArgs["loop_state"];
        return [loopState.get(a.loop)![a.index]!];
      }
      case "loop_index":
        return [loopIndex.get((n.arg as OpArgs["loop_index"]).loop)!];
      case "iterate":
        return lowerIterate(n as Node<"iterate">, steps);
    }
    const outs = types.map((t) => newBuf(t.dtype, numelOf(t.shape), "temp", n));
    const inputs = n.src.map((s) => ({ id: bufOf.get(s)![0]!, type: s.types[0]! }));
    const cx: LowerCtx = {
      node: n,
      inputs,
      outputs: outs.map((id, i) => ({ id, type: types[i]! })),
      flag,
      temp: (dtype, count) => newBuf(dtype, count, "temp", n),
      caps: opts.caps,
      note: (text) => opts.note?.(n, text),
      variants: opts.variants ?? true,
    };
    const first = KERNELS_FIRST[n.op]?.(cx);
    if (first) {
      steps.push(...first);
      return outs;
    }
    let body: SExpr | undefined = n.op === "compute" ? (n.arg as OpArgs["compute"]).body : asCompute(n);
    if (body) {
      steps.push(markFullWrite(computeKernel(cx, body), outs[0]!)); // plan-memory may hand it a reused buffer
      return outs;
    }
    const gen = KERNELS[n.op];
    if (!gen) throw new LoweringError(n, `no kernel for '${n.op}' yet`);
    steps.push(...gen(cx));
    void body;
    return outs;
  };

  const lowerIterate = (n: Node<"iterate">, steps: Step[]): number[] => {
    const a = n.arg;
    const init = n.src.map((s) => bufOf.get(s)![0]!);
    const cur = n.types.map((t) => newBuf(t.dtype, numelOf(t.shape), "temp", n));
    const idx = newBuf("i32", dim(1), "temp", n);
    loopState.set(a.loop, cur);
    loopIndex.set(a.loop, idx);
    // loop-invariant nodes used by the body are computed once, before the loop
    // (only nodes whose loops are all enclosing loops already open: not this one, not one nested in it)
    for (const b of toposort(a.body))
      if ([...loopsOf(b)].every((l) => l !== a.loop && loopState.has(l)) && b.op !== "loop_state" && b.op !== "loop_index") emit(b, steps);
    init.forEach((from, i) => steps.push({ k: "copy", from, to: cur[i]! }));
    const body: Step[] = [setIndexLaunch(n, idx, a.loop)];
    const before = new Map(bufOf);
    const results = a.body.map((b) => emit(b, body)[0]!);
    // a body result may be a state buffer itself (identity step) or an outer buffer: copy via temps
    const next = results.map((r, i) => {
      if (!cur.includes(r)) return r;
      const t = newBuf(n.types[i]!.dtype, numelOf(n.types[i]!.shape), "temp", n);
      body.push({ k: "copy", from: r, to: t });
      return t;
    });
    next.forEach((r, i) => body.push({ k: "copy", from: r, to: cur[i]! }));
    // forget loop-variant buffers so later uses outside the loop don't alias per-iteration values
    for (const [node] of bufOf) if (!before.has(node) && loopsOf(node).has(a.loop)) bufOf.delete(node);
    steps.push({ k: "loop", loop: a.loop, n: a.n, body });
    return cur;
  };

  const steps: Step[] = [];
  for (const inp of g.inputs) emit(inp, steps);
  for (const o of g.outputs) emit(o, steps);
  const outputs = g.outputs.map((o, i) => {
    const id = bufOf.get(o)![0]!;
    return { name: g.outputNames[i]!, buffer: id, dtype: o.dtype as DType, shape: o.shape };
  });
  return {
    name: g.name,
    buffers,
    steps,
    inputs: g.inputs.map((i) => ({ name: i.arg.name, buffer: bufOf.get(i)![0]!, dtype: i.dtype as DType, shape: i.shape })),
    outputs,
    flag,
  };
}

/** A one-thread kernel writing the loop's iteration number into a 1-element i32 buffer. */
function setIndexLaunch(node: Node, buf: number, loop: number): Launch {
  const kernel: Kernel = {
    name: `loop${loop}_index`,
    workgroup: [1, 1, 1],
    buffers: [{ name: "out", t: "i32", access: "read_write" }],
    uniforms: [{ name: "iter", t: "i32" }],
    shared: [],
    body: [{ k: "store", buf: "out", index: { k: "const", v: 0, t: "i32" }, value: { k: "uniform", name: "iter", t: "i32" } }],
    dispatch: [dim(1), dim(1), dim(1)],
  };
  return { k: "launch", kernel, args: [buf], uniforms: [{ kind: "iter", loop }], node };
}
