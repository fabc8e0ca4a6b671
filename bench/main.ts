/**
 * `npm run bench`: issue 3's benchmark, one markdown table on stdout (progress on stderr).
 *   (a) compile latency DSL → WGSL per example graph (bench/compile.ts);
 *   (b) attnc fused dense attention, BRA and ToMe merge against the same computations composed
 *       from TensorFlow.js WebGPU ops, on the same Dawn device (bench/webgpu.ts);
 *   (c) attnc fused against attnc's own unfused lowering: dispatches, buffer bytes, time.
 * Environment: BENCH_RUNS (compile runs per graph, default 20), BENCH_GPU_RUNS (timed rounds per
 * GPU workload, default 3), BENCH_GPU_WARMUP (extra warm-up rounds, default 0), BENCH_CASES (comma
 * list of dense, dense256, bra, tome; default all), BENCH_SKIP_COMPILE=1 (leave out part a).
 */
import { cpus } from "node:os";
import { compileBench } from "./compile.ts";
import { TFJS_TOLERANCE, webgpuBench, type CaseResult, type Stats } from "./webgpu.ts";

const env = process.env;
const compileRuns = Number(env.BENCH_RUNS ?? 20);
const gpuRuns = Number(env.BENCH_GPU_RUNS ?? 3);
const warmup = Number(env.BENCH_GPU_WARMUP ?? 0);
const cases = env.BENCH_CASES ? env.BENCH_CASES.split(",").map((s) => s.trim()) : undefined;
const log = (s: string) => process.stderr.write(s + "\n");

const t0 = performance.now();
const mib = (b: number | undefined) => (b === undefined ? "—" : `${(b / 2 ** 20).toFixed(2)} MiB`);
const ms = (s: Stats | undefined) => (s ? `${s.p50.toFixed(0)} (${s.p90.toFixed(0)})` : "not run");
const e = (x: number) => (x === 0 ? "0" : x.toExponential(1));

const rows: string[] = [];
if (env.BENCH_SKIP_COMPILE !== "1") {
  log(`(a) compile latency, ${compileRuns} warm runs per graph`);
  for (const r of compileBench(compileRuns))
    rows.push(
      `| a | ${r.example} / ${r.graph} | compile DSL → WGSL (${(r.wgslBytes / 1024).toFixed(1)} KiB) | ${r.unfusedLaunches} → ${r.fusedLaunches} | — | cold ${r.coldMs.toFixed(1)}; warm ${r.warmP50.toFixed(1)} (${r.warmP90.toFixed(1)}) | — | — |`,
    );
}

log(`(b, c) WebGPU: ${gpuRuns} timed rounds after ${warmup} warm-up per workload`);
const { gpu, results } = await webgpuBench({ runs: gpuRuns, warmup, cases, log });
const ratio = (x: Stats | undefined, ref: Stats | undefined) => (x && ref ? `${(x.p50 / ref.p50).toFixed(2)}×` : "—");
const interpNote = (r: CaseResult, which: "fused" | "unfused" | "tfjs") => {
  const v = r.vsInterp?.[which];
  return v === undefined ? "" : `; vs interpreter ${e(v)}`;
};
for (const r of results) {
  const w = `${r.name}, ${r.shape}`;
  rows.push(
    `| b, c | ${w} | attnc fused | ${r.fused.dispatches} | ${mib(r.fused.plannedBytes)} (peak live ${mib(r.fused.peakLiveBytes)}) | ${ms(r.fused.ms)} | 1.00× | ${interpNote(r, "fused").slice(2) || "—"} |`,
    `| b | ${w} | TF.js WebGPU composition | ${r.tfjs.dispatches} | ${mib(r.tfjs.tfPeakBytes)} (tf.profile peak) | ${ms(r.tfjs.ms)} | ${ratio(r.tfjs.ms, r.fused.ms)} | vs attnc ${e(r.tfVsOurs)}${interpNote(r, "tfjs")} |`,
    `| c | ${w} | attnc unfused${r.unfusedNote ? ` (${r.unfusedNote})` : ""} | ${r.unfused.dispatches} | ${mib(r.unfused.plannedBytes)} (peak live ${mib(r.unfused.peakLiveBytes)}) | ${r.unfused.ms ? ms(r.unfused.ms) : r.unfusedNotRun ?? "not run"} | ${ratio(r.unfused.ms, r.fused.ms)} | ${r.unfused.ms ? `vs attnc fused within the f32 policy${interpNote(r, "unfused")}` : "—"} |`,
  );
}

console.log(`attnc benchmark (issue 3): node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), WebGPU adapter: ${gpu.adapterInfo} (Dawn, \`webgpu\` package); TF.js 4.22.0 WebGPU backend on the same GPUDevice\n`);
console.log("| part | workload | variant | dispatches (a: launches unfused → fused) | buffer bytes | ms p50 (p90) | time ÷ attnc fused | max rel error |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
console.log(`
Method. (a) one process; cold = first compile of the graph (after a JIT warm-up on another example), warm = p50 (p90) of ${compileRuns} more after 5 unmeasured ones (DSL → lowerForTarget wgsl → WGSL text, as attnc compile --target wgsl); launches: lowerGraph of the graph as built → compileToProgram (GRAPH_PIPELINE). (b, c) one process, one Dawn GPUDevice shared by attnc and TF.js; per workload one checked run of every variant and one tf.profile'd TF.js run (these compile every pipeline and fill TF.js's buffer pool), ${warmup} further warm-up round(s), then ${gpuRuns} rounds running every variant once in rotating order; ms = wall time from the start of recording until queue.onSubmittedWorkDone() resolves after the run's last submit, queue idle at the start, nothing read back. attnc: buffers, inputs, pipelines and bind groups prepared once, a run = encode (one compute pass per launch, as runtime/webgpu/execute.ts) + submit. TF.js: inputs already on the device, a run = the composition's ops (TF.js records them and submits every 15 dispatches) + a flush of its last batch; dispatches counted on the device's compute-pass encoder. Buffer bytes: attnc = plan-memory's physical buffers at these dims (peak live = largest sum of simultaneously live buffers, inputs and outputs included); TF.js = tf.profile peakBytes. Checks, before timing: TF.js vs attnc fused within rtol ${TFJS_TOLERANCE.rtol}, atol ${TFJS_TOLERANCE.atolScale}·max|ref|; attnc unfused vs fused and attnc vs the float64 interpreter within the f32 tolerance policy (compiler/tolerance.ts); after timing, attnc outputs bit-identical to the first run. Error = max|Δ| / max|ref|. Total ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
process.exit(0);
