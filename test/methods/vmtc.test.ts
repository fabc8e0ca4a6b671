/**
 * VMTC (methods.md §4.1, [PAPER]+[RECON]) — examples/vmtc (`vmtc`) against an independent float64
 * reference written from §4.1 and the free parameters the example fixes (its README):
 *   IPS_i = mean_h P_cls[h, i]; primaries = top-K_p by IPS, kept in raster order; the rest
 *   (ascending) are clustered by spherical k-means on their L2-normalised features: init = the
 *   top-K_c-IPS redundant tokens (in descending IPS order), n_it Lloyd steps (cosine assignment,
 *   ties → lowest center; center = normalised member sum; an empty cluster keeps its center),
 *   then a final assignment; each cluster → IPS-weighted mean of the raw features (an empty
 *   cluster → zeros); output [primaries, merged clusters].
 * Top-k ties go to the lowest index (§0.3).
 *
 * Decisions are taken on f32-rounded IPS, normalised features, centers and cosines, as the graph
 * stores them; values are compared with |a − b| ≤ 1e-5·max(1, |ref|).
 */
import { afterAll, describe, expect, it } from "vitest";
import { type T64, argmax, argsortDesc, compileExample, expectClose, f32In, randint, randn, randu, reportMaxSeen, runOn, describeBackends, type Backend, zeros64 } from "./util.ts";

afterAll(() => reportMaxSeen("vmtc"));

const fr = Math.fround;

function normalize(v: Float64Array): Float64Array {
  let s = 0;
  for (const a of v) s += a * a;
  const n = Math.max(Math.sqrt(s), 1e-12);
  return v.map((a) => fr(a / n));
}

const dotf = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return fr(s);
};

function vmtcRef(f: T64, attn: T64, kp: number, kc: number, iters: number): { out: T64; prim: number[][]; assign: number[][] } {
  const [B, N, C] = f.shape as [number, number, number];
  const M = attn.shape[1]!;
  const out = zeros64([B, kp + kc, C]);
  const prims: number[][] = [];
  const assigns: number[][] = [];
  for (let b = 0; b < B; b++) {
    const row = (n: number) => f.data.subarray((b * N + n) * C, (b * N + n + 1) * C);
    const ips: number[] = [];
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let h = 0; h < M; h++) s += attn.data[(b * M + h) * N + n]!;
      ips.push(fr(s / M));
    }
    const prim = argsortDesc(ips).slice(0, kp).sort((p, q) => p - q);
    const isPrim = new Set(prim);
    const red = Array.from({ length: N }, (_, n) => n).filter((n) => !isPrim.has(n));
    const fu = red.map((n) => normalize(Float64Array.from(row(n))));
    const wr = red.map((n) => ips[n]!);
    let mu = argsortDesc(wr).slice(0, kc).map((p) => fu[p]!);
    const assign = () => fu.map((v) => argmax(mu.map((m) => dotf(v, m))));
    for (let it = 0; it < iters; it++) {
      const a = assign();
      mu = mu.map((old, c) => {
        const sum = new Float64Array(C);
        let count = 0;
        a.forEach((ac, p) => {
          if (ac !== c) return;
          count++;
          for (let e = 0; e < C; e++) sum[e]! += fu[p]![e]!;
        });
        return count > 0 ? normalize(sum.map(fr)) : old;
      });
    }
    const a = assign();
    for (let m = 0; m < kp; m++) out.data.set(row(prim[m]!), (b * (kp + kc) + m) * C);
    for (let c = 0; c < kc; c++) {
      const num = new Float64Array(C);
      let den = 0;
      a.forEach((ac, p) => {
        if (ac !== c) return;
        den += wr[p]!;
        const fv = row(red[p]!);
        for (let e = 0; e < C; e++) num[e]! += wr[p]! * fv[e]!;
      });
      for (let e = 0; e < C; e++) out.data[(b * (kp + kc) + kp + c) * C + e] = den > 0 ? num[e]! / den : 0;
    }
    prims.push(prim);
    assigns.push(a);
  }
  return { out, prim: prims, assign: assigns };
}

async function runVmtc(be: Backend, f: T64, attn: T64, kp: number, kc: number, iters: number, what: string) {
  const g = compileExample("vmtc", "vmtc", { kp, kc, iters });
  const [y] = await runOn(be, g, { f: f32In(f), cls_attn: f32In(attn) });
  const ref = vmtcRef(f, attn, kp, kc, iters);
  expectClose(`vmtc: ${what}`, y!, ref.out);
  return ref;
}

/** Softmax-like positive attention rows [B, M, N] (sum 1 over N). */
function softAttn(B: number, M: number, N: number, seed: number): T64 {
  const z = randn([B, M, N], seed, 2);
  const out = zeros64([B, M, N]);
  for (let r = 0; r < B * M; r++) {
    let s = 0;
    for (let n = 0; n < N; n++) s += Math.exp(z.data[r * N + n]!);
    for (let n = 0; n < N; n++) out.data[r * N + n] = fr(Math.exp(z.data[r * N + n]!) / s);
  }
  return out;
}

// The cases share (kp, kc) where the edge case does not need values of its own: each (kp, kc)
// is one program, and each program costs seconds of shader compilation on SwiftShader.
describeBackends("VMTC (examples/vmtc) vs the §4.1 reference", (be) => {
  const cases: [number, number, number, number][] = [
    // N, kp, kc, iters
    [64, 8, 8, 10],
    [64, 8, 8, 0], // no Lloyd step: the init centers assign
    [63, 5, 7, 3], // odd N
    [129, 8, 8, 10], // N past two 64-wide tiles
    [40, 4, 1, 5], // one cluster: the IPS-weighted mean of every redundant token
    [32, 1, 4, 10],
    [16, 8, 8, 4], // kp + kc = N: every redundant token is its own cluster
    [30, 20, 3, 2],
  ];
  for (const [N, kp, kc, iters] of cases)
    it(`random, N = ${N}, kp = ${kp}, kc = ${kc}, iters = ${iters}`, async () => {
      const B = 2, C = 6, M = 3;
      const seed = N * 100 + kp * 10 + kc + iters;
      // features around a few directions so that the clusters are not trivial
      const f = randn([B, N, C], seed);
      const dirs = randn([4, C], seed + 9, 2);
      for (let n = 0; n < B * N; n++) for (let c = 0; c < C; c++) f.data[n * C + c] = fr(f.data[n * C + c]! * 0.5 + dirs.data[(n % 4) * C + c]!);
      const ref = await runVmtc(be, f, softAttn(B, M, N, seed + 1), kp, kc, iters, `N${N} kp${kp} kc${kc} it${iters}`);
      if (kp + kc === N) for (const a of ref.assign) expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: kc }, (_, c) => c));
    });

  it("ties: integer attention (equal IPS) and features repeated from 3 exact directions", async () => {
    const B = 2, N = 30, C = 4, M = 2, kp = 5, kc = 7, iters = 4;
    const attn = randint([B, M, N], 5, 3);
    for (let i = 0; i < attn.data.length; i++) attn.data[i]! += 1;
    const base = [2, 0, 0, 0, 0, 0, 4, 0, 1, 1, 1, 1];
    const pick = randint([B, N], 6, 3);
    const f = zeros64([B, N, C]);
    for (let n = 0; n < B * N; n++) for (let c = 0; c < C; c++) f.data[n * C + c] = base[pick.data[n]! * C + c]! * (1 + (n % 3));
    const ref = await runVmtc(be, f, attn, kp, kc, iters, "ties");
    // duplicate init centers: the later duplicates never win a tie, so their clusters are empty (zeros)
    expect(ref.assign[0]!.every((c) => c < kc)).toBe(true);
  });

  it("all IPS equal: primaries are tokens 0..kp-1, init centers the first redundant tokens", async () => {
    const B = 1, N = 16, C = 5, M = 2, kp = 5, kc = 7;
    const attn = zeros64([B, M, N]);
    attn.data.fill(1 / N);
    const ref = await runVmtc(be, randn([B, N, C], 3), attn, kp, kc, 2, "equal IPS");
    expect(ref.prim[0]).toEqual([0, 1, 2, 3, 4]);
  });

  it("non-negative uniform features (cosines all positive)", async () => {
    await runVmtc(be, randu([2, 48, 8], 8), softAttn(2, 4, 48, 9), 8, 8, 10, "uniform");
  });
});
