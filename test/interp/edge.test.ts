/** Edge cases behind the decisions written in ops.ts. */
import { describe, expect, it } from "vitest";
import type { Tensor } from "../../compiler/graph/builder.ts";
import { InterpError } from "../../compiler/graph/interp.ts";
import { close, f32, i32, run, run1, vals } from "./helpers.ts";

describe("decisions in ops.ts", () => {
  it("a negative pad crops", () => {
    expect(run1((b) => b.pad(b.input("x", "f32", [3]), [-1], [1], 0), { x: f32([3], [1, 2, 3]) })).toEqual([2, 3, 0]);
  });
  it("softmax: NaN or +inf in a row makes the row NaN", () => {
    expect(run1((b) => b.softmax(b.input("x", "f32", [2])), { x: f32([2], [NaN, 0]) })).toEqual([NaN, NaN]);
    expect(run1((b) => b.softmax(b.input("x", "f32", [2])), { x: f32([2], [Infinity, 0]) })).toEqual([NaN, NaN]);
  });
  it("topk with a symbolic k larger than the dim is malformed", () => {
    expect(() => run((b) => b.topk(b.input("x", "f32", [3]), "k")[0]!, { x: f32([3], [1, 2, 3]) }, { k: 4 })).toThrow(InterpError);
  });
  it("iterate with a negative count is malformed", () => {
    expect(() => run((b) => b.iterate("n", [b.scalar(1)], ([s]) => [s!]), {}, { n: -1 })).toThrow(/negative/);
  });
  it("quantize: a NaN group gets NaN scale/zero and q 0; a zero-width row packs nothing", () => {
    const r = run((b) => b.quantize(b.input("x", "f32", [2, 2]), 4), { x: f32([2, 2], [NaN, 1, 2, 3]) });
    expect(vals(r.outputs[0]!)).toEqual([0, 15 << 4]); // row 1 = [2, 3]: scale 1/15, q = [0, 15]
    expect(vals(r.outputs[1]!)).toEqual([NaN, Math.fround(1 / 15)]);
    expect(vals(r.outputs[2]!)).toEqual([NaN, 2]);
    const e = run((b) => b.quantize(b.input("x", "f32", [2, 0]), 4), { x: f32([2, 0], []) });
    expect(e.outputs[0]!.shape).toEqual([2, 0]);
    expect(vals(e.outputs[1]!)).toEqual([0, 0]);
  });
  it("attention with head dim 0 gives logits 0 (uniform weights), never NaN", () => {
    const r = run1((b) => b.attention(b.input("q", "f32", [1, 0]), b.input("k", "f32", [2, 0]), b.input("v", "f32", [2, 1])) as Tensor, {
      q: f32([1, 0], []), k: f32([2, 0], []), v: f32([2, 1], [1, 3]),
    });
    expect(r).toEqual([2]);
  });
  it("attention: a +inf final logit makes the row NaN; -inf only removes the key", () => {
    const att = (bias: number[]) => run1((b) => b.attention(b.input("q", "f32", [1, 1]), b.input("k", "f32", [2, 1]), b.input("v", "f32", [2, 1]), { bias: b.input("bias", "f32", [2]) }) as Tensor, {
      q: f32([1, 1], [1]), k: f32([2, 1], [1, 1]), v: f32([2, 1], [1, 3]), bias: f32([2], bias),
    });
    expect(att([Infinity, 0])).toEqual([NaN]);
    expect(att([-Infinity, 0])).toEqual([3]);
  });
  it("attention probs include a duplicated route's multiplicity", () => {
    // one query, keys [0, 1] in blocks of 1; the route lists block 0 twice and block 1 once; equal logits
    const r = run((b) => b.attention(b.input("q", "f32", [1, 1]), b.input("k", "f32", [2, 1]), b.input("v", "f32", [2, 1]), {
      blocks: { route: b.input("r", "i32", [1, 3]), blockQ: 1, blockK: 1 },
      returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [1]) }],
    }) as Tensor[], { q: f32([1, 1], [0]), k: f32([2, 1], [1, 1]), v: f32([2, 1], [3, 6]), r: i32([1, 3], [0, 1, 0]), rows: i32([1], [0]) });
    expect(vals(r.outputs[0]!)).toEqual([4]); // (2·3 + 6)/3
    expect(close(vals(r.outputs[1]!), [Math.log(3)])).toBe(true);
    expect(vals(r.outputs[2]!)).toEqual([Math.fround(2 / 3), Math.fround(1 / 3)]);
  });
  it("reduce over all axes of a scalar is the scalar; mean of one element is itself", () => {
    expect(run1((b) => b.reduce("sum", b.scalar(2.5, "f32")), {})).toEqual([2.5]);
    expect(run1((b) => b.reduce("mean", b.input("x", "f32", [1]), 0), { x: f32([1], [7]) })).toEqual([7]);
  });
});
