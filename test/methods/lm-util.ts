/**
 * Shared helpers for the method reference tests (test/methods/*.test.ts): compile an example
 * graph, run it on the interpreter, build inputs from plain arrays, compare against an
 * independent TypeScript reference (plain loops over Float64Arrays), and small numeric helpers
 * the references share. Used by the language-model-side method tests (cmai, atp-llava, todre,
 * mikv, minicache, mor, text-guided-pruning).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { hostTensor, interpret, type HostTensor } from "../../compiler/graph/interp.ts";

export { ALL_BACKENDS, BACKENDS, describeBackends, programOf, runOn, unavailable, type Backend } from "./backends.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const graphs = new Map<string, Graph>();

/** Compiles `path` (relative to the repo root) with -D defines and returns the named graph (cached, so each backend compiles it once). */
export function compileExample(path: string, graph?: string, defines: Record<string, number | boolean> = {}): Graph {
  const key = `${path}|${graph}|${JSON.stringify(defines)}`;
  const hit = graphs.get(key);
  if (hit) return hit;
  const g = compileExampleUncached(path, graph, defines);
  graphs.set(key, g);
  return g;
}

function compileExampleUncached(path: string, graph?: string, defines: Record<string, number | boolean> = {}): Graph {
  const full = join(ROOT, path);
  const res = compileSource(full, readFileSync(full, "utf8"), { graph, defines });
  if (!res.ok || res.internalError) throw new Error(`compile ${path}: ${res.diagnostics.map((d) => d.message).join("; ")} ${res.internalError ? String(res.internalError.error) : ""}`);
  const g = graph === undefined ? res.graphs[0] : res.graphs.find((x) => x.name === graph);
  if (!g) throw new Error(`graph ${graph} not found in ${path}`);
  return g;
}

/** Compiles a source text as if it lived at `path` (so `std/...` imports resolve). */
export function compileText(path: string, text: string, graph?: string, defines: Record<string, number | boolean> = {}): Graph {
  const key = `text|${path}|${text}|${graph}|${JSON.stringify(defines)}`;
  const hit = graphs.get(key);
  if (hit) return hit;
  const g = compileTextUncached(path, text, graph, defines);
  graphs.set(key, g);
  return g;
}

function compileTextUncached(path: string, text: string, graph?: string, defines: Record<string, number | boolean> = {}): Graph {
  const full = join(ROOT, path);
  const res = compileSource(full, text, { graph, defines });
  if (!res.ok || res.internalError) throw new Error(`compile: ${res.diagnostics.map((d) => d.message).join("; ")} ${res.internalError ? String(res.internalError.error) : ""}`);
  return graph === undefined ? res.graphs[0]! : res.graphs.find((x) => x.name === graph)!;
}

/** Runs a graph on the interpreter; fails the test on the program's error flag. */
export function run(graph: Graph, inputs: Record<string, HostTensor>, dims: Record<string, number> = {}, allowErrorFlag = false): HostTensor[] {
  const r = interpret(graph, inputs, { dims });
  if (!allowErrorFlag) expect(r.errors.map((e) => e.message), "interpreter error flag").toEqual([]);
  return r.outputs;
}

export const f32t = (shape: number[], data: ArrayLike<number>): HostTensor => hostTensor("f32", shape, data);
export const i32t = (shape: number[], data: ArrayLike<number>): HostTensor => hostTensor("i32", shape, data);
export const boolt = (shape: number[], data: ArrayLike<boolean | number>): HostTensor => hostTensor("bool", shape, data);

/** Seeded PRNG (mulberry32) with uniform and standard-normal draws. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u1 = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * this.next());
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** n normal values, rounded to f32 (what the interpreter stores). */
  normals(n: number, scale = 1): Float64Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.fround(this.normal() * scale);
    return a;
  }
}

/** Max error seen per label, printed by reportErrors(). */
export const maxErrors = new Map<string, number>();

/**
 * Float comparison |a - b| <= tol·max(1, |ref|) elementwise. Non-finite values must match exactly.
 * Returns the max absolute error and records it under `label`.
 */
export function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>, label: string, tol = 1e-5): number {
  expect(actual.length, `${label}: length`).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = actual[i]!;
    const r = ref[i]!;
    if (!Number.isFinite(r) || !Number.isFinite(a)) {
      if (!(Object.is(a, r) || (Number.isNaN(a) && Number.isNaN(r)))) expect.fail(`${label}[${i}]: got ${a}, reference ${r}`);
      continue;
    }
    const err = Math.abs(a - r);
    if (err > tol * Math.max(1, Math.abs(r))) expect.fail(`${label}[${i}]: got ${a}, reference ${r} (|diff| ${err})`);
    worst = Math.max(worst, err);
  }
  maxErrors.set(label, Math.max(maxErrors.get(label) ?? 0, worst));
  return worst;
}

/** Exact comparison (indices, counts, masks, quantization codes). */
export function expectExact(actual: ArrayLike<number>, ref: ArrayLike<number>, label: string): void {
  expect(Array.from(actual), label).toEqual(Array.from(ref));
}

/** Prints the max errors recorded so far, e.g. from afterAll. */
export function reportErrors(prefix: string): void {
  const lines = [...maxErrors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => `  ${k}: ${v.toExponential(2)}`);
  if (lines.length) console.log(`max |error| (${prefix}):\n${lines.join("\n")}`);
}

// ---------- small reference numerics ----------

/** Softmax of a row of logits; -inf entries get 0. Returns zeros when every entry is -inf. */
export function softmaxRow(z: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < z.length; j++) if (z[j]! > m) m = z[j]!;
  const p = new Float64Array(z.length);
  if (m === -Infinity) return p;
  let s = 0;
  for (let j = 0; j < z.length; j++) s += p[j] = Math.exp(z[j]! - m);
  for (let j = 0; j < z.length; j++) p[j]! /= s;
  return p;
}

/**
 * Reference single-head attention: q [Nq, D], k [Nk, D], v [Nk, E], row-major Float64Arrays.
 * logit(i, j) = f32(scale·q_i·k_j) (the interpreter's f32 logits) passed through `score`
 * (return -inf to remove a key; default identity); keys with keep(i, j) false are removed.
 * vscale(j) multiplies v_j. Returns o [Nq, E] and p [Nq, Nk].
 */
export function refAttention(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, Nq: number, Nk: number, D: number, E: number,
  opts: { scale?: number; keep?: (i: number, j: number) => boolean; score?: (z: number, i: number, j: number) => number; vscale?: (j: number) => number } = {},
): { o: Float64Array; p: Float64Array } {
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const o = new Float64Array(Nq * E);
  const P = new Float64Array(Nq * Nk);
  const z = new Float64Array(Nk);
  for (let i = 0; i < Nq; i++) {
    for (let j = 0; j < Nk; j++) {
      if (opts.keep && !opts.keep(i, j)) {
        z[j] = -Infinity;
        continue;
      }
      let s = 0;
      for (let c = 0; c < D; c++) s += q[i * D + c]! * k[j * D + c]!;
      let l = Math.fround(scale * s);
      if (opts.score) l = Math.fround(opts.score(l, i, j));
      z[j] = l;
    }
    const p = softmaxRow(z);
    for (let j = 0; j < Nk; j++) {
      P[i * Nk + j] = p[j]!;
      const w = p[j]! * (opts.vscale ? opts.vscale(j) : 1);
      if (w !== 0) for (let e = 0; e < E; e++) o[i * E + e]! += w * v[j * E + e]!;
    }
  }
  return { o, p: P };
}

/** Slice of a row-major tensor: the `size` contiguous values at block `idx`. */
export function block(data: ArrayLike<number>, idx: number, size: number): Float64Array {
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = data[idx * size + i]!;
  return out;
}

/** Indices of the k largest values, ties to the lowest index, in descending value order. */
export function topkIndices(v: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: v.length }, (_, i) => i);
  idx.sort((a, b) => (v[b]! > v[a]! ? 1 : v[b]! < v[a]! ? -1 : a - b));
  return idx.slice(0, k);
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
