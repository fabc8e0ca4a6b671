/**
 * Compile-latency benchmark (issue 3, part a) and fused vs unfused lowering (part c, without
 * timings): for every graph of every example, attn source → checked graph → optimized graph →
 * kernel program → WGSL text, in one process. "cold" is the first compile of that graph in the
 * process (after the first example warmed the JIT); "warm" is p50/p90 of the following runs.
 * Prints a markdown table. Run: npm run bench (writes nothing; copy the table with its command).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { compileSource } from "../compiler/compile.ts";
import { lowerGraph } from "../compiler/kernel/lower.ts";
import { launches } from "../compiler/kernel/program.ts";
import { compileToProgram, GRAPH_PIPELINE } from "../compiler/pipeline.ts";
import { printWgsl } from "../backends/wgsl/dialect.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const root = new URL("../", import.meta.url).pathname;
const files = readdirSync(join(root, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join("examples", d.name, `${d.name}.attn`))
  .sort();

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

function compileOnce(path: string, text: string, graph: string): { wgslBytes: number; launches: number } {
  const res = compileSource(path, text, { graph });
  if (!res.ok) throw new Error(`${path}#${graph}: ${res.diagnostics.map((d) => d.message).join("; ")}`);
  const { program } = compileToProgram(res.graphs[0]!);
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

const rows: string[] = [];
// warm the JIT on one example so "cold" measures the compiler, not V8's first compile of it
{
  const p = files[0]!;
  const t = readFileSync(join(root, p), "utf8");
  const g = compileSource(p, t).graphs[0]!.name;
  for (let i = 0; i < 5; i++) compileOnce(p, t, g);
}
for (const path of files) {
  const text = readFileSync(join(root, path), "utf8");
  for (const g of compileSource(path, text).graphs) {
    const times: number[] = [];
    let info = { wgslBytes: 0, launches: 0 };
    for (let i = 0; i <= RUNS; i++) {
      const t0 = performance.now();
      info = compileOnce(path, text, g.name);
      times.push(performance.now() - t0);
    }
    const [cold, ...warm] = times;
    const unfused = [...launches(lowerGraph(g).steps)].length;
    const fused = [...launches(compileToProgram(g, { passes: GRAPH_PIPELINE }).program.steps)].length;
    rows.push(
      `| ${path.replace(/^examples\//, "").replace(/\/.*$/, "")} | ${g.name} | ${cold!.toFixed(1)} | ${q(warm, 0.5).toFixed(1)} | ${q(warm, 0.9).toFixed(1)} | ${unfused} → ${fused} | ${(info.wgslBytes / 1024).toFixed(1)} |`,
    );
  }
}
console.log(`attnc compile latency, DSL → optimized graph → kernel program → WGSL, in one process (${RUNS} warm runs; node ${process.version})\n`);
console.log("| example | graph | cold ms | warm p50 ms | warm p90 ms | launches unfused → fused | WGSL KiB |");
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
