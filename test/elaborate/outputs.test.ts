/** Output types: dtypes and dim expressions of declared results are checked against what is built. */
import { describe, expect, it } from "vitest";
import { codes, compile, errors, errorsOf, ok, outType } from "./helpers.ts";

describe("declared result types", () => {
  it("accept dim expressions equal to the inferred shapes", () => {
    const { graph } = ok(`param r: int = 2
    graph g(x: f32[B, N, C], y: f32[B, M, C]) -> (f32[B, N + M, C], f32[B, 2 * N, C], f32[B, N - r, C], f32[(N + 1) / 2], f32[B, ceil(N / 2), C]) {
      return concat([x, y], axis: 1), concat([x, x], axis: 1), zeros([B, N - r, C]), x[0, :, 0][::2], x[:, ::2]
    }`);
    expect(outType(graph, 1)).toBe("f32[B, 2*N, C]");
    expect(outType(graph, 2)).toBe("f32[B, N - 2, C]");
  });

  it("are equal up to algebra (N + M vs M + N, 2 * N vs N + N)", () => {
    expect(ok(`graph g(x: f32[N], y: f32[M]) -> (f32[M + N], f32[N + N]) { return concat([x, y]), concat([x, x]) }`).graph.outputs.length).toBe(2);
  });

  it("a slice with symbolic bounds is clamped at zero (Python rules): declare max(0, ...)", () => {
    const src = (t: string) => `param r: int = 2
    graph g(x: f32[B, N]) -> f32[B, ${t}] { return x[:, r:] }`;
    expect(ok(src("max(0, N - r)")).graph.outputs[0]!.shape[1]!.toString()).toBe("max(0, N - 2)");
    expect(codes(src("N - r"))).toEqual(["ATTN3007"]);
  });

  it("report a shape mismatch at the returned value", () => {
    const r = compile(`graph g(x: f32[B, N]) -> (f32[B, N], f32[N, B]) {
      return x, x
    }`);
    expect(errorsOf(r)).toEqual(["ATTN3007 Returned shape [B, N] does not match the declared [N, B]."]);
    const d = r.diagnostics[0]!;
    const at = d.span!.file.position(d.span!.start);
    expect([at.line, at.column]).toEqual([2, 17]);
  });

  it("report a dtype mismatch, a count mismatch and an unbound dim", () => {
    expect(errors(`graph g(x: f32[B, N]) -> (f32[B, N], f16[B, N]) { return x, x }`)).toEqual([
      "ATTN3008 Returned dtype f32 does not match the declared f16.",
    ]);
    expect(codes(`graph g(x: f32[B, N]) -> f32[B, N] { return x, x }`)).toEqual(["ATTN3019"]);
    expect(codes(`graph g(x: f32[B, N]) -> (f32[B, N], f32[B, N]) { return x }`)).toEqual(["ATTN3019"]);
    expect(codes(`graph g(x: f32[B, N]) -> f32[B, K] { return x }`)).toEqual(["ATTN3006"]);
  });

  it("`return (a, b)` against two declared types is the same as `return a, b`", () => {
    expect(ok(`graph g(x: f32[N]) -> (f32[N], f32[N]) { return (x, x * 2) }`).graph.outputs.length).toBe(2);
  });

  it("float[...] accepts any float dtype, tensor[...] any dtype, tensor any shape; f32 means a scalar", () => {
    const { graph } = ok(`graph g(x: f16[B, N]) -> (float[B, N], tensor[B, N], tensor, f16) { return x, x > 0, x, sum(x) }`);
    expect(outType(graph, 3)).toBe("f16[]");
    expect(codes(`graph g(x: i32[B, N]) -> float[B, N] { return x }`)).toEqual(["ATTN3008"]);
    expect(errors(`graph g(x: f32[B, N]) -> f32 { return x }`)).toEqual(["ATTN3007 Returned shape [B, N] does not match the declared []."]);
    expect(ok(`graph g(x: f32[B, N]) -> f32[] { return sum(x) }`).graph.outputs[0]!.shape).toEqual([]);
  });

  it("returning a non-tensor is reported", () => {
    // a returned tuple counts as its items
    expect(codes(`graph g(x: f32[N]) -> tensor { return topk(x, 1) }`)).toEqual(["ATTN3019"]);
    expect(ok(`graph g(x: f32[N]) -> (tensor, tensor) { return topk(x, 1) }`).graph.outputs.length).toBe(2);
    expect(codes(`graph g(x: f32[N]) -> tensor { return exp }`)).toEqual(["ATTN2022"]);
  });

  it("a compile-time number returned becomes a scalar constant", () => {
    const { graph } = ok(`graph g(x: f32[N]) -> (i32[], f32[], i32[]) { return 3, 0.5, N }`);
    expect(graph.outputs.map((o) => `${o.op}:${o.dtype}`)).toEqual(["const:i32", "const:f32", "compute:i32"]);
  });
});
