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
import { runInterp } from "./run.ts";

export class UserError extends Error {
  constructor(
    readonly diag: Message,
    readonly args: unknown[],
  ) {
    super(formatMessage(diag, args));
  }
}

export async function main(argv: readonly string[], out = process.stdout, err = process.stderr): Promise<number> {
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
    const text = readFileSync(path, "utf8");
    stage = "compile";
    const res = compileSource(path, text, { defines: cli.defines, graph: cli.graph });
    if (res.internalError) return internal(res.internalError.stage, res.internalError.error, err);
    report(cli, res.diagnostics, out, err);
    if (!res.ok) return 1;
    stage = cli.command;
    switch (cli.command) {
      case "check":
        if (!cli.json) out.write(`${path}: ok (${res.graphs.length} graph${res.graphs.length === 1 ? "" : "s"}: ${res.graphs.map((g) => g.name).join(", ") || "none"})\n`);
        return 0;
      case "compile":
        return emit(cli, res, text, out);
      case "run": {
        const graph = pickGraph(res, cli.graph);
        return await runInterp(graph, cli, out, err);
      }
    }
  } catch (e) {
    if (e instanceof UserError) {
      err.write(`error ${codeString(e.diag.code)}: ${e.message}\n`);
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

function emit(cli: Extract<Cli, { command: "compile" }>, res: CompileResult, _text: string, out: NodeJS.WritableStream): number {
  const what = cli.emit ?? "graph";
  const files: [string, string][] = [];
  if (what === "ast") files.push(["module.ast.json", JSON.stringify(res.module, astReplacer, 2) + "\n"]);
  else for (const g of res.graphs) files.push([`${g.name}.graph.txt`, printGraph(g)]);
  if (cli.outDir) {
    const dir = resolve(cli.outDir);
    mkdirSync(dir, { recursive: true });
    for (const [name, body] of files) writeFileSync(join(dir, name), body);
    if (!cli.json) out.write(`wrote ${files.map(([n]) => join(cli.outDir!, n)).join(", ")}\n`);
  } else for (const [, body] of files) out.write(body);
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
