/**
 * `attnc compile FILE --target wgsl|cuda [-o DIR]` (cuda: backends/cuda/artifacts.ts): each graph optimized, lowered and written as WGSL
 * kernels plus manifest.json (backends/wgsl/MANIFEST.md). With one graph the files go in DIR;
 * with several, in DIR/<graph>/. Without -o they are printed, each after a `// ==> path <==` line.
 * Deterministic: the same source and options give byte-identical files.
 *
 * Kernels are compiled for a capability record (compiler/kernel/caps.ts): WebGPU's default limits
 * for wgsl, sm_80 for cuda; `--limits FILE` (JSON: limit names → values, `features`) and
 * `--max-workgroup-storage N` override it. Fallbacks chosen for the record are notes (ATTN4006);
 * a kernel that does not fit is an error at its DSL span (ATTN4005).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { codeString, diagnosticToJson, formatDiagnostic } from "../diagnostics/diagnostic.ts";
import { capsFromJson, type TargetCaps } from "../kernel/caps.ts";
import { Diagnostics, formatMessage } from "../diagnostics/messages.ts";
import type { CompileResult } from "../compile.ts";
import { buildWgslArtifacts, manifestJson } from "../../backends/wgsl/artifacts.ts";
import { buildCudaArtifacts } from "../../backends/cuda/artifacts.ts";
import type { Cli } from "./args.ts";
import { defaultCaps, lowerForTarget } from "./lowering.ts";
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
  const caps = targetCaps(cli, target, err);
  if (!caps) return 1;
  for (const g of res.graphs) {
    // pipeline dumps and reports go to stderr: stdout carries the kernels
    const lowered = lowerForTarget(g, target, pipelineOptions(cli.pipeline, g.name, (t) => err.write(t)), caps);
    if ("pipeline" in lowered && lowered.pipeline) err.write(reports(cli.pipeline, g.name, lowered.pipeline));
    // notes and warnings join the JSON diagnostics (--json) or go to stderr; errors go to stderr
    for (const d of lowered.diagnostics ?? ("diagnostic" in lowered ? [lowered.diagnostic] : [])) {
      if (d.category !== "error" && cli.json) diagnostics.push(diagnosticToJson(d));
      else err.write(formatDiagnostic(d) + "\n");
    }
    if ("diagnostic" in lowered) {
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
      const a = buildWgslArtifacts(lowered.program, { requires: g.requires, caps: lowered.caps });
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

/** The record to compile for: the target's default, then --limits FILE, then --max-workgroup-storage. Undefined (after a diagnostic) when invalid. */
function targetCaps(cli: CompileCli, target: "wgsl" | "cuda", err: NodeJS.WritableStream): TargetCaps | undefined {
  let caps = defaultCaps(target);
  const bad = (what: string, why: string) => {
    err.write(`error ${codeString(Diagnostics.Invalid_limits_0_1.code)}: ${formatMessage(Diagnostics.Invalid_limits_0_1, [what, why])}\n`);
    return undefined;
  };
  if (cli.limits !== undefined) {
    const text = io("read", cli.limits, () => readFileSync(cli.limits!, "utf8"));
    try {
      caps = capsFromJson(text, caps, `${target} with --limits ${cli.limits}`);
    } catch (e) {
      return bad(cli.limits, (e as Error).message);
    }
  }
  if (cli.maxWorkgroupStorage !== undefined) {
    if (!Number.isInteger(cli.maxWorkgroupStorage) || cli.maxWorkgroupStorage < 1) return bad("--max-workgroup-storage", `expected a positive integer, got ${cli.maxWorkgroupStorage}`);
    caps = { ...caps, source: `${caps.source}, maxComputeWorkgroupStorageSize ${cli.maxWorkgroupStorage}`, maxComputeWorkgroupStorageSize: cli.maxWorkgroupStorage };
  }
  return caps;
}
