/**
 * BiFormer BRA + LCE (methods.md §1) — examples/biformer-bra (`bra`, `bra_padded`) against an
 * independent float64 reference written from §1.3 (legacy NHWC op):
 *   zero-pad bottom/right to multiples of S before the projection (auto_pad), q|k|v = x·Wqkv + b,
 *   S² regions in raster order, region descriptors = arithmetic means of q and k over the region
 *   (all channels), A_r = q_r·k_rᵀ shared by all heads, route = topk(A_r) in descending affinity
 *   (ties → lowest region index), per-head softmax((q·C^-1/2)·K_gᵀ)·V_g over the k·n_r gathered
 *   keys (padded tokens not masked), + depthwise 5×5 conv of v over the whole (padded) image with
 *   zero borders (cross-correlation, as PyTorch Conv2d), then ·Wo + b_o, then crop.
 *
 * The routing decision is taken on f32-rounded descriptors and affinities, as the graph stores
 * them; values are compared with |a − b| ≤ 1e-5·max(1, |ref|).
 */
import { afterAll, describe, expect, it } from "vitest";
import { type T64, argsortDesc, compileExample, expectClose, f32In, randn, reportMaxSeen, runOn, describeBackends, type Backend, t64, zeros64 } from "./util.ts";

afterAll(() => reportMaxSeen("bra"));

interface BraW {
  wqkv: T64; bqkv: T64; wo: T64; bo: T64; wlce: T64; blce: T64;
}

function braWeights(C: number, seed: number): BraW {
  const s = 1 / Math.sqrt(C);
  return {
    wqkv: randn([C, 3 * C], seed + 1, s), bqkv: randn([3 * C], seed + 2, 0.2),
    wo: randn([C, C], seed + 3, s), bo: randn([C], seed + 4, 0.1),
    wlce: randn([C, 5, 5], seed + 5, 0.2), blce: randn([C], seed + 6, 0.1),
  };
}

/** BRA + LCE (§1.3), auto_pad when H or W is not a multiple of S. Returns y [B, H, W, C] and the routes [B, S², topk]. */
function braRef(x: T64, w: BraW, S: number, topk: number, heads: number): { y: T64; route: number[][][] } {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const Hp = Math.ceil(H / S) * S;
  const Wp = Math.ceil(W / S) * S;
  const h = Hp / S, wd = Wp / S, nr = h * wd, R = S * S, d = C / heads;
  const scale = 1 / Math.sqrt(C);
  const y = zeros64([B, H, W, C]);
  const routes: number[][][] = [];
  for (let b = 0; b < B; b++) {
    // step 1 + 3: pad, project. qkv[(yy*Wp + xx)*3C + ...]
    const qkv = new Float64Array(Hp * Wp * 3 * C);
    for (let yy = 0; yy < Hp; yy++)
      for (let xx = 0; xx < Wp; xx++)
        for (let f = 0; f < 3 * C; f++) {
          let s = w.bqkv.data[f]!;
          if (yy < H && xx < W) for (let c = 0; c < C; c++) s += x.data[((b * H + yy) * W + xx) * C + c]! * w.wqkv.data[c * 3 * C + f]!;
          qkv[(yy * Wp + xx) * 3 * C + f] = s;
        }
    // step 2: token t of region j
    const pix = (j: number, t: number) => {
      const ry = Math.floor(j / S), rx = j % S;
      return (ry * h + Math.floor(t / wd)) * Wp + rx * wd + (t % wd);
    };
    // step 4-6: routing
    const qr = new Float64Array(R * C), kr = new Float64Array(R * C);
    for (let j = 0; j < R; j++)
      for (let c = 0; c < C; c++) {
        let sq = 0, sk = 0;
        for (let t = 0; t < nr; t++) {
          sq += Math.fround(qkv[pix(j, t) * 3 * C + c]!);
          sk += Math.fround(qkv[pix(j, t) * 3 * C + C + c]!);
        }
        qr[j * C + c] = Math.fround(sq / nr);
        kr[j * C + c] = Math.fround(sk / nr);
      }
    const route: number[][] = [];
    for (let i = 0; i < R; i++) {
      const a: number[] = [];
      for (let j = 0; j < R; j++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += qr[i * C + c]! * kr[j * C + c]!;
        a.push(Math.fround(s));
      }
      route.push(argsortDesc(a).slice(0, topk));
    }
    routes.push(route);
    // step 7-9: attention over the gathered regions
    const o = new Float64Array(Hp * Wp * C);
    for (let i = 0; i < R; i++) {
      const keys: number[] = [];
      for (const j of route[i]!) for (let t = 0; t < nr; t++) keys.push(pix(j, t));
      for (let t = 0; t < nr; t++) {
        const p = pix(i, t);
        for (let m = 0; m < heads; m++) {
          const z = keys.map((kp) => {
            let s = 0;
            for (let e = 0; e < d; e++) s += qkv[p * 3 * C + m * d + e]! * scale * qkv[kp * 3 * C + C + m * d + e]!;
            return s;
          });
          const mx = Math.max(...z);
          const ez = z.map((v) => Math.exp(v - mx));
          const sum = ez.reduce((u, v) => u + v, 0);
          for (let e = 0; e < d; e++) {
            let acc = 0;
            keys.forEach((kp, n) => (acc += (ez[n]! / sum) * qkv[kp * 3 * C + 2 * C + m * d + e]!));
            o[p * C + m * d + e] = acc;
          }
        }
      }
    }
    // step 10: LCE(v) on the full padded image, zero borders
    for (let yy = 0; yy < Hp; yy++)
      for (let xx = 0; xx < Wp; xx++)
        for (let c = 0; c < C; c++) {
          let s = w.blce.data[c]!;
          for (let dy = 0; dy < 5; dy++)
            for (let dx = 0; dx < 5; dx++) {
              const sy = yy + dy - 2, sx = xx + dx - 2;
              if (sy < 0 || sx < 0 || sy >= Hp || sx >= Wp) continue;
              s += w.wlce.data[(c * 5 + dy) * 5 + dx]! * qkv[(sy * Wp + sx) * 3 * C + 2 * C + c]!;
            }
          o[(yy * Wp + xx) * C + c]! += s;
        }
    // step 11: Wo, crop
    for (let yy = 0; yy < H; yy++)
      for (let xx = 0; xx < W; xx++)
        for (let f = 0; f < C; f++) {
          let s = w.bo.data[f]!;
          for (let c = 0; c < C; c++) s += o[(yy * Wp + xx) * C + c]! * w.wo.data[c * C + f]!;
          y.data[((b * H + yy) * W + xx) * C + f] = s;
        }
  }
  return { y, route: routes };
}

async function runBra(be: Backend, graph: "bra" | "bra_padded", x: T64, w: BraW, S: number, topk: number, heads: number, what: string) {
  const g = compileExample("biformer-bra", graph, { S, topk, heads });
  const ins: Record<string, ReturnType<typeof f32In>> = { x: f32In(x) };
  for (const [k, v] of Object.entries(w)) ins[k] = f32In(v as T64);
  const [y] = await runOn(be, g, ins);
  const ref = braRef(x, w, S, topk, heads);
  expectClose(`${graph}: ${what}`, y!, ref.y);
  return ref;
}

// Each (S, topk, heads) is one program, and each program costs seconds of shader compilation on
// SwiftShader: the cases share them where the edge case does not need values of its own.
describeBackends("BiFormer BRA (examples/biformer-bra bra) vs the §1.3 reference", (be) => {
  const cases: [number, number, number, number, number][] = [
    // S, topk, H, W, heads
    [7, 4, 14, 14, 4],
    [7, 1, 14, 14, 4],
    [7, 16, 14, 14, 4],
    [7, 4, 7, 21, 2],
    [8, 4, 16, 16, 4],
    [8, 1, 8, 16, 4],
    [8, 16, 16, 8, 4],
    [2, 4, 6, 4, 4], // topk = S²: every region routed
    [2, 2, 2, 2, 1], // one token per region
  ];
  for (const [S, topk, H, W, heads] of cases)
    it(`S = ${S}, topk = ${topk}, ${H}×${W}, heads = ${heads}`, async () => {
      const C = 8;
      const seed = S * 1000 + topk * 100 + H + W;
      await runBra(be, "bra", randn([2, H, W, C], seed), braWeights(C, seed), S, topk, heads, `S${S} k${topk} ${H}x${W}`);
    });

  it("ties: a constant map makes every region affinity equal; routes are the lowest indices 0..topk-1", async () => {
    const S = 7, topk = 4, H = 14, W = 14, C = 8;
    const x = t64([1, H, W, C], Array.from({ length: H * W * C }, (_, i) => ((i % C) - 3) / 4));
    const ref = await runBra(be, "bra", x, braWeights(C, 5), S, topk, 4, "constant map");
    for (const row of ref.route[0]!) expect(row).toEqual([0, 1, 2, 3]);
  });

  it("ties that change the output: q and k read only a constant channel, v the random ones (topk 1, 4, 16)", async () => {
    // every region affinity is exactly 1·1, so the routes must be 0..topk-1 (lowest index wins),
    // while the values differ from region to region: a wrong tie-break changes y
    const S = 7, H = 14, W = 14, C = 8;
    const x = randn([1, H, W, C], 321);
    for (let p = 0; p < H * W; p++) x.data[p * C] = 1;
    const w = braWeights(C, 11);
    for (let c = 0; c < C; c++)
      for (let f = 0; f < 2 * C; f++) w.wqkv.data[c * 3 * C + f] = c === 0 && (f === 0 || f === C) ? 1 : 0;
    for (let f = 0; f < 2 * C; f++) w.bqkv.data[f] = 0;
    for (const topk of [1, 4, 16]) {
      const ref = await runBra(be, "bra", x, w, S, topk, 4, `exact ties k${topk}`);
      for (const row of ref.route[0]!) expect(row).toEqual([...Array(topk).keys()]);
    }
  });

  it("ties: two distinct region patterns repeated (exact equal affinities), topk 1, 4 and 16", async () => {
    const S = 7, H = 14, W = 14, C = 8;
    const x = zeros64([1, H, W, C]);
    for (let yy = 0; yy < H; yy++)
      for (let xx = 0; xx < W; xx++) {
        const region = Math.floor(yy / 2) * S + Math.floor(xx / 2);
        const pat = region % 3 === 0 ? 1 : 0;
        for (let c = 0; c < C; c++) x.data[(yy * W + xx) * C + c] = pat ? (c % 2 ? 0.5 : -1) : c === 0 ? 2 : 0;
      }
    for (const topk of [1, 4, 16]) await runBra(be, "bra", x, braWeights(C, 9), S, topk, 4, `two patterns k${topk}`);
  });
});

describeBackends("BiFormer BRA with auto_pad (examples/biformer-bra bra_padded)", (be) => {
  const cases: [number, number, number, number][] = [
    // S, topk, H, W
    [7, 4, 13, 15],
    [7, 1, 13, 15],
    [7, 16, 13, 15],
    [7, 4, 8, 20],
    [8, 4, 10, 17],
    [8, 1, 15, 9],
    [8, 16, 9, 10],
    [7, 4, 14, 14], // already a multiple: no padding
    [3, 4, 1, 2], // most of the image is padding
  ];
  for (const [S, topk, H, W] of cases)
    it(`S = ${S}, topk = ${topk}, ${H}×${W} (padded to ${Math.ceil(H / S) * S}×${Math.ceil(W / S) * S})`, async () => {
      const C = 8;
      const seed = 77 + S * 1000 + topk * 100 + H + W;
      await runBra(be, "bra_padded", randn([1, H, W, C], seed), braWeights(C, seed), S, topk, 4, `S${S} k${topk} ${H}x${W}`);
    });
});
