/** print → parse → print round trips for graphs that exercise every op and every OpArgs field. */
import { describe, expect, it } from "vitest";
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import * as D from "../../compiler/graph/dim.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { BINARY_FNS, UNARY_FNS, type GOp } from "../../compiler/graph/ops.ts";
import { GOPS } from "../../compiler/graph/print.ts";
import { allNodes, roundTrip } from "./helpers.ts";

const seen = new Set<GOp>();
function check(g: Graph): string {
  for (const n of allNodes(g)) seen.add(n.op);
  return roundTrip(g);
}

describe("round trip of every op", () => {
  it("elementwise, where, cast, const with special values, iota", () => {
    const b = new GraphBuilder("elementwise");
    const x = b.input("x", "f32", ["B", "N"]);
    const i = b.input("i", "i32", ["N"]);
    const u = b.cast(i, "u32");
    const ys: Tensor[] = [b.exp(x), b.unary("isnan", x), b.unary("not", i), b.unary("neg", u), b.unary("rsqrt", i)];
    ys.push(b.binary("pow", x, 2), b.binary("atan2", x, x), b.binary("mod", i, -3), b.binary("xor", i, i), b.binary("ge", x, 0.5));
    ys.push(b.where(b.binary("lt", x, 0), x, 0), b.where(b.input("c", "bool", ["N"]), i, b.cast(x, "i32")));
    ys.push(b.cast(x, "bf16"), b.cast(x, "f16"), b.cast(b.binary("gt", x, 1), "i32"));
    const c = b.constant([NaN, Infinity, -Infinity, -0, 0.1, 1e-300, 5e-324, 1.7976931348623157e308], "f32", [2, 4]);
    ys.push(b.add(x, b.reduce("sum", c, [0, 1])), c, b.constant(-0, "f16"), b.constant(true, "bool"), b.constant([3, 4294967295], "u32"));
    ys.push(b.iota(["B", "N"], 1), b.iota([3], 0));
    const text = check(b.finish(ys));
    expect(text).toContain("const [nan, inf, -inf, -0.0, 0.1, 1e-300, 5e-324, 1.7976931348623157e+308] : f32[2, 4]");
    expect(text).toContain("const -0.0 : f16[]");
  });

  it("layout: reshape, permute, broadcast, slice (negative steps, symbolic starts), concat, pad", () => {
    const b = new GraphBuilder("layout");
    const x = b.input("x", "f16", ["B", "N", "C"]);
    const ys = [
      b.reshape(x, [-1]),
      b.reshape(x, ["B", D.mul("N", "C")]),
      b.permute(x, [2, 0, 1]),
      b.broadcastTo(b.input("s", "f16", [1, "C"]), ["B", "N", "C"]),
      b.slice(x, 1, undefined, undefined, -1),
      b.slice(x, 1, "r", undefined, -2),
      b.slice(x, 2, "r", D.add("r", 5), 2),
      b.slice(x, 1, -3),
      b.select(x, 0, -1),
      b.concat([x, x, b.slice(x, 1, 1)], 1),
      b.pad(x, [0, 1, "p"], [2, 0, D.mul("p", 2)], -1.5),
      b.pad(x, [0, 1, 0], [0, 0, 1], -0),
    ];
    const text = check(b.finish(ys));
    expect(text).toContain("starts = [0, r, 0], steps = [1, -2, 1]");
  });

  it("regions, unregions, reductions, softmax, logsumexp, cumsum, order ops", () => {
    const b = new GraphBuilder("reduce");
    const img = b.input("img", "f32", ["B", 8, 6, "C"]);
    const r = b.regions(img, 2, 3);
    const un = b.unregions(r, 2, 3, 8, 6);
    const x = b.input("x", "f32", ["B", "N"]);
    const m = b.input("m", "bool", ["B", "N"]);
    const [tv, ti] = b.topk(x, "K", 1, false);
    const [ci, cc] = b.compact(m);
    const ys = [
      r, un,
      b.reduce("mean", b.cast(x, "i32"), [0, 1], true), b.reduce("any", m, 1), b.reduce("prod", x, []),
      b.argreduce("argmin", x, 0, true), b.softmax(x, 0), b.logsumexp(x, -1, true),
      b.cumsum(x, 1, true, true), tv!, ti!, b.topk(x, 0, 1)[0]!, b.argsort(x, 1, true), b.sort(x, 0), ci!, cc!,
    ];
    check(b.finish(ys));
  });

  it("matmul, einsum, gather, segment_reduce, compute with conditional reductions and dim exprs", () => {
    const b = new GraphBuilder("contract");
    const x = b.input("x", "f32", ["B", "N", "C"]);
    const w = b.input("w", "f32", ["C", "D"]);
    const idx = b.input("idx", "i32", ["B", "J"]);
    const seg = b.input("seg", "i32", ["B", "N"]);
    const N = D.dim("N");
    const ys = [
      b.matmul(x, w),
      b.matmul(b.input("v", "f32", ["C"]), w),
      b.einsum("bnc,cd->bnd", x, w),
      b.einsum("bnc,bmc->bnm", x, x),
      b.gather(x, idx, 1),
      b.segmentReduce("max", x, seg, D.div(N, 2), 1),
      b.compute(["B", N, N], (bi, i, j) =>
        S.select(
          S.le(j!, i!),
          S.sum(["C"], (c) => S.mul(b.at_(x, [bi!, i!, c]), b.at_(x, [bi!, j!, c]))),
          S.reduce("max", [N, 2], (k, l) => S.add(b.at_(x, [bi!, k, l]), S.dim(D.sub(N, 1))), (k) => S.and(S.binary("ne", k, i!), S.lt(S.mul(k, 2), S.dim(D.mod(N, 3))))),
        ),
      ),
      b.compute([N], (i) => S.reduce("argmax", [D.ceilDiv(N, 4)], (k) => b.at_(seg, [0, k]), (k) => S.ge(k, S.sub(i!, 1)))),
      b.compute([], () => S.binary("min", S.const(-0, "f32"), S.const(NaN, "f16"))),
      b.compute([3], (i) => S.select(S.eq(i!, 0), S.const(1, "u32"), S.cast(S.binary("sub", S.sub(S.dim("N"), i!), S.sub(i!, -2)), "u32"))),
    ];
    const text = check(b.finish(ys));
    expect(text).toContain("sum[v3 < C] { $0[v0, v1, v3] * $0[v0, v2, v3] }");
    expect(text).toContain("max[v4 < N, v5 < 2 | and(v4 != v1, v4 * 2 < dim((N % 3)))] { $0[v0, v4, v5] + cast<f32>(dim(N - 1)) }");
    expect(text).toContain("argmax[v1 < ((N + 3) / 4) | v1 >= v0 - 1] { $0[0, v1] }");
    expect(text).toContain("min(-0.0, cast<f32>(nan:f16))");
    expect(text).toContain("cast<u32>(dim(N) - v0 - (v0 - -2))");
  });

  it("nn ops and quantization", () => {
    const b = new GraphBuilder("nn");
    const x = b.input("x", "f16", ["B", "H", "W", "C"]);
    const w = b.input("w", "f16", ["C", 3, 5]);
    const bias = b.input("bias", "f32", ["C"]);
    const [pk, sc, zr] = b.quantize(x, 3, -2);
    const ys = [
      b.dwconv2d(x, w), b.dwconv2d(x, w, bias),
      b.layernorm(x), b.layernorm(x, bias, bias, 1e-6), b.layernorm(x, undefined, bias),
      b.rmsnorm(x), b.rmsnorm(x, bias, 0.1),
      b.l2normalize(x, 1), b.l2normalize(x, -1, 1e-30),
      pk!, sc!, zr!, b.dequantize(pk!, sc!, zr!, 3, "C", -2, "bf16"),
    ];
    check(b.finish(ys));
  });

  it("attention with hooks, bias, valueScale, blocks and every return", () => {
    const b = new GraphBuilder("attn");
    const q = b.input("q", "f16", ["B", "H", "N", 64]);
    const k = b.input("k", "f16", ["B", "H", "M", 64]);
    const v = b.input("v", "f32", ["B", "H", "M", "Dv"]);
    const bias = b.input("bias", "f32", ["B", 1, "M"]);
    const gain = b.input("gain", "f16", ["M"]);
    const route = b.input("route", "i32", ["B", "H", D.ceilDiv("N", 16), 4]);
    const rows = b.input("rows", "i32", ["R"]);
    const keys = b.input("keys", "bool", ["B", "H", "M"]);
    const pos = b.input("pos", "f32", ["N", "M"]);
    const outs = b.attention(q, k, v, {
      score: (s, [, , i, j]) => S.add(S.mul(s, 0.5), b.at_(pos, [i!, j!])),
      mask: ([bi, , i, j]) => S.and(S.le(j!, S.add(i!, S.dim(D.sub("M", "N")))), S.gt(b.at_(bias, [bi!, 0, j!]), -Infinity)),
      bias,
      valueScale: gain,
      blocks: { route, blockQ: 16, blockK: "BK" },
      returns: [{ kind: "lse" }, { kind: "probs", rows }, { kind: "mass", keys }],
    }) as Tensor[];
    const plain = b.attention(q, k, b.cast(v, "f16"), { scale: 0.1 }) as Tensor;
    const sym = b.attention(b.input("qs", "f32", ["N", "Dh"]), b.input("ks", "f32", ["M", "Dh"]), b.input("vs", "f32", ["M", "Dh"])) as Tensor;
    const text = check(b.finish([...outs, plain, sym], ["o", "lse", "probs", "mass", "plain", "sym"]));
    expect(text).toContain(
      "{scale = 0.125, score = score * 0.5 + $8[v2, v3], mask = and(v3 <= v2 + dim(M - N), $3[v0, 0, v3] > -inf), bias = $3, valueScale = $4, blocks = {src = $5, blockQ = 16, blockK = BK}, returns = [lse, probs($6), mass($7)]}",
    );
    expect(text).toContain("{scale = auto}");
    expect(text).toContain("{scale = 0.1}");
  });

  it("iterate, nested iterate, loop placeholders, loop-invariant bodies", () => {
    const b = new GraphBuilder("loops");
    const x = b.input("x", "f32", ["N"]);
    const w = b.input("w", "f32", ["N"]);
    const [h, c] = b.iterate("T", [x, b.reduce("sum", x)], ([s, acc], t) => {
      const [inner] = b.iterate(D.add("T", 1), [s!], ([u], t2) => [b.add(b.mul(u!, w), b.cast(b.add(t, t2), "f32"))]);
      return [b.exp(inner!), b.add(acc!, b.reduce("max", s!))];
    });
    const [same] = b.iterate(3, [x], ([s]) => [s!]);
    const [inv] = b.iterate(3, [x], () => [b.mul(w, 2)]);
    const text = check(b.finish([h!, c!, same!, inv!]));
    expect(text).toContain("yield %");
  });
});

it("the round-trip graphs above cover every op", () => {
  expect([...seen].sort()).toEqual([...GOPS].sort());
});

it("op names, unary fns and binary fns are disjoint (unary/binary nodes print their fn as the op name)", () => {
  const all = [...GOPS, ...UNARY_FNS, ...BINARY_FNS];
  expect(new Set(all).size).toBe(all.length);
});
