import { describe, expect, it } from "vitest";
import { InterpError, randomInputs } from "../../compiler/graph/interp.ts";
import { GraphBuilder, f32, hostTensor, i32, interpret, run, t, vals } from "./helpers.ts";

describe("dim binding", () => {
  const graph = () => {
    const b = new GraphBuilder();
    const x = b.input("x", "f32", ["N", "C"]);
    const y = b.input("y", "f32", ["N"]);
    return b.finish([b.add(b.reduce("sum", x, 1), y)]);
  };
  it("binds variables from input shapes and reports them", () => {
    const r = interpret(graph(), { x: f32([2, 3], [1, 2, 3, 4, 5, 6]), y: f32([2], [10, 20]) });
    expect(r.dims).toEqual({ N: 2, C: 3 });
    expect(vals(r.outputs[0]!)).toEqual([16, 35]);
  });
  it("a mismatch names the input, the symbolic shape and the actual shape", () => {
    const call = () => interpret(graph(), { x: f32([2, 3], [1, 2, 3, 4, 5, 6]), y: f32([4], [1, 2, 3, 4]) });
    expect(call).toThrow(InterpError);
    expect(call).toThrow(/input 'y': expected shape \[N\], got \[4\]: N = 2 \(from input 'x'\)/);
  });
  it("opts.dims must agree with the inputs", () => {
    expect(() => interpret(graph(), { x: f32([2, 3], [1, 2, 3, 4, 5, 6]), y: f32([2], [1, 2]) }, { dims: { C: 4 } })).toThrow(/C = 4 \(from opts.dims\)/);
  });
  it("a variable bound by one input sizes another input's composite dims", () => {
    const b = new GraphBuilder();
    const p = b.input("p", "f32", ["N"]);
    const q = b.input("q", "f32", [2, "N"]);
    const g = b.finish([b.concat([b.reshape(q, [-1]), p], 0)]);
    expect(vals(interpret(g, { p: f32([1], [7]), q: f32([2, 1], [1, 2]) }).outputs[0]!)).toEqual([1, 2, 7]);
  });
  it("a composite input dim (2·N + 1) is checked, and cannot bind on its own", async () => {
    const D = await import("../../compiler/graph/dim.ts");
    const b = new GraphBuilder();
    const a = b.input("a", "f32", ["N"]);
    const c = b.input("c", "f32", [D.add(D.mul("N", 2), 1)]);
    const g = b.finish([b.reduce("sum", a), b.reduce("sum", c)]);
    expect(interpret(g, { a: f32([2], [1, 2]), c: f32([5], [1, 1, 1, 1, 1]) }).dims).toEqual({ N: 2 });
    expect(() => interpret(g, { a: f32([2], [1, 2]), c: f32([4], [1, 1, 1, 1]) })).toThrow(/input 'c': expected shape \[2\*N \+ 1\], got \[4\]: axis 0 is 2\*N \+ 1 = 5, not 4/);
    const b2 = new GraphBuilder();
    const g2 = b2.finish([b2.reduce("sum", b2.input("c", "f32", [D.mul("M", 2)]))]);
    expect(() => interpret(g2, { c: f32([4], [1, 1, 1, 1]) })).toThrow(/opts.dims/);
    expect(vals(interpret(g2, { c: f32([4], [1, 1, 1, 1]) }, { dims: { M: 2 } }).outputs[0]!)).toEqual([4]);
  });
  it("dims no input determines come from opts.dims, else a clear error", () => {
    const b = new GraphBuilder();
    const g = b.finish([b.iota(["M"], 0)]);
    expect(() => interpret(g, {})).toThrow(/dim 'M' has no value/);
    expect(vals(interpret(g, {}, { dims: { M: 3 } }).outputs[0]!)).toEqual([0, 1, 2]);
  });
  it("zero-sized inputs bind zero", () => {
    const r = run((b) => b.reduce("sum", b.input("x", "f32", ["N", 2]), 0), { x: f32([0, 2], []) });
    expect(r.dims).toEqual({ N: 0 });
    expect(vals(r.outputs[0]!)).toEqual([0, 0]);
  });
});

describe("input validation", () => {
  const g = () => {
    const b = new GraphBuilder();
    return b.finish([b.neg(b.input("x", "i32", [2]))]);
  };
  it("missing, unknown, wrong dtype, wrong rank, wrong length, invalid values", () => {
    expect(() => interpret(g(), {})).toThrow(/missing input 'x'/);
    expect(() => interpret(g(), { x: i32([2], [1, 2]), z: i32([1], [1]) })).toThrow(/unknown input 'z'/);
    expect(() => interpret(g(), { x: f32([2], [1, 2]) })).toThrow(/expected dtype i32, got f32/);
    expect(() => interpret(g(), { x: i32([1, 2], [1, 2]) })).toThrow(/rank 2 instead of 1/);
    expect(() => interpret(g(), { x: { dtype: "i32", shape: [2], data: Float64Array.of(1) } })).toThrow(/1 values for shape \[2\]/);
    expect(() => interpret(g(), { x: { dtype: "i32", shape: [2], data: Float64Array.of(1, 2.5) } })).toThrow(/not a valid i32/);
  });
  it("float inputs are rounded to their dtype; the caller's data is not modified", () => {
    const b = new GraphBuilder();
    const gr = b.finish([b.add(b.input("x", "f16", [1]), b.input("y", "f16", [1]))]);
    const x = { dtype: "f16" as const, shape: [1], data: Float64Array.of(0.1) };
    const r = interpret(gr, { x, y: t("f16", [1], [0]) });
    expect(vals(r.outputs[0]!)).toEqual([0.0999755859375]);
    expect(x.data[0]).toBe(0.1);
  });
});

describe("hostTensor and randomInputs", () => {
  it("hostTensor rounds floats, accepts booleans, rejects bad ints and lengths", () => {
    expect(vals(hostTensor("f32", [2], [0.1, 1]))).toEqual([Math.fround(0.1), 1]);
    expect(vals(hostTensor("bool", [2], [true, false]))).toEqual([1, 0]);
    expect(() => hostTensor("u32", [1], [-1])).toThrow(InterpError);
    expect(() => hostTensor("f32", [3], [1, 2])).toThrow(/2 values for shape \[3\]/);
  });
  it("randomInputs is deterministic, per-dtype ranges, shapes from dims", () => {
    const b = new GraphBuilder();
    b.input("x", "f32", ["N", 4]);
    b.input("i", "i32", ["N"]);
    b.input("m", "bool", [64]);
    b.input("h", "bf16", [8]);
    const g = b.finish([b.scalar(0)]);
    const a = randomInputs(g, { N: 16 }, 1);
    const a2 = randomInputs(g, { N: 16 }, 1);
    const c = randomInputs(g, { N: 16 }, 2);
    expect(a.x!.shape).toEqual([16, 4]);
    expect(vals(a.x!)).toEqual(vals(a2.x!));
    expect(vals(a.x!)).not.toEqual(vals(c.x!));
    for (const v of vals(a.x!)) expect(v).toBe(Math.fround(v));
    for (const v of vals(a.h!)) expect(v).toBe(hostTensor("bf16", [1], [v]).data[0]);
    for (const v of vals(a.i!)) expect([0, 1, 2, 3]).toContain(v);
    const m = vals(a.m!);
    for (const v of m) expect([0, 1]).toContain(v);
    expect(m.some((v) => v === 1) && m.some((v) => v === 0)).toBe(true);
    const xs = vals(a.x!);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.6);
    expect(() => randomInputs(g, {}, 1)).toThrow(/dim 'N'/);
    // adding an input does not change the others' streams
    const b2 = new GraphBuilder();
    b2.input("x", "f32", ["N", 4]);
    const g2 = b2.finish([b2.scalar(0)]);
    expect(vals(randomInputs(g2, { N: 16 }, 1).x!)).toEqual(vals(a.x!));
  });
});
