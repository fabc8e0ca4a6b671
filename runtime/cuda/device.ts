/**
 * The CUDA device, through the native addon (native/: Node-API over the driver API, which it opens
 * with dlopen at run time). Loading never throws: `cudaStatus()` says whether CUDA can run here
 * and, when not, why in one line — the addon is not built, there is no driver, or no device —
 * suitable for `attnc run --backend cuda` to print before exiting with status 1.
 *
 * The addon is native/build/Release/attnc_cuda.node (`npm run build:native`); ATTNC_CUDA_ADDON
 * overrides the path, ATTNC_CUDA_LIBRARY the driver library (default libcuda.so.1).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The addon's functions (native/src/attnc_cuda.cc). Handles are BigInts. */
export interface CudaAddon {
  readonly abiVersion: number;
  driverStatus(): { available: boolean; error?: string; driverVersion?: number; library: string };
  init(): void;
  deviceCount(): number;
  deviceInfo(ordinal: number): CudaDeviceInfo;
  contextCreate(ordinal: number): bigint;
  contextRelease(ordinal: number): void;
  contextSetCurrent(ctx: bigint): void;
  synchronize(): void;
  memAlloc(bytes: number): bigint;
  memFree(ptr: bigint): void;
  memcpyHtoD(dst: bigint, src: ArrayBufferView | ArrayBuffer): void;
  memcpyDtoH(src: bigint, bytes: number): ArrayBuffer;
  memcpyDtoD(dst: bigint, src: bigint, bytes: number): void;
  memset(dst: bigint, byte: number, bytes: number): void;
  /** PTX text or cubin bytes; a JIT failure's message carries the compiler log. */
  moduleLoad(image: string | ArrayBufferView): bigint;
  moduleUnload(mod: bigint): void;
  getFunction(mod: bigint, name: string): bigint;
  /** Kernel parameters: the device pointers in order, then the uniform block by value (when given). */
  launch(fn: bigint, grid: readonly [number, number, number], block: readonly [number, number, number], sharedBytes: number, args: readonly bigint[], uniforms?: ArrayBufferView): void;
  eventCreate(): bigint;
  eventRecord(ev: bigint): void;
  eventSynchronize(ev: bigint): void;
  eventElapsedMs(start: bigint, end: bigint): number;
  eventDestroy(ev: bigint): void;
}

export interface CudaDeviceInfo {
  readonly name: string;
  readonly major: number;
  readonly minor: number;
  readonly totalMemory: number;
  readonly multiprocessors: number;
}

export type CudaStatus =
  | { readonly ok: true; readonly addon: CudaAddon; readonly devices: number; readonly device: CudaDeviceInfo; readonly driverVersion?: number }
  | { readonly ok: false; readonly reason: string; readonly kind: "addon" | "driver" | "device" };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ADDON_PATH = path.join(ROOT, "native", "build", "Release", "attnc_cuda.node");

let cached: { addon?: CudaAddon; reason?: string } | undefined;

/** Loads the addon (once); `reason` says why it could not be. */
export function loadCudaAddon(): { addon?: CudaAddon; reason?: string } {
  if (cached) return cached;
  const file = process.env.ATTNC_CUDA_ADDON || ADDON_PATH;
  if (!existsSync(file)) return (cached = { reason: `the CUDA addon is not built (${path.relative(process.cwd(), file) || file} is missing; run 'npm run build:native')` });
  try {
    const addon = createRequire(import.meta.url)(file) as CudaAddon;
    if (addon.abiVersion !== 1) return (cached = { reason: `the CUDA addon at ${file} is out of date (rebuild it with 'npm run build:native')` });
    return (cached = { addon });
  } catch (e) {
    return (cached = { reason: `the CUDA addon could not be loaded (${(e as Error).message.split("\n")[0]}; rebuild it with 'npm run build:native')` });
  }
}

/** Whether CUDA can run here (device `ordinal`), and why not in one line. Never throws. */
export function cudaStatus(ordinal = 0): CudaStatus {
  const { addon, reason } = loadCudaAddon();
  if (!addon) return { ok: false, kind: "addon", reason: `CUDA is unavailable: ${reason}` };
  const drv = addon.driverStatus();
  if (!drv.available) {
    const noDevice = /CUDA_ERROR_NO_DEVICE/.test(drv.error ?? "");
    return { ok: false, kind: noDevice ? "device" : "driver", reason: `CUDA is unavailable: ${noDevice ? "no CUDA device" : drv.error}${noDevice ? ` (${drv.error})` : ""}` };
  }
  try {
    const n = addon.deviceCount();
    if (n === 0) return { ok: false, kind: "device", reason: "CUDA is unavailable: no CUDA device (the driver reports none)" };
    if (ordinal < 0 || ordinal >= n) return { ok: false, kind: "device", reason: `CUDA is unavailable: no CUDA device ${ordinal} (the driver reports ${n})` };
    return { ok: true, addon, devices: n, device: addon.deviceInfo(ordinal), driverVersion: drv.driverVersion };
  } catch (e) {
    return { ok: false, kind: "device", reason: `CUDA is unavailable: ${(e as Error).message}` };
  }
}

/** CUDA could not be used; the message is the one-line reason. */
export class CudaUnavailableError extends Error {}

/** A CUDA device with its primary context current. */
export class CudaDevice {
  private constructor(
    readonly addon: CudaAddon,
    readonly ordinal: number,
    readonly info: CudaDeviceInfo,
    readonly context: bigint,
  ) {}

  /** Opens device `ordinal`; throws CudaUnavailableError with the one-line reason when CUDA cannot run. */
  static open(ordinal = 0): CudaDevice {
    const s = cudaStatus(ordinal);
    if (!s.ok) throw new CudaUnavailableError(s.reason);
    return new CudaDevice(s.addon, ordinal, s.device, s.addon.contextCreate(ordinal));
  }

  /**
   * A device over an addon the caller loaded (or one with the addon's interface): retains device
   * `ordinal`'s primary context through it. CudaDevice.open is the usual way in.
   */
  static withAddon(addon: CudaAddon, ordinal = 0): CudaDevice {
    return new CudaDevice(addon, ordinal, addon.deviceInfo(ordinal), addon.contextCreate(ordinal));
  }

  /** `sm_XY` for nvcc -arch. */
  get arch(): string {
    return `sm_${this.info.major}${this.info.minor}`;
  }

  /** Releases the primary context. */
  destroy(): void {
    this.addon.contextRelease(this.ordinal);
  }
}
