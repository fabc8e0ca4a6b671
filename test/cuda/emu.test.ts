/**
 * cuda-emu: the CUDA each program compiles to, run on the CPU (g++), matches the reference
 * interpreter under the WebGPU tolerance; the emulator's barrier checks catch a missing
 * __syncthreads and a barrier in divergent control flow (hand-built kernel IR).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hostTensor, interpret, randomInputs } from "../../compiler/graph/interp.ts";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { emitCudaModule } from "../../backends/cuda/module.ts";
import type { Capability } from "../../compiler/kernel/ir.ts";
import { EMU_CXXFLAGS, EMU_HEADER_DIR, EmuError, buildEmu, cudaInclude, runProgramEmu } from "../../runtime/cuda/emu.ts";
import { exampleCases, lowerCases, opCases } from "./graphs.ts";
import { haveGxx, mismatch, oneKernelProgram, pool } from "./helpers.ts";
import { roundBF16, roundF16 } from "../../compiler/util/float16.ts";
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { MMA_TEST, blockSumKernel, divergentBarrierKernel, expectBlockSum, expectMma, expectReverse, expectWarpReduce, mmaKernel, reverseKernel, warpReduceKernel } from "./kernels.ts";

const GXX = haveGxx();
const { lowered, skipped } = lowerCases([...opCases(), ...exampleCases()]);

describe.skipIf(!GXX)("cuda-emu runs every lowered program like the interpreter", () => {
  beforeAll(async () => {
    // compile the emulators two at a time (2 cores); each test then only runs its binary
    await pool(lowered, 2, (c) => buildEmu(c.prog).catch(() => undefined));
  }, 600_000);

  for (const c of lowered) it(c.name, () => checkProgram(c));

  for (const s of skipped) it.skip(`${s.name} — not lowered yet: ${s.reason}`, () => {});
});

/**
 * The kernels that capability variants replace stay correct: programs with warp-shuffle or wmma
 * variants also run with the scalar kernels (caps []), and those with wmma with warp shuffles only.
 */
const variantRuns = lowered.flatMap((c) => {
  const kinds = new Set(emitCudaModule(c.prog).kernels.map((k) => k.variant));
  const runs: { c: (typeof lowered)[number]; caps: Capability[] }[] = [];
  if (kinds.has("warp-shuffle") || kinds.has("wmma")) runs.push({ c, caps: [] });
  if (kinds.has("wmma")) runs.push({ c, caps: ["warp-shuffle"] });
  return runs;
});

describe.skipIf(!GXX)("cuda-emu runs the kernels variants replace", () => {
  beforeAll(async () => {
    await pool(variantRuns, 2, ({ c, caps }) => buildEmu(c.prog, caps).catch(() => undefined));
  }, 600_000);
  for (const { c, caps } of variantRuns) it(`${c.name} with caps [${caps.join(", ")}]`, () => checkProgram(c, caps));
});

async function checkProgram(c: (typeof lowered)[number], caps?: Capability[]): Promise<void> {
  const inputs = randomInputs(c.graph, c.dims, 1);
  const ref = interpret(c.graph, inputs, { dims: c.dims });
  const got = await runProgramEmu(c.prog, inputs, c.dims, { requires: c.graph.requires, ...(caps ? { caps } : {}) });
  expect(got.outputs.length).toBe(ref.outputs.length);
  got.outputs.forEach((o, i) => {
    const r = ref.outputs[i]!;
    expect(o.shape, `output ${i} shape`).toEqual(r.shape);
    expect(mismatch(o.dtype, o.data, r.data), `output ${i} (${c.graph.outputNames[i]})`).toBeUndefined();
  });
  expect(got.errorFlag).toBe(ref.errorFlag);
}

describe.skipIf(!GXX)("cuda-emu barrier checks (hand-built kernels)", () => {
  const N = 150; // three blocks of 64, the last one partial
  const x = Array.from({ length: N }, (_, i) => Math.fround(Math.sin(i) * 10));
  const inputs = { x: hostTensor("f32", [N], x) };

  it("a block reversal through shared memory with a barrier is correct", async () => {
    const r = await runProgramEmu(oneKernelProgram(reverseKernel(true)), inputs);
    expect(Array.from(r.outputs[0]!.data)).toEqual(expectReverse(x));
    expect(r.launches).toBe(1);
  });

  it("a tree reduction with barriers inside a loop is correct", async () => {
    const r = await runProgramEmu(oneKernelProgram(blockSumKernel()), inputs);
    expect(Array.from(r.outputs[0]!.data)).toEqual(expectBlockSum(x));
  });

  it("the same reversal without the barrier is reported as a missing __syncthreads", async () => {
    const p = runProgramEmu(oneKernelProgram(reverseKernel(false)), inputs);
    await expect(p).rejects.toThrow(EmuError);
    await expect(p).rejects.toThrow(/reverse_block_nobarrier: the result depends on the order of threads between barriers \(missing __syncthreads\(\)\?\)/);
  });

  it("without the check, the missing barrier goes unnoticed (reads see poisoned shared memory)", async () => {
    const r = await runProgramEmu(oneKernelProgram(reverseKernel(false)), inputs, {}, { checkBarriers: false });
    expect(r.outputs[0]!.data.some((v) => Number.isNaN(v))).toBe(true);
  });

  it("a barrier reached by only half of the block is reported", async () => {
    await expect(runProgramEmu(oneKernelProgram(divergentBarrierKernel()), inputs)).rejects.toThrow(
      /divergent_barrier: thread \(\d+, 0, 0\) returned while other threads of its block wait at __syncthreads\(\)/,
    );
  });

  it("inputs that do not fit the program are rejected before running", async () => {
    await expect(runProgramEmu(oneKernelProgram(reverseKernel(true)), { x: hostTensor("i32", [3], [1, 2, 3]) })).rejects.toThrow(/expected dtype f32, got i32/);
    await expect(runProgramEmu(oneKernelProgram(reverseKernel(true)), {})).rejects.toThrow(/input 'x' .* is missing/);
  });
});

describe.skipIf(!GXX)("cuda-emu warp collectives (hand-built kernels)", () => {
  const N = 150; // three blocks of 64, the last one partial
  // small integers: ties for argmax; a NaN in the second block
  const x = Array.from({ length: N }, (_, i) => (i === 77 ? NaN : Math.round(Math.sin(i * 1.7) * 3) + (i % 5) / 8));
  const inputs = { x: hostTensor("f32", [N], x) };
  const same = (got: ArrayLike<number>, want: readonly number[]) => {
    // bit-for-bit (NaN matches NaN)
    want.forEach((w, i) => expect(Object.is(got[i], w) || (Number.isNaN(got[i]!) && Number.isNaN(w)), `element ${i}: ${got[i]} vs ${w}`).toBe(true));
  };

  for (const [op, width] of [["sum", 32], ["sum", 4], ["max", 8], ["min", 32], ["argmax", 16], ["argmax", 32]] as const)
    it(`__shfl_xor_sync ${op} over groups of ${width} lanes matches the butterfly on the host`, async () => {
      const r = await runProgramEmu(oneKernelProgram(warpReduceKernel(op, width)), inputs);
      same(r.outputs[0]!.data, expectWarpReduce(x, op, width));
    });

  it("a warp reduction reached by half of a warp is reported as divergence", async () => {
    await expect(runProgramEmu(oneKernelProgram(warpReduceKernel("sum", 32, true)), inputs)).rejects.toThrow(
      /warp_sum_32_divergent: thread \(\d+, 0, 0\) of the mask does not reach the warp collective its warp's other lanes wait at \(divergence\)/,
    );
  });

  const xm = Array.from({ length: MMA_TEST.n }, (_, i) => Math.fround(Math.sin(i * 0.37) * 4 + Math.cos(i * 1.3)));
  for (const [ab, round] of [["f16", roundF16], ["bf16", roundBF16]] as const)
    for (const layout of ["row", "col"] as const)
      for (const acc of [true, false])
        it(`wmma ${ab} mma_sync, B ${layout}-major, ${acc ? "C loaded" : "C filled with 0"}, ldm ≠ 16, two k steps: the f32 scalar product exactly`, async () => {
          const r = await runProgramEmu(oneKernelProgram(mmaKernel(ab, layout, acc)), { x: hostTensor("f32", [MMA_TEST.n], xm) });
          same(r.outputs[0]!.data, expectMma(xm, round, layout, acc));
        });
});

describe.skipIf(!GXX)("cuda-emu warp collective self-test (native/emu/selftest.cpp)", () => {
  it("__shfl_sync/__shfl_down_sync/__shfl_up_sync with widths, partial warps and masks, __activemask, __syncwarp and the divergence errors", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "attnc-emu-selftest-"));
    try {
      const exe = path.join(dir, "selftest");
      const inc = cudaInclude();
      execFileSync(process.env.CXX || "g++", [...EMU_CXXFLAGS, "-w", `-I${EMU_HEADER_DIR}`, ...(inc ? [`-I${inc}`] : []), "-o", exe, path.join(EMU_HEADER_DIR, "selftest.cpp")], { stdio: "pipe" });
      const out = execFileSync(exe, { encoding: "utf8" });
      expect(out.trim()).toBe("0 failures");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.skipIf(!GXX)("cuda-emu: f16 attention with non-finite values in V", () => {
  // causal: rows before key 5 (7) remove it, later rows admit it; ±inf and NaN must only reach those
  const b = new GraphBuilder("attention_nonfinite_v");
  const q = b.input("q", "f16", [20, 16]);
  const out = b.attention(q, b.input("k", "f16", [20, 16]), b.input("v", "f16", [20, 24]), { mask: ([i, j]) => S.le(j!, i!) }) as Tensor;
  const graph = b.finish([out]);
  const prog = lowerGraph(graph);
  const inputs = randomInputs(graph, {}, 3);
  const v = Array.from(inputs.v!.data);
  v[5 * 24 + 3] = Infinity;
  v[7 * 24 + 2] = NaN;
  v[9 * 24 + 20] = -Infinity;
  const withBad = { ...inputs, v: hostTensor("f16", [20, 24], v) };
  const ref = interpret(graph, withBad);
  for (const caps of [undefined, [] as Capability[]])
    it(caps ? "scalar kernel" : "wmma kernel (non-finite V is added outside the tensor cores)", async () => {
      expect(emitCudaModule(prog, caps ? { caps } : {}).kernels[0]!.variant).toBe(caps ? "scalar" : "wmma");
      const got = await runProgramEmu(prog, withBad, {}, caps ? { caps } : {});
      const o = got.outputs[0]!.data;
      expect(mismatch("f16", o, ref.outputs[0]!.data)).toBeUndefined();
      expect(Number.isFinite(o[4 * 24 + 3]!) && Number.isFinite(o[6 * 24 + 2]!)).toBe(true); // rows that removed the key
      expect(o[5 * 24 + 3]).toBe(Infinity);
      expect(Number.isNaN(o[7 * 24 + 2]!)).toBe(true);
    }, 120_000);
});
