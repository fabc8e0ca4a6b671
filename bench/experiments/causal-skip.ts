/**
 * Experiment for issue 3 (not part of `npm run bench`): how much of the dense causal attention
 * time goes to key tiles the causal mask removes entirely. The fused kernel
 * (compiler/kernel/kernels/attention.ts) visits every key tile for every query tile; this script
 * rewrites the generated WGSL so the key loop stops after the query tile's last row
 * (kt < min(N, r0 + Tq)), checks the output is bit-identical to the unmodified kernel's, and
 * times both, alternating, next to the TF.js composition, on the same device.
 * Run: bash -c '. scripts/env.sh && tsx bench/experiments/causal-skip.ts'   (EXP_RUNS, EXP_N)
 */
import { compileToProgram } from "../../compiler/pipeline.ts";
import { denseCase } from "../gpu/cases.ts";
import { prepareRun, type PreparedRun } from "../gpu/prepared.ts";
import { sharedGpu } from "../gpu/shared.ts";

const runs = Number(process.env.EXP_RUNS ?? 3);
const N = Number(process.env.EXP_N ?? 1024);
const g = await sharedGpu();
const c = denseCase({ B: 1, H: 4, N, D: 64 });
const { program } = compileToProgram(c.graph);
let rewrites = 0;
// the key loop as the printer writes it today: `for (var ktX: i32 = 0i; ktX < u.d_N; ktX += 16) {`,
// with the query tile's first row in `let rY: i32 = (qtZ * 16i);`
const skip = (file: string, wgsl: string): string => {
  const r0 = /let (r0\d+): i32 = \(qt\d+ \* 16i\);/.exec(wgsl)?.[1];
  const out = wgsl.replace(/for \(var (kt\d+): i32 = 0i; \1 < u\.d_N; \1 \+= 16\)/, (_m, kt: string) => {
    rewrites++;
    return `for (var ${kt}: i32 = 0i; ${kt} < min(u.d_N, ${r0} + 16i); ${kt} += 16)`;
  });
  if (file.startsWith("attention") && (!r0 || out === wgsl)) throw new Error(`${file}: the key loop was not found; the experiment needs updating`);
  return out;
};
const base = await prepareRun(program, g.dev, c.inputs, c.dims, c.graph.requires);
const pruned = await prepareRun(program, g.dev, c.inputs, c.dims, c.graph.requires, skip);
if (rewrites !== 1) throw new Error(`expected one rewritten loop, got ${rewrites}`);
const q = g.dev.device.queue;
const once = async (p: PreparedRun) => {
  await q.onSubmittedWorkDone();
  const t0 = performance.now();
  q.submit([p.encode()]);
  await q.onSubmittedWorkDone();
  return performance.now() - t0;
};
await once(base);
await once(pruned);
const a = (await base.read()).outputs[0]!.data;
const b = (await pruned.read()).outputs[0]!.data;
const same = a.every((x, i) => Object.is(x, b[i]));
if (!same) throw new Error("the pruned kernel's output differs from the unmodified kernel's");
const comp = c.tfjs(g.tf, c.inputs);
const tfOnce = async () => {
  await q.onSubmittedWorkDone();
  const t0 = performance.now();
  const o = comp.run();
  g.flushTf();
  await q.onSubmittedWorkDone();
  const ms = performance.now() - t0;
  g.tf.dispose(o);
  return ms;
};
await tfOnce();
const t: Record<string, number[]> = { fused: [], "fused, causal key range": [], tfjs: [] };
const fs: [string, () => Promise<number>][] = [["fused", () => once(base)], ["fused, causal key range", () => once(pruned)], ["tfjs", tfOnce]];
for (let r = 0; r < runs; r++)
  for (let j = 0; j < fs.length; j++) {
    const [k, f] = fs[(r + j) % fs.length]!;
    t[k]!.push(await f());
    process.stderr.write(`${k}: ${t[k]!.at(-1)!.toFixed(0)} ms\n`);
  }
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
console.log(`dense causal attention B=1 H=4 N=${N} D=64 f32, ${runs} alternating runs, median ms (adapter ${g.adapterInfo}); outputs of both kernels bit-identical\n`);
console.log("| variant | ms p50 | TF.js ÷ variant |\n|---|---|---|");
for (const k of Object.keys(t)) console.log(`| ${k} | ${med(t[k]!).toFixed(0)} | ${(med(t.tfjs!) / med(t[k]!)).toFixed(2)}× |`);
process.exit(0);
