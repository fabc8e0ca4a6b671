/**
 * One Dawn GPUDevice shared by attnc's runtime and TensorFlow.js's WebGPU backend.
 *
 * The Dawn instance is created here (the `webgpu` package) and published as
 * `globalThis.navigator.gpu`: WebGpuDevice.open() then takes its adapter from navigator.gpu
 * (its browser path), and TF.js's WebGPUBackend — which refuses to start without navigator.gpu —
 * is constructed on that same GPUDevice (`new WebGPUBackend(dev.device, adapterInfo)`) and
 * registered under the name "webgpu", the name its kernels are registered for. TF.js creates its
 * pipelines with the synchronous createComputePipeline unless WEBGPU_ENGINE_COMPILE_ONLY is set;
 * the flag is left false (createComputePipelineAsync is the call that crashes under SwiftShader).
 */
/// <reference types="@webgpu/types" />
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { WebGpuDevice, dawnInstanceFlags } from "../../runtime/webgpu/device.ts";

export interface SharedGpu {
  readonly dev: WebGpuDevice;
  readonly tf: typeof tf;
  readonly backend: WebGPUBackend;
  /** vendor, architecture, device, description of the adapter. */
  readonly adapterInfo: string;
  /** Counts compute dispatches recorded on this device (ours and TF.js's alike). */
  readonly dispatchCounter: { count: number };
  /** Flushes TF.js's pending command encoder (it batches up to 15 dispatches per submit). */
  flushTf(): void;
}

let shared: Promise<SharedGpu> | undefined;

export function sharedGpu(): Promise<SharedGpu> {
  return (shared ??= open());
}

async function open(): Promise<SharedGpu> {
  if (!process.env.XDG_RUNTIME_DIR) {
    // as runtime/webgpu/device.ts does: Dawn's windowing probe otherwise prints an "error:" line
    const dir = join(tmpdir(), `attnc-runtime-${process.getuid?.() ?? "user"}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  const mod = (await import("webgpu")) as unknown as { create: (o: string[]) => GPU; globals: Record<string, unknown> };
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = mod.create(dawnInstanceFlags()); // the runtime's toggles, for TF.js too (same device)
  // Node 20 has no navigator; held here, the instance lives as long as the process
  Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  const dev = await WebGpuDevice.open();
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error("no WebGPU adapter");
  const i = adapter.info;
  const adapterInfo = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" / ");
  if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  const backend = new WebGPUBackend(dev.device, { vendor: i.vendor, architecture: i.architecture } as GPUAdapterInfo);
  tf.registerBackend("webgpu", () => backend, 10);
  if (!(await tf.setBackend("webgpu"))) throw new Error("TF.js could not start its WebGPU backend on the shared device");
  await tf.ready();
  if ((tf.backend() as WebGPUBackend).device !== dev.device) throw new Error("TF.js is not on the shared device");
  // count dispatches: patch the pass encoder's prototype (both runtimes record through it)
  const counter = { count: 0 };
  const probe = dev.device.createCommandEncoder();
  const pass = probe.beginComputePass();
  const proto = Object.getPrototypeOf(pass) as GPUComputePassEncoder;
  pass.end();
  probe.finish();
  const orig = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...a: Parameters<GPUComputePassEncoder["dispatchWorkgroups"]>) {
    counter.count++;
    return orig.apply(this, a);
  };
  const b = backend as unknown as { ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void };
  return {
    dev,
    tf,
    backend,
    adapterInfo,
    dispatchCounter: counter,
    flushTf() {
      b.ensureCommandEncoderReady();
      b.endComputePassEncoder();
      b.submitQueue();
    },
  };
}
