/**
 * Text-guided token pruning / RFM (methods.md §10.2–10.3): independent reference vs
 * examples/text-guided-pruning/text-guided-pruning.attn on the interpreter. Reference:
 *   z_h[j] = q_h·k_hj/√D over the valid local image tokens (invalid cells masked), softmax over
 *   that span only per head, mean over heads;
 *   keep = topk(score over valid, int(ρ·N_valid)) (ties → lowest index) ∪ {n : n mod W = W − 1};
 *   sorted ascending, rows gathered (zeros after the count), indices −1 padded.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Rng, boolt, compileExample, expectClose, expectExact, f32t, reportErrors, runOn, describeBackends, type Backend, softmaxRow, topkIndices } from "./lm-util.ts";

const PATH = "examples/text-guided-pruning/text-guided-pruning.attn";
const f = Math.fround;

async function check(be: Backend, rng: Rng, B: number, H: number, N: number, D: number, C: number, valid: boolean[][], ratio: number, W: number, label: string, tieKeys = false) {
  const q = rng.normals(B * H * D), k = rng.normals(B * H * N * D), tokens = rng.normals(B * N * C);
  if (tieKeys) for (let bh = 0; bh < B * H; bh++) for (let j = 1; j < N; j++) for (let d = 0; d < D; d++) k[(bh * N + j) * D + d] = k[bh * N * D + d]!;
  const g = compileExample(PATH, "text_guided_prune", { ratio, W });
  const [rows, idx, count] = await runOn(be, g, { q: f32t([B, H, D], q), k_img: f32t([B, H, N, D], k), valid: boolt([B, N], valid.flat()), tokens: f32t([B, N, C], tokens) });
  const refRows = new Float64Array(B * N * C), refIdx: number[] = [], refCount: number[] = [];
  for (let b = 0; b < B; b++) {
    const score = new Float64Array(N);
    for (let h = 0; h < H; h++) {
      const z = new Float64Array(N);
      for (let j = 0; j < N; j++) {
        if (!valid[b]![j]) { z[j] = -Infinity; continue; }
        let s = 0;
        for (let d = 0; d < D; d++) s += q[(b * H + h) * D + d]! * k[((b * H + h) * N + j) * D + d]!;
        z[j] = f(s / Math.sqrt(D));
      }
      const p = softmaxRow(z);
      for (let j = 0; j < N; j++) score[j]! += f(p[j]!) / H;
    }
    for (let j = 0; j < N; j++) score[j] = f(score[j]!);
    const validIdx = [...Array(N).keys()].filter((j) => valid[b]![j]);
    const kcount = Math.floor(f(f(ratio) * validIdx.length));
    const top = topkIndices(validIdx.map((j) => score[j]!), kcount).map((t) => validIdx[t]!);
    const keep = new Set<number>(top);
    for (let n = 0; n < N; n++) if (n % W === W - 1) keep.add(n);
    const kept = [...keep].sort((a, c) => a - c);
    refCount.push(kept.length);
    refIdx.push(...kept, ...new Array<number>(N - kept.length).fill(-1));
    kept.forEach((j, m) => { for (let c = 0; c < C; c++) refRows[(b * N + m) * C + c] = tokens[(b * N + j) * C + c]!; });
  }
  expectExact(count!.data, refCount, `tgp ${label} count`);
  expectExact(idx!.data, refIdx, `tgp ${label} idx`);
  expectClose(rows!.data, refRows, `tgp ${label} rows`);
  return refCount;
}

const randValid = (rng: Rng, B: number, N: number, p: number) => [...Array(B)].map(() => [...Array(N)].map(() => rng.next() < p));

describeBackends("text-guided pruning (methods.md §10) against an independent reference", (be) => {
  it("random scores, partial validity, N not a multiple of the row width", async () => {
    const rng = new Rng(70);
    await check(be, rng, 2, 3, 23, 8, 5, randValid(rng, 2, 23, 0.8), 0.25, 5, "random ρ=0.25 W=5");
    await check(be, rng, 2, 2, 37, 4, 3, randValid(rng, 2, 37, 0.6), 0.4, 6, "random ρ=0.4 W=6");
    await check(be, rng, 1, 2, 50, 8, 4, [Array(50).fill(true)], 0.25, 25, "all valid W=25");
    await check(be, rng, 2, 2, 129, 4, 3, randValid(rng, 2, 129, 0.7), 0.25, 5, "random N=129 ρ=0.25 W=5");
  });
  it("ratio 1 keeps every valid token plus the newlines; ratio 0 keeps only the newlines", async () => {
    const rng = new Rng(71);
    const valid = randValid(rng, 2, 21, 0.7);
    const c1 = await check(be, rng, 2, 2, 21, 4, 3, valid, 1.0, 7, "ρ=1");
    expect(c1).toEqual(valid.map((v) => v.filter((x, n) => x || n % 7 === 6).length));
    expect(await check(be, rng, 2, 2, 21, 4, 3, valid, 0, 7, "ρ=0")).toEqual([3, 3]);
  });
  it("ties (identical keys → equal scores) go to the lowest valid index", async () => {
    const rng = new Rng(72);
    const valid = [[...Array(19)].map((_, n) => n !== 2 && n !== 5)];
    await check(be, rng, 1, 2, 19, 4, 2, valid, 0.3, 4, "ties", true);
  });
  it("no valid tokens: only the newline tokens survive", async () => {
    const rng = new Rng(73);
    expect(await check(be, rng, 1, 2, 15, 4, 2, [Array(15).fill(false)], 0.5, 5, "no valid")).toEqual([3]);
  });
  afterAll(() => reportErrors("tgp"));
});
