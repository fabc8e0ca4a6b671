/** Compile-time folding: ints (possibly symbolic dims), floats, bools and params fold before any IR is built. */
import { describe, expect, it } from "vitest";
import { codes, errors, inType, ir, ok, outType } from "./helpers.ts";

describe("integer arithmetic", () => {
  it("folds + - * / % ** with floored division and modulo", () => {
    const { graph } = ok(`graph g(x: f32[N]) -> tensor {
      return zeros([-7 / 2 + 10, 7 % -3 + 5, 2 ** 3, 7 / 2, -7 % 3, 1 + 2 * 3 - 4])
    }`);
    // -7/2 = -4, 7 % -3 = -2, -7 % 3 = 2 (Python semantics)
    expect(outType(graph)).toBe("f32[6, 3, 8, 3, 2, 3]");
  });

  it("a negative power of an int is a float", () => {
    expect(ir(`graph g(x: f32[N]) -> f32[N] { return x * 2 ** -1 }`)).toContain("const 0.5 : f32[]");
  });

  it("ceil(a / b) and floor(a / b) on ints are exact ceiling and floor division", () => {
    const src = `param N: int = 7
    graph g(x: f32[B]) -> tensor { return zeros([ceil(N / 2), floor(N / 2), ceil(-N / 2) + 5, floor(-N / 2) + 5, ceil(8 / 2)]) }`;
    // ceil(-3.5) = -3, floor(-3.5) = -4
    expect(outType(ok(src).graph)).toBe("f32[4, 3, 2, 1, 4]");
    expect(outType(ok(src, { defines: { N: 9 } }).graph)).toBe("f32[5, 4, 1, 0, 4]");
  });

  it("ceil(N / 2) on a symbolic dim is (N + 1) / 2, matching the length of x[::2]", () => {
    const { graph } = ok(`graph g(x: f32[N]) -> (f32[ceil(N / 2)], f32[(N + 1) / 2], f32[floor(N / 2)]) {
      return x[::2], x[::2], zeros([floor(N / 2)])
    }`);
    expect(outType(graph, 0)).toBe("f32[((N + 1) / 2)]");
    expect(outType(graph, 2)).toBe("f32[(N / 2)]");
  });

  it("min and max of dims fold symbolically; equal operands simplify", () => {
    const { graph } = ok(`param r: int = 3
    graph g(x: f32[N, C]) -> tensor { return zeros([max(0, N - r), min(C, C), max(2, 5), min(N, 4)]) }`);
    expect(outType(graph)).toBe("f32[max(0, N - 3), C, 5, min(N, 4)]");
  });

  it("dim arithmetic in input types is canonical (N - r + r is N)", () => {
    const { graph } = ok(`param r: int = 2
    graph g(x: f32[B, N], y: f32[B, N - r + r], z: f32[2 * B + N - B - B]) -> f32[B, N] { return x + y + z }`);
    expect(inType(graph, "y")).toBe("f32[B, N]");
    expect(inType(graph, "z")).toBe("f32[N]");
  });

  it("division by a compile-time zero is reported", () => {
    expect(codes(`graph g(x: f32[N]) -> tensor { return zeros([N / 0]) }`)).toEqual(["ATTN3020"]);
    expect(codes(`graph g(x: f32[N]) -> tensor { return x * (1 % 0) }`)).toEqual(["ATTN3020"]);
  });

  it("a negative dim is reported, wherever a shape is given", () => {
    expect(codes(`graph g(x: f32[N]) -> tensor { return zeros([2 - 5]) }`)).toEqual(["ATTN3026"]);
    expect(ir(`graph g(x: f32[N]) -> tensor { return ceil(-7 / 2) }`)).toContain("const -3 : i32[]");
    expect(codes(`graph g(x: f32[N]) -> tensor { return arange(ceil(-7 / 2)) }`)).toEqual(["ATTN3026"]);
    expect(codes(`graph g(x: f32[6]) -> tensor { return reshape(x, [-2, -3]) }`)).toEqual(["ATTN3026"]);
    expect(codes(`graph g(x: f32[N]) -> tensor { return broadcast_to(x, [-1, N]) }`)).toEqual(["ATTN3026"]);
    expect(codes(`graph g(x: f32[N, 1 - 2]) -> tensor { return x }`)).toEqual(["ATTN3026"]);
  });
});

describe("floats and conversions", () => {
  it("1 / sqrt(64) folds to 0.125 and becomes a weak literal of the tensor dtype", () => {
    const text = ir(`graph g(x: f16[N]) -> f16[N] { return x * (1 / sqrt(64)) }`);
    expect(text).toContain("const 0.125 : f16[]");
    expect(text).not.toContain("sqrt");
  });

  it("1 / sqrt(D) folds when D is a constant (a param used as a dim)", () => {
    const text = ir(`param D: int = 16
    graph g(q: f32[N, D]) -> f32[N, D] { return q * (1 / sqrt(D)) }`);
    expect(text).toContain("const 0.25 : f32[]");
    expect(ir(`param D: int = 16
    graph g(q: f32[N, D]) -> f32[N, D] { return q * (1 / sqrt(D)) }`, { defines: { D: 64 } })).toContain("const 0.125 : f32[]");
  });

  it("transcendental functions, pow, atan2, min/max fold on numbers", () => {
    const text = ir(`graph g(x: f32[N]) -> f32[N] { return x * (exp(0.0) + pow(2, 0.5) ** 2 + max(1.5, -1) + atan2(0, 1)) }`);
    expect(text).toMatch(/const 4\.5\d* : f32\[\]/);
  });

  it("int(), float(), floor/ceil/round of floats", () => {
    const { graph } = ok(`graph g(x: f32[N]) -> tensor { return zeros([int(2.7), int(-2.7) + 3, floor(2.5), ceil(2.1), round(2.5), round(3.5)]) }`);
    expect(outType(graph)).toBe("f32[2, 1, 2, 3, 2, 4]");
  });

  it("float(3) is a float: with an int tensor it gives f32, with f16 it stays f16", () => {
    const { graph } = ok(`graph g(i: i32[N], h: f16[N]) -> (f32[N], f16[N]) { return i * float(3), h * float(3) }`);
    expect(outType(graph, 0)).toBe("f32[N]");
    expect(outType(graph, 1)).toBe("f16[N]");
  });

  it("floor of inf or nan stays a float (no crash)", () => {
    expect(ir(`graph g(x: f32[N]) -> f32[N] { return x * floor(inf) }`)).toContain("const inf : f32[]");
    expect(ir(`graph g(x: f32[N]) -> f32[N] { return x + ceil(nan) }`)).toContain("const nan : f32[]");
  });

  it("-inf, inf and nan literals", () => {
    const text = ir(`graph g(x: f32[N]) -> (f32[N], f32[N]) { return max(x, -inf), min(x, inf) }`);
    expect(text).toContain("const -inf : f32[]");
    expect(text).toContain("const inf : f32[]");
  });
});

describe("bools and comparisons", () => {
  it("comparisons of ints and dims fold to bools that select statically", () => {
    const text = ir(`param r: int = 3
    graph g(x: f32[N]) -> f32[N] {
      let a = r > 2 && N == N && !(N != N) ? x * 2 : cast(x, i32)
      let b = 2.5 < 1 || false ? cast(x, i32) : a
      return b
    }`);
    expect(text).toContain("mul");
    expect(text).not.toContain("cast");
  });

  it("N - r compared with N - r folds even when symbolic", () => {
    const text = ir(`param r: int = 3
    graph g(x: f32[N]) -> f32[N] { return N - r + 1 > N - r ? x : cast(x, i32) }`);
    expect(text).not.toContain("cast");
  });
});

describe("params", () => {
  it("params are compile-time values in dims, shapes and literals; -D overrides them", () => {
    const src = `param r: int = 2
    param s: float = 0.5
    graph g(x: f32[B, N], y: f32[B, N - r]) -> f32[B, N - r] { return y * s }`;
    const a = ok(src).graph;
    expect(inType(a, "y")).toBe("f32[B, N - 2]");
    const b = ok(src, { defines: { r: 5, s: 0.25 } });
    expect(inType(b.graph, "y")).toBe("f32[B, N - 5]");
    expect(b.text).toContain("const 0.25 : f32[]");
  });

  it("a float param given an int -D value is the float", () => {
    expect(ir(`param s: float = 0.5
    graph g(i: i32[N]) -> f32[N] { return i * s }`, { defines: { s: 2 } })).toContain("const 2 : f32[]");
  });

  it("params may be defined by expressions over earlier params", () => {
    const { graph } = ok(`param h: int = 4
    param d: int = 16
    param c: int = h * d
    graph g(x: f32[N, c]) -> tensor { return x }`);
    expect(inType(graph, "x")).toBe("f32[N, 64]");
  });

  it("a param of the wrong kind, or an unknown -D name, is reported", () => {
    expect(codes(`param r: int = 0.5
    graph g(x: f32[N]) -> f32[N] { return x }`)).toEqual(["ATTN2012"]);
    expect(codes(`param flag: bool = true
    graph g(x: f32[N]) -> f32[N] { return x }`, { defines: { flag: 3 } })).toEqual(["ATTN2012"]);
    expect(errors(`graph g(x: f32[N]) -> f32[N] { return x }`, { defines: { nope: 1 } })).toEqual(["ATTN2011 Unknown param 'nope' (given with -D)."]);
  });
});
