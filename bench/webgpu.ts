/**
 * WebGPU timings (issue 3, parts b and c), in one process on one Dawn device:
 *   (b) attnc's fused program against the same computation composed from TensorFlow.js WebGPU
 *       ops, on the same GPUDevice (bench/gpu/shared.ts);
 *   (c) attnc fused (compileToProgram: GRAPH_PIPELINE, lowering, plan-memory) against attnc's
 *       own unfused lowering (lowerGraph of the graph as built, then plan-memory): dispatches,
 *       bytes of the buffer plan, time.
 * Every composition's output is checked against attnc's before timing (and, where it is fast
 * enough, all of them against the float64 interpreter); a mismatch aborts the bench.
 *
 * Timing: warm-up runs first (pipelines compiled, TF.js's buffer pool filled), then BENCH_GPU_RUNS
 * rounds; each round runs every variant once, in an order that rotates per round. One timed run
 * = wall time from the start of recording to the resolution of queue.onSubmittedWorkDone() after
 * the run's last submit, with the queue idle at the start. attnc: encode the prepared program
 * (pipelines, bind groups, buffers and inputs made beforehand) + submit. TF.js: call the
 * composition on tensors already on the device (its ops record and submit every 15 dispatches)
 * + flush its last batch. Nothing is read back inside a timed run.
 */
import type * as TF from "@tensorflow/tfjs-core";
import { evalDim } from "../compiler/graph/dim.ts";
import { interpret, type HostTensor } from "../compiler/graph/interp.ts";
import { lowerGraph } from "../compiler/kernel/lower.ts";
import { planBytes, planMemory, type BufferPlan } from "../compiler/kernel/plan.ts";
import type { Program } from "../compiler/kernel/program.ts";
import { compileToProgram } from "../compiler/pipeline.ts";
import { compareOutput, TOLERANCE, type Comparison, type Tolerance } from "../compiler/tolerance.ts";
import { braCase, denseCase, tomeCase, type BenchCase } from "./gpu/cases.ts";
import { prepareRun, type PreparedRun } from "./gpu/prepared.ts";
import { sharedGpu, type SharedGpu } from "./gpu/shared.ts";

/**
 * TF.js against attnc: both are f32 with different summation orders and exp/softmax code, so the
 * f32 policy's 80 ulps per element is too tight for a 1024-long softmax·V; 1e-4 relative to
 * the output's largest value is still far below any real difference in the computation.
 */
export const TFJS_TOLERANCE: Tolerance = { rtol: 1e-4, atolScale: 1e-4 };

export interface Stats {
  readonly p50: number;
  readonly p90: number;
  readonly n: number;
}

export interface VariantResult {
  readonly dispatches: number;
  /** plan-memory's physical buffers at these dims (what a run allocates), and the peak of live bytes. */
  readonly plannedBytes?: number;
  readonly peakLiveBytes?: number;
  /** TF.js: tf.profile's peakBytes (tensor bytes alive at once in one call, inputs excluded). */
  readonly tfPeakBytes?: number;
  /** Undefined when not run (CaseResult.unfusedNotRun says why). */
  readonly ms?: Stats;
}

export interface CaseResult {
  readonly name: string;
  readonly shape: string;
  readonly unfusedNote?: string;
  readonly unfusedNotRun?: string;
  readonly fused: VariantResult;
  readonly unfused: VariantResult;
  readonly tfjs: VariantResult;
  /** Max relative error (max|Δ| / max|ref|) of TF.js against attnc fused, over the compared outputs. */
  readonly tfVsOurs: number;
  /** Against the float64 interpreter, when run. */
  readonly vsInterp?: { readonly fused: number; readonly unfused?: number; readonly tfjs: number };
}

const quant = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const stats = (xs: readonly number[]): Stats => ({ p50: quant(xs, 0.5), p90: quant(xs, 0.9), n: xs.length });

type Out = { shape: number[]; data: ArrayLike<number> };

function must(c: Comparison, what: string): number {
  if (!c.ok) {
    const f = c.first ? `; ${c.bad} bad, first at ${c.first.index}: ${c.first.got} vs ${c.first.ref}` : "";
    throw new Error(`${what}: outputs differ (${c.shapeMismatch ?? `max abs ${c.maxAbs}, max rel ${c.maxRel}`}${f})`);
  }
  return c.maxRel;
}

async function tfOutputs(tf: typeof TF, ts: TF.Tensor[]): Promise<Out[]> {
  const out: Out[] = [];
  for (const t of ts) out.push({ shape: [...t.shape], data: Float64Array.from(await t.data()) });
  tf.dispose(ts);
  return out;
}

/** Dispatches a program records at these dims (loops unrolled, zero-sized grids skipped), without running it. */
function dispatchesOf(p: Program, dims: Record<string, number>): number {
  const count = (steps: Program["steps"]): number =>
    steps.reduce((n, s) => {
      if (s.k === "loop") return n + (evalDim(s.n, dims) ?? 0) * count(s.body);
      if (s.k !== "launch") return n;
      return n + (s.kernel.dispatch.every((d) => (evalDim(d, dims) ?? 1) > 0) ? 1 : 0);
    }, 0);
  return count(p.steps);
}

function bytesOf(plan: BufferPlan, dims: Record<string, number>) {
  const b = planBytes(plan, dims);
  return { plannedBytes: b.planned, peakLiveBytes: b.peakLive };
}

export async function benchCase(g: SharedGpu, c: BenchCase, runs: number, warmup: number, log: (s: string) => void): Promise<CaseResult> {
  const { dev, tf } = g;
  const queue = dev.device.queue;
  const fusedC = compileToProgram(c.graph);
  const unfusedC = planMemory(lowerGraph(c.unfusedGraph));
  const prep = async (p: Program, requires = c.graph.requires): Promise<PreparedRun> => prepareRun(p, dev, c.inputs, c.dims, requires);
  const fused = await prep(fusedC.program);
  const unfused = c.unfusedNotRun === undefined ? await prep(unfusedC.program, c.unfusedGraph.requires) : undefined;
  const comp = c.tfjs(tf, c.inputs);
  try {
    // --- correctness first: one run of each, compared (this also compiles every pipeline) ---
    const runOurs = async (p: PreparedRun) => {
      queue.submit([p.encode()]);
      const r = await p.read();
      if (r.errorFlag) throw new Error(`${c.name}: attnc raised its error flag`);
      return r.outputs;
    };
    const oursF = await runOurs(fused);
    const oursU = unfused && (await runOurs(unfused));
    const tfOut = await tfOutputs(tf, comp.run());
    let tfVsOurs = 0;
    c.compared.forEach((oi, ti) => {
      tfVsOurs = Math.max(tfVsOurs, must(compareOutput("f32", tfOut[ti]!, oursF[oi]!, TFJS_TOLERANCE), `${c.name}: TF.js vs attnc output ${oi}`));
      // fused and unfused are both attnc: they must agree under the f32 policy
      if (oursU) must(compareOutput("f32", oursU[oi]!, oursF[oi]!, TOLERANCE.f32), `${c.name}: attnc unfused vs fused output ${oi}`);
    });
    let vsInterp: CaseResult["vsInterp"];
    if (c.interp) {
      const t0 = performance.now();
      const ref = interpret(c.graph, c.inputs as Record<string, HostTensor>, { dims: c.dims });
      log(`  interpreter: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      let f = 0;
      let u = 0;
      let t = 0;
      ref.outputs.forEach((r, i) => {
        f = Math.max(f, must(compareOutput(r.dtype, oursF[i]!, r), `${c.name}: attnc fused vs interpreter, output ${i}`));
        if (oursU) u = Math.max(u, must(compareOutput(r.dtype, oursU[i]!, r), `${c.name}: attnc unfused vs interpreter, output ${i}`));
      });
      c.compared.forEach((oi, ti) => {
        t = Math.max(t, must(compareOutput("f32", tfOut[ti]!, ref.outputs[oi]!, TFJS_TOLERANCE), `${c.name}: TF.js vs interpreter, output ${oi}`));
      });
      vsInterp = { fused: f, unfused: oursU ? u : undefined, tfjs: t };
    }
    // --- TF.js's dispatches and peak bytes: one profiled call (outside the timed runs) ---
    const before = g.dispatchCounter.count;
    const prof = await tf.profile(() => comp.run());
    g.flushTf();
    const tfDispatches = g.dispatchCounter.count - before;
    tf.dispose(prof.result as TF.Tensor[]);
    await queue.onSubmittedWorkDone();
    log(`  checked: TF.js vs attnc ${tfVsOurs.toExponential(1)}${vsInterp ? `, attnc vs interpreter ${vsInterp.fused.toExponential(1)}` : ""}`);

    // --- timing ---
    const timeOurs = async (p: PreparedRun) => {
      await queue.onSubmittedWorkDone();
      const t0 = performance.now();
      queue.submit([p.encode()]);
      await queue.onSubmittedWorkDone();
      return performance.now() - t0;
    };
    const timeTf = async () => {
      await queue.onSubmittedWorkDone();
      const t0 = performance.now();
      const out = comp.run();
      g.flushTf();
      await queue.onSubmittedWorkDone();
      const ms = performance.now() - t0;
      tf.dispose(out);
      return ms;
    };
    const variants: [string, () => Promise<number>][] = [["fused", () => timeOurs(fused)], ["tfjs", timeTf]];
    if (unfused) variants.push(["unfused", () => timeOurs(unfused)]);
    for (let i = 0; i < warmup; i++) for (const [, f] of variants) await f();
    const times: Record<string, number[]> = Object.fromEntries(variants.map(([k]) => [k, []]));
    for (let r = 0; r < runs; r++) {
      for (let j = 0; j < variants.length; j++) {
        const [name, f] = variants[(r + j) % variants.length]!;
        times[name]!.push(await f());
      }
      log(`  round ${r + 1}/${runs}: ${Object.entries(times).map(([k, v]) => `${k} ${v.at(-1)!.toFixed(1)} ms`).join(", ")}`);
    }
    // repeated runs must give what the first run gave (no reliance on zeroed buffers)
    for (const [p, first, what] of [[fused, oursF, "fused"], [unfused, oursU, "unfused"]] as const) {
      if (!p || !first) continue;
      const again = (await p.read()).outputs;
      again.forEach((o, i) => {
        if (o.data.some((x, k) => !Object.is(x, first[i]!.data[k]))) throw new Error(`${c.name}: attnc ${what} output ${i} changed between runs`);
      });
    }
    return {
      name: c.name,
      shape: c.shape,
      unfusedNote: c.unfusedNote,
      fused: { dispatches: fused.dispatches, ...bytesOf(fusedC.plan, c.dims), ms: stats(times.fused!) },
      unfused: { dispatches: unfused?.dispatches ?? dispatchesOf(unfusedC.program, c.dims), ...bytesOf(unfusedC.plan, c.dims), ms: unfused ? stats(times.unfused!) : undefined },
      unfusedNotRun: c.unfusedNotRun,
      tfjs: { dispatches: tfDispatches, tfPeakBytes: prof.peakBytes, ms: stats(times.tfjs!) },
      tfVsOurs,
      vsInterp,
    };
  } finally {
    comp.dispose();
    fused.destroy();
    unfused?.destroy();
  }
}

export const CASES: Record<string, () => BenchCase> = {
  dense: () => denseCase(undefined),
  dense256: () => denseCase({ B: 1, H: 4, N: 256, D: 64 }),
  bra: () => braCase(),
  tome: () => tomeCase(),
};

export async function webgpuBench(opts: { runs: number; warmup: number; cases?: readonly string[]; log?: (s: string) => void }): Promise<{ gpu: SharedGpu; results: CaseResult[] }> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + "\n"));
  const gpu = await sharedGpu();
  const results: CaseResult[] = [];
  for (const name of opts.cases ?? Object.keys(CASES)) {
    const make = CASES[name];
    if (!make) throw new Error(`unknown case '${name}' (cases: ${Object.keys(CASES).join(", ")})`);
    const c = make();
    log(`${c.name} (${c.shape})`);
    results.push(await benchCase(gpu, c, opts.runs, opts.warmup, log));
  }
  return { gpu, results };
}
