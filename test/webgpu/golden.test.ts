/**
 * Golden WGSL: the text printed for a handful of representative kernels, and the manifest of a
 * small program, compared byte for byte with test/golden/wgsl/. Regenerate after an intended
 * change with `UPDATE_GOLDEN=1 npx vitest run test/webgpu/golden.test.ts` and review the diff.
 * Each golden kernel must also compile on the device (when WebGPU is available).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GraphBuilder, S } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { launches } from "../../compiler/kernel/program.ts";
import { buildWgslArtifacts, kernelWgsl, manifestJson } from "../../backends/wgsl/artifacts.ts";
import { gpuIt, openGpu } from "./util.ts";

const gpu = await openGpu();
const DIR = join(dirname(fileURLToPath(import.meta.url)), "../golden/wgsl");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

function graph(name: string, f: (b: GraphBuilder) => ReturnType<GraphBuilder["input"]>[]): Graph {
  const b = new GraphBuilder(name);
  return b.finish(f(b));
}

/** The golden cases: one graph each; every launch's kernel is a golden file. */
const CASES: Record<string, () => Graph> = {
  unary_exp_f32: () => graph("unary_exp_f32", (b) => [b.unary("exp", b.input("x", "f32", ["N"]))]),
  binary_add_f16_broadcast: () => graph("binary_add_f16_broadcast", (b) => [b.binary("add", b.input("x", "f16", ["A", 1]), b.input("y", "f16", ["B"]))]),
  trig_bf16: () => graph("trig_bf16", (b) => [b.unary("sin", b.input("x", "bf16", ["N"]))]),
  reduce_max_i32: () => graph("reduce_max_i32", (b) => [b.reduce("max", b.input("x", "i32", ["A", "B"]), [1])]),
  softmax_f32: () => graph("softmax_f32", (b) => [b.softmax(b.input("x", "f32", ["A", "B"]), -1)]),
  matmul_f32: () => graph("matmul_f32", (b) => [b.matmul(b.input("a", "f32", ["M", "K"]), b.input("b", "f32", ["K", "N"]))]),
  gather_flag: () => graph("gather_flag", (b) => [b.gather(b.input("x", "f32", ["N", "C"]), b.input("idx", "i32", ["M"]), 0)]),
  compute_masked_sum: () =>
    graph("compute_masked_sum", (b) => {
      const x = b.input("x", "f32", ["N"]);
      return [b.compute(["N"], (i) => S.reduce("sum", ["N"], (j) => S.load(x, [j]), (j) => S.le(j, i)))];
    }),
  iterate_loop: () =>
    graph("iterate_loop", (b) => {
      const x = b.input("x", "f32", ["N"]);
      return b.iterate(2, [x], ([s], t) => [b.binary("add", s!, b.cast(t, "f32"))]);
    }),
};

function check(name: string, text: string): void {
  const path = join(DIR, name);
  if (UPDATE || !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    if (!UPDATE) throw new Error(`golden file ${path} was missing and has been written; review it and rerun`);
    return;
  }
  expect(text, `${path} (UPDATE_GOLDEN=1 regenerates)`).toBe(readFileSync(path, "utf8"));
}

describe("golden WGSL", () => {
  for (const [name, make] of Object.entries(CASES))
    it(name, () => {
      const prog = lowerGraph(make());
      const { files } = buildWgslArtifacts(prog);
      expect(files.length).toBeGreaterThan(0);
      for (const [file, text] of files) check(`${name}/${file}`, text);
    });

  it("manifest of a small program (softmax + matmul + loop)", () => {
    const g = graph("small", (b) => {
      const x = b.input("x", "f32", ["N", "C"]);
      const w = b.input("w", "f32", ["C", "C"]);
      const [y] = b.iterate("T", [b.softmax(b.matmul(x, w), -1)], ([s]) => [b.matmul(s!, w)]);
      return [y!];
    });
    check("small/manifest.json", manifestJson(buildWgslArtifacts(lowerGraph(g)).manifest));
  });

  gpuIt(gpu, "every golden kernel compiles on the device", async (dev) => {
    for (const make of Object.values(CASES))
      for (const l of launches(lowerGraph(make()).steps))
        await dev.pipeline(kernelWgsl(l.kernel), l.kernel.buffers.map((b) => b.access === "read"));
  });
});
