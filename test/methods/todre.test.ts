/**
 * ToDRE (methods.md §6): independent reference vs examples/todre/todre.attn on the interpreter.
 * Stage 1 (todre_select), both objectives (-D maxsum=true|false), from the §6.1 pseudocode:
 *   rows normalized; pivot = argmax cls_attn; max-sum: acc += X·x_last, c = argmin_{v∉C} acc;
 *   k-center: dmin = 1 − X·x_p, c = argmax_{v∉C} dmin, dmin = min(dmin, 1 − X·x_c);
 *   ties → lowest index; output sorted ascending with the gathered rows.
 *   (Running statistics are rounded to f32 as the interpreter stores them, so near-ties resolve alike.)
 * Stage 2 (todre_relevance), from §6.2 with head-averaged causal softmax A:
 *   α_{t→v} = Σ_{i∈T, j∈V} A_ij / Σ_{i∈T, j} A_ij,  α_{v→t} = Σ_{i∈V, j∈T} A_ij / Σ_{i∈V, j} A_ij;
 *   drop = both < τ; survivors = positions that are not (drop ∧ visual), ascending, −1 padded.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rng, boolt, compileExample, expectClose, expectExact, f32t, refAttention, reportErrors, runOn, describeBackends, type Backend } from "./lm-util.ts";

const PATH = "examples/todre/todre.attn";
const f = Math.fround;

function refSelect(x: Float64Array, cls: Float64Array, N: number, D: number, k: number, maxsum: boolean): number[] {
  const xn = new Float64Array(N * D);
  for (let v = 0; v < N; v++) {
    let s = 0;
    for (let c = 0; c < D; c++) s += x[v * D + c]! ** 2;
    const n = Math.max(Math.sqrt(s), 1e-12);
    for (let c = 0; c < D; c++) xn[v * D + c] = f(x[v * D + c]! / n);
  }
  const dot = (a: number, b: number) => {
    let s = 0;
    for (let c = 0; c < D; c++) s += xn[a * D + c]! * xn[b * D + c]!;
    return f(s);
  };
  let p = 0;
  for (let v = 1; v < N; v++) if (cls[v]! > cls[p]!) p = v;
  const C = [p];
  const taken = new Array<boolean>(N).fill(false);
  taken[p] = true;
  const acc = new Float64Array(N);
  const dmin = new Float64Array(N);
  for (let v = 0; v < N; v++) dmin[v] = f(1 - dot(v, p));
  while (C.length < k) {
    let c = -1;
    if (maxsum) {
      const last = C[C.length - 1]!;
      for (let v = 0; v < N; v++) acc[v] = f(acc[v]! + dot(v, last));
      for (let v = 0; v < N; v++) if (!taken[v] && (c < 0 || acc[v]! < acc[c]!)) c = v;
    } else {
      for (let v = 0; v < N; v++) if (!taken[v] && (c < 0 || dmin[v]! > dmin[c]!)) c = v;
      for (let v = 0; v < N; v++) dmin[v] = Math.min(dmin[v]!, f(1 - dot(v, c)));
    }
    C.push(c);
    taken[c] = true;
  }
  return C.sort((a, b) => a - b);
}

async function checkSelect(be: Backend, rng: Rng, B: number, N: number, D: number, keep: number, maxsum: boolean, label: string, mk?: (x: Float64Array, cls: Float64Array) => void): Promise<number[][]> {
  const x = rng.normals(B * N * D);
  const cls = new Float64Array(B * N);
  for (let i = 0; i < cls.length; i++) cls[i] = f(rng.next());
  mk?.(x, cls);
  const g = compileExample(PATH, "todre_select", { keep, maxsum });
  const [xs, sel] = await runOn(be, g, { x: f32t([B, N, D], x), cls_attn: f32t([B, N], cls) });
  const all: number[][] = [];
  const refRows: number[] = [];
  for (let b = 0; b < B; b++) {
    const C = refSelect(x.subarray(b * N * D, (b + 1) * N * D), cls.subarray(b * N, (b + 1) * N), N, D, keep, maxsum);
    all.push(C);
    for (const c of C) for (let d = 0; d < D; d++) refRows.push(x[(b * N + c) * D + d]!);
  }
  expectExact(sel!.data, all.flat(), `todre select ${label} indices`);
  expectClose(xs!.data, refRows, `todre select ${label} rows`);
  return all;
}

describeBackends("ToDRE stage 1 (methods.md §6.1) against an independent reference", (be) => {
  for (const maxsum of [true, false]) {
    const obj = maxsum ? "max-sum" : "k-center";
    it(`${obj}: random embeddings, odd N`, async () => {
      const rng = new Rng(maxsum ? 40 : 41);
      await checkSelect(be, rng, 2, 37, 8, 9, maxsum, `${obj} random`);
      await checkSelect(be, rng, 1, 64, 16, 8, maxsum, `${obj} N=64`);
      await checkSelect(be, rng, 2, 129, 8, 9, maxsum, `${obj} N=129`);
    });
    it(`${obj}: keep = 1 gives the pivot; keep = N keeps everything`, async () => {
      const rng = new Rng(42);
      const [piv] = await checkSelect(be, rng, 1, 11, 4, 1, maxsum, `${obj} keep=1`);
      expect(piv!.length).toBe(1);
      const all = await checkSelect(be, rng, 2, 11, 4, 11, maxsum, `${obj} keep=N`);
      for (const C of all) expect(C).toEqual([...Array(11).keys()]);
    });
    it(`${obj}: ties (identical rows, equal [CLS] scores) go to the lowest index`, async () => {
      const rng = new Rng(43);
      const all = await checkSelect(be, rng, 1, 13, 4, 5, maxsum, `${obj} ties`, (x, cls) => {
        for (let v = 1; v < 13; v++) for (let d = 0; d < 4; d++) x[v * 4 + d] = x[d]!;
        cls.fill(0.5);
      });
      expect(all[0]).toEqual([0, 1, 2, 3, 4]);
      // duplicates of a few rows: a chosen row's duplicates come last
      await checkSelect(be, rng, 2, 15, 6, 7, maxsum, `${obj} dup rows`, (x) => {
        for (let v = 5; v < 15; v += 2) for (let d = 0; d < 6; d++) { x[v * 6 + d] = x[(v - 4) * 6 + d]!; x[(15 + v) * 6 + d] = x[(15 + v - 4) * 6 + d]!; }
      });
    });
  }
  it("AnyRes: cls_attn = −inf outside the global thumbnail puts the pivot inside it", async () => {
    for (const maxsum of [true, false]) {
      const rng = new Rng(44);
      const all = await checkSelect(be, rng, 2, 25, 6, 6, maxsum, `${maxsum ? "max-sum" : "k-center"} anyres`, (_x, cls) => {
        for (let b = 0; b < 2; b++) for (let v = 0; v < 25; v++) if (v < 18) cls[b * 25 + v] = -Infinity; // thumbnail = tokens 18..24
      });
      for (const C of all) expect(C.some((c) => c >= 18)).toBe(true);
    }
  });

  it("the two objectives can disagree (the flag is live)", async () => {
    let differ = false;
    for (let s = 0; s < 5 && !differ; s++) {
      const rng = new Rng(100 + s);
      const x = rng.normals(40 * 6);
      const cls = Float64Array.from({ length: 40 }, () => f(rng.next()));
      differ = refSelect(x, cls, 40, 6, 10, true).join() !== refSelect(x, cls, 40, 6, 10, false).join();
    }
    expect(differ).toBe(true);
  });
});

async function checkRelevance(be: Backend, rng: Rng, B: number, H: number, N: number, E: number, kinds: string[][], tau: number, label: string, visBoost = 0): Promise<boolean[]> {
  const q = rng.normals(B * H * N * E), k = rng.normals(B * H * N * E), v = rng.normals(B * H * N * E);
  if (visBoost) for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let j = 0; j < N; j++) if (kinds[b]![j] === "v") k[((b * H + h) * N + j) * E] = f(visBoost);
  if (visBoost) for (let i = 0; i < q.length; i += E) q[i] = f(Math.abs(q[i]!) + 1);
  const isVis = kinds.flat().map((c) => c === "v");
  const isText = kinds.flat().map((c) => c === "t");
  const g = compileExample(PATH, "todre_relevance", { tau });
  const [o, drop, idx, count] = await runOn(be, g, { q: f32t([B, H, N, E], q), k: f32t([B, H, N, E], k), v: f32t([B, H, N, E], v), is_vis: boolt([B, N], isVis), is_text: boolt([B, N], isText) });
  const refO = new Float64Array(B * H * N * E);
  const drops: boolean[] = [], idxs: number[] = [], counts: number[] = [];
  for (let b = 0; b < B; b++) {
    const A = new Float64Array(N * N);
    for (let h = 0; h < H; h++) {
      const base = (b * H + h) * N * E;
      const r = refAttention(q.subarray(base, base + N * E), k.subarray(base, base + N * E), v.subarray(base, base + N * E), N, N, E, E, { keep: (i, j) => j <= i });
      refO.set(r.o, base);
      for (let x = 0; x < N * N; x++) A[x]! += r.p[x]! / H;
    }
    const K = kinds[b]!;
    let tvNum = 0, tvDen = 0, vtNum = 0, vtDen = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      if (K[i] === "t") { tvDen += A[i * N + j]!; if (K[j] === "v") tvNum += A[i * N + j]!; }
      if (K[i] === "v") { vtDen += A[i * N + j]!; if (K[j] === "t") vtNum += A[i * N + j]!; }
    }
    const d = tvNum / tvDen < tau && vtNum / vtDen < tau;
    drops.push(d);
    const keep = [...Array(N).keys()].filter((j) => !(d && K[j] === "v"));
    counts.push(keep.length);
    idxs.push(...keep, ...new Array<number>(N - keep.length).fill(-1));
  }
  expectClose(o!.data, refO, `todre relevance ${label} o`);
  expectExact(drop!.data, drops.map(Number), `todre relevance ${label} drop`);
  expectExact(idx!.data, idxs, `todre relevance ${label} idx`);
  expectExact(count!.data, counts, `todre relevance ${label} count`);
  return drops;
}

describeBackends("ToDRE stage 2 (methods.md §6.2) against an independent reference", (be) => {
  const layout = (s: number, nv: number, nt: number) => [...Array(s).fill("s"), ...Array(nv).fill("v"), ...Array(nt).fill("t")];
  it("random attention: τ = 0 never drops, τ > 1 always drops, τ in between follows the flows", async () => {
    const rng = new Rng(50);
    const kinds = [layout(2, 9, 6), layout(1, 12, 4)]; // N = 17
    expect(await checkRelevance(be, rng, 2, 2, 17, 8, kinds, 0, "τ=0")).toEqual([false, false]);
    expect(await checkRelevance(be, rng, 2, 2, 17, 8, kinds, 1.1, "τ=1.1")).toEqual([true, true]);
    await checkRelevance(be, rng, 2, 3, 17, 8, kinds, 0.5, "τ=0.5");
    await checkRelevance(be, rng, 2, 3, 17, 8, kinds, 0.1, "τ=0.1");
    const kinds67 = [layout(3, 50, 14), layout(1, 60, 6)]; // N = 67: past one 64-wide tile
    expect(await checkRelevance(be, rng, 2, 2, 67, 8, kinds67, 0, "N=67 τ=0")).toEqual([false, false]);
    expect(await checkRelevance(be, rng, 2, 2, 67, 8, kinds67, 1.1, "N=67 τ=1.1")).toEqual([true, true]);
    await checkRelevance(be, rng, 2, 2, 67, 8, kinds67, 0.5, "N=67 τ=0.5");
  });
  it("mixed decisions across the batch (one image weakly attended)", async () => {
    const rng = new Rng(51);
    const kinds = [layout(2, 6, 7), layout(2, 6, 7)];
    let seen = new Set<string>();
    for (let s = 0; s < 6; s++) for (const boost of [-20, 0]) seen.add((await checkRelevance(be, rng, 2, 2, 15, 4, kinds, 0.3, `mixed ${boost}`, boost)).join());
    expect([...seen].some((x) => x.includes("true"))).toBe(true);
    expect([...seen].some((x) => x.includes("false"))).toBe(true);
  });
  it("interleaved token kinds", async () => {
    const rng = new Rng(52);
    const kinds = [["s", "v", "t", "v", "v", "t", "s", "v", "t", "t", "v"], ["v", "v", "v", "t", "t", "v", "v", "t", "s", "t", "v"]];
    await checkRelevance(be, rng, 2, 2, 11, 6, kinds, 0.4, "interleaved τ=0.4");
    await checkRelevance(be, rng, 2, 2, 11, 6, kinds, 1.5, "interleaved τ=1.5");
  });
  afterAll(() => reportErrors("todre"));
});
