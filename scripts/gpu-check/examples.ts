/**
 * What the GPU check runs: every graph of every example program with small dims (the sizes of
 * test/cuda/graphs.ts, which the interpreter checks quickly), a few larger attention shapes that
 * span several tiles, and the variants timed against PyTorch (bench.py).
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileSource } from "../../compiler/compile.ts";
import { dimVars } from "../../compiler/graph/dim.ts";
import { defaultDims } from "../../compiler/graph/interp.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface GpuExample {
  /** `<example>/<graph>` (plus `@size` for the larger shapes). */
  readonly name: string;
  /** The .attn file, relative to the repository root. */
  readonly file: string;
  readonly graph: string;
  readonly defines: Record<string, number | boolean>;
  readonly dims: Record<string, number>;
}

/** Params and dims for examples whose defaults need larger sizes (as test/cuda/graphs.ts). */
export const EXAMPLE_SETTINGS: Record<string, { defines?: Record<string, number | boolean>; dims?: Record<string, number> }> = {
  aclip: { dims: { L: 2, B: 1, M: 2, E: 8, C: 8 } },
  "atp-llava": { defines: { G: 4 }, dims: { L: 24, M: 2, D: 8, Z: 16 } },
  mikv: { defines: { heavy: 4, recent: 4, bits: 2 }, dims: { T: 32, D: 16 } },
  pitome: { defines: { r: 6 }, dims: { N: 33, M: 4, D: 8 } },
  tome: { defines: { heads: 4, r: 8 }, dims: { B: 2, N: 33, C: 48, F: 96 } },
  vmtc: { defines: { kp: 8, kc: 8 }, dims: { N: 64, C: 16, M: 4 } },
};

/** Larger shapes: attention over several query and key tiles, BRA with 7×7 regions of 4×4 tokens. */
const LARGER: readonly GpuExample[] = [
  ...["causal", "sliding_window", "alibi"].map((g) => ({
    name: `dense-attention/${g}@N=300`,
    file: "examples/dense-attention/dense-attention.attn",
    graph: g,
    defines: { window: 100 },
    dims: { B: 1, H: 2, N: 300, D: 64 },
  })),
  { name: "biformer-bra/bra@28x28", file: "examples/biformer-bra/biformer-bra.attn", graph: "bra", defines: {}, dims: { B: 1, H: 28, W: 28, C: 32 } },
];

/** Every example graph at small dims, then the larger shapes (`quick`: a small subset). */
export function gpuExamples(opts: { quick?: boolean } = {}): GpuExample[] {
  const out: GpuExample[] = [];
  const dir = path.join(ROOT, "examples");
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!d.isDirectory()) continue;
    const rel = path.join("examples", d.name, `${d.name}.attn`);
    const set = EXAMPLE_SETTINGS[d.name] ?? {};
    const r = compileSource(rel, readFileSync(path.join(ROOT, rel), "utf8"), { defines: set.defines });
    if (!r.ok) throw new Error(`example ${d.name} does not compile: ${r.diagnostics.map((x) => x.message).join("; ")}`);
    for (const graph of r.graphs) {
      const all = defaultDims(graph, set.dims ?? {}, 4);
      const used = new Set(graph.inputs.flatMap((i) => i.shape.flatMap((s) => [...dimVars(s)])));
      const dims = Object.fromEntries(Object.entries(all).filter(([k]) => used.has(k)));
      out.push({ name: `${d.name}/${graph.name}`, file: rel, graph: graph.name, defines: set.defines ?? {}, dims });
    }
  }
  out.push(...LARGER);
  return opts.quick ? out.filter((e) => QUICK.includes(e.name)) : out;
}

/** The subset of a quick run (the CPU test of the script). */
export const QUICK = ["dense-attention/causal", "tome/tome_merge"];

/** `attnc run` arguments for an example on a backend. */
export function runArgs(e: GpuExample, backend: string, extra: readonly string[] = []): string[] {
  return [
    "run", e.file, "--graph", e.graph, "--backend", backend, "--check", "--json",
    ...Object.entries(e.defines).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
    ...Object.entries(e.dims).flatMap(([k, v]) => ["--dim", `${k}=${v}`]),
    ...extra,
  ];
}

/**
 * The variants timed against PyTorch: the .attn graph, its params, and the benchmark dims (`quick`:
 * small enough for a dry run). bench.py builds the PyTorch side of each `kind`.
 */
export interface BenchVariant {
  readonly name: string;
  readonly kind: "causal" | "sliding_window" | "alibi" | "bra" | "tome";
  readonly file: string;
  readonly graph: string;
  readonly defines: Record<string, number | boolean>;
  readonly dims: Record<string, number>;
}

/** The variants (`quick`: causal and tome_merge only, at small dims: the CPU test's dry run). */
export function benchVariants(opts: { quick?: boolean } = {}): BenchVariant[] {
  const q = !!opts.quick;
  const all = allVariants(q);
  return q ? all.filter((v) => v.name === "causal" || v.name === "tome_merge") : all;
}

function allVariants(q: boolean): BenchVariant[] {
  const att = { B: q ? 1 : 4, H: q ? 2 : 16, N: q ? 128 : 2048, D: 64 };
  const DA = "examples/dense-attention/dense-attention.attn";
  return [
    { name: "causal", kind: "causal", file: DA, graph: "causal", defines: {}, dims: att },
    { name: "sliding_window", kind: "sliding_window", file: DA, graph: "sliding_window", defines: { window: q ? 32 : 256 }, dims: att },
    { name: "alibi", kind: "alibi", file: DA, graph: "alibi", defines: {}, dims: att },
    {
      name: "bra", kind: "bra", file: "examples/biformer-bra/biformer-bra.attn", graph: "bra",
      defines: { topk: 4, S: 7, heads: 4 }, dims: { B: q ? 1 : 16, H: 28, W: 28, C: q ? 32 : 128 },
    },
    {
      name: "tome_merge", kind: "tome", file: "examples/tome/tome.attn", graph: "tome_merge",
      defines: { r: 16 }, dims: { B: q ? 2 : 32, N: 197, C: q ? 64 : 768, D: 64 },
    },
  ];
}
