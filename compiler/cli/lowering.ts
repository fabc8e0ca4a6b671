/**
 * The CLI's road from a checked graph to a Program for a kernel target: the optimization
 * pipeline, lowering and memory planning (compiler/pipeline.ts compileToProgram, step by step so
 * that a lowering error can be reported at the DSL span of the node it concerns: passes carry
 * provenance to the nodes they build, in the optimized graph's context).
 *
 * Lowering gets the target's capability record (compiler/kernel/caps.ts: WebGPU's default limits
 * for `compile --target wgsl`, the adapter's for `run --backend webgpu`, `--limits FILE` to
 * override): kernel generators choose fallbacks from it (reported as ATTN4006 notes), and every
 * kernel is then checked against it; a kernel that does not fit is ATTN4005 at the DSL span of
 * the node it computes. On WGSL, bf16 runs on the f32 path (ATTN4007, a warning).
 */
import type { Diagnostic } from "../diagnostics/diagnostic.ts";
import { Diagnostics, formatMessage, type Message } from "../diagnostics/messages.ts";
import type { Span } from "../diagnostics/source.ts";
import type { Graph } from "../graph/node.ts";
import type { Node } from "../graph/ops.ts";
import { CUDA_SM80_CAPS, WEBGPU_DEFAULT_CAPS, checkProgram, nativeF16, type TargetCaps } from "../kernel/caps.ts";
import { LoweringError, lowerGraph } from "../kernel/lower.ts";
import { planMemory } from "../kernel/plan.ts";
import type { Program } from "../kernel/program.ts";
import { runPipeline, type PipelineOptions, type PipelineResult } from "../pipeline.ts";

export type Lowered =
  | {
      readonly program: Program;
      readonly graph: Graph;
      readonly pipeline?: PipelineResult;
      /** The record the program was lowered for and checked against. */
      readonly caps: TargetCaps;
      /** Notes and warnings (fallbacks chosen, bf16 on WGSL). */
      readonly diagnostics: readonly Diagnostic[];
    }
  | {
      /** The first error. */
      readonly diagnostic: Diagnostic;
      /** Every diagnostic, errors and notes, in order. */
      readonly diagnostics?: readonly Diagnostic[];
    };

/** The record a target is compiled for when none is given. */
export function defaultCaps(target: "wgsl" | "cuda"): TargetCaps {
  return target === "wgsl" ? WEBGPU_DEFAULT_CAPS : CUDA_SM80_CAPS;
}

export function lowerForTarget(graph: Graph, target: "wgsl" | "cuda", opts: PipelineOptions = {}, caps: TargetCaps = defaultCaps(target)): Lowered {
  // fusion stays within the record's bindings (never above the default 8, so every target
  // lowers a graph to the same kernels unless its record is smaller)
  const maxKernelBuffers = Math.min(8, caps.maxStorageBuffersPerShaderStage);
  const pipeline = runPipeline(graph, { maxKernelBuffers, ...opts });
  const optimized = pipeline.graph;
  const span = (n: Node) => spanOf(n, optimized) ?? spanOf(n, graph);
  const diag = (msg: Message, n: Node | undefined, args: readonly unknown[]): Diagnostic => ({
    code: msg.code,
    category: msg.category,
    message: formatMessage(msg, args),
    span: n ? span(n) : undefined,
  });
  const notes: Diagnostic[] = [];
  let program: Program;
  try {
    // CUDA kernels keep WebGPU's default plans (they fit sm_80/sm_90); the record checks them
    const lowered = lowerGraph(optimized, target === "wgsl" ? { caps, note: (n, text) => notes.push(diag(Diagnostics.Fallback_chosen_0, n, [text])), variants: false } : {});
    program = planMemory(lowered).program;
  } catch (e) {
    if (!(e instanceof LoweringError)) throw e;
    const what = `'${e.node.op}' (${e.message})`;
    return { diagnostic: diag(Diagnostics.Target_0_does_not_support_1, e.node, [target, what]) };
  }
  const errors = checkProgram(program, caps).map((v) =>
    diag(Diagnostics.Kernel_0_exceeds_1_2_3, v.node, [v.kernel, v.limit, v.need, caps.source, v.have, v.suggestion]),
  );
  if (target === "wgsl") {
    const bf = program.buffers.find((b) => b.dtype === "bf16" && b.node);
    if (bf) notes.push(diag(Diagnostics.Wgsl_has_no_bf16_0, bf.node, [graph.name]));
    const h = nativeF16(caps) ? program.buffers.find((b) => b.dtype === "f16" && b.node) : undefined;
    if (h) notes.push(diag(Diagnostics.Fallback_chosen_0, h.node, [`the target has shader-f16: f16 tensors of '${graph.name}' are stored and held as WGSL f16 (enable f16), and the program requires the feature`]));
  }
  if (errors.length) return { diagnostic: errors[0]!, diagnostics: [...notes, ...errors] };
  return { program, graph: optimized, pipeline, caps, diagnostics: notes };
}

function spanOf(n: Node, g: Graph): Span | undefined {
  return g.cx.origin.get(n)?.[0] as Span | undefined;
}
