/**
 * Random GraphBuilder programs for property tests. A program is plain data (numbers), so
 * fast-check can generate and shrink it; `runProgram` interprets it on a builder. Every
 * instruction picks its operands from a pool of tensors built so far and adapts them (casts,
 * unsqueezes, fresh inputs of fitting shapes) so that each builder call is valid by construction.
 */
import fc from "fast-check";
import { GraphBuilder, S, broadcastShapes, type Tensor } from "../../compiler/graph/builder.ts";
import * as D from "../../compiler/graph/dim.ts";
import type { Dim, DimLike } from "../../compiler/graph/dim.ts";
import { isFloat, isInt, type DType } from "../../compiler/graph/dtype.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { BINARY_FNS, UNARY_FNS, type BinaryFn, type ReduceFn, type UnaryFn } from "../../compiler/graph/ops.ts";
import type { SExpr, SVar } from "../../compiler/graph/expr.ts";

export type Instr = readonly [op: number, a: number, b: number, c: number, d: number];

export interface Program {
  readonly inputs: readonly (readonly [dtype: number, dims: readonly number[]])[];
  readonly instrs: readonly Instr[];
  readonly outs: readonly number[];
  /** 0: default output names, 1: plain names, 2: names that need quoting. */
  readonly naming: number;
}

const DIMS: readonly DimLike[] = ["B", "N", "C", 1, 2, 3, 4, "K"];
const IN_DTYPES: readonly DType[] = ["f32", "f16", "i32", "bool"];
const ALL_DTYPES: readonly DType[] = ["f32", "f16", "bf16", "i32", "u32", "bool"];
export const NUM_OPS = 31;

export const programArb: fc.Arbitrary<Program> = fc.record({
  inputs: fc.array(fc.tuple(fc.nat(IN_DTYPES.length - 1), fc.array(fc.nat(DIMS.length - 1), { maxLength: 3 })), { minLength: 1, maxLength: 3 }),
  instrs: fc.array(fc.tuple(fc.nat(NUM_OPS - 1), fc.nat(999), fc.nat(999), fc.nat(999), fc.nat(999)), { minLength: 1, maxLength: 10 }),
  outs: fc.array(fc.nat(999), { minLength: 1, maxLength: 3 }),
  naming: fc.nat(2),
});

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length]!;

function canBroadcast(a: readonly Dim[], b: readonly Dim[]): boolean {
  try {
    broadcastShapes(a, b);
    return true;
  } catch {
    return false;
  }
}

/** A permutation of 0..r-1 chosen by seed. */
function perm(r: number, seed: number): number[] {
  const p = [...Array(r).keys()];
  for (let i = r - 1; i > 0; i--) {
    const j = (seed = (seed * 1103515245 + 12345) % 2147483648) % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

export function runProgram(prog: Program, name = "rand"): Graph {
  const b = new GraphBuilder(name);
  let fresh = 0;
  const newInput = (dtype: DType, shape: readonly DimLike[]): Tensor => {
    const k = fresh++;
    const nm = k % 4 === 3 ? `in put ${k}` : k % 4 === 2 ? String(k) : `p${k}`;
    return b.input(nm, dtype, shape);
  };
  const pool: Tensor[] = prog.inputs.map(([t, ds], i) => b.input(`x${i}`, pick(IN_DTYPES, t), ds.map((d) => pick(DIMS, d))));
  const at = (n: number): Tensor => pick(pool, n);
  const rank = (x: Tensor) => x.shape.length;
  const numeric = (x: Tensor): Tensor => (x.dtype === "bool" ? b.cast(x, "i32") : x);
  const float = (x: Tensor): Tensor => (isFloat(x.dtype as DType) ? x : b.cast(x, "f32"));
  const atLeast = (x: Tensor, r: number): Tensor => {
    while (rank(x) < r) x = b.unsqueeze(x, 0);
    return x;
  };
  /** A same-type step of an iterate state, using the iteration number and an outer tensor. */
  const step = (s: Tensor, t: Tensor, outer: Tensor, seed: number, depth: number): Tensor => {
    const dt = s.dtype as DType;
    if (depth < 2 && seed % 3 === 0) {
      const [r] = b.iterate(pick(["T", 2, 0], seed), [s], ([u], t2) => [step(u!, t2, t, seed >> 2, depth + 1)]);
      return r!;
    }
    if (dt === "bool") return b.binary("xor", s, b.binary("gt", t, seed % 2));
    const tt = b.cast(t, dt);
    const o = b.cast(numeric(outer), dt);
    const inv = canBroadcast(s.shape, o.shape) && D.shapeEq(broadcastShapes(s.shape, o.shape), s.shape) ? o : tt;
    return seed % 2 ? b.add(s, tt) : b.binary("max", b.mul(s, inv), tt);
  };

  for (const [op, p, q, r, s] of prog.instrs) {
    const x0 = at(p);
    const out: Tensor[] = [];
    switch (op) {
      case 0: {
        const dt = x0.dtype as DType;
        const fns: readonly UnaryFn[] = dt === "bool" ? ["not"] : isInt(dt) ? UNARY_FNS : UNARY_FNS.filter((f) => f !== "not");
        out.push(b.unary(pick(fns, q), x0));
        break;
      }
      case 1: {
        let y = at(q);
        if (!canBroadcast(x0.shape, y.shape)) y = x0;
        const dt = x0.dtype as DType;
        if (y.dtype !== dt) y = b.cast(y, dt);
        const fns: readonly BinaryFn[] =
          dt === "bool" ? ["and", "or", "xor", "eq", "ne"] : isInt(dt) ? BINARY_FNS : BINARY_FNS.filter((f) => f !== "and" && f !== "or" && f !== "xor");
        const fn = pick(fns, r);
        const lit = dt === "bool" ? true : fn === "and" || fn === "or" || fn === "xor" ? 2 : pick([2, 0.5, -1], s);
        out.push(s % 3 === 0 ? b.binary(fn, x0, lit) : b.binary(fn, x0, y));
        break;
      }
      case 2: {
        let y = at(q);
        if (!canBroadcast(x0.shape, y.shape)) y = x0;
        if (y.dtype !== x0.dtype) y = b.cast(y, x0.dtype as DType);
        const both = broadcastShapes(x0.shape, y.shape);
        const c0 = at(r);
        const cond = c0.dtype === "bool" && canBroadcast(c0.shape, both) ? c0 : b.binary("ne", x0, x0);
        out.push(b.where(cond, x0, s % 2 ? y : x0.dtype === "bool" ? false : 1));
        break;
      }
      case 3:
        out.push(b.cast(x0, pick(ALL_DTYPES, q)));
        break;
      case 4: {
        const v = q % 3;
        if (v === 0) out.push(b.reshape(x0, [-1]));
        else if (v === 1 || !x0.shape.some((d) => d.value === 1)) out.push(b.unsqueeze(x0, r % (rank(x0) + 1)));
        else out.push(b.squeeze(x0, x0.shape.findIndex((d) => d.value === 1)));
        break;
      }
      case 5: {
        const x = atLeast(x0, 2);
        out.push(q % 2 ? b.transpose(x) : b.permute(x, perm(rank(x), r)));
        break;
      }
      case 6:
        out.push(rank(x0) < 4 ? b.broadcastTo(x0, [pick(DIMS, q), ...x0.shape]) : x0);
        break;
      case 7: {
        const x = atLeast(x0, 1);
        const ax = q % rank(x);
        const v = r % 7;
        if (v === 0) out.push(b.slice(x, ax, undefined, undefined, -1));
        else if (v === 1) out.push(b.slice(x, ax, 1, undefined, 2));
        else if (v === 2) out.push(b.slice(x, ax, -2));
        else if (v === 3) out.push(b.slice(x, ax, "r", undefined, pick([1, 3, -2], s)));
        else if (v === 4 && x.shape[ax]!.value !== 0) out.push(b.select(x, ax, pick([0, -1], s)));
        else if (v === 5) out.push(b.slice(x, ax, undefined, -1, -2));
        else out.push(...b.split(b.concat([x, x], ax), 2, ax));
        break;
      }
      case 8: {
        const x = atLeast(x0, 1);
        const ax = q % rank(x);
        out.push(b.concat(r % 2 ? [x, x] : [x, b.slice(x, ax, 1), x], ax));
        break;
      }
      case 9: {
        const amounts: readonly DimLike[] = [0, 1, "p", 2];
        const before = x0.shape.map((_, i) => pick(amounts, q + i));
        const after = x0.shape.map((_, i) => pick(amounts, r + 2 * i));
        out.push(b.pad(x0, before, after, pick([0, -1.5, 1], s)));
        break;
      }
      case 10: {
        const H = 2 * (1 + (q % 2));
        const W = 3 * (1 + (r % 2));
        const img = newInput(pick(IN_DTYPES, s), [pick(DIMS, s >> 2), H, W, pick(DIMS, s >> 4)]);
        const reg = b.regions(img, 2, 3);
        out.push(reg, b.unregions(b.unary("abs", numeric(reg)), 2, 3, H, W));
        break;
      }
      case 11: {
        const x = x0;
        const fns: readonly ReduceFn[] = x.dtype === "bool" ? ["any", "all"] : ["sum", "mean", "max", "min", "prod"];
        const axes = x.shape.map((_, i) => i).filter((i) => (r >> i) & 1);
        out.push(s % 4 === 0 ? b.reduce(pick(fns, q), x) : b.reduce(pick(fns, q), x, axes, s % 2 === 1));
        break;
      }
      case 12: {
        const x = atLeast(numeric(x0), 1);
        out.push(b.argreduce(q % 2 ? "argmax" : "argmin", x, r % rank(x), s % 2 === 1));
        break;
      }
      case 13: {
        const x = atLeast(numeric(x0), 1);
        out.push(q % 2 ? b.softmax(x, r % rank(x)) : b.logsumexp(x, r % rank(x), s % 2 === 1));
        break;
      }
      case 14: {
        const x = atLeast(numeric(x0), 1);
        if (rank(x) === 1) out.push(b.matmul(x, x));
        else out.push(q % 2 ? b.matmul(x, b.transpose(x)) : b.matmul(b.transpose(x), x));
        break;
      }
      case 15: {
        const x1 = atLeast(numeric(x0), 1);
        const x = rank(x1) > 6 ? b.reshape(x1, [-1]) : x1;
        const L = "abcdefgh".slice(0, rank(x));
        const spec = q % 2 ? `${L},${L}->${L.slice(0, -1)}` : `${L}->${[...L].reverse().join("")}`;
        out.push(q % 2 ? b.einsum(spec, x, x) : b.einsum(spec, x));
        break;
      }
      case 16: {
        const x = atLeast(numeric(x0), 1);
        out.push(b.cumsum(x, q % rank(x), r % 2 === 1, s % 2 === 1));
        break;
      }
      case 17: {
        const x = atLeast(numeric(x0), 1);
        const ax = q % rank(x);
        const n = x.shape[ax]!.value;
        const k: DimLike = n !== undefined ? r % (n + 1) : pick([1, "K"], r);
        out.push(...b.topk(x, k, ax, s % 2 === 0));
        break;
      }
      case 18: {
        const x = atLeast(numeric(x0), 1);
        out.push(q % 3 === 0 ? b.sort(x, r % rank(x), s % 2 === 1) : b.argsort(x, r % rank(x), s % 2 === 1));
        break;
      }
      case 19: {
        const x = atLeast(x0, 1);
        out.push(...b.compact(x.dtype === "bool" ? x : b.binary("gt", x, 0)));
        break;
      }
      case 20: {
        const x = atLeast(x0, 1);
        const ax = q % rank(x);
        const idxShape = [...x.shape.slice(0, ax), pick(DIMS, r)];
        const idx = s % 2 ? b.iota(idxShape, ax) : newInput(s % 4 === 0 ? "u32" : "i32", idxShape);
        out.push(b.gather(x, idx, ax));
        break;
      }
      case 21: {
        const x = atLeast(numeric(x0), 1);
        const ax = q % rank(x);
        const seg = s % 2 ? b.iota(x.shape.slice(0, ax + 1), ax) : newInput("i32", x.shape.slice(0, ax + 1));
        out.push(b.segmentReduce(pick(["sum", "mean", "max", "min"] as const, r), x, seg, pick(DIMS, s >> 1), ax));
        break;
      }
      case 22: {
        const x = float(atLeast(x0, 1));
        const n = x.shape[rank(x) - 1]!;
        const v = q % 4;
        out.push(
          b.compute(x.shape, (...iv: SVar[]) => {
            const last = iv[iv.length - 1]!;
            const row = (j: SExpr) => S.load(x, [...iv.slice(0, -1), j]);
            if (v === 0)
              return S.add(S.sum([n], (j) => row(j), (j) => S.le(j, last)), S.dim(D.sub(n, 1)));
            if (v === 1) return S.select(S.lt(last, S.dim(D.div(n, 2))), row(last), S.reduce("max", [n], (j) => row(j)));
            if (v === 2) return S.cast(S.reduce("argmax", [n], (j) => row(j), (j) => S.ge(S.mul(j, 2), last)), "f32");
            return S.mul(S.exp(row(S.sub(S.dim(D.sub(n, 1)), last))), S.sum([n, 2], (j, k) => S.mul(row(j), S.cast(k!, "f32"))));
          }),
        );
        break;
      }
      case 23: {
        const x = rank(x0) === 4 && x0.dtype !== "bool" ? x0 : newInput(pick(["f32", "f16"], q), [pick(DIMS, q), 4, 4, pick(DIMS, r)]);
        const C = x.shape[3]!;
        const w = newInput(isFloat(x.dtype as DType) ? (x.dtype as DType) : "f32", [C, pick([1, 3], r), 3]);
        out.push(b.dwconv2d(x, w, s % 2 ? newInput("f32", [C]) : undefined));
        break;
      }
      case 24: {
        const x = atLeast(numeric(x0), 1);
        const C = x.shape[rank(x) - 1]!;
        const v = q % 3;
        const wt = () => (r % 2 ? newInput("f32", [C]) : undefined);
        if (v === 0) out.push(b.layernorm(x, wt(), s % 2 ? newInput("f16", [C]) : undefined, pick([1e-5, 1e-6], s)));
        else if (v === 1) out.push(b.rmsnorm(x, wt()));
        else out.push(b.l2normalize(x, r % rank(x), pick([1e-12, 0.5], s)));
        break;
      }
      case 25: {
        const x = atLeast(numeric(x0), q % 2 ? 2 : 1);
        const bits = pick([2, 3, 4, 8], r);
        const axis = q % 2 ? -2 : -1;
        const [pk, sc, zr] = b.quantize(x, bits, axis);
        out.push(pk!, b.dequantize(pk!, sc!, zr!, bits, x.shape[rank(x) - 1]!, axis, pick(["f32", "f16"], s)));
        break;
      }
      case 26: {
        const q0 = float(atLeast(x0, 2));
        const r0 = rank(q0);
        const batch = q0.shape.slice(0, -2);
        const [Nq, Dq] = q0.shape.slice(-2) as [Dim, Dim];
        const nb = batch.length;
        const k = q % 2 ? q0 : newInput("f32", [...batch, "M", Dq]);
        const Nk = k.shape[r0 - 2]!;
        const v = s % 3 === 0 ? newInput("f32", [...batch, Nk, "Dv"]) : k;
        const bias = (r & 1) === 1 ? newInput("f32", [Nk]) : undefined;
        const hooked = (r & 2) === 2;
        const bq = pick([2, 4, "BQ"] as DimLike[], s);
        const out2 = b.attention(q0, k, v, {
          scale: (s & 4) === 4 ? 0.5 : undefined,
          score: hooked ? (sc, id) => S.add(S.mul(sc, 0.5), S.cast(S.sub(id[nb]!, id[nb + 1]!), "f32")) : undefined,
          mask:
            (r & 4) === 4
              ? (id) => (bias && (s & 8) === 8 ? S.gt(S.load(bias, [id[nb + 1]!]), -1) : S.le(id[nb + 1]!, S.add(id[nb]!, S.dim(D.sub(Nk, Nq)))))
              : undefined,
          bias,
          valueScale: (r & 8) === 8 ? newInput("f16", [...batch, Nk]) : undefined,
          blocks: (r & 16) === 16 ? { route: newInput("i32", [D.ceilDiv(Nq, bq), 2]), blockQ: bq, blockK: pick([2, 8], s) } : undefined,
          returns: [
            ...((r & 32) === 32 ? [{ kind: "lse" as const }] : []),
            ...((r & 64) === 64 ? [{ kind: "probs" as const, rows: newInput("i32", [pick([1, 2, "R"] as DimLike[], s)]) }] : []),
            ...((r & 128) === 128 ? [{ kind: "mass" as const, keys: newInput("bool", [Nk]) }] : []),
          ],
        });
        out.push(...(Array.isArray(out2) ? out2 : [out2]));
        break;
      }
      case 27: {
        const init = q % 2 ? [x0] : [x0, at(r)];
        const outer = at(s);
        out.push(...b.iterate(pick(["T", 3, 0], r), init, (st, t) => st.map((u, i) => step(u, t, outer, s + i, 0))));
        break;
      }
      case 28: {
        const dt = pick(ALL_DTYPES, q);
        const shape = pick([[], [2], [2, 2], [3]] as DimLike[][], r);
        const count = shape.reduce<number>((n, d) => n * (d as number), 1);
        const special = [NaN, Infinity, -Infinity, -0, 1.5, 3, 0, -2, 1e-7, 1e300];
        const vals = Array.from({ length: count }, (_, i) => pick(special, s + 7 * i));
        out.push(shape.length === 0 ? b.constant(vals[0]!, dt) : b.constant(vals, dt, shape));
        break;
      }
      case 29: {
        const shape = [pick(DIMS, q), pick(DIMS, r)].slice(0, 1 + (s % 2));
        out.push(b.iota(shape, s % shape.length));
        break;
      }
      default:
        out.push(newInput(pick(IN_DTYPES, q), [pick(DIMS, r), pick(DIMS, s)].slice(0, r % 3)));
    }
    pool.push(...out.map((t) => (t.dtype === "tuple" ? x0 : t)));
  }
  const outs = prog.outs.map((o) => pick(pool, o));
  const names =
    prog.naming === 0 ? undefined : outs.map((_, i) => (prog.naming === 1 ? `o${i}` : i % 2 ? `out ${i}` : `out${(i + 1) % outs.length}`));
  return b.finish(outs, names);
}
