/**
 * A lowered Program made ready to run many times on one WebGpuDevice, for timing: the same
 * artifacts, dims binding, device checks, buffer sizes, pipelines, uniforms and per-launch
 * compute passes as runtime/webgpu/execute.ts runManifest, but with the buffers allocated, the
 * inputs uploaded, and the pipelines and bind groups created once. `encode()` then records one
 * run (every launch and copy, loops unrolled) into a fresh command buffer: that and the submit
 * are all a timed run does. Nothing is read back inside a timed run.
 */
/// <reference types="@webgpu/types" />
import { buildWgslArtifacts } from "../../backends/wgsl/artifacts.ts";
import { decodeValue, evalDimExpr, type DimExpr, type ManifestDType, type ManifestStep } from "../../backends/manifest.ts";
import type { DivisibilityRequirement } from "../../compiler/graph/node.ts";
import type { HostTensor } from "../../compiler/graph/interp.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import type { WebGpuDevice } from "../../runtime/webgpu/device.ts";
import { bindManifestDims, checkDevice, RunError } from "../../runtime/webgpu/execute.ts";

export interface PreparedRun {
  /** Compute dispatches one run records (zero-sized launches skipped, loops unrolled). */
  readonly dispatches: number;
  /** Bytes of the program's GPU buffers at these dims (what one run allocates). */
  readonly bufferBytes: number;
  /** Records one run into a new command buffer (the error flag is cleared first). */
  encode(): GPUCommandBuffer;
  /** Times every dispatch alone (submit, await the queue): [kernel file, workgroups, ms]; not for timed regions. */
  profile(): Promise<[string, string, number][]>;
  /** Reads the outputs (f32/i32/u32 as stored) and the error flag; not for timed regions. */
  read(): Promise<{ outputs: { shape: number[]; data: Float64Array }[]; errorFlag: boolean }>;
  destroy(): void;
}

function hostToGpu(dtype: ManifestDType, data: ArrayLike<number>): ArrayBufferView {
  if (dtype === "i32") return Int32Array.from(data);
  if (dtype === "u32") return Uint32Array.from(data);
  if (dtype === "bool") return Uint32Array.from(data, (x) => (x ? 1 : 0));
  return Float32Array.from(data); // f16/bf16 live as f32; the bench uses f32 only
}

type Op =
  | { readonly k: "pass"; readonly kernel: string; readonly pipeline: GPUComputePipeline; readonly group: GPUBindGroup; readonly xyz: readonly [number, number, number] }
  | { readonly k: "copy"; readonly from: GPUBuffer; readonly to: GPUBuffer; readonly bytes: number };

export async function prepareRun(
  prog: Program,
  dev: WebGpuDevice,
  inputs: Record<string, HostTensor>,
  given: Record<string, number>,
  requires: readonly DivisibilityRequirement[] = [],
  /** For experiments (bench/experiments): rewrites a kernel's WGSL before its pipeline is made. */
  rewrite?: (file: string, wgsl: string) => string,
): Promise<PreparedRun> {
  const { manifest: m, files } = buildWgslArtifacts(prog, { requires });
  const text = new Map(rewrite ? files.map(([f, t]) => [f, rewrite(f, t)] as const) : files);
  checkDevice(m, dev);
  const dims = bindManifestDims(m, inputs, given);
  const ev = (d: DimExpr, what: string): number => {
    const v = evalDimExpr(d, dims);
    if (v === undefined || v < 0) throw new RunError(`${what}: ${d} has no non-negative value`);
    return v;
  };
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const sizes = m.buffers.map((b) => ev(b.numel, `size of buffer ${b.id}`));
  const gpu = m.buffers.map((_, i) => dev.buffer(sizes[i]! * 4, S));
  const temps: GPUBuffer[] = [];
  for (const inp of m.inputs) if (sizes[inp.buffer]! > 0) dev.write(gpu[inp.buffer]!, hostToGpu(inp.dtype, inputs[inp.name]!.data));
  m.buffers.forEach((b, i) => {
    if (b.values && b.values.length) dev.write(gpu[i]!, hostToGpu(b.dtype, b.values.map(decodeValue)));
  });
  const ops: Op[] = [];
  const iters = new Map<number, number>();
  const maxX = dev.caps.maxWorkgroupsPerDimension;
  const walk = async (steps: readonly ManifestStep[]): Promise<void> => {
    for (const s of steps) {
      if (s.op === "copy") {
        const n = Math.min(ev(s.elements, "copy"), sizes[s.from]!, sizes[s.to]!);
        if (n > 0) ops.push({ k: "copy", from: gpu[s.from]!, to: gpu[s.to]!, bytes: n * 4 });
      } else if (s.op === "loop") {
        const n = ev(s.count, `loop ${s.loop}`);
        for (let i = 0; i < n; i++) {
          iters.set(s.loop, i);
          await walk(s.body);
        }
      } else {
        let [x, y, z] = s.dispatch.map((d) => ev(d, `dispatch of ${s.kernel}`)) as [number, number, number];
        if (x === 0 || y === 0 || z === 0) continue;
        if (x > maxX) {
          if (!s.foldable || y !== 1 || z !== 1) throw new RunError(`kernel ${s.kernel} needs ${x}×${y}×${z} workgroups`);
          y = Math.ceil(x / maxX);
          x = maxX;
        }
        const { pipeline, layout } = await dev.pipeline(text.get(s.kernel)!, s.bindings.map((b) => b.access === "read"));
        const uni = new ArrayBuffer(s.uniformBytes);
        const dv = new DataView(uni);
        for (const u of s.uniforms) {
          const src = u.source;
          const val = "dim" in src ? dims[src.dim]! : "iteration" in src ? iters.get(src.iteration) ?? 0 : src.value;
          if (u.type === "f32") dv.setFloat32(u.offset, val, true);
          else if (u.type === "u32") dv.setUint32(u.offset, val >>> 0, true);
          else dv.setInt32(u.offset, val | 0, true);
        }
        const ub = dev.buffer(uni.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
        temps.push(ub);
        dev.write(ub, new Uint8Array(uni));
        const group = dev.device.createBindGroup({
          layout,
          entries: [
            ...s.bindings.map((b, i) => ({ binding: i, resource: { buffer: gpu[b.buffer]! } })),
            { binding: s.uniformBinding, resource: { buffer: ub } },
          ],
        });
        ops.push({ k: "pass", kernel: s.kernel, pipeline, group, xyz: [x, y, z] });
      }
    }
  };
  await walk(m.steps);
  const flag = gpu[m.flag]!;
  return {
    dispatches: ops.filter((o) => o.k === "pass").length,
    bufferBytes: sizes.reduce((a, n) => a + Math.max(16, n * 4), 0),
    encode() {
      const enc = dev.device.createCommandEncoder();
      enc.clearBuffer(flag, 0, 4);
      for (const o of ops) {
        if (o.k === "copy") enc.copyBufferToBuffer(o.from, 0, o.to, 0, o.bytes);
        else {
          // one compute pass per launch, as runManifest records them
          const pass = enc.beginComputePass();
          pass.setPipeline(o.pipeline);
          pass.setBindGroup(0, o.group);
          pass.dispatchWorkgroups(...o.xyz);
          pass.end();
        }
      }
      return enc.finish();
    },
    async profile() {
      const res: [string, string, number][] = [];
      for (const o of ops) {
        await dev.device.queue.onSubmittedWorkDone();
        const enc = dev.device.createCommandEncoder();
        if (o.k === "copy") enc.copyBufferToBuffer(o.from, 0, o.to, 0, o.bytes);
        else {
          const pass = enc.beginComputePass();
          pass.setPipeline(o.pipeline);
          pass.setBindGroup(0, o.group);
          pass.dispatchWorkgroups(...o.xyz);
          pass.end();
        }
        const t0 = performance.now();
        dev.device.queue.submit([enc.finish()]);
        await dev.device.queue.onSubmittedWorkDone();
        res.push([o.k === "copy" ? "copy" : o.kernel, o.k === "copy" ? `${o.bytes} B` : o.xyz.join("×"), performance.now() - t0]);
      }
      return res;
    },
    async read() {
      const outputs = [];
      for (const o of m.outputs) {
        const n = sizes[o.buffer]!;
        const raw = n > 0 ? await dev.read(gpu[o.buffer]!, n * 4) : new ArrayBuffer(0);
        const view = o.dtype === "i32" ? new Int32Array(raw, 0, n) : o.dtype === "u32" || o.dtype === "bool" ? new Uint32Array(raw, 0, n) : new Float32Array(raw, 0, n);
        outputs.push({ shape: o.shape.map((d) => ev(d, `shape of ${o.name}`)), data: Float64Array.from(view) });
      }
      const errorFlag = new Uint32Array(await dev.read(flag, 4))[0] !== 0;
      return { outputs, errorFlag };
    },
    destroy() {
      for (const b of [...gpu, ...temps]) b.destroy();
    },
  };
}
