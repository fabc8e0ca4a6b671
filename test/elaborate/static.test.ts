/** Static conditionals: a compile-time condition picks one branch and the other is never elaborated. */
import { describe, expect, it } from "vitest";
import { errors, ir, ok } from "./helpers.ts";

const TWO_PATHS = `param flag: bool = true
graph g(x: f32[N, C], w: f32[C, C]) -> f32[N, C] {
  let y = flag ? x @ w : x @ x     // x @ x is a type error (C vs N) unless N == C
  return y
}`;

describe("static ternary", () => {
  it("a bool param selects a branch; the other (a type error) is not evaluated", () => {
    const text = ir(TWO_PATHS);
    expect(text).toContain("matmul %x, %w");
  });

  it("-D flag=false selects the other branch, whose error is then reported", () => {
    expect(errors(TWO_PATHS, { defines: { flag: false } })).toEqual(["ATTN3002 Matrix product needs equal inner dims: [N, C] @ [N, C]."]);
  });

  it("names in the untaken branch are not resolved", () => {
    const text = ir(`param fast: bool = false
    graph g(x: f32[N]) -> f32[N] { return fast ? not_defined_anywhere(x) : exp(x) }`);
    expect(text).toContain("exp %x");
  });

  it("the untaken branch builds no nodes", () => {
    const { graph } = ok(`param flag: bool = true
    graph g(x: f32[N]) -> f32[N] { return flag ? x + 1 : softmax(x * 3) }`);
    expect(graph.cx.size).toBe(3); // input, const, add
  });

  it("conditions fold from int params and dims", () => {
    const src = `param k: int = 2
    graph g(x: f32[N, C]) -> f32[N, C] {
      let a = k > 1 ? x * 2 : cast(x, i32)
      let b = k % 2 == 0 && C == C ? a : x[0]
      return b
    }`;
    expect(ir(src)).not.toContain("cast");
    expect(errors(src, { defines: { k: 1 } })).toEqual([expect.stringMatching(/^ATTN3007 Returned shape \[C\]/)]);
  });

  it("a static ternary inside an index-notation body picks one body", () => {
    const src = `param transpose: bool = false
    graph g(x: f32[N, N]) -> f32[N, N] {
      let z[i, j] = transpose ? x[j, i] : x[i, j] * 2
      return z
    }`;
    expect(ir(src)).toContain("compute %x { $0[v0, v1] * 2.0 }");
    expect(ir(src, { defines: { transpose: true } })).toContain("compute %x { $0[v1, v0] }");
  });

  it("static choices between fns, including a fn whose body would fail", () => {
    const src = `param mode: int = 0
    fn a(x: f32[N]) -> f32[N] { return x + 1 }
    fn b(x: f32[N]) -> f32[N] { return x @ x }   // rank-0 result: a return type error
    graph g(x: f32[N]) -> f32[N] { return mode == 0 ? a(x) : b(x) }`;
    expect(ir(src)).toContain("add");
    expect(errors(src, { defines: { mode: 1 } })).toEqual([expect.stringMatching(/^ATTN3007/)]);
  });

  it("a tensor condition builds a where and evaluates both branches (errors in either are reported)", () => {
    expect(ir(`graph g(x: f32[N]) -> f32[N] { return x > 0 ? x : -x }`)).toMatch(/where %\d+, %x, %\d+/);
    expect(errors(`graph g(x: f32[N], w: f32[C, C]) -> f32[N] { return x > 0 ? x : x @ w }`)[0]).toMatch(/^ATTN3002/);
  });

  it("a symbolic comparison that cannot fold is a run-time condition", () => {
    const text = ir(`graph g(x: f32[N]) -> f32[N] { return N > 4 ? x : -x }`);
    expect(text).toContain("where");
    expect(text).toContain("dim(N)");
  });
});
