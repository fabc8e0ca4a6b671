/**
 * cuda-emu: the CUDA each program compiles to, run on the CPU (g++), matches the reference
 * interpreter under the WebGPU tolerance; the emulator's barrier checks catch a missing
 * __syncthreads and a barrier in divergent control flow (hand-built kernel IR).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hostTensor, interpret, randomInputs } from "../../compiler/graph/interp.ts";
import { EmuError, buildEmu, runProgramEmu } from "../../runtime/cuda/emu.ts";
import { exampleCases, lowerCases, opCases } from "./graphs.ts";
import { haveGxx, mismatch, oneKernelProgram, pool } from "./helpers.ts";
import { blockSumKernel, divergentBarrierKernel, expectBlockSum, expectReverse, reverseKernel } from "./kernels.ts";

const GXX = haveGxx();
const { lowered, skipped } = lowerCases([...opCases(), ...exampleCases()]);

describe.skipIf(!GXX)("cuda-emu runs every lowered program like the interpreter", () => {
  beforeAll(async () => {
    // compile the emulators two at a time (2 cores); each test then only runs its binary
    await pool(lowered, 2, (c) => buildEmu(c.prog).catch(() => undefined));
  }, 600_000);

  for (const c of lowered)
    it(c.name, async () => {
      const inputs = randomInputs(c.graph, c.dims, 1);
      const ref = interpret(c.graph, inputs, { dims: c.dims });
      const got = await runProgramEmu(c.prog, inputs, c.dims, { requires: c.graph.requires });
      expect(got.outputs.length).toBe(ref.outputs.length);
      got.outputs.forEach((o, i) => {
        const r = ref.outputs[i]!;
        expect(o.shape, `output ${i} shape`).toEqual(r.shape);
        expect(mismatch(o.dtype, o.data, r.data), `output ${i} (${c.graph.outputNames[i]})`).toBeUndefined();
      });
      expect(got.errorFlag).toBe(ref.errorFlag);
    });

  for (const s of skipped) it.skip(`${s.name} — not lowered yet: ${s.reason}`, () => {});
});

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
