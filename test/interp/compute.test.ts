import { describe, expect, it } from "vitest";
import { S, f32, fr, i32, run, run1, vals } from "./helpers.ts";

describe("compute", () => {
  it("index notation: a transpose and an elementwise body", () => {
    const X = { x: f32([2, 3], [1, 2, 3, 4, 5, 6]) };
    const r = run((b) => {
      const x = b.input("x", "f32", [2, 3]);
      return b.compute([3, 2], (i, j) => S.load(x, [j, i]));
    }, X);
    expect(r.outputs[0]!.shape).toEqual([3, 2]);
    expect(vals(r.outputs[0]!)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(run1((b) => {
      const x = b.input("x", "f32", [2, 3]);
      return b.compute([2, 3], (i, j) => S.add(S.mul(S.load(x, [i, j]), 2), S.cast(j, "f32")));
    }, X)).toEqual([2, 5, 8, 8, 11, 14]);
  });

  it("index variables and dims are i32", () => {
    expect(run1((b) => b.compute(["N"], (i) => S.add(S.mul(i, 10), S.dim("N"))), {}, { N: 3 })).toEqual([3, 13, 23]);
  });

  it("reduce with a condition (a causal prefix sum)", () => {
    const x = [1, 2, 3, 4];
    expect(run1((b) => {
      const xi = b.input("x", "f32", [4]);
      return b.compute([4], (i) => S.reduce("sum", [4], (j) => S.load(xi, [j]), (j) => S.le(j, i)));
    }, { x: f32([4], x) })).toEqual([1, 3, 6, 10]);
  });

  it("all reduce functions inside expressions", () => {
    const X = { x: f32([2, 3], [1, 5, 2, -1, 0, 3]) };
    const red = (fn: Parameters<typeof S.reduce>[0]) =>
      run1((b) => {
        const x = b.input("x", "f32", [2, 3]);
        return b.compute([2], (i) => (fn === "any" || fn === "all" ? S.reduce(fn, [3], (j) => S.gt(S.load(x, [i, j]), 0)) : S.reduce(fn, [3], (j) => S.load(x, [i, j]))));
      }, X);
    expect(red("sum")).toEqual([8, 2]);
    expect(red("mean")).toEqual(fr([8 / 3, 2 / 3]));
    expect(red("prod")).toEqual([10, -0]);
    expect(red("max")).toEqual([5, 3]);
    expect(red("min")).toEqual([1, -1]);
    expect(red("any")).toEqual([1, 1]);
    expect(red("all")).toEqual([1, 0]);
    expect(red("argmax")).toEqual([1, 2]);
    expect(red("argmin")).toEqual([0, 0]);
  });

  it("multi-variable reductions and nested reductions", () => {
    // Σ_{a<2, c<3} x[a, c] = 21; Σ_a max_c x[a, c] = 3 + 6
    const X = { x: f32([2, 3], [1, 2, 3, 4, 5, 6]) };
    expect(run1((b) => {
      const x = b.input("x", "f32", [2, 3]);
      return b.compute([1], () => S.reduce("sum", [2, 3], (a, c) => S.load(x, [a, c])));
    }, X)).toEqual([21]);
    expect(run1((b) => {
      const x = b.input("x", "f32", [2, 3]);
      return b.compute([1], () => S.reduce("sum", [2], (a) => S.reduce("max", [3], (c) => S.load(x, [a, c]))));
    }, X)).toEqual([9]);
  });

  it("argmax: ties → lowest index, NaN first, empty domain → -1", () => {
    const am = (x: number[], cond?: boolean) =>
      run1((b) => {
        const xi = b.input("x", "f32", [x.length]);
        return b.compute([1], () => S.reduce("argmax", [x.length], (j) => S.load(xi, [j]), cond === undefined ? undefined : () => cond));
      }, { x: f32([x.length], x) });
    expect(am([2, 7, 7, 1])).toEqual([1]);
    expect(am([2, NaN, 7, NaN])).toEqual([1]);
    expect(am([])).toEqual([-1]);
    expect(am([1, 2], false)).toEqual([-1]);
  });

  it("empty reductions: sum 0, max -inf, mean NaN, int max 0", () => {
    const e = (fn: "sum" | "max" | "mean" | "min", dt: "f32" | "i32") =>
      run1((b) => {
        const x = b.input("x", dt, [0]);
        return b.compute([1], () => S.reduce(fn, [0], (j) => S.load(x, [j])));
      }, { x: dt === "f32" ? f32([0], []) : i32([0], []) });
    expect(e("sum", "f32")).toEqual([0]);
    expect(e("max", "f32")).toEqual([-Infinity]);
    expect(e("min", "f32")).toEqual([Infinity]);
    expect(e("mean", "f32")).toEqual([NaN]);
    expect(e("max", "i32")).toEqual([0]);
  });

  it("out-of-range loads read 0 and flag; index -1 reads 0 silently", () => {
    const X = { x: f32([3], [10, 20, 30]) };
    const fwd = run((b) => {
      const x = b.input("x", "f32", [3]);
      return b.compute([3], (i) => S.load(x, [S.add(i, 1)]));
    }, X);
    expect(vals(fwd.outputs[0]!)).toEqual([20, 30, 0]);
    expect(fwd.errorFlag).toBe(true);
    expect(fwd.errors[0]!.node.op).toBe("compute");
    expect(fwd.errors[0]!.message).toMatch(/\[3\]/);
    const back = run((b) => {
      const x = b.input("x", "f32", [3]);
      return b.compute([3], (i) => S.load(x, [S.sub(i, 1)]));
    }, X);
    expect(vals(back.outputs[0]!)).toEqual([0, 10, 20]);
    expect(back.errorFlag).toBe(false);
  });

  it("select evaluates only the chosen branch", () => {
    const r = run((b) => {
      const x = b.input("x", "f32", [3]);
      return b.compute([3], (i) => S.select(S.lt(i, 2), S.load(x, [S.add(i, 1)]), -1));
    }, { x: f32([3], [10, 20, 30]) });
    expect(vals(r.outputs[0]!)).toEqual([20, 30, -1]);
    expect(r.errorFlag).toBe(false);
  });

  it("gather-style loads through an index tensor (take_along)", () => {
    const r = run1((b) => b.takeAlong(b.input("x", "f32", [2, 3]), b.input("i", "i32", [2, 2]), 1), {
      x: f32([2, 3], [1, 2, 3, 4, 5, 6]),
      i: i32([2, 2], [2, 0, 1, 1]),
    });
    expect(r).toEqual([3, 1, 5, 5]);
  });

  it("scalar semantics match the graph ops (int floor division, f16 rounding)", () => {
    expect(run1((b) => {
      const x = b.input("x", "i32", [4]);
      return b.compute([4], (i) => S.div(S.load(x, [i]), -2));
    }, { x: i32([4], [7, -7, 0, 1]) })).toEqual([-4, 3, -0, -1].map((v) => v | 0));
    expect(run1((b) => {
      const x = b.input("x", "f16", [1]);
      return b.compute([1], (i) => S.add(S.load(x, [i]), S.const(2 ** -11, "f16")));
    }, { x: { dtype: "f16", shape: [1], data: Float64Array.of(1) } })).toEqual([1]);
  });

  it("einsum is a sum over the missing letters", () => {
    // [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    expect(run1((b) => b.einsum("ij,jk->ik", b.input("a", "f32", [2, 3]), b.input("c", "f32", [3, 2])), {
      a: f32([2, 3], [1, 2, 3, 4, 5, 6]),
      c: f32([3, 2], [7, 8, 9, 10, 11, 12]),
    })).toEqual([58, 64, 139, 154]);
  });
});
