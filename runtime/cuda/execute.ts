/**
 * Runs a lowered Program on a real CUDA device through the native addon (runtime/cuda/device.ts),
 * with the contract of the WebGPU runtime's runProgram and the emulator's runProgramEmu: dims bound
 * from the input shapes (and `given`), outputs with their shapes, the error flag, the launch count.
 *
 * The program's CUDA module (backends/cuda/module.ts) is compiled by nvcc to a cubin for the
 * device's architecture (sm_<major><minor>), cached by a hash of the source, the architecture and
 * the flags (node_modules/.cache/attnc-cuda, else the OS temp directory; ATTNC_CUDA_CACHE
 * overrides), loaded with cuModuleLoadData, and run: one device buffer per program buffer
 * (4-byte elements, zeroed), inputs and constants uploaded with the emulator's encoding (f16/bf16
 * rounded and held as float, bool as 0/1), the steps walked in order — launches, buffer copies,
 * counted loops — and the outputs and the flag read back.
 *
 * The host side of a launch is pure and shared with tests: `planCudaSteps` turns a program, its
 * module and bound dims into the concrete launches (kernel, grid, block, buffer arguments, the
 * by-value uniform block's words) and copies, exactly as the module's launch header `P_run` does
 * (and so the emulator, which runs through `P_run`); test/cuda/gpu-plan.test.ts compares the
 * three. Uniform block: one 4-byte word per kernel uniform, in order (int as (int32)v, float as
 * (float)v), then `_inf` = 0x7f800000 — the `NAME_uniforms` struct the kernel takes last.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { evalDim, printDim, type Dim } from "../../compiler/graph/dim.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import type { DivisibilityRequirement } from "../../compiler/graph/node.ts";
import type { Kernel } from "../../compiler/kernel/ir.ts";
import type { Launch, Program, Step } from "../../compiler/kernel/program.ts";
import { cudaCapsForArch, emitCudaModule, type CudaModule } from "../../backends/cuda/module.ts";
import type { HostArray, RunResult } from "../host.ts";
import { CudaDevice, CudaUnavailableError } from "./device.ts";
import { bindProgramDims, EmuInputError, encodeBuffer } from "./emu.ts";

export type { HostArray, RunResult } from "../host.ts";
export { CudaUnavailableError };

/** Inputs or dims that do not fit the program, a module that does not build, or a driver error during the run. */
export class CudaRunError extends Error {}

/** The bit pattern of +inf: the trailing `_inf` word of every uniform block. */
export const INF_BITS = 0x7f800000;

/** CUDA's per-dimension grid limits (x: 2^31 − 1; y, z: 65535). */
export const CUDA_GRID_LIMITS = [2147483647, 65535, 65535] as const;

// ── the pure host side of a launch ────────────────────────────────────────────────────────────

/** The by-value uniform block of a launch: one word per kernel uniform, then `_inf`. */
export function cudaUniformWords(kernel: Kernel, launch: Launch, dims: Record<string, number>, iters: ReadonlyMap<number, number> | readonly number[] = []): Uint32Array {
  if (launch.uniforms.length !== kernel.uniforms.length) throw new CudaRunError(`launch of ${kernel.name}: ${launch.uniforms.length} uniform sources for ${kernel.uniforms.length} uniforms`);
  const words = new Uint32Array(kernel.uniforms.length + 1);
  const dv = new DataView(words.buffer);
  const iter = (l: number) => (iters instanceof Map ? iters.get(l) : (iters as readonly number[])[l]) ?? 0;
  kernel.uniforms.forEach((u, i) => {
    const src = launch.uniforms[i]!;
    const v = src.kind === "dim" ? dims[src.name] : iter(src.loop);
    if (v === undefined) throw new CudaRunError(`kernel ${kernel.name}: uniform ${u.name} needs dim '${src.kind === "dim" ? src.name : "?"}'`);
    // as the launch header: float uniforms (float)v, the others (uint32_t)(int32_t)v
    if (u.t === "f32" || u.t === "f16" || u.t === "bf16") dv.setFloat32(4 * i, v, true);
    else dv.setInt32(4 * i, Number(BigInt.asIntN(32, BigInt(Math.trunc(v)))), true);
  });
  words[kernel.uniforms.length] = INF_BITS;
  return words;
}

/** Grid (blocks) and block (threads) of a kernel at these dims; undefined when the grid is empty (the launch is skipped). */
export function cudaLaunchGeometry(kernel: Kernel, dims: Record<string, number>): { grid: [number, number, number]; block: [number, number, number] } | undefined {
  const grid = kernel.dispatch.map((d) => {
    const v = evalDim(d, dims);
    if (v === undefined) throw new CudaRunError(`dispatch of ${kernel.name}: ${printDim(d)} has no value (pass its dims explicitly)`);
    return v;
  }) as [number, number, number];
  if (grid.some((g) => g <= 0)) return undefined;
  return { grid, block: [...kernel.workgroup] as [number, number, number] };
}

export type CudaPlanStep =
  | {
      readonly op: "launch";
      /** Index into module.launches (the header's P_launch_<i>). */
      readonly launch: number;
      /** Index into module.kernels; `name` is its function (cubin entry point). */
      readonly kernel: number;
      readonly name: string;
      readonly grid: readonly [number, number, number];
      readonly block: readonly [number, number, number];
      readonly sharedBytes: number;
      /** Program buffer ids, in kernel parameter order. */
      readonly args: readonly number[];
      /** The uniform block's words (_inf last). */
      readonly uniforms: Uint32Array;
    }
  | { readonly op: "copy"; readonly from: number; readonly to: number; readonly elements: number };

/** Element counts of the program's buffers at these dims. */
export function bufferSizes(prog: Program, dims: Record<string, number>): number[] {
  return prog.buffers.map((b) => {
    const v = evalDim(b.numel, dims);
    if (v === undefined) throw new CudaRunError(`size of buffer ${b.id}: ${printDim(b.numel)} has no value (pass its dims explicitly)`);
    if (v < 0) throw new CudaRunError(`size of buffer ${b.id}: ${printDim(b.numel)} = ${v} is negative`);
    return v;
  });
}

/**
 * Every launch and copy the program executes at these dims, in order (loops unrolled; empty grids
 * and empty copies left out), as the module's `P_run` calls them.
 */
export function planCudaSteps(prog: Program, m: CudaModule, dims: Record<string, number>): CudaPlanStep[] {
  const index = new Map<Launch, number>();
  m.launches.forEach((l, i) => index.set(l.launch, i));
  const out: CudaPlanStep[] = [];
  const iters = new Map<number, number>();
  const numel = (id: number) => evalDim(prog.buffers[id]!.numel, dims) ?? 0;
  const walk = (steps: readonly Step[]): void => {
    for (const s of steps) {
      if (s.k === "copy") {
        const n = Math.min(numel(s.from), numel(s.to));
        if (n > 0) out.push({ op: "copy", from: s.from, to: s.to, elements: n });
      } else if (s.k === "loop") {
        const n = evalDim(s.n, dims);
        if (n === undefined) throw new CudaRunError(`count of loop ${s.loop}: ${printDim(s.n)} has no value`);
        for (let i = 0; i < n; i++) {
          iters.set(s.loop, i);
          walk(s.body);
        }
      } else {
        const li = index.get(s);
        if (li === undefined) throw new CudaRunError(`launch of ${s.kernel.name} is not in the CUDA module`);
        const ki = m.launches[li]!.kernel;
        const mk = m.kernels[ki]!;
        const geo = cudaLaunchGeometry(mk.kernel, dims);
        if (!geo) continue;
        out.push({ op: "launch", launch: li, kernel: ki, name: mk.name, ...geo, sharedBytes: mk.sharedBytes, args: [...s.args], uniforms: cudaUniformWords(mk.kernel, s, dims, iters) });
      }
    }
  };
  walk(prog.steps);
  return out;
}

/** Host values of a buffer read back (4-byte words) as float64, per dtype. */
export function decodeWords(dtype: DType, buf: ArrayBuffer, n: number): Float64Array {
  const src = dtype === "i32" ? new Int32Array(buf, 0, n) : dtype === "u32" || dtype === "bool" ? new Uint32Array(buf, 0, n) : new Float32Array(buf, 0, n);
  return Float64Array.from(src);
}

// ── nvcc: the module as a cubin, cached ───────────────────────────────────────────────────────

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The nvcc flags a module is compiled with (those of `attnc compile --target cuda`). */
export const NVCC_FLAGS = ["-O3"] as const;

/** The nvcc to use: $NVCC, nvcc on PATH, then $CUDA_PATH/$CUDA_HOME//usr/local/cuda bin/nvcc; undefined when none runs. */
export function findNvcc(): string | undefined {
  const cands = [process.env.NVCC, "nvcc", ...[process.env.CUDA_PATH, process.env.CUDA_HOME, "/usr/local/cuda"].filter(Boolean).map((r) => path.join(r!, "bin", "nvcc"))];
  for (const c of cands) {
    if (!c || (c.includes("/") && !existsSync(c))) continue;
    if (spawnSync(c, ["--version"], { encoding: "utf8" }).status === 0) return c;
  }
  return undefined;
}

export function cudaCacheDir(): string {
  if (process.env.ATTNC_CUDA_CACHE) return process.env.ATTNC_CUDA_CACHE;
  const nm = path.join(ROOT, "node_modules");
  return existsSync(nm) ? path.join(nm, ".cache", "attnc-cuda") : path.join(os.tmpdir(), "attnc-cuda");
}

export interface CudaBinary {
  readonly file: string;
  readonly image: Uint8Array;
  /** Whether this call ran nvcc (false: found in the cache). */
  readonly compiled: boolean;
  readonly compileMs: number;
}

/** Compiles a module's .cu to a cubin for `arch` (sm_XY), or finds it in the cache. */
export function compileCubin(m: CudaModule, arch: string, opts: { nvcc?: string; cacheDir?: string; noCache?: boolean } = {}): CudaBinary {
  if (!/^sm_[0-9]+[a-z]?$/.test(arch)) throw new CudaRunError(`'${arch}' is not an nvcc architecture (sm_XY)`);
  const nvcc = opts.nvcc ?? findNvcc();
  if (!nvcc) throw new CudaRunError("nvcc was not found (put it on PATH or set NVCC or CUDA_PATH); it compiles the program's CUDA module for the device");
  const dir = opts.cacheDir ?? cudaCacheDir();
  const hash = createHash("sha256").update([m.cu, arch, NVCC_FLAGS.join(" "), nvccVersion(nvcc)].join("\u0000")).digest("hex").slice(0, 24);
  const file = path.join(dir, `${m.prefix.slice(0, 40)}-${arch}-${hash}.cubin`);
  if (!opts.noCache && existsSync(file)) return { file, image: new Uint8Array(readFileSync(file)), compiled: false, compileMs: 0 };
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  const src = mkdtempSync(path.join(dir, "src-"));
  try {
    writeFileSync(path.join(src, m.cuFile), m.cu);
    const tmp = path.join(src, "out.cubin");
    const r = spawnSync(nvcc, ["-cubin", `-arch=${arch}`, ...NVCC_FLAGS, "-o", tmp, path.join(src, m.cuFile)], { encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0)
      throw new CudaRunError(`nvcc -cubin -arch=${arch} failed for '${m.prefix}':\n${(r.stderr || r.error?.message || "").split("\n").slice(0, 30).join("\n")}`);
    renameSync(tmp, file);
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
  return { file, image: new Uint8Array(readFileSync(file)), compiled: true, compileMs: performance.now() - t0 };
}

const versions = new Map<string, string>();
function nvccVersion(nvcc: string): string {
  let v = versions.get(nvcc);
  if (v === undefined) versions.set(nvcc, (v = spawnSync(nvcc, ["--version"], { encoding: "utf8" }).stdout?.trim().split("\n").pop() ?? ""));
  return v;
}

// ── the run ───────────────────────────────────────────────────────────────────────────────────

export interface CudaRunOptions {
  readonly requires?: readonly DivisibilityRequirement[];
  /** After the checked run, time `reps` replays of the launches and copies (after `warmup`) with CUDA events; inputs are re-uploaded before each, outside the events. */
  readonly timing?: { readonly warmup?: number; readonly reps?: number };
  /** nvcc binary and cubin cache (defaults: findNvcc(), cudaCacheDir()). */
  readonly nvcc?: string;
  readonly cacheDir?: string;
}

export interface CudaRunResult extends RunResult {
  /** The device and the architecture compiled for. */
  readonly device: string;
  readonly arch: string;
  /** Whether nvcc ran for this run (false: the cubin was cached) and for how long. */
  readonly compiled: boolean;
  readonly compileMs: number;
  /** With `timing`: per-replay GPU milliseconds of all launches and copies (CUDA events), sorted, and their median. */
  readonly timing?: { readonly medianMs: number; readonly samplesMs: readonly number[] };
}

const modules = new WeakMap<Program, Map<string, CudaModule>>();
/** The program's module with the kernel variants the architecture supports (cudaCapsForArch: no wmma before sm_80). */
function moduleOf(prog: Program, arch: string): CudaModule {
  let byArch = modules.get(prog);
  if (!byArch) modules.set(prog, (byArch = new Map()));
  let m = byArch.get(arch);
  if (!m) byArch.set(arch, (m = emitCudaModule(prog, { caps: cudaCapsForArch(arch) })));
  return m;
}

const driverCall = <T>(what: string, f: () => T): T => {
  try {
    return f();
  } catch (e) {
    if (e instanceof CudaRunError) throw e;
    throw new CudaRunError(`${what}: ${(e as Error).message}`);
  }
};

/** Runs a lowered Program on `dev`; outputs like the other runtimes' runProgram. */
export async function runProgramCuda(
  prog: Program,
  dev: CudaDevice,
  inputs: Record<string, HostArray>,
  given: Record<string, number> = {},
  opts: CudaRunOptions = {},
): Promise<CudaRunResult> {
  let dims: Record<string, number>;
  try {
    dims = bindProgramDims(prog, inputs, given, opts.requires);
  } catch (e) {
    if (e instanceof EmuInputError) throw new CudaRunError(e.message);
    throw e;
  }
  const m = moduleOf(prog, dev.arch);
  for (const name of m.dims) if (dims[name] === undefined) throw new CudaRunError(`dim '${name}' is not determined by the inputs; pass it explicitly`);
  const sizes = bufferSizes(prog, dims);
  const plan = planCudaSteps(prog, m, dims);
  for (const s of plan)
    if (s.op === "launch" && s.grid.some((g, i) => g > CUDA_GRID_LIMITS[i]!))
      throw new CudaRunError(`kernel ${s.name} needs ${s.grid.join("×")} blocks (CUDA allows at most ${CUDA_GRID_LIMITS.join("×")})`);
  const bin = compileCubin(m, dev.arch, { nvcc: opts.nvcc, cacheDir: opts.cacheDir });
  const a = dev.addon;
  driverCall("cuCtxSetCurrent", () => a.contextSetCurrent(dev.context));
  const mod = driverCall(`loading the cubin of '${prog.name}' (${dev.arch})`, () => a.moduleLoad(bin.image));
  const ptrs: bigint[] = [];
  const events: bigint[] = [];
  try {
    const fns = m.kernels.map((k) => driverCall(`kernel ${k.name}`, () => a.getFunction(mod, k.name)));
    sizes.forEach((n, i) => {
      const p = driverCall(`allocating buffer ${i} (${n * 4} bytes)`, () => a.memAlloc(Math.max(1, n) * 4));
      ptrs.push(p);
      a.memset(p, 0, Math.max(1, n) * 4);
    });
    const upload = new Map<number, Uint8Array>();
    for (const inp of prog.inputs) upload.set(inp.buffer, encodeBuffer(inp.dtype, inputs[inp.name]!.data));
    for (const b of prog.buffers) if (b.values && b.values.length) upload.set(b.id, encodeBuffer(b.dtype, b.values));
    for (const [id, bytes] of upload) {
      if (bytes.byteLength !== sizes[id]! * 4) throw new CudaRunError(`buffer ${id}: ${bytes.byteLength / 4} values for ${sizes[id]} elements`);
      if (bytes.byteLength) driverCall(`uploading buffer ${id}`, () => a.memcpyHtoD(ptrs[id]!, bytes));
    }
    const exec = () => {
      for (const s of plan) {
        if (s.op === "copy") a.memcpyDtoD(ptrs[s.to]!, ptrs[s.from]!, s.elements * 4);
        else driverCall(`launching ${s.name} (grid ${s.grid.join("×")}, block ${s.block.join("×")})`, () => a.launch(fns[s.kernel]!, s.grid, s.block, 0, s.args.map((id) => ptrs[id]!), s.uniforms));
      }
    };
    exec();
    driverCall(`running '${prog.name}'`, () => a.synchronize());
    const outputs = prog.outputs.map((o) => {
      const n = sizes[o.buffer]!;
      const raw = n > 0 ? driverCall(`reading ${o.name}`, () => a.memcpyDtoH(ptrs[o.buffer]!, n * 4)) : new ArrayBuffer(0);
      return { dtype: o.dtype, shape: o.shape.map((d: Dim) => evalDim(d, dims)!), data: decodeWords(o.dtype, raw, n) };
    });
    const flag = new Uint32Array(driverCall("reading the error flag", () => a.memcpyDtoH(ptrs[prog.flag]!, 4)))[0] !== 0;
    const launches = plan.filter((s) => s.op === "launch").length;
    let timing: CudaRunResult["timing"];
    if (opts.timing) {
      const warmup = opts.timing.warmup ?? 3;
      const reps = Math.max(1, opts.timing.reps ?? 20);
      // inputs as uploaded before every replay (a planned program may reuse a dead input's buffer), outside the events
      const restore = () => {
        for (const [id, bytes] of upload) if (bytes.byteLength) a.memcpyHtoD(ptrs[id]!, bytes);
        a.memset(ptrs[prog.flag]!, 0, 4);
      };
      for (let i = 0; i < warmup; i++) {
        restore();
        exec();
      }
      const e0 = a.eventCreate();
      events.push(e0);
      const e1 = a.eventCreate();
      events.push(e1);
      const samples: number[] = [];
      for (let i = 0; i < reps; i++) {
        restore();
        a.eventRecord(e0);
        exec();
        a.eventRecord(e1);
        a.eventSynchronize(e1);
        samples.push(a.eventElapsedMs(e0, e1));
      }
      samples.sort((x, y) => x - y);
      timing = { medianMs: median(samples), samplesMs: samples };
    }
    return { outputs, dims, errorFlag: flag, launches, device: dev.info.name, arch: dev.arch, compiled: bin.compiled, compileMs: bin.compileMs, timing };
  } finally {
    for (const e of events) a.eventDestroy(e);
    for (const p of ptrs) a.memFree(p);
    a.moduleUnload(mod);
  }
}

/** Median of sorted samples. */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Opens device `ordinal` (CudaUnavailableError with the one-line reason when CUDA cannot run), runs, and releases it. */
export async function runProgramOnCuda(
  prog: Program,
  inputs: Record<string, HostArray>,
  given: Record<string, number> = {},
  opts: CudaRunOptions & { ordinal?: number } = {},
): Promise<CudaRunResult> {
  const dev = CudaDevice.open(opts.ordinal ?? 0);
  try {
    return await runProgramCuda(prog, dev, inputs, given, opts);
  } finally {
    dev.destroy();
  }
}
