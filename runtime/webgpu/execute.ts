/**
 * Runs a lowered Program on a WebGpuDevice: binds dims from the input shapes, allocates one GPU
 * buffer per program buffer (4-byte elements: f16/bf16 live as f32, bool as u32), uploads inputs and
 * constants, records every launch, copy and loop into one command encoder, and reads back the
 * outputs and the error flag. Launches with no work (a zero-sized grid) are skipped.
 */
/// <reference types="@webgpu/types" />
import { asVar, evalDim, shapeToString, type Dim } from "../../compiler/graph/dim.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import type { Program, Step } from "../../compiler/kernel/program.ts";
import type { Kernel } from "../../compiler/kernel/ir.ts";
import { printWgsl } from "../../backends/wgsl/dialect.ts";
import { roundBF16, roundF16 } from "../../compiler/util/float16.ts";
import type { WebGpuDevice } from "./device.ts";

export interface HostArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface RunResult {
  readonly outputs: { dtype: DType; shape: number[]; data: Float64Array }[];
  readonly dims: Record<string, number>;
  readonly errorFlag: boolean;
  readonly launches: number;
}

export class RunError extends Error {}

const wgslCache = new WeakMap<Kernel, string>();
export function kernelWgsl(k: Kernel): string {
  let s = wgslCache.get(k);
  if (s === undefined) wgslCache.set(k, (s = printWgsl(k)));
  return s;
}

/** Binds dim variables from input shapes (a dim that is one variable binds it) and checks the rest. */
export function bindDims(prog: Program, inputs: Record<string, HostArray>, given: Record<string, number> = {}): Record<string, number> {
  const env: Record<string, number> = { ...given };
  for (const inp of prog.inputs) {
    const t = inputs[inp.name];
    if (!t) throw new RunError(`input '${inp.name}' is missing`);
    if (t.shape.length !== inp.shape.length) throw new RunError(`input '${inp.name}' has shape [${t.shape.join(", ")}], expected ${shapeToString(inp.shape)}`);
    inp.shape.forEach((d, i) => {
      const v = asVar(d);
      if (v !== undefined && env[v] === undefined) env[v] = t.shape[i]!;
    });
  }
  for (const inp of prog.inputs) {
    const t = inputs[inp.name]!;
    inp.shape.forEach((d, i) => {
      const want = evalDim(d, env);
      if (want !== t.shape[i]) throw new RunError(`input '${inp.name}' has shape [${t.shape.join(", ")}], expected ${shapeToString(inp.shape)} (${d} = ${want ?? "unbound"})`);
    });
  }
  return env;
}

function hostToGpu(dtype: DType, data: ArrayLike<number>): ArrayBufferView {
  switch (dtype) {
    case "f32":
      return Float32Array.from(data);
    case "f16":
      return Float32Array.from(data, (x) => roundF16(x));
    case "bf16":
      return Float32Array.from(data, (x) => roundBF16(x));
    case "i32":
      return Int32Array.from(data);
    case "u32":
      return Uint32Array.from(data);
    case "bool":
      return Uint32Array.from(data, (x) => (x ? 1 : 0));
  }
}

function gpuToHost(dtype: DType, buf: ArrayBuffer, n: number): Float64Array {
  const src = dtype === "i32" ? new Int32Array(buf, 0, n) : dtype === "u32" || dtype === "bool" ? new Uint32Array(buf, 0, n) : new Float32Array(buf, 0, n);
  return Float64Array.from(src);
}

export async function runProgram(prog: Program, dev: WebGpuDevice, inputs: Record<string, HostArray>, given: Record<string, number> = {}): Promise<RunResult> {
  const dims = bindDims(prog, inputs, given);
  const ev = (d: Dim, what: string): number => {
    const v = evalDim(d, dims);
    if (v === undefined) throw new RunError(`${what}: dim ${d} is not bound (pass it explicitly)`);
    return v;
  };
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const sizes = prog.buffers.map((b) => ev(b.numel, `buffer ${b.id}`));
  const total = sizes.reduce((a, b) => a + b * 4, 0);
  if (total > 2 ** 31) throw new RunError(`the program needs ${total} bytes of buffers`);
  const gpu = prog.buffers.map((b, i) => dev.buffer(sizes[i]! * 4, S));
  const temps: GPUBuffer[] = [];
  try {
    for (const inp of prog.inputs) dev.write(gpu[inp.buffer]!, hostToGpu(inp.dtype, inputs[inp.name]!.data));
    prog.buffers.forEach((b, i) => {
      if (b.values) dev.write(gpu[i]!, hostToGpu(b.dtype, b.values));
    });
    dev.write(gpu[prog.flag]!, new Uint32Array([0]));
    const enc = dev.device.createCommandEncoder();
    let launches = 0;
    const iters = new Map<number, number>();
    const maxX = dev.caps.maxWorkgroupsPerDimension;
    const evName = (name: string) => {
      const v = dims[name];
      if (v === undefined) throw new RunError(`dim '${name}' is not bound (pass it explicitly)`);
      return v;
    };
    const run = async (steps: readonly Step[]): Promise<void> => {
      for (const s of steps) {
        if (s.k === "copy") {
          const bytes = Math.min(sizes[s.from]!, sizes[s.to]!) * 4;
          if (bytes > 0) enc.copyBufferToBuffer(gpu[s.from]!, 0, gpu[s.to]!, 0, Math.ceil(bytes / 4) * 4);
        } else if (s.k === "loop") {
          const n = ev(s.n, "loop count");
          for (let i = 0; i < n; i++) {
            iters.set(s.loop, i);
            await run(s.body);
          }
        } else {
          const k = s.kernel;
          let [x, y, z] = k.dispatch.map((d) => ev(d, `dispatch of ${k.name}`)) as [number, number, number];
          if (x === 0 || y === 0 || z === 0) continue;
          if (x > maxX) {
            if (y !== 1 || z !== 1) throw new RunError(`kernel ${k.name} needs ${x}×${y}×${z} workgroups (limit ${maxX} per dimension)`);
            y = Math.ceil(x / maxX);
            x = maxX;
          }
          const { pipeline, layout } = await dev.pipeline(kernelWgsl(k), k.buffers.map((b) => b.access === "read"));
          const uni = new ArrayBuffer(Math.max(16, Math.ceil(((k.uniforms.length + 1) * 4) / 16) * 16));
          const iv = new Int32Array(uni);
          const fv = new Float32Array(uni);
          const uv = new Uint32Array(uni);
          s.uniforms.forEach((src, i) => {
            const t = k.uniforms[i]!.t;
            const val = src.kind === "dim" ? evName(src.name) : iters.get(src.loop) ?? 0;
            if (t === "f32") fv[i] = val;
            else if (t === "u32") uv[i] = val;
            else iv[i] = val;
          });
          uv[k.uniforms.length] = 0x7f800000;
          const ub = dev.buffer(uni.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
          temps.push(ub);
          dev.write(ub, new Uint8Array(uni));
          const bg = dev.device.createBindGroup({
            layout,
            entries: [...s.args.map((id, i) => ({ binding: i, resource: { buffer: gpu[id]! } })), { binding: s.args.length, resource: { buffer: ub } }],
          });
          const pass = enc.beginComputePass();
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bg);
          pass.dispatchWorkgroups(x, y, z);
          pass.end();
          launches++;
        }
      }
    };
    await run(prog.steps);
    dev.device.queue.submit([enc.finish()]);
    const outputs = [];
    for (const o of prog.outputs) {
      const n = sizes[o.buffer]!;
      const raw = n > 0 ? await dev.read(gpu[o.buffer]!, n * 4) : new ArrayBuffer(0);
      outputs.push({ dtype: o.dtype, shape: o.shape.map((d) => ev(d, `output ${o.name}`)), data: gpuToHost(o.dtype, raw, n) });
    }
    const flag = new Uint32Array(await dev.read(gpu[prog.flag]!, 4))[0] !== 0;
    return { outputs, dims, errorFlag: flag, launches };
  } finally {
    for (const b of [...gpu, ...temps]) b.destroy();
  }
}
