/**
 * infer-shapes — recomputes every node's dtype and symbolic shape from its operands and
 * arguments (the rules of ops.ts, as GraphBuilder applies them) and checks the stored types,
 * scalar-expression bodies and hooks against them.
 * Why: types are computed when nodes are built, so a mismatch is a bug in a pass or a hand-written
 *      IR text; checking after each pass (the pipeline's verify instrument) names the pass at fault.
 *      Symbolic dims are canonical (dim.ts), so "resolving" them is comparing Dim objects.
 * Pre:  any graph.
 * Post: the same graph; throws InternalCompilerError naming the first ill-typed node.
 */
import * as D from "../dim.ts";
import { dim, shapeToString, type Dim } from "../dim.ts";
import { isFloat, isInt, type DType } from "../dtype.ts";
import { BuildError, InternalCompilerError } from "../errors.ts";
import { broadcastShapes } from "../builder-rules.ts";
import type { SExpr } from "../expr.ts";
import { toposort, type Graph } from "../node.ts";
import { COMPARE_FNS, FLOAT_UNARY, LOGIC_FNS, type Node, type OpArgs, type TensorType } from "../ops.ts";
import { printExpr, srcDTypes } from "../print.ts";
import { describeNode, type Pass } from "./pass.ts";

class TypeErr extends Error {}
const fail = (msg: string): never => {
  throw new TypeErr(msg);
};
const need = (c: unknown, msg: () => string): void => {
  if (!c) fail(msg());
};

const t = (dtype: DType, shape: readonly Dim[]): TensorType => ({ dtype, shape });
const dt = (n: Node): DType => {
  need(n.dtype !== "tuple", () => `operand %${n.id} is a tuple`);
  return n.dtype as DType;
};
const shp = (s: readonly Dim[]) => shapeToString(s);

/** NumPy broadcasting on trailing axes (the builder's rule), failing as a verifier error. */
export function broadcast(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  try {
    return broadcastShapes(a, b);
  } catch (e) {
    if (e instanceof BuildError) fail(`shapes ${shp(a)} and ${shp(b)} do not broadcast`);
    throw e;
  }
}

const axisOk = (a: number, r: number) => need(Number.isInteger(a) && a >= 0 && a < r, () => `axis ${a} out of range for rank ${r}`);
const keep = (s: readonly Dim[], axes: readonly number[], keepdims: boolean): Dim[] =>
  keepdims ? s.map((d, i) => (axes.includes(i) ? dim(1) : d)) : s.filter((_, i) => !axes.includes(i));

/** The types a node must have given its operands and arguments. */
export function inferTypes(n: Node): readonly TensorType[] {
  const s = n.src;
  const x = s[0];
  switch (n.op) {
    case "input":
    case "iota":
    case "loop_state":
      return n.types;
    case "const": {
      const c = D.numel(n.shape).value;
      need(c === undefined || c === (n.arg as OpArgs["const"]).values.length, () => `const holds ${(n.arg as OpArgs["const"]).values.length} values for shape ${shp(n.shape)}`);
      return n.types;
    }
    case "loop_index":
      return [t("i32", [])];
    case "unary": {
      const fn = (n.arg as OpArgs["unary"]).fn;
      const d = dt(x!);
      if (fn === "not") need(d === "bool" || isInt(d), () => `not of ${d}`);
      else need(d !== "bool", () => `${fn} of bool`);
      if (FLOAT_UNARY.has(fn)) need(isFloat(d), () => `${fn} of ${d} (needs a float operand)`);
      return [t(fn === "isnan" ? "bool" : d, x!.shape)];
    }
    case "binary": {
      const fn = (n.arg as OpArgs["binary"]).fn;
      const [a, b] = [dt(s[0]!), dt(s[1]!)];
      need(a === b, () => `${fn} of ${a} and ${b} (operands must have one dtype)`);
      if (LOGIC_FNS.has(fn)) need(a === "bool" || isInt(a), () => `${fn} of ${a}`);
      else if (!(COMPARE_FNS.has(fn) && a === "bool" && (fn === "eq" || fn === "ne"))) need(a !== "bool", () => `${fn} of bool`);
      if (fn === "pow" || fn === "atan2") need(isFloat(a), () => `${fn} of ${a}`);
      return [t(COMPARE_FNS.has(fn) ? "bool" : a, broadcast(s[0]!.shape, s[1]!.shape))];
    }
    case "where": {
      need(dt(s[0]!) === "bool", () => `where condition is ${dt(s[0]!)}`);
      need(dt(s[1]!) === dt(s[2]!), () => `where branches ${dt(s[1]!)} and ${dt(s[2]!)}`);
      return [t(dt(s[1]!), broadcast(broadcast(s[0]!.shape, s[1]!.shape), s[2]!.shape))];
    }
    case "cast":
      dt(x!);
      return [t(n.dtype as DType, x!.shape)];
    case "reshape":
      need(D.numel(n.shape) === D.numel(x!.shape), () => `reshape ${shp(x!.shape)} to ${shp(n.shape)} changes the size`);
      return [t(dt(x!), n.shape)];
    case "permute": {
      const p = (n.arg as OpArgs["permute"]).perm;
      const r = x!.shape.length;
      need(p.length === r && new Set(p).size === r && p.every((a) => a >= 0 && a < r), () => `permutation [${p}] for rank ${r}`);
      return [t(dt(x!), p.map((a) => x!.shape[a]!))];
    }
    case "broadcast":
      need(D.shapeEq(broadcast(x!.shape, n.shape), n.shape), () => `${shp(x!.shape)} does not broadcast to ${shp(n.shape)}`);
      return [t(dt(x!), n.shape)];
    case "slice": {
      const a = n.arg as OpArgs["slice"];
      const r = x!.shape.length;
      need(a.starts.length === r && a.steps.length === r && n.shape.length === r, () => `slice of rank ${r} with ${a.starts.length} starts`);
      need(a.steps.every((k) => Number.isInteger(k) && k !== 0), () => `slice steps [${a.steps}]`);
      return [t(dt(x!), n.shape)];
    }
    case "concat": {
      const ax = (n.arg as OpArgs["concat"]).axis;
      const r = x!.shape.length;
      axisOk(ax, r);
      let total = dim(0);
      for (const y of s) {
        need(dt(y) === dt(x!) && y.shape.length === r && y.shape.every((d, i) => i === ax || d === x!.shape[i]), () => `concat of ${shp(x!.shape)} and ${shp(y.shape)}`);
        total = D.add(total, y.shape[ax]!);
      }
      return [t(dt(x!), x!.shape.map((d, i) => (i === ax ? total : d)))];
    }
    case "pad": {
      const a = n.arg as OpArgs["pad"];
      need(a.before.length === x!.shape.length && a.after.length === x!.shape.length, () => `pad amounts for rank ${x!.shape.length}`);
      return [t(dt(x!), x!.shape.map((d, i) => D.add(D.add(d, a.before[i]!), a.after[i]!)))];
    }
    case "regions": {
      const { sh, sw } = n.arg as OpArgs["regions"];
      need(x!.shape.length === 4, () => `regions of rank ${x!.shape.length}`);
      const [B, H, W, C] = x!.shape as [Dim, Dim, Dim, Dim];
      return [t(dt(x!), [B, dim(sh * sw), D.mul(D.div(H, sh), D.div(W, sw)), C])];
    }
    case "unregions": {
      const { sh, sw } = n.arg as OpArgs["unregions"];
      need(x!.shape.length === 4 && n.shape.length === 4, () => `unregions of rank ${x!.shape.length}`);
      const [B, R, T, C] = x!.shape as [Dim, Dim, Dim, Dim];
      const [, H, W] = n.shape as [Dim, Dim, Dim, Dim];
      need(R === dim(sh * sw) && T === D.mul(D.div(H, sh), D.div(W, sw)), () => `unregions ${shp(x!.shape)} to ${shp(n.shape)}`);
      return [t(dt(x!), [B, H, W, C])];
    }
    case "reduce": {
      const a = n.arg as OpArgs["reduce"];
      const d = dt(x!);
      a.axes.forEach((ax, i) => {
        axisOk(ax, x!.shape.length);
        need(i === 0 || ax > a.axes[i - 1]!, () => `reduce axes [${a.axes}] not sorted`);
      });
      need((a.fn === "any" || a.fn === "all") === (d === "bool"), () => `${a.fn} of ${d}`);
      return [t(a.fn === "mean" && !isFloat(d) ? "f32" : d, keep(x!.shape, a.axes, a.keepdims))];
    }
    case "argreduce": {
      const a = n.arg as OpArgs["argreduce"];
      axisOk(a.axis, x!.shape.length);
      need(dt(x!) !== "bool", () => `${a.fn} of bool`);
      return [t("i32", keep(x!.shape, [a.axis], a.keepdims))];
    }
    case "softmax":
      axisOk((n.arg as OpArgs["softmax"]).axis, x!.shape.length);
      need(isFloat(dt(x!)), () => `softmax of ${dt(x!)}`);
      return [t(dt(x!), x!.shape)];
    case "logsumexp": {
      const a = n.arg as OpArgs["logsumexp"];
      axisOk(a.axis, x!.shape.length);
      need(isFloat(dt(x!)), () => `logsumexp of ${dt(x!)}`);
      return [t(dt(x!), keep(x!.shape, [a.axis], a.keepdims))];
    }
    case "matmul":
      return [inferMatmul(s[0]!, s[1]!)];
    case "cumsum":
      axisOk((n.arg as OpArgs["cumsum"]).axis, x!.shape.length);
      need(dt(x!) !== "bool", () => "cumsum of bool");
      return [t(dt(x!), x!.shape)];
    case "topk": {
      const a = n.arg as OpArgs["topk"];
      axisOk(a.axis, x!.shape.length);
      const sh = x!.shape.map((d, i) => (i === a.axis ? a.k : d));
      return [t(dt(x!), sh), t("i32", sh)];
    }
    case "argsort":
      axisOk((n.arg as OpArgs["argsort"]).axis, x!.shape.length);
      return [t("i32", x!.shape)];
    case "compact":
      need(dt(x!) === "bool" && x!.shape.length >= 1, () => `compact of ${dt(x!)}${shp(x!.shape)}`);
      return [t("i32", x!.shape), t("i32", x!.shape.slice(0, -1))];
    case "gather": {
      const ax = (n.arg as OpArgs["gather"]).axis;
      const [y, idx] = s as [Node, Node];
      axisOk(ax, y.shape.length);
      need(dt(idx) === "i32" && idx.shape.length === ax + 1, () => `gather index ${dt(idx)}${shp(idx.shape)} on axis ${ax}`);
      const pre = broadcast(y.shape.slice(0, ax), idx.shape.slice(0, ax));
      need(D.shapeEq(pre, y.shape.slice(0, ax)), () => `gather index ${shp(idx.shape)} does not broadcast over ${shp(y.shape)}`);
      return [t(dt(y), [...pre, idx.shape[ax]!, ...y.shape.slice(ax + 1)])];
    }
    case "segment_reduce": {
      const a = n.arg as OpArgs["segment_reduce"];
      const [y, seg] = s as [Node, Node];
      axisOk(a.axis, y.shape.length);
      need(dt(seg) === "i32" && seg.shape.length === a.axis + 1, () => `segment ids ${dt(seg)}${shp(seg.shape)}`);
      const d = dt(y);
      return [t(a.fn === "mean" && !isFloat(d) ? "f32" : d, y.shape.map((v, i) => (i === a.axis ? a.num : v)))];
    }
    case "compute": {
      const body = (n.arg as OpArgs["compute"]).body;
      checkExpr(n, body, n.shape.length, false);
      return [t(body.dtype, n.shape)];
    }
    case "dwconv2d":
      need(x!.shape.length === 4 && s[1]!.shape.length === 3 && s[1]!.shape[0] === x!.shape[3], () => `dwconv2d of ${shp(x!.shape)} with ${shp(s[1]!.shape)}`);
      return [t(dt(x!), x!.shape)];
    case "layernorm":
    case "rmsnorm":
      need(isFloat(dt(x!)), () => `${n.op} of ${dt(x!)}`);
      for (const w of s.slice(1)) need(w.shape.length === 1 && w.shape[0] === x!.shape[x!.shape.length - 1], () => `${n.op} parameter ${shp(w.shape)}`);
      return [t(dt(x!), x!.shape)];
    case "l2normalize":
      axisOk((n.arg as OpArgs["l2normalize"]).axis, x!.shape.length);
      return [t(dt(x!), x!.shape)];
    case "quantize": {
      const a = n.arg as OpArgs["quantize"];
      const r = x!.shape.length;
      const ax = a.axis + r;
      need(a.axis === -1 || a.axis === -2, () => `quantize axis ${a.axis}`);
      const words = D.ceilDiv(D.mul(x!.shape[r - 1]!, a.bits), 32);
      const ss = x!.shape.filter((_, i) => i !== ax);
      return [t("u32", [...x!.shape.slice(0, -1), words]), t("f32", ss), t("f32", ss)];
    }
    case "dequantize": {
      const a = n.arg as OpArgs["dequantize"];
      need(dt(x!) === "u32", () => `dequantize of ${dt(x!)}`);
      return [t(n.dtype as DType, [...x!.shape.slice(0, -1), a.n])];
    }
    case "attention":
      return inferAttention(n as Node<"attention">);
    case "iterate": {
      const a = n.arg as OpArgs["iterate"];
      need(a.body.length === s.length, () => `iterate with ${s.length} states and ${a.body.length} results`);
      a.body.forEach((b, i) => need(b.dtype === s[i]!.dtype && D.shapeEq(b.shape, s[i]!.shape), () => `iterate state ${i} changes type`));
      return s.map((y) => t(dt(y), y.shape));
    }
    case "proj": {
      const i = (n.arg as OpArgs["proj"]).index;
      const ty = x!.types[i];
      need(x!.dtype === "tuple" && ty, () => `proj ${i} of a non-tuple or missing output`);
      return [ty!];
    }
  }
}

function inferMatmul(a: Node, b: Node): TensorType {
  const da = dt(a);
  need(da === dt(b), () => `matmul of ${da} and ${dt(b)}`);
  need(a.shape.length >= 1 && b.shape.length >= 1, () => "matmul of a scalar");
  const A = a.shape.length === 1 ? [dim(1), a.shape[0]!] : a.shape;
  const B = b.shape.length === 1 ? [b.shape[0]!, dim(1)] : b.shape;
  need(A[A.length - 1] === B[B.length - 2], () => `matmul inner dims ${shp(a.shape)} @ ${shp(b.shape)}`);
  const batch = broadcast(A.slice(0, -2), B.slice(0, -2));
  const out = [...batch, ...(a.shape.length === 1 ? [] : [A[A.length - 2]!]), ...(b.shape.length === 1 ? [] : [B[B.length - 1]!])];
  return t(da, out);
}

function inferAttention(n: Node<"attention">): TensorType[] {
  const a = n.arg;
  const [q, k, v] = n.src as [Node, Node, Node];
  need(n.src.length >= 3 && q.shape.length >= 2 && k.shape.length >= 2 && v.shape.length >= 2, () => "attention needs q, k, v of rank >= 2");
  const d = dt(q);
  need(isFloat(d) && dt(k) === d && dt(v) === d, () => `attention of ${dt(q)}, ${dt(k)}, ${dt(v)}`);
  const [Nq, Dq] = q.shape.slice(-2) as [Dim, Dim];
  const [Nk, Dk] = k.shape.slice(-2) as [Dim, Dim];
  need(Dq === Dk && v.shape[v.shape.length - 2] === Nk, () => `attention q ${shp(q.shape)}, k ${shp(k.shape)}, v ${shp(v.shape)}`);
  const batch = broadcast(broadcast(q.shape.slice(0, -2), k.shape.slice(0, -2)), v.shape.slice(0, -2));
  const nb = batch.length;
  const perKey = (i: number | undefined, what: string) => {
    if (i === undefined) return;
    const x = n.src[i];
    need(x !== undefined, () => `attention ${what} operand $${i} missing`);
    need(D.shapeEq(broadcast(x!.shape, [...batch, Nk]), [...batch, Nk]), () => `attention ${what} ${shp(x!.shape)}`);
  };
  perKey(a.bias, "bias");
  perKey(a.valueScale, "value scale");
  if (a.score) checkExpr(n, a.score, nb + 2, true, "f32");
  if (a.mask) checkExpr(n, a.mask, nb + 2, false, "bool");
  const out: TensorType[] = [t(d, [...batch, Nq, v.shape[v.shape.length - 1]!])];
  for (const r of a.returns) {
    if (r.kind === "lse" || r.kind === "mass") out.push(t("f32", [...batch, Nq]));
    else {
      const rows = n.src[r.rows]!;
      out.push(t("f32", [...batch, rows.shape[rows.shape.length - 1] ?? dim(1), Nk]));
    }
  }
  return out;
}

/** Checks a body or hook: operands, ranks, variable scoping and dtype rules. */
function checkExpr(n: Node, e: SExpr, outer: number, scoreOk: boolean, want?: DType): void {
  if (want) need(e.dtype === want, () => `hook has dtype ${e.dtype}, expected ${want}`);
  // the checks read only the operands' dtypes and ranks: a body that passed in one such context
  // passes again (passes keep untouched bodies, so the verifier after each pass mostly hits this)
  const sig = `${outer}|${scoreOk}|${n.src.map((s) => `${s.dtype}${s.shape.length}`).join(",")}`;
  let ok = checked.get(e);
  if (ok?.has(sig)) return;
  checkExprOnce(n, e, outer, scoreOk);
  if (!ok) checked.set(e, (ok = new Set()));
  ok.add(sig);
}

const checked = new WeakMap<SExpr, Set<string>>();

/** Where a check failed, for its message (built only on failure). */
const whereIn = (x: SExpr, srcT: readonly (DType | undefined)[]): string => `in ${printExpr(x, srcT)}`;

function checkExprOnce(n: Node, e: SExpr, outer: number, scoreOk: boolean): void {
  const srcT = srcDTypes(n);
  const go = (x: SExpr, bound: ReadonlySet<number>): void => {
    switch (x.k) {
      case "var":
        need(bound.has(x.id), () => `unbound variable v${x.id}`);
        return;
      case "score":
        need(scoreOk, () => "`score` outside a score hook");
        return;
      case "const":
      case "dim":
        return;
      case "load": {
        const s = n.src[x.src];
        need(s && s.dtype !== "tuple", () => `load of missing operand $${x.src} ${whereIn(x, srcT)}`);
        need(s!.dtype === x.dtype && s!.shape.length === x.idx.length, () => `load ${whereIn(x, srcT)} of ${s!.dtype}${shp(s!.shape)}`);
        for (const i of x.idx) {
          need(i.dtype === "i32", () => `index of dtype ${i.dtype} ${whereIn(x, srcT)}`);
          go(i, bound);
        }
        return;
      }
      case "unary":
        need(x.fn === "isnan" ? x.dtype === "bool" : x.dtype === x.a.dtype, () => `unary dtype ${whereIn(x, srcT)}`);
        go(x.a, bound);
        return;
      case "cast":
        go(x.a, bound);
        return;
      case "binary": {
        need(x.a.dtype === x.b.dtype, () => `operands ${x.a.dtype} and ${x.b.dtype} ${whereIn(x, srcT)}`);
        const r = COMPARE_FNS.has(x.fn) ? "bool" : x.a.dtype;
        need(x.dtype === r, () => `result ${x.dtype}, expected ${r} ${whereIn(x, srcT)}`);
        go(x.a, bound);
        go(x.b, bound);
        return;
      }
      case "select":
        need(x.c.dtype === "bool" && x.a.dtype === x.dtype && x.b.dtype === x.dtype, () => `select dtypes ${whereIn(x, srcT)}`);
        go(x.c, bound);
        go(x.a, bound);
        go(x.b, bound);
        return;
      case "reduce": {
        const inner = new Set(bound);
        for (const v of x.vars) {
          need(!bound.has(v.id), () => `reduction variable v${v.id} shadows an outer one`);
          inner.add(v.id);
        }
        if (x.fn === "argmax" || x.fn === "argmin") need(x.vars.length === 1, () => `${x.fn} over ${x.vars.length} variables`);
        if (x.cond) {
          need(x.cond.dtype === "bool", () => `reduction condition ${whereIn(x, srcT)}`);
          go(x.cond, inner);
        }
        const r: DType = x.fn === "argmax" || x.fn === "argmin" ? "i32" : x.fn === "mean" && !isFloat(x.body.dtype) ? "f32" : x.body.dtype;
        need(x.dtype === r, () => `reduction dtype ${x.dtype}, expected ${r}`);
        go(x.body, inner);
        return;
      }
    }
  };
  go(e, new Set([...Array(outer).keys()]));
}

const typesEqual = (a: readonly TensorType[], b: readonly TensorType[]): boolean =>
  a.length === b.length && a.every((x, i) => x.dtype === b[i]!.dtype && D.shapeEq(x.shape, b[i]!.shape));

/** A small id per object, for memo keys made of object identities. */
const objIds = new WeakMap<object, number>();
let nextObjId = 0;
const oid = (o: unknown): string => {
  if (typeof o !== "object" || o === null) return `=${String(o)}`;
  let i = objIds.get(o);
  if (i === undefined) objIds.set(o, (i = nextObjId++));
  return String(i);
};

/**
 * Nodes that passed, by what their check reads: op, dtype, argument object, their own types
 * array and their operands' dtypes and types arrays. Passes rebuild nodes in fresh contexts but
 * keep (share) these objects for nodes they do not change, so the verifier after each pass only
 * re-derives the nodes a pass actually made. Keyed by the types array; entries die with it.
 */
const verified = new WeakMap<readonly TensorType[], Set<string>>();
const verifyKey = (n: Node): string => `${n.op}|${n.dtype}|${oid(n.arg)}|${n.src.map((s) => `${s.dtype}:${oid(s.types)}`).join(",")}`;

/** Checks every node of g; throws InternalCompilerError (stage `verify after <pass>`) at the first bad one. */
export function verifyGraph(g: Graph, stage = "infer-shapes"): void {
  for (const n of toposort([...g.inputs, ...g.outputs])) {
    const key = verifyKey(n);
    let ok = verified.get(n.types);
    if (ok?.has(key)) continue;
    let want: readonly TensorType[];
    try {
      want = inferTypes(n);
    } catch (e) {
      if (e instanceof TypeErr) throw new InternalCompilerError(stage, `${describeNode(n)}: ${e.message}`);
      throw e;
    }
    if (!typesEqual(want, n.types))
      throw new InternalCompilerError(stage, `${describeNode(n)}: expected type ${want.map((x) => `${x.dtype}${shp(x.shape)}`).join(", ")}`);
    for (const d of n.types.flatMap((x) => x.shape))
      if (d.value !== undefined && d.value < 0) throw new InternalCompilerError(stage, `${describeNode(n)}: negative dim ${d.value}`);
    if (!ok) verified.set(n.types, (ok = new Set()));
    ok.add(key);
  }
  g.inputs.forEach((i) => {
    if (i.op !== "input") throw new InternalCompilerError(stage, `graph input ${describeNode(i)} is not an input node`);
  });
}

export const inferShapes: Pass = {
  name: "infer-shapes",
  description: "re-derives every node's dtype and symbolic shape from its operands and checks them (a verifier; dims are canonical)",
  exact: true,
  run(g) {
    verifyGraph(g, "infer-shapes");
    return g;
  },
};


