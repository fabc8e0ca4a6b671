/**
 * `attnc compile` with the pipeline flags: -O (emit the optimized graph), --print-after PASS|all,
 * --stop-after PASS, --explain (which fusions fired, which did not and why, whether attention
 * was recognized), --time-passes and --plan (plan-memory's buffer plan of the lowered graph). Graph output goes to stdout (or -o DIR); with --target the
 * kernels own stdout, so the dumps and reports go to stderr (see target.ts / lowering.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CompileResult } from "../compile.ts";
import type { Graph } from "../graph/node.ts";
import { printGraph } from "../graph/print.ts";
import { LoweringError, lowerGraph } from "../kernel/lower.ts";
import { planMemory, planReport } from "../kernel/plan.ts";
import { defaultDims } from "../graph/interp.ts";
import { PASSES, explainText, runPipeline, timingText, type PipelineOptions, type PipelineResult } from "../pipeline.ts";
import type { Cli, PipelineFlags } from "./args.ts";
import { io } from "./main.ts";

type CompileCli = Extract<Cli, { command: "compile" }>;

/** Whether any pipeline flag was given. */
export const usesPipeline = (f: PipelineFlags): boolean =>
  f.optimize || f.printAfter !== undefined || f.stopAfter !== undefined || f.explain || f.timePasses || f.plan;

/** The first pass name the flags mention that the pipeline does not have. */
export function unknownPass(f: PipelineFlags): string | undefined {
  const names = [...(f.printAfter === "all" ? [] : (f.printAfter ?? [])), ...(f.stopAfter ? [f.stopAfter] : [])];
  return names.find((n) => !PASSES.has(n));
}

export const unknownPassMessage = (name: string): string => `unknown pass '${name}' (passes: ${[...PASSES.keys()].join(", ")})`;

/** Pipeline options for the flags; dumps go to `sink` as they are produced. */
export function pipelineOptions(f: PipelineFlags, graphName: string, sink: (text: string) => void): PipelineOptions {
  return {
    printAfter: f.printAfter,
    stopAfter: f.stopAfter,
    onPrint: (pass, text) => sink(`// ---- after ${pass} (graph ${graphName}) ----\n${text}`),
  };
}

/** The --explain / --time-passes reports of one graph's pipeline run, as `//` comment lines. */
export function reports(f: PipelineFlags, graphName: string, res: PipelineResult): string {
  const comment = (t: string) => t.split("\n").filter(Boolean).map((l) => `// ${l}`).join("\n") + "\n";
  let s = "";
  if (f.explain) s += `// ---- explain (graph ${graphName}) ----\n${comment(explainText(res))}`;
  if (f.timePasses) s += `// ---- pass timings (graph ${graphName}) ----\n${comment(timingText(res))}`;
  return s;
}

/** compile --emit graph with pipeline flags. */
export function emitOptimized(cli: CompileCli, res: CompileResult, out: NodeJS.WritableStream, err: NodeJS.WritableStream, diagnostics: object[]): number {
  const f = cli.pipeline;
  const bad = unknownPass(f);
  if (bad) {
    err.write(`attnc: ${unknownPassMessage(bad)}\n`);
    return 1;
  }
  const emitGraph = f.optimize || f.stopAfter !== undefined || cli.outDir !== undefined;
  const text: string[] = [];
  const files: [string, string][] = [];
  const json: Record<string, unknown>[] = [];
  for (const g of res.graphs) {
    const printed: string[] = [];
    const r = runPipeline(g, pipelineOptions(f, g.name, (t) => printed.push(t)));
    text.push(...printed, reports(f, g.name, r));
    if (f.plan) text.push(planText(r.graph, f.dims));
    if (emitGraph) files.push([`${g.name}.graph.txt`, printGraph(r.graph)]);
    json.push({
      graph: g.name,
      printed: r.printed,
      ...(r.stoppedAfter ? { stoppedAfter: r.stoppedAfter } : {}),
      ...(f.explain ? { remarks: r.remarks } : {}),
      ...(f.timePasses ? { timings: r.runs } : {}),
    });
  }
  if (cli.json) {
    const body: Record<string, unknown> = { diagnostics, pipeline: json };
    if (cli.outDir) body.wrote = writeFiles(cli.outDir, files);
    else if (emitGraph) body.files = Object.fromEntries(files);
    out.write(JSON.stringify(body, null, 2) + "\n");
    return 0;
  }
  out.write(text.join(""));
  if (cli.outDir) out.write(`wrote ${writeFiles(cli.outDir, files).join(", ")}\n`);
  else for (const [, body] of files) out.write(body);
  return 0;
}

/** The buffer plan of the lowered graph as `//` lines (or why it could not be lowered). */
function planText(g: Graph, dims: Record<string, number> | undefined): string {
  let body: string;
  try {
    const { plan } = planMemory(lowerGraph(g));
    // dims not given on the command line take run's defaults (8, rounded to what the graph requires)
    const full = dims && defaultDims(g, dims);
    const defaulted = full ? Object.keys(full).filter((k) => dims![k] === undefined) : [];
    body = planReport(plan, full);
    if (defaulted.length) body += `(not given with --dim, so by default: ${defaulted.map((k) => `${k}=${full![k]}`).join(", ")})\n`;
  } catch (e) {
    if (!(e instanceof LoweringError)) throw e;
    body = `not lowered: '${e.node.op}' (${e.message})\n`;
  }
  return `// ---- buffer plan (graph ${g.name}) ----\n${body.split("\n").filter(Boolean).map((l) => `// ${l}`).join("\n")}\n`;
}

function writeFiles(outDir: string, files: readonly [string, string][]): string[] {
  const dir = resolve(outDir);
  io("write", outDir, () => mkdirSync(dir, { recursive: true }));
  for (const [name, body] of files) io("write", join(outDir, name), () => writeFileSync(join(dir, name), body));
  return files.map(([n]) => join(outDir, n));
}
