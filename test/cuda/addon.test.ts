/**
 * The native CUDA addon: it builds with cmake-js here (no GPU, no driver; skipped with the reason
 * when cmake or Node's headers are missing); without a driver every call throws the clear
 * "no CUDA driver" error instead of crashing; runtime/cuda/device.ts turns each way CUDA can be
 * unavailable (addon not built, no driver, no device) into one line. A stub libcuda stands in for
 * a driver that finds no device. With a real device, a kernel runs on it (else skipped: "no CUDA device").
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitCudaModule } from "../../backends/cuda/module.ts";
import { cudaStatus } from "../../runtime/cuda/device.ts";
import { findNvcc, haveGxx, oneKernelProgram } from "./helpers.ts";
import { blockSumKernel, expectBlockSum } from "./kernels.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const tmp = mkdtempSync(path.join(os.tmpdir(), "attnc-addon-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (file: string, args: readonly string[], env: Record<string, string> = {}, cwd = ROOT) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) =>
    execFile(file, args, { cwd, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 16 << 20 }, (e, out, err) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: String(out), err: String(err) }),
    ),
  );

/** Why the addon cannot be built here, or undefined when it can. */
function buildBlocker(): string | undefined {
  if (spawnSync("cmake", ["--version"]).status !== 0) return "cmake is not installed";
  if (!haveGxx()) return "no C++ compiler (g++)";
  const nodedir = spawnSync("npm", ["config", "get", "nodedir"], { encoding: "utf8" }).stdout?.trim();
  const dirs = [nodedir && nodedir !== "undefined" ? path.join(nodedir, "include", "node") : "", path.join(path.dirname(process.execPath), "..", "include", "node")];
  if (!dirs.some((d) => d && existsSync(path.join(d, "node_api.h")))) return "Node's headers (node_api.h) are not installed and cannot be downloaded offline";
  if (!existsSync(path.join(ROOT, "node_modules", "cmake-js")) || !existsSync(path.join(ROOT, "node_modules", "node-addon-api"))) return "cmake-js/node-addon-api are not installed (npm install)";
  return undefined;
}

const blocker = buildBlocker();
const out = path.join(tmp, "build");
const addonFile = path.join(out, "Release", "attnc_cuda.node");
let built: { ok: boolean; log: string } = { ok: false, log: "" };

/** Runs a snippet of TypeScript in a fresh process (the driver is opened once per process). */
async function inChild(code: string, env: Record<string, string>): Promise<unknown> {
  const file = path.join(tmp, `child-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, code);
  try {
    const r = await run(process.execPath, ["--import", "tsx", file], { ATTNC_CUDA_ADDON: addonFile, ...env });
    if (r.code !== 0) throw new Error(`child failed (${r.code}): ${r.err}`);
    return JSON.parse(r.out);
  } finally {
    rmSync(file, { force: true });
  }
}

const CALLS = `
const calls: [string, unknown[]][] = [
  ["init", []], ["deviceCount", []], ["deviceInfo", [0]], ["contextCreate", [0]], ["contextRelease", [0]], ["contextSetCurrent", [1n]],
  ["synchronize", []], ["memAlloc", [16]], ["memFree", [1n]], ["memcpyHtoD", [1n, new Float32Array(4)]], ["memcpyDtoH", [1n, 16]],
  ["memcpyDtoD", [1n, 2n, 16]], ["memset", [1n, 0, 16]], ["moduleLoad", [".version 8.0\\n"]], ["moduleUnload", [1n]], ["getFunction", [1n, "k"]],
  ["launch", [1n, [1, 1, 1], [64, 1, 1], 0, [1n, 2n], new Uint32Array([4, 0x7f800000])]], ["eventCreate", []], ["eventRecord", [1n]],
  ["eventSynchronize", [1n]], ["eventElapsedMs", [1n, 2n]], ["eventDestroy", [1n]],
];
`;

describe("native addon", () => {
  beforeAll(async () => {
    if (blocker) return;
    const r = await run(path.join(ROOT, "node_modules", ".bin", "cmake-js"), ["build", "--directory", "native", "--out", out]);
    built = { ok: r.code === 0 && existsSync(addonFile), log: `${r.out}\n${r.err}` };
  }, 300_000);

  it.skipIf(!!blocker)(`builds with cmake-js${blocker ? ` — skipped: ${blocker}` : ""}`, () => {
    expect(built.log.split("\n").filter((l) => /error|warning:/i.test(l) && !/^\s*'-D/.test(l)).join("\n")).toBe("");
    expect(built.ok).toBe(true);
  });

  it.skipIf(!!blocker)("without a driver, every call throws 'no CUDA driver (… not found)' and nothing crashes", async () => {
    // a library path that does not exist stands for a machine without libcuda (also on GPU machines)
    const lib = "/nonexistent/libcuda.so.1";
    const r = (await inChild(
      `import { createRequire } from "node:module";
       const a = createRequire(import.meta.url)(process.env.ATTNC_CUDA_ADDON!);
       ${CALLS}
       const msgs: Record<string, string> = {};
       for (const [n, args] of calls) { try { a[n](...args); msgs[n] = "returned"; } catch (e) { msgs[n] = (e as Error).message; } }
       console.log(JSON.stringify({ status: a.driverStatus(), msgs, names: Object.keys(a).filter((k) => typeof a[k] === "function") }));`,
      { ATTNC_CUDA_LIBRARY: lib },
    )) as { status: { available: boolean; error: string }; msgs: Record<string, string>; names: string[] };
    expect(r.status).toMatchObject({ available: false, error: `no CUDA driver (${lib} not found)` });
    for (const n of r.names.filter((n) => n !== "driverStatus")) expect(r.msgs[n], n).toBe(`no CUDA driver (${lib} not found)`);
    expect(Object.keys(r.msgs).length).toBe(r.names.length - 1);
  });

  it.skipIf(!!blocker)("on this machine without libcuda.so.1 the message names it exactly", async (ctx) => {
    const r = (await inChild(
      `import { cudaStatus } from ${JSON.stringify(path.join(ROOT, "runtime/cuda/device.ts"))};
       const s = cudaStatus(); console.log(JSON.stringify(s.ok ? { ok: true } : s));`,
      {},
    )) as { ok: boolean; reason?: string; kind?: string };
    if (r.ok || r.kind !== "driver") ctx.skip("this machine has a CUDA driver");
    expect(r).toEqual({ ok: false, kind: "driver", reason: "CUDA is unavailable: no CUDA driver (libcuda.so.1 not found)" });
  });

  it.skipIf(!!blocker)("a driver that finds no device (stub libcuda): 'no CUDA device', in one line", async () => {
    const names = [
      "cuDriverGetVersion", "cuGetErrorName", "cuGetErrorString", "cuDeviceGetCount", "cuDeviceGet", "cuDeviceGetName", "cuDeviceGetAttribute",
      "cuDeviceTotalMem_v2", "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRelease_v2", "cuCtxSetCurrent", "cuCtxSynchronize", "cuMemAlloc_v2",
      "cuMemFree_v2", "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2", "cuMemcpyDtoD_v2", "cuMemsetD8_v2", "cuModuleLoadDataEx", "cuModuleUnload",
      "cuModuleGetFunction", "cuLaunchKernel", "cuEventCreate", "cuEventRecord", "cuEventSynchronize", "cuEventElapsedTime_v2", "cuEventDestroy_v2",
    ];
    const src = [
      "#include <stdlib.h>",
      'extern "C" int cuInit(unsigned f) { (void)f; return getenv("STUB_INIT_OK") ? 0 : 100; }',
      'extern "C" int cuGetErrorName(int r, const char** s) { *s = r == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN"; return 0; }',
      'extern "C" int cuGetErrorString(int r, const char** s) { *s = r == 100 ? "no CUDA-capable device is detected" : "unknown error"; return 0; }',
      'extern "C" int cuDeviceGetCount(int* n) { *n = 0; return 0; }',
      'extern "C" int cuDriverGetVersion(int* v) { *v = 13000; return 0; }',
      ...names.filter((n) => !["cuGetErrorName", "cuGetErrorString", "cuDeviceGetCount", "cuDriverGetVersion"].includes(n)).map((n) => `extern "C" int ${n}() { return 999; }`),
    ].join("\n");
    writeFileSync(path.join(tmp, "stub.cc"), src);
    const lib = path.join(tmp, "libcuda_stub.so");
    const c = await run("g++", ["-shared", "-fPIC", "-o", lib, path.join(tmp, "stub.cc")]);
    expect(c.err).toBe("");
    const code = `import { cudaStatus } from ${JSON.stringify(path.join(ROOT, "runtime/cuda/device.ts"))};
      const s = cudaStatus(); console.log(JSON.stringify(s.ok ? { ok: true } : s));`;
    expect(await inChild(code, { ATTNC_CUDA_LIBRARY: lib })).toEqual({
      ok: false, kind: "device", reason: "CUDA is unavailable: no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected))",
    });
    expect(await inChild(code, { ATTNC_CUDA_LIBRARY: lib, STUB_INIT_OK: "1" })).toEqual({
      ok: false, kind: "device", reason: "CUDA is unavailable: no CUDA device (the driver reports none)",
    });
  });

  it("an addon that is not built is reported, with the command that builds it", async () => {
    const r = await inChild(
      `import { cudaStatus } from ${JSON.stringify(path.join(ROOT, "runtime/cuda/device.ts"))};
       const s = cudaStatus(); console.log(JSON.stringify(s.ok ? { ok: true } : s));`,
      { ATTNC_CUDA_ADDON: path.join(tmp, "missing", "attnc_cuda.node") },
    );
    expect(r).toMatchObject({ ok: false, kind: "addon" });
    expect((r as { reason: string }).reason).toMatch(/^CUDA is unavailable: the CUDA addon is not built \(.*attnc_cuda\.node is missing; run 'npm run build:native'\)$/);
  });
});

// Real CUDA: runs only where the built addon finds a device.
const status = cudaStatus();
const NVCC = findNvcc();
describe.skipIf(!status.ok || !NVCC)(`real CUDA${status.ok ? "" : " — skipped: no CUDA device"}`, () => {
  it("a barrier kernel compiled by nvcc runs on the device and matches the host", async () => {
    if (!status.ok) return;
    const a = status.addon;
    const m = emitCudaModule(oneKernelProgram(blockSumKernel()), { prefix: "gpu" });
    writeFileSync(path.join(tmp, m.cuFile), m.cu);
    const arch = `sm_${status.device.major}${status.device.minor}`;
    const r = await run(NVCC!, [`-arch=${arch}`, "-ptx", "-o", path.join(tmp, "gpu.ptx"), path.join(tmp, m.cuFile)]);
    expect(r.err).toBe("");
    const { readFileSync } = await import("node:fs");
    a.contextCreate(0);
    const mod = a.moduleLoad(readFileSync(path.join(tmp, "gpu.ptx"), "utf8"));
    const fn = a.getFunction(mod, m.kernels[0]!.name);
    const N = 150;
    const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i) * 10);
    const dx = a.memAlloc(N * 4);
    const dy = a.memAlloc(N * 4);
    a.memcpyHtoD(dx, x);
    const e0 = a.eventCreate();
    const e1 = a.eventCreate();
    a.eventRecord(e0);
    a.launch(fn, [Math.ceil(N / 64), 1, 1], [64, 1, 1], 0, [dx, dy], new Uint32Array([N, 0x7f800000]));
    a.eventRecord(e1);
    a.eventSynchronize(e1);
    expect(a.eventElapsedMs(e0, e1)).toBeGreaterThanOrEqual(0);
    const y = new Float32Array(a.memcpyDtoH(dy, N * 4));
    expect(Array.from(y)).toEqual(expectBlockSum(Array.from(x)));
    [dx, dy].forEach((p) => a.memFree(p));
    [e0, e1].forEach((e) => a.eventDestroy(e));
    a.moduleUnload(mod);
    a.contextRelease(0);
  });
});
