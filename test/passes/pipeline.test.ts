/**
 * The pipeline as a whole: its instruments (print-after, stop-after, verify, timing, explain),
 * and semantics preservation on random graphs and on every example: the reference interpreter
 * gives bit-identical outputs and error flags before and after the exact passes, and outputs
 * within float tolerance when recognize-attention (the one inexact pass) fires.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { InternalCompilerError } from "../../compiler/graph/errors.ts";
import { interpret, randomInputs, InterpError } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import type { Pass } from "../../compiler/graph/passes/pass.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { GRAPH_PIPELINE, PipelineError, explainText, runPipeline, timingText } from "../../compiler/pipeline.ts";
import { programArb, runProgram } from "../ir/gen.ts";
import { defaultDims, expectSameResults } from "./helpers.ts";

const DIMS = { B: 2, N: 3, C: 4, K: 2, r: 1, p: 1, T: 2, M: 3, Dv: 2, BQ: 2, R: 2 };

const CHAIN = `graph chain(%x: f32[B, N], %b: f32[N]) -> (%y) {
  %one = const 1.0 : f32[]
  %m = mul %x, %one : f32[B, N]
  %e = exp %m : f32[B, N]
  %bb = broadcast %b : f32[B, N]
  %y = add %e, %bb : f32[B, N]
}`;

describe("runPipeline", () => {
  it("lists its passes as data, each with a name and a description", () => {
    expect(GRAPH_PIPELINE.map((p) => p.name)).toEqual([
      "infer-shapes", "fold-constants", "simplify", "cse", "dce", "recognize-attention", "share-argmax", "fuse-elementwise", "simplify", "cse", "dce", "infer-shapes",
    ]);
    for (const p of GRAPH_PIPELINE) expect(p.description.length).toBeGreaterThan(20);
    expect(GRAPH_PIPELINE.filter((p) => !p.exact).map((p) => p.name)).toEqual(["recognize-attention"]);
  });

  it("prints after the named passes (every occurrence) and stops after one", () => {
    const g = parseGraph(CHAIN);
    const all = runPipeline(g, { printAfter: "all" });
    expect(all.printed.map((p) => p.pass)).toEqual(GRAPH_PIPELINE.map((p) => p.name));
    const some = runPipeline(g, { printAfter: ["simplify"], stopAfter: "fuse-elementwise" });
    expect(some.printed.map((p) => p.pass)).toEqual(["simplify", "simplify"].slice(0, 1));
    expect(some.stoppedAfter).toBe("fuse-elementwise");
    expect(some.runs.at(-1)!.pass).toBe("fuse-elementwise");
    expect(printGraph(some.graph)).toBe(printGraph(parseGraph(`graph chain(%x: f32[B, N], %b: f32[N]) -> (%y) {
      %y = compute %x, %b { exp($0[v0, v1]) + $1[v1] } : f32[B, N]
    }`)));
    expect(some.printed[0]!.text).not.toContain("mul");
  });

  it("rejects unknown pass names", () => {
    expect(() => runPipeline(parseGraph(CHAIN), { stopAfter: "fuse" })).toThrow(PipelineError);
    expect(() => runPipeline(parseGraph(CHAIN), { printAfter: ["nope"] })).toThrow(/unknown pass 'nope'/);
  });

  it("verifies after each pass and names the pass that broke the graph", () => {
    const broken: Pass = {
      name: "break-types",
      description: "a deliberately wrong pass: retypes the output",
      exact: true,
      run: (g) => {
        const o = g.outputs[0]!;
        const bad = g.cx.node(o.op, [{ dtype: "f16", shape: o.shape }], o.src, o.arg as never);
        return { ...g, outputs: [bad] };
      },
    };
    expect(() => runPipeline(parseGraph(CHAIN), { passes: [broken] })).toThrow(InternalCompilerError);
    expect(() => runPipeline(parseGraph(CHAIN), { passes: [broken] })).toThrow(/verify after break-types/);
    expect(() => runPipeline(parseGraph(CHAIN), { passes: [broken], verify: false })).not.toThrow();
  });

  it("times each pass and explains what fired and what did not", () => {
    const res = runPipeline(parseGraph(CHAIN));
    expect(timingText(res).split("\n").filter(Boolean)).toHaveLength(GRAPH_PIPELINE.length);
    const text = explainText(res);
    expect(text).toContain("simplify: 1 fired");
    expect(text).toMatch(/fuse-elementwise: 2 fired, 0 declined\n  \+ %\d+ unary exp : f32\[B, N\]: fused into %\d+ binary add/);
    expect(text).toContain("attention recognition: no softmax in the graph");
  });

  it("exact: true skips recognize-attention", () => {
    const res = runPipeline(parseGraph(CHAIN), { exact: true });
    expect(res.runs.map((r) => r.pass)).not.toContain("recognize-attention");
    expect(explainText(res)).toContain("attention recognition: not run");
  });
});

describe("semantics preservation", () => {
  it("random graphs: bit-identical outputs and error flags through the exact pipeline", () => {
    let fused = 0;
    fc.assert(
      fc.property(programArb, fc.nat(5), (prog, seed) => {
        const g = runProgram(prog);
        const res = runPipeline(g, { exact: true });
        if (res.remarks.some((r) => r.pass === "fuse-elementwise" && r.kind === "fired")) fused++;
        expectSameResults(g, res.graph, DIMS, [seed]);
      }),
      { seed: 424242, numRuns: 800 },
    );
    expect(fused).toBeGreaterThan(200); // the property is not vacuous
  });

  it("random graphs: the full pipeline is bit-identical unless attention was recognized", () => {
    fc.assert(
      fc.property(programArb, (prog) => {
        const g = runProgram(prog);
        const res = runPipeline(g);
        if (!res.remarks.some((r) => r.pass === "recognize-attention" && r.kind === "fired")) expectSameResults(g, res.graph, DIMS, [0]);
      }),
      { seed: 77, numRuns: 300 },
    );
  });

  it("every example: verified after each pass; bit-identical results where the interpreter is quick", () => {
    let checked = 0;
    for (const d of readdirSync("examples")) {
      const file = `examples/${d}/${d}.attn`;
      if (!existsSync(file)) continue;
      // fixed wide projections or large fixed k make these slow (or invalid) in the interpreter at small sizes
      const interpretIt = !SLOW.has(d);
      const r = compileSource(file, readFileSync(file, "utf8"));
      expect(r.ok, file).toBe(true);
      for (const g of r.graphs) {
        const res = runPipeline(g);
        const dims = interpretIt ? firstRunnableDims(g) : undefined;
        if (!dims) continue;
        const approx = res.remarks.some((x) => x.pass === "recognize-attention" && x.kind === "fired");
        if (!approx) expectSameResults(g, res.graph, dims, [1]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(14);
  });
});

const SLOW: ReadonlySet<string> = new Set(["aclip", "atp-llava", "mikv", "vmtc"]);

/** Dims (all variables one size) for which the interpreter accepts the example, trying a few sizes. */
function firstRunnableDims(g: Graph): Record<string, number> | undefined {
  for (const n of [8, 24]) {
    const dims = defaultDims(g, {}, n);
    try {
      interpret(g, randomInputs(g, dims, 1), { dims });
      return dims;
    } catch (e) {
      if (!(e instanceof InterpError)) throw e;
    }
  }
  return undefined;
}
