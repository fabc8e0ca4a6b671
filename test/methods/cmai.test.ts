/**
 * CMAI (methods.md §4.2): independent reference vs examples/cmai/cmai.attn on the interpreter.
 * Reference, written from the spec:
 *   A = head-averaged causal softmax attention (text rows);
 *   F[t, v] = Σ_{t' ∈ text} A[t, t'] · A[t', v]  (A_TT · A_TV; causality zeroes t' > t);
 *   τ_t = the floor(q·n_img)-th smallest F[t, ·] over the image keys (+∞ when that is past the end);
 *   Ω = {(t, v) : v image, F[t, v] < τ_t};
 *   pass 2: causal attention, text rows with Z[t, v] = −∞ (hard) or Z + log λ (soft) on Ω.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rng, boolt, compileExample, expectClose, f32t, i32t, refAttention, reportErrors, runOn, describeBackends, type Backend } from "./lm-util.ts";

const PATH = "examples/cmai/cmai.attn";

interface Case { B: number; H: number; N: number; D: number; text: number[][]; image: boolean[][]; q: Float64Array; k: Float64Array; v: Float64Array }

function makeCase(rng: Rng, B: number, H: number, N: number, D: number, text: number[][], image: boolean[][], sameImageKeys = false): Case {
  const q = rng.normals(B * H * N * D);
  const k = rng.normals(B * H * N * D);
  const v = rng.normals(B * H * N * D);
  if (sameImageKeys)
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
      const first = image[b]!.indexOf(true);
      for (let j = 0; j < N; j++) if (image[b]![j]) for (let c = 0; c < D; c++) k[((b * H + h) * N + j) * D + c] = k[((b * H + h) * N + first) * D + c]!;
    }
  return { B, H, N, D, text, image, q, k, v };
}

function reference(c: Case, qInhibit: number, hard: boolean, lam: number): Float64Array {
  const { B, H, N, D } = c;
  const out = new Float64Array(B * H * N * D);
  const hs = N * D;
  for (let b = 0; b < B; b++) {
    const text = c.text[b]!;
    const img = c.image[b]!;
    // head-averaged causal probabilities
    const A = new Float64Array(N * N);
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * hs;
      const { p } = refAttention(c.q.subarray(base, base + hs), c.k.subarray(base, base + hs), c.v.subarray(base, base + hs), N, N, D, D, { keep: (i, j) => j <= i });
      for (let x = 0; x < N * N; x++) A[x]! += p[x]! / H;
    }
    const nimg = img.filter(Boolean).length;
    const kth = Math.floor(Math.fround(Math.fround(qInhibit) * nimg));
    const omega: boolean[][] = []; // per text row u, per key j
    for (const t of text) {
      const F = new Float64Array(N);
      for (let j = 0; j < N; j++) for (const t2 of text) F[j]! += A[t * N + t2]! * A[t2 * N + j]!;
      const vals = [...Array(N).keys()].filter((j) => img[j]).map((j) => F[j]!).sort((x, y) => x - y);
      const tau = kth < vals.length ? vals[kth]! : Infinity;
      omega.push([...Array(N).keys()].map((j) => img[j]! && F[j]! < tau));
    }
    const logLam = Math.fround(Math.log(Math.fround(lam)));
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * hs;
      const { o } = refAttention(c.q.subarray(base, base + hs), c.k.subarray(base, base + hs), c.v.subarray(base, base + hs), N, N, D, D, {
        keep: (i, j) => j <= i,
        score: (z, i, j) => {
          const u = text.indexOf(i);
          if (u < 0 || !omega[u]![j]) return z;
          return hard ? -Infinity : z + logLam;
        },
      });
      out.set(o, base);
    }
  }
  return out;
}

async function runCase(be: Backend, c: Case, defines: { q_inhibit?: number; hard?: boolean; lam?: number }, label: string): Promise<Float64Array> {
  const g = compileExample(PATH, "cmai", defines);
  const { B, H, N, D } = c;
  const T = c.text[0]!.length;
  const [o] = await runOn(be, g, {
    q: f32t([B, H, N, D], c.q), k: f32t([B, H, N, D], c.k), v: f32t([B, H, N, D], c.v),
    text: i32t([B, T], c.text.flat()), is_image: boolt([B, N], c.image.flat()),
  });
  const ref = reference(c, defines.q_inhibit ?? 0.3, defines.hard ?? true, defines.lam ?? 0.5);
  expectClose(o!.data, ref, `cmai ${label}`);
  return o!.data;
}

/** sys tokens [0, s), image [s, s + nv), text after: the LLaVA layout. */
function llavaLayout(B: number, s: number, nv: number, T: number): { N: number; text: number[][]; image: boolean[][] } {
  const N = s + nv + T;
  const text = [...Array(B)].map(() => [...Array(T).keys()].map((u) => s + nv + u));
  const image = [...Array(B)].map(() => [...Array(N).keys()].map((j) => j >= s && j < s + nv));
  return { N, text, image };
}

describeBackends("CMAI (methods.md §4.2) against an independent reference", (be) => {
  it("hard inhibition, random inputs, odd N (sys + image + text layout)", async () => {
    const rng = new Rng(1);
    const L = llavaLayout(2, 2, 9, 4); // N = 15
    await runCase(be, makeCase(rng, 2, 2, L.N, 8, L.text, L.image), {}, "hard random");
    await runCase(be, makeCase(rng, 2, 3, L.N, 4, L.text, L.image), { q_inhibit: 0.5 }, "hard q=0.5");
    const L67 = llavaLayout(1, 2, 57, 8); // N = 67: past one 64-wide tile
    await runCase(be, makeCase(rng, 1, 2, L67.N, 8, L67.text, L67.image), {}, "hard N=67");
  });

  it("soft inhibition (Z + log λ)", async () => {
    const rng = new Rng(2);
    const L = llavaLayout(2, 1, 10, 5);
    await runCase(be, makeCase(rng, 2, 2, L.N, 8, L.text, L.image), { hard: false, lam: 0.25 }, "soft λ=0.25");
    await runCase(be, makeCase(rng, 1, 2, L.N, 8, L.text.slice(0, 1), L.image.slice(0, 1)), { hard: false, lam: 0.5, q_inhibit: 0.7 }, "soft λ=0.5 q=0.7");
  });

  it("interleaved text and image tokens, different per batch", async () => {
    const rng = new Rng(3);
    const N = 13;
    const text = [[1, 5, 9, 12], [0, 2, 11, 12]];
    const image = [
      [...Array(N).keys()].map((j) => j !== 0 && !text[0]!.includes(j)),
      [...Array(N).keys()].map((j) => j >= 3 && j <= 10),
    ];
    await runCase(be, makeCase(rng, 2, 2, N, 6, text, image), {}, "interleaved hard");
    await runCase(be, makeCase(rng, 2, 2, N, 6, text, image), { hard: false, lam: 0.1 }, "interleaved soft");
  });

  it("nothing inhibited (q = 0) equals plain causal attention", async () => {
    const rng = new Rng(4);
    const L = llavaLayout(1, 2, 7, 3);
    const c = makeCase(rng, 1, 2, L.N, 8, L.text, L.image);
    const o = await runCase(be, c, { q_inhibit: 0 }, "q=0");
    const plain = new Float64Array(o.length);
    const hs = L.N * 8;
    for (let h = 0; h < 2; h++) {
      const base = h * hs;
      plain.set(refAttention(c.q.subarray(base, base + hs), c.k.subarray(base, base + hs), c.v.subarray(base, base + hs), L.N, L.N, 8, 8, { keep: (i, j) => j <= i }).o, base);
    }
    expectClose(o, plain, "cmai q=0 vs causal");
  });

  it("every image key inhibited (q = 1): text rows see only non-image keys; image rows unchanged", async () => {
    const rng = new Rng(5);
    const L = llavaLayout(2, 2, 8, 3);
    const c = makeCase(rng, 2, 2, L.N, 4, L.text, L.image);
    const hard = await runCase(be, c, { q_inhibit: 1 }, "q=1 hard");
    const soft = await runCase(be, c, { q_inhibit: 1, hard: false, lam: 0.5 }, "q=1 soft");
    const none = await runCase(be, c, { q_inhibit: 0 }, "q=0 (b)");
    // the inhibition really changes the text rows, and only them
    const D = 4, N = L.N;
    let dText = 0, dImg = 0, dSoft = 0;
    for (let x = 0; x < hard.length; x++) {
      const i = Math.floor(x / D) % N;
      const d = Math.abs(hard[x]! - none[x]!);
      if (i >= 10) dText = Math.max(dText, d); else dImg = Math.max(dImg, d);
      if (i >= 10) dSoft = Math.max(dSoft, Math.abs(soft[x]! - none[x]!));
    }
    expect(dText).toBeGreaterThan(1e-3);
    expect(dSoft).toBeGreaterThan(1e-4);
    expect(dImg).toBe(0);
  });

  it("ties: identical image keys give equal focus, so nothing is strictly below τ", async () => {
    const rng = new Rng(6);
    const L = llavaLayout(1, 1, 6, 3);
    const c = makeCase(rng, 1, 2, L.N, 4, L.text, L.image, true);
    const o = await runCase(be, c, { q_inhibit: 0.5 }, "ties");
    const o0 = await runCase(be, c, { q_inhibit: 0 }, "ties q=0");
    expectClose(o, o0, "cmai ties == uninhibited");
  });

  afterAll(() => reportErrors("cmai"));
});
