/**
 * A-CLIP attentive mask (methods.md §11.2, §11.4, §11.5) — examples/aclip (`aclip`, `aclip_qkv`)
 * against an independent float64 reference:
 *   saliency = mean over layers and heads of P[l, b, m, 0, 1:]; a real bilinear resize G×G →
 *   (G/2)×(G/2) (PyTorch F.interpolate, align_corners = False, no antialias — written out here
 *   rather than assumed equal to a 2×2 mean); keep the top `cells` cells by argsort↓ (ties →
 *   lowest index); expand each to its 2×2 patch block; gather the kept patches (ascending: the
 *   reference order is arbitrary, §11.5) and prepend [CLS]. For aclip_qkv the [CLS] rows come
 *   from softmax(q_0·kᵀ/√E).
 * The crop alignment (§11.3) is not part of the example (its README says so).
 */
import { afterAll, describe, expect, it } from "vitest";
import { type T64, argsortDesc, compileExample, expectClose, f32In, randint, randn, reportMaxSeen, runOn, describeBackends, type Backend, zeros64 } from "./util.ts";

afterAll(() => reportMaxSeen("aclip"));

/** PyTorch bilinear resize of one [h, w] map to [oh, ow], align_corners = False. */
function bilinear(src: Float64Array, h: number, w: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  const coord = (o: number, inN: number, outN: number) => {
    const s = Math.max(((o + 0.5) * inN) / outN - 0.5, 0);
    const i0 = Math.min(Math.floor(s), inN - 1);
    const i1 = Math.min(i0 + 1, inN - 1);
    return [i0, i1, s - i0] as const;
  };
  for (let y = 0; y < oh; y++) {
    const [y0, y1, fy] = coord(y, h, oh);
    for (let x = 0; x < ow; x++) {
      const [x0, x1, fx] = coord(x, w, ow);
      out[y * ow + x] =
        (1 - fy) * ((1 - fx) * src[y0 * w + x0]! + fx * src[y0 * w + x1]!) + fy * ((1 - fx) * src[y1 * w + x0]! + fx * src[y1 * w + x1]!);
    }
  }
  return out;
}

/** sal [B, G²] → kept patch indices (ascending) per image. */
function keepRef(sal: T64, G: number, cells: number): number[][] {
  const B = sal.shape[0]!;
  const g2 = G / 2;
  const out: number[][] = [];
  for (let b = 0; b < B; b++) {
    const grid = bilinear(sal.data.subarray(b * G * G, (b + 1) * G * G), G, G, g2, g2).map((v) => Math.fround(v));
    const keepCells = new Set(argsortDesc(grid).slice(0, cells));
    const kept: number[] = [];
    for (let p = 0; p < G * G; p++) {
      const cell = Math.floor(Math.floor(p / G) / 2) * g2 + Math.floor((p % G) / 2);
      if (keepCells.has(cell)) kept.push(p);
    }
    out.push(kept);
  }
  return out;
}

/** [cls, x[kept]] per image. */
function assemble(x: T64, cls: T64, kept: number[][]): T64 {
  const [B, , C] = x.shape as [number, number, number];
  const K = kept[0]!.length;
  const out = zeros64([B, K + 1, C]);
  for (let b = 0; b < B; b++) {
    out.data.set(cls.data.subarray(b * C, (b + 1) * C), b * (K + 1) * C);
    kept[b]!.forEach((p, i) => out.data.set(x.data.subarray((b * x.shape[1]! + p) * C, (b * x.shape[1]! + p + 1) * C), (b * (K + 1) + 1 + i) * C));
  }
  return out;
}

/** Saliency from attention probabilities attn [L, B, M, P+1, P+1]. */
function salFromAttn(attn: T64, P: number): T64 {
  const [L, B, M] = attn.shape as [number, number, number];
  const sal = zeros64([B, P]);
  for (let l = 0; l < L; l++)
    for (let b = 0; b < B; b++)
      for (let m = 0; m < M; m++)
        for (let p = 0; p < P; p++) sal.data[b * P + p]! += attn.data[(((l * B + b) * M + m) * (P + 1) + 0) * (P + 1) + p + 1]! / (L * M);
  return sal;
}

async function checkAclip(be: Backend, attn: T64, x: T64, cls: T64, G: number, cells: number, what: string): Promise<number[][]> {
  const g = compileExample("aclip", "aclip", { G, cells });
  const [y] = await runOn(be, g, { attn: f32In(attn), x: f32In(x), cls: f32In(cls) });
  const sal = salFromAttn(attn, G * G);
  sal.data.forEach((v, i) => (sal.data[i] = Math.fround(v)));
  const kept = keepRef(sal, G, cells);
  for (const k of kept) expect(k.length).toBe(4 * cells);
  expectClose(`aclip: ${what}`, y!, assemble(x, cls, kept), 0); // a pure gather: exact
  return kept;
}

describeBackends("A-CLIP (examples/aclip aclip) vs the §11.4 reference", (be) => {
  const cases: [number, number, number][] = [
    // G, cells, L
    [14, 25, 2], // ViT-B/16 at 224: 100 kept, 96 removed
    [14, 1, 1],
    [14, 49, 3], // every cell kept: the identity order
    [6, 5, 2],
    [2, 1, 2], // a single cell
    [8, 9, 1],
  ];
  for (const [G, cells, L] of cases)
    it(`random attention, G = ${G}, cells = ${cells}, L = ${L}`, async () => {
      const B = 2, M = 3, C = 4, P = G * G;
      const seed = G * 100 + cells + L;
      const attn = randn([L, B, M, P + 1, P + 1], seed);
      attn.data.forEach((v, i) => (attn.data[i] = Math.fround(Math.exp(v))));
      const kept = await checkAclip(be, attn, randn([B, P, C], seed + 1), randn([B, 1, C], seed + 2), G, cells, `G${G} c${cells}`);
      if (cells === (G / 2) ** 2) expect(kept[0]).toEqual(Array.from({ length: P }, (_, p) => p));
    });

  it("ties: integer attention (many equal cell means) and an all-equal map (lowest cells win)", async () => {
    const G = 14, cells = 25, L = 2, B = 2, M = 2, P = G * G;
    await checkAclip(be, randint([L, B, M, P + 1, P + 1], 4, 3), randn([B, P, 3], 5), randn([B, 1, 3], 6), G, cells, "integer ties");
    const flat = zeros64([1, 1, 1, P + 1, P + 1]);
    flat.data.fill(0.25);
    const kept = await checkAclip(be, flat, randn([1, P, 3], 7), randn([1, 1, 3], 8), G, cells, "all equal");
    // cells 0..24 in raster order of the 7×7 grid: rows 0-2 (21 cells) and cells 21-24 of row 3
    const expectKept: number[] = [];
    for (let p = 0; p < P; p++) if (Math.floor(Math.floor(p / G) / 2) * 7 + Math.floor((p % G) / 2) < 25) expectKept.push(p);
    expect(kept[0]).toEqual(expectKept);
  });
});

describe("A-CLIP reference helper", () => {
  it("the bilinear 0.5 downsample is the 2×2 mean (what the program computes)", () => {
    const src = randn([1, 14 * 14], 3).data;
    const bl = bilinear(src, 14, 14, 7, 7);
    for (let q = 0; q < 49; q++) {
      const r = Math.floor(q / 7), c = q % 7;
      const m = (src[2 * r * 14 + 2 * c]! + src[2 * r * 14 + 2 * c + 1]! + src[(2 * r + 1) * 14 + 2 * c]! + src[(2 * r + 1) * 14 + 2 * c + 1]!) / 4;
      expect(Math.abs(bl[q]! - m)).toBeLessThan(1e-12);
    }
  });
});

describeBackends("A-CLIP from q, k, v (examples/aclip aclip_qkv)", (be) => {
  for (const [G, cells] of [[14, 25], [6, 4]] as [number, number][])
    it(`G = ${G}, cells = ${cells}`, async () => {
      const L = 2, B = 2, M = 2, E = 4, C = 3, P = G * G;
      const g = compileExample("aclip", "aclip_qkv", { G, cells });
      const q = randn([L, B, M, P + 1, E], G + 1);
      const k = randn([L, B, M, P + 1, E], G + 2);
      const v = randn([L, B, M, P + 1, E], G + 3);
      const x = randn([B, P, C], G + 4);
      const cls = randn([B, 1, C], G + 5);
      const [y] = await runOn(be, g, { q: f32In(q), k: f32In(k), v: f32In(v), x: f32In(x), cls: f32In(cls) });
      // the [CLS] row of softmax(q kᵀ / √E), per layer, image and head
      const sal = zeros64([B, P]);
      for (let l = 0; l < L; l++)
        for (let b = 0; b < B; b++)
          for (let m = 0; m < M; m++) {
            const base = ((l * B + b) * M + m) * (P + 1);
            const z: number[] = [];
            for (let j = 0; j <= P; j++) {
              let s = 0;
              for (let e = 0; e < E; e++) s += q.data[base * E + e]! * k.data[(base + j) * E + e]!;
              z.push(s / Math.sqrt(E));
            }
            const mx = Math.max(...z);
            const ez = z.map((t) => Math.exp(t - mx));
            const sum = ez.reduce((a, c) => a + c, 0);
            for (let p = 0; p < P; p++) sal.data[b * P + p]! += ez[p + 1]! / sum / (L * M);
          }
      expectClose(`aclip_qkv: G${G}`, y!, assemble(x, cls, keepRef(sal, G, cells)), 0);
    });
});
