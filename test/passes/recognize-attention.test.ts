/**
 * recognize-attention: a hand-written attention (q @ kᵀ * s, masked softmax, @ v) becomes the fused
 * op, equal to what GraphBuilder.attention builds; hooks, bias and scale are read off the chain;
 * declined candidates say why. The pass is inexact (probabilities stay in float64), so results
 * are compared with a tolerance.
 */
import { describe, expect, it } from "vitest";
import { GraphBuilder, S } from "../../compiler/graph/builder.ts";
import { interpret, randomInputs } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { passContext, type Remark } from "../../compiler/graph/passes/pass.ts";
import { recognizeAttention } from "../../compiler/graph/passes/recognize-attention.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { defaultDims, expectRewrite, messages } from "./helpers.ts";

/** Outputs agree to a relative tolerance (the pass keeps probabilities in float64). */
function expectClose(a: Graph, b: Graph, dims: Record<string, number>, tol = 1e-6): void {
  for (const seed of [0, 1]) {
    const inputs = randomInputs(a, defaultDims(a, dims), seed);
    const x = interpret(a, inputs, { dims });
    const y = interpret(b, inputs, { dims });
    x.outputs.forEach((o, i) => {
      const p = y.outputs[i]!;
      expect(p.shape).toEqual(o.shape);
      const scale = Math.max(1, ...[...o.data].map(Math.abs));
      o.data.forEach((v, k) => expect(Math.abs(v - p.data[k]!)).toBeLessThanOrEqual(tol * scale));
    });
  }
}

function handWritten(fused: boolean): Graph {
  const b = new GraphBuilder("hand");
  const q = b.input("q", "f32", ["B", "H", "N", 16]);
  const k = b.input("k", "f32", ["B", "H", "N", 16]);
  const v = b.input("v", "f32", ["B", "H", "N", 16]);
  if (fused) return b.finish([b.attention(q, k, v, { scale: 0.25, mask: ([, , i, j]) => S.le(j!, i!) }) as never]);
  const s = b.mul(b.matmul(q, b.transpose(k)), 0.25);
  const causal = b.binary("le", b.iota(["N", "N"], 1), b.iota(["N", "N"], 0));
  const p = b.softmax(b.where(causal, s, -Infinity), -1);
  return b.finish([b.matmul(p, v)]);
}

const run = (g: Graph) => {
  const rs: Remark[] = [];
  return { g: recognizeAttention.run(g, passContext("recognize-attention", rs)), rs };
};

describe("recognize-attention", () => {
  it("turns a hand-written causal attention into exactly the op GraphBuilder.attention builds", () => {
    const before = handWritten(false);
    const { g, rs } = run(before);
    expect(printGraph(g)).toBe(printGraph(handWritten(true)));
    expect(messages(rs, "fired")).toEqual(["attention recognized (scale 0.25, mask hook)"]);
    expectClose(before, g, { B: 2, H: 2, N: 5 });
  });

  it("reads a mask tensor, a per-key bias and a non-power-of-two scale (kept in the score hook) off the chain", () => {
    const rs = expectRewrite(
      recognizeAttention,
      `graph biased(%q: f32[B, N, D], %k: f32[B, N, D], %v: f32[B, N, E], %bias: f32[N], %m: bool[N, N]) -> (%o) {
        %kt = permute %k {perm = [0, 2, 1]} : f32[B, D, N]
        %s = matmul %q, %kt : f32[B, N, N]
        %c = const 0.3 : f32[]
        %sc = mul %s, %c : f32[B, N, N]
        %bb = broadcast %bias : f32[B, N, N]
        %sb = add %sc, %bb : f32[B, N, N]
        %ninf = const -inf : f32[]
        %w = where %m, %sb, %ninf : f32[B, N, N]
        %p = softmax %w {axis = 2} : f32[B, N, N]
        %o = matmul %p, %v : f32[B, N, E]
      }`,
      `graph biased(%q: f32[B, N, D], %k: f32[B, N, D], %v: f32[B, N, E], %bias: f32[N], %m: bool[N, N]) -> (%o) {
        %o = attention %q, %k, %v, %m, %bias {scale = 1, score = score * 0.3, mask = $3[v1, v2], bias = $4} : f32[B, N, E]
      }`,
    );
    expect(messages(rs, "fired")).toEqual(["attention recognized (mask hook, per-key bias, score hook)"]);
  });

  it("keeps an elementwise score modification and a full additive mask in the score hook", () => {
    const text = `graph full(%q: f32[N, D], %kt: f32[D, N], %v: f32[N, D], %add: f32[N, N]) -> (%o) {
        %s = matmul %q, %kt : f32[N, N]
        %c = const 8.0 : f32[]
        %sc = div %s, %c : f32[N, N]
        %t = tanh %sc : f32[N, N]
        %sb = add %t, %add : f32[N, N]
        %p = softmax %sb {axis = 1} : f32[N, N]
        %o = matmul %p, %v : f32[N, D]
      }`;
    expectRewrite(
      recognizeAttention,
      text,
      `graph full(%q: f32[N, D], %kt: f32[D, N], %v: f32[N, D], %add: f32[N, N]) -> (%o) {
        %k = permute %kt {perm = [1, 0]} : f32[N, D]
        %o = attention %q, %k, %v, %add {scale = 1, score = tanh(score / 8.0) + $3[v0, v1]} : f32[N, D]
      }`,
    );
  });

  it("results agree with the unfused graph to float rounding", () => {
    const b = new GraphBuilder("num");
    const q = b.input("q", "f32", [3, "N", 8]);
    const k = b.input("k", "f32", [3, "N", 8]);
    const v = b.input("v", "f32", [3, "N", 4]);
    const m = b.input("m", "bool", ["N", "N"]);
    const s = b.div(b.matmul(q, b.transpose(k)), Math.sqrt(8));
    const o = b.matmul(b.softmax(b.where(m, s, -Infinity)), v);
    const g = b.finish([o]);
    const { g: after, rs } = run(g);
    expect(messages(rs, "fired")).toHaveLength(1);
    expectClose(g, after, { N: 6 });
  });

  it("declines, saying why: wrong axis, probabilities needed elsewhere, f16 scores, no values matmul, scores reused", () => {
    const rs = expectRewrite(
      recognizeAttention,
      `graph declines(%q: f32[N, D], %k: f32[N, D], %v: f32[N, D], %h: f16[N, D]) -> (%o1, %o2, %p2, %o3, %o4, %o5, %s5) {
        %kt = permute %k {perm = [1, 0]} : f32[D, N]
        %s1 = matmul %q, %kt : f32[N, N]
        %p1 = softmax %s1 {axis = 0} : f32[N, N]
        %o1 = matmul %p1, %v : f32[N, D]
        %s2 = matmul %v, %kt : f32[N, N]
        %p2 = softmax %s2 {axis = 1} : f32[N, N]
        %o2 = matmul %p2, %v : f32[N, D]
        %ht = permute %h {perm = [1, 0]} : f16[D, N]
        %s3 = matmul %h, %ht : f16[N, N]
        %p3 = softmax %s3 {axis = 1} : f16[N, N]
        %o3 = matmul %p3, %h : f16[N, D]
        %s4 = exp %q : f32[N, D]
        %p4 = softmax %s4 {axis = 1} : f32[N, D]
        %o4 = exp %p4 : f32[N, D]
        %qq = neg %q : f32[N, D]
        %s5 = matmul %qq, %kt : f32[N, N]
        %p5 = softmax %s5 {axis = 1} : f32[N, N]
        %o5 = matmul %p5, %v : f32[N, D]
      }`,
      `graph declines(%q: f32[N, D], %k: f32[N, D], %v: f32[N, D], %h: f16[N, D]) -> (%o1, %o2, %p2, %o3, %o4, %o5, %s5) {
        %kt = permute %k {perm = [1, 0]} : f32[D, N]
        %s1 = matmul %q, %kt : f32[N, N]
        %p1 = softmax %s1 {axis = 0} : f32[N, N]
        %o1 = matmul %p1, %v : f32[N, D]
        %s2 = matmul %v, %kt : f32[N, N]
        %p2 = softmax %s2 {axis = 1} : f32[N, N]
        %o2 = matmul %p2, %v : f32[N, D]
        %ht = permute %h {perm = [1, 0]} : f16[D, N]
        %s3 = matmul %h, %ht : f16[N, N]
        %p3 = softmax %s3 {axis = 1} : f16[N, N]
        %o3 = matmul %p3, %h : f16[N, D]
        %s4 = exp %q : f32[N, D]
        %p4 = softmax %s4 {axis = 1} : f32[N, D]
        %o4 = exp %p4 : f32[N, D]
        %qq = neg %q : f32[N, D]
        %s5 = matmul %qq, %kt : f32[N, N]
        %p5 = softmax %s5 {axis = 1} : f32[N, N]
        %o5 = matmul %p5, %v : f32[N, D]
      }`,
      { dims: { N: 4, D: 4 } },
    );
    expect(messages(rs, "missed").map((m) => m.replace(/^attention not recognized: /, ""))).toEqual([
      "softmax is not over the last axis",
      "the probabilities are used elsewhere too (they must exist anyway)",
      "scores are f16, not f32 (the fused op keeps f32 logits, which would round differently)",
      "the score matrix q·kᵀ is used elsewhere too",
      "the softmax does not feed a matmul with values",
    ]);
  });
});
