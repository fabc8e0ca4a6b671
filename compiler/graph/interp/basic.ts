/** Interpreter kernels: sources, elementwise ops and layout ops. */
import type { DType } from "../dtype.ts";
import type { Node, OpArgs } from "../ops.ts";
import {
  InterpError, broadcastOffsets, fmtShape, numelOf, offsets, sameShape, stridesOf, tensor, type Ctx, type HostTensor,
} from "./core.ts";
import { binaryScalar, castScalar, roundTo, unaryScalar, validFor } from "./scalar.ts";

export function evalConst(node: Node<"const">, shape: number[]): HostTensor {
  const vals = node.arg.values;
  const dt = node.dtype as DType;
  if (vals.length !== numelOf(shape)) throw new InterpError(`constant has ${vals.length} values for shape ${fmtShape(shape)}`, node);
  const out = tensor(dt, shape);
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    if (!validFor(dt, v)) throw new InterpError(`constant value ${v} is not a valid ${dt}`, node);
    out.data[i] = roundTo(dt, v);
  }
  return out;
}

export function evalIota(node: Node<"iota">, shape: number[]): HostTensor {
  const out = tensor("i32", shape);
  const st = stridesOf(shape);
  const a = node.arg.axis;
  for (let f = 0; f < out.data.length; f++) out.data[f] = Math.floor(f / st[a]!) % shape[a]!;
  return out;
}

export function evalUnary(node: Node<"unary">, x: HostTensor, shape: number[]): HostTensor {
  const dt = node.dtype as DType;
  const fn = node.arg.fn;
  if (!sameShape(x.shape, shape)) throw new InterpError(`unary operand ${fmtShape(x.shape)} vs result ${fmtShape(shape)}`, node);
  const out = tensor(dt, shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = roundTo(dt, unaryScalar(fn, x.dtype, x.data[i]!));
  return out;
}

export function evalBinary(node: Node<"binary">, a: HostTensor, b: HostTensor, shape: number[]): HostTensor {
  const dt = node.dtype as DType;
  const fn = node.arg.fn;
  if (a.dtype !== b.dtype) throw new InterpError(`binary operands have dtypes ${a.dtype} and ${b.dtype}`, node);
  const oa = broadcastOffsets(a, shape, node, "left operand");
  const ob = broadcastOffsets(b, shape, node, "right operand");
  const out = tensor(dt, shape);
  const t = a.dtype;
  for (let i = 0; i < out.data.length; i++) out.data[i] = roundTo(dt, binaryScalar(fn, t, a.data[oa[i]!]!, b.data[ob[i]!]!));
  return out;
}

export function evalWhere(node: Node, c: HostTensor, a: HostTensor, b: HostTensor, shape: number[]): HostTensor {
  const dt = node.dtype as DType;
  const oc = broadcastOffsets(c, shape, node, "condition");
  const oa = broadcastOffsets(a, shape, node, "true branch");
  const ob = broadcastOffsets(b, shape, node, "false branch");
  const out = tensor(dt, shape);
  for (let i = 0; i < out.data.length; i++) out.data[i] = roundTo(dt, c.data[oc[i]!]! !== 0 ? a.data[oa[i]!]! : b.data[ob[i]!]!);
  return out;
}

export function evalCast(node: Node, x: HostTensor, shape: number[]): HostTensor {
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  if (x.data.length !== out.data.length) throw new InterpError(`cast operand ${fmtShape(x.shape)} vs result ${fmtShape(shape)}`, node);
  for (let i = 0; i < out.data.length; i++) out.data[i] = roundTo(dt, castScalar(x.dtype, dt, x.data[i]!));
  return out;
}

export function evalReshape(node: Node, x: HostTensor, shape: number[]): HostTensor {
  if (numelOf(shape) !== x.data.length) throw new InterpError(`reshape of ${fmtShape(x.shape)} to ${fmtShape(shape)} changes the element count`, node);
  return tensor(x.dtype, shape, x.data.slice());
}

function take(x: HostTensor, shape: number[], offs: Int32Array): HostTensor {
  const out = tensor(x.dtype, shape);
  for (let i = 0; i < offs.length; i++) out.data[i] = x.data[offs[i]!]!;
  return out;
}

export function evalPermute(node: Node<"permute">, x: HostTensor, shape: number[]): HostTensor {
  const perm = node.arg.perm;
  const r = x.shape.length;
  if (perm.length !== r || new Set(perm).size !== r || perm.some((p) => p < 0 || p >= r))
    throw new InterpError(`permutation [${perm.join(", ")}] for rank ${r}`, node);
  if (!sameShape(shape, perm.map((p) => x.shape[p]!))) throw new InterpError(`permuted shape ${fmtShape(shape)} does not match ${fmtShape(x.shape)}`, node);
  const st = stridesOf(x.shape);
  return take(x, shape, offsets(shape, perm.map((p) => st[p]!)));
}

export function evalBroadcast(node: Node, x: HostTensor, shape: number[]): HostTensor {
  return take(x, shape, broadcastOffsets(x, shape, node));
}

export function evalSlice(node: Node<"slice">, x: HostTensor, shape: number[], ctx: Ctx): HostTensor {
  const { starts, steps } = node.arg;
  const r = x.shape.length;
  if (starts.length !== r || steps.length !== r || shape.length !== r) throw new InterpError(`slice arguments do not match rank ${r}`, node);
  const st = stridesOf(x.shape);
  let base = 0;
  const strides: number[] = [];
  for (let k = 0; k < r; k++) {
    const s = ctx.dim(starts[k]!, node);
    const step = steps[k]!;
    const count = shape[k]!;
    if (count > 0) {
      const last = s + (count - 1) * step;
      if (s < 0 || s >= x.shape[k]! || last < 0 || last >= x.shape[k]!)
        throw new InterpError(`slice on axis ${k} reads indices ${s}..${last} (step ${step}) of a dim of size ${x.shape[k]}`, node);
    }
    base += count > 0 ? s * st[k]! : 0;
    strides.push(step * st[k]!);
  }
  return take(x, shape, numelOf(shape) === 0 ? new Int32Array(0) : offsets(shape, strides, base));
}

export function evalConcat(node: Node<"concat">, xs: readonly HostTensor[], shape: number[]): HostTensor {
  const a = node.arg.axis;
  const out = tensor(node.dtype as DType, shape);
  const ost = stridesOf(shape);
  let pos = 0;
  for (const x of xs) {
    if (x.shape.length !== shape.length || x.shape.some((d, k) => k !== a && d !== shape[k]))
      throw new InterpError(`concat operand ${fmtShape(x.shape)} does not fit result ${fmtShape(shape)} on axis ${a}`, node);
    const offs = offsets(x.shape, ost, pos * ost[a]!);
    for (let i = 0; i < offs.length; i++) out.data[offs[i]!] = x.data[i]!;
    pos += x.shape[a]!;
  }
  if (pos !== shape[a]) throw new InterpError(`concat operands add up to ${pos} on axis ${a}, result has ${shape[a]}`, node);
  return out;
}

/** out[i] = x[i - before] where that index exists, else value (negative pads therefore crop). */
export function evalPad(node: Node<"pad">, x: HostTensor, shape: number[], ctx: Ctx): HostTensor {
  const { before, after, value } = node.arg;
  const r = x.shape.length;
  const b = before.map((d) => ctx.dim(d, node));
  const e = after.map((d) => ctx.dim(d, node));
  for (let k = 0; k < r; k++)
    if (shape[k] !== x.shape[k]! + b[k]! + e[k]!) throw new InterpError(`pad result ${fmtShape(shape)} does not match ${fmtShape(x.shape)} + pads`, node);
  const dt = node.dtype as DType;
  const out = tensor(dt, shape);
  const fill = roundTo(dt, value);
  const xst = stridesOf(x.shape);
  const idx = new Array<number>(r).fill(0);
  for (let f = 0; f < out.data.length; f++) {
    let off = 0;
    let inside = true;
    for (let k = 0; k < r; k++) {
      const i = idx[k]! - b[k]!;
      if (i < 0 || i >= x.shape[k]!) inside = false;
      off += i * xst[k]!;
    }
    out.data[f] = inside ? x.data[off]! : fill;
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * regions: out[b, ry*sw + rx, ty*(W/sw) + tx, c] = x[b, ry*(H/sh) + ty, rx*(W/sw) + tx, c];
 * unregions is the inverse map.
 */
export function evalRegions(node: Node<"regions"> | Node<"unregions">, x: HostTensor, shape: number[]): HostTensor {
  const { sh, sw } = node.arg as OpArgs["regions"];
  const inverse = node.op === "unregions";
  const grid = inverse ? shape : x.shape; // [B, H, W, C]
  const [B, H, W, C] = grid as [number, number, number, number];
  if (grid.length !== 4 || H % sh !== 0 || W % sw !== 0)
    throw new InterpError(`${node.op}: image ${fmtShape(grid)} is not divisible into ${sh}x${sw} regions`, node);
  const rh = H / sh;
  const rw = W / sw;
  const part = [B, sh * sw, rh * rw, C];
  if (!sameShape(inverse ? x.shape : shape, part)) throw new InterpError(`${node.op}: regions shape ${fmtShape(inverse ? x.shape : shape)}, expected ${fmtShape(part)}`, node);
  const out = tensor(x.dtype, shape);
  const gst = stridesOf(grid);
  const pst = stridesOf(part);
  for (let b = 0; b < B; b++)
    for (let ry = 0; ry < sh; ry++)
      for (let rx = 0; rx < sw; rx++)
        for (let ty = 0; ty < rh; ty++)
          for (let tx = 0; tx < rw; tx++) {
            const g = b * gst[0]! + (ry * rh + ty) * gst[1]! + (rx * rw + tx) * gst[2]!;
            const p = b * pst[0]! + (ry * sw + rx) * pst[1]! + (ty * rw + tx) * pst[2]!;
            for (let c = 0; c < C; c++) {
              if (inverse) out.data[g + c] = x.data[p + c]!;
              else out.data[p + c] = x.data[g + c]!;
            }
          }
  return out;
}
