/**
 * Interpreter kernels: reductions, arg-reductions, softmax, logsumexp, matmul and cumsum. All of
 * them accumulate in double (integers: in exact wrapping 32-bit arithmetic) and round once.
 */
import type { DType } from "../dtype.ts";
import type { Node, ReduceFn } from "../ops.ts";
import {
  InterpError, axisView, broadcastStrides, fmtShape, numelOf, offsets, sameShape, stridesOf, tensor, type HostTensor,
} from "./core.ts";
import { roundTo } from "./scalar.ts";

/** Folds the n values data[offs[base + i]] (i < n) of dtype dt: the reduce op's semantics. */
export function fold(fn: ReduceFn, dt: DType, data: Float64Array, offs: Int32Array, base: number, n: number): number {
  const int = dt === "i32" || dt === "u32";
  const get = (i: number): number => data[offs[base + i]!]!;
  switch (fn) {
    case "sum": {
      let acc = 0;
      for (let i = 0; i < n; i++) acc = int ? (dt === "i32" ? (acc + get(i)) | 0 : (acc + get(i)) >>> 0) : acc + get(i);
      return acc;
    }
    case "mean": {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += get(i);
      return n === 0 ? NaN : acc / n;
    }
    case "prod": {
      let acc = 1;
      for (let i = 0; i < n; i++) acc = int ? Math.imul(acc, get(i)) : acc * get(i);
      return acc;
    }
    case "max":
    case "min": {
      if (n === 0) return int ? 0 : fn === "max" ? -Infinity : Infinity;
      let acc = get(0);
      for (let i = 1; i < n && acc === acc; i++) {
        const x = get(i);
        if (x !== x || (fn === "max" ? x > acc : x < acc)) acc = x; // NaN propagates
      }
      return acc;
    }
    case "any": {
      for (let i = 0; i < n; i++) if (get(i) !== 0) return 1;
      return 0;
    }
    case "all": {
      for (let i = 0; i < n; i++) if (get(i) === 0) return 0;
      return 1;
    }
  }
}

export function evalReduce(node: Node<"reduce">, x: HostTensor, shape: number[]): HostTensor {
  const { fn, axes } = node.arg;
  const r = x.shape.length;
  if (axes.some((a, i) => a < 0 || a >= r || (i > 0 && a <= axes[i - 1]!))) throw new InterpError(`reduce axes [${axes.join(", ")}] for rank ${r}`, node);
  const kept = x.shape.map((_, k) => k).filter((k) => !axes.includes(k));
  const st = stridesOf(x.shape);
  const keptShape = kept.map((k) => x.shape[k]!);
  const redShape = axes.map((k) => x.shape[k]!);
  const m = numelOf(redShape);
  const out = tensor(node.dtype as DType, shape);
  if (numelOf(keptShape) !== out.data.length) throw new InterpError(`reduce result ${fmtShape(shape)} does not match ${fmtShape(x.shape)}`, node);
  // offsets of x read as [...kept, ...reduced]: group k is offs[k*m .. k*m + m)
  const offs = offsets([...keptShape, ...redShape], [...kept.map((k) => st[k]!), ...axes.map((k) => st[k]!)]);
  const dt = x.dtype;
  for (let k = 0; k < out.data.length; k++) out.data[k] = roundTo(out.dtype, fold(fn, dt, x.data, offs, k * m, m));
  return out;
}

export function evalArgreduce(node: Node<"argreduce">, x: HostTensor, shape: number[]): HostTensor {
  const { fn, axis } = node.arg;
  const { outer, n, inner } = axisView(x.shape, axis);
  const out = tensor("i32", shape);
  if (outer * inner !== out.data.length) throw new InterpError(`argreduce result ${fmtShape(shape)} does not match ${fmtShape(x.shape)}`, node);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < inner; c++) {
      const base = o * n * inner + c;
      let best = -1;
      let bestVal = 0;
      for (let i = 0; i < n; i++) {
        const v = x.data[base + i * inner]!;
        if (v !== v) {
          best = i; // the first NaN wins for argmax and argmin alike
          break;
        }
        if (best === -1 || (fn === "argmax" ? v > bestVal : v < bestVal)) {
          best = i;
          bestVal = v;
        }
      }
      out.data[o * inner + c] = best;
    }
  return out;
}

/** max over a row with NaN propagation; -inf for an empty row. */
function rowMax(d: Float64Array, base: number, n: number, step: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = d[base + i * step]!;
    if (v !== v) return NaN;
    if (v > m) m = v;
  }
  return m;
}

export function evalSoftmax(node: Node<"softmax">, x: HostTensor, shape: number[]): HostTensor {
  const { outer, n, inner } = axisView(x.shape, node.arg.axis);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  if (!sameShape(shape, x.shape)) throw new InterpError(`softmax result ${fmtShape(shape)} vs operand ${fmtShape(x.shape)}`, node);
  const e = new Float64Array(n);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < inner; c++) {
      const base = o * n * inner + c;
      const m = rowMax(x.data, base, n, inner);
      if (m === -Infinity) continue; // every entry -inf (or none): zeros
      let s = 0;
      for (let i = 0; i < n; i++) s += e[i] = Math.exp(x.data[base + i * inner]! - m);
      for (let i = 0; i < n; i++) out.data[base + i * inner] = roundTo(dt, e[i]! / s);
    }
  return out;
}

/** log Σ exp(x) in double: max + log Σ exp(x - max); -inf when empty or all -inf; ±inf/NaN maxima pass through. */
export function logSumExpRow(d: Float64Array, base: number, n: number, step: number): number {
  const m = rowMax(d, base, n, step);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(d[base + i * step]! - m);
  return m + Math.log(s);
}

export function evalLogsumexp(node: Node<"logsumexp">, x: HostTensor, shape: number[]): HostTensor {
  const { outer, n, inner } = axisView(x.shape, node.arg.axis);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  if (outer * inner !== out.data.length) throw new InterpError(`logsumexp result ${fmtShape(shape)} does not match ${fmtShape(x.shape)}`, node);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < inner; c++) out.data[o * inner + c] = roundTo(dt, logSumExpRow(x.data, o * n * inner + c, n, inner));
  return out;
}

/**
 * Batched matmul with broadcast batch axes. A rank-1 left operand is a row [1, K], a rank-1
 * right operand a column [K, 1]; the result's data is then read with the node's shape.
 */
export function evalMatmul(node: Node, a: HostTensor, b: HostTensor, shape: number[]): HostTensor {
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  if (as.length < 2 || bs.length < 2) throw new InterpError(`matmul of ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`, node);
  const [M, K] = as.slice(-2) as [number, number];
  const [K2, N] = bs.slice(-2) as [number, number];
  if (K !== K2) throw new InterpError(`matmul inner dims differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}`, node);
  const batchRank = Math.max(as.length, bs.length) - 2;
  const outShape = shape.length >= 2 ? shape.slice(0, -2) : [];
  const batch = outShape.length === batchRank ? outShape : undefined;
  if (!batch || numelOf([...batch, M, N]) !== numelOf(shape)) throw new InterpError(`matmul result ${fmtShape(shape)} does not match ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}`, node);
  const ab = offsets(batch, broadcastStrides(as.slice(0, -2), batch, node, "left batch").map((s) => s * M * K));
  const bb = offsets(batch, broadcastStrides(bs.slice(0, -2), batch, node, "right batch").map((s) => s * K * N));
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  const i32 = a.dtype === "i32";
  const int = i32 || a.dtype === "u32";
  for (let t = 0; t < ab.length; t++) {
    const ao = ab[t]!;
    const bo = bb[t]!;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) {
          const p = a.data[ao + i * K + k]!;
          const q = b.data[bo + k * N + j]!;
          acc = int ? (i32 ? (acc + Math.imul(p, q)) | 0 : (acc + Math.imul(p, q)) >>> 0) : acc + p * q;
        }
        out.data[(t * M + i) * N + j] = roundTo(dt, acc);
      }
  }
  return out;
}

export function evalCumsum(node: Node<"cumsum">, x: HostTensor, shape: number[]): HostTensor {
  const { axis, exclusive, reverse } = node.arg;
  const { outer, n, inner } = axisView(x.shape, axis);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  if (!sameShape(shape, x.shape)) throw new InterpError(`cumsum result ${fmtShape(shape)} vs operand ${fmtShape(x.shape)}`, node);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < inner; c++) {
      const base = o * n * inner + c;
      let acc = 0;
      for (let s = 0; s < n; s++) {
        const i = reverse ? n - 1 - s : s;
        const v = x.data[base + i * inner]!;
        const next = dt === "i32" ? (acc + v) | 0 : dt === "u32" ? (acc + v) >>> 0 : acc + v;
        out.data[base + i * inner] = roundTo(dt, exclusive ? acc : next);
        acc = next;
      }
    }
  return out;
}
