/**
 * Method-level fusion (methods.md §2.7, §3.4): ToMe's similarity reduced to its row max and
 * argmax, and PiToMe's energy (similarity GEMM → ELU → row mean), run without the similarity
 * matrix in memory. Checked on the lowered, memory-planned programs (no [B, ~N/2, ~N/2] or
 * [B, N, N] buffer), on the optimized graphs, and in the --explain text; the unfused pipeline
 * does hold the matrix, so the check is not vacuous. share-argmax is checked for exactness on
 * ties, NaN, signed zeros and fully masked rows.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { evalDim, numel, type Dim } from "../../compiler/graph/dim.ts";
import { interpret, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { toposort } from "../../compiler/graph/node.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { shareArgmax } from "../../compiler/graph/passes/share-argmax.ts";
import { compileToProgram, explainText, GRAPH_PIPELINE } from "../../compiler/pipeline.ts";
import { applyPass, expectRewrite, messages } from "./helpers.ts";

/** Every dim but N small: a size that grows like N² shows up as >= N²/4 at N = 1000. */
const DIMS = { B: 1, N: 1000, C: 12, D: 8, F: 16, M: 2 };
const quadratic = (d: Dim) => (evalDim(d, DIMS) ?? 0) >= (DIMS.N * DIMS.N) / 4;

function graphOf(file: string, graph: string, defines: Record<string, number | boolean> = {}): Graph {
  const res = compileSource(file, readFileSync(file, "utf8"), { graph, defines });
  expect(res.diagnostics).toEqual([]);
  return res.graphs[0]!;
}

const CASES: { file: string; graph: string; defines?: Record<string, number | boolean>; fired: RegExp[] }[] = [
  {
    file: "examples/tome/tome.attn",
    graph: "tome_merge",
    fired: [
      /^share-argmax: 1 fired/m,
      /\+ %\d+ compute : f32\[B, \(\(N \+ 1\) \/ 2\)\]: max read at %\d+ compute : i32\[B, \(\(N \+ 1\) \/ 2\)\]'s index/,
      /\+ %\d+ compute : f32\[B, \(\(N \+ 1\) \/ 2\), \(N \/ 2\)\]: fused into %\d+ compute : i32\[B, \(\(N \+ 1\) \/ 2\)\] \(shared by 2 consumers: this one reads all of it; not stored\)/,
      /\+ %\d+ compute : f32\[B, \(\(N \+ 1\) \/ 2\), \(N \/ 2\)\]: fused into %\d+ compute : f32\[B, \(\(N \+ 1\) \/ 2\)\] \(shared by 2 consumers: this one reads one element per row; not stored\)/,
    ],
  },
  { file: "examples/tome/tome.attn", graph: "tome_block", defines: { heads: 2 }, fired: [/^share-argmax: 1 fired/m, /reads all of it; not stored/] },
  {
    file: "examples/pitome/pitome.attn",
    graph: "pitome",
    fired: [/\+ %\d+ compute : f32\[B, N - 1, N - 1\]: fused into %\d+ compute : f32\[B, N - 1\]$/m],
  },
  {
    file: "examples/pitome/pitome.attn",
    graph: "pitome",
    defines: { bsm: true },
    fired: [/\+ %\d+ compute : f32\[B, N - 1, N - 1\]: fused into %\d+ compute : f32\[B, N - 1\]$/m, /^share-argmax: 1 fired/m, /reads one element per row; not stored/],
  },
  { file: "examples/pitome/pitome.attn", graph: "pitome_block", defines: { heads: 2 }, fired: [/\+ %\d+ compute : f32\[B, N - 1, N - 1\]: fused into %\d+ compute : f32\[B, N - 1\]$/m] },
  { file: "examples/pitome/pitome.attn", graph: "pitome_block", defines: { heads: 2, bsm: true }, fired: [/^share-argmax: 1 fired/m] },
];

describe("method fusion: no similarity matrix in the buffer plan", () => {
  for (const c of CASES) {
    const name = `${c.graph}${c.defines?.bsm ? " (bsm)" : ""}`;
    it(`${name}: no [B, ~N/2, ~N/2] or [B, N, N] buffer, and --explain lists the fusion`, () => {
      const g = graphOf(c.file, c.graph, c.defines);
      const { program, graph, pipeline } = compileToProgram(g);
      const big = program.buffers.filter((b) => quadratic(b.numel));
      expect(big.map((b) => `${b.node?.op} ${b.numel.toString()}`)).toEqual([]);
      // nor any node of the optimized graph (a tuple output included)
      const nodes = toposort([...graph.inputs, ...graph.outputs]).filter((n) => n.types.some((t) => quadratic(numel(t.shape))));
      expect(nodes.map((n) => n.op)).toEqual([]);
      const text = explainText(pipeline);
      for (const re of c.fired) expect(text).toMatch(re);
    });
  }

  it("without fusion the matrix is there (the check above is not vacuous)", () => {
    const passes = GRAPH_PIPELINE.filter((p) => p.name !== "fuse-elementwise" && p.name !== "share-argmax");
    for (const c of CASES) {
      const { program } = compileToProgram(graphOf(c.file, c.graph, c.defines), { passes });
      expect(program.buffers.some((b) => quadratic(b.numel)), `${c.graph}`).toBe(true);
    }
  });

  it("ToMe: the similarity GEMM runs once, inside the argmax kernel; the max reads one element per row", () => {
    const { graph } = compileToProgram(graphOf("examples/tome/tome.attn", "tome_merge"));
    const computes = toposort([...graph.inputs, ...graph.outputs]).filter((n) => n.op === "compute");
    const text = (n: (typeof computes)[number]) => JSON.stringify(n.arg);
    const argmax = computes.filter((n) => text(n).includes('"fn":"argmax"'));
    expect(argmax).toHaveLength(1);
    expect(text(argmax[0]!)).toContain('"fn":"sum"'); // the dot products, inside the argmax
    const best = computes.filter((n) => n.src.includes(argmax[0]!) && n.dtype === "f32");
    expect(best).toHaveLength(1);
    expect(text(best[0]!)).not.toContain('"fn":"max"'); // no second pass over the row
  });
});

describe("share-argmax", () => {
  it("reads the max at the argmax's index, bit for bit (random inputs)", () => {
    const rs = expectRewrite(
      shareArgmax,
      `graph g(%x: f32[B, N, K]) -> (%m, %a) {
        %m = compute %x { max[v2 < K] { $0[v0, v1, v2] * 2.0 } } : f32[B, N]
        %a = compute %x { argmax[v2 < K] { $0[v0, v1, v2] * 2.0 } } : i32[B, N]
      }`,
      `graph g(%x: f32[B, N, K]) -> (%m, %a) {
        %a = compute %x { argmax[v2 < K] { $0[v0, v1, v2] * 2.0 } } : i32[B, N]
        %m = compute %a, %x { select(and($0[v0, v1] >= 0, $0[v0, v1] < dim(K)), $1[v0, v1, $0[v0, v1]] * 2.0, -inf) } : f32[B, N]
      }`,
    );
    expect(messages(rs, "fired")[0]).toMatch(/max read at %\d+ compute : i32\[B, N\]'s index/);
  });

  it("min with argmin, a condition, and an int body (empty row: 0)", () => {
    expectRewrite(
      shareArgmax,
      `graph g(%x: i32[N, K]) -> (%m, %a) {
        %m = compute %x { min[v1 < K | v1 > v0] { $0[v0, v1] } } : i32[N]
        %a = compute %x { argmin[v1 < K | v1 > v0] { $0[v0, v1] } } : i32[N]
      }`,
      `graph g(%x: i32[N, K]) -> (%m, %a) {
        %a = compute %x { argmin[v1 < K | v1 > v0] { $0[v0, v1] } } : i32[N]
        %m = compute %a, %x { select(and($0[v0] >= 0, $0[v0] < dim(K)), $1[v0, $0[v0]], 0) } : i32[N]
      }`,
      { dims: { N: 6, K: 4 } },
    );
  });

  it("leaves a max alone when its argmax reduces something else", () => {
    const r = applyPass(
      shareArgmax,
      `graph g(%x: f32[N, K]) -> (%m, %a) {
        %m = compute %x { max[v1 < K] { $0[v0, v1] } } : f32[N]
        %a = compute %x { argmax[v1 < K] { $0[v0, v1] + 1.0 } } : i32[N]
      }`,
    );
    expect(r.remarks).toEqual([]);
  });

  it("exact on ties, NaN, -0 / +0 and fully -inf rows", () => {
    const text = `graph g(%x: f32[R, K]) -> (%m, %a) {
      %m = compute %x { max[v1 < K] { $0[v0, v1] } } : f32[R]
      %a = compute %x { argmax[v1 < K] { $0[v0, v1] } } : i32[R]
    }`;
    const before = parseGraph(text);
    const { after } = applyPass(shareArgmax, text);
    const rows = [
      [1, 3, 3, 2],
      [-0, 0, -1, -0],
      [0, -0, -1, 0],
      [-Infinity, -Infinity, -Infinity, -Infinity],
      [1, NaN, 5, NaN],
      [NaN, 2, 3, 4],
      [-Infinity, -2, -Infinity, -2],
      [Infinity, 1, Infinity, 0],
    ];
    const x: HostTensor = { dtype: "f32", shape: [rows.length, 4], data: Float64Array.from(rows.flat()) };
    const a = interpret(before, { x });
    const b = interpret(after, { x });
    expect(b.errorFlag).toBe(a.errorFlag);
    for (let o = 0; o < 2; o++) {
      const ya = [...a.outputs[o]!.data];
      const yb = [...b.outputs[o]!.data];
      ya.forEach((v, i) => expect(Object.is(v, yb[i]), `output ${o} row ${i}: ${v} vs ${yb[i]}`).toBe(true));
    }
    expect([...b.outputs[0]!.data].map((v) => (Object.is(v, -0) ? "-0" : String(v)))).toEqual(["3", "-0", "0", "-Infinity", "NaN", "NaN", "-2", "Infinity"]);
  });
});
