/**
 * Every graph op with a per-element form (compiler/kernel/as-compute.ts), compute bodies with
 * reductions, conditions and data-dependent gathers, and iterate — lowered to WGSL, run on WebGPU
 * and compared with the reference interpreter under the tolerance policy (compiler/tolerance.ts).
 * Shapes come from a seeded generator and include zero-sized and odd sizes (and sizes crossing the
 * 64-thread workgroup); dtypes cover f32, f16 and bf16 (emulated in f32 registers), i32, u32, bool.
 * Data is random (floats N(0,1), ints in [0, 4)); special values (NaN, ±inf, huge arguments) are
 * in their own test with the backend's known deviations listed.
 */
import { describe, expect } from "vitest";
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import { hostTensor, interpret } from "../../compiler/graph/interp.ts";
import { BINARY_FNS, REDUCE_FNS, UNARY_FNS, type BinaryFn, type UnaryFn } from "../../compiler/graph/ops.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { compareOutput } from "../../compiler/tolerance.ts";
import { runProgram } from "../../runtime/webgpu/execute.ts";
import { checkGraph, gpuIt, openGpu, rng } from "./util.ts";

const gpu = await openGpu();

const ALL: readonly DType[] = ["f32", "f16", "bf16", "i32", "u32", "bool"];
const NUM: readonly DType[] = ["f32", "f16", "bf16", "i32", "u32"];
const FLT: readonly DType[] = ["f32", "f16", "bf16"];
/** Sizes: zero, one, odd, and around the 64-thread workgroup. */
const SIZES = [0, 1, 3, 5, 7, 13, 64, 65];

/** Seeded dims: `names` get sizes from SIZES (at most one zero-sized per draw unless allowZero). */
function dimsFor(seed: number, names: readonly string[], pick: readonly number[] = SIZES): Record<string, number> {
  const r = rng(seed);
  return Object.fromEntries(names.map((n) => [n, pick[Math.floor(r() * pick.length)]!]));
}

/** Builds a graph; returns undefined when the builder rejects the dtype combination. */
function build(name: string, f: (b: GraphBuilder) => Tensor | Tensor[]): ReturnType<GraphBuilder["finish"]> | undefined {
  const b = new GraphBuilder(name);
  try {
    const o = f(b);
    return b.finish(Array.isArray(o) ? o : [o]);
  } catch (e) {
    if ((e as Error).name === "BuildError" || (e as { diag?: unknown }).diag) return undefined;
    throw e;
  }
}

describe("per-element ops on WebGPU match the interpreter", () => {
  gpuIt(gpu, "unary: every function × every dtype it accepts", async (dev) => {
    let ran = 0;
    for (const fn of UNARY_FNS)
      for (const dt of ALL) {
        const g = build(`unary_${fn}_${dt}`, (b) => b.unary(fn, b.input("x", dt, ["A", "B"])));
        if (!g) continue;
        for (const [i, dims] of [{ A: 3, B: 7 }, dimsFor(fn.length * 31 + dt.length, ["A", "B"]), { A: 0, B: 5 }].entries())
          await checkGraph(dev, g, dims, { seed: i + 1, label: `${fn}(${dt}) ${JSON.stringify(dims)}` });
        ran++;
      }
    expect(ran).toBeGreaterThan(80);
  });

  gpuIt(gpu, "binary: every function × every dtype, with broadcasting", async (dev) => {
    let ran = 0;
    for (const fn of BINARY_FNS)
      for (const dt of ALL) {
        const g = build(`binary_${fn}_${dt}`, (b) => b.binary(fn, b.input("x", dt, ["A", 1]), b.input("y", dt, ["B"])));
        if (!g) continue;
        for (const [i, dims] of [{ A: 5, B: 3 }, dimsFor(fn.length * 17 + dt.length, ["A", "B"])].entries())
          await checkGraph(dev, g, dims, { seed: i + 7, label: `${fn}(${dt}) ${JSON.stringify(dims)}` });
        ran++;
      }
    // mixed dtypes promote (f16 + f32 → f32, int with float → float)
    for (const [a, c] of [["f16", "f32"], ["bf16", "f16"], ["i32", "f32"], ["u32", "bf16"]] as const) {
      const g = build(`mixed_${a}_${c}`, (b) => b.binary("mul", b.input("x", a, ["A"]), b.input("y", c, ["A"])))!;
      await checkGraph(dev, g, { A: 9 }, { label: `mul(${a}, ${c})` });
    }
    expect(ran).toBeGreaterThan(60);
  });

  gpuIt(gpu, "where and cast between every pair of dtypes", async (dev) => {
    for (const dt of ALL) {
      const g = build(`where_${dt}`, (b) => b.where(b.input("c", "bool", ["A", "B"]), b.input("x", dt, ["A", "B"]), b.input("y", dt, [1, "B"])))!;
      await checkGraph(dev, g, { A: 4, B: 9 }, { label: `where(${dt})` });
      for (const to of ALL) {
        const gc = build(`cast_${dt}_${to}`, (b) => b.cast(b.input("x", dt, ["A"]), to))!;
        await checkGraph(dev, gc, { A: 67 }, { label: `cast ${dt} → ${to}` });
        // floats outside the int range saturate, NaN → 0 (ops.ts)
        if (FLT.includes(dt) && (to === "i32" || to === "u32")) {
          const inputs = { x: hostTensor(dt, [6], [1e10, -1e10, 2.9, -2.9, 0.5, -0.5]) };
          await checkGraph(dev, gc, {}, { inputs, label: `cast ${dt} → ${to} (saturating)` });
        }
      }
    }
  });

  gpuIt(gpu, "layout: broadcast, iota, reshape, permute, slice, pad, concat, regions, unregions", async (dev) => {
    for (const dt of ["f32", "f16", "i32", "bool"] as const) {
      const cases: [string, (b: GraphBuilder) => Tensor, Record<string, number>][] = [
        ["broadcast", (b) => b.broadcastTo(b.input("x", dt, ["B", 1]), [3, "B", 5]), { B: 7 }],
        ["reshape", (b) => b.reshape(b.input("x", dt, ["A", 6]), ["A", 3, 2]), { A: 5 }],
        ["permute", (b) => b.permute(b.input("x", dt, ["A", "B", 3]), [2, 0, 1]), { A: 4, B: 65 }],
        ["slice", (b) => b.slice(b.input("x", dt, ["A", 9]), 1, 1, 8, 3), { A: 5 }],
        ["pad", (b) => b.pad(b.input("x", dt, ["A", 3]), [1, 2], [2, 0], dt === "bool" ? 1 : 7), { A: 3 }],
        ["concat", (b) => b.concat([b.input("x", dt, ["A", 2]), b.input("y", dt, ["A", "B"]), b.input("z", dt, ["A", 1])], 1), { A: 3, B: 0 }],
        ["regions", (b) => b.regions(b.input("x", dt, [2, 6, 4, 3]), 2, 2), {}],
        ["unregions", (b) => b.unregions(b.input("x", dt, [2, 4, 6, 3]), 2, 2, 6, 4), {}],
      ];
      for (const [name, f, dims] of cases) await checkGraph(dev, build(`${name}_${dt}`, f)!, dims, { label: `${name}(${dt})` });
    }
    await checkGraph(dev, build("iota", (b) => b.iota(["A", "B"], 1))!, { A: 3, B: 70 }, { label: "iota" });
    await checkGraph(dev, build("iota0", (b) => b.iota(["A", "B"], 0))!, { A: 0, B: 5 }, { label: "iota (zero-sized)" });
  });

  gpuIt(gpu, "reductions: every function, axes and keepdims; argmax/argmin; softmax and logsumexp", async (dev) => {
    for (const fn of REDUCE_FNS) {
      const dts = fn === "any" || fn === "all" ? (["bool"] as const) : NUM;
      for (const dt of dts)
        for (const [axes, keep] of [[[1], false], [[0, 2], true], [[2], false]] as const) {
          const g = build(`reduce_${fn}_${dt}`, (b) => b.reduce(fn, b.input("x", dt, ["A", "B", "C"]), [...axes], keep));
          if (!g) continue;
          for (const dims of [{ A: 2, B: 13, C: 5 }, { A: 3, B: 0, C: 2 }])
            await checkGraph(dev, g, dims, { label: `${fn}(${dt}, axes ${axes}, keepdims ${keep}) ${JSON.stringify(dims)}` });
        }
    }
    for (const fn of ["argmax", "argmin"] as const)
      for (const dt of ["f32", "f16", "i32", "u32"] as const) {
        const g = build(`${fn}_${dt}`, (b) => b.argreduce(fn, b.input("x", dt, ["A", "B"]), 1, false))!;
        await checkGraph(dev, g, { A: 5, B: 66 }, { label: `${fn}(${dt})` });
      }
    for (const dt of FLT) {
      await checkGraph(dev, build(`softmax_${dt}`, (b) => b.softmax(b.input("x", dt, ["A", "B"]), -1))!, { A: 4, B: 65 }, { label: `softmax(${dt})` });
      await checkGraph(dev, build(`softmax0_${dt}`, (b) => b.softmax(b.input("x", dt, ["A", "B"]), 0))!, { A: 7, B: 3 }, { label: `softmax axis 0 (${dt})` });
      await checkGraph(dev, build(`lse_${dt}`, (b) => b.logsumexp(b.input("x", dt, ["A", "B"]), -1, true))!, { A: 4, B: 13 }, { label: `logsumexp(${dt})` });
    }
    // a fully -inf row: softmax 0, logsumexp -inf (ops.ts)
    const g = build("softmax_dead", (b) => {
      const x = b.input("x", "f32", [2, 3]);
      return [b.softmax(x, -1), b.logsumexp(x, -1)];
    })!;
    await checkGraph(dev, g, {}, { inputs: { x: hostTensor("f32", [2, 3], [-Infinity, -Infinity, -Infinity, 1, 2, 3]) }, label: "softmax of a dead row" });
  });

  gpuIt(gpu, "matmul (batched, broadcast), gather, segment_reduce, dwconv2d, norms", async (dev) => {
    for (const dt of ["f32", "f16", "bf16", "i32"] as const) {
      await checkGraph(dev, build(`mm_${dt}`, (b) => b.matmul(b.input("a", dt, ["A", "K"]), b.input("b", dt, ["K", "B"])))!, { A: 5, K: 13, B: 3 }, { label: `matmul(${dt})` });
      await checkGraph(dev, build(`bmm_${dt}`, (b) => b.matmul(b.input("a", dt, [2, "A", "K"]), b.input("b", dt, ["K", "B"])))!, { A: 3, K: 0, B: 4 }, { label: `batched matmul K=0 (${dt})` });
    }
    // gather: ids in [0, 4) against an axis of 3 → some out of range → error flag in both; -1 reads 0 silently
    const gg = build("gather", (b) => b.gather(b.input("x", "f32", ["A", "N", "C"]), b.input("idx", "i32", ["A", "M"]), 1))!;
    const r1 = await checkGraph(dev, gg, { A: 2, N: 3, C: 5, M: 7 }, { label: "gather with out-of-range ids" });
    expect(r1.ref.errorFlag).toBe(true);
    const r2 = await checkGraph(dev, gg, { A: 2, N: 4, C: 5, M: 7 }, { label: "gather in range" });
    expect(r2.ref.errorFlag).toBe(false);
    const ids = { x: hostTensor("f32", [1, 2, 2], [1, 2, 3, 4]), idx: hostTensor("i32", [1, 3], [-1, 1, 0]) };
    const r3 = await checkGraph(dev, gg, {}, { inputs: ids, label: "gather with -1" });
    expect(r3.got.errorFlag).toBe(false);
    expect([...r3.got.outputs[0]!.data]).toEqual([0, 0, 3, 4, 1, 2]);
    for (const fn of ["sum", "mean", "max", "min"] as const)
      for (const dt of ["f32", "f16", "i32"] as const) {
        const g = build(`seg_${fn}_${dt}`, (b) => b.segmentReduce(fn, b.input("x", dt, ["A", "N", "C"]), b.input("seg", "i32", ["A", "N"]), 5, 1))!;
        await checkGraph(dev, g, { A: 2, N: 9, C: 3 }, { label: `segment_reduce ${fn} (${dt})` });
      }
    for (const bias of [false, true]) {
      const g = build(`dw_${bias}`, (b) => b.dwconv2d(b.input("x", "f32", ["B", "H", "W", "C"]), b.input("w", "f32", ["C", 3, 3]), bias ? b.input("bias", "f32", ["C"]) : undefined))!;
      await checkGraph(dev, g, { B: 2, H: 5, W: 7, C: 3 }, { label: `dwconv2d bias=${bias}` });
    }
    for (const dt of FLT) {
      const x = (b: GraphBuilder) => b.input("x", dt, ["A", "C"]);
      await checkGraph(dev, build(`ln_${dt}`, (b) => b.layernorm(x(b), b.input("w", dt, ["C"]), b.input("bias", dt, ["C"])))!, { A: 3, C: 65 }, { label: `layernorm(${dt})` });
      await checkGraph(dev, build(`ln0_${dt}`, (b) => b.layernorm(x(b)))!, { A: 2, C: 7 }, { label: `layernorm, no affine (${dt})` });
      await checkGraph(dev, build(`rms_${dt}`, (b) => b.rmsnorm(x(b), b.input("w", dt, ["C"])))!, { A: 3, C: 13 }, { label: `rmsnorm(${dt})` });
      await checkGraph(dev, build(`l2_${dt}`, (b) => b.l2normalize(x(b), 0))!, { A: 5, C: 3 }, { label: `l2normalize(${dt})` });
    }
  });

  gpuIt(gpu, "compute: reductions with conditions, nested reductions, data-dependent gathers, dims", async (dev) => {
    // causal prefix sum and a masked max
    const g1 = build("prefix", (b) => {
      const x = b.input("x", "f32", ["N"]);
      return [
        b.compute(["N"], (i) => S.reduce("sum", ["N"], (j) => S.load(x, [j]), (j) => S.le(j, i))),
        b.compute(["N"], (i) => S.reduce("max", ["N"], (j) => S.load(x, [j]), (j) => S.lt(j, i))),
        b.compute(["N"], (i) => S.reduce("argmax", ["N"], (j) => S.load(x, [j]), (j) => S.ge(j, i))),
      ];
    })!;
    for (const N of [0, 1, 9, 65]) await checkGraph(dev, g1, { N }, { label: `prefix N=${N}` });
    // nested reductions and every reduce function inside expressions
    for (const fn of ["sum", "mean", "prod", "max", "min", "argmin"] as const) {
      const g = build(`nested_${fn}`, (b) => {
        const x = b.input("x", "f16", ["A", "B"]);
        return b.compute([1], () => S.reduce("sum", ["A"], (a) => S.cast(S.reduce(fn, ["B"], (c) => S.load(x, [a, c])), "f32")));
      })!;
      await checkGraph(dev, g, { A: 3, B: 5 }, { label: `nested ${fn}` });
    }
    // a gather through data: out[i] = x[idx[i] + shift]: ids past the end flag, -1 reads 0 silently
    const g2 = build("dgather", (b) => {
      const x = b.input("x", "f32", ["N"]);
      const idx = b.input("idx", "i32", ["M"]);
      return b.compute(["M"], (i) => S.mul(S.load(x, [S.load(idx, [i])]), S.cast(S.dim("N"), "f32")));
    })!;
    const oob = await checkGraph(dev, g2, { N: 3, M: 40 }, { label: "data-dependent gather (out of range)" });
    expect(oob.got.errorFlag).toBe(true);
    const ok = await checkGraph(dev, g2, {}, { inputs: { x: hostTensor("f32", [3], [1, 2, 3]), idx: hostTensor("i32", [4], [2, -1, 0, 1]) }, label: "data-dependent gather with -1" });
    expect(ok.got.errorFlag).toBe(false);
    // select only evaluates the chosen branch: a guarded load never flags
    const g3 = build("guarded", (b) => {
      const x = b.input("x", "f32", ["N"]);
      const idx = b.input("idx", "i32", ["M"]);
      return b.compute(["M"], (i) => S.select(S.lt(S.load(idx, [i]), S.dim("N")), S.load(x, [S.load(idx, [i])]), S.const(-1, "f32")));
    })!;
    const gr = await checkGraph(dev, g3, { N: 2, M: 33 }, { label: "guarded gather" });
    expect(gr.got.errorFlag).toBe(false);
    // integer index arithmetic with floored div/mod on negative values
    const g4 = build("intmath", (b) => b.compute(["N"], (i) => S.add(S.binary("div", S.sub(i, 5), 3), S.binary("mod", S.sub(i, 7), 4))))!;
    await checkGraph(dev, g4, { N: 20 }, { label: "floored div/mod" });
  });

  gpuIt(gpu, "iterate: loops, loop index, nested loops, n = 0, loop-invariant captures", async (dev) => {
    const g = build("loop", (b) => {
      const x = b.input("x", "f32", ["N"]);
      const w = b.input("w", "f32", ["N"]);
      const [y, c] = b.iterate("T", [x, b.full([1], 0, "i32")], ([s, k], t) => [
        b.binary("add", b.binary("mul", s!, b.unary("tanh", w)), b.cast(t, "f32")),
        b.binary("add", k!, t),
      ]);
      return [y!, c!];
    })!;
    for (const T of [0, 1, 5]) await checkGraph(dev, g, { N: 7, T }, { label: `iterate T=${T}` });
    const nested = build("nested", (b) => {
      const x = b.input("x", "f32", ["N"]);
      const [o] = b.iterate(3, [x], ([s], i) => {
        const [inner] = b.iterate("K", [s!], ([u], j) => [b.binary("add", b.binary("mul", u!, 0.5), b.cast(b.binary("mul", i, j), "f32"))]);
        return [b.softmax(inner!, -1)];
      });
      return o!;
    })!;
    for (const K of [0, 2]) await checkGraph(dev, nested, { N: 9, K }, { label: `nested iterate K=${K}` });
  });
});

/**
 * NaN, ±inf and huge arguments: the WGSL prelude makes exp, sign, relu, !=, pow, atan2, log, tanh
 * and the trigonometric functions follow IEEE rules for NaN, infinities and signed zeros even where
 * the GPU's builtins do not (SwiftShader turns exp(NaN) into +inf, NaN != x into false, …). What
 * remains: trigonometry beyond |x| = 8192 (the f32 reduction by π/4 is exact only up to there).
 * The list is asserted exactly, so a fix or a regression shows up here.
 */
const SPECIAL_F = [0, -0, 1, -1, 0.5, -2.5, 3.7, -10, 100, 88, -88, 1e6, -1e6, Infinity, -Infinity, NaN, 65504, 70000, 0.1];
const SPECIAL_I = [0, 1, -1, 7, -7, 100, -100, 2147483647, -2147483648, 64];
const SPECIAL_U = [0, 1, 7, 100, 4294967295, 2147483648, 64];
const KNOWN_SPECIAL_DEVIATIONS: Readonly<Record<string, string>> = {
  "sin f32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "sin i32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "sin u32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "cos f32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "cos bf16": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "cos i32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "cos u32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "tan f32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "tan bf16": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "tan i32": "|x| > 8192: reduction by π/4 in f32 is not exact",
  "tan u32": "|x| > 8192: reduction by π/4 in f32 is not exact",
};

describe("special values", () => {
  gpuIt(gpu, "NaN, ±inf, overflow and huge arguments: deviations are exactly the known list", async (dev) => {
    const vals = (dt: DType) => (dt === "i32" ? SPECIAL_I : dt === "u32" ? SPECIAL_U : dt === "bool" ? [0, 1] : SPECIAL_F);
    const deviations: Record<string, string> = {};
    const run = async (key: string, g: NonNullable<ReturnType<typeof build>>, inputs: Record<string, ReturnType<typeof hostTensor>>) => {
      const ref = interpret(g, inputs);
      const got = await runProgram(lowerGraph(g), dev, inputs);
      ref.outputs.forEach((r, i) => {
        const c = compareOutput(r.dtype, got.outputs[i]!, r);
        if (!c.ok) deviations[key] = `${c.bad} element(s), first: got ${c.first?.got}, expected ${c.first?.ref}`;
      });
    };
    for (const fn of UNARY_FNS as readonly UnaryFn[])
      for (const dt of ALL) {
        const g = build("u", (b) => b.unary(fn, b.input("x", dt, ["N"])));
        if (g) await run(`${fn} ${dt}`, g, { x: hostTensor(dt, [vals(dt).length], vals(dt)) });
      }
    for (const fn of BINARY_FNS as readonly BinaryFn[])
      for (const dt of ALL) {
        const g = build("b", (b) => b.binary(fn, b.input("x", dt, ["N", 1]), b.input("y", dt, ["M"])));
        const v = vals(dt);
        if (g) await run(`${fn} ${dt}`, g, { x: hostTensor(dt, [v.length, 1], v), y: hostTensor(dt, [v.length], v) });
      }
    const unexpected = Object.keys(deviations).filter((k) => !(k in KNOWN_SPECIAL_DEVIATIONS));
    const fixed = Object.keys(KNOWN_SPECIAL_DEVIATIONS).filter((k) => !(k in deviations));
    expect(unexpected.map((k) => `${k}: ${deviations[k]}`), "new deviations from the interpreter").toEqual([]);
    expect(fixed, "listed deviations that now match (remove them from KNOWN_SPECIAL_DEVIATIONS)").toEqual([]);
  });
});
