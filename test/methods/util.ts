/**
 * Shared helpers for the vision-side method reference tests (test/methods/{tome,pitome,
 * biformer-bra,vmtc,aclip,code-subtoken-merge}.test.ts): a seeded RNG, a tiny float64 tensor
 * type, compiling an example program, running a graph on the interpreter, and the tolerance
 * comparison |a − b| ≤ tol·max(1, |ref|) (integers exactly). The language-model-side tests use
 * lm-util.ts. Keep edits additive.
 *
 * The reference implementations in the method tests are written with plain loops over these
 * tensors, straight from shared/design/methods.md — never through the DSL or the graph builder.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { hostTensor, interpret, mulberry32, type HostTensor } from "../../compiler/graph/interp.ts";

export { ALL_BACKENDS, BACKENDS, describeBackends, programOf, runOn, unavailable, type Backend } from "./backends.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A dense row-major float64 tensor. */
export interface T64 {
  shape: number[];
  data: Float64Array;
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
export const zeros64 = (shape: number[]): T64 => ({ shape: [...shape], data: new Float64Array(numel(shape)) });
export const t64 = (shape: number[], data: ArrayLike<number>): T64 => {
  if (data.length !== numel(shape)) throw new Error(`t64: ${data.length} values for [${shape}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
};

/** mulberry32 (the interpreter's): a deterministic pseudo-random sequence in [0, 1). */
export const rng = mulberry32;

/** Standard-normal values (Box–Muller), times scale, rounded to f32 so the reference sees what the graph sees. */
export function randn(shape: number[], seed: number, scale = 1): T64 {
  const r = rng(seed);
  const out = zeros64(shape);
  for (let i = 0; i < out.data.length; i++) {
    const u1 = 1 - r();
    const u2 = r();
    out.data[i] = Math.fround(scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
  }
  return out;
}

/** Uniform values in [lo, hi), rounded to f32. */
export function randu(shape: number[], seed: number, lo = 0, hi = 1): T64 {
  const r = rng(seed);
  const out = zeros64(shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.fround(lo + (hi - lo) * r());
  return out;
}

/** Small integers in [0, k), as floats (inputs with many exact ties). */
export function randint(shape: number[], seed: number, k: number): T64 {
  const r = rng(seed);
  const out = zeros64(shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.floor(r() * k);
  return out;
}

/** A T64 as an f32 / i32 interpreter input. */
export const f32In = (t: T64): HostTensor => hostTensor("f32", t.shape, t.data);
export const i32In = (t: T64): HostTensor => hostTensor("i32", t.shape, t.data);

/** Indices sorted by descending key; ties go to the lowest index (stable). */
export function argsortDesc(key: ArrayLike<number>): number[] {
  const idx = Array.from({ length: key.length }, (_, i) => i);
  return idx.sort((a, b) => (key[b]! > key[a]! ? 1 : key[b]! < key[a]! ? -1 : a - b));
}

/** The argmax of a row; ties go to the lowest index. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

const cache = new Map<string, Graph>();

/** Compiles one graph of an example program (examples/<dir>/<dir>.attn) with -D defines. */
export function compileExample(dir: string, graph: string, defines: Record<string, number | boolean> = {}): Graph {
  const key = `${dir}|${graph}|${JSON.stringify(defines)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const path = `examples/${dir}/${dir}.attn`;
  const r = compileSource(path, readFileSync(resolve(ROOT, path), "utf8"), { graph, defines });
  if (!r.ok || r.graphs.length !== 1) throw new Error(`${path} (${graph}): ${r.diagnostics.map((d) => d.message).join("\n")}`);
  const g = r.graphs[0]!;
  cache.set(key, g);
  return g;
}

/** Compiles a test-local program text (std/ imports resolve as usual). */
export function compileLocal(name: string, text: string, defines: Record<string, number | boolean> = {}): Graph {
  const key = `local|${name}|${text}|${JSON.stringify(defines)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const r = compileSource(`test/methods/${name}.attn`, text, { defines });
  if (!r.ok || r.graphs.length !== 1) throw new Error(`${name}: ${r.diagnostics.map((d) => d.message).join("\n")}`);
  cache.set(key, r.graphs[0]!);
  return r.graphs[0]!;
}

/** Runs a graph on the interpreter; fails the test if the data-dependent error flag is set. */
export function runGraph(g: Graph, inputs: Record<string, HostTensor>, dims: Record<string, number> = {}): HostTensor[] {
  const res = interpret(g, inputs, { dims });
  expect(res.errors.map((e) => e.message)).toEqual([]);
  expect(res.errorFlag).toBe(false);
  return res.outputs;
}

/** The largest scaled error seen per key (the part of `what` before the first ':'). */
export const maxSeen = new Map<string, number>();

/** Expects |got − ref| ≤ tol·max(1, |ref|) elementwise, and the same shape. Returns the max scaled error. */
export function expectClose(what: string, got: HostTensor, ref: T64, tol = 1e-5): number {
  expect(got.shape, `${what}: shape`).toEqual(ref.shape);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < ref.data.length; i++) {
    const a = got.data[i]!;
    const b = ref.data[i]!;
    const e = Number.isNaN(a) || Number.isNaN(b) ? (Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity) : Math.abs(a - b) / Math.max(1, Math.abs(b));
    if (e > worst || worstAt < 0) {
      worst = Math.max(worst, e);
      worstAt = i;
    }
  }
  if (worst > tol) expect.fail(`${what}: max scaled error ${worst} at flat ${worstAt} (got ${got.data[worstAt]}, ref ${ref.data[worstAt]})`);
  const key = what.split(":")[0]!;
  maxSeen.set(key, Math.max(maxSeen.get(key) ?? 0, worst));
  return worst;
}

/** Expects an integer output to equal the reference exactly. */
export function expectExact(what: string, got: HostTensor, ref: T64): void {
  expect(got.shape, `${what}: shape`).toEqual(ref.shape);
  expect(Array.from(got.data), what).toEqual(Array.from(ref.data));
}

/** Prints the max scaled error seen per key (when ERRS is set in the environment). */
export function reportMaxSeen(file: string): void {
  if (!process.env.ERRS) return;
  for (const [k, v] of maxSeen) console.log(`[${file}] ${k}: max scaled error ${v.toExponential(2)}`);
}

/** erf by its Maclaurin series (|z| < 3) or the asymptotic erfc expansion; error < 1e-12 here. */
export function erfRef(z: number): number {
  const a = Math.abs(z);
  if (a < 3) {
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) ~ e^{-a²}/(a√π) · Σ (-1)^n (2n-1)!! / (2a²)^n
  let s = 1;
  let t = 1;
  for (let n = 1; n < 12; n++) {
    t *= -(2 * n - 1) / (2 * a * a);
    s += t;
  }
  const erfc = (Math.exp(-a * a) / (a * Math.sqrt(Math.PI))) * s;
  return Math.sign(z) * (1 - erfc);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)). */
export const geluRef = (x: number): number => 0.5 * x * (1 + erfRef(x / Math.SQRT2));

/** LayerNorm over the last axis of a [rows, C] block (biased variance). */
export function layernormRef(x: Float64Array, rows: number, C: number, w: Float64Array, b: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(rows * C);
  for (let i = 0; i < rows; i++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[i * C + c]!;
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[i * C + c]! - m) ** 2;
    v /= C;
    const s = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) out[i * C + c] = (x[i * C + c]! - m) * s * w[c]! + b[c]!;
  }
  return out;
}

/** y[rows, F] = x[rows, C] @ w[C, F] + b[F]. */
export function linearRef(x: Float64Array, rows: number, C: number, w: Float64Array, F: number, b?: Float64Array): Float64Array {
  const out = new Float64Array(rows * F);
  for (let i = 0; i < rows; i++)
    for (let f = 0; f < F; f++) {
      let s = b ? b[f]! : 0;
      for (let c = 0; c < C; c++) s += x[i * C + c]! * w[c * F + f]!;
      out[i * F + f] = s;
    }
  return out;
}

// ---------- a ViT block (shared by the ToMe and PiToMe tests) ----------

export interface BlockW {
  ln1_w: T64; ln1_b: T64; wqkv: T64; bqkv: T64; wo: T64; bo: T64;
  ln2_w: T64; ln2_b: T64; w1: T64; b1: T64; w2: T64; b2: T64;
}

export function blockWeights(C: number, F: number, seed: number): BlockW {
  const s = 1 / Math.sqrt(C);
  return {
    ln1_w: randu([C], seed + 1, 0.5, 1.5), ln1_b: randn([C], seed + 2, 0.1),
    wqkv: randn([C, 3 * C], seed + 3, s), bqkv: randn([3 * C], seed + 4, 0.1),
    wo: randn([C, C], seed + 5, s), bo: randn([C], seed + 6, 0.1),
    ln2_w: randu([C], seed + 7, 0.5, 1.5), ln2_b: randn([C], seed + 8, 0.1),
    w1: randn([C, F], seed + 9, s), b1: randn([F], seed + 10, 0.1),
    w2: randn([F, C], seed + 11, 1 / Math.sqrt(F)), b2: randn([C], seed + 12, 0.1),
  };
}

/**
 * One ViT block with ToMe (§2.1): x ← x + Attn(LN(x)) with proportional attention (§2.3:
 * logit_ij += log size_j, scale d^-1/2), merge r_eff = min(r, (N−1)/2) with the [CLS] token
 * protected, then x ← x + MLP(LN(x)) with exact GELU. Also used by the PiToMe test (prop = false,
 * and a merge fn of its own).
 */
export function vitBlockRef(
  x: T64, size: T64, w: BlockW, heads: number, prop: boolean,
  merge: (x1: T64, metric: T64, size: T64) => { x: T64; size: T64 },
): { x: T64; size: T64 } {
  const [B, N, C] = x.shape as [number, number, number];
  const F = w.w1.shape[1]!;
  const d = C / heads;
  const x1 = zeros64([B, N, C]);
  const metric = zeros64([B, N, d]);
  for (let b = 0; b < B; b++) {
    const xb = x.data.subarray(b * N * C, (b + 1) * N * C);
    const xn = layernormRef(xb, N, C, w.ln1_w.data, w.ln1_b.data, 1e-6);
    const qkv = linearRef(xn, N, C, w.wqkv.data, 3 * C, w.bqkv.data);
    const o = new Float64Array(N * C);
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < N; i++) {
        const z: number[] = [];
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let e = 0; e < d; e++) s += qkv[i * 3 * C + h * d + e]! * qkv[j * 3 * C + C + h * d + e]!;
          z.push(s / Math.sqrt(d) + (prop ? Math.log(size.data[b * N + j]!) : 0));
        }
        const mx = Math.max(...z);
        const p = z.map((v) => Math.exp(v - mx));
        const sum = p.reduce((a, c) => a + c, 0);
        for (let e = 0; e < d; e++) {
          let acc = 0;
          for (let j = 0; j < N; j++) acc += (p[j]! / sum) * qkv[j * 3 * C + 2 * C + h * d + e]!;
          o[i * C + h * d + e] = acc;
        }
      }
    const proj = linearRef(o, N, C, w.wo.data, C, w.bo.data);
    for (let i = 0; i < N * C; i++) x1.data[b * N * C + i] = xb[i]! + proj[i]!;
    for (let i = 0; i < N; i++)
      for (let e = 0; e < d; e++) {
        let s = 0;
        for (let h = 0; h < heads; h++) s += qkv[i * 3 * C + C + h * d + e]!;
        metric.data[(b * N + i) * d + e] = s / heads;
      }
  }
  const m = merge(x1, metric, size);
  const M = m.x.shape[1]!;
  const out = zeros64([B, M, C]);
  for (let b = 0; b < B; b++) {
    const xb = m.x.data.subarray(b * M * C, (b + 1) * M * C);
    const hdn = linearRef(layernormRef(xb, M, C, w.ln2_w.data, w.ln2_b.data, 1e-6), M, C, w.w1.data, F, w.b1.data).map(geluRef);
    const y = linearRef(hdn, M, F, w.w2.data, C, w.b2.data);
    for (let i = 0; i < M * C; i++) out.data[b * M * C + i] = xb[i]! + y[i]!;
  }
  return { x: out, size: m.size };
}

export function blockInputs(x: T64, size: T64, w: BlockW) {
  const ins: Record<string, ReturnType<typeof f32In>> = { x: f32In(x), size: f32In(size) };
  for (const [k, v] of Object.entries(w)) ins[k] = f32In(v as T64);
  return ins;
}

/**
 * Metric rows drawn from `k` ≤ 5 base vectors (exact copies) whose L2 norms are powers of two, so
 * the normalised rows and every cosine (0, ±1/2, ±1/4, 1) are exact in f32: genuine ties, which
 * both sides must break toward the lowest index. D must be 4.
 */
export function tiedMetric(B: number, N: number, D: number, k: number, seed: number): T64 {
  if (D !== 4 || k > 5) throw new Error("tiedMetric: D = 4, k <= 5");
  const base = [2, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, -1, 0, 0, 0, 4];
  const pick = randint([B, N], seed + 1, k);
  const m = zeros64([B, N, D]);
  for (let n = 0; n < B * N; n++) for (let d = 0; d < D; d++) m.data[n * D + d] = base[pick.data[n]! * D + d]!;
  return m;
}

