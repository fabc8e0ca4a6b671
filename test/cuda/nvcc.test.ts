/**
 * Every kernel emitted for the example programs and the op graphs compiles with nvcc for sm_80 and
 * sm_90 (to PTX, --Werror all-warnings), and every launch-helper header compiles as C99 and C++
 * with -Wall -Wextra -Werror. To keep this fast, one translation unit per architecture holds every
 * distinct kernel once (kernels identical up to their name — the same elementwise op in several
 * programs — compile once) with the union of the helpers, so nvcc starts twice, not once per
 * program; the hand-built barrier modules and one example module are also compiled whole, as
 * emitted. On a failure each module is compiled alone to say which one fails.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cudaCapsForArch, emitCudaModule, type CudaModule } from "../../backends/cuda/module.ts";
import { buildCudaArtifacts } from "../../backends/cuda/artifacts.ts";
import { cudaHelpers, cudaPrelude, printCuda, printCudaKernelOnly } from "../../backends/cuda/dialect.ts";
import { exampleCases, lowerCases, opCases } from "./graphs.ts";
import { findNvcc, haveGxx, pool } from "./helpers.ts";
import { blockSumKernel, divergentBarrierKernel, mmaKernel, reverseKernel, warpReduceKernel } from "./kernels.ts";
import { oneKernelProgram } from "./helpers.ts";

const NVCC = findNvcc();
const { lowered, skipped } = lowerCases([...opCases(), ...exampleCases()]);
const hand = [
  reverseKernel(true), reverseKernel(false), blockSumKernel(), divergentBarrierKernel(),
  warpReduceKernel("sum", 32), warpReduceKernel("max", 8), warpReduceKernel("min", 16), warpReduceKernel("argmax", 16), mmaKernel("f16", "col"), mmaKernel("bf16", "row", false),
];
// the CUDA backend launches capability variants (warp-shuffle, wmma) where a kernel has them; the
// scalar kernels they replace are compiled too (caps: [])
const withVariants = lowered.filter((c) => emitCudaModule(c.prog).kernels.some((k) => k.variant !== "scalar"));
const modules: { name: string; m: CudaModule }[] = [
  ...lowered.map((c, i) => ({ name: c.name, m: emitCudaModule(c.prog, { prefix: `p${i}_${c.prog.name}` }) })),
  ...withVariants.map((c, i) => ({ name: `${c.name} (scalar)`, m: emitCudaModule(c.prog, { prefix: `s${i}_${c.prog.name}`, caps: [] }) })),
  ...hand.map((k) => ({ name: `hand-built ${k.name}`, m: emitCudaModule(oneKernelProgram(k), { prefix: `hand_${k.name}` }) })),
];
const dir = mkdtempSync(path.join(os.tmpdir(), "attnc-nvcc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const { m } of modules) {
  writeFileSync(path.join(dir, m.cuFile), m.cu);
  writeFileSync(path.join(dir, m.headerFile), m.header);
}

// one translation unit: every distinct kernel once, plus a few modules exactly as emitted
const whole = modules.filter(({ name }) => name.startsWith("hand-built") || name === "dense-attention/causal");
const distinct = new Map<string, string>();
const helpers = new Set<string>();
const entries: string[] = [];
for (const { m } of modules.filter((x) => !whole.includes(x)))
  for (const k of m.kernels) {
    const key = printCudaKernelOnly({ ...k.kernel, name: "K" });
    if (distinct.has(key)) continue;
    distinct.set(key, printCudaKernelOnly(k.kernel));
    cudaHelpers(k.kernel).forEach((h) => helpers.add(h));
    entries.push(k.name);
  }
for (const { m } of whole) entries.push(...m.kernels.map((k) => k.name));
const combined = [...cudaPrelude(helpers), ...distinct.values(), ...whole.map(({ m }) => `#include "${m.cuFile}"`)].join("\n") + "\n";

const exec = (file: string, args: readonly string[]): Promise<{ ok: boolean; out: string }> =>
  new Promise((resolve) =>
    execFile(file, args, { cwd: dir, maxBuffer: 64 << 20, timeout: 300_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() })),
  );

const nvccArgs = (arch: string, file: string, out: string) => [`-arch=${arch}`, "-ptx", "--Werror", "all-warnings", "-o", out, file];

describe("capability variants", () => {
  it("f16/bf16 attention and matmul get the wmma variant, f32 attention and long reductions the warp-shuffle one; the scalar modules have neither", () => {
    const kinds = (name: string) => modules.filter((x) => x.name === name).flatMap((x) => x.m.kernels.map((k) => k.variant));
    expect(kinds("attention_f16")).toEqual(["wmma"]);
    expect(kinds("attention_bf16")).toEqual(["wmma", "scalar"]); // the probs kernel stays scalar
    expect(kinds("attention_f16_vscale")).toEqual(["warp-shuffle"]);
    expect(kinds("dense-attention/causal")).toContain("warp-shuffle");
    expect(kinds("matmul_half")).toEqual(["wmma", "wmma"]);
    expect(kinds("matmul")).toEqual(["scalar", "warp-shuffle"]); // f32 matmul: the tiled kernel (kernels/matmul.ts, workgroup memory, no variant); the einsum row sum: lanes split K, a warp sum combines them
    expect(modules.filter((x) => x.name.endsWith("(scalar)")).every((x) => x.m.kernels.every((k) => k.variant === "scalar"))).toBe(true);
    const cu = modules.find((x) => x.name === "attention_f16")!.m.cu;
    expect(cu).toContain("nvcuda::wmma::mma_sync");
    expect(cu).toContain("__shfl_xor_sync");
  });

  it("capabilities by architecture: wmma from sm_80, shuffles before", () => {
    expect(cudaCapsForArch("sm_90")).toEqual(["warp-shuffle", "wmma"]);
    expect(cudaCapsForArch("sm_80")).toEqual(["warp-shuffle", "wmma"]);
    expect(cudaCapsForArch("sm_75")).toEqual(["warp-shuffle"]);
    expect(cudaCapsForArch("compute_x")).toEqual([]);
    const c = lowered.find((x) => x.name === "attention_f16")!;
    expect(emitCudaModule(c.prog, { caps: cudaCapsForArch("sm_75") }).kernels.map((k) => k.variant)).toEqual(["warp-shuffle"]);
  });

  it("the CUDA manifest says which variant each kernel is", () => {
    const c = lowered.find((x) => x.name === "attention_bf16")!;
    const files = new Map(buildCudaArtifacts(c.prog, { nvcc: false }).files);
    const man = JSON.parse(files.get("manifest.json") as string) as { kernels: { name: string; variant: string }[] };
    expect(man.kernels.map((k) => k.variant)).toEqual(["wmma", "scalar"]);
  });
});

describe.skipIf(!NVCC)("nvcc compiles every emitted kernel", () => {
  for (const arch of ["sm_80", "sm_90"])
    it.concurrent(`${modules.length} modules, ${modules.reduce((a, x) => a + x.m.kernels.length, 0)} kernels (${entries.length} distinct) → PTX for ${arch} (--Werror all-warnings)`, async () => {
      const all = path.join(dir, `all_${arch}.cu`);
      writeFileSync(all, combined);
      const ptx = path.join(dir, `all_${arch}.ptx`);
      const r = await exec(NVCC!, nvccArgs(arch, all, ptx));
      if (!r.ok) {
        // find the modules that fail on their own
        const fails = (await pool(modules, 2, async ({ name, m }) => {
          const one = await exec(NVCC!, nvccArgs(arch, m.cuFile, path.join(dir, `${m.prefix}_${arch}.ptx`)));
          return one.ok ? undefined : `${name}:\n${one.out}`;
        })).filter(Boolean);
        expect(fails.length ? fails.join("\n\n") : r.out).toBe("");
      }
      const text = (await import("node:fs")).readFileSync(ptx, "utf8");
      expect(text).toContain(`.target ${arch}`);
      for (const name of entries) expect(text).toContain(`.entry ${name}(`);
    }, 600_000);

  it("a standalone kernel (printCuda) compiles on its own", async () => {
    const f = path.join(dir, "standalone.cu");
    writeFileSync(f, printCuda(blockSumKernel()));
    const r = await exec(NVCC!, nvccArgs("sm_80", f, path.join(dir, "standalone.ptx")));
    expect(r.out).toBe("");
    expect(r.ok).toBe(true);
  });

  for (const s of skipped) it.skip(`${s.name} — not lowered yet: ${s.reason}`, () => {});
});

describe.skipIf(!haveGxx())("launch-helper headers", () => {
  it("every header compiles as C99 and as C++17 with -Wall -Wextra -Werror, all in one translation unit", async () => {
    const inc = modules.map(({ m }) => `#include "${m.headerFile}"`).join("\n") + "\nint main(void) { return 0; }\n";
    writeFileSync(path.join(dir, "headers.c"), inc);
    writeFileSync(path.join(dir, "headers.cpp"), inc);
    const c = await exec("gcc", ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wno-unused-const-variable", "-c", "headers.c", "-o", "headers_c.o"]);
    expect(c.out).toBe("");
    const cpp = await exec("g++", ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-c", "headers.cpp", "-o", "headers_cpp.o"]);
    expect(cpp.out).toBe("");
  });
});
