/**
 * The tolerance policy: when a backend's output counts as equal to the reference interpreter's.
 * One definition, used by `attnc run --check` and by every backend test.
 *
 * For an output of dtype t with reference values ref (the interpreter) and backend values got:
 *
 *   scale = max |ref[i]| over the finite reference values (0 when there are none)
 *   every element must satisfy  |got[i] − ref[i]| ≤ atol + rtol·|ref[i]|,  atol = atolScale·scale
 *
 * | dtype | rtol     | atolScale | why |
 * |-------|----------|-----------|-----|
 * | f32   | 1e-5     | 1e-6      | ≈ 80 ulps of binary32 per element; the absolute term (≈ 8 ulps of the largest value) admits the cancellation error of f32 sums and dot products, whose error scales with the operands rather than with the (small) result |
 * | f16   | 2e-3     | 1e-3      | ≈ 2 ulps of binary16 (2^-10 relative spacing); the result is rounded to half once, and the f32 value before rounding may sit on the other side of a rounding boundary than the exact one |
 * | bf16  | 1.6e-2   | 8e-3      | ≈ 2 ulps of bfloat16 (2^-7 relative spacing), same reasoning |
 * | i32, u32, bool | 0 | 0      | exact: integer and boolean results are exact in every backend |
 *
 * Mixed precision: a float output computed through f16/bf16 intermediates gets the tolerance of
 * the narrowest float dtype on any path into it (`outputTolerance`). Each op rounds its f16/bf16
 * result once; the backend computes that result in f32 and the reference in float64, so the two
 * can land on either side of a rounding boundary, and one ulp of the narrow type then flows into
 * the output. Integer and bool outputs stay exact.
 *
 * Subnormal inputs and results may be flushed to zero (WGSL allows it); tests use normal values.
 *
 * Special values must agree exactly: NaN only matches NaN, +inf only +inf, -inf only -inf (and
 * a finite value never matches an infinity). Signed zeros are equal. Shapes must be equal.
 *
 * The reported numbers are maxAbs = max |got − ref| over finite pairs and
 * maxRel = maxAbs / scale (maxAbs itself when scale is 0).
 */
import type { DType } from "./graph/dtype.ts";
import { children, type Graph } from "./graph/node.ts";
import type { Node } from "./graph/ops.ts";

export interface Tolerance {
  readonly rtol: number;
  /** atol = atolScale · max|ref|. */
  readonly atolScale: number;
}

export const TOLERANCE: Readonly<Record<DType, Tolerance>> = {
  f32: { rtol: 1e-5, atolScale: 1e-6 },
  f16: { rtol: 2e-3, atolScale: 1e-3 },
  bf16: { rtol: 1.6e-2, atolScale: 8e-3 },
  i32: { rtol: 0, atolScale: 0 },
  u32: { rtol: 0, atolScale: 0 },
  bool: { rtol: 0, atolScale: 0 },
};

const LOOSENESS: readonly DType[] = ["f32", "f16", "bf16"];

/**
 * The tolerance of output `index` of a graph: its own dtype's, or for a float output the loosest
 * float dtype among the nodes it depends on (see the module comment). `dtype` names the governing
 * dtype for messages.
 */
export function outputTolerance(graph: Graph, index: number): { readonly dtype: DType; readonly tol: Tolerance } {
  const out = graph.outputs[index]!;
  const own = out.dtype as DType;
  if (own !== "f32" && own !== "f16" && own !== "bf16") return { dtype: own, tol: TOLERANCE[own] };
  let worst = LOOSENESS.indexOf(own);
  const seen = new Set<Node>();
  const stack: Node[] = [out];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const t of n.types) worst = Math.max(worst, LOOSENESS.indexOf(t.dtype));
    stack.push(...children(n));
  }
  const dtype = LOOSENESS[worst]!;
  return { dtype, tol: TOLERANCE[dtype] };
}

export interface Comparison {
  readonly ok: boolean;
  /** max |got − ref| over pairs of finite values. */
  readonly maxAbs: number;
  /** maxAbs / max|ref| (maxAbs when max|ref| is 0). */
  readonly maxRel: number;
  /** max |ref| over finite reference values. */
  readonly scale: number;
  /** Elements outside the tolerance (special-value mismatches included). */
  readonly bad: number;
  /** The first element outside the tolerance: flat index, got, ref. */
  readonly first?: { readonly index: number; readonly got: number; readonly ref: number };
  /** Set when the shapes differ (then nothing else is compared). */
  readonly shapeMismatch?: string;
}

const same = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || a === b;

/** Compares a backend output with the reference under the dtype's tolerance (or an explicit one). */
export function compareOutput(
  dtype: DType,
  got: { readonly shape: readonly number[]; readonly data: ArrayLike<number> },
  ref: { readonly shape: readonly number[]; readonly data: ArrayLike<number> },
  tol: Tolerance = TOLERANCE[dtype],
): Comparison {
  if (got.shape.length !== ref.shape.length || got.shape.some((d, i) => d !== ref.shape[i]) || got.data.length !== ref.data.length)
    return { ok: false, maxAbs: NaN, maxRel: NaN, scale: NaN, bad: ref.data.length, shapeMismatch: `shape [${got.shape.join(", ")}] vs reference [${ref.shape.join(", ")}]` };
  let scale = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const r = Math.abs(ref.data[i]!);
    if (Number.isFinite(r) && r > scale) scale = r;
  }
  const atol = tol.atolScale * scale;
  let maxAbs = 0;
  let bad = 0;
  let first: Comparison["first"];
  for (let i = 0; i < ref.data.length; i++) {
    const g = got.data[i]!;
    const r = ref.data[i]!;
    let ok: boolean;
    if (!Number.isFinite(g) || !Number.isFinite(r)) ok = same(g, r);
    else {
      const d = Math.abs(g - r);
      if (d > maxAbs) maxAbs = d;
      ok = d <= atol + tol.rtol * Math.abs(r);
    }
    if (!ok) {
      bad++;
      first ??= { index: i, got: g, ref: r };
    }
  }
  return { ok: bad === 0, maxAbs, maxRel: scale > 0 ? maxAbs / scale : maxAbs, scale, bad, first };
}

/** One line describing a comparison: `max abs 1.2e-7, max rel 3.4e-8 (tolerance f32: rtol 1e-5, atol 1e-6·max|ref|)`. */
export function describeComparison(dtype: DType, c: Comparison): string {
  if (c.shapeMismatch) return c.shapeMismatch;
  const t = TOLERANCE[dtype];
  const g = (x: number) => (x === 0 ? "0" : x.toPrecision(3));
  const tolText = t.rtol === 0 ? "exact" : `rtol ${t.rtol}, atol ${t.atolScale}·max|ref|`;
  let s = `max abs ${g(c.maxAbs)}, max rel ${g(c.maxRel)} (${dtype}: ${tolText})`;
  if (!c.ok && c.first) s += `; ${c.bad} element${c.bad === 1 ? "" : "s"} outside, first at flat index ${c.first.index}: got ${c.first.got}, expected ${c.first.ref}`;
  return s;
}
