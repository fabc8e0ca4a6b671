/**
 * The DSL and the builder API build the same IR: each case is an attn program and the builder
 * calls a user would write for it, compared by their printed IR (printGraph).
 */
import { describe, expect, it } from "vitest";
import * as D from "../../compiler/graph/dim.ts";
import type { CompileOptions } from "../../compiler/compile.ts";
import { builderText, dslText, S, type GraphBuilder, type Tensor } from "./helpers.ts";

interface Pair {
  name: string;
  src: string;
  build: (b: GraphBuilder) => Tensor | readonly Tensor[];
  opts?: CompileOptions;
  /** the graph name (default g) */
  graph?: string;
}

const pairs: Pair[] = [
  {
    name: "weak literals on f16: x * 2, x + 1.5, 1 - x",
    src: `graph g(x: f16[B, N]) -> f16[B, N] {
      let a = x * 2
      let c = a + 1.5
      return 1 - c
    }`,
    build: (b) => {
      const x = b.input("x", "f16", ["B", "N"]);
      return b.sub(1, b.add(b.mul(x, 2), 1.5));
    },
  },
  {
    name: "weak literals on ints: i + 1 stays i32, i * 0.5 is f32, u32 keeps u32",
    src: `graph g(i: i32[N], u: u32[N]) -> (i32[N], f32[N], u32[N]) {
      return i + 1, i * 0.5, u % 3
    }`,
    build: (b) => {
      const i = b.input("i", "i32", ["N"]);
      const u = b.input("u", "u32", ["N"]);
      return [b.add(i, 1), b.mul(i, 0.5), b.binary("mod", u, 3)];
    },
  },
  {
    name: "broadcasting with promotion f16 + f32[C], comparisons and logic",
    src: `graph g(x: f16[B, N, C], y: f32[C], m: bool[N, 1]) -> (f32[B, N, C], bool[B, N, C]) {
      let s = x + y
      return s, (s > 0) && m || !m
    }`,
    build: (b) => {
      const x = b.input("x", "f16", ["B", "N", "C"]);
      const y = b.input("y", "f32", ["C"]);
      const m = b.input("m", "bool", ["N", 1]);
      const s = b.add(x, y);
      return [s, b.binary("or", b.binary("and", b.binary("gt", s, 0), m), b.unary("not", m))];
    },
  },
  {
    name: "unary math, pow, clamp, where, ternary, cast, elu, silu",
    src: `graph g(x: f32[N], i: i32[N]) -> (f32[N], f32[N], f32[N], f16[N], f32[N]) {
      let a = exp(x) + sqrt(abs(x)) - tanh(x) * sigmoid(x)
      let p = x ** 2 + pow(x, 0.5)
      let c = clamp(x, -1, 1) + where(x > 0, x, 0) + (x < 0 ? -x : x)
      return a, p, c + elu(x, alpha: 0.5), cast(x, f16), silu(x) + exp(i)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["N"]);
      const i = b.input("i", "i32", ["N"]);
      const a = b.sub(b.add(b.exp(x), b.sqrt(b.unary("abs", x))), b.mul(b.unary("tanh", x), b.unary("sigmoid", x)));
      const p = b.add(b.binary("pow", x, 2), b.binary("pow", x, 0.5));
      const c = b.add(b.add(b.clamp(x, -1, 1), b.where(b.binary("gt", x, 0), x, 0)), b.where(b.binary("lt", x, 0), b.neg(x), x));
      return [a, p, b.add(c, b.elu(x, 0.5)), b.cast(x, "f16"), b.add(b.mul(x, b.unary("sigmoid", x)), b.exp(i))];
    },
  },
  {
    name: "min/max with two operands are elementwise; with one they reduce",
    src: `graph g(x: f32[B, N], y: f32[N]) -> (f32[B, N], f32[B], f32[]) {
      return max(x, y) + min(x, 0), max(x, axis: 1), min(x)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N"]);
      const y = b.input("y", "f32", ["N"]);
      return [b.add(b.binary("max", x, y), b.binary("min", x, 0)), b.reduce("max", x, 1), b.reduce("min", x)];
    },
  },
  {
    name: "matmul, @ and ^T",
    src: `graph g(q: f32[B, N, D], k: f32[B, M, D], w: f16[D, E], v: f32[D]) -> (f32[B, N, M], f32[B, N, E], f32[B, N]) {
      return q @ k^T, matmul(q, w), q @ v
    }`,
    build: (b) => {
      const q = b.input("q", "f32", ["B", "N", "D"]);
      const k = b.input("k", "f32", ["B", "M", "D"]);
      const w = b.input("w", "f16", ["D", "E"]);
      const v = b.input("v", "f32", ["D"]);
      return [b.matmul(q, b.transpose(k)), b.matmul(q, w), b.matmul(q, v)];
    },
  },
  {
    name: "softmax and reductions with axis lists and keepdims",
    src: `graph g(x: f32[B, H, N, M], m: bool[B, N]) -> (f32[B, H, N, M], f32[B, 1, N, 1], f32[H, M], i32[B, H, M], bool[B], f32[B, H, N, M]) {
      let p = softmax(x, axis: -1) + log_softmax(x, axis: 2)
      let s = sum(x, axis: [1, 3], keepdims: true)
      let mu = mean(x, axis: [0, 2]) + logsumexp(max(x, axis: 0), axis: 1)
      let am = argmax(x, axis: 2) + argmin(x, axis: 2)
      return p, s, mu, am, any(m, axis: 1) && all(m, axis: -1), normalize(x, axis: 1, eps: 1e-6) * norm(x, keepdims: true)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "H", "N", "M"]);
      const m = b.input("m", "bool", ["B", "N"]);
      const p = b.add(b.softmax(x, -1), b.sub(x, b.logsumexp(x, 2, true)));
      const s = b.reduce("sum", x, [1, 3], true);
      const mu = b.add(b.reduce("mean", x, [0, 2]), b.logsumexp(b.reduce("max", x, 0), 1));
      const am = b.add(b.argreduce("argmax", x, 2), b.argreduce("argmin", x, 2));
      const an = b.binary("and", b.reduce("any", m, 1), b.reduce("all", m, -1));
      const nn = b.mul(b.l2normalize(x, 1, 1e-6), b.sqrt(b.reduce("sum", b.mul(x, x), -1, true)));
      return [p, s, mu, am, an, nn];
    },
  },
  {
    name: "reshape (with -1), permute, unsqueeze, squeeze, broadcast_to",
    src: `graph g(x: f32[B, N, 4, 8], y: f32[B, 1, N]) -> (f32[B, N, 32], f32[B, 8, N, 4], f32[B, N, 1, 4, 8], f32[B, N], f32[3, B, 5, N]) {
      return reshape(x, [B, -1, 32]), permute(x, [0, 3, 1, 2]), unsqueeze(x, -3), squeeze(y, 1),
             broadcast_to(y, [3, B, 5, N])
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", 4, 8]);
      const y = b.input("y", "f32", ["B", 1, "N"]);
      return [b.reshape(x, ["B", -1, 32]), b.permute(x, [0, 3, 1, 2]), b.unsqueeze(x, -3), b.squeeze(y, 1), b.broadcastTo(y, [3, "B", 5, "N"])];
    },
  },
  {
    name: "slicing: x[:, 1:], x[..., ::2], x[0], x[-1], x[:, None], x[1:N-1, ..., 2]",
    src: `graph g(x: f32[B, N, C]) -> (f32[B, max(0, N - 1), C], f32[B, N, (C + 1) / 2], f32[N, C], f32[N, C], f32[B, 1, N, C], f32[max(0, B - 2), N]) {
      return x[:, 1:], x[..., ::2], x[0], x[-1], x[:, None], x[1:B - 1, ..., 2]
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", "C"]);
      const B = D.dim("B");
      const last = b.slice(b.slice(x, 0, 1, D.sub(B, 1)), 2, 2, 3);
      return [
        b.slice(x, 1, 1),
        b.slice(x, 2, undefined, undefined, 2),
        b.select(x, 0, 0),
        b.select(x, 0, -1),
        b.unsqueeze(x, 1),
        b.reshape(last, [D.max(D.sub(B, 2), 0), "N"]),
      ];
    },
  },
  {
    name: "negative-step slices and constant bounds",
    src: `graph g(x: f32[8, N]) -> (f32[8, N], f32[3, N], f32[2, N]) {
      return x[::-1], x[1:7:2], x[-3:-1]
    }`,
    build: (b) => {
      const x = b.input("x", "f32", [8, "N"]);
      return [b.slice(x, 0, undefined, undefined, -1), b.slice(x, 0, 1, 7, 2), b.slice(x, 0, -3, -1)];
    },
  },
  {
    name: "concat and split tuples (count and sizes), pad",
    src: `graph g(x: f32[B, N, 8], y: f32[B, M, 8]) -> (f32[B, N + M, 8], f32[B, N, 4], f32[B, N, 5], f32[B, N + 2, 9]) {
      let (a, c) = split(x, 2)
      let parts = split(x, [3, 5], axis: 2)
      return concat([x, y], axis: 1), a + c, concat([parts[0], c, parts[1]], axis: -1)[:, :, 2:7],
             pad(x, before: [0, 1, 0], after: [0, 1, 1], value: -1)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", 8]);
      const y = b.input("y", "f32", ["B", "M", 8]);
      const [a, c] = b.split(x, 2, -1) as [Tensor, Tensor];
      const [p0, p1] = b.split(x, [3, 5], 2) as [Tensor, Tensor];
      return [b.concat([x, y], 1), b.add(a, c), b.slice(b.concat([p0, c, p1], -1), 2, 2, 7), b.pad(x, [0, 1, 0], [0, 1, 1], -1)];
    },
  },
  {
    name: "index notation: elementwise body with a static-index select and weak literals",
    src: `graph g(x: f32[B, N, C]) -> f32[B, N, C] {
      let z[b, i, c] = x[b, i, c] * (i == 0 ? 0.5 : 2.0)
      return z
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", "C"]);
      return b.compute(["B", "N", "C"], (bb, i, c) => S.mul(S.load(x, [bb!, i!, c!]), S.select(S.eq(i!, 0), 0.5, S.const(2, "f32"))));
    },
  },
  {
    name: "index notation: conditional reduction with an explicit extent (scatter-add)",
    src: `param M: int = 6
    graph g(x: f32[B, N, C], dst: i32[B, N]) -> f32[B, M, C] {
      let m[b, j: M, c] = sum(i | dst[b, i] == j) x[b, i, c]
      return m
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", "C"]);
      const dst = b.input("dst", "i32", ["B", "N"]);
      return b.compute(["B", 6, "C"], (bb, j, c) =>
        S.reduce("sum", ["N"], (i) => S.load(x, [bb!, i!, c!]), (i) => S.eq(S.load(dst, [bb!, i!]), j!)),
      );
    },
  },
  {
    name: "index notation: argmax reduction, data-dependent gather, dims in bodies",
    src: `graph g(s: f32[B, N, M], x: f32[B, M, C], idx: i32[B, K]) -> (i32[B, N], f32[B, K, C], i32[B, N]) {
      let best[b, a] = argmax(j) s[b, a, j]
      let g2[b, j, c] = x[b, idx[b, j], c]
      let r[b: B, i: N] = (i + 1) % M
      return best, g2, r
    }`,
    build: (b) => {
      const s = b.input("s", "f32", ["B", "N", "M"]);
      const x = b.input("x", "f32", ["B", "M", "C"]);
      const idx = b.input("idx", "i32", ["B", "K"]);
      const best = b.compute(["B", "N"], (bb, a) => S.reduce("argmax", ["M"], (j) => S.load(s, [bb!, a!, j!])));
      const g2 = b.compute(["B", "K", "C"], (bb, j, c) => S.load(x, [bb!, S.load(idx, [bb!, j!]), c!]));
      const r = b.compute(["B", "N"], (_bb, i) => S.binary("mod", S.add(i!, 1), S.dim("M")));
      return [best, g2, r];
    },
  },
  {
    name: "index notation: nested reductions, max over a domain, math on scalars with weak literals",
    src: `graph g(x: f16[B, N, C]) -> (f16[B, N], f16[B, N], f16[B, N]) {
      let a[b, i] = max(x[b, i, 0], 0) + (sum(c) x[b, i, c] * x[b, i, c])
      let m[b, i] = mean(c) exp(x[b, i, c])
      let w[b, i: N] = max(j | j <= i) (x[b, j, 0] > 1 ? x[b, j, 0] : 0.5)
      return a, m, w
    }`,
    build: (b) => {
      const x = b.input("x", "f16", ["B", "N", "C"]);
      const a = b.compute(["B", "N"], (bb, i) =>
        S.add(S.binary("max", S.load(x, [bb!, i!, 0]), 0), S.sum(["C"], (c) => S.mul(S.load(x, [bb!, i!, c!]), S.load(x, [bb!, i!, c!])))),
      );
      const m = b.compute(["B", "N"], (bb, i) => S.reduce("mean", ["C"], (c) => S.exp(S.load(x, [bb!, i!, c!]))));
      const w = b.compute(["B", "N"], (bb, i) =>
        S.reduce("max", ["N"], (j) => S.select(S.gt(S.load(x, [bb!, j!, 0]), 1), S.load(x, [bb!, j!, 0]), 0.5), (j) => S.le(j!, i!)),
      );
      return [a, m, w];
    },
  },
  {
    name: "topk with .values/.indices and destructuring; sort, argsort, take_along",
    src: `graph g(x: f32[B, N]) -> (f32[B, 4], i32[B, 4], i32[B, 2], f32[B, N], i32[B, N], f32[B, N]) {
      let t = topk(x, 4)
      let (v, i) = topk(x, 2, axis: 1, largest: false)
      let o = argsort(x, descending: true)
      return t.values, t.indices, i + 0, sort(x), o, take_along(x, o, 1)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N"]);
      const [tv, ti] = b.topk(x, 4);
      const [, i] = b.topk(x, 2, 1, false);
      const o = b.argsort(x, -1, true);
      return [tv, ti, b.add(i, 0), b.sort(x), o, b.takeAlong(x, o, 1)];
    },
  },
  {
    name: "compact (tuple and members), segment_sum/max, gather, cumsum",
    src: `graph g(m: bool[B, N], x: f32[B, N, C], seg: i32[B, N], idx: i32[B, K]) -> (i32[B, N], i32[B], f32[B, 5, C], f32[B, 5, C], f32[B, K, C], f32[B, N, C]) {
      let c = compact(m)
      let (ix, n) = compact(m)
      return c.indices, n + c.count, segment_sum(x, seg, 5, 1), segment_max(x, seg, num: 5, axis: 1), gather(x, idx, 1),
             cumsum(x, axis: 1, exclusive: true, reverse: true)
    }`,
    build: (b) => {
      const m = b.input("m", "bool", ["B", "N"]);
      const x = b.input("x", "f32", ["B", "N", "C"]);
      const seg = b.input("seg", "i32", ["B", "N"]);
      const idx = b.input("idx", "i32", ["B", "K"]);
      const [ci, cn] = b.compact(m);
      return [ci, b.add(cn, cn), b.segmentReduce("sum", x, seg, 5, 1), b.segmentReduce("max", x, seg, 5, 1), b.gather(x, idx, 1), b.cumsum(x, 1, true, true)];
    },
  },
  {
    name: "einsum",
    src: `graph g(x: f32[B, N, C], w: f32[C, E], y: f32[B, N, C]) -> (f32[B, N, E], f32[B, N], f32[B, C, N]) {
      return einsum("bnc,ce->bne", x, w), einsum("bnc,bnc->bn", x, y), einsum("bnc->bcn", x)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", "C"]);
      const w = b.input("w", "f32", ["C", "E"]);
      const y = b.input("y", "f32", ["B", "N", "C"]);
      return [b.einsum("bnc,ce->bne", x, w), b.einsum("bnc,bnc->bn", x, y), b.einsum("bnc->bcn", x)];
    },
  },
  {
    name: "attention: default scale, constant scale, score and mask hooks",
    src: `graph g(q: f32[B, H, N, 64], k: f32[B, H, M, 64], v: f32[B, H, M, 32], size: f32[B, M]) -> (f32[B, H, N, 32], f32[B, H, N, 32]) {
      let a = attention(q, k, v)
      let o = attention(q, k, v, scale: 1 / sqrt(64), score: (s, b, h, i, j) => s + log(size[b, j]),
                        mask: (b, h, i, j) => j <= i + 2)
      return a, o
    }`,
    build: (b) => {
      const q = b.input("q", "f32", ["B", "H", "N", 64]);
      const k = b.input("k", "f32", ["B", "H", "M", 64]);
      const v = b.input("v", "f32", ["B", "H", "M", 32]);
      const size = b.input("size", "f32", ["B", "M"]);
      const a = b.attention(q, k, v) as Tensor;
      const o = b.attention(q, k, v, {
        scale: 0.125,
        score: (s, [bb, , , j]) => S.add(s, S.log(S.load(size, [bb!, j!]))),
        mask: ([, , i, j]) => S.le(j!, S.add(i!, 2)),
      }) as Tensor;
      return [a, o];
    },
  },
  {
    name: "attention: symbolic head dim keeps scale auto; bias, value_scale, blocks; returns",
    src: `graph g(q: f16[B, N, D], k: f16[B, M, D], v: f16[B, M, D], bias: f32[B, M], route: i32[B, (N + 15) / 16, 4], m: bool[B, M])
        -> (f16[B, N, D], f32[B, N], f32[B, 1, M], f32[B, N]) {
      let (o, lse, p, mass) = attention(q, k, v, bias: bias, value_scale: bias, blocks: route, block_q: 16, block_k: 8,
                                       returns: [lse, probs(rows: [0]), mass(keys: m)])
      return o, lse, p, mass
    }`,
    build: (b) => {
      const q = b.input("q", "f16", ["B", "N", "D"]);
      const k = b.input("k", "f16", ["B", "M", "D"]);
      const v = b.input("v", "f16", ["B", "M", "D"]);
      const bias = b.input("bias", "f32", ["B", "M"]);
      const route = b.input("route", "i32", ["B", D.div(D.add("N", 15), 16), 4]);
      const m = b.input("m", "bool", ["B", "M"]);
      return b.attention(q, k, v, {
        bias,
        valueScale: bias,
        blocks: { route, blockQ: 16, blockK: 8 },
        returns: [{ kind: "lse" }, { kind: "probs", rows: b.constant([0], "i32") }, { kind: "mass", keys: m }],
      }) as Tensor[];
    },
  },
  {
    name: "attention returns named members; block_k defaults to block_q",
    src: `graph g(q: f32[B, N, 8], k: f32[B, N, 8], v: f32[B, N, 8], route: i32[B, (N + 3) / 4, 2]) -> (f32[B, N, 8], f32[B, N]) {
      let r = attention(q, k, v, blocks: route, block_q: 4, returns: [lse])
      return r.o, r.lse
    }`,
    build: (b) => {
      const q = b.input("q", "f32", ["B", "N", 8]);
      const k = b.input("k", "f32", ["B", "N", 8]);
      const v = b.input("v", "f32", ["B", "N", 8]);
      const route = b.input("route", "i32", ["B", D.div(D.add("N", 3), 4), 2]);
      return b.attention(q, k, v, { blocks: { route, blockQ: 4, blockK: 4 }, returns: [{ kind: "lse" }] }) as Tensor[];
    },
  },
  {
    name: "iterate with a tuple state, a block lambda and the iteration index",
    src: `param T: int = 4
    graph g(x: f32[B, N], c: i32[B]) -> (f32[B, N], i32[B]) {
      let (y, n) = iterate(T, (x, c), (s, k, t) => {
        let s2 = s * 0.5 + cast(t, f32)
        return s2, k + 1
      })
      return y, n
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N"]);
      const c = b.input("c", "i32", ["B"]);
      return b.iterate(4, [x, c], ([s, k], t) => [b.add(b.mul(s!, 0.5), b.cast(t, "f32")), b.add(k!, 1)]);
    },
  },
  {
    name: "iterate with one tensor state and an expression lambda",
    src: `graph g(x: f32[N]) -> f32[N] {
      return iterate(3, x, (s) => softmax(s + x))
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["N"]);
      return b.iterate(3, [x], ([s]) => [b.softmax(b.add(s!, x))])[0]!;
    },
  },
  {
    name: "fn inlining with dims bound from arguments and a default argument",
    src: `fn l2norm(x: float[B, N, D], eps: float = 1e-12) -> float[B, N, D] {
      let n[b, i] = sum(d) x[b, i, d] * x[b, i, d]
      return x / sqrt(n[:, :, None] + eps)
    }
    fn pick(x: tensor[A, K], k: int) -> tensor[A, k] {
      return x[:, :k]
    }
    graph g(x: f32[B, N, C], y: f16[N, 7]) -> (f32[B, N, C], f16[N, 3]) {
      return l2norm(x), pick(y, 3)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", "C"]);
      const y = b.input("y", "f16", ["N", 7]);
      const n = b.compute(["B", "N"], (bb, i) => S.sum(["C"], (d) => S.mul(S.load(x, [bb!, i!, d!]), S.load(x, [bb!, i!, d!]))));
      return [b.div(x, b.sqrt(b.add(b.unsqueeze(n, 2), 1e-12))), b.slice(y, 1, undefined, 3)];
    },
  },
  {
    name: "params with -D overrides in dims and values",
    src: `param r: int = 16
    param eps: float = 0.5
    param scaled: bool = false
    graph g(x: f32[B, N, C]) -> f32[B, max(N - r, 0), C] {
      let y = x[:, r:] * eps
      return scaled ? y * 2 : y
    }`,
    opts: { defines: { r: 3, scaled: true, eps: 0.25 } },
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", "C"]);
      return b.mul(b.mul(b.slice(x, 1, 3), 0.25), 2);
    },
  },
  {
    name: "quantize and dequant",
    src: `graph g(x: f32[B, N, 64]) -> (u32[B, N, 8], f32[B, N, 64], f32[B, N, 64]) {
      let (p, s, z) = quantize(x, 4)
      let q = quantize(x, 3, axis: -2)
      return p, dequant(p, s, z, bits: 4, n: 64), dequant(q.packed, q.scale, q.zero, bits: 3, n: 64, axis: -2)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "N", 64]);
      const [p, s, z] = b.quantize(x, 4);
      const [p3, s3, z3] = b.quantize(x, 3, -2);
      return [p, b.dequantize(p, s, z, 4, 64), b.dequantize(p3, s3, z3, 3, 64, -2)];
    },
  },
  {
    name: "dwconv2d, layernorm, rmsnorm",
    src: `graph g(x: f32[B, H, W, C], w: f32[C, 3, 3], bias: f32[C], lw: f16[C]) -> (f32[B, H, W, C], f32[B, H, W, C], f32[B, H, W, C]) {
      return dwconv2d(x, w, bias) + dwconv2d(x, w), layernorm(x, lw, bias, eps: 1e-6) + layernorm(x), rmsnorm(x, lw)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", "H", "W", "C"]);
      const w = b.input("w", "f32", ["C", 3, 3]);
      const bias = b.input("bias", "f32", ["C"]);
      const lw = b.input("lw", "f16", ["C"]);
      return [b.add(b.dwconv2d(x, w, bias), b.dwconv2d(x, w)), b.add(b.layernorm(x, lw, bias, 1e-6), b.layernorm(x)), b.rmsnorm(x, lw)];
    },
  },
  {
    name: "regions / unregions, split_heads / merge_heads",
    src: `graph g(x: f32[B, 8, 12, C], t: f32[B, N, 64]) -> (f32[B, 8, 12, C], f32[B, 4, N, 16], f32[B, N, 64]) {
      let r = regions(x, 2, 3)
      let h = split_heads(t, 4)
      return unregions(r * 2, 2, 3, h: 8, w: 12), h, merge_heads(h)
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", 8, 12, "C"]);
      const t = b.input("t", "f32", ["B", "N", 64]);
      const r = b.regions(x, 2, 3);
      const h = b.permute(b.reshape(t, ["B", "N", 4, 16]), [0, 2, 1, 3]);
      const m = b.reshape(b.permute(h, [0, 2, 1, 3]), ["B", "N", 64]);
      return [b.unregions(b.mul(r, 2), 2, 3, 8, 12), h, m];
    },
  },
  {
    name: "constructors: arange, zeros, ones, full, tensor; symbolic dims as values",
    src: `graph g(x: f32[N, C]) -> (i32[N], f32[N, C], f16[2, C], f32[3], f32[N, C], i32[]) {
      return arange(N) * 2, zeros([N, C]) + x, ones([2, C], dtype: f16), tensor([1, 2.5, -3]), full([N, C], 0.5) * x, N + 0
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["N", "C"]);
      const Nscalar = b.compute([], () => S.dim("N"));
      return [
        b.mul(b.arange("N"), 2),
        b.add(b.full(["N", "C"], 0, "f32"), x),
        b.full([2, "C"], 1, "f16"),
        b.constant([1, 2.5, -3], "f32"),
        b.mul(b.full(["N", "C"], 0.5, "f32"), x),
        Nscalar,
      ];
    },
  },
  {
    name: "static ternary on a param chooses one branch",
    src: `param causal: bool = true
    graph g(s: f32[N, N]) -> f32[N, N] {
      return causal ? softmax(s) : exp(s)
    }`,
    build: (b) => b.softmax(b.input("s", "f32", ["N", "N"])),
  },
  {
    name: "compile-time folding in dims and literals",
    src: `param r: int = 5
    graph g(x: f32[B, 2 * r + 1, C]) -> f32[B, 6, C] {
      let k = ceil(11 / 2)
      let y = x[:, :k] * (1 / sqrt(64)) + max(2, 3) * 0.5
      return y
    }`,
    build: (b) => {
      const x = b.input("x", "f32", ["B", 11, "C"]);
      return b.add(b.mul(b.slice(x, 1, undefined, 6), 0.125), 1.5);
    },
  },
  {
    name: "weak literals inside index notation and hooks adopt the operand dtype (ternary, max, where)",
    src: `graph g(h: f16[N], q: f16[N, 4], k: f16[N, 4], v: f16[N, 4]) -> (f16[N], f16[N], f16[N], f16[N, 4]) {
      let z[j] = j == 0 ? h[j] : 0.5
      let w[j] = max(h[j], 0) + clamp(h[j], -1, 1)
      let u[j] = where(h[j] > 0, h[j], 2)
      return z, w, u, attention(q, k, v, score: (s, i, j) => s * 0.5 - 1)
    }`,
    build: (b) => {
      const h = b.input("h", "f16", ["N"]);
      const q = b.input("q", "f16", ["N", 4]);
      const k = b.input("k", "f16", ["N", 4]);
      const v = b.input("v", "f16", ["N", 4]);
      const ld = (j: import("../../compiler/graph/expr.ts").SVar) => S.load(h, [j]);
      return [
        b.compute(["N"], (j) => S.select(S.eq(j!, 0), ld(j!), 0.5)),
        b.compute(["N"], (j) => S.add(S.binary("max", ld(j!), 0), S.binary("min", S.binary("max", ld(j!), -1), 1))),
        b.compute(["N"], (j) => S.select(S.gt(ld(j!), 0), ld(j!), 2)),
        b.attention(q, k, v, { score: (s) => S.sub(S.mul(s, 0.5), 1) }) as Tensor,
      ];
    },
  },
  {
    name: "an integral float literal (1.0) next to an int stays a float",
    src: `graph g(i: i32[N], x: f16[N]) -> (f32[N], f32[N], f16[N], f32[N]) {
      let z[j] = i[j] + 1.0
      return i * 1.0, z, x * 1.0, where(x > 0, 1.0, 2)
    }`,
    build: (b) => {
      const i = b.input("i", "i32", ["N"]);
      const x = b.input("x", "f16", ["N"]);
      return [
        b.mul(i, b.scalar(1, "f32")),
        b.compute(["N"], (j) => S.add(S.load(i, [j!]), S.const(1, "f32"))),
        b.mul(x, 1),
        b.where(b.binary("gt", x, 0), b.scalar(1, "f32"), 2),
      ];
    },
  },
  {
    name: "multiple graphs in one module share nothing",
    graph: "second",
    src: `graph first(x: f32[N]) -> f32[N] { return x + 1 }
    graph second(x: f32[N], y: f32[N]) -> f32[N] { return x * y }`,
    build: (b) => b.mul(b.input("x", "f32", ["N"]), b.input("y", "f32", ["N"])),
  },
];

describe("DSL ≡ GraphBuilder (printed IR)", () => {
  it("has at least 25 pairs", () => expect(pairs.length).toBeGreaterThanOrEqual(25));
  for (const p of pairs) {
    it(p.name, () => {
      const name = p.graph ?? "g";
      const fromDsl = dslText(p.src, p.opts, p.graph);
      const fromBuilder = builderText(name, p.build);
      expect(fromDsl).toBe(fromBuilder);
    });
  }
});
