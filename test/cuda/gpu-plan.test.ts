/**
 * The host side of a CUDA launch, three ways, on the CPU: runtime/cuda/execute.ts's planCudaSteps
 * (what the native-addon runtime launches), the module's launch header P_run (what the emulator
 * runs through, compiled here by g++), and manifest.json of `attnc compile --target cuda` (what the
 * GPU check's Python side replays, evaluated here with evalDimExpr). For every example program they
 * must give the same launches — kernel, grid, block, buffer arguments, uniform words — and copies,
 * in the same order. Also: nvcc compiles a module to a cubin for the device's sm and caches it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildCudaArtifacts } from "../../backends/cuda/artifacts.ts";
import { cIdent, emitCudaModule } from "../../backends/cuda/module.ts";
import { evalDimExpr, type Manifest, type ManifestStep } from "../../backends/manifest.ts";
import { CudaRunError, compileCubin, cudaUniformWords, findNvcc, INF_BITS, planCudaSteps, type CudaPlanStep } from "../../runtime/cuda/execute.ts";
import { exampleCases, lowerCases } from "./graphs.ts";
import { haveGxx } from "./helpers.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "attnc-gpu-plan-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const { lowered } = lowerCases(exampleCases());
const cases = lowered.map((c, i) => ({ ...c, m: emitCudaModule(c.prog, { prefix: `p${i}_${c.prog.name}` }) }));

/** A plan step as one text line (the format the C harness prints). */
const line = (s: CudaPlanStep): string =>
  s.op === "copy"
    ? `copy ${s.from} ${s.to} ${s.elements}`
    : `launch ${s.kernel} ${s.grid.join(" ")} ${s.block.join(" ")} ${s.sharedBytes} ${s.args.length} ${s.args.join(" ")} ${s.uniforms.length} ${[...s.uniforms].join(" ")}`;

/** The manifest's steps at these dims, in the same line format (kernel index by name). */
function manifestLines(man: Manifest, names: readonly string[], dims: Record<string, number>): string[] {
  const out: string[] = [];
  const iters = new Map<number, number>();
  const ev = (e: string) => {
    const v = evalDimExpr(e, dims);
    if (v === undefined) throw new Error(`manifest: ${e} has no value`);
    return v;
  };
  const walk = (steps: readonly ManifestStep[]) => {
    for (const s of steps) {
      if (s.op === "copy") {
        const n = ev(s.elements);
        if (n > 0) out.push(`copy ${s.from} ${s.to} ${n}`);
      } else if (s.op === "loop") {
        for (let i = 0, n = ev(s.count); i < n; i++) {
          iters.set(s.loop, i);
          walk(s.body);
        }
      } else {
        const grid = s.dispatch.map(ev);
        if (grid.some((g) => g <= 0)) continue;
        const words = new Uint32Array(s.uniforms.length);
        const dv = new DataView(words.buffer);
        s.uniforms.forEach((u, i) => {
          expect(u.offset, `${s.kernel}: uniform ${u.name} at offset ${u.offset}`).toBe(4 * i);
          const src = u.source;
          const v = "dim" in src ? dims[src.dim]! : "iteration" in src ? (iters.get(src.iteration) ?? 0) : src.value;
          if (u.type === "f32") dv.setFloat32(4 * i, v, true);
          else if (u.type === "u32") dv.setUint32(4 * i, v >>> 0, true);
          else dv.setInt32(4 * i, v | 0, true);
        });
        expect(s.uniformBytes).toBeGreaterThanOrEqual(4 * s.uniforms.length);
        const fn = s.kernel.split("#")[1]!;
        const k = names.indexOf(fn);
        const kern = man.kernels.find((x) => x.name === fn)!;
        const args = s.bindings.map((b) => b.buffer);
        out.push(`launch ${k} ${grid.join(" ")} ${s.workgroupSize.join(" ")} ${kern.workgroupStorageBytes} ${args.length} ${args.join(" ")} ${words.length} ${[...words].join(" ")}`);
      }
    }
  };
  walk(man.steps);
  return out;
}

/** A C++ program that includes every module's launch header and prints what P_run launches and copies. */
function harness(): string {
  const src: string[] = ["#include <stdio.h>", "#include <stdint.h>", ...cases.map((c) => `#include "${c.m.headerFile}"`), ""];
  cases.forEach((c, ci) => {
    const P = c.m.prefix;
    src.push(
      `static int launch_${ci}(void*, const ${P}_launch* L) {`,
      `  printf("launch %d %u %u %u %u %u %u %u %d", L->kernel, L->grid[0], L->grid[1], L->grid[2], L->block[0], L->block[1], L->block[2], L->shared_bytes, L->nargs);`,
      "  for (int i = 0; i < L->nargs; i++) printf(\" %d\", L->args[i]);",
      '  printf(" %u", L->uniform_words);',
      "  for (uint32_t i = 0; i < L->uniform_words; i++) printf(\" %u\", L->uniforms[i]);",
      '  printf("\\n");',
      "  return 0;",
      "}",
      `static int copy_${ci}(void*, int from, int to, int64_t n) { printf("copy %d %d %lld\\n", from, to, (long long)n); return 0; }`,
    );
  });
  src.push("int main() {");
  cases.forEach((c, ci) => {
    const P = c.m.prefix;
    src.push(
      "  {",
      `    printf("== ${ci}\\n");`,
      `    ${P}_dims d = {};`,
      ...c.m.dims.map((n) => `    d.${cIdent(n)} = ${c.dims[n] ?? 0};`),
      `    ${P}_ops ops = { 0, launch_${ci}, copy_${ci} };`,
      `    if (${P}_run(&d, &ops) != 0) return 1;`,
      "  }",
    );
  });
  src.push("  return 0;", "}", "");
  return src.join("\n");
}

describe("CUDA launches: runtime plan = launch header (emulator) = manifest", () => {
  it.skipIf(!haveGxx())(`every example program (${cases.length}) launches the same way${haveGxx() ? "" : " — skipped: no g++"}`, () => {
    for (const c of cases) writeFileSync(path.join(tmp, c.m.headerFile), c.m.header);
    writeFileSync(path.join(tmp, "harness.cpp"), harness());
    const exe = path.join(tmp, "harness");
    const cc = spawnSync(process.env.CXX || "g++", ["-std=c++17", "-O0", "-w", "-I", tmp, path.join(tmp, "harness.cpp"), "-o", exe], { encoding: "utf8" });
    expect(cc.stderr).toBe("");
    const r = spawnSync(exe, [], { encoding: "utf8", maxBuffer: 64 << 20 });
    expect(r.status).toBe(0);
    const header = r.stdout.split(/^== \d+\n/m).slice(1).map((b) => b.trimEnd().split("\n").filter(Boolean));
    expect(header).toHaveLength(cases.length);
    let launches = 0;
    let copies = 0;
    let iterUniforms = 0;
    cases.forEach((c, ci) => {
      const plan = planCudaSteps(c.prog, c.m, c.dims);
      const mine = plan.map(line);
      expect(mine, `${c.name}: plan vs launch header`).toEqual(header[ci]);
      const man = buildCudaArtifacts(c.prog, { nvcc: false }).files.find(([f]) => f === "manifest.json")![1] as string;
      // the manifest of `attnc compile --target cuda` names kernels by the default prefix
      const m0 = emitCudaModule(c.prog);
      const fromManifest = manifestLines(JSON.parse(man) as Manifest, m0.kernels.map((k) => k.name), c.dims);
      expect(fromManifest, `${c.name}: plan vs manifest.json`).toEqual(mine);
      launches += plan.filter((s) => s.op === "launch").length;
      copies += plan.filter((s) => s.op === "copy").length;
      for (const s of plan) if (s.op === "launch") expect(s.uniforms[s.uniforms.length - 1]).toBe(INF_BITS);
      for (const l of c.m.launches) if (l.launch.uniforms.some((u) => u.kind === "iter")) iterUniforms++;
    });
    // the comparison covers launches, copies and loop-iteration uniforms
    expect(launches).toBeGreaterThan(100);
    expect(copies).toBeGreaterThan(0);
    expect(iterUniforms).toBeGreaterThan(0);
  }, 120_000);

  it("uniform words: ints wrap as (int32_t), floats are binary32, an unbound dim is an error", () => {
    const c = cases.find((x) => x.name === "dense-attention/causal")!;
    const l = c.m.launches[0]!;
    const k = c.m.kernels[l.kernel]!.kernel;
    const w = cudaUniformWords(k, l.launch, { ...c.dims, N: 2 ** 32 + 5 });
    const ni = l.launch.uniforms.findIndex((u) => u.kind === "dim" && u.name === "N");
    expect(ni).toBeGreaterThanOrEqual(0);
    expect(w[ni]).toBe(5);
    const missing = { ...c.dims } as Record<string, number>;
    delete missing.N;
    expect(() => cudaUniformWords(k, l.launch, missing)).toThrow(CudaRunError);
  });
});

const NVCC = findNvcc();
describe.skipIf(!NVCC)(`nvcc: a module as a cubin for the device's sm${NVCC ? "" : " — skipped: nvcc not found"}`, () => {
  it("compiles once, then comes from the cache", () => {
    const c = cases.find((x) => x.name === "dense-attention/causal")!;
    const cache = path.join(tmp, "cache");
    const a = compileCubin(c.m, "sm_90", { cacheDir: cache });
    expect(a.compiled).toBe(true);
    expect(Buffer.from(a.image.subarray(0, 4)).toString("latin1")).toBe("\x7fELF");
    const b = compileCubin(c.m, "sm_90", { cacheDir: cache });
    expect(b.compiled).toBe(false);
    expect(b.file).toBe(a.file);
    expect(readFileSync(b.file).equals(Buffer.from(a.image))).toBe(true);
    expect(() => compileCubin(c.m, "gfx90a", { cacheDir: cache })).toThrow(/not an nvcc architecture/);
  }, 120_000);
});
