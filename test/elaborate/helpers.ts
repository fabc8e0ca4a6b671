/** Helpers for the elaborator's semantic tests: compile attn text, read back IR or diagnostics. */
import { expect } from "vitest";
import { compileSource, type CompileOptions, type CompileResult } from "../../compiler/compile.ts";
import { codeString, type Diagnostic } from "../../compiler/diagnostics/index.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { printGraph } from "../../compiler/graph/print.ts";

/** Compiles; an internal compiler error fails the test. */
export function compile(src: string, opts: CompileOptions = {}, path = "test.attn"): CompileResult {
  const r = compileSource(path, src, opts);
  if (r.internalError) throw r.internalError.error;
  return r;
}

const line = (d: Diagnostic): string => `${codeString(d.code)} ${d.message}`;

/** Error diagnostics as `ATTN1234 message`. */
export const errorsOf = (r: CompileResult): string[] => r.diagnostics.filter((d) => d.category === "error").map(line);

/** Compiles and expects no error; returns the (first or named) graph and its printed IR. */
export function ok(src: string, opts: CompileOptions = {}, name?: string): { graph: Graph; text: string; result: CompileResult } {
  const result = compile(src, opts);
  expect(errorsOf(result)).toEqual([]);
  const graph = name === undefined ? result.graphs[0] : result.graphs.find((g) => g.name === name);
  if (!graph) throw new Error(`no graph ${name ?? ""}`);
  return { graph, text: printGraph(graph), result };
}

/** The printed IR of the only/named graph. */
export const ir = (src: string, opts: CompileOptions = {}, name?: string): string => ok(src, opts, name).text;

/** Compiles and expects errors; returns them as `ATTN1234 message`. */
export function errors(src: string, opts: CompileOptions = {}): string[] {
  const r = compile(src, opts);
  const es = errorsOf(r);
  expect(es.length, "expected at least one error").toBeGreaterThan(0);
  expect(r.ok).toBe(false);
  return es;
}

/** Just the codes of the errors. */
export const codes = (src: string, opts: CompileOptions = {}): string[] => errors(src, opts).map((e) => e.split(" ")[0]!);

/** `dtype[dims]` of graph output i. */
export function outType(g: Graph, i = 0): string {
  const o = g.outputs[i]!;
  return `${o.dtype}[${o.shape.map((d) => d.toString()).join(", ")}]`;
}

/** `dtype[dims]` of the graph input `name`. */
export function inType(g: Graph, name: string): string {
  const o = g.inputs.find((x) => x.arg.name === name)!;
  return `${o.dtype}[${o.shape.map((d) => d.toString()).join(", ")}]`;
}
