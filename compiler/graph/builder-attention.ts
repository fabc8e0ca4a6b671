/**
 * GraphBuilder.attention: checks q, k, v and the optional per-key operands, block route and side
 * outputs, finalizes the score and mask hooks into node bodies, and builds the attention node.
 */
import { Diagnostics } from "../diagnostics/messages.ts";
import * as D from "./dim.ts";
import { dim, shapeToString, type Dim, type DimLike } from "./dim.ts";
import { isFloat, isInt, type DType } from "./dtype.ts";
import { BuildError } from "./errors.ts";
import type { AttnReturn, Node, OpArgs, TensorType } from "./ops.ts";
import { binaryType, freshVar, sCast, toExpr, type Scalar } from "./scalar.ts";
import type { SExpr, SVar } from "./expr.ts";
import type { GraphBuilder, Tensor } from "./builder.ts";
import { broadcastShapes, finalizeExpr } from "./builder-rules.ts";

export interface AttentionOptions {
  /** Logit scale; default 1/sqrt(D). */
  scale?: number;
  /** Score hook: (logit, [...batch, i, j]) => new logit. */
  score?: (s: SExpr, idx: SVar[]) => Scalar;
  /** Mask hook: ([...batch, i, j]) => bool, true keeps the key. */
  mask?: (idx: SVar[]) => Scalar;
  /** Additive per-key bias [*batch', Nk]. */
  bias?: Tensor;
  /** Per-key value gain [*batch', Nk]. */
  valueScale?: Tensor;
  /** Key-block route [*batch', Qb, K] with block sizes. */
  blocks?: { route: Tensor; blockQ: DimLike; blockK: DimLike };
  returns?: readonly ({ kind: "lse" } | { kind: "probs"; rows: Tensor } | { kind: "mass"; keys: Tensor })[];
}

/** Fused attention; returns o, or [o, ...side outputs] when `returns` is given. */
export function buildAttention(gb: GraphBuilder, q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions = {}): Tensor | Tensor[] {
  [q, k, v].forEach((t) => gb.check(t));
  for (const [t, nm] of [[q, "q"], [k, "k"], [v, "v"]] as const)
    if (t.shape.length < 2) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 2", t.shape.length, `${nm}: ${shapeToString(t.shape)}`]);
  const dt = binaryType("mul", binaryType("mul", q.dtype as DType, k.dtype as DType, "attention").operand, v.dtype as DType, "attention").operand;
  if (!isFloat(dt)) throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["attention", "a float tensor", dt]);
  const [Nq, Dq] = q.shape.slice(-2) as [Dim, Dim];
  const [Nk, Dk] = k.shape.slice(-2) as [Dim, Dim];
  const [Nv, Dv] = v.shape.slice(-2) as [Dim, Dim];
  if (Dq !== Dk) throw new BuildError(Diagnostics.Matmul_inner_dims_0_and_1_differ, [`q ${shapeToString(q.shape)}`, `k ${shapeToString(k.shape)}^T`]);
  if (Nk !== Nv) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [`k ${shapeToString(k.shape)}`, `v ${shapeToString(v.shape)}`]);
  const batch = broadcastShapes(broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2)), v.shape.slice(0, -2));
  const nb = batch.length;
  const src: Node[] = [gb.cast(q, dt), gb.cast(k, dt), gb.cast(v, dt)];
  const addSrc = (t: Tensor): number => {
    const i = src.indexOf(t);
    if (i >= 0) return i;
    src.push(t);
    return src.length - 1;
  };
  const perKey = (t: Tensor | undefined, what: string): number | undefined => {
    if (!t) return undefined;
    gb.check(t);
    const b = broadcastShapes(t.shape, [...batch, Nk]);
    if (!D.shapeEq(b, [...batch, Nk])) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [`${what} ${shapeToString(t.shape)}`, `[${[...batch, Nk].join(", ")}]`]);
    return addSrc(gb.cast(t, "f32"));
  };
  const bias = perKey(o.bias, "bias");
  const valueScale = perKey(o.valueScale, "value_scale");
  let blocks: OpArgs["attention"]["blocks"];
  if (o.blocks) {
    const r = gb.check(o.blocks.route);
    if (!isInt(r.dtype as DType)) throw new BuildError(Diagnostics.Index_must_be_integer_got_0, [r.dtype]);
    const bq = dim(o.blocks.blockQ);
    const bk = dim(o.blocks.blockK);
    const qb = D.ceilDiv(Nq, bq);
    if (r.shape.length < 2) throw new BuildError(Diagnostics.Rank_0_expected_got_1, ["at least 2", r.shape.length, shapeToString(r.shape)]);
    const want = [...batch, qb, r.shape[r.shape.length - 1]!];
    const bb = broadcastShapes(r.shape, want);
    if (!D.shapeEq(bb, want)) throw new BuildError(Diagnostics.Blocks_shape_0_for_queries_1, [shapeToString(r.shape), shapeToString(q.shape), `expected [${want.join(", ")}] (query blocks of ${bq})`]);
    blocks = { src: addSrc(gb.cast(r, "i32")), blockQ: bq, blockK: bk };
  }
  const returns: AttnReturn[] = [];
  const types: TensorType[] = [{ dtype: dt, shape: [...batch, Nq, Dv] }];
  for (const rq of o.returns ?? []) {
    if (rq.kind === "lse") {
      returns.push({ kind: "lse" });
      types.push({ dtype: "f32", shape: [...batch, Nq] });
    } else if (rq.kind === "probs") {
      const rows = gb.check(rq.rows);
      if (!isInt(rows.dtype as DType)) throw new BuildError(Diagnostics.Index_must_be_integer_got_0, [rows.dtype]);
      const R = rows.shape[rows.shape.length - 1] ?? dim(1);
      const rr = rows.shape.length === 0 ? gb.reshape(rows, [1]) : rows;
      const want = [...batch, R];
      if (!D.shapeEq(broadcastShapes(rr.shape, want), want)) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(rr.shape), shapeToString(want)]);
      returns.push({ kind: "probs", rows: addSrc(gb.cast(rr, "i32")) });
      types.push({ dtype: "f32", shape: [...batch, R, Nk] });
    } else {
      const keys = gb.check(rq.keys);
      if (keys.dtype !== "bool") throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["mass(keys:)", "bool", keys.dtype]);
      const want = [...batch, Nk];
      if (!D.shapeEq(broadcastShapes(keys.shape, want), want)) throw new BuildError(Diagnostics.Shapes_0_and_1_cannot_broadcast, [shapeToString(keys.shape), shapeToString(want)]);
      returns.push({ kind: "mass", keys: addSrc(keys) });
      types.push({ dtype: "f32", shape: [...batch, Nq] });
    }
  }
  const idxVars = () => [...batch, Nq, Nk].map(() => freshVar());
  let score: SExpr | undefined;
  let mask: SExpr | undefined;
  if (o.score) {
    const vars = idxVars();
    const e = toExpr(o.score({ k: "score", dtype: "f32" }, vars), "f32");
    if (!isFloat(e.dtype)) throw new BuildError(Diagnostics.Hook_0_must_return_1_got_2, ["score", "a float", e.dtype]);
    const fin = finalizeExpr(sCast(e, "f32"), vars, src);
    score = fin.expr;
  }
  if (o.mask) {
    const vars = idxVars();
    const e = toExpr(o.mask(vars));
    if (e.dtype !== "bool") throw new BuildError(Diagnostics.Hook_0_must_return_1_got_2, ["mask", "bool", e.dtype]);
    mask = finalizeExpr(e, vars, src).expr;
  }
  let scale: number | null = o.scale ?? null;
  if (scale === null && Dq.value !== undefined) scale = 1 / Math.sqrt(Dq.value);
  const t = gb.mk("attention", types, src, { scale, score, mask, bias, valueScale, blocks, returns });
  if (types.length === 1) return t;
  return types.map((_, i) => gb.proj(t, i));
}
