/**
 * The backends the method reference tests run on: the reference interpreter, WebGPU (Dawn on
 * SwiftShader here) and cuda-emu (the CUDA a program compiles to, built by g++ and run on the
 * CPU). `runOn(backend, graph, inputs, dims)` runs a checked graph on one of them and returns its
 * outputs; the test then compares them with its own independent TypeScript reference.
 *
 * Compile caching: a graph is optimized, lowered and memory-planned once per backend (exactly as
 * `attnc run --backend` does, compiler/cli/lowering.ts) and the Program is reused for every input; WebGPU pipelines are
 * cached by the device per WGSL text, and cuda-emu binaries per program source (runtime/cuda/emu.ts,
 * on disk), so each graph/param set compiles once per backend.
 *
 * ATTNC_METHOD_BACKENDS=interp,webgpu (comma-separated) restricts the backends locally. A
 * backend that is selected but unavailable on the machine (no WebGPU adapter, no g++) skips its
 * tests with the reason — except under CI=true, where it fails them: the method tests must run
 * on every backend in CI.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeEach, describe, expect } from "vitest";
import { defaultCaps, lowerForTarget } from "../../compiler/cli/lowering.ts";
import { interpret, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import { runProgramEmu } from "../../runtime/cuda/emu.ts";
import { WebGpuDevice, WebGpuUnavailable } from "../../runtime/webgpu/device.ts";
import { runProgram } from "../../runtime/webgpu/execute.ts";

export type Backend = "interp" | "webgpu" | "cuda-emu";
export const ALL_BACKENDS: readonly Backend[] = ["interp", "webgpu", "cuda-emu"];

function selected(): Backend[] {
  const env = process.env.ATTNC_METHOD_BACKENDS?.trim();
  if (!env) return [...ALL_BACKENDS];
  const names = env.split(",").map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!ALL_BACKENDS.includes(n as Backend)) throw new Error(`ATTNC_METHOD_BACKENDS: unknown backend '${n}' (known: ${ALL_BACKENDS.join(", ")})`);
  return ALL_BACKENDS.filter((b) => names.includes(b));
}

/** The backends every method test runs on (all three unless ATTNC_METHOD_BACKENDS says otherwise). */
export const BACKENDS: readonly Backend[] = selected();

const IN_CI = process.env.CI === "true" || process.env.CI === "1";

let device: Promise<WebGpuDevice | string> | undefined;
function webgpu(): Promise<WebGpuDevice | string> {
  device ??= WebGpuDevice.open().catch((e: unknown) => {
    if (e instanceof WebGpuUnavailable) return `WebGPU unavailable: ${e.message}`;
    throw e;
  });
  return device;
}
afterAll(async () => {
  if (!device) return;
  const d = await device.catch(() => undefined);
  if (d instanceof WebGpuDevice) d.destroy();
  device = undefined;
});

let gxx: boolean | undefined;
const haveGxx = (): boolean => (gxx ??= spawnSync(process.env.CXX || "g++", ["--version"]).status === 0);

/**
 * Why `backend` cannot run here, or undefined when it can. Under CI=true an unavailable backend
 * throws instead (the test fails loudly).
 */
export async function unavailable(backend: Backend): Promise<string | undefined> {
  let why: string | undefined;
  if (backend === "webgpu") {
    const d = await webgpu();
    if (typeof d === "string") why = d;
  } else if (backend === "cuda-emu" && !haveGxx()) why = `cuda-emu unavailable: no ${process.env.CXX || "g++"} on this machine`;
  if (why && IN_CI) throw new Error(`${why} (CI=true: the method tests must run on every backend)`);
  return why;
}

const programs = { webgpu: new WeakMap<Graph, Program>(), "cuda-emu": new WeakMap<Graph, Program>() };

/**
 * The Program of a graph for a kernel backend, optimized, lowered, checked and memory-planned
 * once, as `attnc run --backend <backend>` does: for WebGPU with the opened device's capability
 * record (its real limits and features), for cuda-emu with the default CUDA record.
 */
export async function programOf(backend: "webgpu" | "cuda-emu", g: Graph): Promise<Program> {
  let p = programs[backend].get(g);
  if (!p) {
    const caps = backend === "webgpu" ? ((await webgpu()) as WebGpuDevice).record : defaultCaps("cuda");
    const l = lowerForTarget(g, backend === "webgpu" ? "wgsl" : "cuda", {}, caps);
    if ("diagnostic" in l) throw new Error(`${g.name} (${backend}): ${l.diagnostic.message}`);
    programs[backend].set(g, (p = l.program));
  }
  return p;
}

/**
 * Runs a graph on `backend` and returns its outputs; fails the test on the program's
 * data-dependent error flag (and on interpreter errors) unless allowErrorFlag.
 */
export async function runOn(
  backend: Backend,
  g: Graph,
  inputs: Record<string, HostTensor>,
  dims: Record<string, number> = {},
  allowErrorFlag = false,
): Promise<HostTensor[]> {
  if (backend === "interp") {
    const res = interpret(g, inputs, { dims });
    if (!allowErrorFlag) {
      expect(res.errors.map((e) => e.message), `${g.name} (interp): error flag`).toEqual([]);
      expect(res.errorFlag, `${g.name} (interp): error flag`).toBe(false);
    }
    return res.outputs;
  }
  const why = await unavailable(backend);
  if (why) throw new Error(why);
  const prog = await programOf(backend, g);
  let res;
  if (backend === "webgpu") {
    const dev = (await webgpu()) as WebGpuDevice;
    res = await runProgram(prog, dev, inputs, dims, { requires: g.requires });
  } else {
    res = await runProgramEmu(prog, inputs, dims, { requires: g.requires });
  }
  if (!allowErrorFlag) expect(res.errorFlag, `${g.name} (${backend}): error flag`).toBe(false);
  return res.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape, data: o.data }));
}

/**
 * One describe block per backend, `${name} [backend]`, whose tests skip (with the reason) when the
 * backend is unavailable here — fail under CI=true. `body` declares the tests for one backend.
 */
export function describeBackends(name: string, body: (be: Backend) => void, timeout = 300_000): void {
  for (const be of BACKENDS)
    describe(`${name} [${be}]`, { timeout }, () => {
      beforeEach(async (ctx) => {
        const why = await unavailable(be);
        if (why) ctx.skip(why);
      });
      body(be);
    });
}
