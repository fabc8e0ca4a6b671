/**
 * Shared pieces of the reference interpreter: the host tensor type, the error class, the
 * per-run context handed to op kernels, and index helpers (strides, broadcasting, offsets).
 */
import { evalDim, shapeToString, type Dim } from "../dim.ts";
import type { DType } from "../dtype.ts";
import type { Node } from "../ops.ts";

/** A dense row-major tensor on the host. Values are doubles already rounded to `dtype`. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: Float64Array;
}

/** A malformed graph or malformed inputs: the interpreter refuses rather than guessing. */
export class InterpError extends Error {
  constructor(
    message: string,
    readonly node?: Node,
  ) {
    super(node ? `${message} (node #${node.id}, ${node.op})` : message);
    this.name = "InterpError";
  }
}

/** What an op kernel may use besides its operands. */
export interface Ctx {
  /** The value of a symbolic dim under the run's bindings; throws InterpError when unbound. */
  dim(d: Dim, node: Node): number;
  /** Records an out-of-range data-dependent index at `node` (sets the error flag). */
  flag(node: Node, message: string): void;
}

export function makeDimEval(env: ReadonlyMap<string, number>): (d: Dim, node: Node | undefined) => number {
  const cache = new Map<Dim, number>();
  return (d, node) => {
    let v = cache.get(d);
    if (v === undefined) {
      v = evalDim(d, env);
      if (v === undefined)
        throw new InterpError(`dim '${d.toString()}' has no value: bind its variables through the inputs or opts.dims`, node);
      cache.set(d, v);
    }
    return v;
  };
}

export const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export const fmtShape = (s: readonly number[]): string => `[${s.join(", ")}]`;
export const fmtSym = (s: readonly Dim[]): string => shapeToString(s);

export function tensor(dtype: DType, shape: number[], data?: Float64Array): HostTensor {
  const n = numelOf(shape);
  const d = data ?? new Float64Array(n);
  if (d.length !== n) throw new InterpError(`internal: ${d.length} values for shape ${fmtShape(shape)}`);
  return { dtype, shape, data: d };
}

/**
 * For every element of a tensor of shape `shape` (row-major order), the offset
 * `base + Σ idx[k]*strides[k]`. The workhorse of layout ops: broadcasting uses stride 0,
 * permutation permuted strides, slicing scaled strides and a base offset.
 */
export function offsets(shape: readonly number[], strides: readonly number[], base = 0): Int32Array {
  const n = numelOf(shape);
  const out = new Int32Array(n);
  const r = shape.length;
  if (n === 0) return out;
  const idx = new Array<number>(r).fill(0);
  let off = base;
  for (let f = 0; f < n; f++) {
    out[f] = off;
    // odometer increment
    for (let k = r - 1; k >= 0; k--) {
      idx[k]!++;
      off += strides[k]!;
      if (idx[k]! < shape[k]!) break;
      off -= strides[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * Strides that read a tensor of shape `src` as if broadcast to `out` (NumPy rules on trailing
 * axes; a missing or size-1 axis gets stride 0). Throws when the shapes do not broadcast.
 */
export function broadcastStrides(src: readonly number[], out: readonly number[], node: Node, what = "operand"): number[] {
  if (src.length > out.length) throw new InterpError(`${what} of shape ${fmtShape(src)} has more axes than the result ${fmtShape(out)}`, node);
  const st = stridesOf(src);
  const res = new Array<number>(out.length).fill(0);
  const lead = out.length - src.length;
  for (let k = 0; k < src.length; k++) {
    const d = src[k]!;
    const o = out[lead + k]!;
    if (d === o) res[lead + k] = d === 1 ? 0 : st[k]!;
    else if (d === 1) res[lead + k] = 0;
    else throw new InterpError(`${what} of shape ${fmtShape(src)} does not broadcast to ${fmtShape(out)}`, node);
  }
  return res;
}

/** Offsets reading `t` broadcast to `out`. */
export const broadcastOffsets = (t: HostTensor, out: readonly number[], node: Node, what?: string): Int32Array =>
  offsets(out, broadcastStrides(t.shape, out, node, what));

/** A tensor viewed as [outer, n, inner] around `axis`. */
export function axisView(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let k = 0; k < axis; k++) outer *= shape[k]!;
  for (let k = axis + 1; k < shape.length; k++) inner *= shape[k]!;
  return { outer, n: shape[axis]!, inner };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A row-major multi-index as text, for error messages. */
export function fmtIndex(flat: number, shape: readonly number[]): string {
  const st = stridesOf(shape);
  return `[${shape.map((_, k) => Math.floor(flat / st[k]!) % shape[k]!).join(", ")}]`;
}
