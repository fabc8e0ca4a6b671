/**
 * The fused attention op, computed the plain way: one query row at a time, logits for every
 * admitted key, a softmax in double, then the weighted sum of values. See ops.ts `attention`.
 */
import type { DType } from "../dtype.ts";
import type { Node } from "../ops.ts";
import { InterpError, broadcastStrides, fmtShape, numelOf, offsets, stridesOf, tensor, type Ctx, type HostTensor } from "./core.ts";
import { compileExpr, makeEnv } from "./sexpr.ts";
import { roundTo } from "./scalar.ts";

/** Offsets of `t` (shape [*b', ...tail]) broadcast to [...batch, ...tail], `t`'s trailing `tail.length` axes being the tail. */
function perBatch(node: Node, t: HostTensor, batch: readonly number[], tail: readonly number[], what: string): Int32Array {
  return offsets([...batch, ...tail], broadcastStrides(t.shape, [...batch, ...tail], node, what));
}

export function evalAttention(node: Node<"attention">, srcs: readonly HostTensor[], shapes: readonly number[][], ctx: Ctx): HostTensor[] {
  const a = node.arg;
  const [q, k, v] = srcs as [HostTensor, HostTensor, HostTensor];
  const oshape = shapes[0]!;
  const batch = oshape.slice(0, -2);
  const nb = batch.length;
  const [Nq, D] = q.shape.slice(-2) as [number, number];
  const [Nk, Dk] = k.shape.slice(-2) as [number, number];
  const [Nv, Dv] = v.shape.slice(-2) as [number, number];
  if (q.shape.length < 2 || k.shape.length < 2 || v.shape.length < 2 || D !== Dk || Nk !== Nv || oshape[nb] !== Nq || oshape[nb + 1] !== Dv)
    throw new InterpError(`attention of q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} into ${fmtShape(oshape)}`, node);
  const qo = perBatch(node, q, batch, [Nq, D], "q");
  const ko = perBatch(node, k, batch, [Nk, D], "k");
  const vo = perBatch(node, v, batch, [Nk, Dv], "v");
  const bias = a.bias !== undefined ? srcs[a.bias]! : undefined;
  const biasO = bias && perBatch(node, bias, batch, [Nk], "bias");
  const vs = a.valueScale !== undefined ? srcs[a.valueScale]! : undefined;
  const vsO = vs && perBatch(node, vs, batch, [Nk], "value scale");
  // block routes
  let route: HostTensor | undefined;
  let routeO: Int32Array | undefined;
  let bq = 1;
  let bk = 1;
  let R = 0;
  let nKB = 0;
  let nQB = 0;
  if (a.blocks) {
    route = srcs[a.blocks.src]!;
    bq = ctx.dim(a.blocks.blockQ, node);
    bk = ctx.dim(a.blocks.blockK, node);
    if (bq < 1 || bk < 1) throw new InterpError(`attention block sizes ${bq}x${bk} must be positive`, node);
    R = route.shape[route.shape.length - 1] ?? 0;
    nQB = Math.ceil(Nq / bq);
    nKB = Math.ceil(Nk / bk);
    routeO = perBatch(node, route, batch, [nQB, R], "block route");
  }
  const scale = a.scale ?? (D > 0 ? 1 / Math.sqrt(D) : 1);
  const hooks = [a.score, a.mask].filter((e) => e !== undefined);
  const env = makeEnv(node, hooks, srcs, ctx, nb + 2);
  const maskFn = a.mask && compileExpr(a.mask);
  const scoreFn = a.score && compileExpr(a.score);
  const wantP = a.returns.some((r) => r.kind !== "lse");
  const B = numelOf(batch);
  const dt = node.types[0]!.dtype;
  const out = tensor(dt, oshape);
  const lse = tensor("f32", [...batch, Nq]);
  const P = wantP ? new Float64Array(B * Nq * Nk) : undefined;
  const mult = new Float64Array(Nk); // how many times each key is admitted (routes may repeat a block)
  const z = new Float64Array(Nk);
  const bst = stridesOf(batch);
  for (let t = 0; t < B; t++) {
    for (let d = 0; d < nb; d++) env.vars[d] = Math.floor(t / bst[d]!) % batch[d]!;
    for (let i = 0; i < Nq; i++) {
      env.vars[nb] = i;
      // which keys the route admits, with multiplicity
      if (route && routeO) {
        mult.fill(0);
        const rb = (t * nQB + Math.floor(i / bq)) * R;
        for (let e = 0; e < R; e++) {
          const blk = route.data[routeO[rb + e]!]!;
          if (blk < 0 || blk >= nKB) {
            if (blk !== -1) ctx.flag(node, `attention block route entry ${blk} is out of range [0, ${nKB})`);
            continue;
          }
          for (let j = blk * bk; j < Math.min((blk + 1) * bk, Nk); j++) mult[j]!++;
        }
      } else mult.fill(1);
      // final logits of the admitted keys; removed keys get multiplicity 0
      let m = -Infinity;
      const qb = qo[t * Nq * D + i * D] ?? 0;
      for (let j = 0; j < Nk; j++) {
        if (mult[j] === 0) continue;
        env.vars[nb + 1] = j;
        if (maskFn && maskFn(env) === 0) {
          mult[j] = 0;
          continue;
        }
        const kb = ko[t * Nk * D + j * D] ?? 0;
        let dot = 0;
        for (let c = 0; c < D; c++) dot += q.data[qb + c]! * k.data[kb + c]!;
        let s = Math.fround(D === 0 ? 0 : scale * dot);
        if (scoreFn) {
          env.score = s;
          s = Math.fround(scoreFn(env));
        }
        if (bias && biasO) s = Math.fround(s + bias.data[biasO[t * Nk + j]!]!);
        if (s === -Infinity) {
          mult[j] = 0;
          continue;
        }
        z[j] = s;
        if (m === m && (s !== s || s > m)) m = s; // NaN propagates
      }
      const ob = (t * Nq + i) * Dv;
      if (m === -Infinity) {
        lse.data[t * Nq + i] = -Infinity; // fully masked row: o = 0, probabilities 0
        continue;
      }
      let sum = 0;
      for (let j = 0; j < Nk; j++) if (mult[j] !== 0) sum += mult[j]! * Math.exp(z[j]! - m);
      lse.data[t * Nq + i] = Math.fround(m + Math.log(sum));
      const acc = new Float64Array(Dv);
      for (let j = 0; j < Nk; j++) {
        if (mult[j] === 0) continue;
        const p = (mult[j]! * Math.exp(z[j]! - m)) / sum;
        if (P) P[(t * Nq + i) * Nk + j] = p;
        const g = vs && vsO ? p * vs.data[vsO[t * Nk + j]!]! : p;
        const vb = vo[t * Nk * Dv + j * Dv] ?? 0;
        for (let c = 0; c < Dv; c++) acc[c] = acc[c]! + g * v.data[vb + c]!;
      }
      for (let c = 0; c < Dv; c++) out.data[ob + c] = roundTo(dt, acc[c]!);
    }
  }
  const results: HostTensor[] = [out];
  a.returns.forEach((ret, n) => {
    const shape = shapes[n + 1]!;
    if (ret.kind === "lse") {
      results.push(lse);
      return;
    }
    const res = tensor("f32", shape);
    if (ret.kind === "probs") {
      const rows = srcs[ret.rows]!;
      const Rr = rows.shape[rows.shape.length - 1] ?? 1;
      const ro = perBatch(node, rows, batch, [Rr], "probs rows");
      for (let t = 0; t < B; t++)
        for (let r = 0; r < Rr; r++) {
          const i = rows.data[ro[t * Rr + r]!]!;
          if (i < 0 || i >= Nq) {
            if (i !== -1) ctx.flag(node, `attention probs row ${i} is out of range [0, ${Nq})`);
            continue;
          }
          for (let j = 0; j < Nk; j++) res.data[(t * Rr + r) * Nk + j] = Math.fround(P![(t * Nq + i) * Nk + j]!);
        }
    } else {
      const keys = srcs[ret.keys]!;
      const ko2 = perBatch(node, keys, batch, [Nk], "mass keys");
      for (let t = 0; t < B; t++)
        for (let i = 0; i < Nq; i++) {
          let s = 0;
          for (let j = 0; j < Nk; j++) if (keys.data[ko2[t * Nk + j]!] !== 0) s += P![(t * Nq + i) * Nk + j]!;
          res.data[t * Nq + i] = Math.fround(s);
        }
    }
    results.push(res);
  });
  return results;
}
