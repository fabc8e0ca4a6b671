/** Interpreter kernels: dwconv2d, layernorm, rmsnorm, l2normalize, quantize and dequantize. */
import type { DType } from "../dtype.ts";
import type { Node } from "../ops.ts";
import { InterpError, axisView, fmtShape, numelOf, sameShape, tensor, type Ctx, type HostTensor } from "./core.ts";
import { roundHalfEven, roundTo } from "./scalar.ts";

export function evalDwconv2d(node: Node<"dwconv2d">, x: HostTensor, w: HostTensor, bias: HostTensor | undefined, shape: number[]): HostTensor {
  if (x.shape.length !== 4 || w.shape.length !== 3 || w.shape[0] !== x.shape[3] || !sameShape(shape, x.shape) || (bias && (bias.shape.length !== 1 || bias.shape[0] !== x.shape[3])))
    throw new InterpError(`dwconv2d of ${fmtShape(x.shape)} with weights ${fmtShape(w.shape)}${bias ? ` and bias ${fmtShape(bias.shape)}` : ""}`, node);
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [, kh, kw] = w.shape as [number, number, number];
  const ph = Math.floor(kh / 2);
  const pw = Math.floor(kw / 2);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let dy = 0; dy < kh; dy++) {
            const iy = y + dy - ph;
            if (iy < 0 || iy >= H) continue;
            for (let dx = 0; dx < kw; dx++) {
              const ix = xx + dx - pw;
              if (ix < 0 || ix >= W) continue;
              acc += x.data[((b * H + iy) * W + ix) * C + c]! * w.data[(c * kh + dy) * kw + dx]!;
            }
          }
          if (bias) acc += bias.data[c]!;
          out.data[((b * H + y) * W + xx) * C + c] = roundTo(dt, acc);
        }
  return out;
}

function lastAxisParam(node: Node, t: HostTensor | undefined, c: number, what: string): HostTensor | undefined {
  if (t && (t.shape.length !== 1 || t.shape[0] !== c)) throw new InterpError(`${node.op} ${what} has shape ${fmtShape(t.shape)}, expected [${c}]`, node);
  return t;
}

export function evalLayernorm(node: Node<"layernorm">, srcs: readonly HostTensor[], shape: number[]): HostTensor {
  const { eps, hasWeight, hasBias } = node.arg;
  const x = srcs[0]!;
  const C = x.shape[x.shape.length - 1] ?? 1;
  const w = lastAxisParam(node, hasWeight ? srcs[1] : undefined, C, "weight");
  const bias = lastAxisParam(node, hasBias ? srcs[hasWeight ? 2 : 1] : undefined, C, "bias");
  if (x.shape.length === 0 || !sameShape(shape, x.shape)) throw new InterpError(`layernorm of ${fmtShape(x.shape)}`, node);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  const rows = C === 0 ? 0 : x.data.length / C;
  for (let r = 0; r < rows; r++) {
    const base = r * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x.data[base + c]!;
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x.data[base + c]! - mean) ** 2;
    v /= C;
    const inv = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) {
      let y = (x.data[base + c]! - mean) * inv;
      if (w) y *= w.data[c]!;
      if (bias) y += bias.data[c]!;
      out.data[base + c] = roundTo(dt, y);
    }
  }
  return out;
}

export function evalRmsnorm(node: Node<"rmsnorm">, srcs: readonly HostTensor[], shape: number[]): HostTensor {
  const { eps, hasWeight } = node.arg;
  const x = srcs[0]!;
  const C = x.shape[x.shape.length - 1] ?? 1;
  const w = lastAxisParam(node, hasWeight ? srcs[1] : undefined, C, "weight");
  if (x.shape.length === 0 || !sameShape(shape, x.shape)) throw new InterpError(`rmsnorm of ${fmtShape(x.shape)}`, node);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  const rows = C === 0 ? 0 : x.data.length / C;
  for (let r = 0; r < rows; r++) {
    const base = r * C;
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x.data[base + c]! ** 2;
    const inv = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) out.data[base + c] = roundTo(dt, x.data[base + c]! * inv * (w ? w.data[c]! : 1));
  }
  return out;
}

export function evalL2normalize(node: Node<"l2normalize">, x: HostTensor, shape: number[]): HostTensor {
  const { axis, eps } = node.arg;
  if (!sameShape(shape, x.shape)) throw new InterpError(`l2normalize of ${fmtShape(x.shape)}`, node);
  const { outer, n, inner } = axisView(x.shape, axis);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  for (let o = 0; o < outer; o++)
    for (let c = 0; c < inner; c++) {
      const base = o * n * inner + c;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += x.data[base + i * inner]! ** 2;
      const d = Math.max(Math.sqrt(ss), eps);
      for (let i = 0; i < n; i++) out.data[base + i * inner] = roundTo(dt, x.data[base + i * inner]! / d);
    }
  return out;
}

/**
 * The group (scale/zero slot) of element (row, d), rows being x's last-axis rows: per token
 * (axis -1) the row itself; per channel (axis -2) the pair (row / T, d) of x [..., T, D].
 */
function groupOf(axis: number, row: number, d: number, T: number, D: number): number {
  return axis === -1 ? row : Math.floor(row / T) * D + d;
}

function checkQuant(node: Node, bits: number, axis: number, rank: number): void {
  if (![2, 3, 4, 8].includes(bits)) throw new InterpError(`quantization to ${bits} bits`, node);
  if (!(axis === -1 || (axis === -2 && rank >= 2))) throw new InterpError(`quantization axis ${axis} for rank ${rank}`, node);
}

export function evalQuantize(node: Node<"quantize">, x: HostTensor, shapes: number[][]): HostTensor[] {
  const { bits, axis } = node.arg;
  const r = x.shape.length;
  checkQuant(node, bits, axis, r);
  const D = x.shape[r - 1]!;
  const T = axis === -2 ? x.shape[r - 2]! : 1;
  const rows = numelOf(x.shape.slice(0, -1));
  const words = Math.ceil((D * bits) / 32);
  const sshape = x.shape.filter((_, i) => i !== r + axis);
  const pshape = [...x.shape.slice(0, -1), words];
  if (!sameShape(shapes[0]!, pshape) || !sameShape(shapes[1]!, sshape) || !sameShape(shapes[2]!, sshape))
    throw new InterpError(`quantize of ${fmtShape(x.shape)}: result shapes ${shapes.map(fmtShape).join(", ")}`, node);
  const G = numelOf(sshape);
  const lo = new Float64Array(G).fill(Infinity);
  const hi = new Float64Array(G).fill(-Infinity);
  const nan = new Uint8Array(G);
  for (let row = 0; row < rows; row++)
    for (let d = 0; d < D; d++) {
      const g = groupOf(axis, row, d, T, D);
      const v = x.data[row * D + d]!;
      if (v !== v) nan[g] = 1;
      if (v < lo[g]!) lo[g] = v;
      if (v > hi[g]!) hi[g] = v;
    }
  const levels = 2 ** bits - 1;
  const scale = tensor("f32", sshape);
  const zero = tensor("f32", sshape.slice());
  for (let g = 0; g < G; g++) {
    if (nan[g]) {
      scale.data[g] = NaN;
      zero.data[g] = NaN;
    } else if (lo[g]! <= hi[g]!) {
      scale.data[g] = Math.fround((hi[g]! - lo[g]!) / levels);
      zero.data[g] = Math.fround(lo[g]!);
    } // an empty group keeps scale 0, zero 0
  }
  const packed = new Uint32Array(rows * words);
  for (let row = 0; row < rows; row++)
    for (let d = 0; d < D; d++) {
      const g = groupOf(axis, row, d, T, D);
      const s = scale.data[g]!;
      let q = s > 0 ? roundHalfEven((x.data[row * D + d]! - zero.data[g]!) / s) : 0;
      if (!(q >= 0)) q = 0; // also NaN
      if (q > levels) q = levels;
      const bit = d * bits;
      const w = row * words + (bit >>> 5);
      const o = bit & 31;
      packed[w] = (packed[w]! | (q << o)) >>> 0;
      if (o + bits > 32) packed[w + 1] = (packed[w + 1]! | (q >>> (32 - o))) >>> 0;
    }
  return [tensor("u32", pshape, Float64Array.from(packed)), scale, zero];
}

export function evalDequantize(node: Node<"dequantize">, packed: HostTensor, scale: HostTensor, zero: HostTensor, shape: number[], ctx: Ctx): HostTensor {
  const { bits, axis } = node.arg;
  const r = shape.length;
  checkQuant(node, bits, axis, r);
  const D = ctx.dim(node.arg.n, node);
  const T = axis === -2 ? shape[r - 2]! : 1;
  const words = Math.ceil((D * bits) / 32);
  const rows = numelOf(shape.slice(0, -1));
  const sshape = shape.filter((_, i) => i !== r + axis);
  if (shape[r - 1] !== D || !sameShape(packed.shape, [...shape.slice(0, -1), words]) || !sameShape(scale.shape, sshape) || !sameShape(zero.shape, sshape))
    throw new InterpError(`dequantize of ${fmtShape(packed.shape)} with scale ${fmtShape(scale.shape)} to ${fmtShape(shape)}`, node);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  const mask = 2 ** bits - 1;
  for (let row = 0; row < rows; row++)
    for (let d = 0; d < D; d++) {
      const bit = d * bits;
      const w = row * words + (bit >>> 5);
      const o = bit & 31;
      let q = (packed.data[w]! >>> o) & mask;
      if (o + bits > 32) q |= (packed.data[w + 1]! << (32 - o)) & mask;
      const g = groupOf(axis, row, d, T, D);
      out.data[row * D + d] = roundTo(dt, scale.data[g]! * q + zero.data[g]!);
    }
  return out;
}
