/** The same program compiled twice gives byte-identical IR, whatever was compiled before or around it. */
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { ir } from "./helpers.ts";

/** Exercises fresh index variables, loops, hooks, fn inlining and interning. */
const PROGRAM = `param r: int = 2
param M: int = 4
fn l2(x: float[B, N, D]) -> float[B, N, D] {
  let n[b, i] = sum(d) x[b, i, d] * x[b, i, d]
  return x / sqrt(n[:, :, None] + 1e-12)
}
graph main(x: f32[B, N, C], dst: i32[B, N], size: f32[B, N]) -> (f32[B, M, C], f32[B, N, C], f32[B, N, C], i32[B, N]) {
  let m[b, j: M, c] = sum(i | dst[b, i] == j) x[b, i, c]
  let best[b, a] = argmax(j) x[b, a, j]
  let o = attention(l2(x), x, x, score: (s, b, i, j) => s + log(size[b, j]), mask: (b, i, j) => j <= i)
  let (y, t) = iterate(3, (x, dst), (s, k, n) => { return softmax(s) * 0.5, k + n })
  return m, o, y, t
}
graph second(x: f32[N]) -> f32[N] { return x[::-1] * 2 }
`;

const compileAll = (src: string) => compileSource("det.attn", src).graphs.map(printGraph);

describe("determinism", () => {
  it("compiling twice gives byte-identical printed IR", () => {
    const a = compileAll(PROGRAM);
    expect(a.length).toBe(2);
    expect(compileAll(PROGRAM)).toEqual(a);
  });

  it("does not depend on what was compiled before (fresh-variable counters, interned dims)", () => {
    const a = compileAll(PROGRAM);
    for (let i = 0; i < 5; i++) expect(compileAll(PROGRAM.replace("param M: int = 4", `param M: int = ${i + 5}`)).length).toBe(2);
    compileAll(`graph other(q: f32[K, 7]) -> tensor { let z[i, j] = max(k) q[i, k] * q[j % 7, k]
      return z }`);
    expect(compileAll(PROGRAM)).toEqual(a);
  });

  it("does not depend on the order of the graphs in the module or on comments and layout", () => {
    const parts = PROGRAM.split("graph second");
    const reordered = `${parts[0]!.replace(/graph main/, "graph second" + parts[1]!.trimEnd() + "\n// a comment\ngraph main")}`;
    const a = compileAll(PROGRAM);
    const b = compileAll(reordered);
    expect(b.length).toBe(2);
    expect([...b].sort()).toEqual([...a].sort());
    const spaced = PROGRAM.replace(/\n/g, "\n\n  /* layout */ ").replace(/, /g, " ,  ");
    expect(compileAll(spaced)).toEqual(a);
  });

  it("equal expressions written in different orders of lets print the same (interning)", () => {
    const a = ir(`graph g(x: f32[N]) -> (f32[N], f32[N]) { let a = exp(x)
      let b = x * 2
      return a + b, b }`);
    const b = ir(`graph g(x: f32[N]) -> (f32[N], f32[N]) { let b = x * 2
      let a = exp(x)
      let unused = tanh(x)
      return a + b, x * 2 }`);
    expect(a).toBe(b);
  });
});
