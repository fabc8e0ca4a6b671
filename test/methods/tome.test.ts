/**
 * ToMe (methods.md §2) — examples/tome (`tome_merge`, `tome_block`) against an independent
 * float64 reference written from §2.2 (balanced bipartite soft matching, size-weighted merge,
 * output order concat(kept A, B'), kept A ascending with a class token and in similarity order
 * without one) and §2.3 (proportional attention).
 *
 * Ties: lowest index wins everywhere (argmax over B, and the stable descending argsort of the
 * best scores), per §0.3.
 *
 * Decisions (the argmax / argsort) are taken on the metric normalised and rounded to f32 and on
 * f32-rounded similarities, as the graph computes them, so that sims equal in f32 tie the same
 * way in both; values are then compared with |a − b| ≤ 1e-5·max(1, |ref|).
 */
import { afterAll, describe, expect, it } from "vitest";
import { hostTensor } from "../../compiler/graph/interp.ts";
import {
  type T64, argmax, argsortDesc, blockInputs, blockWeights, compileExample, compileLocal, expectClose, expectExact, f32In,
  randint, randn, randu, reportMaxSeen, runGraph, t64, tiedMetric, vitBlockRef, zeros64, describeBackends, runOn, type Backend,
} from "./util.ts";

afterAll(() => reportMaxSeen("tome"));

/** ToMe merge (§2.2) of one batch: returns merged x [B, N−r, C], sizes [B, N−r], slot map [B, N]. */
function tomeRef(x: T64, metric: T64, size: T64, r: number, cls: boolean): { x: T64; size: T64; seg: T64 } {
  const [B, N, C] = x.shape as [number, number, number];
  const D = metric.shape[2]!;
  // step 1: r_eff ≤ 0 → do nothing (identity, original order)
  const M = N - r;
  const xo = zeros64([B, M, C]);
  const so = zeros64([B, M]);
  const seg = zeros64([B, N]);
  for (let b = 0; b < B; b++) {
    if (r <= 0) {
      for (let n = 0; n < N; n++) {
        seg.data[b * N + n] = n;
        so.data[b * M + n] = size.data[b * N + n]!;
        for (let c = 0; c < C; c++) xo.data[(b * M + n) * C + c] = x.data[(b * N + n) * C + c]!;
      }
      continue;
    }
    // step 2: normalise (rounded to f32 as the graph stores it)
    const mh = new Float64Array(N * D);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += metric.data[(b * N + n) * D + d]! ** 2;
      const nr = Math.max(Math.sqrt(s), 1e-12);
      for (let d = 0; d < D; d++) mh[n * D + d] = Math.fround(metric.data[(b * N + n) * D + d]! / nr);
    }
    const na = Math.ceil(N / 2);
    const nb = Math.floor(N / 2);
    // steps 3-6
    const best: number[] = [];
    const dst: number[] = [];
    for (let a = 0; a < na; a++) {
      const row: number[] = [];
      for (let j = 0; j < nb; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += mh[2 * a * D + d]! * mh[(2 * j + 1) * D + d]!;
        row.push(cls && a === 0 ? -Infinity : Math.fround(s));
      }
      dst.push(argmax(row));
      best.push(Math.max(...row));
    }
    // step 7
    const order = argsortDesc(best);
    const src = order.slice(0, r);
    const unm = order.slice(r);
    if (cls) unm.sort((p, q) => p - q);
    // step 8-9: out = concat(kept A, B'), size-weighted
    const num = new Float64Array(M * C);
    const den = new Float64Array(M);
    const add = (slot: number, n: number) => {
      const s = size.data[b * N + n]!;
      den[slot]! += s;
      for (let c = 0; c < C; c++) num[slot * C + c]! += s * x.data[(b * N + n) * C + c]!;
      seg.data[b * N + n] = slot;
    };
    unm.forEach((a, p) => add(p, 2 * a));
    for (let j = 0; j < nb; j++) add(na - r + j, 2 * j + 1);
    for (const a of src) add(na - r + dst[a]!, 2 * a);
    for (let m = 0; m < M; m++) {
      so.data[b * M + m] = den[m]!;
      for (let c = 0; c < C; c++) xo.data[(b * M + m) * C + c] = num[m * C + c]! / den[m]!;
    }
  }
  return { x: xo, size: so, seg };
}

async function runMerge(be: Backend, g: ReturnType<typeof compileExample>, x: T64, metric: T64, size: T64, r: number, cls: boolean, what: string) {
  const [xm, sm, seg] = await runOn(be, g, { x: f32In(x), metric: f32In(metric), size: f32In(size) });
  const ref = tomeRef(x, metric, size, r, cls);
  expectExact(`${what}: seg`, seg!, ref.seg);
  expectClose(`tome_merge: ${what} x`, xm!, ref.x);
  expectClose(`tome_merge: ${what} size`, sm!, ref.size);
}

/** bipartite_merge with protect_first: false (the example hard-codes true), from a test-local program. */
function noProtectGraph(r: number) {
  return compileLocal("tome-noprotect", `import { bipartite_merge } from "std/merge"
param r: int = 1
graph tome_merge(x: f32[B, N, C], metric: f32[B, N, D], size: f32[B, N]) -> (f32[B, N - r, C], f32[B, N - r], i32[B, N]) {
  let (xm, sm, seg) = bipartite_merge(x, metric, size, r, protect_first: false)
  return xm, sm, seg
}`, { r });
}

describeBackends("ToMe merge (examples/tome tome_merge) vs the §2.2 reference", (be) => {
  const cases: [number, number][] = [
    [33, 8], [33, 16], [32, 15], [32, 1], [9, 4], [8, 3], [5, 2], [33, 0], [8, 0], [67, 8], [129, 16], [129, 64],
  ];
  for (const [N, r] of cases)
    it(`random inputs, N = ${N}, r = ${r}${r === Math.floor((N - 1) / 2) ? " (max)" : ""}`, async () => {
      const g = compileExample("tome", "tome_merge", { r });
      const B = 2, C = 6, D = 5;
      const seed = N * 100 + r;
      await runMerge(be, g, randn([B, N, C], seed), randn([B, N, D], seed + 1), randu([B, N], seed + 2, 0.5, 3), r, true, `N${N} r${r}`);
    });

  for (const [N, r] of [[17, 5], [16, 7], [33, 16], [12, 0]] as [number, number][])
    it(`ties (metric rows repeated from 5 exact base vectors, integer sizes), N = ${N}, r = ${r}`, async () => {
      const g = compileExample("tome", "tome_merge", { r });
      const B = 3, C = 4, D = 4;
      const size = randint([B, N], N, 3);
      for (let i = 0; i < size.data.length; i++) size.data[i]! += 1;
      await runMerge(be, g, randn([B, N, C], N + 7), tiedMetric(B, N, D, 5, N + r), size, r, true, `ties N${N} r${r}`);
    });

  it("all tokens identical: every similarity ties; the lowest index wins throughout", async () => {
    const N = 11, r = 5, B = 1;
    const g = compileExample("tome", "tome_merge", { r });
    const metric = t64([B, N, 2], Array.from({ length: 2 * N }, () => 1));
    const x = randn([B, N, 3], 5);
    const size = t64([B, N], Array(N).fill(1));
    await runMerge(be, g, x, metric, size, r, true, "all-equal");
    // by hand: A = 0,2,..,10; cls (A0) is never a source; A1..A5 (ranks 0..4) all merge into B0 (slot 1)
    const ref = tomeRef(x, metric, size, r, true);
    expect(Array.from(ref.seg.data)).toEqual([0, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1]);
  });

  for (const [N, r] of [[33, 8], [16, 8], [15, 7], [10, 0]] as [number, number][])
    it(`class-token protection off (bipartite_merge protect_first: false), N = ${N}, r = ${r}`, async () => {
      const g = noProtectGraph(r);
      const B = 2;
      await runMerge(be, g, randn([B, N, 5], N), randn([B, N, 4], N + 1), randu([B, N], N + 2, 0.5, 2), r, false, `noprot N${N} r${r}`);
      await runMerge(be, g, randn([B, N, 5], N + 3), tiedMetric(B, N, 4, 5, N + 4), t64([B, N], Array(B * N).fill(1)), r, false, `noprot ties N${N} r${r}`);
    });
});

describeBackends("ToMe block (examples/tome tome_block) vs the §2.1-2.3 reference", (be) => {
  for (const [N, r] of [[17, 4], [16, 7], [9, 16], [6, 0], [2, 3]] as [number, number][])
    it(`N = ${N}, r = ${r} (r_eff = ${Math.min(r, Math.floor((N - 1) / 2))})`, async () => {
      const B = 2, C = 16, F = 24, heads = 4;
      const g = compileExample("tome", "tome_block", { r, heads });
      const w = blockWeights(C, F, N * 31 + r);
      const x = randn([B, N, C], N + r);
      const size = randint([B, N], N, 4);
      for (let i = 0; i < size.data.length; i++) size.data[i]! += 1;
      const re = Math.min(r, Math.floor((N - 1) / 2));
      const ref = vitBlockRef(x, size, w, heads, true, (x1, m, s) => tomeRef(x1, m, s, re, true));
      const [xo, so] = await runOn(be, g, blockInputs(x, size, w), { F });
      expectClose("tome_block: x", xo!, ref.x);
      expectClose("tome_block: size", so!, ref.size);
    });
});

describe("ToMe schedule sanity (§2.4)", () => {
  it("r = 16 on 197 tokens: 197 → 181 → … → 11 after 12 layers, via the output shapes", () => {
    let n = 197;
    const counts = [n];
    for (let l = 0; l < 12; l++) {
      n -= Math.min(16, Math.floor((n - 1) / 2));
      counts.push(n);
    }
    expect(counts[1]).toBe(181);
    expect(counts[12]).toBe(11);
    const g = compileExample("tome", "tome_merge", { r: 16 });
    const [xm] = runGraph(g, { x: hostTensor("f32", [1, 197, 1], Array(197).fill(1)), metric: f32In(randn([1, 197, 3], 1)), size: hostTensor("f32", [1, 197], Array(197).fill(1)) });
    expect(xm!.shape).toEqual([1, 181, 1]);
  });
});
