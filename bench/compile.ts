/**
 * Compile-latency benchmark (issue 3, part a) and fused vs unfused launch counts: for every graph
 * of every example, attn source → checked graph → optimized graph → kernel program → WGSL text,
 * in one process. "cold" is the first compile of that graph in the process (after the first
 * example warmed the JIT); "warm" is p50/p90 of the following runs. `npm run bench` (bench/main.ts)
 * puts these rows into its one table; `tsx bench/compile.ts` prints them alone.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { compileSource } from "../compiler/compile.ts";
import { lowerGraph } from "../compiler/kernel/lower.ts";
import { lowerForTarget } from "../compiler/cli/lowering.ts";
import { launches } from "../compiler/kernel/program.ts";
import { compileToProgram, GRAPH_PIPELINE } from "../compiler/pipeline.ts";
import { printWgsl } from "../backends/wgsl/dialect.ts";

export interface CompileRow {
  readonly example: string;
  readonly graph: string;
  readonly coldMs: number;
  readonly warmP50: number;
  readonly warmP90: number;
  readonly unfusedLaunches: number;
  readonly fusedLaunches: number;
  readonly wgslBytes: number;
}

const root = new URL("../", import.meta.url).pathname;
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

function compileOnce(path: string, text: string, graph: string): { wgslBytes: number; launches: number } {
  const res = compileSource(path, text, { graph });
  if (!res.ok) throw new Error(`${path}#${graph}: ${res.diagnostics.map((d) => d.message).join("; ")}`);
  // what `attnc compile --target wgsl` does: pipeline, lowering for WebGPU's default record, limit checks
  const l = lowerForTarget(res.graphs[0]!, "wgsl");
  if ("diagnostic" in l) throw new Error(`${path}#${graph}: ${l.diagnostic.message}`);
  const { program } = l;
  let bytes = 0;
  let n = 0;
  const seen = new Set<unknown>();
  for (const l of launches(program.steps)) {
    n++;
    if (seen.has(l.kernel)) continue;
    seen.add(l.kernel);
    bytes += printWgsl(l.kernel).length;
  }
  return { wgslBytes: bytes, launches: n };
}

/** Compile latency of every example graph, `runs` warm runs each. */
export function compileBench(runs: number): CompileRow[] {
  const files = readdirSync(join(root, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join("examples", d.name, `${d.name}.attn`))
    .sort();
  // warm the JIT on one example so "cold" measures the compiler, not V8's first compile of it
  {
    const p = files[0]!;
    const t = readFileSync(join(root, p), "utf8");
    const g = compileSource(p, t).graphs[0]!.name;
    for (let i = 0; i < 5; i++) compileOnce(p, t, g);
  }
  const rows: CompileRow[] = [];
  for (const path of files) {
    const text = readFileSync(join(root, path), "utf8");
    for (const g of compileSource(path, text).graphs) {
      const times: number[] = [];
      let info = { wgslBytes: 0, launches: 0 };
      // run 0 is the cold compile; then WARMUP unmeasured runs (V8 tiers up the paths this graph
      // takes), then `runs` measured warm runs: steady state in a long-lived process
      const WARMUP = 5;
      for (let i = 0; i <= runs + WARMUP; i++) {
        const t0 = performance.now();
        info = compileOnce(path, text, g.name);
        if (i === 0 || i > WARMUP) times.push(performance.now() - t0);
      }
      const [cold, ...warm] = times;
      rows.push({
        example: path.replace(/^examples\//, "").replace(/\/.*$/, ""),
        graph: g.name,
        coldMs: cold!,
        warmP50: q(warm, 0.5),
        warmP90: q(warm, 0.9),
        unfusedLaunches: [...launches(lowerGraph(g).steps)].length,
        fusedLaunches: [...launches(compileToProgram(g, { passes: GRAPH_PIPELINE }).program.steps)].length,
        wgslBytes: info.wgslBytes,
      });
    }
  }
  return rows;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const RUNS = Number(process.env.BENCH_RUNS ?? 30);
  console.log(`attnc compile latency, DSL → optimized graph → kernel program → WGSL, in one process (${RUNS} warm runs; node ${process.version})\n`);
  console.log("| example | graph | cold ms | warm p50 ms | warm p90 ms | launches unfused → fused | WGSL KiB |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of compileBench(RUNS))
    console.log(`| ${r.example} | ${r.graph} | ${r.coldMs.toFixed(1)} | ${r.warmP50.toFixed(1)} | ${r.warmP90.toFixed(1)} | ${r.unfusedLaunches} → ${r.fusedLaunches} | ${(r.wgslBytes / 1024).toFixed(1)} |`);
}
