/** Shared helpers for the interpreter tests. */
import { GraphBuilder, type Tensor } from "../../compiler/graph/builder.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import { hostTensor, interpret, type HostTensor, type InterpResult } from "../../compiler/graph/interp.ts";

export { GraphBuilder, hostTensor, interpret };
export { S } from "../../compiler/graph/builder.ts";

export const t = (dtype: DType, shape: number[], data: ArrayLike<number | boolean>): HostTensor => hostTensor(dtype, shape, data);
export const f32 = (shape: number[], data: ArrayLike<number>): HostTensor => hostTensor("f32", shape, data);
export const i32 = (shape: number[], data: ArrayLike<number>): HostTensor => hostTensor("i32", shape, data);
export const bool = (shape: number[], data: ArrayLike<number | boolean>): HostTensor => hostTensor("bool", shape, data);

/** Builds a graph with `build`, runs it on `inputs`, and returns the full result. */
export function run(
  build: (b: GraphBuilder) => Tensor | Tensor[],
  inputs: Record<string, HostTensor> = {},
  dims?: Record<string, number>,
): InterpResult {
  const b = new GraphBuilder();
  const out = build(b);
  const g = b.finish(Array.isArray(out) ? out : [out]);
  return interpret(g, inputs, dims ? { dims } : {});
}

/** Runs and returns the single output's values as a plain array. */
export function run1(build: (b: GraphBuilder) => Tensor, inputs: Record<string, HostTensor> = {}, dims?: Record<string, number>): number[] {
  return vals(run(build, inputs, dims).outputs[0]!);
}

export const vals = (x: HostTensor): number[] => Array.from(x.data);

/** Elementwise f32 rounding of an expected array. */
export const fr = (xs: readonly number[]): number[] => xs.map((x) => Math.fround(x));

/** Checks |a - b| <= tol * max(1, |b|) elementwise, with NaN/inf matching exactly. */
export function close(a: readonly number[], b: readonly number[], tol = 1e-6): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i]!;
    if (Number.isNaN(y) || !Number.isFinite(y)) return Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
    return Math.abs(x - y) <= tol * Math.max(1, Math.abs(y));
  });
}
