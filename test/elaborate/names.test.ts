/** Names: duplicates and shadowing, tuple destructuring, tuple indexing and member access. */
import { describe, expect, it } from "vitest";
import { codes, compile, errors, errorsOf, ir, ok, outType } from "./helpers.ts";

describe("duplicates and shadowing", () => {
  it("a second let of a name in one block is an error, and the first binding stays in force", () => {
    const r = compile(`graph g(x: f32[N]) -> f32[N] {
      let y = x * 2
      let y = cast(x, i32)
      return y
    }`);
    expect(errorsOf(r)).toEqual(["ATTN2002 Duplicate name 'y'."]);
    // no cascade: the return still type-checks against the first y
  });

  it("a let cannot shadow a graph input; an input cannot share a dim's name", () => {
    expect(errors(`graph g(x: f32[N]) -> tensor { let x = 1
      return x }`)).toEqual(["ATTN2002 Duplicate name 'x'."]);
    expect(codes(`graph g(x: f32[N], x: f32[N]) -> tensor { return x }`)).toEqual(["ATTN2002"]);
    expect(codes(`graph g(x: f32[N], N: f32[N]) -> tensor { return x }`)).toEqual(["ATTN2002"]);
    expect(codes(`graph g(N: f32[N]) -> tensor { return N }`)).toEqual(["ATTN2002"]);
  });

  it("duplicates in destructuring and in index-notation targets", () => {
    expect(codes(`graph g(x: f32[N]) -> tensor { let (a, a) = split(x, [1, N - 1], axis: 0)
      return a }`)).toEqual(["ATTN2002"]);
    expect(codes(`graph g(x: f32[N]) -> tensor { let z[i, i] = x[i]
      return z }`)).toEqual(["ATTN2002"]);
  });

  it("a lambda parameter or an index variable may reuse an outer name (it is another block)", () => {
    expect(ir(`graph g(x: f32[N]) -> f32[N] { return iterate(2, x, (x) => x * 2) }`)).toContain("loop_state");
    expect(ir(`graph g(x: f32[N], i: f32[N]) -> f32[N] { let z[i] = x[i] * 2
      return z }`)).toContain("compute %x");
  });

  it("a let may shadow a builtin name", () => {
    expect(ir(`graph g(x: f32[N]) -> f32[N] { let exp = x * 2
      return exp + 1 }`)).not.toContain("exp ");
  });

  it("unknown names are reported once per use", () => {
    expect(errors(`graph g(x: f32[N]) -> f32[N] { return x + y * z }`)).toEqual([
      "ATTN2001 Cannot find name 'y'.",
      "ATTN2001 Cannot find name 'z'.",
    ]);
  });

  it("a name bound after an error is poisoned: its uses report nothing more", () => {
    expect(errors(`graph g(x: f32[N]) -> f32[N] { let y = x @ x @ x
      let z = y + 1
      return z * y }`)).toEqual([expect.stringMatching(/^ATTN3003/)]);
  });
});

describe("tuples", () => {
  it("destructure builtin tuples, tuple literals and lists", () => {
    const { graph } = ok(`graph g(x: f32[N, 8]) -> (f32[N, 4], f32[N, 4], f32[N, 8], i32[N, 2]) {
      let (a, b) = split(x, 2)
      let (c, d) = (x, x * 2)
      let (e, f) = [topk(x, 2).values, topk(x, 2).indices]
      return a, b, d, f
    }`);
    expect(outType(graph, 3)).toBe("i32[N, 2]");
  });

  it("report an arity mismatch in either direction", () => {
    expect(errors(`graph g(x: f32[N]) -> tensor { let (a, b) = (x, x, x)
      return a }`)).toEqual(["ATTN2020 Cannot destructure 3 value(s) into 2 name(s)."]);
    expect(errors(`graph g(x: f32[N]) -> tensor { let (a, b, c) = topk(x, 1)
      return a }`)).toEqual(["ATTN2020 Cannot destructure 2 value(s) into 3 name(s)."]);
    expect(errors(`graph g(x: f32[N]) -> tensor { let (a, b) = x
      return a }`)).toEqual(["ATTN2020 Cannot destructure 1 value(s) into 2 name(s)."]);
  });

  it("index with constant (negative from the end) integers", () => {
    const a = ir(`graph g(x: f32[N, 9]) -> (f32[N, 3], f32[N, 3]) { let t = split(x, 3)
      return t[0], t[-1] }`);
    const b = ir(`graph g(x: f32[N, 9]) -> (f32[N, 3], f32[N, 3]) { let (p, q, r) = split(x, 3)
      return p, r }`);
    expect(a).toBe(b);
    expect(codes(`graph g(x: f32[N, 9]) -> tensor { let t = split(x, 3)
      return t[3] }`)).toEqual(["ATTN3036"]);
  });

  it("a tuple is not a tensor", () => {
    expect(codes(`graph g(x: f32[N]) -> tensor { return topk(x, 1) + 1 }`)).toEqual(["ATTN2022"]);
  });
});

describe("members", () => {
  it(".values/.indices of topk, .indices/.count of compact, .packed/.scale/.zero of quantize, .o/.lse of attention", () => {
    const { graph } = ok(`graph g(x: f32[B, N, 8], m: bool[B, N]) -> (f32[B, N, 2], i32[B, N, 2], i32[B, N], i32[B], u32[B, N, 1], f32[B, N], f32[B, N], f32[B, N, 8], f32[B, N]) {
      let t = topk(x, 2)
      let c = compact(m)
      let q = quantize(x, 4)
      let a = attention(x, x, x, returns: [lse])
      return t.values, t.indices, c.indices, c.count, q.packed, q.scale, q.zero, a.o, a.lse
    }`);
    expect(graph.outputs.length).toBe(9);
  });

  it("member access and destructuring give the same IR", () => {
    const a = ir(`graph g(x: f32[N, 8]) -> (f32[N, 3], i32[N, 3]) { let t = topk(x, 3, largest: false)
      return t.values, t.indices }`);
    const b = ir(`graph g(x: f32[N, 8]) -> (f32[N, 3], i32[N, 3]) { let (v, i) = topk(x, 3, largest: false)
      return v, i }`);
    expect(a).toBe(b);
  });

  it("unknown members are reported", () => {
    expect(errors(`graph g(x: f32[N], m: bool[N]) -> tensor {
      let t = topk(x, 2)
      let c = compact(m)
      return t.count + c.values + x.values
    }`)).toEqual(["ATTN2018 't' has no member 'count'.", "ATTN2018 'c' has no member 'values'.", "ATTN2018 'x' has no member 'values'."]);
    expect(codes(`graph g(x: f32[N, 4]) -> tensor { return split(x, 2).values }`)).toEqual(["ATTN2018"]);
  });
});
