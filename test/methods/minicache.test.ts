/**
 * MiniCache (methods.md §8): independent reference vs examples/minicache/minicache.attn on the
 * interpreter. Reference, from the §8.2–8.4 formulas (per (batch, head, token) d-vectors):
 *   n_a = ‖x_{l−1}‖, n_b = ‖x_l‖, Ω = arccos(clamp(cos, −1, 1)),
 *   e = [sin((1−t)Ω) x_{l−1}/n_a + sin(tΩ) x_l/n_b] / sin Ω (normalized lerp when sin Ω ≈ 0),
 *   δ = Ω/π, R = {δ > δ_min + (δ_max − δ_min)γ} per head;
 *   restore x̂ = n·e with the rows in R replaced by the stored originals; attention (1/√D) over the
 *   restored K and V of layer l.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rng, boolt, compileExample, expectClose, expectExact, f32t, refAttention, reportErrors, runOn, describeBackends, type Backend } from "./lm-util.ts";

const PATH = "examples/minicache/minicache.attn";

interface Comp { e: Float64Array; na: Float64Array; nb: Float64Array; keep: boolean[]; rowsPrev: Float64Array; rowsCur: Float64Array; count: number[] }

function refCompress(xa: Float64Array, xb: Float64Array, BH: number, T: number, D: number, t: number, gamma: number): Comp {
  const e = new Float64Array(BH * T * D), na = new Float64Array(BH * T), nb = new Float64Array(BH * T);
  const delta = new Float64Array(BH * T);
  for (let r = 0; r < BH * T; r++) {
    let sa = 0, sb = 0, dot = 0;
    for (let c = 0; c < D; c++) { const a = xa[r * D + c]!, b = xb[r * D + c]!; sa += a * a; sb += b * b; dot += a * b; }
    const A = Math.sqrt(sa), Bn = Math.sqrt(sb);
    na[r] = A; nb[r] = Bn;
    const om = Math.acos(Math.min(1, Math.max(-1, dot / (A * Bn))));
    delta[r] = om / Math.PI;
    const so = Math.sin(om);
    if (so > 1e-6) {
      for (let c = 0; c < D; c++) e[r * D + c] = (Math.sin((1 - t) * om) * xa[r * D + c]! / A + Math.sin(t * om) * xb[r * D + c]! / Bn) / so;
    } else {
      let s = 0;
      const l = new Float64Array(D);
      for (let c = 0; c < D; c++) { l[c] = (1 - t) * xa[r * D + c]! / A + t * xb[r * D + c]! / Bn; s += l[c]! ** 2; }
      for (let c = 0; c < D; c++) e[r * D + c] = l[c]! / Math.max(Math.sqrt(s), 1e-12); // norm floored (methods.md §12 item 5)
    }
  }
  const keep: boolean[] = [], count: number[] = [];
  const rowsPrev = new Float64Array(BH * T * D), rowsCur = new Float64Array(BH * T * D);
  for (let h = 0; h < BH; h++) {
    let lo = Infinity, hi = -Infinity;
    for (let j = 0; j < T; j++) { lo = Math.min(lo, delta[h * T + j]!); hi = Math.max(hi, delta[h * T + j]!); }
    let n = 0;
    for (let j = 0; j < T; j++) {
      const k = delta[h * T + j]! > lo + (hi - lo) * gamma;
      keep.push(k);
      if (k) {
        for (let c = 0; c < D; c++) { rowsPrev[(h * T + n) * D + c] = xa[(h * T + j) * D + c]!; rowsCur[(h * T + n) * D + c] = xb[(h * T + j) * D + c]!; }
        n++;
      }
    }
    count.push(n);
  }
  return { e, na, nb, keep, rowsPrev, rowsCur, count };
}

/** Restored layer-l (cur) cache: n_b·e, retained rows = the originals. */
function restore(c: Comp, xcur: Float64Array, BH: number, T: number, D: number): Float64Array {
  const out = new Float64Array(BH * T * D);
  for (let r = 0; r < BH * T; r++) for (let d = 0; d < D; d++) out[r * D + d] = c.keep[r] ? xcur[r * D + d]! : c.nb[r]! * c.e[r * D + d]!;
  return out;
}

function refAttend(q: Float64Array, K: Float64Array, V: Float64Array, BH: number, N: number, T: number, D: number): Float64Array {
  const o = new Float64Array(BH * N * D);
  for (let h = 0; h < BH; h++) o.set(refAttention(q.subarray(h * N * D, (h + 1) * N * D), K.subarray(h * T * D, (h + 1) * T * D), V.subarray(h * T * D, (h + 1) * T * D), N, T, D, D).o, h * N * D);
  return o;
}

/**
 * An adjacent-layer pair whose angles all lie in [0.35π, 0.6π] (x_cur = x_prev rotated by θ in a
 * random plane, scaled by 1.3): δ_min ≥ δ_max / 2, so δ_max − δ_min is exact in f32 (Sterbenz)
 * and δ_min + (δ_max − δ_min)·1 = δ_max exactly. With γ = 1 no token is then retained on every
 * backend; with random pairs the f32 threshold can land one ulp below δ_max and keep that token.
 */
function rotatedPair(rng: Rng, BH: number, T: number, D: number): [Float64Array, Float64Array] {
  const a = rng.normals(BH * T * D);
  const b = new Float64Array(a.length);
  for (let n = 0; n < BH * T; n++) {
    const x = a.subarray(n * D, (n + 1) * D);
    const nx = Math.hypot(...x);
    const u = Float64Array.from({ length: D }, () => rng.normal());
    let dot = 0;
    for (let c = 0; c < D; c++) dot += (u[c]! * x[c]!) / nx;
    for (let c = 0; c < D; c++) u[c]! -= (dot * x[c]!) / nx;
    const nu = Math.hypot(...u);
    const th = Math.PI * (0.35 + 0.25 * rng.next());
    for (let c = 0; c < D; c++) b[n * D + c] = Math.fround(1.3 * (Math.cos(th) * x[c]! + Math.sin(th) * nx * (u[c]! / nu)));
  }
  return [a, b];
}

/** Random adjacent-layer pair: x_cur = x_prev + noise, with some special tokens. */
function pair(rng: Rng, BH: number, T: number, D: number, noise: number, special = true): [Float64Array, Float64Array] {
  const a = rng.normals(BH * T * D);
  const b = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) b[i] = Math.fround(a[i]! * 1.3 + noise * rng.normal());
  if (special) for (let h = 0; h < BH; h++) {
    for (let c = 0; c < D; c++) b[(h * T + 1) * D + c] = -a[(h * T + 1) * D + c]!; // antipodal token → retained
    for (let c = 0; c < D; c++) b[(h * T + 2) * D + c] = Math.fround(2 * a[(h * T + 2) * D + c]!); // parallel token → nlerp fallback
  }
  return [a, b];
}

describeBackends("MiniCache (methods.md §8) against an independent reference", (be) => {
  for (const [t, gamma, T] of [[0.6, 0.05, 13], [0.5, 0.2, 13], [0.3, 0.0, 13], [0.6, 0.05, 67], [0.5, 0.2, 129]] as const) {
    it(`compress: t = ${t}, γ = ${gamma}, odd T = ${T}, antipodal and parallel tokens`, async () => {
      const rng = new Rng(80 + gamma * 100 + T);
      const B = 2, H = 2, D = 6;
      const [a, b] = pair(rng, B * H, T, D, 0.6);
      const g = compileExample(PATH, "minicache_compress", { t, gamma });
      const [e, na, nb, keep, rp, rc, cnt] = await runOn(be, g, { x_prev: f32t([B, H, T, D], a), x_cur: f32t([B, H, T, D], b) });
      const ref = refCompress(a, b, B * H, T, D, t, gamma);
      // §8.4: the direction of an antipodal token (Ω = π) is meaningless (it is retained, so e is
      // never used there); compare e on the other tokens only.
      const eGot = Float64Array.from(e!.data), eRef = ref.e.slice();
      for (let h = 0; h < B * H; h++) for (let c = 0; c < D; c++) eGot[(h * T + 1) * D + c] = eRef[(h * T + 1) * D + c] = 0;
      expectClose(eGot, eRef, `minicache compress t=${t} γ=${gamma} e`);
      expectClose(na!.data, ref.na, `minicache compress t=${t} γ=${gamma} n_a`);
      expectClose(nb!.data, ref.nb, `minicache compress t=${t} γ=${gamma} n_b`);
      expectExact(keep!.data, ref.keep.map(Number), `minicache keep`);
      expectExact(cnt!.data, ref.count, `minicache count`);
      expectClose(rp!.data, ref.rowsPrev, `minicache compress t=${t} γ=${gamma} rows_prev`);
      expectClose(rc!.data, ref.rowsCur, `minicache compress t=${t} γ=${gamma} rows_cur`);
      for (let h = 0; h < B * H; h++) expect(ref.keep[h * T + 1]).toBe(true); // antipodal always retained
      for (let r = 0; r < B * H * T; r++) { // e is a unit vector (antipodal tokens excepted)
        if (r % T === 1) continue;
        let s = 0;
        for (let c = 0; c < D; c++) s += e!.data[r * D + c]! ** 2;
        expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
      }
    });
  }

  it("attend: restored cache via per-key scales equals attention over n·e with retained originals", async () => {
    const rng = new Rng(90);
    const B = 2, H = 2, T = 11, N = 5, D = 8;
    const [ka, kb] = pair(rng, B * H, T, D, 0.5);
    const [va, vb] = pair(rng, B * H, T, D, 0.5);
    const ck = refCompress(ka, kb, B * H, T, D, 0.6, 0.05), cv = refCompress(va, vb, B * H, T, D, 0.6, 0.05);
    const q = rng.normals(B * H * N * D);
    const g = compileExample(PATH, "minicache_attend");
    const sh = [B, H, T, D], s3 = [B, H, T];
    const [o] = await runOn(be, g, {
      q: f32t([B, H, N, D], q),
      e_k: f32t(sh, ck.e), n_k: f32t(s3, ck.nb), keep_k: boolt(s3, ck.keep), rows_k: f32t(sh, ck.rowsCur),
      e_v: f32t(sh, cv.e), n_v: f32t(s3, cv.nb), keep_v: boolt(s3, cv.keep), rows_v: f32t(sh, cv.rowsCur),
    });
    const ref = refAttend(q, restore(ck, kb, B * H, T, D), restore(cv, vb, B * H, T, D), B * H, N, T, D);
    expectClose(o!.data, ref, "minicache attend o");
  });

  for (const [gamma, T] of [[0.05, 15], [0, 15], [1, 15], [0.05, 67]] as const) {
    it(`layer end to end (T = ${T}, γ = ${gamma}${gamma === 0 ? ": all but the min-δ token retained" : gamma === 1 ? ": nothing retained" : ""})`, async () => {
      const rng = new Rng(91 + (T === 15 ? 0 : T));
      const B = 1, H = 3, N = 4, D = 6;
      // with γ = 1 nothing is retained, so leave out the antipodal token, whose merged direction is
      // meaningless (§8.4), and keep δ_min ≥ δ_max/2 so that "nothing retained" is exact in f32
      const [ka, kb] = gamma === 1 ? rotatedPair(rng, B * H, T, D) : pair(rng, B * H, T, D, 0.7);
      const [va, vb] = gamma === 1 ? rotatedPair(rng, B * H, T, D) : pair(rng, B * H, T, D, 0.7);
      const q = rng.normals(B * H * N * D);
      const g = compileExample(PATH, "minicache_layer", { gamma });
      const sh = [B, H, T, D];
      const [o] = await runOn(be, g, { q: f32t([B, H, N, D], q), k_prev: f32t(sh, ka), k_cur: f32t(sh, kb), v_prev: f32t(sh, va), v_cur: f32t(sh, vb) });
      const ck = refCompress(ka, kb, B * H, T, D, 0.6, gamma), cv = refCompress(va, vb, B * H, T, D, 0.6, gamma);
      if (gamma === 1) expect(ck.count).toEqual([0, 0, 0]);
      if (gamma === 0) expect(ck.count).toEqual([T - 1, T - 1, T - 1]);
      const ref = refAttend(q, restore(ck, kb, B * H, T, D), restore(cv, vb, B * H, T, D), B * H, N, T, D);
      expectClose(o!.data, ref, `minicache layer γ=${gamma} o`);
    });
  }

  afterAll(() => reportErrors("minicache"));
});
