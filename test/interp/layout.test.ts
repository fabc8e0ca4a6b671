import { describe, expect, it } from "vitest";
import { f32, i32, run, run1, vals } from "./helpers.ts";

const seq = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe("layout ops", () => {
  it("reshape keeps row-major order", () => {
    const r = run((b) => b.reshape(b.input("x", "f32", [2, 3]), [3, 2]), { x: f32([2, 3], seq(6)) });
    expect(r.outputs[0]!.shape).toEqual([3, 2]);
    expect(vals(r.outputs[0]!)).toEqual(seq(6));
  });

  it("permute: out.shape[k] = x.shape[perm[k]]", () => {
    // x[a, b, c] = 100a + 10b + c, shape [2, 3, 4]; perm [2, 0, 1] → out[c, a, b] = x[a, b, c]
    const x: number[] = [];
    for (let a = 0; a < 2; a++) for (let bb = 0; bb < 3; bb++) for (let c = 0; c < 4; c++) x.push(100 * a + 10 * bb + c);
    const want: number[] = [];
    for (let c = 0; c < 4; c++) for (let a = 0; a < 2; a++) for (let bb = 0; bb < 3; bb++) want.push(100 * a + 10 * bb + c);
    const r = run((b) => b.permute(b.input("x", "i32", [2, 3, 4]), [2, 0, 1]), { x: i32([2, 3, 4], x) });
    expect(r.outputs[0]!.shape).toEqual([4, 2, 3]);
    expect(vals(r.outputs[0]!)).toEqual(want);
    expect(run1((b) => b.transpose(b.input("x", "f32", [2, 3])), { x: f32([2, 3], [1, 2, 3, 4, 5, 6]) })).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it("broadcast prepends axes and stretches ones", () => {
    expect(run1((b) => b.broadcastTo(b.input("x", "f32", [3]), [2, 3]), { x: f32([3], [1, 2, 3]) })).toEqual([1, 2, 3, 1, 2, 3]);
    expect(run1((b) => b.broadcastTo(b.input("x", "f32", [2, 1]), [2, 3]), { x: f32([2, 1], [1, 2]) })).toEqual([1, 1, 1, 2, 2, 2]);
    expect(run1((b) => b.full([2, 2], 7, "i32"))).toEqual([7, 7, 7, 7]);
    expect(run1((b) => b.broadcastTo(b.input("x", "f32", [1]), [0]), { x: f32([1], [5]) })).toEqual([]);
  });

  it("slice with steps, negative steps and symbolic starts", () => {
    const x = { x: f32([6], seq(6)) };
    expect(run1((b) => b.slice(b.input("x", "f32", [6]), 0, 1, 5, 2), x)).toEqual([1, 3]);
    expect(run1((b) => b.slice(b.input("x", "f32", [6]), 0, undefined, undefined, -1), x)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(run1((b) => b.slice(b.input("x", "f32", [6]), 0, -2), x)).toEqual([4, 5]);
    expect(run1((b) => b.slice(b.input("x", "f32", [6]), 0, 4, 1, -2), x)).toEqual([4, 2]);
    expect(run1((b) => b.slice(b.input("x", "f32", [6]), 0, 3, 3), x)).toEqual([]);
    // 2-D, axis 1: x = [[0,1,2],[3,4,5]] → columns 1..2
    expect(run1((b) => b.slice(b.input("x", "f32", [2, 3]), 1, 1), { x: f32([2, 3], seq(6)) })).toEqual([1, 2, 4, 5]);
    // symbolic start s and stop s + 2
    expect(run1((b) => b.slice(b.input("x", "f32", [6]), 0, "s", 5), x, { s: 3 })).toEqual([3, 4]);
    expect(run1((b) => b.select(b.input("x", "f32", [2, 3]), 0, -1), { x: f32([2, 3], seq(6)) })).toEqual([3, 4, 5]);
  });

  it("slice reading outside the operand throws", () => {
    // symbolic bounds are not clamped like Python's: reading x[4..7] of a dim of 6 is malformed
    expect(() => run1((b) => b.slice(b.input("x", "f32", [6]), 0, "s", "e"), { x: f32([6], seq(6)) }, { s: 4, e: 8 })).toThrow(/slice on axis 0 reads indices 4\.\.7/);
    // an empty slice reads nothing, wherever it starts
    expect(run1((b) => b.slice(b.input("x", "f32", [6]), 0, "s", 5), { x: f32([6], seq(6)) }, { s: 7 })).toEqual([]);
  });

  it("concat along an axis", () => {
    const inp = { a: f32([2, 1], [1, 2]), c: f32([2, 2], [3, 4, 5, 6]) };
    expect(run1((b) => b.concat([b.input("a", "f32", [2, 1]), b.input("c", "f32", [2, 2])], 1), inp)).toEqual([1, 3, 4, 2, 5, 6]);
    expect(run1((b) => b.concat([b.input("a", "f32", [2]), b.input("c", "f32", [0]), b.input("d", "f32", [1])], 0), {
      a: f32([2], [1, 2]), c: f32([0], []), d: f32([1], [3]),
    })).toEqual([1, 2, 3]);
    expect(run1((b) => b.concat([b.input("a", "f32", [1, 2]), b.input("c", "f32", [2, 2])], 0), { a: f32([1, 2], [1, 2]), c: f32([2, 2], [3, 4, 5, 6]) })).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("pad before/after with a value", () => {
    expect(run1((b) => b.pad(b.input("x", "f32", [3]), [2], [1], 9), { x: f32([3], [1, 2, 3]) })).toEqual([9, 9, 1, 2, 3, 9]);
    // [[1,2],[3,4]] padded by one row before and one column after with 0
    expect(run1((b) => b.pad(b.input("x", "i32", [2, 2]), [1, 0], [0, 1]), { x: i32([2, 2], [1, 2, 3, 4]) })).toEqual([0, 0, 0, 1, 2, 0, 3, 4, 0]);
    expect(run1((b) => b.pad(b.input("x", "f32", [0]), [1], [1], -1), { x: f32([0], []) })).toEqual([-1, -1]);
  });

  it("regions: BiFormer raster partition, and unregions inverts it", () => {
    // x[0, y, x, 0] = 4y + x on a 4×4 image, 2×2 regions of 2×2 tokens
    const img = f32([1, 4, 4, 1], seq(16));
    const r = run((b) => b.regions(b.input("x", "f32", [1, 4, 4, 1]), 2, 2), { x: img });
    expect(r.outputs[0]!.shape).toEqual([1, 4, 4, 1]);
    expect(vals(r.outputs[0]!)).toEqual([0, 1, 4, 5, /* region 1 = (ry 0, rx 1) */ 2, 3, 6, 7, /* region 2 */ 8, 9, 12, 13, 10, 11, 14, 15]);
    const back = run((b) => b.unregions(b.regions(b.input("x", "f32", [1, 4, 4, 1]), 2, 2), 2, 2, 4, 4), { x: img });
    expect(vals(back.outputs[0]!)).toEqual(seq(16));
  });

  it("regions with channels and non-square regions", () => {
    // x [1, 2, 4, 2]: x[0, y, x, c] = 100y + 10x + c; sh = 1, sw = 2 → regions of 2×2 pixels
    const x: number[] = [];
    for (let y = 0; y < 2; y++) for (let xx = 0; xx < 4; xx++) for (let c = 0; c < 2; c++) x.push(100 * y + 10 * xx + c);
    const want: number[] = [];
    for (let rx = 0; rx < 2; rx++) for (let ty = 0; ty < 2; ty++) for (let tx = 0; tx < 2; tx++) for (let c = 0; c < 2; c++) want.push(100 * ty + 10 * (rx * 2 + tx) + c);
    const r = run((b) => b.regions(b.input("x", "i32", [1, 2, 4, 2]), 1, 2), { x: i32([1, 2, 4, 2], x) });
    expect(r.outputs[0]!.shape).toEqual([1, 2, 4, 2]);
    expect(vals(r.outputs[0]!)).toEqual(want);
    const back = run((b) => b.unregions(b.input("r", "i32", [1, 2, 4, 2]), 1, 2, 2, 4), { r: i32([1, 2, 4, 2], want) });
    expect(vals(back.outputs[0]!)).toEqual(x);
  });

  it("regions on a symbolic image size checks divisibility when dims are bound", () => {
    const reg = (h: number) => run((b) => b.regions(b.input("x", "f32", [1, "H", 2, 1]), 2, 1), { x: f32([1, h, 2, 1], seq(2 * h)) });
    // H = 4: regions (ry 0) = rows 0..1, (ry 1) = rows 2..3, one column region
    expect(vals(reg(4).outputs[0]!)).toEqual(seq(8));
    expect(() => reg(3)).toThrow(/regions needs H = 3 to be divisible by 2/);
  });
});
