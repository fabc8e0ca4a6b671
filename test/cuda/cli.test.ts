/** `attnc run --backend cuda-emu --check` and `--backend cuda` through the real CLI. */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cudaStatus } from "../../runtime/cuda/device.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const attnc = (...args: string[]) => spawnSync(process.execPath, ["bin/attnc.js", ...args], { cwd: ROOT, encoding: "utf8", timeout: 240_000 });
const EX = "examples/dense-attention/dense-attention.attn";

describe("attnc run with the CUDA backends", () => {
  it("cuda-emu --check runs the emitted CUDA on the CPU and matches the interpreter", () => {
    for (const g of ["causal", "alibi"]) {
      const r = attnc("run", EX, "--graph", g, "--backend", "cuda-emu", "--check", "--dim", "B=1", "--dim", "H=2", "--dim", "N=13", "--dim", "D=8");
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/cuda-emu/);
      expect(r.stdout).toMatch(/out: ok +max abs/);
    }
  });

  it("cuda without a usable device is one clear line and exit 1", () => {
    const st = cudaStatus();
    if (st.ok) return; // a real device: covered by the GPU check script instead
    const r = attnc("run", EX, "--graph", "causal", "--backend", "cuda");
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error ATTN5006: Backend 'cuda' is unavailable: /);
  });
});
