import { describe, expect, it } from "vitest";
import { bool, close, f32, fr, i32, run, run1, t, vals } from "./helpers.ts";

const X = { x: f32([2, 3], [1, 2, 3, 4, 5, 6]) };
const xin = (b: import("./helpers.ts").GraphBuilder) => b.input("x", "f32", [2, 3]);

describe("reduce", () => {
  it("sum/mean/prod/max/min over axes, keepdims", () => {
    expect(run1((b) => b.reduce("sum", xin(b), 1), X)).toEqual([6, 15]);
    expect(run1((b) => b.reduce("sum", xin(b), 0), X)).toEqual([5, 7, 9]);
    expect(run1((b) => b.reduce("sum", xin(b)), X)).toEqual([21]);
    expect(run1((b) => b.reduce("mean", xin(b), 1), X)).toEqual([2, 5]);
    expect(run1((b) => b.reduce("prod", xin(b), 1), X)).toEqual([6, 120]);
    expect(run1((b) => b.reduce("max", xin(b), 0), X)).toEqual([4, 5, 6]);
    expect(run1((b) => b.reduce("min", xin(b), [0, 1]), X)).toEqual([1]);
    const r = run((b) => b.reduce("sum", xin(b), 1, true), X);
    expect(r.outputs[0]!.shape).toEqual([2, 1]);
    expect(vals(r.outputs[0]!)).toEqual([6, 15]);
  });
  it("reduces non-adjacent axes", () => {
    // x[a, b, c] = 100a + 10b + c, shape [2, 2, 2]; sum over a and c → per b: Σ_a Σ_c = 2*(0+100) + 2*10b*2... computed inline
    const x: number[] = [];
    for (let a = 0; a < 2; a++) for (let bb = 0; bb < 2; bb++) for (let c = 0; c < 2; c++) x.push(100 * a + 10 * bb + c);
    const want = [0, 1].map((bb) => [0, 1].reduce((s, a) => s + [0, 1].reduce((u, c) => u + 100 * a + 10 * bb + c, 0), 0));
    expect(run1((b) => b.reduce("sum", b.input("x", "i32", [2, 2, 2]), [0, 2]), { x: i32([2, 2, 2], x) })).toEqual(want);
  });
  it("any/all on bool", () => {
    const m = { m: bool([2, 3], [1, 0, 1, 0, 0, 0]) };
    expect(run1((b) => b.reduce("any", b.input("m", "bool", [2, 3]), 1), m)).toEqual([1, 0]);
    expect(run1((b) => b.reduce("all", b.input("m", "bool", [2, 3]), 0), m)).toEqual([0, 0, 0]);
    expect(run1((b) => b.reduce("all", b.input("m", "bool", [1, 2]), 1), { m: bool([1, 2], [1, 1]) })).toEqual([1]);
  });
  it("empty axes: sum 0, prod 1, max -inf, min +inf, mean NaN, int max/min 0, any false, all true", () => {
    const E = { x: f32([2, 0], []) };
    const e = (b: import("./helpers.ts").GraphBuilder) => b.input("x", "f32", [2, 0]);
    expect(run1((b) => b.reduce("sum", e(b), 1), E)).toEqual([0, 0]);
    expect(run1((b) => b.reduce("prod", e(b), 1), E)).toEqual([1, 1]);
    expect(run1((b) => b.reduce("max", e(b), 1), E)).toEqual([-Infinity, -Infinity]);
    expect(run1((b) => b.reduce("min", e(b), 1), E)).toEqual([Infinity, Infinity]);
    expect(run1((b) => b.reduce("mean", e(b), 1), E)).toEqual([NaN, NaN]);
    expect(run1((b) => b.reduce("sum", e(b), 0), E)).toEqual([]);
    expect(run1((b) => b.reduce("max", b.input("x", "i32", [2, 0]), 1), { x: i32([2, 0], []) })).toEqual([0, 0]);
    expect(run1((b) => b.reduce("min", b.input("x", "i32", [2, 0]), 1), { x: i32([2, 0], []) })).toEqual([0, 0]);
    expect(run1((b) => b.reduce("any", b.input("m", "bool", [0]), 0), { m: bool([0], []) })).toEqual([0]);
    expect(run1((b) => b.reduce("all", b.input("m", "bool", [0]), 0), { m: bool([0], []) })).toEqual([1]);
  });
  it("NaN propagates through max/min/sum", () => {
    const n = { x: f32([3], [1, NaN, 3]) };
    for (const fn of ["max", "min", "sum", "mean", "prod"] as const) expect(run1((b) => b.reduce(fn, b.input("x", "f32", [3]), 0), n), fn).toEqual([NaN]);
  });
  it("integers: sum wraps, mean is exact f32, prod wraps", () => {
    expect(run1((b) => b.reduce("sum", b.input("x", "i32", [2]), 0), { x: i32([2], [2147483647, 1]) })).toEqual([-2147483648]);
    const m = run((b) => b.reduce("mean", b.input("x", "i32", [2]), 0), { x: i32([2], [2147483647, 2147483647]) });
    expect(m.outputs[0]!.dtype).toBe("f32");
    expect(vals(m.outputs[0]!)).toEqual([2147483648]); // f32(2^31 - 1)
    expect(run1((b) => b.reduce("prod", b.input("x", "i32", [3]), 0), { x: i32([3], [65536, 65536, 3]) })).toEqual([0]);
  });
  it("f16 sums accumulate in double and round once", () => {
    // sequential f16 adds would give 1 (each 2^-11 step ties back to 1); the exact sum is 1 + 2^-10
    expect(run1((b) => b.reduce("sum", b.input("x", "f16", [3]), 0), { x: t("f16", [3], [1, 2 ** -11, 2 ** -11]) })).toEqual([1 + 2 ** -10]);
  });
});

describe("argreduce", () => {
  it("ties go to the lowest index", () => {
    const x = { x: f32([4], [3, 1, 3, 1]) };
    expect(run1((b) => b.argreduce("argmax", b.input("x", "f32", [4])), x)).toEqual([0]);
    expect(run1((b) => b.argreduce("argmin", b.input("x", "f32", [4])), x)).toEqual([1]);
  });
  it("NaN wins for both argmax and argmin (first NaN)", () => {
    const x = { x: f32([4], [1, NaN, 5, NaN]) };
    expect(run1((b) => b.argreduce("argmax", b.input("x", "f32", [4])), x)).toEqual([1]);
    expect(run1((b) => b.argreduce("argmin", b.input("x", "f32", [4])), x)).toEqual([1]);
  });
  it("along axis 0, keepdims, empty axis gives -1", () => {
    const x = { x: f32([2, 2], [1, 5, 7, 2]) };
    expect(run1((b) => b.argreduce("argmax", b.input("x", "f32", [2, 2]), 0), x)).toEqual([1, 0]);
    const r = run((b) => b.argreduce("argmin", b.input("x", "f32", [2, 2]), 1, true), x);
    expect(r.outputs[0]!.shape).toEqual([2, 1]);
    expect(vals(r.outputs[0]!)).toEqual([0, 1]);
    expect(run1((b) => b.argreduce("argmax", b.input("x", "f32", [2, 0]), 1), { x: f32([2, 0], []) })).toEqual([-1, -1]);
    expect(run1((b) => b.argreduce("argmax", b.input("x", "i32", [3]), 0), { x: i32([3], [-5, -2, -2]) })).toEqual([1]);
  });
});

describe("softmax and logsumexp", () => {
  it("softmax matches exp(x - max) / sum", () => {
    const x = [1, 2, 3];
    const e = x.map((v) => Math.exp(v - 3));
    const s = e.reduce((a, c) => a + c, 0);
    expect(run1((b) => b.softmax(b.input("x", "f32", [3])), { x: f32([3], x) })).toEqual(fr(e.map((v) => v / s)));
    expect(run1((b) => b.softmax(b.input("x", "f32", [2])), { x: f32([2], [0, 0]) })).toEqual([0.5, 0.5]);
  });
  it("-inf entries get 0; an all -inf row gives zeros, not NaN", () => {
    expect(run1((b) => b.softmax(b.input("x", "f32", [2, 2])), { x: f32([2, 2], [0, -Infinity, -Infinity, -Infinity]) })).toEqual([1, 0, 0, 0]);
  });
  it("along axis 0", () => {
    // columns [0, 0] and [1000, 1000] → all 0.5 (subtracting the max avoids overflow)
    expect(run1((b) => b.softmax(b.input("x", "f32", [2, 2]), 0), { x: f32([2, 2], [0, 1000, 0, 1000]) })).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
  it("logsumexp: ln 2, -inf for empty/all -inf, inf and NaN pass through", () => {
    const lse = (x: number[]) => run1((b) => b.logsumexp(b.input("x", "f32", [x.length])), { x: f32([x.length], x) })[0];
    expect(lse([0, 0])).toBe(Math.fround(Math.LN2));
    expect(lse([1000, 1000])).toBe(Math.fround(1000 + Math.LN2));
    expect(lse([-Infinity, -Infinity])).toBe(-Infinity);
    expect(lse([])).toBe(-Infinity);
    expect(lse([Infinity, 0])).toBe(Infinity);
    expect(lse([1, NaN])).toBeNaN();
    const r = run((b) => b.logsumexp(b.input("x", "f32", [2, 2]), 0, true), { x: f32([2, 2], [0, 1, 0, 1]) });
    expect(r.outputs[0]!.shape).toEqual([1, 2]);
    expect(vals(r.outputs[0]!)).toEqual(fr([Math.LN2, 1 + Math.LN2]));
  });
});

describe("matmul", () => {
  it("2-D product", () => {
    // [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
    const r = run1((b) => b.matmul(b.input("a", "f32", [2, 3]), b.input("c", "f32", [3, 2])), {
      a: f32([2, 3], [1, 2, 3, 4, 5, 6]),
      c: f32([3, 2], [7, 8, 9, 10, 11, 12]),
    });
    expect(r).toEqual([58, 64, 139, 154]);
  });
  it("batched with broadcast batch axes", () => {
    // a [2, 1, 2] = two rows [1, 2] and [3, 4]; c [2, 2] = [[1, 0], [1, 1]] shared → [3, 2] and [7, 4]
    const r = run((b) => b.matmul(b.input("a", "f32", [2, 1, 2]), b.input("c", "f32", [2, 2])), {
      a: f32([2, 1, 2], [1, 2, 3, 4]),
      c: f32([2, 2], [1, 0, 1, 1]),
    });
    expect(r.outputs[0]!.shape).toEqual([2, 1, 2]);
    expect(vals(r.outputs[0]!)).toEqual([3, 2, 7, 4]);
    // c [2, 1, 2, 1] broadcast against a [3, 2]... batch [2, 1] vs [] → out [2, 1, 3, 1]
    const r2 = run((b) => b.matmul(b.input("a", "f32", [3, 2]), b.input("c", "f32", [2, 1, 2, 1])), {
      a: f32([3, 2], [1, 0, 0, 1, 1, 1]),
      c: f32([2, 1, 2, 1], [5, 7, -1, 2]),
    });
    expect(r2.outputs[0]!.shape).toEqual([2, 1, 3, 1]);
    expect(vals(r2.outputs[0]!)).toEqual([5, 7, 12, -1, 2, 1]);
  });
  it("vectors, empty inner dim, integer wrap", () => {
    expect(run1((b) => b.matmul(b.input("a", "f32", [2]), b.input("c", "f32", [2, 2])), { a: f32([2], [1, 2]), c: f32([2, 2], [1, 2, 3, 4]) })).toEqual([7, 10]);
    expect(run1((b) => b.matmul(b.input("a", "f32", [2]), b.input("c", "f32", [2])), { a: f32([2], [1, 2]), c: f32([2], [3, 4]) })).toEqual([11]);
    expect(run1((b) => b.matmul(b.input("a", "f32", [2, 0]), b.input("c", "f32", [0, 2])), { a: f32([2, 0], []), c: f32([0, 2], []) })).toEqual([0, 0, 0, 0]);
    expect(run1((b) => b.matmul(b.input("a", "i32", [1, 2]), b.input("c", "i32", [2, 1])), { a: i32([1, 2], [65536, 1]), c: i32([2, 1], [65536, 5]) })).toEqual([5]);
  });
  it("f16 matmul accumulates in double, rounds once", () => {
    // 1 + 2^-11 + 2^-11 exactly = 1 + 2^-10 (representable); f16 partial sums would stay at 1
    const r = run1((b) => b.matmul(b.input("a", "f16", [1, 3]), b.input("c", "f16", [3, 1])), { a: t("f16", [1, 3], [1, 1, 1]), c: t("f16", [3, 1], [1, 2 ** -11, 2 ** -11]) });
    expect(r).toEqual([1 + 2 ** -10]);
  });
});

describe("cumsum", () => {
  const x = { x: f32([4], [1, 2, 3, 4]) };
  const cs = (ex: boolean, rev: boolean) => run1((b) => b.cumsum(b.input("x", "f32", [4]), 0, ex, rev), x);
  it("inclusive / exclusive / reverse", () => {
    expect(cs(false, false)).toEqual([1, 3, 6, 10]);
    expect(cs(true, false)).toEqual([0, 1, 3, 6]);
    expect(cs(false, true)).toEqual([10, 9, 7, 4]);
    expect(cs(true, true)).toEqual([9, 7, 4, 0]);
  });
  it("along axis 0 of a matrix, ints wrap, empty", () => {
    expect(run1((b) => b.cumsum(b.input("x", "i32", [2, 2]), 0), { x: i32([2, 2], [1, 2, 3, 4]) })).toEqual([1, 2, 4, 6]);
    expect(run1((b) => b.cumsum(b.input("x", "i32", [2]), 0), { x: i32([2], [2147483647, 1]) })).toEqual([2147483647, -2147483648]);
    expect(run1((b) => b.cumsum(b.input("x", "f32", [0]), 0), { x: f32([0], []) })).toEqual([]);
  });
  it("f32 sums are rounded per output from the double prefix", () => {
    const v = [0.1, 0.2, 0.3].map(Math.fround);
    const want = fr([v[0]!, v[0]! + v[1]!, v[0]! + v[1]! + v[2]!]);
    expect(close(run1((b) => b.cumsum(b.input("x", "f32", [3]), 0), { x: f32([3], v) }), want, 0)).toBe(true);
  });
});
