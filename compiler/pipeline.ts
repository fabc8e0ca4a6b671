/**
 * The graph optimization pipeline, as data (style.md §12.3): GRAPH_PIPELINE lists the passes in
 * order; runPipeline runs them with instruments (verify after each pass, timing, --print-after,
 * --stop-after, remarks for --explain); compileToProgram is the whole road from a checked graph
 * to a memory-planned Program that the runtimes execute.
 */
import type { Graph } from "./graph/node.ts";
import { printGraph } from "./graph/print.ts";
import { cse } from "./graph/passes/cse.ts";
import { dce } from "./graph/passes/dce.ts";
import { foldConstants } from "./graph/passes/fold-constants.ts";
import { fuseElementwise } from "./graph/passes/fuse-elementwise.ts";
import { inferShapes, verifyGraph } from "./graph/passes/infer-shapes.ts";
import { passContext, type Pass, type PassOptions, type Remark } from "./graph/passes/pass.ts";
import { recognizeAttention } from "./graph/passes/recognize-attention.ts";
import { graphSize } from "./graph/passes/rebuild.ts";
import { simplify } from "./graph/passes/simplify.ts";
import { shareArgmax } from "./graph/passes/share-argmax.ts";
import { lowerGraph } from "./kernel/lower.ts";
import { planMemory, type BufferPlan } from "./kernel/plan.ts";
import type { Program } from "./kernel/program.ts";

export type { Pass, PassOptions, Remark } from "./graph/passes/pass.ts";

/** The passes, in order. A pass may appear more than once (clean-up after fusion). */
export const GRAPH_PIPELINE: readonly Pass[] = [
  inferShapes, // check what the front end built
  foldConstants,
  simplify,
  cse,
  dce,
  recognizeAttention, // matches unfused op patterns, so before fusion
  shareArgmax, // a max read at its argmax, so fusion can drop the row it reduces
  fuseElementwise,
  simplify,
  cse,
  dce,
  inferShapes, // check what the passes built
];

/** Every pass by name (for --print-after / --stop-after and attnc tools). */
export const PASSES: ReadonlyMap<string, Pass> = new Map(GRAPH_PIPELINE.map((p) => [p.name, p]));

export interface PipelineOptions extends PassOptions {
  /** Print the graph after these passes (each occurrence), or after every pass with "all". */
  readonly printAfter?: readonly string[] | "all";
  /** Stop after the first occurrence of this pass. */
  readonly stopAfter?: string;
  /** Run the verifier (infer-shapes' checks) after every pass (default true). */
  readonly verify?: boolean;
  /** Skip passes that change float rounding (recognize-attention). */
  readonly exact?: boolean;
  /** The passes to run (default GRAPH_PIPELINE). */
  readonly passes?: readonly Pass[];
  /** Where --print-after text goes as it is produced (default: only collected in the result). */
  readonly onPrint?: (pass: string, text: string) => void;
}

export interface PassRun {
  readonly pass: string;
  readonly ms: number;
  /** Reachable nodes after the pass. */
  readonly nodes: number;
  readonly changed: boolean;
}

export interface PipelineResult {
  readonly graph: Graph;
  readonly runs: readonly PassRun[];
  readonly remarks: readonly Remark[];
  readonly printed: readonly { readonly pass: string; readonly text: string }[];
  /** Set when stopAfter cut the pipeline short. */
  readonly stoppedAfter?: string;
}

export class PipelineError extends Error {}

/** Runs the pipeline on a graph; throws PipelineError for an unknown pass name in the options. */
export function runPipeline(graph: Graph, opts: PipelineOptions = {}): PipelineResult {
  const passes = (opts.passes ?? GRAPH_PIPELINE).filter((p) => !opts.exact || p.exact);
  const names = new Set((opts.passes ?? GRAPH_PIPELINE).map((p) => p.name));
  const known = (n: string) => {
    if (!names.has(n)) throw new PipelineError(`unknown pass '${n}' (passes: ${[...names].join(", ")})`);
  };
  if (opts.printAfter && opts.printAfter !== "all") opts.printAfter.forEach(known);
  if (opts.stopAfter) known(opts.stopAfter);
  const remarks: Remark[] = [];
  const runs: PassRun[] = [];
  const printed: { pass: string; text: string }[] = [];
  // a graph's text is printed only when asked for: by --print-after, or by reading a run's `changed`
  // (and its size counted only when a run's `nodes` is read)
  const textOf = (x: Graph): (() => string) => {
    let t: string | undefined;
    return () => (t ??= printGraph(x));
  };
  let g = graph;
  let text = textOf(g);
  for (const p of passes) {
    const t0 = performance.now();
    const next = p.run(g, passContext(p.name, remarks, opts));
    const ms = performance.now() - t0;
    if (opts.verify ?? true) verifyGraph(next, `verify after ${p.name}`);
    const [before, after] = [text, next === g ? text : textOf(next)];
    runs.push({
      pass: p.name,
      ms,
      get nodes() {
        return graphSize(next);
      },
      get changed() {
        return before !== after && after() !== before();
      },
    });
    g = next;
    text = after;
    if (opts.printAfter === "all" || opts.printAfter?.includes(p.name)) {
      printed.push({ pass: p.name, text: text() });
      opts.onPrint?.(p.name, text());
    }
    if (opts.stopAfter === p.name) return { graph: g, runs, remarks, printed, stoppedAfter: p.name };
  }
  return { graph: g, runs, remarks, printed };
}

/** The remarks as `attnc compile --explain` prints them: per pass, what fired and what did not and why. */
export function explainText(res: PipelineResult): string {
  const lines: string[] = [];
  const passes = [...new Set(res.runs.map((r) => r.pass))];
  for (const pass of passes) {
    const rs = res.remarks.filter((r) => r.pass === pass);
    const fired = rs.filter((r) => r.kind === "fired");
    const missed = rs.filter((r) => r.kind === "missed");
    lines.push(`${pass}: ${fired.length} fired, ${missed.length} declined`);
    const group = (xs: readonly Remark[], tag: string) => {
      const seen = new Map<string, number>();
      for (const r of xs) {
        const key = `${r.at}: ${r.message}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      for (const [k, c] of seen) lines.push(`  ${tag} ${k}${c > 1 ? ` (×${c})` : ""}`);
    };
    group(fired, "+");
    group(missed, "-");
  }
  const att = res.remarks.filter((r) => r.pass === "recognize-attention");
  const yes = att.filter((r) => r.kind === "fired").length;
  const no = att.filter((r) => r.kind === "missed").length;
  lines.push(
    !res.runs.some((r) => r.pass === "recognize-attention")
      ? "attention recognition: not run"
      : yes + no === 0
        ? "attention recognition: no softmax in the graph"
        : `attention recognition: ${yes} recognized, ${no} not recognized`,
  );
  return lines.join("\n") + "\n";
}

/** Pass timings, one line each. */
export function timingText(res: PipelineResult): string {
  return res.runs.map((r) => `${r.pass.padEnd(20)} ${r.ms.toFixed(2).padStart(8)} ms  ${String(r.nodes).padStart(5)} nodes${r.changed ? "" : "  (no change)"}`).join("\n") + "\n";
}

export interface CompiledProgram {
  /** The optimized graph. */
  readonly graph: Graph;
  /** The lowered program with buffers reused by plan-memory. */
  readonly program: Program;
  readonly plan: BufferPlan;
  readonly pipeline: PipelineResult;
}

/** Optimizes, lowers and memory-plans a checked graph: what the webgpu runner and `compile --target` use. */
export function compileToProgram(graph: Graph, opts: PipelineOptions = {}): CompiledProgram {
  const pipeline = runPipeline(graph, opts);
  const { program, plan } = planMemory(lowerGraph(pipeline.graph));
  return { graph: pipeline.graph, program, plan, pipeline };
}
