/** Interpreter kernels: topk, argsort, compact, gather and segment_reduce. */
import type { DType } from "../dtype.ts";
import type { Node } from "../ops.ts";
import { InterpError, axisView, broadcastStrides, fmtShape, numelOf, offsets, sameShape, tensor, type Ctx, type HostTensor } from "./core.ts";
import { roundTo } from "./scalar.ts";

/** Total order on keys: NaN is larger than every number (NaNs are equal); -0 equals 0. */
export function cmpKey(a: number, b: number): number {
  const an = a !== a;
  const bn = b !== b;
  if (an || bn) return an && bn ? 0 : an ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Indices 0..n-1 of one row sorted by key (stable: equal keys keep ascending index order, in both directions). */
function sortRow(d: Float64Array, base: number, step: number, n: number, descending: boolean): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  // Array.prototype.sort is stable (ES2019).
  if (descending) idx.sort((i, j) => cmpKey(d[base + j * step]!, d[base + i * step]!));
  else idx.sort((i, j) => cmpKey(d[base + i * step]!, d[base + j * step]!));
  return idx;
}

export function evalTopk(node: Node<"topk">, x: HostTensor, ctx: Ctx, vshape: number[]): HostTensor[] {
  const { axis, largest } = node.arg;
  const k = ctx.dim(node.arg.k, node);
  const { outer, n, inner } = axisView(x.shape, axis);
  if (k < 0 || k > n) throw new InterpError(`topk k = ${k} for a dim of size ${n}`, node);
  const want = x.shape.map((d, i) => (i === axis ? k : d));
  if (!sameShape(vshape, want)) throw new InterpError(`topk result ${fmtShape(vshape)}, expected ${fmtShape(want)}`, node);
  const vals = tensor(x.dtype, want);
  const inds = tensor("i32", want.slice());
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < inner; c++) {
      const base = o * n * inner + c;
      const order = sortRow(x.data, base, inner, n, largest);
      for (let s = 0; s < k; s++) {
        const at = o * k * inner + s * inner + c;
        vals.data[at] = x.data[base + order[s]! * inner]!;
        inds.data[at] = order[s]!;
      }
    }
  return [vals, inds];
}

export function evalArgsort(node: Node<"argsort">, x: HostTensor, shape: number[]): HostTensor {
  const { axis, descending } = node.arg;
  const { outer, n, inner } = axisView(x.shape, axis);
  if (!sameShape(shape, x.shape)) throw new InterpError(`argsort result ${fmtShape(shape)} vs operand ${fmtShape(x.shape)}`, node);
  const out = tensor("i32", shape);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < inner; c++) {
      const base = o * n * inner + c;
      const order = sortRow(x.data, base, inner, n, descending);
      for (let s = 0; s < n; s++) out.data[base + s * inner] = order[s]!;
    }
  return out;
}

export function evalCompact(node: Node, mask: HostTensor): HostTensor[] {
  const r = mask.shape.length;
  if (r === 0) throw new InterpError("compact of a scalar", node);
  const n = mask.shape[r - 1]!;
  const rows = numelOf(mask.shape.slice(0, -1));
  const idx = tensor("i32", mask.shape.slice());
  const count = tensor("i32", mask.shape.slice(0, -1));
  for (let row = 0; row < rows; row++) {
    let c = 0;
    for (let i = 0; i < n; i++) if (mask.data[row * n + i] !== 0) idx.data[row * n + c++] = i;
    for (let i = c; i < n; i++) idx.data[row * n + i] = -1;
    count.data[row] = c;
  }
  return [idx, count];
}

export function evalGather(node: Node<"gather">, x: HostTensor, idx: HostTensor, shape: number[], ctx: Ctx): HostTensor {
  const a = node.arg.axis;
  const pre = x.shape.slice(0, a);
  const post = x.shape.slice(a + 1);
  const n = x.shape[a]!;
  const J = idx.shape[idx.shape.length - 1] ?? 1;
  const want = [...pre, J, ...post];
  if (idx.shape.length !== a + 1 || !sameShape(shape, want)) throw new InterpError(`gather of ${fmtShape(x.shape)} by ${fmtShape(idx.shape)} on axis ${a} gives ${fmtShape(want)}, node has ${fmtShape(shape)}`, node);
  const io = offsets([...pre, J], broadcastStrides(idx.shape, [...pre, J], node, "index"));
  const P = numelOf(pre);
  const Q = numelOf(post);
  const out = tensor(x.dtype, shape);
  for (let p = 0; p < P; p++)
    for (let j = 0; j < J; j++) {
      const i = idx.data[io[p * J + j]!]!;
      if (i < 0 || i >= n) {
        if (i !== -1) ctx.flag(node, `gather index ${i} is out of range [0, ${n})`);
        continue; // out stays 0
      }
      const src = (p * n + i) * Q;
      const dst = (p * J + j) * Q;
      for (let q = 0; q < Q; q++) out.data[dst + q] = x.data[src + q]!;
    }
  return out;
}

export function evalSegmentReduce(node: Node<"segment_reduce">, x: HostTensor, seg: HostTensor, shape: number[], ctx: Ctx): HostTensor {
  const { fn, axis } = node.arg;
  const num = ctx.dim(node.arg.num, node);
  const pre = x.shape.slice(0, axis);
  const post = x.shape.slice(axis + 1);
  const n = x.shape[axis]!;
  const want = [...pre, num, ...post];
  if (seg.shape.length !== axis + 1 || !sameShape(shape, want)) throw new InterpError(`segment_reduce result ${fmtShape(shape)}, expected ${fmtShape(want)}`, node);
  const so = offsets([...pre, n], broadcastStrides(seg.shape, [...pre, n], node, "segment ids"));
  const P = numelOf(pre);
  const Q = numelOf(post);
  const dt = node.dtype as DType;
  const xt = x.dtype;
  const acc = new Float64Array(P * num * Q).fill(fn === "max" ? -Infinity : fn === "min" ? Infinity : 0);
  const cnt = new Float64Array(P * num);
  for (let p = 0; p < P; p++)
    for (let i = 0; i < n; i++) {
      const s = seg.data[so[p * n + i]!]!;
      if (s < 0 || s >= num) {
        if (s !== -1) ctx.flag(node, `segment id ${s} is out of range [0, ${num})`);
        continue;
      }
      cnt[p * num + s]!++;
      const src = (p * n + i) * Q;
      const dst = (p * num + s) * Q;
      for (let q = 0; q < Q; q++) {
        const v = x.data[src + q]!;
        const a = acc[dst + q]!;
        if (fn === "sum") acc[dst + q] = xt === "i32" ? (a + v) | 0 : xt === "u32" ? (a + v) >>> 0 : a + v;
        else if (fn === "mean") acc[dst + q] = a + v;
        else if (a === a && (v !== v || (fn === "max" ? v > a : v < a))) acc[dst + q] = v; // NaN sticks
      }
    }
  const int = xt === "i32" || xt === "u32";
  const out = tensor(dt, shape);
  for (let p = 0; p < P; p++)
    for (let s = 0; s < num; s++) {
      const c = cnt[p * num + s]!;
      for (let q = 0; q < Q; q++) {
        const at = (p * num + s) * Q + q;
        let v = acc[at]!;
        if (fn === "mean") v = c === 0 ? 0 : v / c;
        else if (c === 0 && int) v = 0;
        out.data[at] = roundTo(dt, v);
      }
    }
  return out;
}
