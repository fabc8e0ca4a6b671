/**
 * The CLI's road from a checked graph to a Program for a kernel target: the optimization
 * pipeline, lowering and memory planning (compiler/pipeline.ts compileToProgram, step by step so
 * that a lowering error can be reported at the DSL span of the node it concerns: passes carry
 * provenance to the nodes they build, in the optimized graph's context).
 */
import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import { Diagnostics, formatMessage } from "../diagnostics/messages.ts";
import type { Span } from "../diagnostics/source.ts";
import type { Graph } from "../graph/node.ts";
import type { Node } from "../graph/ops.ts";
import { LoweringError, lowerGraph } from "../kernel/lower.ts";
import { planMemory } from "../kernel/plan.ts";
import type { Program } from "../kernel/program.ts";
import { runPipeline, type PipelineOptions, type PipelineResult } from "../pipeline.ts";

export type Lowered = { readonly program: Program; readonly graph: Graph; readonly pipeline?: PipelineResult } | { readonly diagnostic: Diagnostic };

export function lowerForTarget(graph: Graph, target: "wgsl" | "cuda", opts: PipelineOptions = {}): Lowered {
  const pipeline = runPipeline(graph, opts);
  const optimized = pipeline.graph;
  try {
    const { program } = planMemory(lowerGraph(optimized));
    return { program, graph: optimized, pipeline };
  } catch (e) {
    if (!(e instanceof LoweringError)) throw e;
    const span = spanOf(e.node, optimized) ?? spanOf(e.node, graph);
    const msg = Diagnostics.Target_0_does_not_support_1;
    const what = `'${e.node.op}' (${e.message})`;
    return { diagnostic: { code: msg.code, category: msg.category, message: formatMessage(msg, [target, what]), span } };
  }
}

function spanOf(n: Node, g: Graph): Span | undefined {
  return g.cx.origin.get(n)?.[0] as Span | undefined;
}
