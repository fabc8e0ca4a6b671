/**
 * The `attnc` command line: check, compile and run attn programs.
 * Exit codes: 0 success, 1 user errors (diagnostics), 2 internal compiler error.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { compileSource, type CompileResult } from "../compile.ts";
import { codeString, diagnosticToJson, formatDiagnostic, type Diagnostic } from "../diagnostics/diagnostic.ts";
import { Diagnostics, formatMessage, type Message } from "../diagnostics/messages.ts";
import { printGraph } from "../graph/print.ts";
import type { Graph } from "../graph/node.ts";
import { parseArgs, usage, type Cli } from "./args.ts";
import { runInterp, runKernels } from "./run.ts";
import { emitTarget } from "./target.ts";
import { emitOptimized, usesPipeline } from "./optimize.ts";

export class UserError extends Error {
  constructor(
    readonly diag: Message,
    readonly args: unknown[],
    /** An extra line printed under the message (e.g. the file that was looked for). */
    readonly note?: string,
  ) {
    super(formatMessage(diag, args));
  }
}

/** A file-system error on a path the user gave (a directory that is a file, no permission…). */
export class IoError extends Error {
  constructor(
    readonly what: "read" | "write",
    readonly path: string,
    readonly error: unknown,
  ) {
    super(`cannot ${what} '${path}': ${ioReason(error)}`);
  }
}

/** The reason of a Node fs error without its errno prefix and syscall suffix. */
export function ioReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === "string" && typeof err.message === "string") {
    const m = /^[A-Z]+: ([^,]+)/.exec(err.message);
    return m ? m[1]! : err.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Runs a file-system operation on a user path, turning its failure into an IoError. */
export function io<T>(what: "read" | "write", path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e && typeof (e as NodeJS.ErrnoException).code === "string") throw new IoError(what, path, e);
    throw e;
  }
}

export async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let stage = "command line";
  try {
    const cli = parseArgs(argv);
    if ("help" in cli) {
      out.write(usage());
      return 0;
    }
    if ("error" in cli) {
      err.write(`attnc: ${cli.error}\n\n${usage()}`);
      return 1;
    }
    stage = "read";
    const path = cli.file;
    if (!existsSync(path)) {
      report(cli, [diag(Diagnostics.Cannot_read_0_1, [path, "no such file"])], out, err);
      return 1;
    }
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      report(cli, [diag(Diagnostics.Cannot_read_0_1, [path, ioReason(e)])], out, err);
      return 1;
    }
    stage = "compile";
    const res = compileSource(path, text, { defines: cli.defines, graph: cli.graph });
    if (res.internalError) return internal(res.internalError.stage, res.internalError.error, err);
    // with --json, a successful compile or run prints one object holding the diagnostics (warnings) too
    const merged = cli.json && res.ok && cli.command !== "check";
    if (!merged) report(cli, res.diagnostics, out, err);
    if (!res.ok) return 1;
    const diagJson = res.diagnostics.map(diagnosticToJson);
    stage = cli.command;
    switch (cli.command) {
      case "check":
        if (!cli.json) out.write(`${path}: ok (${res.graphs.length} graph${res.graphs.length === 1 ? "" : "s"}: ${res.graphs.map((g) => g.name).join(", ") || "none"})\n`);
        return 0;
      case "compile":
        if (cli.target !== undefined) return emitTarget(cli, res, out, err, diagJson);
        return usesPipeline(cli.pipeline) ? emitOptimized(cli, res, out, err, diagJson) : emit(cli, res, out, diagJson);
      case "run": {
        const graph = pickGraph(res, cli.graph);
        return cli.backend === "interp" ? await runInterp(graph, cli, out, err, diagJson) : await runKernels(graph, cli, out, err, diagJson);
      }
    }
  } catch (e) {
    if (e instanceof UserError) {
      err.write(`error ${codeString(e.diag.code)}: ${e.message}\n${e.note ? `  ${e.note}\n` : ""}`);
      return 1;
    }
    if (e instanceof IoError) {
      err.write(`attnc: ${e.message}\n`);
      return 1;
    }
    return internal(stage, e, err);
  }
}

function diag(msg: Message, args: unknown[]): Diagnostic {
  return { code: msg.code, category: msg.category, message: formatMessage(msg, args) };
}

function report(cli: Cli & { json?: boolean }, ds: readonly Diagnostic[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): void {
  if (cli.json) {
    out.write(JSON.stringify({ diagnostics: ds.map(diagnosticToJson) }, null, 2) + "\n");
    return;
  }
  for (const d of ds) err.write(formatDiagnostic(d) + "\n");
  const n = ds.filter((d) => d.category === "error").length;
  if (n > 0) err.write(`\n${n} error${n === 1 ? "" : "s"}.\n`);
}

function internal(stage: string, e: unknown, err: NodeJS.WritableStream): number {
  const msg = e instanceof Error ? e.message : String(e);
  err.write(`internal compiler error in ${stage}: ${msg}\n`);
  if (e instanceof Error && e.stack) err.write(e.stack.split("\n").slice(1, 6).join("\n") + "\n");
  err.write("This is a bug in attnc; please report it with the input file.\n");
  return 2;
}

export function pickGraph(res: CompileResult, name: string | undefined): Graph {
  const g = name ? res.graphs.find((x) => x.name === name) : res.graphs[0];
  if (!g) throw new UserError(Diagnostics.Unknown_graph_0, [name ?? "(any)"]);
  return g;
}

function emit(cli: Extract<Cli, { command: "compile" }>, res: CompileResult, out: NodeJS.WritableStream, diagnostics: object[]): number {
  const what = cli.emit ?? "graph";
  const files: [string, string][] = [];
  if (what === "ast") files.push(["module.ast.json", JSON.stringify(res.module, astReplacer, 2) + "\n"]);
  else for (const g of res.graphs) files.push([`${g.name}.graph.txt`, printGraph(g)]);
  if (cli.outDir) {
    const dir = resolve(cli.outDir);
    io("write", cli.outDir, () => mkdirSync(dir, { recursive: true }));
    for (const [name, body] of files) io("write", join(cli.outDir, name), () => writeFileSync(join(dir, name), body));
    const wrote = files.map(([n]) => join(cli.outDir!, n));
    out.write(cli.json ? JSON.stringify({ diagnostics, wrote }, null, 2) + "\n" : `wrote ${wrote.join(", ")}\n`);
  } else if (cli.json) out.write(JSON.stringify({ diagnostics, files: Object.fromEntries(files) }, null, 2) + "\n");
  else for (const [, body] of files) out.write(body);
  return 0;
}

/** AST spans print as [line, column, length] instead of the whole source file. */
function astReplacer(key: string, value: unknown): unknown {
  if (key === "span" && value && typeof value === "object" && "file" in value) {
    const s = value as { file: { position(o: number): { line: number; column: number } }; start: number; length: number };
    const p = s.file.position(s.start);
    return [p.line, p.column, s.length];
  }
  if (key === "opSpan") return undefined;
  return value;
}

const invokedDirectly = process.argv[1] !== undefined && /cli[\\/]main\.ts$|attnc(\.js)?$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`internal compiler error: ${String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
