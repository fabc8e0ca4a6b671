/**
 * segment_reduce's dedicated kernels (compiler/kernel/kernels/segment.ts: a CSR build, then one
 * thread per output over its slot's members) on WebGPU and on cuda-emu against the interpreter:
 * random ids with empty segments, every token in one segment, -1 (no segment, no flag) and
 * out-of-range ids (error flag), n not a multiple of the 64-thread workgroup (67, 129), one and
 * 768 channels, every reduction (sum, mean, max, min) for f32, f16, i32 and u32, seg ids broadcast
 * over the batch, reductions along the first and last axis, NaN and signed zeros. On valid ids the
 * f32 results are also compared bit for bit with the op's per-element kernel (the same order of
 * accumulation).
 */
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { hostTensor, interpret, type HostTensor } from "../../compiler/graph/interp.ts";
import { KERNELS_FIRST, lowerGraph } from "../../compiler/kernel/lower.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import { runProgram } from "../../runtime/webgpu/execute.ts";
import { runProgramEmu } from "../../runtime/cuda/emu.ts";
import { roundF16 } from "../../compiler/util/float16.ts";
import { haveGxx, mismatch } from "../cuda/helpers.ts";
import { checkGraph, gpuIt, openGpu, rng } from "./util.ts";

const gpu = await openGpu();
const GXX = haveGxx();
const FNS = ["sum", "mean", "max", "min"] as const;

/** x [A, N, C] · seg [A or 1, N] → the four reductions over axis 1 into S slots. */
function segGraph(dt: DType, opts: { bcast?: boolean } = {}): Graph {
  const b = new GraphBuilder(`seg_${dt}${opts.bcast ? "_bcast" : ""}`);
  const x = b.input("x", dt, ["A", "N", "C"]);
  const seg = b.input("seg", "i32", [opts.bcast ? 1 : "A", "N"]);
  return b.finish(FNS.map((f) => b.segmentReduce(f, x, seg, "S", 1)));
}

/** x [N, C] (axis 0: no leading dims) and x [A, B, N] (axis 2: one channel), both with every reduction. */
function axisGraph(axis: 0 | 2): Graph {
  const b = new GraphBuilder(`seg_axis${axis}`);
  const x = b.input("x", "f32", axis === 0 ? ["N", "C"] : ["A", "B", "N"]);
  const seg = b.input("seg", "i32", axis === 0 ? ["N"] : ["A", "B", "N"]);
  return b.finish(FNS.map((f) => b.segmentReduce(f, x, seg, "S", axis)));
}

type Ids = "random" | "one" | "bad" | "none";

/** Seeded inputs: x values rounded to the dtype (floats in (-8, 8), ints in [-50, 50) or [0, 50)), ids by kind. */
function inputs(dt: DType, xShape: number[], segShape: number[], S: number, ids: Ids, seed: number, special = false): Record<string, HostTensor> {
  const r = rng(seed);
  const nx = xShape.reduce((a, b) => a * b, 1);
  const xv = Array.from({ length: nx }, () => {
    if (dt === "i32") return Math.floor(r() * 100) - 50;
    if (dt === "u32") return Math.floor(r() * 50);
    const v = (r() * 2 - 1) * 8; // not exact in f32: sums depend on their order
    return dt === "f16" ? roundF16(v) : Math.fround(v);
  });
  if (special) for (let i = 0; i < nx; i += 7) xv[i] = [NaN, -0, Infinity, -Infinity][(i / 7) % 4]!;
  const ns = segShape.reduce((a, b) => a * b, 1);
  const sv = Array.from({ length: ns }, (_, i) => {
    switch (ids) {
      case "one":
        return Math.min(2, S - 1);
      case "none":
        return r() < 0.3 ? -1 : Math.floor(r() * S); // -1: no segment, no flag
      case "bad":
        return i === ns - 3 ? S : i === 5 ? -2 : Math.floor(r() * S);
      default:
        return Math.floor(r() * Math.max(1, S - 3)); // the last slots stay empty
    }
  });
  return { x: hostTensor(dt, xShape, xv), seg: hostTensor("i32", segShape, sv) };
}

function expectDedicated(p: Program): void {
  const names = p.steps.flatMap((s) => (s.k === "launch" ? [s.kernel.name] : []));
  expect(names.filter((n) => n.startsWith("segment_reduce")).every((n) => /_(csr|reduce)$/.test(n))).toBe(true);
  expect(names.some((n) => n.endsWith("_csr"))).toBe(true);
}

/** The program lowered through segment_reduce's per-element form (the dedicated kernel unregistered). */
function perElementProgram(g: Graph): Program {
  const gen = KERNELS_FIRST.segment_reduce;
  delete KERNELS_FIRST.segment_reduce;
  try {
    return lowerGraph(g);
  } finally {
    KERNELS_FIRST.segment_reduce = gen;
  }
}

interface Case {
  readonly label: string;
  readonly graph: Graph;
  readonly dims: Record<string, number>;
  readonly inputs: Record<string, HostTensor>;
  /** Whether the interpreter sets the error flag (ids < -1 or ≥ S). */
  readonly flag: boolean;
}

function cases(): Case[] {
  const out: Case[] = [];
  const add = (graph: Graph, dt: DType, A: number, N: number, C: number, S: number, ids: Ids, seed: number, bcast = false, special = false) =>
    out.push({
      label: `${graph.name} A=${A} N=${N} C=${C} S=${S} ids=${ids}${special ? " NaN/±0/±inf" : ""}`,
      graph,
      dims: { A, N, C, S },
      inputs: inputs(dt, [A, N, C], [bcast ? 1 : A, N], S, ids, seed, special),
      flag: ids === "bad",
    });
  for (const dt of ["f32", "f16", "i32", "u32"] as const) {
    const g = segGraph(dt);
    add(g, dt, 2, 67, 1, 20, "random", 1);
    add(g, dt, 3, 129, 5, 7, "one", 2);
    add(g, dt, 2, 67, 3, 9, "bad", 3);
    add(g, dt, 1, 129, 2, 40, "none", 4);
  }
  const f32 = segGraph("f32");
  add(f32, "f32", 2, 129, 768, 100, "random", 5);
  add(f32, "f32", 1, 67, 3, 5, "random", 6, false, true);
  add(f32, "f32", 2, 0, 3, 4, "random", 7);
  add(f32, "f32", 2, 5, 3, 0, "bad", 8);
  add(f32, "f32", 2, 9, 0, 4, "bad", 13); // no channels: no outputs, the bad ids still flag (as the interpreter)
  const bc = segGraph("f32", { bcast: true });
  add(bc, "f32", 3, 67, 4, 11, "random", 9, true);
  add(bc, "f32", 3, 67, 4, 11, "bad", 10, true);
  const a0 = axisGraph(0);
  out.push({ label: "axis 0, N=129 C=65", graph: a0, dims: { N: 129, C: 65, S: 30 }, inputs: inputs("f32", [129, 65], [129], 30, "random", 11), flag: false });
  const a2 = axisGraph(2);
  out.push({ label: "axis 2, A=2 B=3 N=67", graph: a2, dims: { A: 2, B: 3, N: 67, S: 13 }, inputs: inputs("f32", [2, 3, 67], [2, 3, 67], 13, "none", 12), flag: false });
  return out;
}

const CASES = cases();

describe("segment_reduce (CSR kernels) on WebGPU matches the interpreter", () => {
  gpuIt(gpu, "every reduction, dtype and id pattern", async (dev) => {
    let flagged = 0;
    for (const c of CASES) {
      const program = lowerGraph(c.graph);
      expectDedicated(program);
      const r = await checkGraph(dev, c.graph, c.dims, { inputs: c.inputs, label: c.label, program });
      expect(r.ref.errorFlag, `${c.label}: interpreter flag`).toBe(c.flag);
      expect(r.got.errorFlag, `${c.label}: WebGPU flag`).toBe(c.flag);
      if (c.flag) flagged++;
    }
    expect(flagged).toBe(7); // the "bad" cases: 4 dtypes, f32 with S = 0 and with C = 0, broadcast ids
  }, 300_000);

  gpuIt(gpu, "f32 results are bit-identical to the per-element kernel on valid ids", async (dev) => {
    for (const c of CASES.filter((c) => c.graph.inputs[0]!.dtype === "f32" && !c.flag)) {
      const fast = await runProgram(lowerGraph(c.graph), dev, c.inputs, c.dims);
      const slow = await runProgram(perElementProgram(c.graph), dev, c.inputs, c.dims);
      fast.outputs.forEach((o, i) => {
        const a = Float32Array.from(o.data);
        const b = Float32Array.from(slow.outputs[i]!.data);
        expect(new Uint32Array(a.buffer), `${c.label}: output ${i}`).toEqual(new Uint32Array(b.buffer));
      });
      expect(fast.errorFlag).toBe(slow.errorFlag);
    }
  }, 300_000);
});

describe.skipIf(!GXX)("segment_reduce (CSR kernels) on cuda-emu matches the interpreter", () => {
  for (const c of CASES.filter((c) => !(c.dims.C === 768)))
    it(c.label, async () => {
      const ref = interpret(c.graph, c.inputs, { dims: c.dims });
      const got = await runProgramEmu(lowerGraph(c.graph), c.inputs, c.dims);
      got.outputs.forEach((o, i) => {
        const r = ref.outputs[i]!;
        expect(o.shape).toEqual(r.shape);
        expect(mismatch(o.dtype, o.data, r.data), `${c.label}: output ${c.graph.outputNames[i]}`).toBeUndefined();
      });
      expect(got.errorFlag, `${c.label}: error flag`).toBe(ref.errorFlag);
      expect(ref.errorFlag).toBe(c.flag);
    }, 300_000);
});
