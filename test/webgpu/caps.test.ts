/**
 * Capability records (compiler/kernel/caps.ts) on the real WebGPU device (Dawn; SwiftShader here):
 * the default and CUDA records, the record read from the adapter, the lowering choosing the
 * multi-pass sort for a small workgroup storage (and the default plan for the adapter's), the compile-
 * and run-time checks, and the CLI's --limits / --max-workgroup-storage and run with the adapter's
 * record. Sorted results are compared with the reference interpreter exactly (argsort is i32).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";
import {
  CUDA_SM80_CAPS, CUDA_SM90_CAPS, LIMIT_KEYS, WEBGPU_DEFAULT_CAPS, capsFromJson, checkProgram, sortLimits, workgroupStorageBytes, type TargetCaps,
} from "../../compiler/kernel/caps.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { launches, type Program } from "../../compiler/kernel/program.ts";
import { buildWgslArtifacts } from "../../backends/wgsl/artifacts.ts";
import { printWgsl } from "../../backends/wgsl/dialect.ts";
import { WebGpuDevice } from "../../runtime/webgpu/device.ts";
import { RunError, runProgram } from "../../runtime/webgpu/execute.ts";
import { checkGraph, gpuIt, openGpu } from "./util.ts";

const gpu = await openGpu();
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TMP = mkdtempSync(join(tmpdir(), "attnc-caps-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const small = (bytes: number): TargetCaps => ({ ...WEBGPU_DEFAULT_CAPS, source: `test ${bytes} B`, maxComputeWorkgroupStorageSize: bytes });

function sortGraph(n: number | string, k = 7): Graph {
  const b = new GraphBuilder("sorts");
  const x = b.input("x", "f32", ["B", n]);
  const [vals, inds] = b.topk(x, k, -1);
  return b.finish([b.argsort(x, -1), b.argsort(x, 0, true), vals!, inds!]);
}

const kernelsOf = (p: Program) => [...launches(p.steps)].map((l) => l.kernel);
/** Does a sort along the last axis (axis 1) take the rank-merge pass? */
const lastAxisRank = (p: Program) => [...launches(p.steps)].some((l) => l.kernel.name.endsWith("_rank") && (l.node.arg as { axis: number }).axis === 1);
const lowered = (g: Graph, caps: TargetCaps) => {
  const l = lowerForTarget(g, "wgsl", {}, caps);
  if ("diagnostic" in l) throw new Error(l.diagnostic.message);
  return l;
};

describe("capability records", () => {
  it("the default record is the WebGPU specification's defaults; CUDA records for sm_80/sm_90", () => {
    expect(WEBGPU_DEFAULT_CAPS).toMatchObject({
      target: "wgsl", maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256,
      maxComputeWorkgroupSizeZ: 64, maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 134217728,
      maxUniformBufferBindingSize: 65536, features: [],
    });
    for (const c of [CUDA_SM80_CAPS, CUDA_SM90_CAPS]) expect(c).toMatchObject({ target: "cuda", maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 });
    expect(sortLimits(WEBGPU_DEFAULT_CAPS)).toEqual({ cap: 2048, maxWg: 256 });
    expect(sortLimits(small(4096))).toEqual({ cap: 512, maxWg: 256 });
    // more storage than the defaults does not raise the cap (caps.ts: measured slower)
    expect(sortLimits({ ...WEBGPU_DEFAULT_CAPS, maxComputeWorkgroupStorageSize: 32768 })).toEqual({ cap: 2048, maxWg: 256 });
    expect(sortLimits({ ...WEBGPU_DEFAULT_CAPS, maxComputeInvocationsPerWorkgroup: 100 })).toEqual({ cap: 2048, maxWg: 64 });
  });

  it("--limits JSON: overrides over a base record; unknown names and bad values are errors", () => {
    const c = capsFromJson('{"maxComputeWorkgroupStorageSize": 8192, "features": ["shader-f16"]}', WEBGPU_DEFAULT_CAPS, "f");
    expect(c.maxComputeWorkgroupStorageSize).toBe(8192);
    expect(c.features).toEqual(["shader-f16"]);
    expect(c.maxComputeInvocationsPerWorkgroup).toBe(256);
    expect(() => capsFromJson("{", WEBGPU_DEFAULT_CAPS, "f")).toThrow(/not JSON/);
    expect(() => capsFromJson('{"maxFoo": 1}', WEBGPU_DEFAULT_CAPS, "f")).toThrow(/unknown limit 'maxFoo'/);
    expect(() => capsFromJson('{"maxComputeWorkgroupStorageSize": -1}', WEBGPU_DEFAULT_CAPS, "f")).toThrow(/positive integer/);
    expect(() => capsFromJson('{"features": ["bf16"]}', WEBGPU_DEFAULT_CAPS, "f")).toThrow(/features/);
  });

  it("every example-sized op graph fits the default record and the CUDA record", () => {
    const g = sortGraph(5000);
    expect(checkProgram(lowerGraph(g), WEBGPU_DEFAULT_CAPS)).toEqual([]);
    expect(checkProgram(lowerGraph(g), CUDA_SM80_CAPS)).toEqual([]);
  });
});

describe("the record of a real adapter", () => {
  gpuIt(gpu, "probe() and the opened device agree with the adapter's limits and features, all at least the defaults", async (dev) => {
    const probed = await WebGpuDevice.probe();
    expect(probed).toBeDefined();
    const l = dev.device.limits as unknown as Record<string, number>;
    for (const k of LIMIT_KEYS) {
      expect(dev.record[k], k).toBe(l[k]);
      expect(probed![k], k).toBe(l[k]);
      expect(dev.record[k], k).toBeGreaterThanOrEqual(WEBGPU_DEFAULT_CAPS[k] as number);
    }
    for (const f of dev.record.features) expect(dev.device.features.has(f)).toBe(true);
    expect(dev.record.features.includes("shader-f16")).toBe(dev.device.features.has("shader-f16"));
    expect(dev.record.source).toMatch(/^adapter /);
  });
});

describe("the lowering picks the sort that fits the record", () => {
  gpuIt(gpu, "4 KiB of workgroup storage: 512-slot chunks and the rank-merge pass (ATTN4006), exact on the device", async (dev) => {
    const g = sortGraph(1000);
    const l = lowered(g, small(4096));
    expect(l.diagnostics.map((d) => d.code)).toContain(4006);
    const ks = kernelsOf(l.program);
    expect(lastAxisRank(l.program)).toBe(true);
    for (const k of ks) expect(workgroupStorageBytes(k)).toBeLessThanOrEqual(4096);
    expect(checkProgram(l.program, small(4096))).toEqual([]);
    // the same graph under the default record sorts rows of 1000 in one pass
    expect(lastAxisRank(lowerGraph(g))).toBe(false);
    await checkGraph(dev, g, { B: 3 }, { program: l.program, seed: 4 });
  }, 120_000);

  gpuIt(gpu, "a symbolic row length under 2 KiB: the run-time chunk choice with 256-slot chunks", async (dev) => {
    const g = sortGraph("N", 3);
    const l = lowered(g, small(2048));
    for (const k of kernelsOf(l.program)) expect(workgroupStorageBytes(k)).toBeLessThanOrEqual(2048);
    await checkGraph(dev, g, { B: 2, N: 700 }, { program: l.program, seed: 5 });
    await checkGraph(dev, g, { B: 2, N: 200 }, { program: l.program, seed: 6 });
  }, 120_000);

  gpuIt(gpu, "the adapter's record (at least the defaults): the same kernels as the default record, exact on the device", async (dev) => {
    const b = new GraphBuilder("last");
    const x = b.input("x", "f32", ["B", 2100]);
    const g = b.finish([b.argsort(x, -1, true)]);
    const l = lowered(g, dev.record);
    expect(l.diagnostics).toEqual([]);
    expect(kernelsOf(l.program).map((k) => printWgsl(k))).toEqual(kernelsOf(lowered(g, WEBGPU_DEFAULT_CAPS).program).map((k) => printWgsl(k)));
    expect(lastAxisRank(l.program)).toBe(true);
    await checkGraph(dev, g, { B: 1 }, { program: l.program, seed: 7 });
  }, 240_000);
});

describe("checks before launch", () => {
  gpuIt(gpu, "a program that does not fit the record given to the runtime is a RunError naming the limit", async (dev) => {
    const b = new GraphBuilder("e");
    const g = b.finish([b.exp(b.input("x", "f32", ["N"]))]);
    const tiny = { ...WEBGPU_DEFAULT_CAPS, source: "tiny", maxComputeInvocationsPerWorkgroup: 16 };
    await expect(runProgram(lowerGraph(g), dev, { x: { dtype: "f32", shape: [4], data: new Float64Array(4) } }, {}, { caps: tiny })).rejects.toThrow(
      /maxComputeInvocationsPerWorkgroup >= 64; tiny has 16/,
    );
  });

  gpuIt(gpu, "dispatch sizes from bound dims are checked before launch; [n, 1, 1] grids fold into y up to the limit", async (dev) => {
    const b = new GraphBuilder("e");
    const g = b.finish([b.neg(b.input("x", "f32", ["N"]))]);
    const rec = { ...WEBGPU_DEFAULT_CAPS, source: "16 per dimension", maxComputeWorkgroupsPerDimension: 16 };
    const prog = lowered(g, rec).program; // symbolic N: nothing to check at compile time
    expect(checkProgram(prog, rec)).toEqual([]);
    // 2000 elements = 32 workgroups of 64: folded into 16 × 2 and exact on the device
    const data = Float64Array.from({ length: 2000 }, (_, i) => i - 1000.5);
    const got = await runProgram(prog, dev, { x: { dtype: "f32", shape: [2000], data } }, {}, { caps: rec });
    expect(got.launches).toBe(1);
    expect([...got.outputs[0]!.data]).toEqual([...data].map((v) => -v));
    const x = { dtype: "f32" as const, shape: [100000], data: new Float64Array(100000) };
    await expect(runProgram(prog, dev, { x }, {}, { caps: rec })).rejects.toThrow(/needs 1563×1×1 workgroups; at most 16 are allowed per dimension \(maxComputeWorkgroupsPerDimension\)/);
  }, 120_000);

  gpuIt(gpu, "f16 WGSL for a record with shader-f16 asks the device for the feature; without it the run stops with a clear error", async (dev, ctx) => {
    if (dev.device.features.has("shader-f16")) return ctx.skip("this device has shader-f16 (caps-f16.test.ts runs it)");
    const b = new GraphBuilder("h");
    const g = b.finish([b.add(b.input("x", "f16", ["N"]), 1)]);
    const f16caps: TargetCaps = { ...WEBGPU_DEFAULT_CAPS, features: ["shader-f16"] };
    const a = buildWgslArtifacts(lowerGraph(g), { caps: f16caps });
    expect(a.manifest.requirements.features).toEqual(["shader-f16"]);
    const err = await runProgram(lowerGraph(g), dev, { x: { dtype: "f16", shape: [3], data: Float64Array.from([1, 2, 3]) } }, {}, { caps: f16caps }).catch((e) => e);
    expect(err).toBeInstanceOf(RunError);
    expect(String(err.message)).toMatch(/lacks the WebGPU feature 'shader-f16'/);
  });
});

function attnc(args: string[]) {
  const r = spawnSync(process.execPath, ["bin/attnc.js", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  if (r.error) throw r.error;
  const stderr = r.stderr.split("\n").filter((l) => /^(error|info|warning|attnc|\S+\(\d+,\d+\)|\s{4})/.test(l)).join("\n");
  return { code: r.status, stdout: r.stdout, stderr, rawStderr: r.stderr };
}

describe("CLI", () => {
  const SORT = join(TMP, "sort.attn");
  writeFileSync(SORT, "graph s(x: f32[B, 2100]) -> i32[B, 2100] {\n  return argsort(x, axis: 1)\n}\n");
  const SORT1500 = join(TMP, "sort1500.attn");
  writeFileSync(SORT1500, "graph s(x: f32[B, 1500]) -> i32[B, 1500] {\n  return argsort(x, axis: 1)\n}\n");

  it("compile --target wgsl --max-workgroup-storage: attention that cannot fit is ATTN4005 at the attention call (exit 1)", () => {
    const r = attnc(["compile", "examples/dense-attention/dense-attention.attn", "--graph", "causal", "--target", "wgsl", "--max-workgroup-storage", "2048"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dense-attention\.attn\(\d+,\d+\): error ATTN4005: Kernel 'attention_\d+' exceeds the device limit maxComputeWorkgroupStorageSize: it needs \d+, the target \(WebGPU defaults, maxComputeWorkgroupStorageSize 2048\) allows 2048/);
    expect(r.stderr).toMatch(/\n\s+return attention\(q, k, v/);
    expect(r.stdout).toBe("");
  });

  it("compile --limits FILE: the sort falls back (ATTN4006 on stderr, kernels on stdout); a bad file is ATTN4008", () => {
    const lim = join(TMP, "limits.json");
    writeFileSync(lim, JSON.stringify({ maxComputeWorkgroupStorageSize: 8192 }));
    const r = attnc(["compile", SORT1500, "--target", "wgsl", "--limits", lim]);
    expect(r.code, r.rawStderr).toBe(0);
    expect(r.stderr).toMatch(/sort1500\.attn\(2,10\): info ATTN4006: the target's workgroup storage \(8192 bytes\) holds 1024 sort slots/);
    expect(r.stdout).toContain("// ==> manifest.json <==");
    expect(r.stdout).toMatch(/"maxComputeWorkgroupStorageSize": 8192/);
    writeFileSync(lim, '{"maxComputeWorkgroupStorageSize": "big"}');
    const bad = attnc(["compile", SORT, "--target", "wgsl", "--limits", lim]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error ATTN4008: Invalid target limits '.*limits\.json': 'maxComputeWorkgroupStorageSize' must be a positive integer, got "big"\./);
    expect(attnc(["run", SORT, "--backend", "interp", "--limits", lim]).stderr).toMatch(/--limits and --max-workgroup-storage apply to compile --target only/);
  });

  it("compile --limits with shader-f16: f16 kernels `enable f16;`, the manifest requires the feature (ATTN4006 note)", () => {
    const src = join(TMP, "h.attn");
    writeFileSync(src, "graph h(x: f16[N]) -> f16[N] {\n  return x * x\n}\n");
    const lim = join(TMP, "f16.json");
    writeFileSync(lim, '{"features": ["shader-f16"]}');
    const r = attnc(["compile", src, "--target", "wgsl", "--limits", lim]);
    expect(r.code, r.rawStderr).toBe(0);
    expect(r.stderr).toMatch(/h\.attn\(1,9\): info ATTN4006: the target has shader-f16/);
    expect(r.stdout).toMatch(/\nenable f16;\n/);
    expect(r.stdout).toMatch(/"features": \["shader-f16"\]/);
    expect(r.stdout).toMatch(/"dtype": "f16", "storage": "f16", "elementBytes": 2/);
    const plain = attnc(["compile", src, "--target", "wgsl"]);
    expect(plain.stdout).not.toMatch(/\bf16;|array<f16>/);
    expect(plain.stdout).toMatch(/"features": \[\]/);
  });

  gpuIt(gpu, "run --backend webgpu (lowered for the adapter's record): a chunked sort of rows of 2100 matches the interpreter", () => {
    const r = attnc(["run", SORT, "--backend", "webgpu", "--check", "--json", "--dim", "B=1"]);
    expect(r.code, r.rawStderr).toBe(0);
    const j = JSON.parse(r.stdout) as { launches: number; check: { ok: boolean } };
    expect(j.check.ok).toBe(true);
    expect(j.launches).toBe(2);
  }, 240_000);
});
