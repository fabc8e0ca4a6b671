/**
 * Runs compiled programs on a WebGpuDevice. The unit of execution is a manifest
 * (backends/manifest.ts) plus its WGSL kernel files — exactly what `attnc compile --target wgsl`
 * writes — so Node, a browser and the CLI run the same thing; `runProgram` builds those artifacts
 * from a lowered Program first.
 *
 * A run binds dims from the input shapes, checks them (shapes, divisibility, device limits),
 * allocates one GPU buffer per program buffer (4-byte elements: f16/bf16 live as f32, bool as
 * u32; WebGPU zero-initializes them), uploads inputs and constants, records every launch, copy
 * and loop into one command encoder, and reads back the outputs and the error flag. Launches
 * with no work (a zero-sized grid) are skipped.
 */
/// <reference types="@webgpu/types" />
import type { HostArray, RunResult } from "../host.ts";
import {
  decodeValue, dimExprVar, evalDimExpr, type DimExpr, type Manifest, type ManifestDType, type ManifestStep,
} from "../../backends/manifest.ts";
import { buildWgslArtifacts, kernelWgsl } from "../../backends/wgsl/artifacts.ts";
import type { DivisibilityRequirement } from "../../compiler/graph/node.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import { f16Bits, f16FromBits, roundBF16, roundF16 } from "../../compiler/util/float16.ts";
import { checkProgram, type TargetCaps } from "../../compiler/kernel/caps.ts";
import type { WebGpuDevice } from "./device.ts";

export { kernelWgsl };

export type { HostArray, RunResult } from "../host.ts";

/** Inputs or dims that do not fit the program, or a program the device cannot run. */
export class RunError extends Error {}

const fmt = (s: readonly (number | string)[]) => `[${s.join(", ")}]`;

/** Binds dim variables from input shapes (an axis that is exactly one variable binds it) and checks every input. */
export function bindManifestDims(m: Manifest, inputs: Record<string, HostArray>, given: Record<string, number> = {}): Record<string, number> {
  const env: Record<string, number> = {};
  for (const [k, v] of Object.entries(given)) {
    if (!Number.isInteger(v) || v < 0) throw new RunError(`dim ${k} = ${v} is not a non-negative integer`);
    env[k] = v;
  }
  for (const k of Object.keys(inputs))
    if (!m.inputs.some((i) => i.name === k)) throw new RunError(`unknown input '${k}'; the program's inputs are ${m.inputs.map((i) => `'${i.name}'`).join(", ") || "none"}`);
  for (const inp of m.inputs) {
    const t = inputs[inp.name];
    if (!t) throw new RunError(`input '${inp.name}' (${inp.dtype}${fmt(inp.shape)}) is missing`);
    if (t.dtype !== inp.dtype) throw new RunError(`input '${inp.name}': expected dtype ${inp.dtype}, got ${t.dtype}`);
    if (t.shape.length !== inp.shape.length) throw new RunError(`input '${inp.name}' has shape ${fmt(t.shape)}, expected ${fmt(inp.shape)}`);
    inp.shape.forEach((d, i) => {
      const v = dimExprVar(d);
      if (v !== undefined && env[v] === undefined) env[v] = t.shape[i]!;
    });
  }
  for (const inp of m.inputs) {
    const t = inputs[inp.name]!;
    inp.shape.forEach((d, i) => {
      const want = evalDimExpr(d, env);
      if (want !== t.shape[i]) throw new RunError(`input '${inp.name}' has shape ${fmt(t.shape)}, expected ${fmt(inp.shape)} (${d} = ${want ?? "unbound"})`);
    });
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new RunError(`input '${inp.name}': ${t.data.length} values for shape ${fmt(t.shape)}`);
  }
  for (const r of m.requires) {
    const v = evalDimExpr(r.dim, env);
    if (v !== undefined && v % r.divisor !== 0) throw new RunError(`${r.what} needs ${r.dim} = ${v} to be divisible by ${r.divisor}`);
  }
  for (const d of m.dims) if (env[d.name] === undefined) throw new RunError(`dim '${d.name}' is not determined by the inputs; pass it explicitly`);
  return env;
}

function hostToGpu(dtype: ManifestDType, data: ArrayLike<number>, storage?: string): ArrayBufferView {
  if (storage === "f16") return Uint16Array.from(data, (x) => f16Bits(x));
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

/** Host data padded to whole 4-byte words (queue.writeBuffer writes multiples of 4 bytes). */
function padded(v: ArrayBufferView): ArrayBufferView {
  if (v.byteLength % 4 === 0) return v;
  const out = new Uint8Array(Math.ceil(v.byteLength / 4) * 4);
  out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return out;
}

function gpuToHost(dtype: ManifestDType, buf: ArrayBuffer, n: number, storage?: string): Float64Array {
  if (storage === "f16") return Float64Array.from(new Uint16Array(buf, 0, n), (b) => f16FromBits(b));
  const src = dtype === "i32" ? new Int32Array(buf, 0, n) : dtype === "u32" || dtype === "bool" ? new Uint32Array(buf, 0, n) : new Float32Array(buf, 0, n);
  return Float64Array.from(src);
}

/** Checks the manifest's requirements against the device; throws RunError naming the first one missing. */
export function checkDevice(m: Manifest, dev: WebGpuDevice): void {
  for (const f of m.requirements.features) if (!dev.caps.features.has(f)) throw new RunError(`the device lacks the WebGPU feature '${f}'`);
  const have = dev.caps.limits;
  for (const [k, need] of Object.entries(m.requirements.limits)) {
    const h = have[k as keyof typeof have];
    if (h !== undefined && need > h) throw new RunError(`the program needs the device limit ${k} >= ${need}; this device has ${h}`);
  }
}

/**
 * Runs a manifest. `source(file)` gives the WGSL text of a kernel file named in the manifest.
 * `given` binds dims that no input determines (and may repeat ones that inputs do, if equal).
 */
export async function runManifest(
  m: Manifest,
  source: (file: string) => string,
  dev: WebGpuDevice,
  inputs: Record<string, HostArray>,
  given: Record<string, number> = {},
  /** A lower workgroups-per-dimension limit than the device's to enforce (a capability record's). */
  limits: { readonly maxComputeWorkgroupsPerDimension?: number } = {},
): Promise<RunResult> {
  checkDevice(m, dev);
  const dims = bindManifestDims(m, inputs, given);
  const ev = (d: DimExpr, what: string): number => {
    const v = evalDimExpr(d, dims);
    if (v === undefined) throw new RunError(`${what}: ${d} has no value (pass its dims explicitly)`);
    if (v < 0) throw new RunError(`${what}: ${d} = ${v} is negative`);
    return v;
  };
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const sizes = m.buffers.map((b) => ev(b.numel, `size of buffer ${b.id}${b.node ? ` (${b.node})` : ""}`));
  const maxBinding = dev.caps.maxStorageBufferBindingSize;
  const eb = m.buffers.map((b) => b.elementBytes ?? 4);
  sizes.forEach((n, i) => {
    if (n * eb[i]! > maxBinding) throw new RunError(`buffer ${i} needs ${n * eb[i]!} bytes; the device binds at most ${maxBinding} (maxStorageBufferBindingSize)`);
  });
  const gpu = m.buffers.map((_, i) => dev.buffer(sizes[i]! * eb[i]!, S));
  /** Bytes of n elements of buffer i as copied (copies are whole 4-byte words; buffers are padded to them). */
  const copyBytes = (i: number, n: number) => Math.ceil((n * eb[i]!) / 4) * 4;
  const temps: GPUBuffer[] = [];
  try {
    for (const inp of m.inputs)
      if (sizes[inp.buffer]! > 0) dev.write(gpu[inp.buffer]!, padded(hostToGpu(inp.dtype, inputs[inp.name]!.data, m.buffers[inp.buffer]!.storage)));
    m.buffers.forEach((b, i) => {
      if (b.values && b.values.length) dev.write(gpu[i]!, padded(hostToGpu(b.dtype, b.values.map(decodeValue), b.storage)));
    });
    dev.write(gpu[m.flag]!, new Uint32Array([0]));
    const enc = dev.device.createCommandEncoder();
    let launches = 0;
    const iters = new Map<number, number>();
    const maxX = Math.min(dev.caps.maxWorkgroupsPerDimension, limits.maxComputeWorkgroupsPerDimension ?? Infinity);
    const run = async (steps: readonly ManifestStep[]): Promise<void> => {
      for (const s of steps) {
        if (s.op === "copy") {
          const n = Math.min(ev(s.elements, "copy"), sizes[s.from]!, sizes[s.to]!);
          if (n > 0) enc.copyBufferToBuffer(gpu[s.from]!, 0, gpu[s.to]!, 0, Math.min(copyBytes(s.from, n), copyBytes(s.from, sizes[s.from]!), copyBytes(s.to, sizes[s.to]!)));
        } else if (s.op === "loop") {
          const n = ev(s.count, `count of loop ${s.loop}`);
          for (let i = 0; i < n; i++) {
            iters.set(s.loop, i);
            await run(s.body);
          }
        } else {
          let [x, y, z] = s.dispatch.map((d) => ev(d, `dispatch of ${s.kernel}`)) as [number, number, number];
          if (x === 0 || y === 0 || z === 0) continue;
          if (x > maxX) {
            if (!s.foldable || y !== 1 || z !== 1 || x > maxX * maxX)
              throw new RunError(`kernel ${s.kernel} (${s.node}) needs ${x}×${y}×${z} workgroups; at most ${maxX} are allowed per dimension (maxComputeWorkgroupsPerDimension)`);
            y = Math.ceil(x / maxX);
            x = maxX;
          }
          if (y > maxX || z > maxX) throw new RunError(`kernel ${s.kernel} (${s.node}) needs ${x}×${y}×${z} workgroups; at most ${maxX} are allowed per dimension (maxComputeWorkgroupsPerDimension)`);
          const { pipeline, layout } = await dev.pipeline(source(s.kernel), s.bindings.map((b) => b.access === "read"));
          const uni = new ArrayBuffer(s.uniformBytes);
          const dv = new DataView(uni);
          for (const u of s.uniforms) {
            const src = u.source;
            const val = "dim" in src ? dims[src.dim] : "iteration" in src ? iters.get(src.iteration) ?? 0 : src.value;
            if (val === undefined) throw new RunError(`kernel ${s.kernel}: uniform ${u.name} needs dim ${"dim" in src ? src.dim : "?"}`);
            if (u.type === "f32") dv.setFloat32(u.offset, val, true);
            else if (u.type === "u32") dv.setUint32(u.offset, val >>> 0, true);
            else dv.setInt32(u.offset, val | 0, true);
          }
          const ub = dev.buffer(uni.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
          temps.push(ub);
          dev.write(ub, new Uint8Array(uni));
          const bg = dev.device.createBindGroup({
            layout,
            entries: [
              ...s.bindings.map((b, i) => ({ binding: i, resource: { buffer: gpu[b.buffer]! } })),
              { binding: s.uniformBinding, resource: { buffer: ub } },
            ],
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
    await run(m.steps);
    dev.device.queue.submit([enc.finish()]);
    const outputs = [];
    for (const o of m.outputs) {
      const n = sizes[o.buffer]!;
      const raw = n > 0 ? await dev.read(gpu[o.buffer]!, n * eb[o.buffer]!) : new ArrayBuffer(0);
      outputs.push({ dtype: o.dtype, shape: o.shape.map((d) => ev(d, `shape of output ${o.name}`)), data: gpuToHost(o.dtype, raw, n, m.buffers[o.buffer]!.storage) });
    }
    const flag = new Uint32Array(await dev.read(gpu[m.flag]!, 4))[0] !== 0;
    return { outputs, dims, errorFlag: flag, launches };
  } finally {
    for (const b of [...gpu, ...temps]) b.destroy();
  }
}

/**
 * Runs a lowered Program: checks its kernels against the device's capability record (a kernel that
 * does not fit is a RunError naming the limit), builds its WGSL artifacts for the device (f16
 * native with shader-f16; memoized per kernel) and runs the manifest.
 */
export async function runProgram(
  prog: Program,
  dev: WebGpuDevice,
  inputs: Record<string, HostArray>,
  given: Record<string, number> = {},
  opts: { requires?: readonly DivisibilityRequirement[]; caps?: TargetCaps } = {},
): Promise<RunResult> {
  const caps = opts.caps ?? dev.record;
  const bad = checkProgram(prog, caps)[0];
  if (bad) throw new RunError(`kernel ${bad.kernel} (${bad.node.op}#${bad.node.id}) needs ${bad.limit} >= ${bad.need}; ${caps.source} has ${bad.have}`);
  const { manifest, files } = buildWgslArtifacts(prog, { requires: opts.requires, caps });
  const text = new Map(files);
  return runManifest(manifest, (f) => text.get(f)!, dev, inputs, given, caps);
}
