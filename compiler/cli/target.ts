/**
 * `attnc compile FILE --target wgsl|cuda [-o DIR]` (cuda: backends/cuda/artifacts.ts): each graph optimized, lowered and written as WGSL
 * kernels plus manifest.json (backends/wgsl/MANIFEST.md). With one graph the files go in DIR;
 * with several, in DIR/<graph>/. Without -o they are printed, each after a `// ==> path <==` line.
 * Deterministic: the same source and options give byte-identical files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatDiagnostic } from "../diagnostics/diagnostic.ts";
import { Diagnostics } from "../diagnostics/messages.ts";
import type { CompileResult } from "../compile.ts";
import { buildWgslArtifacts, manifestJson } from "../../backends/wgsl/artifacts.ts";
import { buildCudaArtifacts } from "../../backends/cuda/artifacts.ts";
import type { Cli } from "./args.ts";
import { lowerForTarget } from "./lowering.ts";
import { pipelineOptions, reports, unknownPass, unknownPassMessage } from "./optimize.ts";
import { UserError, io } from "./main.ts";

type CompileCli = Extract<Cli, { command: "compile" }>;

export const TARGETS = ["wgsl", "cuda"] as const;

export function emitTarget(cli: CompileCli, res: CompileResult, out: NodeJS.WritableStream, err: NodeJS.WritableStream, diagnostics: object[]): number {
  const target = cli.target!;
  if (target !== "wgsl" && target !== "cuda") throw new UserError(Diagnostics.Unknown_target_0, [target]);
  const files: [string, string | Uint8Array][] = [];
  const many = res.graphs.length > 1;
  let failed = false;
  const bad = unknownPass(cli.pipeline);
  if (bad) {
    err.write(`attnc: ${unknownPassMessage(bad)}\n`);
    return 1;
  }
  for (const g of res.graphs) {
    // pipeline dumps and reports go to stderr: stdout carries the kernels
    const lowered = lowerForTarget(g, target, pipelineOptions(cli.pipeline, g.name, (t) => err.write(t)));
    if ("pipeline" in lowered && lowered.pipeline) err.write(reports(cli.pipeline, g.name, lowered.pipeline));
    if ("diagnostic" in lowered) {
      err.write(formatDiagnostic(lowered.diagnostic) + "\n");
      failed = true;
      continue;
    }
    const dir = many ? `${g.name}/` : "";
    if (target === "cuda") {
      // PTX and cubin only when writing files (printing binary to a terminal helps nobody)
      const a = buildCudaArtifacts(lowered.program, { requires: g.requires, nvcc: !!cli.outDir });
      if (a.note && cli.outDir) err.write(`note: ${a.note}\n`);
      for (const [name, body] of a.files) files.push([`${dir}${name}`, body]);
    } else {
      const a = buildWgslArtifacts(lowered.program, { requires: g.requires });
      files.push([`${dir}manifest.json`, manifestJson(a.manifest)]);
      for (const [name, text] of a.files) files.push([`${dir}${name}`, text]);
    }
  }
  if (failed) return 1;
  if (cli.outDir) {
    const root = resolve(cli.outDir);
    for (const [name, body] of files) {
      const path = join(root, name);
      io("write", join(cli.outDir, name), () => {
        mkdirSync(join(path, ".."), { recursive: true });
        writeFileSync(path, body);
      });
    }
    const wrote = files.map(([n]) => join(cli.outDir!, n));
    out.write(cli.json ? JSON.stringify({ diagnostics, wrote }, null, 2) + "\n" : `wrote ${wrote.length} files to ${cli.outDir} (${res.graphs.map((g) => g.name).join(", ")})\n`);
  } else if (cli.json) out.write(JSON.stringify({ diagnostics, files: Object.fromEntries(files) }, null, 2) + "\n");
  else for (const [name, body] of files) out.write(`// ==> ${name} <==\n${body}`);
  return 0;
}
