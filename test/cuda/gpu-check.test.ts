/**
 * scripts/gpu-check.sh on the CPU (--quick): it finds no CUDA driver here, says so in its table,
 * still runs what a CPU allows — `attnc compile --target cuda` with nvcc, the compile latency, the
 * quick subset on cuda-emu, bench.py's launch plans from the manifests (torch is absent: a clear
 * skip) — and exits 0. bench.py's manifest reader gives the same launches as the runtime's plan.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emitCudaModule } from "../../backends/cuda/module.ts";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";
import { compileSource } from "../../compiler/compile.ts";
import { cudaStatus } from "../../runtime/cuda/device.ts";
import { findNvcc, planCudaSteps, type CudaPlanStep } from "../../runtime/cuda/execute.ts";
import { benchVariants, ROOT } from "../../scripts/gpu-check/examples.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "attnc-gpu-check-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const status = cudaStatus();
const python = spawnSync("python3", ["--version"]).status === 0;
const nvcc = findNvcc();

const line = (s: CudaPlanStep): string =>
  s.op === "copy"
    ? `copy ${s.from} ${s.to} ${s.elements}`
    : `launch ${s.kernel} ${s.grid.join(" ")} ${s.block.join(" ")} ${s.sharedBytes} ${s.args.length} ${s.args.join(" ")} ${s.uniforms.length} ${[...s.uniforms].join(" ")}`;

describe("scripts/gpu-check.sh --quick", () => {
  const log = path.join(tmp, "log");
  let r: ReturnType<typeof spawnSync>;
  const out = () => String(r.stdout);

  it("runs end to end and exits 0", () => {
    r = spawnSync("bash", ["scripts/gpu-check.sh", log, "--quick"], { cwd: ROOT, encoding: "utf8", timeout: 540_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(out()).toMatch(/gpu-check: finished in \d+s; logs in .*; all checks that ran passed/);
  }, 600_000);

  it.skipIf(status.ok)(`its table, printed last, says there is no CUDA driver${status.ok ? " — skipped: this machine has CUDA" : ""}`, () => {
    const table = out().slice(out().lastIndexOf("# attnc GPU check"));
    expect(table.startsWith("# attnc GPU check — no GPU")).toBe(true);
    if (!status.ok && status.kind === "driver") expect(table).toMatch(/^- GPU runs: no CUDA driver — CUDA is unavailable: no CUDA driver \(/m);
    expect(table).toMatch(/^compute-sanitizer memcheck \(dense-attention\/causal\): skipped — no CUDA device$/m);
    expect(readFileSync(path.join(log, "table.md"), "utf8").trim()).toBe(table.trim());
    const corr = JSON.parse(readFileSync(path.join(log, "correctness.json"), "utf8"));
    expect(corr.rows.filter((x: { backend: string }) => x.backend === "cuda").every((x: { status: string }) => x.status === "skipped")).toBe(true);
    // the CPU stand-in ran the quick subset through the same driver and checks
    const emu = corr.rows.filter((x: { backend: string }) => x.backend.startsWith("cuda-emu"));
    expect(emu.length).toBe(2);
    for (const x of emu) expect(x.status, x.detail).toBe("ok");
  });

  it("the compile steps succeeded: attnc compile --target cuda, nvcc's cubin, the DSL→cubin latency", () => {
    const art = JSON.parse(readFileSync(path.join(log, "artifacts.json"), "utf8"));
    expect(art.variants.map((v: { name: string }) => v.name)).toEqual(["causal", "tome_merge"]);
    for (const v of art.variants) {
      expect(v.compile.ok, v.compile.note).toBe(true);
      expect(existsSync(path.join(log, v.dir, "manifest.json"))).toBe(true);
      if (nvcc) {
        expect(v.cubin).toBe(`artifacts/${v.name}/${v.graph}.${art.arch}.cubin`);
        expect(readFileSync(path.join(log, v.cubin)).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
        expect(v.latency.ms).toBeGreaterThan(v.latency.nvccMs);
      }
    }
    const table = out().slice(out().lastIndexOf("# attnc GPU check"));
    for (const v of art.variants) expect(table).toMatch(new RegExp(`^\\| ${v.name} \\| ok \\| ${nvcc ? "yes" : "no"} \\| `, "m"));
  });

  it.skipIf(!python)(`bench.py: plans every variant, then skips the timing with the reason${python ? "" : " — skipped: no python3"}`, () => {
    const bench = JSON.parse(readFileSync(path.join(log, "bench.json"), "utf8"));
    expect(bench.dryRun).toMatch(/^causal: 1 launches, 0 copies, [0-9.]+ MB of buffers, image causal\.sm_90\.cubin; tome_merge: \d+ launches/);
    if (spawnSync("python3", ["-c", "import torch"]).status !== 0) {
      expect(bench.status).toBe("skipped");
      expect(bench.reason).toMatch(/^PyTorch is not installed \(/);
      expect(out()).toMatch(/^- speed: PyTorch is not installed \(/m);
    }
  });

  it.skipIf(!python)(`bench.py reads the manifests into the launches the runtime plans${python ? "" : " — skipped: no python3"}`, () => {
    for (const v of benchVariants({ quick: true })) {
      const src = compileSource(v.file, readFileSync(path.join(ROOT, v.file), "utf8"), { defines: v.defines });
      expect(src.ok).toBe(true);
      const low = lowerForTarget(src.graphs.find((g) => g.name === v.graph)!, "cuda");
      if ("diagnostic" in low) throw new Error(low.diagnostic.message);
      const want = planCudaSteps(low.program, emitCudaModule(low.program), v.dims).map(line);
      const py = spawnSync("python3", ["scripts/gpu-check/bench.py", "--plan", path.join(log, "artifacts", v.name), ...Object.entries(v.dims).flatMap(([k, x]) => ["--dim", `${k}=${x}`])], { cwd: ROOT, encoding: "utf8" });
      expect(py.stderr).toBe("");
      expect(py.stdout.trim().split("\n"), v.name).toEqual(want);
      expect(want.length).toBeGreaterThan(0);
    }
  });

  it("a missing log folder is a usage error", () => {
    const u = spawnSync("bash", ["scripts/gpu-check.sh"], { cwd: ROOT, encoding: "utf8" });
    expect(u.status).toBe(2);
    expect(u.stderr).toBe("usage: scripts/gpu-check.sh LOGDIR [--quick]\n");
  });
});
