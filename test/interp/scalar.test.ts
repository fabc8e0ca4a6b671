import { describe, expect, it } from "vitest";
import { erf, erfc } from "../../compiler/graph/interp.ts";
import { castScalar, gelu, powC, roundHalfEven } from "../../compiler/graph/interp/scalar.ts";

/** Relative error, exact zero allowed. */
const rel = (a: number, b: number): number => (b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));

describe("erf / erfc", () => {
  // 40-digit references (mpmath), rounded to double.
  const ERF: [number, number][] = [
    [1e-10, 1.1283791670955126e-10], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [0.9, 0.7969082124228322],
    [1, 0.8427007929497149], [1.5, 0.9661051464753108], [2, 0.9953222650189527], [3, 0.9999779095030014],
    [4.5, 0.9999999998033839], [6, 1.0], [-0.75, -0.7111556336535151],
  ];
  const ERFC: [number, number][] = [
    [0.1, 0.8875370839817152], [0.6, 0.3961439091520741], [1, 0.15729920705028513], [2, 0.004677734981047266],
    [3, 2.209049699858544e-5], [5, 1.537459794428035e-12], [10, 2.088487583762545e-45], [20, 5.395865611607901e-176],
    [26, 5.663192408856143e-296], [-0.75, 1.7111556336535152],
  ];
  it("matches high-precision values to ~1e-15 relative", () => {
    for (const [x, want] of ERF) expect(rel(erf(x), want), `erf(${x})`).toBeLessThan(2e-15);
    for (const [x, want] of ERFC) expect(rel(erfc(x), want), `erfc(${x})`).toBeLessThan(2e-15);
  });
  it("is odd, saturates, and keeps special values", () => {
    expect(erf(-2)).toBe(-erf(2));
    expect(Object.is(erf(-0), -0)).toBe(true);
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erf(NaN)).toBeNaN();
    expect(erfc(NaN)).toBeNaN();
  });
  it("gelu is the exact erf form, accurate in the negative tail", () => {
    const GELU: [number, number][] = [
      [1, 0.8413447460685429], [-1, -0.15865525393145705], [-3, -0.0040496940948902835], [-5, -1.4332578593959695e-6],
      [0.5, 0.34573123063700656], [2, 1.9544997361036416],
    ];
    for (const [x, want] of GELU) expect(rel(gelu(x), want), `gelu(${x})`).toBeLessThan(3e-15);
    expect(gelu(0)).toBe(0);
    expect(gelu(-Infinity)).toBe(-0);
    expect(gelu(Infinity)).toBe(Infinity);
  });
});

describe("scalar helpers", () => {
  it("round half to even", () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.4999999999999996, 0.49999999999999994].map(roundHalfEven)).toEqual([-2, -2, -0, 0, 2, 2, 4, 2, 0]);
    expect(Object.is(roundHalfEven(-0.4), -0)).toBe(true);
  });
  it("pow follows C99 in the special cases", () => {
    expect(powC(1, NaN)).toBe(1);
    expect(powC(NaN, 0)).toBe(1);
    expect(powC(-1, Infinity)).toBe(1);
    expect(powC(-8, 1 / 3)).toBeNaN();
    expect(powC(2, 10)).toBe(1024);
  });
  it("casts", () => {
    expect(castScalar("f32", "i32", 2.7)).toBe(2);
    expect(castScalar("f32", "i32", -2.7)).toBe(-2);
    expect(castScalar("f32", "i32", NaN)).toBe(0);
    expect(castScalar("f32", "i32", 1e10)).toBe(2147483647);
    expect(castScalar("f32", "i32", -Infinity)).toBe(-2147483648);
    expect(castScalar("f32", "u32", -5)).toBe(0);
    expect(castScalar("i32", "u32", -1)).toBe(4294967295);
    expect(castScalar("u32", "i32", 4294967295)).toBe(-1);
    expect(castScalar("f32", "bool", NaN)).toBe(1);
  });
});
