import { describe, expect, it } from "vitest";
import { close, f32, fr, run, run1, t, vals } from "./helpers.ts";

const seq = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe("dwconv2d", () => {
  const img = f32([1, 3, 3, 1], seq(9, 1)); // [[1,2,3],[4,5,6],[7,8,9]]
  it("3×3 box filter with zero padding (+ bias)", () => {
    const box = [12, 21, 16, 27, 45, 33, 24, 39, 28];
    expect(run1((b) => b.dwconv2d(b.input("x", "f32", [1, 3, 3, 1]), b.input("w", "f32", [1, 3, 3])), { x: img, w: f32([1, 3, 3], Array(9).fill(1)) })).toEqual(box);
    expect(run1((b) => b.dwconv2d(b.input("x", "f32", [1, 3, 3, 1]), b.input("w", "f32", [1, 3, 3]), b.input("b", "f32", [1])), {
      x: img, w: f32([1, 3, 3], Array(9).fill(1)), b: f32([1], [0.5]),
    })).toEqual(box.map((v) => v + 0.5));
  });
  it("is a cross-correlation (not flipped), per channel", () => {
    // channel 0: weight 1 at (dy 1, dx 2) → out[y, x] = in[y, x + 1]; channel 1: weight 2 at (dy 0, dx 1) → 2·in[y - 1, x]
    const x: number[] = [];
    for (let i = 1; i <= 9; i++) x.push(i, 10 * i); // channel 1 holds 10× channel 0
    const w = [0, 0, 0, 0, 0, 1, 0, 0, 0, /* c1 */ 0, 2, 0, 0, 0, 0, 0, 0, 0];
    const r = run1((b) => b.dwconv2d(b.input("x", "f32", [1, 3, 3, 2]), b.input("w", "f32", [2, 3, 3])), { x: f32([1, 3, 3, 2], x), w: f32([2, 3, 3], w) });
    const c0 = [2, 3, 0, 5, 6, 0, 8, 9, 0];
    const c1 = [0, 0, 0, 20, 40, 60, 80, 100, 120];
    expect(r).toEqual(c0.flatMap((v, i) => [v, c1[i]!]));
  });
  it("even kernels pad kh//2 before and keep the size", () => {
    // 2×2 ones kernel, pad 1 before: out[y, x] = Σ in[y-1..y, x-1..x]
    const r = run1((b) => b.dwconv2d(b.input("x", "f32", [1, 3, 3, 1]), b.input("w", "f32", [1, 2, 2])), { x: img, w: f32([1, 2, 2], [1, 1, 1, 1]) });
    expect(r).toEqual([1, 3, 5, 5, 12, 16, 11, 24, 28]);
  });
});

describe("norms", () => {
  it("layernorm: (x - mean)/sqrt(var + eps)·w + b with biased variance", () => {
    // x = [1, 2, 3, 4]: mean 2.5, var 1.25
    const sd = Math.sqrt(1.25 + 1e-5);
    const want = [1, 2, 3, 4].map((v) => (v - 2.5) / sd);
    expect(run1((b) => b.layernorm(b.input("x", "f32", [4])), { x: f32([4], [1, 2, 3, 4]) })).toEqual(fr(want));
    const w = [1, 2, 1, 2];
    const bb = [0, 0, 1, 1];
    expect(run1((b) => b.layernorm(b.input("x", "f32", [1, 4]), b.input("w", "f32", [4]), b.input("b", "f32", [4]), 0), {
      x: f32([1, 4], [1, 2, 3, 4]), w: f32([4], w), b: f32([4], bb),
    })).toEqual(fr([1, 2, 3, 4].map((v, i) => ((v - 2.5) / Math.sqrt(1.25)) * w[i]! + bb[i]!)));
    // two rows normalize independently; a constant row gives 0
    expect(run1((b) => b.layernorm(b.input("x", "f32", [2, 2]), undefined, undefined, 0), { x: f32([2, 2], [1, 3, 5, 5]) })).toEqual([-1, 1, NaN, NaN]);
    expect(run1((b) => b.layernorm(b.input("x", "f32", [2, 2])), { x: f32([2, 2], [1, 3, 5, 5]) })).toEqual(fr([-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5), 0, 0]));
  });
  it("rmsnorm: x / sqrt(mean(x²) + eps)·w", () => {
    // x = [3, 4]: mean(x²) = 12.5
    expect(run1((b) => b.rmsnorm(b.input("x", "f32", [2]), undefined, 0), { x: f32([2], [3, 4]) })).toEqual(fr([3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)]));
    expect(run1((b) => b.rmsnorm(b.input("x", "f32", [2]), b.input("w", "f32", [2]), 0), { x: f32([2], [3, 4]), w: f32([2], [2, -1]) })).toEqual(fr([6 / Math.sqrt(12.5), -4 / Math.sqrt(12.5)]));
  });
  it("l2normalize: x / max(‖x‖, eps) along an axis", () => {
    expect(run1((b) => b.l2normalize(b.input("x", "f32", [2]), -1), { x: f32([2], [3, 4]) })).toEqual(fr([0.6, 0.8]));
    expect(run1((b) => b.l2normalize(b.input("x", "f32", [2]), -1), { x: f32([2], [0, 0]) })).toEqual([0, 0]);
    // along axis 0 of [[3, 0], [4, 2]]: columns [3, 4] and [0, 2]
    expect(run1((b) => b.l2normalize(b.input("x", "f32", [2, 2]), 0), { x: f32([2, 2], [3, 0, 4, 2]) })).toEqual(fr([0.6, 0, 0.8, 1]));
    // eps bounds the divisor: ‖[1e-13]‖ < 1e-12
    expect(run1((b) => b.l2normalize(b.input("x", "f32", [1]), -1), { x: f32([1], [1e-13]) })).toEqual(fr([Math.fround(1e-13) / 1e-12]));
  });
});

describe("quantize / dequantize", () => {
  const quant = (x: number[], bits: number, shape = [x.length], axis = -1) => {
    const r = run((b) => {
      const [p, s, z] = b.quantize(b.input("x", "f32", shape), bits, axis);
      return [p, s, z, b.dequantize(p, s, z, bits, shape[shape.length - 1]!, axis)];
    }, { x: f32(shape, x) });
    return { packed: vals(r.outputs[0]!), scale: vals(r.outputs[1]!), zero: vals(r.outputs[2]!), back: vals(r.outputs[3]!), shapes: r.outputs.map((o) => o.shape) };
  };
  it("2 bits: scale = (max - min)/3, zero = min", () => {
    // x = [-1, 0.5, -0.5, 0] → scale 0.5, zero -1, q = [0, 3, 1, 2] → 0 | 3<<2 | 1<<4 | 2<<6 = 156
    const r = quant([-1, 0.5, -0.5, 0], 2);
    expect(r.packed).toEqual([156]);
    expect(r.scale).toEqual([0.5]);
    expect(r.zero).toEqual([-1]);
    expect(r.back).toEqual([-1, 0.5, -0.5, 0]);
  });
  it("2 bits rounds half to even", () => {
    // scale 1: q = rne([0, 0.5, 1.5, 2.5, 3]) = [0, 0, 2, 2, 3] → 2<<4 | 2<<6 | 3<<8 = 928
    const r = quant([0, 0.5, 1.5, 2.5, 3], 2);
    expect(r.packed).toEqual([928]);
    expect(r.back).toEqual([0, 0, 2, 2, 3]);
  });
  it("3 bits: values straddle a word boundary", () => {
    // scale 1, q = x; q10 = 5 = 0b101 occupies bits 30..32: bits 30 (=1), 31 (=0) in word 0 and bit 32 (=1) in word 1
    const x = [0, 7, 1, 2, 3, 4, 5, 6, 7, 1, 5];
    const r = quant(x, 3);
    // word 0 = 7<<3 | 1<<6 | 2<<9 | 3<<12 | 4<<15 | 5<<18 | 6<<21 | 7<<24 | 1<<27 | 1<<30
    const w0 = 56 + 64 + 1024 + 12288 + 131072 + 1310720 + 12582912 + 117440512 + 134217728 + 1073741824;
    expect(w0).toBe(1339438200);
    expect(r.packed).toEqual([w0, 1]);
    expect(r.shapes[0]).toEqual([2]);
    expect(r.back).toEqual(x);
  });
  it("4 bits: nibbles in little-endian order", () => {
    const x = [0, 15, 1, 2, 3, 4, 5, 6, 7];
    const r = quant(x, 4);
    expect(r.packed).toEqual([0x654321f0, 7]);
    expect(r.back).toEqual(x);
  });
  it("8 bits: bytes in little-endian order", () => {
    const x = [0, 255, 128, 1, 2];
    const r = quant(x, 8);
    expect(r.packed).toEqual([0x0180ff00, 2]);
    expect(r.back).toEqual(x);
  });
  it("round trip error is at most half a step for every bit width", () => {
    const x = [0.3, -1.7, 2.2, 0.05, -0.9, 1.1, 0.77];
    for (const bits of [2, 3, 4, 8]) {
      const r = quant(x, bits);
      const s = r.scale[0]!;
      expect(s).toBe(Math.fround((Math.fround(2.2) - Math.fround(-1.7)) / (2 ** bits - 1)));
      expect(r.zero).toEqual([Math.fround(-1.7)]);
      r.back.forEach((v, i) => expect(Math.abs(v - Math.fround(x[i]!)), `bits ${bits} element ${i}`).toBeLessThanOrEqual(s / 2 + 1e-6));
    }
  });
  it("per-token rows and a constant row (scale 0 → q 0)", () => {
    const r = quant([1, 2, 3, 4, 7, 7, 7, 7], 2, [2, 4]);
    expect(r.scale).toEqual(fr([1, 0]));
    expect(r.zero).toEqual([1, 7]);
    // row 0: q = [0, 1, 2, 3] → 0 | 1<<2 | 2<<4 | 3<<6 = 228; row 1: q = 0
    expect(r.packed).toEqual([228, 0]);
    expect(r.back).toEqual([1, 2, 3, 4, 7, 7, 7, 7]);
  });
  it("per-channel (axis -2) groups run over tokens", () => {
    // x [2 tokens, 2 channels] = [[0, 10], [4, 20]]: channel 0 in [0, 4], channel 1 in [10, 20]
    const r = quant([0, 10, 4, 20], 8, [2, 2], -2);
    expect(r.scale).toEqual(fr([4 / 255, 10 / 255]));
    expect(r.zero).toEqual([0, 10]);
    expect(r.shapes[1]).toEqual([2]);
    // token 0: q = [0, 0]; token 1: q = [255, 255] → 255 | 255<<8
    expect(r.packed).toEqual([0, 65535]);
    expect(close(r.back, [0, 10, 4, 20], 1e-6)).toBe(true);
  });
  it("dequantize of hand-made words into f16", () => {
    // 4-bit q = [1, 2, 3] in one word = 0x321; scale 0.5, zero -1 → [-0.5, 0, 0.5]
    const r = run((b) => b.dequantize(b.input("p", "u32", [1]), b.input("s", "f32", []), b.input("z", "f32", []), 4, 3, -1, "f16"), {
      p: t("u32", [1], [0x321]), s: f32([], [0.5]), z: f32([], [-1]),
    });
    expect(r.outputs[0]!.dtype).toBe("f16");
    expect(vals(r.outputs[0]!)).toEqual([-0.5, 0, 0.5]);
  });
});
