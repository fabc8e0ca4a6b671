/**
 * f16 graphs for the shader-f16 tests (test/webgpu/caps-f16.test.ts): every unary fn, the binary
 * fns, casts, reductions, softmax, matmul, sorts, scans, gather, norms, attention and iterate on
 * f16 tensors; and a WGSL check that runs without shader-f16 (see proxyWgsl).
 */
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { UNARY_FNS } from "../../compiler/graph/ops.ts";

export interface F16Case {
  readonly name: string;
  readonly graph: Graph;
  readonly dims: Record<string, number>;
}

const g = (name: string, dims: Record<string, number>, build: (b: GraphBuilder) => Tensor | Tensor[]): F16Case => {
  const b = new GraphBuilder(name);
  const out = build(b);
  return { name, graph: b.finish(Array.isArray(out) ? out : [out]), dims };
};

export function f16Cases(): F16Case[] {
  return [
    g("f16_unary", { N: 37 }, (b) => {
      const x = b.input("x", "f16", ["N"]);
      return UNARY_FNS.filter((f) => f !== "not").map((f) => b.unary(f, x));
    }),
    g("f16_binary", { N: 29 }, (b) => {
      const x = b.input("x", "f16", ["N"]);
      const y = b.input("y", "f16", ["N"]);
      return (["add", "sub", "mul", "div", "mod", "pow", "min", "max", "atan2", "eq", "ne", "lt", "le", "gt", "ge"] as const).map((f) => b.binary(f, x, y));
    }),
    g("f16_casts", { N: 21 }, (b) => {
      const x = b.input("x", "f32", ["N"]);
      const h = b.input("h", "f16", ["N"]);
      const i = b.input("i", "i32", ["N"]);
      const z = b.input("z", "bf16", ["N"]);
      return [
        b.cast(b.mul(x, 3.3), "f16"), b.cast(h, "f32"), b.cast(h, "i32"), b.cast(h, "u32"), b.cast(h, "bool"), b.cast(i, "f16"), b.cast(h, "bf16"), b.cast(z, "f16"),
        b.add(h, z), b.add(h, x), b.where(b.input("p", "bool", ["N"]), h, b.neg(h)), b.mul(h, 0.1), b.add(h, b.scalar(Infinity, "f16")),
      ];
    }),
    g("f16_reduce", { B: 3, N: 45 }, (b) => {
      const x = b.input("x", "f16", ["B", "N"]);
      return [
        ...(["sum", "mean", "max", "min", "prod"] as const).map((f) => b.reduce(f, x, -1)),
        b.argreduce("argmax", x, -1), b.argreduce("argmin", x, 0), b.softmax(x, -1), b.logsumexp(x, 0), b.cumsum(x, -1), b.cumsum(x, 0, true, true),
      ];
    }),
    g("f16_matmul", { M: 9, K: 17, N: 11 }, (b) => [b.matmul(b.input("a", "f16", ["M", "K"]), b.input("w", "f16", ["K", "N"]))]),
    g("f16_sort", { B: 2, N: 300 }, (b) => {
      const x = b.input("x", "f16", ["B", "N"]);
      return [b.argsort(x, -1), b.argsort(x, 0, true), ...b.topk(x, 5, -1)];
    }),
    g("f16_gather_norm", { N: 10, C: 8, S: 4 }, (b) => {
      const x = b.input("x", "f16", ["N", "C"]);
      return [b.gather(x, b.input("idx", "i32", ["S"]), 0), b.layernorm(x, b.input("w", "f16", ["C"]), b.input("bb", "f16", ["C"])), b.rmsnorm(x, b.input("w2", "f16", ["C"]))];
    }),
    g("f16_compute", { N: 12, M: 7 }, (b) => {
      const x = b.input("x", "f16", ["N", "M"]);
      return [
        b.compute(["N", "M"], (i, j) => S.mul(S.load(x, [i, j]), S.load(x, [S.sub(S.dim("N"), S.add(i, 1)), j]))),
        b.compute(["N"], (i) => S.sum(["M"], (j) => S.load(x, [i, j]), (j) => S.lt(j, S.div(S.dim("M"), 2)))),
      ];
    }),
    g("f16_attention", { H: 2, N: 19, D: 8 }, (b) => {
      const q = b.input("q", "f16", ["H", "N", "D"]);
      const k = b.input("k", "f16", ["H", "N", "D"]);
      const v = b.input("v", "f16", ["H", "N", "D"]);
      return [b.attention(q, k, v) as Tensor];
    }),
    g("f16_iterate", { N: 9 }, (b) => {
      const x = b.input("x", "f16", ["N"]);
      return b.iterate(3, [x], ([s], t) => [b.add(b.mul(s!, 0.5), b.cast(t, "f16"))]);
    }),
  ];
}

/**
 * WGSL written for shader-f16, rewritten so that a device without the feature can validate it:
 * `enable f16;` dropped, f16 replaced by i32 and `h` literals by i32 conversions, _h16 replaced by
 * a stand-in of the same signature. The f16 values keep a type of their own, distinct from f32, so
 * any place where an f16 value meets f32 without a conversion (the mistakes a shader-f16 compiler
 * would reject) is still a type error, and everything else is validated as is. This checks types
 * and syntax, not f16 arithmetic.
 */
export function proxyWgsl(code: string): string {
  return code
    .split("\n")
    .filter((l) => l !== "enable f16;")
    .map((l) => (l.startsWith("fn _h16(") ? "fn _h16(x: f32) -> i32 { return i32(_f16(x)); }" : l))
    .join("\n")
    .replace(/\bf16\b/g, "i32")
    .replace(/(\d[\d.]*(?:e[+-]?\d+)?)h\b/g, "i32($1f)");
}
