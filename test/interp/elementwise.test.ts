import { describe, expect, it } from "vitest";
import { UNARY_FNS } from "../../compiler/graph/ops.ts";
import { bool, f32, fr, i32, run, run1, t, vals } from "./helpers.ts";

const NaN_ = NaN;

describe("sources", () => {
  it("const holds its values rounded to the dtype", () => {
    expect(run1((b) => b.constant([0.1, 2, -3], "f32", [3]))).toEqual(fr([0.1, 2, -3]));
    expect(run1((b) => b.constant([1, 2, 3, 4, 5, 6], "i32", [2, 3]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(run1((b) => b.scalar(true))).toEqual([1]);
    const r = run((b) => b.constant(1.5, "f32"));
    expect(r.outputs[0]!.shape).toEqual([]);
  });
  it("iota counts along its axis", () => {
    expect(run1((b) => b.iota([2, 3], 1))).toEqual([0, 1, 2, 0, 1, 2]);
    expect(run1((b) => b.iota([2, 3], 0))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(run1((b) => b.iota([0, 3], 0))).toEqual([]);
  });
});

describe("unary", () => {
  const xs = [-2.5, -1, -0.5, 0, 0.25, 1, 2.5];
  const unary = (fn: (typeof UNARY_FNS)[number], x = xs) =>
    run1((b) => b.unary(fn, b.input("x", "f32", [x.length])), { x: f32([x.length], x) });
  it("transcendental functions are the double result rounded to f32", () => {
    const table: [(typeof UNARY_FNS)[number], (x: number) => number][] = [
      ["exp", Math.exp], ["log", Math.log], ["sqrt", Math.sqrt], ["rsqrt", (x) => 1 / Math.sqrt(x)], ["sin", Math.sin],
      ["cos", Math.cos], ["tan", Math.tan], ["asin", Math.asin], ["acos", Math.acos], ["atan", Math.atan], ["tanh", Math.tanh],
      ["sigmoid", (x) => 1 / (1 + Math.exp(-x))], ["recip", (x) => 1 / x], ["log1p", Math.log1p], ["expm1", Math.expm1],
      ["neg", (x) => -x], ["abs", Math.abs], ["floor", Math.floor], ["ceil", Math.ceil],
    ];
    for (const [fn, f] of table) expect(unary(fn), fn).toEqual(fr(xs.map((x) => f(Math.fround(x)))));
  });
  it("gelu and erf", () => {
    // gelu(1) = Φ(1) = 0.841344746068543, gelu(-1) = -0.158655253931457, erf(1) = 0.842700792949715
    expect(unary("gelu", [1, -1, 0])).toEqual(fr([0.8413447460685429, -0.15865525393145705, 0]));
    expect(unary("erf", [1, -0.5, 0])).toEqual(fr([0.8427007929497149, -0.5204998778130465, 0]));
  });
  it("round is half-to-even, sign(0) = 0, relu, isnan", () => {
    expect(unary("round", [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6])).toEqual([-2, -2, -0, 0, 2, 2, 3]);
    expect(unary("sign", [-3, 0, 2, NaN_])).toEqual([-1, 0, 1, NaN_]);
    expect(unary("relu", [-3, 0, 2, NaN_])).toEqual([0, 0, 2, NaN_]);
    expect(run1((b) => b.unary("isnan", b.input("x", "f32", [3])), { x: f32([3], [NaN_, 1, Infinity]) })).toEqual([1, 0, 0]);
  });
  it("every unary function is covered", () => {
    const covered = ["exp", "log", "sqrt", "rsqrt", "sin", "cos", "tan", "asin", "acos", "atan", "tanh", "sigmoid", "recip", "log1p", "expm1",
      "neg", "abs", "floor", "ceil", "gelu", "erf", "round", "sign", "relu", "isnan", "not"];
    expect(new Set(covered)).toEqual(new Set(UNARY_FNS));
  });
  it("integer neg/abs wrap; not is bitwise on ints and logical on bool", () => {
    const xi = i32([4], [-2147483648, -5, 0, 7]);
    expect(run1((b) => b.unary("neg", b.input("x", "i32", [4])), { x: xi })).toEqual([-2147483648, 5, 0, -7]);
    expect(run1((b) => b.unary("abs", b.input("x", "i32", [4])), { x: xi })).toEqual([-2147483648, 5, 0, 7]);
    expect(run1((b) => b.unary("not", b.input("x", "i32", [4])), { x: xi })).toEqual([2147483647, 4, -1, -8]);
    expect(run1((b) => b.unary("sign", b.input("x", "i32", [4])), { x: xi })).toEqual([-1, -1, 0, 1]);
    expect(run1((b) => b.unary("neg", b.input("x", "u32", [2])), { x: t("u32", [2], [5, 0]) })).toEqual([4294967291, 0]);
    expect(run1((b) => b.unary("not", b.input("x", "u32", [1])), { x: t("u32", [1], [0]) })).toEqual([4294967295]);
    expect(run1((b) => b.unary("not", b.input("x", "bool", [2])), { x: bool([2], [true, false]) })).toEqual([0, 1]);
    // float-only functions on ints compute in f32
    expect(run1((b) => b.unary("sqrt", b.input("x", "i32", [1])), { x: i32([1], [2]) })).toEqual([Math.fround(Math.SQRT2)]);
  });
  it("f16 and bf16 round the result", () => {
    // sqrt(2) in f16 = 1.4140625 (0x3DA8); in bf16 = 1.4140625 too (0x3FB5)
    expect(run1((b) => b.sqrt(b.input("x", "f16", [1])), { x: t("f16", [1], [2]) })).toEqual([1.4140625]);
    expect(run1((b) => b.sqrt(b.input("x", "bf16", [1])), { x: t("bf16", [1], [2]) })).toEqual([1.4140625]);
    // exp(1) in f16 = 2.71875 (0x4170), in bf16 = 2.71875 (0x402E)
    expect(run1((b) => b.exp(b.input("x", "f16", [1])), { x: t("f16", [1], [1]) })).toEqual([2.71875]);
    expect(run1((b) => b.exp(b.input("x", "bf16", [1])), { x: t("bf16", [1], [1]) })).toEqual([2.71875]);
  });
});

describe("binary", () => {
  const bin = (fn: Parameters<import("../../compiler/graph/builder.ts").GraphBuilder["binary"]>[0], dt: "f32" | "i32" | "u32" | "bool", a: number[], c: number[]) =>
    run1((b) => b.binary(fn, b.input("a", dt, [a.length]), b.input("b", dt, [c.length])), { a: t(dt, [a.length], a), b: t(dt, [c.length], c) });

  it("float arithmetic", () => {
    expect(bin("add", "f32", [1, 0.1], [2, 0.2])).toEqual(fr([3, Math.fround(0.1) + Math.fround(0.2)]));
    expect(bin("sub", "f32", [1], [3])).toEqual([-2]);
    expect(bin("mul", "f32", [1.5, -2], [4, 0.25])).toEqual([6, -0.5]);
    expect(bin("div", "f32", [1, 1, -1, 0], [4, 0, 0, 0])).toEqual([0.25, Infinity, -Infinity, NaN_]);
    expect(bin("pow", "f32", [2, 1, -8, 4], [10, NaN_, 0.5, 0.5])).toEqual([1024, 1, NaN_, 2]);
    expect(bin("atan2", "f32", [1, 1], [1, -1])).toEqual(fr([Math.PI / 4, (3 * Math.PI) / 4]));
  });
  it("float mod is floored (x - floor(x/y)*y)", () => {
    expect(bin("mod", "f32", [5.5, -5.5, 5.5, -5.5, 1], [2, 2, -2, -2, 0])).toEqual([1.5, 0.5, -0.5, -1.5, NaN_]);
  });
  it("integer div and mod are floored; division by zero gives 0", () => {
    expect(bin("div", "i32", [7, -7, 7, -7, 5, -5, -2147483648], [2, 2, -2, -2, 0, 0, -1])).toEqual([3, -4, -4, 3, 0, 0, -2147483648]);
    expect(bin("mod", "i32", [7, -7, 7, -7, 5, -2147483648, 6], [2, 2, -2, -2, 0, -1, 3])).toEqual([1, 1, -1, -1, 0, 0, 0]);
    expect(bin("div", "u32", [4294967295, 7], [2, 0])).toEqual([2147483647, 0]);
    expect(bin("mod", "u32", [4294967295, 7], [10, 0])).toEqual([5, 0]);
  });
  it("integer add/sub/mul wrap", () => {
    expect(bin("add", "i32", [2147483647], [1])).toEqual([-2147483648]);
    expect(bin("sub", "i32", [-2147483648], [1])).toEqual([2147483647]);
    // 65536² = 2^32 → 0; 46341² = 2147488281 → 2147488281 - 2^32
    expect(bin("mul", "i32", [65536, 46341, -3], [65536, 46341, 5])).toEqual([0, -2147479015, -15]);
    expect(bin("sub", "u32", [0], [1])).toEqual([4294967295]);
    expect(bin("mul", "u32", [4294967295, 65536], [2, 65537])).toEqual([4294967294, 65536]);
  });
  it("min/max propagate NaN", () => {
    expect(bin("min", "f32", [1, NaN_, 3], [NaN_, 2, -1])).toEqual([NaN_, NaN_, -1]);
    expect(bin("max", "f32", [1, NaN_, 3], [NaN_, 2, -1])).toEqual([NaN_, NaN_, 3]);
    expect(bin("max", "i32", [-4, 9], [3, 2])).toEqual([3, 9]);
  });
  it("comparisons are false on NaN except ne", () => {
    const a = [1, NaN_, 2, 2];
    const c = [NaN_, NaN_, 2, 3];
    expect(bin("eq", "f32", a, c)).toEqual([0, 0, 1, 0]);
    expect(bin("ne", "f32", a, c)).toEqual([1, 1, 0, 1]);
    expect(bin("lt", "f32", a, c)).toEqual([0, 0, 0, 1]);
    expect(bin("le", "f32", a, c)).toEqual([0, 0, 1, 1]);
    expect(bin("gt", "f32", a, c)).toEqual([0, 0, 0, 0]);
    expect(bin("ge", "f32", a, c)).toEqual([0, 0, 1, 0]);
  });
  it("logic on bool, bitwise on ints", () => {
    expect(bin("and", "bool", [1, 1, 0, 0], [1, 0, 1, 0])).toEqual([1, 0, 0, 0]);
    expect(bin("or", "bool", [1, 1, 0, 0], [1, 0, 1, 0])).toEqual([1, 1, 1, 0]);
    expect(bin("xor", "bool", [1, 1, 0, 0], [1, 0, 1, 0])).toEqual([0, 1, 1, 0]);
    expect(bin("and", "i32", [12, -1], [10, 5])).toEqual([8, 5]);
    expect(bin("or", "i32", [12], [3])).toEqual([15]);
    expect(bin("xor", "u32", [4294967295], [1])).toEqual([4294967294]);
    expect(bin("and", "u32", [4294967295], [2147483648])).toEqual([2147483648]);
  });
  it("broadcasts on trailing axes", () => {
    const r = run((b) => b.add(b.input("a", "f32", [2, 1]), b.input("b", "f32", [3])), { a: f32([2, 1], [10, 20]), b: f32([3], [1, 2, 3]) });
    expect(r.outputs[0]!.shape).toEqual([2, 3]);
    expect(vals(r.outputs[0]!)).toEqual([11, 12, 13, 21, 22, 23]);
  });
  it("f16/bf16 results round once, to nearest even", () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10 in f16: ties to even → 1
    const f16add = (a: number, c: number) => run1((b) => b.add(b.input("a", "f16", [1]), b.input("b", "f16", [1])), { a: t("f16", [1], [a]), b: t("f16", [1], [c]) })[0];
    expect(f16add(1, 2 ** -11)).toBe(1);
    expect(f16add(1 + 2 ** -10, 2 ** -11)).toBe(1 + 2 ** -9); // halfway, odd below → rounds up
    expect(f16add(1, 2 ** -11 + 2 ** -20)).toBe(1 + 2 ** -10); // above halfway
    expect(f16add(65504, 16)).toBe(Infinity); // 65520 overflows
    expect(f16add(65504, 8)).toBe(65504);
    // bf16 has 8 significant bits: 256 + 1 is a tie → 256; 256 + 3 → 260
    const bfadd = (a: number, c: number) => run1((b) => b.add(b.input("a", "bf16", [1]), b.input("b", "bf16", [1])), { a: t("bf16", [1], [a]), b: t("bf16", [1], [c]) })[0];
    expect(bfadd(256, 1)).toBe(256);
    expect(bfadd(256, 3)).toBe(260);
    expect(bfadd(1, 2 ** -8)).toBe(1);
  });
  it("mixed f16 + f32 computes in f32", () => {
    const r = run((b) => b.add(b.input("a", "f16", [1]), b.input("b", "f32", [1])), { a: t("f16", [1], [1]), b: f32([1], [2 ** -11]) });
    expect(r.outputs[0]!.dtype).toBe("f32");
    expect(vals(r.outputs[0]!)).toEqual([1 + 2 ** -11]);
  });
});

describe("where and cast", () => {
  it("where selects with broadcasting", () => {
    const r = run1((b) => b.where(b.input("c", "bool", [2, 1]), b.input("x", "f32", [3]), -1), {
      c: bool([2, 1], [true, false]),
      x: f32([3], [1, 2, 3]),
    });
    expect(r).toEqual([1, 2, 3, -1, -1, -1]);
  });
  it("float → int truncates toward zero, NaN → 0, saturates", () => {
    const x = f32([7], [2.7, -2.7, NaN_, 1e10, -1e10, -0.5, Infinity]);
    expect(run1((b) => b.cast(b.input("x", "f32", [7]), "i32"), { x })).toEqual([2, -2, 0, 2147483647, -2147483648, 0, 2147483647]);
    expect(run1((b) => b.cast(b.input("x", "f32", [7]), "u32"), { x })).toEqual([2, 0, 0, 4294967295, 0, 0, 4294967295]);
  });
  it("int ↔ int reinterprets, to bool is x ≠ 0, bool is 0/1", () => {
    expect(run1((b) => b.cast(b.input("x", "i32", [2]), "u32"), { x: i32([2], [-1, 5]) })).toEqual([4294967295, 5]);
    expect(run1((b) => b.cast(b.input("x", "u32", [2]), "i32"), { x: t("u32", [2], [4294967295, 2147483648]) })).toEqual([-1, -2147483648]);
    expect(run1((b) => b.cast(b.input("x", "f32", [4]), "bool"), { x: f32([4], [0, -0, 0.5, NaN_]) })).toEqual([0, 0, 1, 1]);
    expect(run1((b) => b.cast(b.input("x", "bool", [2]), "f32"), { x: bool([2], [1, 0]) })).toEqual([1, 0]);
  });
  it("casts to narrow floats round to nearest even", () => {
    // f16(0.1) = 0.0999755859375 (0x2E66); bf16(0.1) = 0.10009765625 (0x3DCD)
    expect(run1((b) => b.cast(b.input("x", "f32", [1]), "f16"), { x: f32([1], [0.1]) })).toEqual([0.0999755859375]);
    expect(run1((b) => b.cast(b.input("x", "f32", [1]), "bf16"), { x: f32([1], [0.1]) })).toEqual([0.10009765625]);
    expect(run1((b) => b.cast(b.input("x", "i32", [1]), "f32"), { x: i32([1], [16777217]) })).toEqual([16777216]);
    expect(run1((b) => b.cast(b.input("x", "f32", [1]), "f16"), { x: f32([1], [70000]) })).toEqual([Infinity]);
  });
});
