import { describe, expect, it } from "vitest";
import { bool, f32, i32, run, run1, vals } from "./helpers.ts";

describe("topk", () => {
  const X = { x: f32([8], [3, 1, 4, 1, 5, 9, 2, 6]) };
  const topk = (k: number, largest: boolean, x = X, n = 8) => {
    const r = run((b) => b.topk(b.input("x", "f32", [n]), k, -1, largest), x);
    return [vals(r.outputs[0]!), vals(r.outputs[1]!)];
  };
  it("largest and smallest, sorted, ties → lowest index", () => {
    expect(topk(3, true)).toEqual([[9, 6, 5], [5, 7, 4]]);
    expect(topk(3, false)).toEqual([[1, 1, 2], [1, 3, 6]]);
    expect(topk(2, true, { x: f32([3], [2, 2, 2]) }, 3)).toEqual([[2, 2], [0, 1]]);
  });
  it("NaN is the largest value", () => {
    expect(topk(2, true, { x: f32([3], [1, NaN, 3]) }, 3)).toEqual([[NaN, 3], [1, 2]]);
    expect(topk(3, false, { x: f32([3], [1, NaN, 3]) }, 3)).toEqual([[1, 3, NaN], [0, 2, 1]]);
  });
  it("k = 0 and k = n", () => {
    const r = run((b) => b.topk(b.input("x", "f32", [8]), 0), X);
    expect(r.outputs[0]!.shape).toEqual([0]);
    expect(vals(r.outputs[1]!)).toEqual([]);
    expect(topk(8, true)[1]).toEqual([5, 7, 4, 2, 0, 6, 1, 3]); // 9 6 5 4 3 2 1 1
  });
  it("along axis 0, symbolic k", () => {
    // columns [1, 5, 3] and [6, 2, 4]
    const r = run((b) => b.topk(b.input("x", "i32", [3, 2]), "k", 0), { x: i32([3, 2], [1, 6, 5, 2, 3, 4]) }, { k: 2 });
    expect(r.outputs[0]!.shape).toEqual([2, 2]);
    expect(vals(r.outputs[0]!)).toEqual([5, 6, 3, 4]);
    expect(vals(r.outputs[1]!)).toEqual([1, 0, 2, 2]);
  });
});

describe("argsort", () => {
  const as = (x: number[], desc: boolean) => run1((b) => b.argsort(b.input("x", "f32", [x.length]), -1, desc), { x: f32([x.length], x) });
  it("stable ascending; descending keeps equal keys in ascending index order", () => {
    expect(as([3, 1, 2, 1], false)).toEqual([1, 3, 2, 0]);
    expect(as([3, 1, 2, 1], true)).toEqual([0, 2, 1, 3]);
  });
  it("NaN sorts as the largest; -0 equals 0", () => {
    expect(as([NaN, 1, NaN, 0], false)).toEqual([3, 1, 0, 2]);
    expect(as([NaN, 1, NaN, 0], true)).toEqual([0, 2, 1, 3]);
    expect(as([0, -0, 0], false)).toEqual([0, 1, 2]);
  });
  it("axis 0 and empty", () => {
    expect(run1((b) => b.argsort(b.input("x", "f32", [2, 2]), 0), { x: f32([2, 2], [5, 1, 2, 3]) })).toEqual([1, 0, 0, 1]);
    expect(as([], false)).toEqual([]);
    expect(run1((b) => b.sort(b.input("x", "f32", [4]), -1, true), { x: f32([4], [3, 1, 2, 1]) })).toEqual([3, 2, 1, 1]);
  });
});

describe("compact", () => {
  it("true positions in order, padded with -1, and counts", () => {
    const r = run((b) => b.compact(b.input("m", "bool", [2, 4])), { m: bool([2, 4], [1, 0, 1, 0, 0, 0, 0, 0]) });
    expect(vals(r.outputs[0]!)).toEqual([0, 2, -1, -1, -1, -1, -1, -1]);
    expect(vals(r.outputs[1]!)).toEqual([2, 0]);
  });
  it("zero-sized rows", () => {
    const r = run((b) => b.compact(b.input("m", "bool", [2, 0])), { m: bool([2, 0], []) });
    expect(r.outputs[0]!.shape).toEqual([2, 0]);
    expect(vals(r.outputs[1]!)).toEqual([0, 0]);
    const r1 = run((b) => b.compact(b.input("m", "bool", [3])), { m: bool([3], [1, 1, 1]) });
    expect(vals(r1.outputs[0]!)).toEqual([0, 1, 2]);
    expect(r1.outputs[1]!.shape).toEqual([]);
    expect(vals(r1.outputs[1]!)).toEqual([3]);
  });
});

describe("gather", () => {
  const X = { x: f32([3, 2], [1, 2, 3, 4, 5, 6]) };
  it("rows by index; -1 reads zeros without flagging", () => {
    const r = run((b) => b.gather(b.input("x", "f32", [3, 2]), b.input("i", "i32", [3]), 0), { ...X, i: i32([3], [2, 0, -1]) });
    expect(vals(r.outputs[0]!)).toEqual([5, 6, 1, 2, 0, 0]);
    expect(r.errorFlag).toBe(false);
  });
  it("an out-of-range index reads zeros and sets the error flag, naming the node", () => {
    const r = run((b) => b.gather(b.input("x", "f32", [3, 2]), b.input("i", "i32", [2]), 0), { ...X, i: i32([2], [3, 1]) });
    expect(vals(r.outputs[0]!)).toEqual([0, 0, 3, 4]);
    expect(r.errorFlag).toBe(true);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.node.op).toBe("gather");
    expect(r.errors[0]!.message).toMatch(/index 3 is out of range \[0, 3\)/);
    const neg = run((b) => b.gather(b.input("x", "f32", [3, 2]), b.input("i", "i32", [1]), 0), { ...X, i: i32([1], [-2]) });
    expect(neg.errorFlag).toBe(true);
  });
  it("axis 1 with a broadcast index prefix", () => {
    // x = [[10,11,12],[20,21,22]], idx [[2, 0]] shared by both rows
    const r = run((b) => b.gather(b.input("x", "f32", [2, 3]), b.input("i", "i32", [1, 2]), 1), { x: f32([2, 3], [10, 11, 12, 20, 21, 22]), i: i32([1, 2], [2, 0]) });
    expect(vals(r.outputs[0]!)).toEqual([12, 10, 22, 20]);
    // per-row indices
    const r2 = run((b) => b.gather(b.input("x", "f32", [2, 3]), b.input("i", "i32", [2, 1]), 1), { x: f32([2, 3], [10, 11, 12, 20, 21, 22]), i: i32([2, 1], [1, 2]) });
    expect(vals(r2.outputs[0]!)).toEqual([11, 22]);
  });
  it("empty index list", () => {
    const r = run((b) => b.gather(b.input("x", "f32", [3, 2]), b.input("i", "i32", [0]), 0), { ...X, i: i32([0], []) });
    expect(r.outputs[0]!.shape).toEqual([0, 2]);
  });
});

describe("segment_reduce", () => {
  const X = { x: f32([5], [1, 2, 3, 4, 5]), s: i32([5], [0, 2, 0, -1, 2]) };
  const seg = (fn: "sum" | "mean" | "max" | "min") => run1((b) => b.segmentReduce(fn, b.input("x", "f32", [5]), b.input("s", "i32", [5]), 4, 0), X);
  it("sum/mean/max/min with -1 dropped and empty segments", () => {
    expect(seg("sum")).toEqual([4, 0, 7, 0]);
    expect(seg("mean")).toEqual([2, 0, 3.5, 0]);
    expect(seg("max")).toEqual([3, -Infinity, 5, -Infinity]);
    expect(seg("min")).toEqual([1, Infinity, 2, Infinity]);
  });
  it("integer empty max is 0; integer mean is f32", () => {
    const r = run1((b) => b.segmentReduce("max", b.input("x", "i32", [2]), b.input("s", "i32", [2]), 2, 0), { x: i32([2], [-5, -7]), s: i32([2], [1, 1]) });
    expect(r).toEqual([0, -5]);
    const m = run((b) => b.segmentReduce("mean", b.input("x", "i32", [2]), b.input("s", "i32", [2]), 1, 0), { x: i32([2], [1, 2]), s: i32([2], [0, 0]) });
    expect(m.outputs[0]!.dtype).toBe("f32");
    expect(vals(m.outputs[0]!)).toEqual([1.5]);
  });
  it("out-of-range ids are dropped and flag", () => {
    const r = run((b) => b.segmentReduce("sum", b.input("x", "f32", [3]), b.input("s", "i32", [3]), 2, 0), { x: f32([3], [1, 2, 4]), s: i32([3], [0, 7, 1]) });
    expect(vals(r.outputs[0]!)).toEqual([1, 4]);
    expect(r.errorFlag).toBe(true);
    expect(r.errors[0]!.node.op).toBe("segment_reduce");
  });
  it("trailing axes and a batch prefix", () => {
    // x [3, 2] rows r0, r1, r2 with ids [0, 1, 0] → [[r0 + r2], [r1]]
    expect(run1((b) => b.segmentReduce("sum", b.input("x", "f32", [3, 2]), b.input("s", "i32", [3]), 2, 0), { x: f32([3, 2], [1, 2, 3, 4, 5, 6]), s: i32([3], [0, 1, 0]) })).toEqual([6, 8, 3, 4]);
    // x [2, 3] reduced along axis 1 with per-row ids
    expect(run1((b) => b.segmentReduce("max", b.input("x", "f32", [2, 3]), b.input("s", "i32", [2, 3]), 2, 1), {
      x: f32([2, 3], [1, 9, 3, 4, 5, 6]),
      s: i32([2, 3], [1, 1, 0, 0, 0, 0]),
    })).toEqual([3, 9, 6, -Infinity]);
  });
  it("NaN propagates in max", () => {
    expect(run1((b) => b.segmentReduce("max", b.input("x", "f32", [3]), b.input("s", "i32", [3]), 1, 0), { x: f32([3], [1, NaN, 3]), s: i32([3], [0, 0, 0]) })).toEqual([NaN]);
  });
});
