/**
 * Mixture-of-Recursions (methods.md §9): independent reference vs examples/mor/mor.attn on the
 * interpreter. The recursion block (the example's fn block) is re-derived in plain loops:
 *   pre-RMSNorm (eps 1e-6) → x @ wqkv → q, k, v (column blocks of width C) → heads (channel
 *   c → head c / (C/heads)) → rotate-half RoPE at the original positions → causal attention among
 *   the active tokens only → merge heads → @ wo → residual; pre-RMSNorm → silu(@ w1) @ w2 → residual.
 * Expert choice (§9.2): per recursion r, g = α·σ(w_r·h) over the tokens that reached r,
 *   k_r = max(1, int(cap_r·N)), cap_r = (3 − r)/3, top-k (ties → lowest index), sorted ascending,
 *   y = Block(h_full[sel]) with RoPE at sel, h_full[sel] += g·y; the subsets are nested.
 * Token choice (§9.3): probs = softmax(x·W_t) (α = 1), depth = argmax (ties → lowest), weight =
 *   its probability; recursion r runs the block on the ragged set {t : d_t ≥ r} (attention among
 *   them, RoPE at original positions); tokens with d_t = r finish with out = x + w·h^(r), the
 *   others carry h^(r) on.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rng, compileExample, expectClose, f32t, reportErrors, runOn, describeBackends, type Backend, sigmoid, topkIndices } from "./lm-util.ts";

const PATH = "examples/mor/mor.attn";
const HEADS = 4;

interface W { C: number; F: number; ln1: Float64Array; wqkv: Float64Array; wo: Float64Array; ln2: Float64Array; w1: Float64Array; w2: Float64Array }

function weights(rng: Rng, C: number, F: number): W {
  return {
    C, F, ln1: Float64Array.from(rng.normals(C), (v) => Math.fround(1 + 0.1 * v)), wqkv: rng.normals(C * 3 * C, 0.4), wo: rng.normals(C * C, 0.3),
    ln2: Float64Array.from(rng.normals(C), (v) => Math.fround(1 + 0.1 * v)), w1: rng.normals(C * F, 0.4), w2: rng.normals(F * C, 0.3),
  };
}

function rmsnorm(x: Float64Array, w: Float64Array): Float64Array {
  let s = 0;
  for (const v of x) s += v * v;
  const r = 1 / Math.sqrt(s / x.length + 1e-6);
  return x.map((v, c) => v * r * w[c]!);
}

function matvec(x: ArrayLike<number>, w: Float64Array, In: number, Out: number): Float64Array {
  const y = new Float64Array(Out);
  for (let i = 0; i < In; i++) for (let o = 0; o < Out; o++) y[o]! += x[i]! * w[i * Out + o]!;
  return y;
}

/** The block on K tokens (rows [K][C]) at positions pos, all of them active. */
function block(h: Float64Array[], pos: number[], W: W): Float64Array[] {
  const { C, F } = W, K = h.length, dh = C / HEADS, half = dh / 2;
  const qkv = h.map((x) => matvec(rmsnorm(x, W.ln1), W.wqkv, C, 3 * C));
  const rope = (v: Float64Array, p: number) => {
    const out = new Float64Array(C);
    for (let hd = 0; hd < HEADS; hd++) for (let c = 0; c < dh; c++) {
      const ang = p * Math.pow(10000, (-2 * (c % half)) / dh);
      const x = v[hd * dh + c]!, partner = v[hd * dh + ((c + half) % dh)]!;
      out[hd * dh + c] = x * Math.cos(ang) + (c < half ? -1 : 1) * partner * Math.sin(ang);
    }
    return out;
  };
  const q = qkv.map((r, i) => rope(r.subarray(0, C), pos[i]!));
  const k = qkv.map((r, i) => rope(r.subarray(C, 2 * C), pos[i]!));
  const v = qkv.map((r) => r.subarray(2 * C, 3 * C));
  const out: Float64Array[] = [];
  for (let i = 0; i < K; i++) {
    const o = new Float64Array(C);
    for (let hd = 0; hd < HEADS; hd++) {
      const z: number[] = [];
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let c = 0; c < dh; c++) s += q[i]![hd * dh + c]! * k[j]![hd * dh + c]!;
        z.push(s / Math.sqrt(dh));
      }
      const m = Math.max(...z);
      const e = z.map((x) => Math.exp(x - m));
      const se = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) for (let c = 0; c < dh; c++) o[hd * dh + c]! += (e[j]! / se) * v[j]![hd * dh + c]!;
    }
    const h2 = matvec(o, W.wo, C, C).map((x, c) => x + h[i]![c]!);
    const a = matvec(rmsnorm(h2, W.ln2), W.w1, C, F).map((x) => x * sigmoid(x));
    out.push(matvec(a, W.w2, F, C).map((x, c) => x + h2[c]!));
  }
  return out;
}

function rowsOf(x: Float64Array, b: number, N: number, C: number): Float64Array[] {
  return [...Array(N).keys()].map((n) => x.slice((b * N + n) * C, (b * N + n + 1) * C));
}

function refExpert(x: Float64Array, wr: Float64Array, W: W, B: number, N: number, alpha: number): { out: Float64Array; sels: number[][][] } {
  const C = W.C, out = new Float64Array(B * N * C), sels: number[][][] = [];
  for (let b = 0; b < B; b++) {
    const h = rowsOf(x, b, N, C);
    let prev = [...Array(N).keys()];
    const bs: number[][] = [];
    for (let r = 0; r < 3; r++) {
      const g = prev.map((p) => { let s = 0; for (let c = 0; c < C; c++) s += h[p]![c]! * wr[r * C + c]!; return alpha * sigmoid(s); });
      const k = Math.max(1, Math.floor(((3 - r) / 3) * N));
      const local = topkIndices(g, k).sort((a, c) => a - c);
      const sel = local.map((l) => prev[l]!);
      const y = block(sel.map((s) => h[s]!), sel, W);
      sel.forEach((s, m) => { h[s] = h[s]!.map((v, c) => v + g[local[m]!]! * y[m]![c]!); });
      bs.push(sel);
      prev = sel;
    }
    sels.push(bs);
    h.forEach((row, n) => out.set(row, (b * N + n) * C));
  }
  return { out, sels };
}

function refToken(x: Float64Array, wt: Float64Array, W: W, B: number, N: number): { out: Float64Array; depths: number[][] } {
  const C = W.C, out = new Float64Array(B * N * C), depths: number[][] = [];
  for (let b = 0; b < B; b++) {
    const x0 = rowsOf(x, b, N, C);
    const d: number[] = [], w: number[] = [];
    for (const row of x0) {
      const l = matvec(row, wt, C, 3);
      const m = Math.max(...l);
      const e = Array.from(l, (v) => Math.exp(v - m));
      const s = e.reduce((a, c) => a + c, 0);
      const p = e.map((v) => v / s);
      let best = 0;
      for (let i = 1; i < 3; i++) if (p[i]! > p[best]!) best = i;
      d.push(best);
      w.push(p[best]!);
    }
    depths.push(d);
    const hc: Float64Array[] = x0.map((r) => r.slice());
    const res: Float64Array[] = x0.map((r) => r.slice());
    for (let r = 0; r < 3; r++) {
      const act = [...Array(N).keys()].filter((t) => d[t]! >= r);
      if (act.length === 0) continue;
      const y = block(act.map((t) => hc[t]!), act, W);
      act.forEach((t, m) => {
        hc[t] = y[m]!;
        if (d[t] === r) res[t] = x0[t]!.map((v, c) => v + w[t]! * y[m]![c]!);
      });
    }
    res.forEach((row, n) => out.set(row, (b * N + n) * C));
  }
  return { out, depths };
}

function weightInputs(W: W) {
  const { C, F } = W;
  return { ln1: f32t([C], W.ln1), wqkv: f32t([C, 3 * C], W.wqkv), wo: f32t([C, C], W.wo), ln2: f32t([C], W.ln2), w1: f32t([C, F], W.w1), w2: f32t([F, C], W.w2) };
}

async function checkExpert(be: Backend, rng: Rng, B: number, N: number, C: number, F: number, label: string, alpha = 0.1, wrScale = 1) {
  const W = weights(rng, C, F);
  const x = rng.normals(B * N * C);
  const wr = rng.normals(3 * C, wrScale);
  const g = compileExample(PATH, "mor_expert", { alpha });
  const [o] = await runOn(be, g, { x: f32t([B, N, C], x), wr: f32t([3, C], wr), ...weightInputs(W) });
  const ref = refExpert(x, wr, W, B, N, alpha);
  expectClose(o!.data, ref.out, `mor expert ${label}`, 1e-5);
  return ref;
}

async function checkToken(be: Backend, rng: Rng, B: number, N: number, C: number, F: number, label: string, tweak?: (x: Float64Array, wt: Float64Array) => void) {
  const W = weights(rng, C, F);
  const x = rng.normals(B * N * C);
  const wt = rng.normals(C * 3, 1.5);
  tweak?.(x, wt);
  const g = compileExample(PATH, "mor_token");
  const [o] = await runOn(be, g, { x: f32t([B, N, C], x), wt: f32t([C, 3], wt), ...weightInputs(W) });
  const ref = refToken(x, wt, W, B, N);
  expectClose(o!.data, ref.out, `mor token ${label}`, 1e-5);
  return ref;
}

describeBackends("MoR expert-choice routing (methods.md §9.2) against an independent reference", (be) => {
  it("capacities 1, 2/3, 1/3 with odd N: k_r = 7, 4, 2; nested subsets", async () => {
    const ref = await checkExpert(be, new Rng(100), 2, 7, 8, 12, "N=7");
    for (const bs of ref.sels) {
      expect(bs.map((s) => s.length)).toEqual([7, 4, 2]);
      expect(bs[2]!.every((p) => bs[1]!.includes(p))).toBe(true);
    }
  });
  it("N = 67 and 129 (past the 64-wide tiles): k_r = 67, 44, 22 and 129, 86, 43", async () => {
    expect((await checkExpert(be, new Rng(105), 1, 67, 8, 8, "N=67")).sels[0]!.map((s) => s.length)).toEqual([67, 44, 22]);
    expect((await checkExpert(be, new Rng(106), 1, 129, 8, 8, "N=129")).sels[0]!.map((s) => s.length)).toEqual([129, 86, 43]);
  });
  it("N = 9 (k = 9, 6, 3), C = 16, α = 0.5", async () => {
    const ref = await checkExpert(be, new Rng(101), 1, 9, 16, 20, "N=9 α=0.5", 0.5, 2);
    expect(ref.sels[0]!.map((s) => s.length)).toEqual([9, 6, 3]);
  });
  it("tiny N: k_r = max(1, ·) (N = 2 → 2, 1, 1; N = 1 → 1, 1, 1)", async () => {
    expect((await checkExpert(be, new Rng(102), 2, 2, 8, 8, "N=2")).sels[0]!.map((s) => s.length)).toEqual([2, 1, 1]);
    expect((await checkExpert(be, new Rng(103), 1, 1, 8, 8, "N=1")).sels[0]!.map((s) => s.length)).toEqual([1, 1, 1]);
  });
  it("tied gates (zero router) select the lowest positions", async () => {
    const rng = new Rng(104);
    const B = 1, N = 8, C = 8, F = 8;
    const W = weights(rng, C, F);
    const x = rng.normals(B * N * C);
    const wr = new Float64Array(3 * C);
    const g = compileExample(PATH, "mor_expert");
    const [o] = await runOn(be, g, { x: f32t([B, N, C], x), wr: f32t([3, C], wr), ...weightInputs(W) });
    const ref = refExpert(x, wr, W, B, N, 0.1);
    expect(ref.sels[0]).toEqual([[0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4], [0, 1]]);
    expectClose(o!.data, ref.out, "mor expert ties");
  });
});

describeBackends("MoR token-choice routing (methods.md §9.3) against an independent reference", (be) => {
  it("random router: mixed depths, ragged recursions", async () => {
    const ref = await checkToken(be, new Rng(110), 2, 9, 8, 12, "random N=9");
    const ds = new Set(ref.depths.flat());
    expect(ds.size).toBeGreaterThan(1);
    await checkToken(be, new Rng(111), 1, 13, 16, 8, "random N=13 C=16");
    await checkToken(be, new Rng(115), 1, 67, 8, 8, "random N=67");
  });
  it("every token at the maximum depth (all three recursions, dense)", async () => {
    const ref = await checkToken(be, new Rng(112), 2, 7, 8, 8, "all depth 2", (x, wt) => {
      for (let i = 0; i < x.length; i += 8) x[i] = 4;
      wt.fill(0);
      wt[0 * 3 + 2] = 5;
    });
    expect(ref.depths.flat().every((d) => d === 2)).toBe(true);
  });
  it("tied router probabilities (zero router): depth 0 for every token, weight 1/3", async () => {
    const ref = await checkToken(be, new Rng(113), 1, 6, 8, 8, "ties depth 0", (_x, wt) => wt.fill(0));
    expect(ref.depths.flat().every((d) => d === 0)).toBe(true);
  });
  it("a single token at depth 2 among depth-0 tokens attends only to itself in recursions 1 and 2", async () => {
    await checkToken(be, new Rng(114), 1, 5, 8, 8, "lone deep token", (x, wt) => {
      wt.fill(0);
      wt[0 * 3 + 2] = 6;
      for (let n = 0; n < 5; n++) x[n * 8] = n === 3 ? 3 : -3;
    });
  });
  afterAll(() => reportErrors("mor"));
});
