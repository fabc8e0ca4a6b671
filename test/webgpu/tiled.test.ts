/**
 * The dedicated kernels tried before an op's per-element form (KERNELS_FIRST): the tiled f32
 * matmul (compiler/kernel/kernels/matmul.ts) and the row-parallel softmax / logsumexp
 * (compiler/kernel/kernels/rows.ts), on WebGPU (Dawn/SwiftShader) and on cuda-emu, against the
 * interpreter under the tolerance policy. Shapes are drawn from {1, 7, 33, 64, 65, 130} (inside,
 * on and across the 32/64 tiles and the 16-wide K panels), with batch broadcasting, vector
 * operands and symbolic dims. The matmul is also compared bit for bit with the per-element kernel
 * it replaces (same k order, same f32 accumulation).
 */
import { describe, expect, it } from "vitest";
import { GraphBuilder, type Tensor } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { hostTensor, interpret, randomInputs, type HostTensor } from "../../compiler/graph/interp.ts";
import { KERNELS_FIRST, lowerGraph } from "../../compiler/kernel/lower.ts";
import { launches, type Program } from "../../compiler/kernel/program.ts";
import { compareOutput, describeComparison, outputTolerance } from "../../compiler/tolerance.ts";
import { runProgramEmu } from "../../runtime/cuda/emu.ts";
import { runProgram } from "../../runtime/webgpu/execute.ts";
import { haveGxx } from "../cuda/helpers.ts";
import { checkGraph, gpuIt, openGpu, rng } from "./util.ts";

const gpu = await openGpu();
const GXX = haveGxx();
const SIZES = [1, 7, 33, 64, 65, 130];

function build(name: string, f: (b: GraphBuilder) => Tensor | Tensor[]): Graph {
  const b = new GraphBuilder(name);
  const o = f(b);
  return b.finish(Array.isArray(o) ? o : [o]);
}

/** The program lowered with the op's per-element kernel (its KERNELS_FIRST generator set aside). */
function perElement(g: Graph, op: keyof typeof KERNELS_FIRST): Program {
  const gen = KERNELS_FIRST[op];
  delete KERNELS_FIRST[op];
  try {
    return lowerGraph(g);
  } finally {
    KERNELS_FIRST[op] = gen;
  }
}

/** Whether the program launches a kernel with workgroup memory for `op` (the dedicated kernel). */
const usesDedicated = (p: Program, op: string) => [...launches(p.steps)].some((l) => l.node.op === op && l.kernel.shared.length > 0);

interface Case {
  readonly label: string;
  readonly graph: Graph;
  readonly dims: Record<string, number>;
  readonly op: "matmul" | "softmax" | "logsumexp";
  readonly inputs?: Record<string, HostTensor>;
}

function matmulCases(): Case[] {
  const r = rng(20261128);
  const pick = () => SIZES[Math.floor(r() * SIZES.length)]!;
  const mm = build("mm", (b) => b.matmul(b.input("a", "f32", ["M", "K"]), b.input("b", "f32", ["K", "N"])));
  const cases: Case[] = [];
  // every size on each axis at least once, the rest drawn
  const fixed: [number, number, number][] = [[1, 1, 1], [7, 130, 33], [130, 7, 65], [64, 64, 64], [65, 33, 130], [33, 65, 7]];
  for (let i = 0; i < 4; i++) fixed.push([pick(), pick(), pick()]);
  for (const [M, N, K] of fixed) cases.push({ label: `matmul M=${M} N=${N} K=${K}`, graph: mm, dims: { M, N, K }, op: "matmul" });
  // static shapes (tile choice from the shape: 32 when a side ≤ 32)
  cases.push({ label: "matmul static 33×130·130×65", graph: build("mm_static", (b) => b.matmul(b.input("a", "f32", [33, 130]), b.input("b", "f32", [130, 65]))), dims: {}, op: "matmul" });
  cases.push({ label: "matmul static 7×64·64×7", graph: build("mm_small", (b) => b.matmul(b.input("a", "f32", [7, 64]), b.input("b", "f32", [64, 7]))), dims: {}, op: "matmul" });
  // batch broadcast: [2, 1, M, K] @ [3, K, N] → [2, 3, M, N]; and a shared right operand
  const bb = build("mm_bcast", (b) => b.matmul(b.input("a", "f32", [2, 1, "M", "K"]), b.input("b", "f32", [3, "K", "N"])));
  cases.push({ label: "matmul batch broadcast M=33 N=65 K=7", graph: bb, dims: { M: 33, N: 65, K: 7 }, op: "matmul" });
  cases.push({ label: "matmul batch broadcast M=65 N=1 K=130", graph: bb, dims: { M: 65, N: 1, K: 130 }, op: "matmul" });
  const bl = build("mm_bleft", (b) => b.matmul(b.input("a", "f32", ["B", "M", "K"]), b.input("b", "f32", ["K", "N"])));
  cases.push({ label: "matmul batched left B=3 M=64 N=33 K=65", graph: bl, dims: { B: 3, M: 64, N: 33, K: 65 }, op: "matmul" });
  // vector operands (rank 1: unsqueezed by the builder)
  cases.push({ label: "vector @ matrix K=130 N=65", graph: build("vm", (b) => b.matmul(b.input("v", "f32", ["K"]), b.input("m", "f32", ["K", "N"]))), dims: { K: 130, N: 65 }, op: "matmul" });
  cases.push({ label: "matrix @ vector M=33 K=64", graph: build("mv", (b) => b.matmul(b.input("m", "f32", ["M", "K"]), b.input("v", "f32", ["K"]))), dims: { M: 33, K: 64 }, op: "matmul" });
  // transposed operand (a permute feeding the matmul) and mixed dtypes (f16 promoted to f32)
  cases.push({ label: "a @ bᵀ M=65 N=33 K=130", graph: build("mm_t", (b) => b.matmul(b.input("a", "f32", ["M", "K"]), b.transpose(b.input("b", "f32", ["N", "K"])))), dims: { M: 65, N: 33, K: 130 }, op: "matmul" });
  cases.push({ label: "matmul f16 @ f32 M=33 N=7 K=65", graph: build("mm_mixed", (b) => b.matmul(b.input("a", "f16", ["M", "K"]), b.input("b", "f32", ["K", "N"]))), dims: { M: 33, N: 7, K: 65 }, op: "matmul" });
  // zero-sized K: all zeros
  cases.push({ label: "matmul K=0", graph: mm, dims: { M: 7, N: 65, K: 0 }, op: "matmul" });
  return cases;
}

function specialMatmul(): Case {
  // ±inf and NaN in the operands: the padded products must not turn into NaN (0·inf) anywhere
  const M = 33, K = 17, N = 65;
  const a = Array.from({ length: M * K }, (_, i) => (i === 5 ? Infinity : i === 40 ? NaN : i === 300 ? -Infinity : Math.sin(i)));
  const b = Array.from({ length: K * N }, (_, i) => (i === 77 ? Infinity : Math.cos(i)));
  const graph = build("mm_special", (bb) => bb.matmul(bb.input("a", "f32", ["M", "K"]), bb.input("b", "f32", ["K", "N"])));
  return { label: "matmul with ±inf/NaN", graph, dims: { M, K, N }, op: "matmul", inputs: { a: hostTensor("f32", [M, K], a), b: hostTensor("f32", [K, N], b) } };
}

const MATMUL = [...matmulCases(), specialMatmul()];

describe("tiled matmul", () => {
  it("lowers every f32 case to the tiled kernel and f16/bf16/int matmul to the per-element one", () => {
    for (const c of MATMUL) expect(usesDedicated(lowerGraph(c.graph), "matmul"), c.label).toBe(true);
    for (const dt of ["f16", "bf16", "i32"] as const) {
      const g = build(`mm_${dt}`, (b) => b.matmul(b.input("a", dt, ["M", "K"]), b.input("b", dt, ["K", "N"])));
      expect(usesDedicated(lowerGraph(g), "matmul"), dt).toBe(false);
    }
  });

  it("emits byte-identical kernels for the same graph", () => {
    const text = (p: Program) => JSON.stringify([...launches(p.steps)].map((l) => l.kernel));
    for (const c of MATMUL.slice(0, 3)) expect(text(lowerGraph(c.graph))).toBe(text(lowerGraph(c.graph)));
  });

  gpuIt(gpu, "WebGPU: matches the interpreter and the per-element kernel bit for bit", async (dev) => {
    for (const c of MATMUL) {
      const inputs = c.inputs ?? randomInputs(c.graph, c.dims, 3);
      const { got } = await checkGraph(dev, c.graph, c.dims, { inputs, label: c.label });
      const ref = await runProgram(perElement(c.graph, "matmul"), dev, inputs, c.dims);
      expect(Array.from(got.outputs[0]!.data), `${c.label}: tiled vs per-element`).toEqual(Array.from(ref.outputs[0]!.data));
    }
  }, 600_000);
});

describe.skipIf(!GXX)("tiled matmul on cuda-emu", () => {
  it("matches the interpreter and the per-element kernel bit for bit", async () => {
    for (const c of MATMUL.filter((_, i) => i % 3 === 0)) {
      const inputs = c.inputs ?? randomInputs(c.graph, c.dims, 5);
      await checkEmu(c, inputs);
      const got = await runProgramEmu(lowerGraph(c.graph), inputs, c.dims);
      // the per-element kernel's scalar form (caps []): its warp-shuffle variant sums in another order
      const ref = await runProgramEmu(perElement(c.graph, "matmul"), inputs, c.dims, { caps: [] });
      expect(Array.from(got.outputs[0]!.data), `${c.label}: tiled vs per-element`).toEqual(Array.from(ref.outputs[0]!.data));
    }
  }, 600_000);
});

async function checkEmu(c: Case, inputs: Record<string, HostTensor>): Promise<void> {
  const ref = interpret(c.graph, inputs, { dims: c.dims });
  const got = await runProgramEmu(lowerGraph(c.graph), inputs, c.dims, { requires: c.graph.requires });
  ref.outputs.forEach((r, i) => {
    const { dtype, tol } = outputTolerance(c.graph, i);
    const cmp = compareOutput(r.dtype, got.outputs[i]!, r, tol);
    expect(cmp.ok, `${c.label} (emu): ${describeComparison(dtype, cmp)}`).toBe(true);
  });
  expect(got.errorFlag).toBe(ref.errorFlag);
}

function rowCases(): Case[] {
  const cases: Case[] = [];
  const sm = build("sm", (b) => b.softmax(b.input("x", "f32", ["R", "L"]), -1));
  const lse = build("lse", (b) => b.logsumexp(b.input("x", "f32", ["R", "L"]), -1));
  for (const [R, L] of [[1, 1], [7, 33], [3, 64], [5, 65], [2, 130], [4, 1024], [65, 7], [2, 0]] as const) {
    cases.push({ label: `softmax R=${R} L=${L}`, graph: sm, dims: { R, L }, op: "softmax" });
    cases.push({ label: `logsumexp R=${R} L=${L}`, graph: lse, dims: { R, L }, op: "logsumexp" });
  }
  // another axis (rows strided by the inner size), keepdims, f16 in and out
  cases.push({ label: "softmax axis 1 of [3, L, 5], L=130", graph: build("sm_ax", (b) => b.softmax(b.input("x", "f32", [3, "L", 5]), 1)), dims: { L: 130 }, op: "softmax" });
  cases.push({ label: "logsumexp keepdims axis 0 of [L, 7], L=65", graph: build("lse_k", (b) => b.logsumexp(b.input("x", "f32", ["L", 7]), 0, true)), dims: { L: 65 }, op: "logsumexp" });
  cases.push({ label: "softmax f16 [3, 200]", graph: build("sm_h", (b) => b.softmax(b.input("x", "f16", [3, 200]), -1)), dims: {}, op: "softmax" });
  // special rows: a dead (all -inf) row, a row with +inf, a row with NaN, a row with one finite value
  const L = 70;
  const data: number[] = [];
  for (let r = 0; r < 4; r++)
    for (let j = 0; j < L; j++) data.push(r === 0 ? -Infinity : r === 1 && j === 9 ? Infinity : r === 2 && j === 40 ? NaN : r === 3 ? (j === 66 ? 2 : -Infinity) : Math.sin(j));
  const sp = build("sm_special", (b) => {
    const x = b.input("x", "f32", [4, L]);
    return [b.softmax(x, -1), b.logsumexp(x, -1)];
  });
  cases.push({ label: "softmax/logsumexp special rows", graph: sp, dims: {}, op: "softmax", inputs: { x: hostTensor("f32", [4, L], data) } });
  return cases;
}

const ROWS = rowCases();

describe("row-parallel softmax and logsumexp", () => {
  it("lower to the row kernel (one workgroup per row); rows statically shorter than 64 keep the per-element kernel", () => {
    for (const c of ROWS) expect(usesDedicated(lowerGraph(c.graph), c.op), c.label).toBe(true);
    const short = build("sm_short", (b) => b.softmax(b.input("x", "f32", [9, 33]), -1));
    expect(usesDedicated(lowerGraph(short), "softmax")).toBe(false);
  });

  gpuIt(gpu, "WebGPU: match the interpreter (long and short rows, any axis, special values)", async (dev) => {
    for (const c of ROWS) await checkGraph(dev, c.graph, c.dims, { inputs: c.inputs ?? randomInputs(c.graph, c.dims, 9), label: c.label });
  }, 600_000);
});

describe.skipIf(!GXX)("row-parallel softmax and logsumexp on cuda-emu", () => {
  it("match the interpreter", async () => {
    for (const c of ROWS.filter((_, i) => i % 2 === 0 || i >= ROWS.length - 4)) await checkEmu(c, c.inputs ?? randomInputs(c.graph, c.dims, 11));
  }, 600_000);
});
