/**
 * Per-dispatch profile of one bench workload on WebGPU: every launch of attnc's fused (default)
 * or unfused program submitted alone and timed to queue.onSubmittedWorkDone(), after one full
 * run (pipelines compiled). For finding the kernel that dominates a bench row.
 * Run: bash -c '. scripts/env.sh && tsx bench/profile.ts CASE [unfused]'   (CASE: see bench/webgpu.ts CASES)
 */
import { lowerGraph } from "../compiler/kernel/lower.ts";
import { planMemory } from "../compiler/kernel/plan.ts";
import { compileToProgram } from "../compiler/pipeline.ts";
import { prepareRun } from "./gpu/prepared.ts";
import { sharedGpu } from "./gpu/shared.ts";
import { CASES } from "./webgpu.ts";

const [name = "dense", variant = "fused"] = process.argv.slice(2);
const make = CASES[name];
if (!make || (variant !== "fused" && variant !== "unfused")) {
  console.error(`usage: tsx bench/profile.ts {${Object.keys(CASES).join("|")}} [fused|unfused]`);
  process.exit(2);
}
const c = make();
const g = await sharedGpu();
const graph = variant === "fused" ? c.graph : c.unfusedGraph;
const program = variant === "fused" ? compileToProgram(graph).program : planMemory(lowerGraph(graph)).program;
const p = await prepareRun(program, g.dev, c.inputs, c.dims, graph.requires);
g.dev.device.queue.submit([p.encode()]);
await g.dev.device.queue.onSubmittedWorkDone();
const rows = await p.profile();
const total = rows.reduce((s, r) => s + r[2], 0);
console.log(`${c.name}, ${c.shape}: attnc ${variant}, ${rows.length} steps, ${total.toFixed(0)} ms in all (adapter ${g.adapterInfo})\n`);
console.log("| kernel | workgroups | ms | share |\n|---|---|---|---|");
for (const [k, xyz, ms] of rows) console.log(`| ${k} | ${xyz} | ${ms.toFixed(1)} | ${((100 * ms) / total).toFixed(0)}% |`);
process.exit(0);
