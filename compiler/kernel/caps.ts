/**
 * Capability records: what a kernel target can run. One record per target: the WebGPU spec's
 * default limits (what `attnc compile --target wgsl` assumes, since every adapter must offer them),
 * a record read from a real GPUAdapter at run time (runtime/webgpu/device.ts), and CUDA records for
 * sm_80/sm_90. Lowering reads the record to choose between algorithms (a sort that fits workgroup
 * memory or the multi-pass one, compiler/kernel/kernels/order.ts), and `checkProgram` holds every
 * kernel of a lowered program against it: what is static (workgroup size, workgroup storage,
 * bindings, uniform block, static dispatch sizes) is checked at compile time; dispatch sizes that
 * depend on symbolic dims are checked by the runtime before launch.
 */
import type { Dim } from "../graph/dim.ts";
import type { Node } from "../graph/ops.ts";
import type { KType, Kernel } from "./ir.ts";
import { launches, type Launch, type Program } from "./program.ts";

/** Optional WebGPU features a record can have. */
export type CapFeature = "shader-f16" | "subgroups" | "timestamp-query";
export const CAP_FEATURES: readonly CapFeature[] = ["shader-f16", "subgroups", "timestamp-query"];

export interface CapLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupSizeX: number;
  readonly maxComputeWorkgroupSizeY: number;
  readonly maxComputeWorkgroupSizeZ: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxUniformBufferBindingSize: number;
}
export const LIMIT_KEYS: readonly (keyof CapLimits)[] = [
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxUniformBufferBindingSize",
];

export interface TargetCaps extends CapLimits {
  readonly target: "wgsl" | "cuda";
  /** Where the record comes from, for messages: "WebGPU defaults", "adapter …", "CUDA sm_80". */
  readonly source: string;
  /** Sorted. */
  readonly features: readonly CapFeature[];
}

/** The WebGPU specification's default limits (no optional features): every adapter offers them. */
export const WEBGPU_DEFAULT_CAPS: TargetCaps = {
  target: "wgsl",
  source: "WebGPU defaults",
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
  maxStorageBufferBindingSize: 134217728,
  maxUniformBufferBindingSize: 65536,
  features: [],
};

/**
 * CUDA compute capability 8.0 (A100) in the same terms: 48 KiB of static `__shared__` memory per
 * block (the emitted kernels declare their arrays statically; more needs dynamic shared memory and
 * an opt-in), 1024 threads per block, block dims 1024 × 1024 × 64, grid y/z at most 65535 (x may be
 * 2^31 - 1; the record keeps the per-dimension minimum, and [n, 1, 1] launches fold into y anyway).
 * "Storage buffers" are kernel pointer parameters: 4 KiB of parameter space, 8 bytes each, less the
 * uniform block. Binding size: buffers are indexed by i32 element offsets of 4-byte elements.
 */
export const CUDA_SM80_CAPS: TargetCaps = {
  target: "cuda",
  source: "CUDA sm_80",
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 448,
  maxStorageBufferBindingSize: 4 * 2147483647,
  maxUniformBufferBindingSize: 4096 - 8 * 64,
  features: ["shader-f16", "subgroups"],
};
/** Compute capability 9.0 (H100/H200): the same static limits (227 KiB shared needs dynamic shared memory). */
export const CUDA_SM90_CAPS: TargetCaps = { ...CUDA_SM80_CAPS, source: "CUDA sm_90" };

export const hasFeature = (caps: TargetCaps, f: CapFeature): boolean => caps.features.includes(f);

/** A record from an adapter's (or device's) limits and features, as WebGPU exposes them. */
export function capsFromWebGpu(limits: Partial<Record<keyof CapLimits, number>>, features: Iterable<string>, source: string): TargetCaps {
  const l = {} as Record<keyof CapLimits, number>;
  for (const k of LIMIT_KEYS) l[k] = typeof limits[k] === "number" ? limits[k]! : WEBGPU_DEFAULT_CAPS[k];
  const have = new Set(features);
  return { target: "wgsl", source, ...l, features: CAP_FEATURES.filter((f) => have.has(f)) };
}

/**
 * A record from JSON text (`attnc compile --limits FILE`): an object of limit names to positive
 * integers and an optional `features` array; what it omits comes from `base`. Throws Error with a
 * one-line reason on anything else.
 */
export function capsFromJson(text: string, base: TargetCaps, source: string): TargetCaps {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("expected a JSON object of limits");
  const out: Record<string, unknown> = { ...base, source };
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k === "features") {
      if (!Array.isArray(x) || x.some((f) => !CAP_FEATURES.includes(f as CapFeature)))
        throw new Error(`'features' must be an array of ${CAP_FEATURES.map((f) => `"${f}"`).join(", ")}`);
      out.features = CAP_FEATURES.filter((f) => x.includes(f));
    } else if ((LIMIT_KEYS as readonly string[]).includes(k)) {
      if (typeof x !== "number" || !Number.isInteger(x) || x < 1) throw new Error(`'${k}' must be a positive integer, got ${JSON.stringify(x)}`);
      out[k] = x;
    } else throw new Error(`unknown limit '${k}' (known: ${LIMIT_KEYS.join(", ")}, features)`);
  }
  return out as unknown as TargetCaps;
}

/** WGSL stores f16 as f16 only with `shader-f16`; otherwise (and bf16 always) as f32. */
export const nativeF16 = (caps: TargetCaps | undefined): boolean => !!caps && caps.target === "wgsl" && hasFeature(caps, "shader-f16");

/** Bytes of one workgroup-array element. */
export const sharedElementBytes = (t: KType, f16: boolean): number => (t === "f16" && f16 ? 2 : 4);

/** Workgroup storage a kernel declares, in bytes (each array rounded up to 4 bytes). */
export function workgroupStorageBytes(k: Kernel, f16 = false): number {
  return k.shared.reduce((a, s) => a + Math.ceil((s.size * sharedElementBytes(s.t, f16)) / 4) * 4, 0);
}

// ── limits of the sort and scan kernels ──────────────────────────────────────────────────────

const floorPow2 = (n: number): number => (n < 1 ? 0 : 2 ** Math.floor(Math.log2(n)));

export interface SortLimits {
  /** Slots of one workgroup sort (a power of two): 8 bytes each (u32 key, i32 index). */
  readonly cap: number;
  /** Threads of one sort or scan workgroup (a power of two). */
  readonly maxWg: number;
}

/**
 * The largest workgroup sort the record fits, at most 2048 slots (16 KiB, the default record), and
 * the threads per workgroup (at most 256). A row longer than `cap` takes the multi-pass sort
 * (chunks, then a rank-merge pass). A record with more workgroup storage does not raise the cap:
 * measured on SwiftShader, one 4096-slot bitonic pass was slower than 2048-slot chunks plus the
 * rank pass for rows of 2100, 3000 and 4000 (237 vs 172, 248 vs 202, 456 vs 315 ms for 4 rows),
 * and the chunked sort also spreads a row over more workgroups.
 */
export function sortLimits(caps: TargetCaps | undefined): SortLimits {
  const c = caps ?? WEBGPU_DEFAULT_CAPS;
  const maxWg = Math.max(1, Math.min(256, floorPow2(Math.min(c.maxComputeInvocationsPerWorkgroup, c.maxComputeWorkgroupSizeX))));
  const cap = Math.max(2, Math.min(2048, floorPow2(c.maxComputeWorkgroupStorageSize / 8)));
  return { cap, maxWg };
}

// ── checking a program against a record ─────────────────────────────────────────────────────

export interface CapsViolation {
  readonly kernel: string;
  /** The graph node the kernel computes (for the DSL span). */
  readonly node: Node;
  /** The limit (a WebGPU limit name, or `feature:NAME`). */
  readonly limit: string;
  readonly need: number;
  readonly have: number;
  /** What to do: a fallback to choose or the record needed. */
  readonly suggestion: string;
}

const staticValue = (d: Dim): number | undefined => d.value;

/**
 * Every distinct kernel of a program against a record (each violation once per kernel and limit).
 * Dispatch sizes are checked where static; [n, 1, 1] dispatches may fold n into y, so they fit
 * up to max² workgroups.
 */
export function checkProgram(prog: Program, caps: TargetCaps): CapsViolation[] {
  const out: CapsViolation[] = [];
  const seen = new Set<string>();
  const f16 = nativeF16(caps);
  const add = (l: Launch, limit: string, need: number, have: number, suggestion: string) => {
    const key = `${l.kernel.name}|${limit}`;
    if (need <= have || seen.has(key)) return;
    seen.add(key);
    out.push({ kernel: l.kernel.name, node: l.node, limit, need, have, suggestion });
  };
  const more = (limit: string, need: number) => `it needs a device with ${limit} >= ${need}`;
  for (const l of launches(prog.steps)) {
    const k = l.kernel;
    const [x, y, z] = k.workgroup;
    const wgHint = `the kernel's workgroup size is fixed by its lowering; ${more("maxComputeInvocationsPerWorkgroup", x * y * z)}`;
    add(l, "maxComputeWorkgroupStorageSize", workgroupStorageBytes(k, f16), caps.maxComputeWorkgroupStorageSize, storageHint(l, workgroupStorageBytes(k, f16)));
    add(l, "maxComputeInvocationsPerWorkgroup", x * y * z, caps.maxComputeInvocationsPerWorkgroup, wgHint);
    add(l, "maxComputeWorkgroupSizeX", x, caps.maxComputeWorkgroupSizeX, more("maxComputeWorkgroupSizeX", x));
    add(l, "maxComputeWorkgroupSizeY", y, caps.maxComputeWorkgroupSizeY, more("maxComputeWorkgroupSizeY", y));
    add(l, "maxComputeWorkgroupSizeZ", z, caps.maxComputeWorkgroupSizeZ, more("maxComputeWorkgroupSizeZ", z));
    add(l, "maxStorageBuffersPerShaderStage", k.buffers.length, caps.maxStorageBuffersPerShaderStage, more("maxStorageBuffersPerShaderStage", k.buffers.length));
    const ub = Math.ceil(((k.uniforms.length + 1) * 4) / 16) * 16;
    add(l, "maxUniformBufferBindingSize", ub, caps.maxUniformBufferBindingSize, more("maxUniformBufferBindingSize", ub));
    const [dx, dy, dz] = k.dispatch.map(staticValue);
    const m = caps.maxComputeWorkgroupsPerDimension;
    const foldable = k.dispatch[1].value === 1 && k.dispatch[2].value === 1;
    if (dx !== undefined)
      add(l, "maxComputeWorkgroupsPerDimension", dx, foldable ? m * m : m, foldable ? `its [n, 1, 1] dispatch folds x into y, so it fits up to ${m} × ${m} workgroups; ${more("maxComputeWorkgroupsPerDimension", Math.ceil(Math.sqrt(dx)))}` : more("maxComputeWorkgroupsPerDimension", dx));
    if (dy !== undefined) add(l, "maxComputeWorkgroupsPerDimension", dy, m, more("maxComputeWorkgroupsPerDimension", dy));
    if (dz !== undefined) add(l, "maxComputeWorkgroupsPerDimension", dz, m, more("maxComputeWorkgroupsPerDimension", dz));
  }
  for (const b of prog.buffers) {
    const n = b.numel.value;
    if (n === undefined || !b.node) continue;
    const bytes = n * (b.dtype === "f16" && f16 ? 2 : 4);
    const key = `buffer${b.id}`;
    if (bytes > caps.maxStorageBufferBindingSize && !seen.has(key)) {
      seen.add(key);
      out.push({ kernel: `buffer ${b.id}`, node: b.node, limit: "maxStorageBufferBindingSize", need: bytes, have: caps.maxStorageBufferBindingSize, suggestion: "split the tensor or use a device that binds larger buffers" });
    }
  }
  return out;
}

function storageHint(l: Launch, need: number): string {
  const op = l.node.op;
  if (op === "argsort" || op === "topk") return "the multi-pass sort is chosen automatically when the lowering is given this record";
  if (op === "attention") return `this lowering has no smaller attention tile; ${`it needs a device with maxComputeWorkgroupStorageSize >= ${need}`}`;
  return `it needs a device with maxComputeWorkgroupStorageSize >= ${need}`;
}

/** `"name >= need (have)"` lines of a record, for messages. */
export function describeCaps(caps: TargetCaps): string {
  return `${caps.source}: ${LIMIT_KEYS.map((k) => `${k} ${caps[k]}`).join(", ")}; features [${caps.features.join(", ")}]`;
}
