/**
 * Order, scan and quantization kernels (compiler/kernel/kernels/order.ts) on WebGPU (Dawn; here
 * SwiftShader) against the reference interpreter: argsort, topk, compact, cumsum, quantize,
 * dequantize. Integer outputs (indices, counts, packed words) must match exactly; scale and zero of
 * quantize too; floats within f32 rounding.
 *
 * SwiftShader compiles slowly in proportion to workgroup memory (Dawn zero-initializes it), so the
 * large-row cases mostly use symbolic dims: one pipeline then serves every shape.
 */
import { afterAll, describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import { interpret, mulberry32, randomInputs, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { SORT_CAP } from "../../compiler/kernel/kernels/order.ts";
import { WebGpuDevice, WebGpuUnavailable } from "../../runtime/webgpu/device.ts";
import { runProgram } from "../../runtime/webgpu/execute.ts";

let dev: WebGpuDevice | undefined;
let why = "";
try {
  dev = await WebGpuDevice.open();
} catch (e) {
  if (!(e instanceof WebGpuUnavailable)) throw e;
  why = e.message;
}
if (!dev) console.warn(`test/webgpu/order.test.ts skipped: WebGPU unavailable: ${why}`);
afterAll(() => dev?.destroy());
const suite = dev ? describe : describe.skip;
const SLOW = 240_000;

// ── helpers ──────────────────────────────────────────────────────────────────────────────────


const isInt = (dt: DType) => dt === "i32" || dt === "u32" || dt === "bool";

/** Tolerance for float output k at flat index j (0: exact, NaN must match NaN). */
type Tol = (k: number, j: number, ref: number) => number;

async function check(g: Graph, inputs: Record<string, HostTensor>, dims: Record<string, number> = {}, tol: Tol = () => 0): Promise<void> {
  const ref = interpret(g, inputs, { dims });
  const res = await runProgram(lowerGraph(g), dev!, inputs, dims);
  expect(res.errorFlag).toBe(ref.errorFlag);
  expect(res.outputs.length).toBe(ref.outputs.length);
  ref.outputs.forEach((e, k) => {
    const o = res.outputs[k]!;
    expect(o.shape, `output ${k} shape`).toEqual(e.shape);
    const bad: number[] = [];
    for (let j = 0; j < e.data.length; j++) {
      const a = o.data[j]!;
      const b = e.data[j]!;
      if (a === b || (a !== a && b !== b)) continue;
      if (!isInt(e.dtype) && Math.abs(a - b) <= tol(k, j, b)) continue;
      bad.push(j);
    }
    if (bad.length) {
      const j = bad[0]!;
      throw new Error(`output ${k} (${e.dtype} [${e.shape.join(", ")}]): ${bad.length} of ${e.data.length} differ; first at ${j}: webgpu ${o.data[j]} vs interpreter ${e.data[j]}`);
    }
  });
}

/** Replaces data with small integers in [-m, m] (many ties). */
function ties(t: HostTensor, m: number, seed: number): void {
  const r = mulberry32(seed);
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.floor(r() * (2 * m + 1)) - m;
}

/** Sets a fraction p of the entries to values drawn from `pool`. */
function sprinkle(t: HostTensor, pool: readonly number[], p: number, seed: number): void {
  const r = mulberry32(seed);
  for (let i = 0; i < t.data.length; i++) if (r() < p) t.data[i] = pool[Math.floor(r() * pool.length)]!;
}

function inputsFor(g: Graph, dims: Record<string, number>, seed: number): Record<string, HostTensor> {
  return randomInputs(g, dims, seed);
}

const SPECIAL = [NaN, -0, 0, Infinity, -Infinity];

// ── argsort ──────────────────────────────────────────────────────────────────────────────────

suite("argsort on WebGPU", () => {
  const graph = (dt: DType, shape: (number | string)[], axis: number, desc: boolean) => {
    const b = new GraphBuilder();
    return b.finish([b.argsort(b.input("x", dt, shape), axis, desc)]);
  };

  it("static shapes: last, middle and first axes, ascending and descending, ties, NaN, ±0, ±inf", async () => {
    const cases: [number[], number][] = [[[3, 5], -1], [[4, 37], 1], [[5, 6, 7], 1], [[6, 3], 0], [[37, 9], -1], [[2, 3, 4, 5], 2], [[7, 1], 1], [[1], 0], [[300], 0]];
    let seed = 1;
    for (const [shape, axis] of cases)
      for (const desc of [false, true]) {
        const g = graph("f32", shape, axis, desc);
        const inp = inputsFor(g, {}, seed++);
        ties(inp.x!, 3, seed++);
        sprinkle(inp.x!, SPECIAL, 0.1, seed++);
        await check(g, inp);
      }
  }, SLOW);

  it("zero-sized shapes", async () => {
    for (const [shape, axis] of [[[0, 5], 1], [[4, 0], 1], [[4, 0], 0], [[0], 0], [[3, 0, 2], 1]] as [number[], number][]) {
      const g = graph("f32", shape, axis, false);
      await check(g, inputsFor(g, {}, 3));
    }
  });

  it("i32 (with ±2^31 extremes), u32 (with values ≥ 2^31) and f16 keys", async () => {
    let seed = 10;
    for (const desc of [false, true]) {
      const gi = graph("i32", [5, 33], -1, desc);
      const ii = inputsFor(gi, {}, seed++);
      ties(ii.x!, 4, seed++);
      sprinkle(ii.x!, [-2147483648, 2147483647, -1, 0], 0.2, seed++);
      await check(gi, ii);
      const gu = graph("u32", [5, 33], -1, desc);
      const iu = inputsFor(gu, {}, seed++);
      sprinkle(iu.x!, [0, 1, 2147483647, 2147483648, 4294967295], 0.4, seed++);
      await check(gu, iu);
      const gh = graph("f16", [3, 40], -1, desc);
      const ih = inputsFor(gh, {}, seed++);
      sprinkle(ih.x!, [NaN, -0, 0.5, 65504], 0.2, seed++);
      await check(gh, ih);
    }
  }, SLOW);

  it(`rows longer than one workgroup (> ${SORT_CAP}): chunk sort + merge ranks, static shape`, async () => {
    const g = graph("f32", [2, 4100], -1, true);
    const inp = inputsFor(g, {}, 21);
    ties(inp.x!, 50, 22);
    sprinkle(inp.x!, SPECIAL, 0.02, 23);
    await check(g, inp);
  }, SLOW);

  it("symbolic rows: run-time block size, and the rank pass only past one workgroup", async () => {
    for (const desc of [false, true]) {
      const g = graph("f32", ["B", "N"], -1, desc);
      let seed = 30;
      for (const [B, N] of [[3, 1], [2, 17], [4, 300], [1, SORT_CAP], [2, SORT_CAP + 1], [1, 5000], [3, 0], [0, 9]] as const) {
        const dims = { B, N };
        const inp = inputsFor(g, dims, seed++);
        ties(inp.x!, Math.max(1, N >> 4), seed++);
        sprinkle(inp.x!, SPECIAL, 0.05, seed++);
        await check(g, inp, dims);
      }
    }
  }, SLOW);

  it("symbolic, along a middle axis (strided rows)", async () => {
    const g = graph("f32", ["A", "N", "C"], 1, false);
    let seed = 50;
    for (const [A, N, C] of [[2, 5, 3], [1, 300, 4], [2, 2500, 2]] as const) {
      const dims = { A, N, C };
      const inp = inputsFor(g, dims, seed++);
      ties(inp.x!, 20, seed++);
      sprinkle(inp.x!, SPECIAL, 0.05, seed++);
      await check(g, inp, dims);
    }
  }, SLOW);

  it("random shapes (seeded)", async () => {
    const r = mulberry32(77);
    for (let c = 0; c < 8; c++) {
      const rank = 1 + Math.floor(r() * 3);
      const shape = Array.from({ length: rank }, () => Math.floor(r() * 9) + (r() < 0.1 ? 0 : 1));
      const axis = Math.floor(r() * rank);
      const g = graph("f32", shape, axis, r() < 0.5);
      const inp = inputsFor(g, {}, 100 + c);
      if (r() < 0.5) ties(inp.x!, 2, 200 + c);
      sprinkle(inp.x!, SPECIAL, 0.1, 300 + c);
      await check(g, inp);
    }
  }, SLOW);
});

// ── topk ─────────────────────────────────────────────────────────────────────────────────────

suite("topk on WebGPU", () => {
  const graph = (dt: DType, shape: (number | string)[], k: number | string, axis: number, largest: boolean) => {
    const b = new GraphBuilder();
    const [v, i] = b.topk(b.input("x", dt, shape), k, axis, largest);
    return b.finish([v, i]);
  };

  it("k = 0, 1, middle, N; largest and smallest; ties and NaN; values bit-exact (-0 kept)", async () => {
    let seed = 1;
    for (const k of [0, 1, 4, 13])
      for (const largest of [true, false]) {
        const g = graph("f32", [6, 13], k, -1, largest);
        const inp = inputsFor(g, {}, seed++);
        ties(inp.x!, 2, seed++);
        sprinkle(inp.x!, SPECIAL, 0.15, seed++);
        await check(g, inp);
        const ref = interpret(g, inp);
        const res = await runProgram(lowerGraph(g), dev!, inp);
        res.outputs[0]!.data.forEach((v, j) => {
          const e = ref.outputs[0]!.data[j]!;
          if (e === 0) expect(Object.is(v, e), `sign of zero at ${j}`).toBe(true);
        });
      }
  }, SLOW);

  it("non-last axes, i32 keys, symbolic k", async () => {
    let seed = 20;
    for (const largest of [true, false]) {
      const g = graph("f32", [3, 9, 4], 5, 1, largest);
      const inp = inputsFor(g, {}, seed++);
      ties(inp.x!, 3, seed++);
      await check(g, inp);
      const gi = graph("i32", [4, 3, 2], 2, 0, largest);
      const ii = inputsFor(gi, {}, seed++);
      sprinkle(ii.x!, [-2147483648, 2147483647, 7], 0.3, seed++);
      await check(gi, ii);
    }
    const gk = graph("f32", [5, 20], "K", -1, true);
    for (const K of [0, 3, 20]) await check(gk, inputsFor(gk, { K }, seed++), { K });
  }, SLOW);

  it("symbolic long rows (chunked) with small and full k", async () => {
    const g = graph("f32", ["B", "N"], "K", -1, true);
    let seed = 40;
    for (const [B, N, K] of [[2, 10, 3], [1, 3000, 7], [2, 2049, 2049], [1, 4097, 0]] as const) {
      const dims = { B, N, K };
      const inp = inputsFor(g, dims, seed++);
      ties(inp.x!, 100, seed++);
      sprinkle(inp.x!, SPECIAL, 0.01, seed++);
      await check(g, inp, dims);
    }
  }, SLOW);
});

// ── compact ──────────────────────────────────────────────────────────────────────────────────

suite("compact on WebGPU", () => {
  const graph = (shape: (number | string)[]) => {
    const b = new GraphBuilder();
    const [i, c] = b.compact(b.input("m", "bool", shape));
    return b.finish([i, c]);
  };
  const density = (t: HostTensor, p: number, seed: number) => {
    const r = mulberry32(seed);
    for (let i = 0; i < t.data.length; i++) t.data[i] = r() < p ? 1 : 0;
  };

  it("static shapes, densities 0 (all false), 1 (all true) and between; zero-sized", async () => {
    let seed = 1;
    for (const shape of [[3, 5], [2, 1000], [4, 3, 7], [1, 0], [0, 5], [2, 3000], [9], [5, 1]])
      for (const p of [0, 1, 0.5, 0.03]) {
        const g = graph(shape);
        const inp = inputsFor(g, {}, seed++);
        density(inp.m!, p, seed++);
        await check(g, inp);
      }
  }, SLOW);

  it("symbolic shapes (several tiles per row)", async () => {
    const g = graph(["B", "N"]);
    let seed = 100;
    for (const [B, N] of [[3, 1], [2, 1023], [2, 1025], [1, 5000], [4, 0], [0, 3]] as const)
      for (const p of [0, 1, 0.3]) {
        const dims = { B, N };
        const inp = inputsFor(g, dims, seed++);
        density(inp.m!, p, seed++);
        await check(g, inp, dims);
      }
  }, SLOW);
});

// ── cumsum ───────────────────────────────────────────────────────────────────────────────────

suite("cumsum on WebGPU", () => {
  const graph = (dt: DType, shape: (number | string)[], axis: number, exclusive: boolean, reverse: boolean) => {
    const b = new GraphBuilder();
    return b.finish([b.cumsum(b.input("x", dt, shape), axis, exclusive, reverse)]);
  };
  /** f32 accumulation vs the reference's float64: a bound from the row's absolute sum. */
  const rowTol = (x: HostTensor, axis: number, dt: DType): Tol => {
    const shape = x.shape;
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const n = shape[axis]!;
    return (_k, j, ref) => {
      const o = Math.floor(j / (n * inner));
      const c = j % inner;
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.abs(x.data[o * n * inner + i * inner + c]!);
      const f16 = dt === "f16" ? Math.abs(ref) * 2 ** -10 : 0;
      return 1e-6 * s * Math.max(1, Math.log2(n)) + f16 + 1e-7;
    };
  };

  it("f32 inclusive/exclusive × forward/reverse along last, middle and first axes (sequential and workgroup-scan paths)", async () => {
    let seed = 1;
    const shapes: [number[], number][] = [[[3, 5], -1], [[2, 1000], -1], [[4, 300, 7], 1], [[5, 40, 64], 1], [[700, 3], 0], [[2, 3, 0], 2], [[1, 2500], 1]];
    for (const [shape, axis] of shapes)
      for (const exclusive of [false, true])
        for (const reverse of [false, true]) {
          const g = graph("f32", shape, axis, exclusive, reverse);
          const inp = inputsFor(g, {}, seed++);
          await check(g, inp, {}, rowTol(inp.x!, axis < 0 ? shape.length + axis : axis, "f32"));
        }
  }, SLOW);

  it("i32 and u32 wrap exactly; f16 rounds once", async () => {
    let seed = 50;
    for (const [shape, axis] of [[[3, 700], 1], [[4, 50, 3], 1], [[6, 9], 0]] as [number[], number][])
      for (const reverse of [false, true]) {
        const gi = graph("i32", shape, axis, false, reverse);
        const ii = inputsFor(gi, {}, seed++);
        const r = mulberry32(seed++);
        for (let j = 0; j < ii.x!.data.length; j++) ii.x!.data[j] = (Math.floor(r() * 2 ** 32) | 0);
        await check(gi, ii);
        const gu = graph("u32", shape, axis, true, reverse);
        const iu = inputsFor(gu, {}, seed++);
        for (let j = 0; j < iu.x!.data.length; j++) iu.x!.data[j] = Math.floor(r() * 2 ** 32);
        await check(gu, iu);
      }
    const gh = graph("f16", [3, 200], -1, false, false);
    const ih = inputsFor(gh, {}, seed++);
    await check(gh, ih, {}, rowTol(ih.x!, 1, "f16"));
  }, SLOW);

  it("symbolic shapes", async () => {
    const g = graph("f32", ["B", "N"], -1, true, true);
    let seed = 80;
    for (const [B, N] of [[2, 1], [3, 1025], [1, 4000], [0, 4], [2, 0]] as const) {
      const dims = { B, N };
      const inp = inputsFor(g, dims, seed++);
      await check(g, inp, dims, rowTol(inp.x!, 1, "f32"));
    }
    const gi = graph("i32", ["N", "C"], 0, false, false);
    for (const [N, C] of [[5, 3], [1000, 2]] as const) await check(gi, inputsFor(gi, { N, C }, seed++), { N, C });
  }, SLOW);
});

// ── quantize / dequantize ────────────────────────────────────────────────────────────────────

suite("quantize and dequantize on WebGPU", () => {
  /** [packed, scale, zero, dequantized]. */
  const roundTrip = (dt: DType, shape: (number | string)[], bits: number, axis: number) => {
    const b = new GraphBuilder();
    const x = b.input("x", dt, shape);
    const [p, s, z] = b.quantize(x, bits, axis);
    const n = shape[shape.length - 1]!;
    return b.finish([p, s, z, b.dequantize(p, s, z, bits, n, axis)]);
  };
  /** Dequantized values: exact up to the reference's double rounding (one f32 ulp). */
  const ulpTol: Tol = (k, _j, ref) => (k === 3 ? Math.max(Math.abs(ref) * 2 ** -23, 1e-45) : 0);

  it("bits 2, 3, 4, 8 × per token / per channel: packed words, scale and zero exact", async () => {
    let seed = 1;
    for (const bits of [2, 3, 4, 8])
      for (const axis of [-1, -2])
        for (const shape of [[2, 5, 37], [3, 16], [1, 1], [4, 3]]) {
          const g = roundTrip("f32", shape, bits, axis);
          await check(g, inputsFor(g, {}, seed++), {}, ulpTol);
        }
  }, SLOW);

  it("integer-valued inputs (exact half-way ratios), constant groups, NaN and ±inf groups", async () => {
    let seed = 100;
    for (const bits of [2, 3, 4, 8])
      for (const axis of [-1, -2]) {
        const g = roundTrip("f32", [3, 6, 21], bits, axis);
        for (const m of [1, 5, 10, 300]) {
          const inp = inputsFor(g, {}, seed++);
          ties(inp.x!, m, seed++);
          await check(g, inp, {}, ulpTol);
        }
        const inp = inputsFor(g, {}, seed++);
        ties(inp.x!, 7, seed++);
        // a constant row / column, and a few NaN and infinite entries
        for (let d = 0; d < 21; d++) inp.x!.data[d] = 2.5;
        for (let t = 0; t < 6; t++) inp.x!.data[21 * 6 + t * 21 + 4] = -1.25;
        sprinkle(inp.x!, [NaN, Infinity, -Infinity], 0.01, seed++);
        await check(g, inp, {}, ulpTol);
      }
  }, SLOW);

  it("zero-sized inputs and f16 inputs with an f16 dequantized output", async () => {
    for (const shape of [[4, 0], [0, 7], [2, 0, 5]])
      for (const axis of [-1, -2]) {
        const g = roundTrip("f32", shape, 3, axis);
        await check(g, inputsFor(g, {}, 5), {}, ulpTol);
      }
    const b = new GraphBuilder();
    const x = b.input("x", "f16", [3, 4, 10]);
    const [p, s, z] = b.quantize(x, 4, -2);
    const g = b.finish([p, s, z, b.dequantize(p, s, z, 4, 10, -2, "f16")]);
    await check(g, inputsFor(g, {}, 6), {}, (k, _j, ref) => (k === 3 ? Math.abs(ref) * 2 ** -10 : 0));
  }, SLOW);

  it("dequantize of arbitrary packed words (every bit pattern, straddling words)", async () => {
    let seed = 200;
    for (const bits of [2, 3, 4, 8])
      for (const axis of [-1, -2]) {
        const n = 23;
        const words = Math.ceil((n * bits) / 32);
        const b = new GraphBuilder();
        const T = 5;
        const p = b.input("p", "u32", [2, T, words]);
        const sshape = axis === -1 ? [2, T] : [2, n];
        const s = b.input("s", "f32", sshape);
        const z = b.input("z", "f32", sshape);
        const g = b.finish([b.dequantize(p, s, z, bits, n, axis)]);
        const inp = inputsFor(g, {}, seed++);
        const r = mulberry32(seed++);
        for (let j = 0; j < inp.p!.data.length; j++) inp.p!.data[j] = Math.floor(r() * 2 ** 32);
        await check(g, inp, {}, (_k, _j, ref) => Math.max(Math.abs(ref) * 2 ** -23, 1e-45));
      }
  }, SLOW);

  it("symbolic shapes (per token and per channel)", async () => {
    let seed = 300;
    for (const bits of [3, 8])
      for (const axis of [-1, -2]) {
        const g = roundTrip("f32", ["B", "T", "D"], bits, axis);
        for (const [B, T, D] of [[1, 3, 5], [2, 7, 64], [2, 1, 33]] as const) {
          const dims = { B, T, D };
          const inp = inputsFor(g, dims, seed++);
          if (seed % 2) ties(inp.x!, 6, seed++);
          await check(g, inp, dims, ulpTol);
        }
      }
  }, SLOW);
});
