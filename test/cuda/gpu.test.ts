/**
 * Every example on a real CUDA device: `attnc run --backend cuda --check` (the emitted module
 * compiled by nvcc for the device's sm, run through the native addon, compared with the reference
 * interpreter under the tolerance policy). Runs only where cudaStatus() finds a device; elsewhere
 * the suite is reported as skipped with cudaStatus's reason in its name.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cudaStatus } from "../../runtime/cuda/device.ts";
import { findNvcc } from "../../runtime/cuda/execute.ts";
import { gpuExamples, runArgs, ROOT } from "../../scripts/gpu-check/examples.ts";

const status = cudaStatus();
const nvcc = status.ok ? findNvcc() : undefined;
const why = !status.ok ? status.reason : !nvcc ? "nvcc was not found" : "";

describe.skipIf(!!why)(`examples on CUDA (--backend cuda --check)${why ? ` — skipped: ${why}` : ` on ${status.ok ? status.device.name : ""}`}`, () => {
  for (const e of gpuExamples()) {
    it(e.name, () => {
      const r = spawnSync(process.execPath, ["bin/attnc.js", ...runArgs(e, "cuda")], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout) as { backend: string; check: { ok: boolean } };
      expect(j.backend).toMatch(/^cuda \(/);
      expect(j.check.ok).toBe(true);
    }, 300_000);
  }
});

describe("examples on CUDA without a device", () => {
  it.skipIf(status.ok)(`--backend cuda says why CUDA is unavailable, in one line${status.ok ? " — skipped: a device is present" : ""}`, () => {
    const e = gpuExamples({ quick: true })[0]!;
    const r = spawnSync(process.execPath, ["bin/attnc.js", ...runArgs(e, "cuda")], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`error ATTN5006: Backend 'cuda' is unavailable: ${status.ok ? "" : status.reason.replace(/^CUDA is unavailable: /, "")}\n`);
  });
});
