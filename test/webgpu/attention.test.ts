/**
 * The fused attention kernels (compiler/kernel/kernels/attention.ts) on WebGPU (Dawn; SwiftShader
 * on machines without a GPU) against the reference interpreter.
 *
 * Tolerance: every output element must satisfy |gpu − ref| ≤ tol · max|ref| over the finite
 * reference values of that output, with tol = 1e-5 for f32 outputs, 2^-10 (one f16 ulp at the
 * largest magnitude) for f16 outputs and 0 for integer outputs (a route); non-finite reference
 * values (−inf lse, NaN rows) must match exactly, and the error flag must equal the interpreter's. Shapes are small (SwiftShader is a CPU
 * driver) but chosen to cut tiles: N not a multiple of the 16-key / 16-row tiles, Nq ≠ Nk, D and
 * Dv above the 64-wide resident chunk, symbolic dims.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import * as Dm from "../../compiler/graph/dim.ts";
import { GraphBuilder, S, type AttentionOptions, type Tensor } from "../../compiler/graph/builder.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import { hostTensor, interpret, randomInputs, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { launches } from "../../compiler/kernel/program.ts";
import { WebGpuDevice, WebGpuUnavailable } from "../../runtime/webgpu/device.ts";
import { kernelWgsl, runProgram } from "../../runtime/webgpu/execute.ts";
import { maskKeyBounds } from "../../compiler/kernel/kernels/attention-range.ts";

let dev: WebGpuDevice | undefined;
let why = "";
try {
  dev = await WebGpuDevice.open();
} catch (e) {
  if (!(e instanceof WebGpuUnavailable)) throw e;
  why = e.message;
}
const suite = dev ? describe : describe.skip;

const TOL: Partial<Record<DType, number>> = { f32: 1e-5, f16: 2 ** -10, i32: 0 };
const report: string[] = [];
afterAll(() => {
  if (report.length) console.log(`attention on ${dev?.adapterName}: max |gpu − ref| / max|ref| per output\n${report.join("\n")}`);
  dev?.destroy();
});

/** Runs g on the GPU and in the interpreter and compares every output (see the file comment). */
async function compare(name: string, g: Graph, inputs: Record<string, HostTensor>, dims: Record<string, number> = {}) {
  const ref = interpret(g, inputs, { dims });
  const prog = lowerGraph(g);
  for (const l of launches(prog.steps)) kernelWgsl(l.kernel); // printable
  const res = await runProgram(prog, dev!, inputs, dims);
  expect(res.errorFlag, `${name}: error flag`).toBe(ref.errorFlag);
  const errs = res.outputs.map((o, n) => {
    const e = ref.outputs[n]!;
    expect(o.shape, `${name}: shape of output ${n}`).toEqual(e.shape);
    const tol = TOL[o.dtype];
    if (tol === undefined) throw new Error(`no tolerance for ${o.dtype}`);
    let maxRef = 0;
    for (const y of e.data) if (Number.isFinite(y)) maxRef = Math.max(maxRef, Math.abs(y));
    const scale = maxRef > 0 ? maxRef : 1;
    let worst = 0;
    for (let j = 0; j < e.data.length; j++) {
      const x = o.data[j]!;
      const y = e.data[j]!;
      if (!Number.isFinite(y)) {
        if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) expect.fail(`${name}: output ${n}[${j}] = ${x}, reference ${y}`);
        continue;
      }
      const d = Math.abs(x - y) / scale;
      if (!(d <= tol)) expect.fail(`${name}: output ${n}[${j}] = ${x}, reference ${y} (error ${d} of max|ref| ${maxRef} > ${tol})`);
      worst = Math.max(worst, d);
    }
    return worst;
  });
  report.push(`  ${name}: ${errs.map((x) => x.toExponential(1)).join(", ")}${ref.errorFlag ? " (flag set)" : ""}`);
  return { ref, res };
}

const build = (f: (b: GraphBuilder) => Tensor | Tensor[]): Graph => {
  const b = new GraphBuilder();
  const o = f(b);
  return b.finish(Array.isArray(o) ? o : [o]);
};
const attn = (b: GraphBuilder, q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions) => {
  const r = b.attention(q, k, v, o);
  return Array.isArray(r) ? r : [r];
};
const qkv = (b: GraphBuilder, batch: (string | number)[], Nq: string | number, Nk: string | number, D: string | number, Dv: string | number, dt: DType = "f32") => [
  b.input("q", dt, [...batch, Nq, D]),
  b.input("k", dt, [...batch, Nk, D]),
  b.input("v", dt, [...batch, Nk, Dv]),
] as const;
/** Deterministic values in [0, 1). */
const rand = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

suite(`fused attention on WebGPU${dev ? "" : ` (skipped: WebGPU unavailable: ${why})`}`, () => {
  it("dense, no mask (Nq ≠ Nk, not multiples of the tile), with lse", async () => {
    const g = build((b) => attn(b, ...qkv(b, [2, 3], 19, 23, 16, 8), { returns: [{ kind: "lse" }] }));
    await compare("dense", g, randomInputs(g, {}, 1));
  });

  it("causal mask", async () => {
    const g = build((b) => attn(b, ...qkv(b, [2, 2], 37, 37, 8, 8), { mask: ([, , i, j]) => S.le(j!, i!), returns: [{ kind: "lse" }] }));
    await compare("causal", g, randomInputs(g, {}, 2));
  });

  it("sliding window (i − 5 < j ≤ i)", async () => {
    const g = build((b) => attn(b, ...qkv(b, [2], 33, 33, 8, 12), { mask: ([, i, j]) => S.and(S.le(j!, i!), S.lt(S.sub(i!, j!), 5)) }));
    await compare("sliding window", g, randomInputs(g, {}, 3));
  });

  describe("key ranges from the mask (tiles outside them are skipped)", () => {
    it("window with an upper offset, a symbolic width and lse: W − 1 + j ≥ i && j ≤ i + 3, key tiles cut", async () => {
      const g = build((b) =>
        attn(b, ...qkv(b, [2], "N", "N", 8, 8), { mask: ([, i, j]) => S.and(S.ge(S.add(S.sub(S.dim("W"), 1), j!), i!), S.le(j!, S.add(i!, 3))), returns: [{ kind: "lse" }] }),
      );
      for (const dims of [{ N: 77, W: 20 }, { N: 40, W: 1 }, { N: 9, W: 100 }]) await compare(`window ${JSON.stringify(dims)}`, g, randomInputs(g, dims, 30), dims);
    });
    it("j < i − 40 (rows up to 40 have no key: o = 0, lse = -inf; whole query tiles skip every key tile)", async () => {
      const g = build((b) => attn(b, ...qkv(b, [], 75, 75, 8, 8), { mask: ([i, j]) => S.lt(j!, S.sub(i!, 40)), returns: [{ kind: "lse" }, { kind: "mass", keys: b.input("keys", "bool", [75]) }] }));
      const { res } = await compare("j < i - 40", g, randomInputs(g, {}, 31));
      expect(Array.from(res.outputs[0]!.data.slice(0, 41 * 8))).toEqual(new Array(41 * 8).fill(0));
      expect(Array.from(res.outputs[1]!.data.slice(0, 41))).toEqual(new Array(41).fill(-Infinity));
      expect(res.outputs[1]!.data[41]).toBeGreaterThan(-Infinity);
    });
    it("j == i (one key per row) and i − j ≥ −2 written the other way round, Nq ≠ Nk", async () => {
      const g1 = build((b) => attn(b, ...qkv(b, [2], 50, 45, 8, 8), { mask: ([, i, j]) => S.eq(j!, i!), returns: [{ kind: "lse" }] }));
      await compare("j == i", g1, randomInputs(g1, {}, 32));
      const g2 = build((b) => attn(b, ...qkv(b, [2], 40, 70, 8, 8), { mask: ([, i, j]) => S.ge(S.sub(i!, j!), -2) }));
      await compare("i - j >= -2", g2, randomInputs(g2, {}, 33));
    });
  });

  it("ALiBi: a score hook reading a slopes tensor, with a causal mask", async () => {
    const H = 3;
    const g = build((b) => {
      const slope = b.input("slope", "f32", [H]);
      return attn(b, ...qkv(b, [2, H], 21, 21, 8, 8), {
        score: (s, [, h, i, j]) => S.sub(s, S.mul(S.load(slope, [h!]), S.cast(S.sub(i!, j!), "f32"))),
        mask: ([, , i, j]) => S.le(j!, i!),
        returns: [{ kind: "lse" }],
      });
    });
    const inp = randomInputs(g, {}, 4);
    inp.slope = hostTensor("f32", [H], Array.from({ length: H }, (_, h) => 2 ** (-8 * (h + 1) / H)));
    await compare("alibi (builder)", g, inp);
  });

  it("ALiBi from the DSL (examples/dense-attention alibi: std/nn slopes, score and mask hooks)", async () => {
    const path = "examples/dense-attention/dense-attention.attn";
    const r = compileSource(path, readFileSync(path, "utf8"), { graph: "alibi" });
    if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
    const g = r.graphs[0]!;
    const dims = { B: 1, H: 4, N: 26, D: 8 };
    await compare("alibi (dsl)", g, randomInputs(g, dims, 5), dims);
  });

  it("ToMe proportional attention: score + log(size[b, j])", async () => {
    const g = build((b) => {
      const size = b.input("size", "f32", [2, 29]);
      return attn(b, ...qkv(b, [2, 2], 29, 29, 16, 16), { score: (s, [bb, , , j]) => S.add(s, S.log(S.load(size, [bb!, j!]))), returns: [{ kind: "lse" }] });
    });
    const inp = randomInputs(g, {}, 6);
    const r = rand(6);
    inp.size = hostTensor("f32", [2, 29], Array.from({ length: 58 }, () => 1 + Math.floor(r() * 5)));
    await compare("tome", g, inp);
  });

  it("per-key bias broadcast over heads, with -inf entries", async () => {
    const g = build((b) => attn(b, ...qkv(b, [2, 2], 17, 30, 8, 8), { bias: b.input("bias", "f32", [2, 1, 30]), returns: [{ kind: "lse" }] }));
    const inp = randomInputs(g, {}, 7);
    const bias = Array.from(inp.bias!.data);
    for (const j of [0, 5, 17, 29, 31, 44]) bias[j] = -Infinity;
    inp.bias = hostTensor("f32", [2, 1, 30], bias);
    await compare("bias", g, inp);
  });

  it("value scale per key", async () => {
    const g = build((b) => attn(b, ...qkv(b, [3], 18, 25, 8, 6), { valueScale: b.input("g", "f32", [25]), mask: ([, i, j]) => S.binary("ne", S.binary("mod", S.add(i!, j!), 4), 0) }));
    await compare("value scale", g, randomInputs(g, {}, 8));
  });

  it("fully masked rows: o = 0, lse = -inf, probs 0, mass 0, never NaN", async () => {
    const g = build((b) =>
      attn(b, ...qkv(b, [2], 20, 19, 8, 8), {
        mask: ([, i, j]) => S.and(S.ge(i!, 3), S.le(j!, i!)),
        returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [4]) }, { kind: "mass", keys: b.input("keys", "bool", [2, 19]) }],
      }),
    );
    const inp = randomInputs(g, {}, 9);
    inp.rows = hostTensor("i32", [4], [0, 5, -1, 19]);
    const { res } = await compare("fully masked rows", g, inp);
    const [o, lse, probs, mass] = res.outputs.map((x) => x.data);
    expect(Array.from(o!.slice(0, 24))).toEqual(new Array(24).fill(0));
    expect(lse![0]).toBe(-Infinity);
    expect(Array.from(probs!.slice(0, 19)).every((x) => x === 0)).toBe(true);
    expect(mass![0]).toBe(0);
    for (const t of [o!, lse!, probs!, mass!]) for (const x of t) expect(Number.isNaN(x)).toBe(false);
  });

  it("a +inf or NaN logit makes its row NaN, as in the interpreter", async () => {
    const g = build((b) =>
      attn(b, ...qkv(b, [], 6, 20, 4, 4), {
        score: (s, [i, j]) => S.select(S.and(S.eq(i!, 2), S.eq(j!, 3)), Infinity, S.select(S.and(S.eq(i!, 4), S.eq(j!, 18)), NaN, s)),
        returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [3]) }, { kind: "mass", keys: b.input("keys", "bool", [20]) }],
      }),
    );
    const inp = randomInputs(g, {}, 10);
    inp.rows = hostTensor("i32", [3], [2, 1, 4]);
    const { ref } = await compare("+inf / NaN logit", g, inp);
    expect(Number.isNaN(ref.outputs[1]!.data[2])).toBe(true);
    expect(Number.isNaN(ref.outputs[1]!.data[4])).toBe(true);
  });

  it("±inf and NaN in V under a causal mask: only the rows that admit the key see them", async () => {
    const g = build((b) => attn(b, ...qkv(b, [], 40, 40, 8, 8), { mask: ([i, j]) => S.le(j!, i!), returns: [{ kind: "lse" }] }));
    const inp = randomInputs(g, {}, 34);
    const v = Array.from(inp.v!.data);
    v[20 * 8 + 1] = Infinity;
    v[33 * 8 + 2] = -Infinity;
    v[37 * 8 + 5] = NaN;
    inp.v = hostTensor("f32", [40, 8], v);
    const { res } = await compare("non-finite V, causal", g, inp);
    const o = res.outputs[0]!.data;
    for (let i = 0; i < 20; i++) for (let c = 0; c < 8; c++) expect(Number.isFinite(o[i * 8 + c]!)).toBe(true);
    expect(o[25 * 8 + 1]).toBe(Infinity);
  });

  it("f16 inputs (f16 output rounded once; tolerance one f16 ulp)", async () => {
    const g = build((b) => attn(b, ...qkv(b, [2], 21, 27, 16, 8, "f16"), { mask: ([, i, j]) => S.le(j!, S.add(i!, 4)), returns: [{ kind: "lse" }] }));
    const { res } = await compare("f16", g, randomInputs(g, {}, 11));
    expect(res.outputs[0]!.dtype).toBe("f16");
  });

  describe("symbolic and odd sizes", () => {
    const g = build((b) =>
      attn(b, ...qkv(b, ["B", "H"], "N", "M", "D", "E"), {
        mask: ([, , i, j]) => S.binary("ne", S.binary("mod", S.mul(i!, 7), 5), S.binary("mod", j!, 5)),
        returns: [{ kind: "lse" }, { kind: "mass", keys: b.input("keys", "bool", ["M"]) }, { kind: "probs", rows: b.input("rows", "i32", ["B", 1, 3]) }],
      }),
    );
    for (const dims of [
      { B: 1, H: 2, N: 21, M: 35, D: 40, E: 70 }, // two D chunks, two Dv chunks, scale 1/√40 at run time
      { B: 2, H: 1, N: 5, M: 3, D: 5, E: 3 },
      { B: 1, H: 1, N: 17, M: 16, D: 1, E: 64 },
      { B: 1, H: 2, N: 4, M: 0, D: 8, E: 2 }, // no keys: every row masked
      { B: 1, H: 1, N: 3, M: 5, D: 0, E: 0 }, // D = 0: logits 0 whatever the scale; empty o, lse still written
      { B: 1, H: 1, N: 19, M: 40, D: 80, E: 8 }, // symbolic D > 64: Q not resident, two D chunks per key tile
    ])
      it(`dims ${JSON.stringify(dims)}`, async () => {
        const inp = randomInputs(g, dims, 12);
        const r = rand(dims.N);
        inp.rows = hostTensor("i32", [dims.B, 1, 3], Array.from({ length: dims.B * 3 }, () => Math.floor(r() * dims.N)));
        await compare(`symbolic ${JSON.stringify(dims)}`, g, inp, dims);
      });
  });

  it("constant D = 96 and Dv = 80 (chunked D, two value chunks)", async () => {
    const g = build((b) => attn(b, ...qkv(b, [2], 20, 18, 96, 80), { mask: ([, i, j]) => S.binary("ne", i!, j!), returns: [{ kind: "lse" }, { kind: "mass", keys: b.input("keys", "bool", [18]) }] }));
    await compare("D 96, Dv 80", g, randomInputs(g, {}, 13));
  });

  describe("block routes", () => {
    it("BRA-style: route = topk of region affinities computed in the graph (shared by heads), every side output", async () => {
      const B = 2, H = 2, nR = 4, T = 9, N = nR * T, D = 8, topk = 2;
      const g = build((b) => {
        const [q, k, v] = qkv(b, [B, H], N, N, D, D);
        // region routing: mean-pooled region queries/keys (over heads and tokens), affinity, topk
        const qr = b.reduce("mean", b.reshape(q, [B, H, nR, T, D]), [1, 3]);
        const kr = b.reduce("mean", b.reshape(k, [B, H, nR, T, D]), [1, 3]);
        const route = b.reshape(b.topk(b.matmul(qr, b.transpose(kr)), topk)[1], [B, 1, nR, topk]);
        return [
          ...attn(b, q, k, v, {
            blocks: { route, blockQ: T, blockK: T },
            returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [5]) }, { kind: "mass", keys: b.input("keys", "bool", [B, 1, N]) }],
          }),
          route,
        ];
      });
      const inp = randomInputs(g, {}, 14);
      inp.rows = hostTensor("i32", [5], [0, 8, 9, 35, -1]);
      await compare("bra, topk route in the graph", g, inp);
    });

    it("BiFormer BRA + LCE from the DSL (examples/biformer-bra bra)", async () => {
      const path = "examples/biformer-bra/biformer-bra.attn";
      const r = compileSource(path, readFileSync(path, "utf8"), { graph: "bra" });
      if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
      const g = r.graphs[0]!;
      const dims = { B: 1, H: 14, W: 14, C: 16 };
      await compare("biformer bra (dsl)", g, randomInputs(g, dims, 20), dims);
    });

    it("symbolic blocks: partial last blocks, duplicate and -1 entries, blockQ below and above the row tile", async () => {
      const g = build((b) => {
        const QB = Dm.ceilDiv(Dm.dim("N"), Dm.dim("BQ"));
        return attn(b, ...qkv(b, [2], "N", "M", 8, 8), {
          blocks: { route: b.input("route", "i32", [2, QB, 3]), blockQ: "BQ", blockK: "BK" },
          mask: ([, i, j]) => S.binary("ne", S.binary("mod", S.add(i!, j!), 3), 0),
          returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [2, 4]) }, { kind: "mass", keys: b.input("keys", "bool", ["M"]) }],
        });
      });
      for (const dims of [
        { N: 30, M: 29, BQ: 7, BK: 8 }, // 5 query blocks (last of 2), 4 key blocks (last of 5)
        { N: 41, M: 50, BQ: 20, BK: 11 }, // query blocks of 20 rows: two row tiles each
      ]) {
        const nQB = Math.ceil(dims.N / dims.BQ);
        const nKB = Math.ceil(dims.M / dims.BK);
        const r = rand(dims.N + dims.M);
        const route = Array.from({ length: 2 * nQB * 3 }, (_, e) => (e % 7 === 3 ? -1 : Math.floor(r() * nKB)));
        route[1] = route[0]!; // a duplicate entry
        route[5] = route[4] = -1; // a query block routed nowhere
        const inp = randomInputs(g, dims, 15);
        inp.route = hostTensor("i32", [2, nQB, 3], route);
        inp.rows = hostTensor("i32", [2, 4], [0, 1, dims.N - 1, 5, 3, -1, 2, dims.BQ]);
        await compare(`routed ${JSON.stringify(dims)}`, g, inp, dims);
      }
    });

    it("out-of-range route entries are skipped and set the flag", async () => {
      const g = build((b) =>
        attn(b, ...qkv(b, [], 12, 12, 4, 4), { blocks: { route: b.input("route", "i32", [3, 2]), blockQ: 4, blockK: 4 }, returns: [{ kind: "lse" }] }),
      );
      const inp = randomInputs(g, {}, 16);
      inp.route = hostTensor("i32", [3, 2], [0, 3, 1, -2, 2, 2]);
      const { res } = await compare("route out of range", g, inp);
      expect(res.errorFlag).toBe(true);
      inp.route = hostTensor("i32", [3, 2], [0, -1, 1, 2, 2, 2]);
      const ok = await compare("route in range", g, inp);
      expect(ok.res.errorFlag).toBe(false);
    });
  });

  it("hook loads are bounds-checked and flag; hooks run only for keys the route admits", async () => {
    // mask reads m[j - 8]: keys of block 0 (j < 8) index out of range
    const g = build((b) => {
      const m = b.input("m", "bool", [16]);
      return attn(b, ...qkv(b, [], 10, 24, 4, 4), {
        blocks: { route: b.input("route", "i32", [1, 2]), blockQ: 16, blockK: 8 },
        mask: ([, j]) => S.load(m, [S.sub(j!, 8)]),
        returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [2]) }],
      });
    });
    const inp = randomInputs(g, {}, 19);
    inp.rows = hostTensor("i32", [2], [0, 9]);
    inp.route = hostTensor("i32", [1, 2], [1, 2]);
    const unrouted = await compare("hook loads, block 0 not routed", g, inp);
    expect(unrouted.res.errorFlag).toBe(false);
    inp.route = hostTensor("i32", [1, 2], [2, 0]);
    const routed = await compare("hook loads, block 0 routed", g, inp);
    expect(routed.res.errorFlag).toBe(true);
  });

  it("an out-of-range probs row gives zeros and sets the flag", async () => {
    const g = build((b) => attn(b, ...qkv(b, [], 5, 7, 4, 4), { returns: [{ kind: "probs", rows: b.input("rows", "i32", [3]) }] }));
    const inp = randomInputs(g, {}, 17);
    inp.rows = hostTensor("i32", [3], [4, 5, -1]);
    const { res } = await compare("probs row out of range", g, inp);
    expect(res.errorFlag).toBe(true);
    expect(Array.from(res.outputs[1]!.data.slice(7))).toEqual(new Array(14).fill(0));
  });

  it("GQA-style batch broadcasting: q [B, Hkv, G, N, D], k/v [B, Hkv, 1, M, D], shared bias, rows and keys", async () => {
    const g = build((b) => {
      const q = b.input("q", "f32", [2, 2, 3, 13, 8]);
      const k = b.input("k", "f32", [2, 2, 1, 22, 8]);
      const v = b.input("v", "f32", [2, 2, 1, 22, 4]);
      return attn(b, q, k, v, {
        bias: b.input("bias", "f32", [2, 1, 1, 22]),
        valueScale: b.input("g", "f32", [1, 22]),
        mask: ([, h, g2, i, j]) => S.le(j!, S.add(S.add(i!, h!), g2!)),
        returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [3, 2]) }, { kind: "mass", keys: b.input("keys", "bool", [2, 1, 1, 22]) }],
      });
    });
    const inp = randomInputs(g, {}, 18);
    inp.rows = hostTensor("i32", [3, 2], [0, 12, 7, -1, 3, 3]);
    await compare("gqa", g, inp);
  });
});

describe("maskKeyBounds (which masks bound the key loop)", () => {
  const i = { k: "var", id: 1, dtype: "i32" } as const;
  const j = { k: "var", id: 2, dtype: "i32" } as const;
  const b0 = { k: "var", id: 0, dtype: "i32" } as const;
  const show = (m: Parameters<typeof maskKeyBounds>[0]) => {
    const kb = maskKeyBounds(m, 1, 2);
    const f = (o: { c: number; dims: readonly { sign: number; e: { dim: Dm.Dim } }[] }) => [o.c, ...o.dims.map((d) => `${d.sign < 0 ? "-" : "+"}${d.e.dim.toString()}`)].join("");
    return kb && { lo: kb.lo.map(f), hi: kb.hi.map(f) };
  };
  it("recognizes j ≤ i + c, windows, equalities and their conjunctions in any arrangement", () => {
    expect(show(S.le(j, i))).toEqual({ lo: [], hi: ["0"] });
    expect(show(S.lt(S.sub(i, j), 5))).toEqual({ lo: ["-4"], hi: [] });
    expect(show(S.and(S.le(j, i), S.lt(S.sub(i, j), 5)))).toEqual({ lo: ["-4"], hi: ["0"] });
    expect(show(S.gt(j, S.sub(i, S.dim("W"))))).toEqual({ lo: ["1-W"], hi: [] });
    expect(show(S.ge(S.add(i, 3), j))).toEqual({ lo: [], hi: ["3"] });
    expect(show(S.eq(S.neg(j), S.neg(i)))).toEqual({ lo: ["0"], hi: ["0"] });
    expect(show(S.and(S.ge(i, 3), S.lt(j, i)))).toEqual({ lo: [], hi: ["-1"] });
  });
  it("gives no bound for masks it does not recognize or that may set the error flag", () => {
    expect(show(S.or(S.le(j, i), S.eq(b0, 0)))).toBeUndefined();
    expect(show(S.le(j, S.mul(i, 2)))).toBeUndefined();
    expect(show(S.binary("ne", i, j))).toBeUndefined();
    expect(show(S.le(S.cast(j, "f32"), S.cast(i, "f32")))).toBeUndefined();
    const g = new GraphBuilder();
    const t = g.input("t", "bool", [8]);
    expect(show(S.and(S.le(j, i), S.load(t, [S.add(j, 1)])))).toBeUndefined(); // a computed index may be out of range
    expect(show(S.and(S.le(j, i), S.load(t, [j])))).toEqual({ lo: [], hi: ["0"] });
  });
});
