/** Shared helpers of the CUDA tests: tool discovery, a small concurrency pool, output comparison. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { dim, type Dim } from "../../compiler/graph/dim.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import type { Node } from "../../compiler/graph/ops.ts";
import type { Kernel } from "../../compiler/kernel/ir.ts";
import type { Program } from "../../compiler/kernel/program.ts";

/** The nvcc to use: $NVCC, nvcc on PATH, or $CUDA_PATH/bin/nvcc, /usr/local/cuda/bin/nvcc; undefined when none runs. */
export function findNvcc(): string | undefined {
  const cands = [process.env.NVCC, "nvcc", ...[process.env.CUDA_PATH, process.env.CUDA_HOME, "/usr/local/cuda"].filter(Boolean).map((r) => path.join(r!, "bin", "nvcc"))];
  for (const c of cands) {
    if (!c) continue;
    if (c.includes("/") && !existsSync(c)) continue;
    if (spawnSync(c, ["--version"], { encoding: "utf8" }).status === 0) return c;
  }
  return undefined;
}

export const haveGxx = (): boolean => spawnSync(process.env.CXX || "g++", ["--version"]).status === 0;

/** Runs f over xs with at most n in flight; results in order. */
export async function pool<T, R>(xs: readonly T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await f(xs[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, xs.length) }, worker));
  return out;
}

/**
 * Backend-vs-interpreter tolerance: |got − ref| ≤ atol·max|ref| + rtol·|ref| + floor per element, with
 * f32 as for WebGPU (1e-5·max|ref| + 1e-6), looser for f16/bf16 (they round once more), exact for
 * integers and bools. NaN matches only NaN, infinities only themselves.
 */
const TOL: Record<DType, { scale: number; rel: number; abs: number }> = {
  f32: { scale: 1e-5, rel: 0, abs: 1e-6 },
  f16: { scale: 1e-3, rel: 2e-3, abs: 1e-6 },
  bf16: { scale: 8e-3, rel: 1.6e-2, abs: 1e-6 },
  i32: { scale: 0, rel: 0, abs: 0 },
  u32: { scale: 0, rel: 0, abs: 0 },
  bool: { scale: 0, rel: 0, abs: 0 },
};

/** The first mismatch as a message, or undefined when got matches ref. */
export function mismatch(dtype: DType, got: ArrayLike<number>, ref: ArrayLike<number>): string | undefined {
  if (got.length !== ref.length) return `${got.length} values, expected ${ref.length}`;
  const t = TOL[dtype];
  let scale = 0;
  for (let i = 0; i < ref.length; i++) if (Number.isFinite(ref[i]!)) scale = Math.max(scale, Math.abs(ref[i]!));
  for (let i = 0; i < ref.length; i++) {
    const a = got[i]!;
    const r = ref[i]!;
    const ok = !Number.isFinite(a) || !Number.isFinite(r) ? (Number.isNaN(a) && Number.isNaN(r)) || a === r : Math.abs(a - r) <= t.scale * scale + t.rel * Math.abs(r) + t.abs;
    if (!ok) return `element ${i}: got ${a}, expected ${r} (${dtype}, max|ref| ${scale})`;
  }
  return undefined;
}

/** A one-launch Program around a hand-built kernel: f32 input x[N] → f32 output out[N], uniform d_N. */
export function oneKernelProgram(kernel: Kernel): Program {
  const node = { op: "compute", id: 0 } as unknown as Node;
  const N: Dim = dim("N");
  return {
    name: kernel.name,
    buffers: [
      { id: 0, dtype: "u32", numel: dim(1), role: "flag" },
      { id: 1, dtype: "f32", numel: N, role: "input" },
      { id: 2, dtype: "f32", numel: N, role: "temp" },
    ],
    steps: [{ k: "launch", kernel, args: [1, 2], uniforms: [{ kind: "dim", name: "N" }], node }],
    inputs: [{ name: "x", buffer: 1, dtype: "f32", shape: [N] }],
    outputs: [{ name: "out", buffer: 2, dtype: "f32", shape: [N] }],
    flag: 0,
  };
}
