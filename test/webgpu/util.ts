/**
 * Shared helpers of the WebGPU tests: one device per test file (opened at import, destroyed after
 * the file), a test wrapper that skips — with the reason — only when WebGPU is unavailable
 * (WebGpuUnavailable: no adapter, no Dawn), and graph-vs-interpreter comparison under the
 * tolerance policy of compiler/tolerance.ts. Any other failure to open the device fails the file.
 */
import { afterAll, expect, it, type TestContext } from "vitest";
import type { DType } from "../../compiler/graph/dtype.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { interpret, randomInputs, type HostTensor, type InterpResult } from "../../compiler/graph/interp.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import { compareOutput, describeComparison, outputTolerance, type Comparison } from "../../compiler/tolerance.ts";
import { WebGpuDevice, WebGpuUnavailable } from "../../runtime/webgpu/device.ts";
import { runProgram, type RunResult } from "../../runtime/webgpu/execute.ts";

export interface Gpu {
  readonly dev?: WebGpuDevice;
  /** Why there is no device (only for WebGpuUnavailable). */
  readonly reason?: string;
}

/** Opens the file's device; call once at module top level (`const gpu = await openGpu();`). */
export async function openGpu(): Promise<Gpu> {
  let g: Gpu;
  try {
    g = { dev: await WebGpuDevice.open() };
  } catch (e) {
    if (e instanceof WebGpuUnavailable) g = { reason: `WebGPU unavailable: ${e.message}` };
    else throw e;
  }
  afterAll(() => g.dev?.destroy());
  return g;
}

/** A test that needs the device: skipped with the reason when WebGPU is unavailable. */
export function gpuIt(gpu: Gpu, name: string, fn: (dev: WebGpuDevice, ctx: TestContext) => Promise<void> | void, timeout?: number): void {
  it(name, async (ctx) => {
    if (!gpu.dev) return ctx.skip(gpu.reason);
    await fn(gpu.dev, ctx);
  }, timeout);
}

export interface CheckResult {
  readonly ref: InterpResult;
  readonly got: RunResult;
  readonly program: Program;
  readonly comparisons: readonly Comparison[];
}

/**
 * Runs `graph` on the interpreter and on WebGPU with the same inputs (random from `seed` unless
 * given), and expects every output within tolerance and equal error flags. The program is
 * `lowerGraph(graph)` unless given (e.g. the optimized, memory-planned one).
 */
export async function checkGraph(
  dev: WebGpuDevice,
  graph: Graph,
  dims: Record<string, number>,
  opts: { inputs?: Record<string, HostTensor>; seed?: number; label?: string; program?: Program } = {},
): Promise<CheckResult> {
  const inputs = opts.inputs ?? randomInputs(graph, dims, opts.seed ?? 1);
  const ref = interpret(graph, inputs, { dims });
  const program = opts.program ?? lowerGraph(graph);
  const got = await runProgram(program, dev, inputs, dims, { requires: graph.requires });
  const label = opts.label ?? graph.name;
  const comparisons = ref.outputs.map((r, i) => {
    const { dtype, tol } = outputTolerance(graph, i);
    const c = compareOutput(r.dtype, got.outputs[i]!, r, tol);
    expect.soft(c.ok, `${label}: output ${graph.outputNames[i]} (${r.dtype}[${r.shape.join(", ")}]): ${describeComparison(dtype, c)}`).toBe(true);
    return c;
  });
  expect.soft(got.errorFlag, `${label}: error flag (interpreter: ${ref.errorFlag})`).toBe(ref.errorFlag);
  return { ref, got, program, comparisons };
}

/** Host tensors of a dtype from plain values. */
export function host(dtype: DType, shape: readonly number[], data: readonly number[]): HostTensor {
  return { dtype, shape: [...shape], data: Float64Array.from(data) };
}

/** A deterministic PRNG (mulberry32) for test-case generation. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
