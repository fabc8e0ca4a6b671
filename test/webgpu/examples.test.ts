/**
 * Every program in examples/<name>/<name>.attn, every graph in it: compiled, optimized, lowered
 * and memory-planned exactly as `attnc run --backend webgpu` does (compiler/cli/lowering.ts), run
 * on WebGPU with small dims and params, and compared with the reference interpreter on the same
 * inputs under the tolerance policy (compiler/tolerance.ts), error flag included.
 *
 * Graphs that cannot be lowered yet (an op without a WGSL kernel) are listed in EXPECTED_SKIPS
 * with the reason, and a test asserts that the list is exactly the set of graphs that fail to
 * lower: it fails when a working graph breaks, and when a kernel lands (remove the entry then).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { defaultDims, randomInputs, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";
import { checkGraph, gpuIt, openGpu } from "./util.ts";

const gpu = await openGpu();

interface ExampleConfig {
  /** -D params that keep the shapes small. */
  readonly defines?: Record<string, number | boolean>;
  /** Dim sizes (the rest default to 4, raised to what the graph's divisibility needs). */
  readonly dims?: Record<string, number>;
  /** Inputs that are attention probabilities or sizes in the method: made non-negative. */
  readonly positive?: readonly string[];
}

/** Small shapes per example (the READMEs list the real ones). */
const CONFIG: Readonly<Record<string, ExampleConfig>> = {
  aclip: { defines: { G: 4, cells: 2 }, dims: { L: 2, B: 2, M: 2, C: 4, E: 4 }, positive: ["attn"] },
  "atp-llava": { defines: { G: 2 }, dims: { L: 8, B: 2, M: 2 }, positive: ["attn"] },
  "biformer-bra": { defines: { topk: 2, S: 2, heads: 2 }, dims: { B: 1, H: 4, W: 6, C: 4 } },
  cmai: { dims: { B: 1, H: 2, N: 6, D: 4, T: 2 } },
  "code-subtoken-merge": { defines: { groups: 3 }, dims: { B: 2, N: 7, C: 4, G: 3 } },
  "dense-attention": { defines: { window: 3 }, dims: { B: 1, H: 2, N: 7, D: 4 } },
  mikv: { defines: { heavy: 2, recent: 2 }, dims: { B: 1, H: 2, T: 9, D: 4, P: 3 }, positive: ["acc"] },
  minicache: { dims: { B: 1, H: 2, N: 5, T: 6, D: 4 } },
  mor: { defines: { heads: 2 }, dims: { B: 1, N: 6, C: 4, F: 4 } },
  pitome: { defines: { r: 2, heads: 2 }, dims: { B: 1, N: 8, C: 4, M: 2, D: 4, F: 4 }, positive: ["size"] },
  "text-guided-pruning": { defines: { W: 3 }, dims: { B: 1, H: 2, D: 4, N: 9, C: 4 } },
  todre: { defines: { keep: 3 }, dims: { B: 1, N: 8, D: 4, H: 2, E: 4 }, positive: ["cls_attn"] },
  tome: { defines: { r: 2, heads: 2 }, dims: { B: 1, N: 8, C: 4, D: 4, F: 4 }, positive: ["size"] },
  vmtc: { defines: { kp: 2, kc: 2, iters: 2 }, dims: { B: 1, N: 8, C: 4, M: 2 }, positive: ["cls_attn"] },
};

/**
 * Graphs expected to be skipped, `example/graph` → why. Empty while every op has a kernel; an
 * entry is needed only for a graph whose lowering fails (the test below keeps this exact).
 */
const EXPECTED_SKIPS: Readonly<Record<string, string>> = {};

interface Entry {
  readonly example: string;
  readonly graph: Graph;
  readonly config: ExampleConfig;
}

function loadExamples(): Entry[] {
  const out: Entry[] = [];
  for (const ex of readdirSync("examples", { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const path = join("examples", ex, `${ex}.attn`);
    const config = CONFIG[ex] ?? {};
    const res = compileSource(path, readFileSync(path, "utf8"), { defines: config.defines });
    if (!res.ok) throw new Error(`${path} does not compile: ${res.diagnostics.map((d) => d.message).join("; ")}`);
    for (const graph of res.graphs) out.push({ example: ex, graph, config });
  }
  return out;
}

const ENTRIES = loadExamples();
const key = (e: Entry) => `${e.example}/${e.graph.name}`;

describe("examples on WebGPU match the interpreter", () => {
  it("every example folder has a config and compiles", () => {
    expect(ENTRIES.length).toBeGreaterThan(20);
    for (const e of ENTRIES) expect(CONFIG[e.example], `no CONFIG entry for ${e.example}`).toBeDefined();
  });

  it("the expected-to-skip list is exactly the graphs that cannot be lowered to WGSL yet", () => {
    const failing: Record<string, string> = {};
    for (const e of ENTRIES) {
      const l = lowerForTarget(e.graph, "wgsl");
      if ("diagnostic" in l) failing[key(e)] = l.diagnostic.message;
    }
    expect(Object.keys(failing).sort(), `graphs that fail to lower: ${JSON.stringify(failing, null, 2)}`).toEqual(Object.keys(EXPECTED_SKIPS).sort());
  });

  for (const e of ENTRIES) {
    const skip = EXPECTED_SKIPS[key(e)];
    gpuIt(gpu, key(e), async (dev, ctx) => {
      if (skip) return ctx.skip(`expected to skip: ${skip}`);
      const g = e.graph;
      const dims = defaultDims(g, e.config.dims ?? {}, 4);
      const inputs: Record<string, HostTensor> = randomInputs(g, dims, 1);
      for (const name of e.config.positive ?? []) {
        const t = inputs[name];
        if (t) inputs[name] = { ...t, data: t.data.map(Math.abs) };
      }
      const lowered = lowerForTarget(g, "wgsl");
      if ("diagnostic" in lowered) throw new Error(lowered.diagnostic.message);
      await checkGraph(dev, g, dims, { inputs, program: lowered.program, label: key(e) });
    }, 240_000);
  }
});
