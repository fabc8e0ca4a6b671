/** Helpers for comparing what the DSL builds with what direct GraphBuilder calls build. */
import { expect } from "vitest";
import { compileSource, type CompileOptions, type CompileResult } from "../../compiler/compile.ts";
import { codeString } from "../../compiler/diagnostics/index.ts";
import { GraphBuilder, type Tensor } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { printGraph } from "../../compiler/graph/print.ts";

export { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";

/** Diagnostics as `ATTN1234 message` lines. */
export const diagLines = (r: CompileResult): string[] => r.diagnostics.map((d) => `${codeString(d.code)} ${d.message}`);

/** Compiles `src` and expects success with no error; returns the graph named `name` (or the only one). */
export function dslGraph(src: string, opts: CompileOptions = {}, name?: string): Graph {
  const r = compileSource("test.attn", src, opts);
  if (r.internalError) throw r.internalError.error;
  expect(r.diagnostics.filter((d) => d.category === "error").map((d) => `${codeString(d.code)} ${d.message}`)).toEqual([]);
  expect(r.ok).toBe(true);
  const g = name === undefined ? r.graphs[0] : r.graphs.find((x) => x.name === name);
  if (!g) throw new Error(`no graph ${name ?? ""}`);
  if (name === undefined) expect(r.graphs.length).toBe(1);
  return g;
}

export const dslText = (src: string, opts: CompileOptions = {}, name?: string): string => printGraph(dslGraph(src, opts, name));

/** Builds a graph named `name` with `build` (which declares the inputs) and finishes it with default output names. */
export function builderGraph(name: string, build: (b: GraphBuilder) => Tensor | readonly Tensor[]): Graph {
  const b = new GraphBuilder(name);
  const out = build(b);
  return b.finish(Array.isArray(out) ? (out as Tensor[]) : [out as Tensor]);
}

export const builderText = (name: string, build: (b: GraphBuilder) => Tensor | readonly Tensor[]): string => printGraph(builderGraph(name, build));
