/**
 * Code subtoken merging — examples/code-subtoken-merge (`subtoken_merge`, `subtoken_expand`,
 * `subtoken_roundtrip`) against an independent float64 reference of its README: the mean of the
 * hidden states of each identifier group (ids in [0, groups); −1 = no group, left out; an empty
 * group is a zero row), and the inverse gather (id −1 gives zeros).
 */
import { afterAll, describe, it } from "vitest";
import { type T64, compileExample, expectClose, f32In, i32In, randint, randn, reportMaxSeen, runOn, describeBackends, type Backend, t64, zeros64 } from "./util.ts";

afterAll(() => reportMaxSeen("subtoken"));

function groupMeanRef(h: T64, group: T64, G: number): T64 {
  const [B, N, C] = h.shape as [number, number, number];
  const out = zeros64([B, G, C]);
  for (let b = 0; b < B; b++) {
    const count = new Array<number>(G).fill(0);
    for (let n = 0; n < N; n++) {
      const g = group.data[b * N + n]!;
      if (g < 0) continue;
      count[g]!++;
      for (let c = 0; c < C; c++) out.data[(b * G + g) * C + c]! += h.data[(b * N + n) * C + c]!;
    }
    for (let g = 0; g < G; g++) if (count[g]! > 0) for (let c = 0; c < C; c++) out.data[(b * G + g) * C + c]! /= count[g]!;
  }
  return out;
}

function expandRef(gv: T64, group: T64): T64 {
  const [B, G, C] = gv.shape as [number, number, number];
  const N = group.shape[1]!;
  const out = zeros64([B, N, C]);
  for (let b = 0; b < B; b++)
    for (let n = 0; n < N; n++) {
      const g = group.data[b * N + n]!;
      if (g >= 0) for (let c = 0; c < C; c++) out.data[(b * N + n) * C + c] = gv.data[(b * G + g) * C + c]!;
    }
  return out;
}

/** Contiguous identifier runs (as a tokenizer gives them), with some −1 tokens, ids < G. */
function runsGroups(B: number, N: number, G: number, seed: number): T64 {
  const r = randint([B, N], seed, 4);
  const out = zeros64([B, N]);
  for (let b = 0; b < B; b++) {
    let id = 0;
    for (let n = 0; n < N; n++) {
      const v = r.data[b * N + n]!;
      if (v === 0) out.data[b * N + n] = -1;
      else {
        if (v === 1 && n > 0) id++;
        out.data[b * N + n] = id % G;
      }
    }
  }
  return out;
}

describeBackends("code subtoken merge (examples/code-subtoken-merge)", (be) => {
  const cases: [number, number, string][] = [
    [16, 4, "runs"],
    [33, 8, "runs"],
    [67, 8, "runs"], // more tokens than one 64-wide tile
    [129, 8, "scattered"],
    [17, 64, "runs"], // more groups than tokens: the unused ones are zero rows
    [15, 5, "scattered"], // arbitrary (non-contiguous) ids with −1
    [9, 1, "scattered"],
    [8, 3, "all-minus-one"],
  ];
  for (const [N, G, kind] of cases)
    it(`${kind}, N = ${N}, groups = ${G}`, async () => {
      const B = 2, C = 5;
      const h = randn([B, N, C], N * 10 + G);
      const group =
        kind === "runs" ? runsGroups(B, N, G, N + G)
        : kind === "all-minus-one" ? t64([B, N], Array(B * N).fill(-1))
        : (() => {
            const g = randint([B, N], N * 3 + G, G + 1);
            g.data.forEach((v, i) => (g.data[i] = v - 1));
            return g;
          })();
      const merged = groupMeanRef(h, group, G);
      const [m] = await runOn(be, compileExample("code-subtoken-merge", "subtoken_merge", { groups: G }), { h: f32In(h), group: i32In(group) });
      expectClose("subtoken_merge: merge", m!, merged);
      const [rt] = await runOn(be, compileExample("code-subtoken-merge", "subtoken_roundtrip", { groups: G }), { h: f32In(h), group: i32In(group) });
      expectClose("subtoken_roundtrip: roundtrip", rt!, expandRef(merged, group));
      const gv = randn([B, G, C], N + 99);
      const [ex] = await runOn(be, compileExample("code-subtoken-merge", "subtoken_expand", { groups: G }), { g: f32In(gv), group: i32In(group) });
      expectClose("subtoken_expand: expand", ex!, expandRef(gv, group), 0);
    });
});
