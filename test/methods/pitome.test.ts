/**
 * PiToMe (methods.md §3) — examples/pitome (`pitome`, `pitome_block`) against an independent
 * float64 reference written from §3.2: metric = keys averaged over heads with [CLS] dropped,
 * energy E_i = mean_j ELU(cos_ij − margin) (code form, diagonal included), order = argsort↓(E);
 *   - protected variant: merge = order[:2r] alternating into A / Bset, every A merges into its
 *     most similar Bset token; output [cls, protected (descending energy), Bset' (r)];
 *   - BSM variant: A = order[0::2], Bset = order[1::2] over all T, ToMe-style best match, argsort↓,
 *     top r merge, the rest of A kept in similarity order; output [cls, unmerged A, Bset'];
 * merged with ToMe's size-weighted mean (sizes summed). Ties go to the lowest index (§0.3).
 *
 * r = 0 is what floor(T − T·ρ) gives for ρ < 1 with small T: the reference code then still
 * reorders (protected tokens in energy order). ρ ≥ 1 ("skip", §3.2 step 1) is the caller's
 * business: the program takes r, not ρ.
 *
 * Decisions are taken on f32-rounded normalised metrics, similarities and energies, as the graph
 * stores them; values are compared with |a − b| ≤ 1e-5·max(1, |ref|).
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  type T64, argmax, argsortDesc, blockInputs, blockWeights, compileExample, expectClose, f32In, randint, randn, randu,
  reportMaxSeen, runOn, describeBackends, type Backend, t64, tiedMetric, vitBlockRef, zeros64,
} from "./util.ts";

afterAll(() => reportMaxSeen("pitome"));

const elu = (z: number): number => (z > 0 ? z : Math.exp(z) - 1);

/** One PiToMe merge (§3.2) of metric [B, N, D] (cls first). Returns merged x, sizes and slot map. */
export function pitomeRef(x: T64, metric: T64, size: T64, r: number, margin: number, bsm: boolean): { x: T64; size: T64; seg: number[][] } {
  const [B, N, C] = x.shape as [number, number, number];
  const D = metric.shape[2]!;
  const T = N - 1;
  const M = N - r;
  const xo = zeros64([B, M, C]);
  const so = zeros64([B, M]);
  const segs: number[][] = [];
  for (let b = 0; b < B; b++) {
    const mh = new Float64Array(T * D);
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += metric.data[(b * N + t + 1) * D + d]! ** 2;
      const nr = Math.max(Math.sqrt(s), 1e-12);
      for (let d = 0; d < D; d++) mh[t * D + d] = Math.fround(metric.data[(b * N + t + 1) * D + d]! / nr);
    }
    const S = (i: number, j: number) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += mh[i * D + d]! * mh[j * D + d]!;
      return Math.fround(s);
    };
    const E: number[] = [];
    for (let i = 0; i < T; i++) {
      let e = 0;
      for (let j = 0; j < T; j++) e += elu(S(i, j) - margin);
      E.push(Math.fround(e / T));
    }
    const order = argsortDesc(E);
    const seg = new Array<number>(N).fill(-1);
    seg[0] = 0;
    if (!bsm) {
      const merge = order.slice(0, 2 * r);
      const prot = order.slice(2 * r);
      const A = merge.filter((_, p) => p % 2 === 0);
      const Bs = merge.filter((_, p) => p % 2 === 1);
      prot.forEach((t, p) => (seg[t + 1] = 1 + p));
      Bs.forEach((t, q) => (seg[t + 1] = 1 + prot.length + q));
      for (const a of A) seg[a + 1] = 1 + prot.length + argmax(Bs.map((bt) => S(a, bt)));
    } else {
      const A = order.filter((_, p) => p % 2 === 0);
      const Bs = order.filter((_, p) => p % 2 === 1);
      const dst = A.map((a) => argmax(Bs.map((bt) => S(a, bt))));
      const best = A.map((a, p) => S(a, Bs[dst[p]!]!));
      const ord = argsortDesc(best);
      const unm = ord.slice(r);
      unm.forEach((p, k) => (seg[A[p]! + 1] = 1 + k));
      Bs.forEach((t, q) => (seg[t + 1] = 1 + unm.length + q));
      for (const p of ord.slice(0, r)) seg[A[p]! + 1] = 1 + unm.length + dst[p]!;
    }
    const num = new Float64Array(M * C);
    const den = new Float64Array(M);
    for (let n = 0; n < N; n++) {
      const s = size.data[b * N + n]!;
      den[seg[n]!]! += s;
      for (let c = 0; c < C; c++) num[seg[n]! * C + c]! += s * x.data[(b * N + n) * C + c]!;
    }
    for (let m = 0; m < M; m++) {
      so.data[b * M + m] = den[m]!;
      for (let c = 0; c < C; c++) xo.data[(b * M + m) * C + c] = num[m * C + c]! / den[m]!;
    }
    segs.push(seg);
  }
  return { x: xo, size: so, seg: segs };
}

/** Keys k [B, Mh, N, D] averaged over heads: the metric. */
function meanHeads(k: T64): T64 {
  const [B, Mh, N, D] = k.shape as [number, number, number, number];
  const out = zeros64([B, N, D]);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Mh; h++)
      for (let i = 0; i < N * D; i++) out.data[b * N * D + i]! += k.data[(b * Mh + h) * N * D + i]! / Mh;
  return out;
}

async function runPitome(be: Backend, x: T64, k: T64, size: T64, r: number, margin: number, bsm: boolean, what: string) {
  const g = compileExample("pitome", "pitome", { r, margin, bsm });
  const [xm, sm] = await runOn(be, g, { x: f32In(x), k: f32In(k), size: f32In(size) });
  // the graph averages the heads in f32
  const metric = meanHeads(k);
  for (let i = 0; i < metric.data.length; i++) metric.data[i] = Math.fround(metric.data[i]!);
  const ref = pitomeRef(x, metric, size, r, margin, bsm);
  expectClose(`pitome: ${what} x`, xm!, ref.x);
  expectClose(`pitome: ${what} size`, sm!, ref.size);
  return ref;
}

describeBackends("PiToMe merge (examples/pitome pitome) vs the §3.2 reference", (be) => {
  for (const bsm of [false, true])
    describe(bsm ? "BSM variant (pitome_bsm)" : "protected variant (pitome)", () => {
      const cases: [number, number, number][] = [
        [33, 6, 0.75], [67, 6, 0.75], [129, 16, 0.5], [33, 16, 0.5], [32, 15, 0.6875], [32, 1, 0.0625], [10, 4, 0.75], [9, 4, 0.3], [17, 0, 0.75], [4, 1, 0.1],
      ];
      for (const [N, r, margin] of cases)
        it(`random, N = ${N} (T = ${N - 1}), r = ${r}${r === Math.floor((N - 1) / 2) ? " (max)" : ""}, margin ${margin}`, async () => {
          const B = 2, Mh = 3, D = 5, C = 6;
          const seed = N * 1000 + r * 10 + (bsm ? 1 : 0);
          // keys with a shared component so that similarities spread over both ELU branches
          const k = randn([B, Mh, N, D], seed);
          for (let i = 0; i < k.data.length; i++) if (i % D === 0) k.data[i] = Math.fround(k.data[i]! + 1.5);
          await runPitome(be, randn([B, N, C], seed + 1), k, randu([B, N], seed + 2, 0.5, 3), r, margin, bsm, `N${N} r${r}`);
        });

      for (const [N, r] of [[17, 5], [16, 7], [12, 3], [9, 0]] as [number, number][])
        it(`ties (tokens repeated from exact base vectors, integer sizes), N = ${N}, r = ${r}`, async () => {
          const B = 3, D = 4;
          const metric = tiedMetric(B, N, D, 4, N * 7 + r);
          const k = zeros64([B, 1, N, D]);
          k.data.set(metric.data);
          const size = randint([B, N], N + 3, 3);
          for (let i = 0; i < size.data.length; i++) size.data[i]! += 1;
          await runPitome(be, randn([B, N, 3], N), k, size, r, 0.5, bsm, `ties N${N} r${r}`);
        });
    });

  it("by hand: all tokens identical — every energy and similarity ties, lowest index wins", async () => {
    const N = 9, r = 3, B = 1;
    const k = t64([B, 1, N, 2], Array(2 * N).fill(1));
    const x = randn([B, N, 2], 3);
    const size = t64([B, N], Array(N).fill(1));
    // protected: order = 0..7 (T = 8); A = {0, 2, 4} → Bset[0] = token 1; protected 6, 7
    let ref = await runPitome(be, x, k, size, r, 0.75, false, "all-equal");
    expect(ref.seg[0]).toEqual([0, 3, 3, 3, 4, 3, 5, 1, 2]);
    // BSM: A = 0,2,4,6 all match Bset[0]; A ranks 0..2 merge; A = 6 kept (slot 1)
    ref = await runPitome(be, x, k, size, r, 0.75, true, "all-equal bsm");
    expect(ref.seg[0]).toEqual([0, 2, 2, 2, 3, 2, 4, 1, 5]);
  });
});

describeBackends("PiToMe block (examples/pitome pitome_block) vs the reference (no proportional attention)", (be) => {
  for (const bsm of [false, true])
    for (const [N, r] of [[17, 4], [12, 5]] as [number, number][])
      it(`${bsm ? "BSM" : "protected"}, N = ${N}, r = ${r}`, async () => {
        const B = 2, C = 16, F = 24, heads = 4, margin = 0.6875;
        const g = compileExample("pitome", "pitome_block", { r, heads, margin, bsm });
        const w = blockWeights(C, F, N * 13 + r);
        const x = randn([B, N, C], N + r);
        const size = randu([B, N], N, 1, 3);
        const ref = vitBlockRef(x, size, w, heads, false, (x1, m, s) => {
          const mr = { shape: m.shape, data: m.data.map((v) => Math.fround(v)) };
          return pitomeRef(x1, mr, s, r, margin, bsm);
        });
        const [xo, so] = await runOn(be, g, blockInputs(x, size, w), { F });
        expectClose("pitome_block: x", xo!, ref.x);
        expectClose("pitome_block: size", so!, ref.size);
      });
});

describe("PiToMe schedule (§3.3)", () => {
  it("ρ = 0.9 on 196 patches: r = floor(T − T·ρ) gives 196, 177, 160, … 65, 59", () => {
    const counts = [196];
    for (let l = 0; l < 12; l++) {
      const T = counts[counts.length - 1]!;
      counts.push(T - Math.floor(T - T * 0.9));
    }
    expect(counts).toEqual([196, 177, 160, 144, 130, 117, 106, 96, 87, 79, 72, 65, 59]);
    expect(Array.from({ length: 12 }, (_, l) => 0.75 - (0.75 * l) / 12)[1]).toBeCloseTo(0.6875, 12);
  });
});
