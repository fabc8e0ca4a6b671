/** Lambdas as iterate steps: block bodies, tuple states, the iteration index, captures and errors. */
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret, randomInputs } from "../../compiler/graph/interp.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { codes, errors, ir, ok } from "./helpers.ts";

describe("iterate with lambdas", () => {
  it("a block body with lets equals the expression body", () => {
    const a = ir(`graph g(x: f32[N]) -> f32[N] { return iterate(3, x, (s) => {
      let y = s * 2
      let z = y + 1
      return z
    }) }`);
    const b = ir(`graph g(x: f32[N]) -> f32[N] { return iterate(3, x, (s) => s * 2 + 1) }`);
    expect(a).toBe(b);
  });

  it("a tuple state: `return a, b` and `return (a, b)` are the same; t is the iteration number", () => {
    const src = (ret: string) => `graph g(x: f32[N], c: i32[]) -> (f32[N], i32[]) {
      let (y, n) = iterate(4, (x, c), (s, k, t) => {
        let s2 = s * 0.5 + cast(t, f32)
        return ${ret}
      })
      return y, n
    }`;
    const a = ir(src("s2, k + t"));
    expect(ir(src("(s2, k + t)"))).toBe(a);
    const b = new GraphBuilder("g");
    const x = b.input("x", "f32", ["N"]);
    const c = b.input("c", "i32", []);
    const outs = b.iterate(4, [x, c], ([s, k], t) => [b.add(b.mul(s!, 0.5), b.cast(t, "f32")), b.add(k!, t)]);
    expect(a).toBe(printGraph(b.finish(outs)));
  });

  it("runs: the index counts 0..n-1 and the state threads through", () => {
    const { graph } = ok(`graph g(c: i32[]) -> (i32[], i32[]) {
      let (a, b) = iterate(5, (c, c), (s, k, t) => { return s + t, k * 2 })
      return a, b
    }`);
    const r = interpret(graph, { c: { dtype: "i32", shape: [], data: new Float64Array([1]) } });
    expect(r.outputs.map((o) => o.data[0])).toEqual([1 + 0 + 1 + 2 + 3 + 4, 32]);
  });

  it("the step may capture outer tensors and call fns; the count may be a dim or a param", () => {
    const { graph, text } = ok(`param T: int = 3
    fn smooth(s: f32[N], w: f32[N]) -> f32[N] { return (s + w) * 0.5 }
    graph g(x: f32[N], w: f32[N]) -> (f32[N], f32[N]) {
      let bias = exp(w)
      return iterate(T, x, (s) => smooth(s, bias)), iterate(N, x, (s) => s - 1)
    }`);
    expect(text).toMatch(/iterate %x \{n = 3, loop = 0\}/);
    expect(text).toMatch(/iterate %x \{n = N, loop = 1\}/);
    const out = interpret(graph, randomInputs(graph, { N: 4 }, 1)).outputs[1]!;
    const x = randomInputs(graph, { N: 4 }, 1).x!;
    const minus4 = (v: number) => [1, 2, 3, 4].reduce((acc) => Math.fround(acc - 1), v);
    expect(Array.from(out.data)).toEqual(Array.from(x.data).map(minus4));
  });

  it("nested iterates", () => {
    const text = ir(`graph g(x: f32[N]) -> f32[N] {
      return iterate(2, x, (s) => { let inner = iterate(3, s, (u) => u * 2)
        return inner + s })
    }`);
    expect(text.match(/= iterate/g)?.length).toBe(2);
  });

  it("report a state that changes type, a wrong parameter count, a wrong result count", () => {
    expect(errors(`graph g(x: f32[N]) -> tensor { return iterate(3, x, (s) => s > 0) }`)).toEqual([
      "ATTN3025 Iterate state 's' changes from f32[N] to bool[N] in one step.",
    ]);
    expect(codes(`graph g(x: f32[N]) -> tensor { return iterate(3, x, (s) => s[1:]) }`)).toEqual(["ATTN3025"]);
    expect(codes(`graph g(x: f32[N]) -> tensor { return iterate(3, (x, x), (s) => s) }`)).toEqual(["ATTN3023"]);
    expect(codes(`graph g(x: f32[N]) -> tensor { return iterate(3, (x, x), (s, k) => s) }`)).toEqual(["ATTN2020"]);
    expect(codes(`graph g(x: f32[N]) -> tensor { return iterate(3, x, x) }`)).toEqual(["ATTN2010"]);
  });

  it("report a block body without return, or with statements after it", () => {
    expect(codes(`graph g(x: f32[N]) -> tensor { return iterate(3, x, (s) => { let y = s * 2 }) }`)).toEqual(["ATTN1017"]);
    expect(codes(`graph g(x: f32[N]) -> tensor { return iterate(3, x, (s) => { return s
      let y = s }) }`)).toEqual(["ATTN1018"]);
  });

  it("a negative count is reported", () => {
    expect(codes(`graph g(x: f32[N]) -> tensor { return iterate(0 - 1, x, (s) => s) }`)).toEqual(["ATTN3026"]);
  });
});
