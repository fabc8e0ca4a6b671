/**
 * `attnc run --backend webgpu [--check]` and `attnc compile --target …` as a user runs them
 * (`node bin/attnc.js` in a child process): the check report and exit codes, outputs as .npy,
 * lowering errors at the DSL span, WebGPU unavailable as one line, unknown and unavailable targets.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readNpy } from "../../runtime/npy.ts";
import { checkManifest } from "../../backends/manifest.ts";
import { gpuIt, openGpu } from "./util.ts";

const gpu = await openGpu();
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TMP = mkdtempSync(join(tmpdir(), "attnc-wcli-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const DENSE = "examples/dense-attention/dense-attention.attn";

function attnc(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["bin/attnc.js", ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  // Dawn and the Vulkan loader print their own warnings on stderr; keep ours
  const stderr = r.stderr.split("\n").filter((l) => /^(error|attnc|internal|\S+\(\d+,\d+\)|\s{4})/.test(l)).join("\n");
  return { code: r.status, stdout: r.stdout, stderr, rawStderr: r.stderr };
}

describe("attnc run --backend webgpu", () => {
  gpuIt(gpu, "--check runs both backends and reports max abs/rel error per output (exit 0)", () => {
    const r = attnc(["run", DENSE, "--graph", "causal", "--backend", "webgpu", "--check", "--dim", "B=1", "--dim", "H=2", "--dim", "N=9", "--dim", "D=4", "--outputs", join(TMP, "o")]);
    expect(r.code, r.rawStderr).toBe(0);
    expect(r.stdout).toMatch(/^graph causal on webgpu \(/);
    expect(r.stdout).toContain("check against interp:");
    expect(r.stdout).toMatch(/ {2}out: ok {4}max abs \S+, max rel \S+ \(f32: rtol 0\.00001, atol 0\.000001·max\|ref\|\)/);
    const o = readNpy(new Uint8Array(readFileSync(join(TMP, "o", "out.npy"))));
    expect(o.shape).toEqual([1, 2, 9, 4]);
  }, 120_000);

  gpuIt(gpu, "--json carries the check results; an f32 output computed from f16 gets the f16 tolerance", () => {
    const r = attnc(["run", "test/webgpu/fixtures/mixed.attn", "--backend", "webgpu", "--check", "--json", "--dim", "N=5", "--dim", "C=3", "--dim", "M=4"]);
    expect(r.code, r.rawStderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.check.ok).toBe(true);
    expect(j.check.outputs.map((o: { name: string; tolerance: { dtype: string } }) => [o.name, o.tolerance.dtype])).toEqual([["out0", "f16"], ["out1", "f16"]]);
    expect(j.check.errorFlag).toEqual({ webgpu: false, interp: false }); // random ids lie in [0, 4), N = 5 rows
  }, 120_000);

  gpuIt(gpu, "an op without a kernel is a diagnostic at its DSL span (exit 1)", () => {
    const r = attnc(["run", "test/webgpu/fixtures/no-kernel.attn", "--backend", "webgpu", "--dim", "K=3"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no-kernel.attn(4,10): error ATTN4001: Target 'wgsl' does not support 'dwconv2d' (no kernel for 'dwconv2d' yet).");
    expect(r.stderr).toContain("~~~~");
    expect(r.rawStderr).not.toContain("internal compiler error");
  }, 120_000);

  it("WebGPU unavailable is one clear line and exit 1", () => {
    const r = attnc(["run", DENSE, "--backend", "webgpu"], { VK_ICD_FILENAMES: join(TMP, "no-such-icd.json") });
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("error"))).toEqual([expect.stringMatching(/^error ATTN5006: Backend 'webgpu' is unavailable: /)]);
  }, 120_000);

  it("--check needs --backend webgpu", () => {
    const r = attnc(["run", DENSE, "--backend", "interp", "--check"]);
    expect(r.code).toBe(1);
    expect(r.rawStderr).toContain("--check compares a backend with the interpreter");
  });
});

describe("attnc compile --target", () => {
  it("wgsl -o DIR writes kernels and a manifest that a runtime accepts", () => {
    const dir = join(TMP, "w");
    const r = attnc(["compile", DENSE, "--graph", "alibi", "--target", "wgsl", "-o", dir]);
    expect(r.code, r.rawStderr).toBe(0);
    const m = checkManifest(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")));
    expect(m.graph).toBe("alibi");
    for (const k of m.kernels) expect(existsSync(join(dir, k.file))).toBe(true);
  });

  it("wgsl without -o prints every file after a header line", () => {
    const r = attnc(["compile", DENSE, "--graph", "causal", "--target", "wgsl"]);
    expect(r.code, r.rawStderr).toBe(0);
    expect(r.stdout).toMatch(/^\/\/ ==> manifest\.json <==\n\{/);
    expect(r.stdout).toMatch(/\/\/ ==> \S+\.wgsl <==\n\/\/ attnc kernel /);
  });

  it("cuda writes a .cu module, a launch header, manifest.json and (with nvcc) PTX and cubin; an unknown target is ATTN4002; --emit with --target is rejected", () => {
    const out = mkdtempSync(join(tmpdir(), "attnc-cuda-out-"));
    try {
      const c = attnc(["compile", DENSE, "--graph", "causal", "--target", "cuda", "-o", out]);
      expect(c.code).toBe(0);
      const files = readdirSync(out).sort();
      expect(files).toEqual(expect.arrayContaining(["causal.cu", "causal.h", "manifest.json"]));
      const m = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
      expect(m.target).toBe("cuda");
      expect(m.kernels.every((k: { file: string }) => /^causal\.cu#\w+$/.test(k.file))).toBe(true);
      const cu = readFileSync(join(out, "causal.cu"), "utf8");
      for (const k of m.kernels) expect(cu).toContain(`extern "C" __global__`);
      if (spawnSync("nvcc", ["--version"]).status === 0)
        expect(files).toEqual(expect.arrayContaining(["causal.sm_80.ptx", "causal.sm_80.cubin", "causal.sm_90.ptx", "causal.sm_90.cubin"]));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    const u = attnc(["compile", DENSE, "--target", "metal"]);
    expect(u.code).toBe(1);
    expect(u.stderr).toContain("error ATTN4002: Unknown target 'metal'; expected wgsl or cuda.");
    const b = attnc(["compile", DENSE, "--target", "wgsl", "--emit", "graph"]);
    expect(b.code).toBe(1);
  });

  it("a lowering error is reported at the span and exits 1", () => {
    const r = attnc(["compile", "test/webgpu/fixtures/no-kernel.attn", "--target", "wgsl"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error ATTN4001");
  });
});
