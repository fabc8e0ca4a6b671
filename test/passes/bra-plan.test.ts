/**
 * BiFormer's routed attention reads key/value blocks through the route (block-sparse attention):
 * the lowered program has no gathered K/V buffer. The reference's gather would hold topk·T keys per
 * query region, topk = 4 times the size of k itself; no buffer comes near that.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { evalDim } from "../../compiler/graph/dim.ts";
import { compileToProgram } from "../../compiler/pipeline.ts";

const FILE = "examples/biformer-bra/biformer-bra.attn";

describe("BRA buffer plan", () => {
  it("holds no gathered key/value buffer (routed keys are read by index)", () => {
    const res = compileSource(FILE, readFileSync(FILE, "utf8"), { graph: "bra", defines: { topk: 4, S: 7 } });
    expect(res.diagnostics).toEqual([]);
    const { program } = compileToProgram(res.graphs[0]!);
    const dims = { B: 1, H: 14, W: 14, C: 32 };
    const k = dims.B * dims.H * dims.W * dims.C; // elements of k (or v) over the whole image
    const sizes = program.buffers.map((b) => evalDim(b.numel, dims)!);
    expect(sizes.every((n) => Number.isInteger(n))).toBe(true);
    // the materialized gather would be topk * k elements for K and again for V
    expect(Math.max(...sizes)).toBeLessThan(4 * k);
    // and the attention launch reads the route tensor, not a gathered copy
    const attn = program.buffers.filter((b) => b.node?.op === "attention");
    expect(attn.length).toBeGreaterThan(0);
  });
});
