/**
 * ATP-LLaVA (methods.md §5, inference path): independent reference vs
 * examples/atp-llava/atp-llava.attn on the interpreter. Reference, written from §5.2:
 *   S_self[i]  = mean over heads and vision queries j of A[j → i] (÷ V, or with `unbiased` ÷ the
 *                vision queries j ≥ i that can see key i, summing only those);
 *   S_cross[i] = mean over heads and text queries of A[t → i];  S_red = ½(S_self + S_cross);
 *   S_sp[i] = 1 − λ/s² on the stride-s grid points, −100 elsewhere;
 *   z = ReLU(W_z [S_self ‖ S_cross]), θ_r = σ(w_r·z), θ_s = σ(w_s·z);
 *   keep = (S_red > θ_r) ∨ (S_sp > θ_s) for vision tokens, text always kept; kept rows packed to
 *   the front (zeros after), original position ids (−1 after), count.
 *   (Intermediate scores are rounded to f32 as the interpreter stores them.)
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rng, compileExample, expectClose, expectExact, f32t, i32t, reportErrors, runOn, describeBackends, type Backend, sigmoid, softmaxRow } from "./lm-util.ts";

const PATH = "examples/atp-llava/atp-llava.attn";
const f = Math.fround;

interface In { B: number; M: number; L: number; D: number; Z: number; G: number; h: Float64Array; attn: Float64Array; pos: number[]; wz: Float64Array; wr: Float64Array; ws: Float64Array }

function makeIn(rng: Rng, B: number, M: number, G: number, nt: number, D: number, Z: number, causal = true): In {
  const V = G * G, L = V + nt;
  const attn = new Float64Array(B * M * L * L);
  for (let r = 0; r < B * M * L; r++) {
    const i = r % L;
    const z = Array.from({ length: L }, (_, j) => (causal && j > i ? -Infinity : 2 * rng.normal()));
    const p = softmaxRow(z);
    for (let j = 0; j < L; j++) attn[r * L + j] = f(p[j]!);
  }
  const wz = new Float64Array(2 * V * Z);
  for (let i = 0; i < wz.length; i++) wz[i] = f(rng.normal() * 0.5);
  return {
    B, M, L, D, Z, G, h: rng.normals(B * L * D), attn,
    pos: Array.from({ length: B * L }, (_, x) => 3 + 2 * (x % L) + (x >= L ? 1 : 0)),
    wz, wr: rng.normals(Z), ws: rng.normals(Z),
  };
}

function reference(x: In, stride: number, lam: number, unbiased: boolean) {
  const { B, M, L, D, Z, G } = x, V = G * G;
  const rows = new Float64Array(B * L * D), pos = new Array<number>(B * L).fill(-1), counts: number[] = [], keeps: boolean[][] = [];
  for (let b = 0; b < B; b++) {
    const sSelf = new Float64Array(V), sCross = new Float64Array(V);
    for (let i = 0; i < V; i++) {
      let a = 0, na = 0, c = 0, nc = 0;
      for (let h = 0; h < M; h++) for (let j = 0; j < L; j++) {
        const p = x.attn[((b * M + h) * L + j) * L + i]!;
        if (j < V && (!unbiased || j >= i)) { a += p; na++; }
        if (j >= V) { c += p; nc++; }
      }
      sSelf[i] = f(a / na);
      sCross[i] = f(c / nc);
    }
    const zz = new Float64Array(Z);
    for (let m = 0; m < Z; m++) {
      let s = 0;
      for (let i = 0; i < V; i++) s += sSelf[i]! * x.wz[i * Z + m]! + sCross[i]! * x.wz[(V + i) * Z + m]!;
      zz[m] = f(Math.max(0, s));
    }
    let r = 0, s = 0;
    for (let m = 0; m < Z; m++) { r += zz[m]! * x.wr[m]!; s += zz[m]! * x.ws[m]!; }
    const thR = f(sigmoid(f(r))), thS = f(sigmoid(f(s)));
    const keep: boolean[] = [];
    for (let i = 0; i < L; i++) {
      if (i >= V) { keep.push(true); continue; }
      const red = f(0.5 * f(sSelf[i]! + sCross[i]!));
      const row = Math.floor(i / G), col = i % G;
      const sp = row % stride === 0 && col % stride === 0 ? f(1 - lam / (stride * stride)) : -100;
      keep.push(red > thR || sp > thS);
    }
    keeps.push(keep);
    let n = 0;
    for (let i = 0; i < L; i++) if (keep[i]) {
      for (let d = 0; d < D; d++) rows[(b * L + n) * D + d] = x.h[(b * L + i) * D + d]!;
      pos[b * L + n] = x.pos[b * L + i]!;
      n++;
    }
    counts.push(n);
  }
  return { rows, pos, counts, keeps };
}

async function check(be: Backend, x: In, p: { stride?: number; lam?: number; unbiased?: boolean }, label: string) {
  const stride = p.stride ?? 2, lam = p.lam ?? 3.0, unbiased = p.unbiased ?? false;
  const g = compileExample(PATH, "atp", { G: x.G, stride, lam, unbiased });
  const { B, M, L, D, Z, G } = x, V = G * G;
  const [hk, pk, cnt] = await runOn(be, g, { h: f32t([B, L, D], x.h), attn: f32t([B, M, L, L], x.attn), pos: i32t([B, L], x.pos), wz: f32t([2 * V, Z], x.wz), wr: f32t([Z], x.wr), ws: f32t([Z], x.ws) });
  const ref = reference(x, stride, lam, unbiased);
  expectExact(cnt!.data, ref.counts, `atp ${label} count`);
  expectExact(pk!.data, ref.pos, `atp ${label} pos`);
  expectClose(hk!.data, ref.rows, `atp ${label} rows`);
  return ref;
}

describeBackends("ATP-LLaVA (methods.md §5) against an independent reference", (be) => {
  it("random causal attention, biased and unbiased column means, G = 4 / 5 (odd V)", async () => {
    const rng = new Rng(60);
    for (const G of [4, 5]) for (const unbiased of [false, true]) {
      const x = makeIn(rng, 2, 2, G, 7, 6, 16);
      // thresholds near the score scale so the redundancy test decides
      x.wr.fill(0); x.ws.fill(0);
      const ref = await check(be, x, { unbiased }, `G=${G} unbiased=${unbiased} θ=0.5`);
      const r2 = await check(be, makeIn(rng, 2, 3, G, 5, 4, 8), { unbiased, stride: 3, lam: 2.0 }, `G=${G} unbiased=${unbiased} s=3`);
      expect(ref.counts.length + r2.counts.length).toBe(4);
    }
  });

  it("token counts past the 64-wide tiles: L = 67 (G = 8) and L = 129 (G = 11)", async () => {
    const rng = new Rng(64);
    for (const [G, nt] of [[8, 3], [11, 8]] as const) {
      const x = makeIn(rng, 1, 2, G, nt, 4, 8);
      x.wr.fill(0); x.ws.fill(0); // θ = 1/2: the redundancy and spatial tests both decide
      await check(be, x, {}, `L=${G * G + nt}`);
      await check(be, x, { unbiased: true, stride: 3 }, `L=${G * G + nt} unbiased s=3`);
    }
  });

  it("ties: a score exactly equal to its threshold is not kept (strict >), on every token", async () => {
    // W_z = 0 gives z = 0, so θ_r = θ_s = σ(0) = 1/2 exactly. Every query gives key i the same
    // probability c_i ∈ {1/4, 1/2, 3/4}, so S_self = S_cross = S_red = c_i exactly; with λ = 2 and
    // s = 2 the grid points score S_sp = 1 − 2/4 = 1/2 exactly. Kept: c_i = 3/4 only.
    const rng = new Rng(65);
    const G = 5, nt = 4, V = G * G;
    const x = makeIn(rng, 2, 2, G, nt, 4, 8, false);
    const L = x.L;
    const c = Array.from({ length: L }, (_, i) => [0.25, 0.5, 0.75][(i * 7 + 1) % 3]!);
    for (let r = 0; r < x.B * x.M * L; r++) for (let j = 0; j < L; j++) x.attn[r * L + j] = c[j]!;
    x.wz.fill(0);
    for (const unbiased of [false, true]) {
      const ref = await check(be, x, { stride: 2, lam: 2, unbiased }, `exact ties unbiased=${unbiased}`);
      for (const k of ref.keeps) expect(k.slice(0, V)).toEqual(c.slice(0, V).map((v) => v === 0.75));
    }
  });

  it("redundancy scores decide: θ_r near the S_red median", async () => {
    const rng = new Rng(61);
    const x = makeIn(rng, 2, 2, 4, 6, 4, 8);
    x.wz.fill(f(0.01)); // z > 0 since scores are positive
    // θ_r = σ(w_r·z) ≈ 1/V·something: aim w_r·z at logit(1/16)
    const zsum = 0.01 * 2; // Σ_i (S_self + S_cross) ≈ 2 (columns of row-stochastic blocks), per unit of Z
    x.wr.fill(f(Math.log(1 / 15) / (8 * zsum)));
    x.ws.fill(f(50)); // θ_s ≈ 1: spatial keeps nothing
    const ref = await check(be, x, {}, "θ_r decides");
    const refU = await check(be, x, { unbiased: true }, "θ_r decides unbiased");
    expect(refU.keeps.flat().join()).not.toBe(ref.keeps.flat().join()); // the flag is live
    for (const k of [...ref.keeps, ...refU.keeps]) {
      const nv = k.slice(0, 16).filter(Boolean).length;
      expect(nv).toBeGreaterThan(0);
      expect(nv).toBeLessThan(16);
    }
  });

  it("nothing pruned (θ ≈ 0) and everything but the text tokens pruned (θ ≈ 1)", async () => {
    const rng = new Rng(62);
    const x = makeIn(rng, 2, 2, 5, 6, 4, 8);
    x.wz.fill(f(0.5));
    x.wr.fill(-100); x.ws.fill(-100);
    const all = await check(be, x, {}, "nothing pruned");
    expect(all.counts).toEqual([31, 31]);
    x.wr.fill(100); x.ws.fill(100);
    const none = await check(be, x, {}, "all vision pruned");
    expect(none.counts).toEqual([6, 6]);
  });

  it("spatial backbone only (θ_r ≈ 1, θ_s ≈ 0): exactly the stride-s grid points survive", async () => {
    const rng = new Rng(63);
    const x = makeIn(rng, 1, 2, 5, 3, 4, 8);
    x.wz.fill(f(0.5));
    x.wr.fill(100); x.ws.fill(-100);
    const ref = await check(be, x, { stride: 2 }, "grid s=2");
    expect(ref.counts).toEqual([9 + 3]); // 3×3 grid points of a 5×5 grid
    const ref3 = await check(be, x, { stride: 3 }, "grid s=3");
    expect(ref3.counts).toEqual([4 + 3]);
  });

  afterAll(() => reportErrors("atp"));
});
