/**
 * The WebGPU device: one code path for Dawn in Node (the `webgpu` npm package) and for
 * `navigator.gpu` in a browser. Holds the adapter's real limits and features, a pipeline cache
 * keyed by WGSL text, and the buffer/dispatch/readback primitives the executor needs.
 */
/// <reference types="@webgpu/types" />
import { CAP_FEATURES, LIMIT_KEYS, capsFromWebGpu, type CapLimits, type TargetCaps } from "../../compiler/kernel/caps.ts";

export interface GpuCaps {
  readonly maxWorkgroupsPerDimension: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly features: ReadonlySet<string>;
  /** The device's values of the limits a manifest can require (backends/manifest.ts). */
  readonly limits: Readonly<Record<LimitName, number>>;
}

/** The limits manifests state requirements for (ManifestRequirements.limits). */
export const LIMIT_NAMES = [
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBuffersPerShaderStage",
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export class WebGpuUnavailable extends Error {}

/**
 * Dawn's windowing probe prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment."
 * on headless machines (CI, containers), which reads like an attnc error: when the variable is
 * unset, point it at a private (0700) directory under the temp dir first. Node only.
 */
async function quietRuntimeDir(): Promise<void> {
  const proc = (globalThis as { process?: { env: Record<string, string | undefined>; getuid?: () => number } }).process;
  if (!proc || proc.env.XDG_RUNTIME_DIR) return;
  try {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = path.join(os.tmpdir(), `attnc-runtime-${proc.getuid?.() ?? "user"}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    proc.env.XDG_RUNTIME_DIR = dir;
  } catch {
    // only cosmetic
  }
}

/**
 * Dawn's GPU instance, created once per process and never released: dawn.node frees the native
 * instance when its JS object is garbage-collected, even while devices made from it are in use
 * (then the process crashes in Dawn's threads: futex errors, std::system_error, SIGSEGV).
 */
let dawnGpu: GPU | undefined;

/**
 * The instance toggles Dawn is created with. `disable_workgroup_init`: WGSL zero-fills workgroup
 * memory at the start of every workgroup, and Dawn implements that with generated code that is
 * slow to compile on SwiftShader (a 2048-slot sort kernel: 632 → under 300 ms; one ToDRE program
 * 807 → 208 ms) and runs at every workgroup start. attnc's kernels write workgroup memory before
 * reading it: the CUDA emulator poisons shared memory (0xff) before every block and every kernel
 * passes there, and CUDA shared memory is never zero-filled either. ATTNC_DAWN_WORKGROUP_INIT=1
 * keeps Dawn's zero-fill (to check that claim on WebGPU).
 */
export function dawnInstanceFlags(): string[] {
  return process.env.ATTNC_DAWN_WORKGROUP_INIT === "1" ? [] : ["enable-dawn-features=disable_workgroup_init"];
}

/** `navigator.gpu` when present (browsers), else Dawn's instance through the `webgpu` package. */
async function gpuInstance(): Promise<GPU> {
  const nav: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (nav) return nav;
  let mod: { create: (opts: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import("webgpu")) as never;
  } catch (e) {
    throw new WebGpuUnavailable(`the 'webgpu' package could not be loaded: ${(e as Error).message}`);
  }
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  await quietRuntimeDir();
  return (dawnGpu ??= mod.create(dawnInstanceFlags()));
}

/** The limits a device is requested with: the adapter's own values of every limit in a capability record. */
function deviceLimits(adapter: GPUAdapter): Record<keyof CapLimits, number> {
  const l = adapter.limits as unknown as Record<string, number>;
  return Object.fromEntries(LIMIT_KEYS.map((k) => [k, l[k]!])) as Record<keyof CapLimits, number>;
}

/** The optional features of a capability record the adapter offers (requested at device creation). */
function deviceFeatures(adapter: GPUAdapter): string[] {
  return CAP_FEATURES.filter((f) => adapter.features.has(f));
}

function adapterLabel(adapter: GPUAdapter): string {
  const info = (adapter as { info?: { vendor?: string; architecture?: string; description?: string } }).info;
  return [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(" ") || "webgpu";
}

export class WebGpuDevice {
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private constructor(
    readonly device: GPUDevice,
    readonly caps: GpuCaps,
    /** The device's capability record (compiler/kernel/caps.ts): what lowering and checks use for this device. */
    readonly record: TargetCaps,
    readonly adapterName: string,
    /** Held so the adapter (and the instance behind it) live as long as the device. */
    private readonly adapter: GPUAdapter,
  ) {}

  /**
   * The capability record a device opened now would have, from the adapter alone (no device is
   * created); undefined when no adapter is available (open() then says why).
   */
  static async probe(): Promise<TargetCaps | undefined> {
    try {
      const adapter = await (await gpuInstance()).requestAdapter();
      return adapter ? capsFromWebGpu(deviceLimits(adapter), deviceFeatures(adapter), `adapter ${adapterLabel(adapter)}`) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Opens a device: `navigator.gpu` when present (browsers), else Dawn through the `webgpu` package. */
  static async open(): Promise<WebGpuDevice> {
    const gpu = await gpuInstance();
    let adapter: GPUAdapter | null;
    try {
      adapter = await gpu.requestAdapter();
    } catch (e) {
      throw new WebGpuUnavailable(`requesting a WebGPU adapter failed: ${(e as Error).message}`);
    }
    if (!adapter) throw new WebGpuUnavailable("no WebGPU adapter (on Linux without a GPU: install chromium and libvulkan1 and set VK_ICD_FILENAMES to SwiftShader's ICD; see scripts/env.sh)");
    const device = await adapter.requestDevice({
      requiredLimits: { ...deviceLimits(adapter), maxBufferSize: adapter.limits.maxBufferSize },
      requiredFeatures: deviceFeatures(adapter) as GPUFeatureName[],
    });
    const l = device.limits;
    const caps: GpuCaps = {
      maxWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      features: new Set([...device.features]),
      limits: Object.fromEntries(LIMIT_NAMES.map((k) => [k, l[k]])) as Record<LimitName, number>,
    };
    const name = adapterLabel(adapter);
    const record = capsFromWebGpu(l as unknown as Record<keyof CapLimits, number>, device.features, `adapter ${name}`);
    return new WebGpuDevice(device, caps, record, name, adapter);
  }

  /** A compute pipeline for WGSL with `nStorage` storage buffers (read-only flags) and one uniform buffer. */
  async pipeline(code: string, readOnly: readonly boolean[]): Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }> {
    const key = code;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const d = this.device;
    d.pushErrorScope("validation");
    const module = d.createShaderModule({ code });
    const layout = d.createBindGroupLayout({
      entries: [
        ...readOnly.map((ro, i) => ({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: ro ? ("read-only-storage" as const) : ("storage" as const) } })),
        { binding: readOnly.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" as const } },
      ],
    });
    const pipeline = d.createComputePipeline({ layout: d.createPipelineLayout({ bindGroupLayouts: [layout] }), compute: { module, entryPoint: "main" } });
    const err = await d.popErrorScope();
    if (err) {
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`).join("\n");
      throw new Error(`WGSL pipeline creation failed: ${err.message}\n${msgs}`);
    }
    const entry = { pipeline, layout };
    this.pipelines.set(key, entry);
    return entry;
  }

  buffer(bytes: number, usage: number): GPUBuffer {
    return this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
  }

  write(buf: GPUBuffer, data: ArrayBufferView): void {
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(buf: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(16, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, 0, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }

  destroy(): void {
    this.device.destroy();
  }
}
