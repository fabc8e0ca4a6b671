/**
 * as-compute: the index-notation form of every graph op that computes each output element
 * independently (elementwise, layout, reductions, contractions, gathers, segmented reductions,
 * normalizations, depthwise conv). The body is an SExpr over the node's own src list, with output
 * variables v0..v{r-1}; lowering turns it into a one-thread-per-element kernel, and fusion can
 * substitute one body into another. Ops that need cross-element algorithms (sorting, scans,
 * compaction, quantization, attention, loops) return undefined and get dedicated kernels.
 */
import * as D from "../graph/dim.ts";
import { dim, type Dim } from "../graph/dim.ts";
import { isFloat, type DType } from "../graph/dtype.ts";
import type { SExpr } from "../graph/expr.ts";
import type { BinaryFn, Node, OpArgs, ReduceFn, UnaryFn } from "../graph/ops.ts";

const V = (id: number): SExpr => ({ k: "var", id, dtype: "i32" });
const I = (v: number): SExpr => ({ k: "const", value: v, dtype: "i32" });
const C = (v: number, dtype: DType): SExpr => ({ k: "const", value: v, dtype });
const Dm = (d: Dim): SExpr => (d.value !== undefined ? I(d.value) : { k: "dim", dim: d, dtype: "i32" });
const bin = (fn: BinaryFn, a: SExpr, b: SExpr, dtype: DType = a.dtype): SExpr => ({ k: "binary", fn, a, b, dtype });
const un = (fn: UnaryFn, a: SExpr, dtype: DType = a.dtype): SExpr => ({ k: "unary", fn, a, dtype });
const add = (a: SExpr, b: SExpr) => bin("add", a, b);
const sub = (a: SExpr, b: SExpr) => bin("sub", a, b);
const mul = (a: SExpr, b: SExpr) => bin("mul", a, b);
const sel = (c: SExpr, a: SExpr, b: SExpr): SExpr => ({ k: "select", c, a, b, dtype: a.dtype });
const cast = (a: SExpr, dtype: DType): SExpr => (a.dtype === dtype ? a : { k: "cast", a, dtype });
const load = (src: number, idx: SExpr[], dtype: DType): SExpr => ({ k: "load", src, idx, dtype });
const and = (a: SExpr, b: SExpr) => bin("and", a, b, "bool");
const inRange = (i: SExpr, n: Dim) => and(bin("ge", i, I(0), "bool"), bin("lt", i, Dm(n), "bool"));
/** An index that reads "nothing" (0, no error flag) when cond is false. */
const guard = (cond: SExpr, i: SExpr) => sel(cond, i, I(-1));

const dt = (n: Node): DType => n.dtype as DType;

/** Reduction node builder with fresh variable ids starting at `next`. */
class Vars {
  constructor(public next: number) {}
  take(): number {
    return this.next++;
  }
}

function reduce(fn: ReduceFn | "argmax" | "argmin", vars: { id: number; extent: Dim }[], body: SExpr, cond?: SExpr): SExpr {
  const dtype: DType = fn === "argmax" || fn === "argmin" ? "i32" : fn === "mean" && !isFloat(body.dtype) ? "f32" : body.dtype;
  return { k: "reduce", fn, vars, cond, body, dtype };
}

/** Index list of `src` (shape s) broadcast into an output indexed by `out` (right-aligned). */
function bcastIdx(s: readonly Dim[], outShape: readonly Dim[], out: readonly SExpr[]): SExpr[] {
  const off = outShape.length - s.length;
  return s.map((d, i) => (d.value === 1 && outShape[i + off]!.value !== 1 ? I(0) : out[i + off]!));
}

/** Row-major unflatten of a flat index into `shape`. */
function unflatten(flat: SExpr, shape: readonly Dim[]): SExpr[] {
  const out: SExpr[] = [];
  let stride: Dim = dim(1);
  for (let i = shape.length - 1; i >= 0; i--) {
    const q = stride.value === 1 ? flat : bin("div", flat, Dm(stride));
    out[i] = i === 0 ? q : bin("mod", q, Dm(shape[i]!));
    stride = D.mul(stride, shape[i]!);
  }
  return out;
}

function flatten(idx: readonly SExpr[], shape: readonly Dim[]): SExpr {
  let f: SExpr = I(0);
  idx.forEach((x, i) => {
    f = i === 0 ? x : add(mul(f, Dm(shape[i]!)), x);
  });
  return f;
}

/** The compute body of `n`, or undefined when the op needs a dedicated kernel. */
export function asCompute(n: Node): SExpr | undefined {
  // nodes are immutable, so their body is too (up to the dims generation: a new exact division can
  // simplify dims further); one body object per node lets memos keyed by body (exprKey, may-flag) hit
  const gen = D.dimGeneration();
  const hit = bodies.get(n);
  if (hit && hit.gen === gen) return hit.body;
  const body = buildBody(n);
  bodies.set(n, { gen, body });
  return body;
}

const bodies = new WeakMap<Node, { gen: number; body: SExpr | undefined }>();

function buildBody(n: Node): SExpr | undefined {
  const r = n.shape.length;
  const out = [...Array(r).keys()].map(V);
  const vs = new Vars(r);
  const s = n.src;
  const ld = (k: number, idx: SExpr[]) => load(k, idx, dt(s[k]!));
  const ldB = (k: number) => ld(k, bcastIdx(s[k]!.shape, n.shape, out));
  switch (n.op) {
    case "unary":
      return unaryBody((n.arg as OpArgs["unary"]).fn, ldB(0), dt(n));
    case "binary":
      return bin((n.arg as OpArgs["binary"]).fn, ldB(0), ldB(1), dt(n));
    case "where":
      return sel(ldB(0), ldB(1), ldB(2));
    case "cast":
      return cast(ldB(0), dt(n));
    case "broadcast":
      return ldB(0);
    case "const": {
      const vals = (n.arg as OpArgs["const"]).values;
      return vals.length === 1 ? C(vals[0]!, dt(n)) : undefined;
    }
    case "iota":
      return cast(out[(n.arg as OpArgs["iota"]).axis]!, dt(n));
    case "reshape":
      return ld(0, unflatten(flatten(out, n.shape), s[0]!.shape));
    case "permute": {
      const perm = (n.arg as OpArgs["permute"]).perm;
      const idx: SExpr[] = [];
      perm.forEach((p, k) => (idx[p] = out[k]!));
      return ld(0, idx);
    }
    case "slice": {
      const a = n.arg as OpArgs["slice"];
      return ld(0, out.map((v, i) => add(Dm(a.starts[i]!), a.steps[i] === 1 ? v : mul(v, I(a.steps[i]!)))));
    }
    case "pad": {
      const a = n.arg as OpArgs["pad"];
      const idx = out.map((v, i) => sub(v, Dm(a.before[i]!)));
      const ok = idx.map((x, i) => inRange(x, s[0]!.shape[i]!)).reduce(and);
      return ok ? sel(ok, ld(0, idx.map((x) => guard(ok, x))), C(a.value, dt(n))) : ld(0, idx);
    }
    case "concat": {
      const ax = (n.arg as OpArgs["concat"]).axis;
      let offset: Dim = dim(0);
      let body: SExpr | undefined;
      const parts = s.map((t, k) => {
        const o = offset;
        offset = D.add(offset, t.shape[ax]!);
        return { k, o, n: t.shape[ax]! };
      });
      for (let i = parts.length - 1; i >= 0; i--) {
        const p = parts[i]!;
        const local = sub(out[ax]!, Dm(p.o));
        const inside = and(bin("ge", local, I(0), "bool"), bin("lt", local, Dm(p.n), "bool"));
        const v = ld(p.k, out.map((x, a) => (a === ax ? guard(inside, local) : x)));
        body = body ? sel(inside, v, body) : v;
      }
      return body;
    }
    case "regions": {
      const { sh, sw } = n.arg as OpArgs["regions"];
      const [, H, W] = s[0]!.shape as [Dim, Dim, Dim, Dim];
      const h = D.div(H, sh);
      const w = D.div(W, sw);
      const [b, rr, t, c] = out as [SExpr, SExpr, SExpr, SExpr];
      const y = add(mul(bin("div", rr, I(sw)), Dm(h)), bin("div", t, Dm(w)));
      const x = add(mul(bin("mod", rr, I(sw)), Dm(w)), bin("mod", t, Dm(w)));
      return ld(0, [b, y, x, c]);
    }
    case "unregions": {
      const { sh, sw } = n.arg as OpArgs["unregions"];
      const [, H, W] = n.shape as [Dim, Dim, Dim, Dim];
      const h = D.div(H, sh);
      const w = D.div(W, sw);
      const [b, y, x, c] = out as [SExpr, SExpr, SExpr, SExpr];
      const rr = add(mul(bin("div", y, Dm(h)), I(sw)), bin("div", x, Dm(w)));
      const t = add(mul(bin("mod", y, Dm(h)), Dm(w)), bin("mod", x, Dm(w)));
      return ld(0, [b, rr, t, c]);
    }
    case "reduce": {
      const a = n.arg as OpArgs["reduce"];
      const xs = s[0]!.shape;
      const rv = a.axes.map((ax) => ({ id: vs.take(), extent: xs[ax]! }));
      let o = 0;
      const idx = xs.map((_, i) => {
        const j = a.axes.indexOf(i);
        if (j >= 0) {
          if (a.keepdims) o++;
          return V(rv[j]!.id);
        }
        return out[o++]!;
      });
      return reduce(a.fn, rv, ld(0, idx));
    }
    case "argreduce": {
      const a = n.arg as OpArgs["argreduce"];
      const xs = s[0]!.shape;
      const rv = { id: vs.take(), extent: xs[a.axis]! };
      const idx = xs.map((_, i) => (i === a.axis ? V(rv.id) : out[i < a.axis || a.keepdims ? i : i - 1]!));
      return reduce(a.fn, [rv], ld(0, idx));
    }
    case "softmax":
    case "logsumexp": {
      const axis = (n.arg as { axis: number }).axis;
      const keep = n.op === "softmax" || (n.arg as OpArgs["logsumexp"]).keepdims;
      const xs = s[0]!.shape;
      const rowIdx = (v: SExpr) => xs.map((_, i) => (i === axis ? v : out[i < axis || keep ? i : i - 1]!));
      const m1 = { id: vs.take(), extent: xs[axis]! };
      const m2 = { id: vs.take(), extent: xs[axis]! };
      const f = dt(n);
      const max = reduce("max", [m1], cast(ld(0, rowIdx(V(m1.id))), "f32"));
      const dead = bin("eq", max, C(-Infinity, "f32"), "bool");
      const safeMax = sel(dead, C(0, "f32"), max);
      const sum = reduce("sum", [m2], un("exp", sub(cast(ld(0, rowIdx(V(m2.id))), "f32"), safeMax)));
      if (n.op === "logsumexp") return cast(sel(dead, C(-Infinity, "f32"), add(max, un("log", sum))), f);
      const e = un("exp", sub(cast(ld(0, rowIdx(out[axis]!)), "f32"), safeMax));
      return cast(sel(dead, C(0, "f32"), bin("div", e, sum)), f);
    }
    case "matmul": {
      const [A, B] = s as [Node, Node];
      const K = A.shape[A.shape.length - 1]!;
      const kv = { id: vs.take(), extent: K };
      const bo = out.slice(0, -2);
      const i = out[r - 2]!;
      const j = out[r - 1]!;
      const ai = [...bcastIdx(A.shape.slice(0, -2), n.shape.slice(0, -2), bo), i, V(kv.id)];
      const bi = [...bcastIdx(B.shape.slice(0, -2), n.shape.slice(0, -2), bo), V(kv.id), j];
      const f: DType = isFloat(dt(n)) ? "f32" : dt(n);
      return cast(reduce("sum", [kv], mul(cast(ld(0, ai), f), cast(ld(1, bi), f))), dt(n));
    }
    case "gather": {
      const ax = (n.arg as OpArgs["gather"]).axis;
      const [x, ix] = s as [Node, Node];
      const pre = out.slice(0, ax);
      const j = out[ax]!;
      const iidx = [...bcastIdx(ix.shape.slice(0, ax), n.shape.slice(0, ax), pre), j];
      void x;
      return ld(0, [...pre, load(1, iidx, "i32"), ...out.slice(ax + 1)]);
    }
    case "segment_reduce":
      return flagBadSegments(n, segmentBody(n, out, vs), out, vs);
    case "dwconv2d": {
      const [x, w] = s as [Node, Node];
      const [, H, W] = x.shape as [Dim, Dim, Dim, Dim];
      const [, kh, kw] = w.shape as [Dim, Dim, Dim];
      if (kh.value === undefined || kw.value === undefined) return undefined;
      const dy = { id: vs.take(), extent: kh };
      const dx = { id: vs.take(), extent: kw };
      const [b, y, xx, c] = out as [SExpr, SExpr, SExpr, SExpr];
      const yy = sub(add(y, V(dy.id)), I(Math.floor(kh.value / 2)));
      const xq = sub(add(xx, V(dx.id)), I(Math.floor(kw.value / 2)));
      const ok = and(inRange(yy, H), inRange(xq, W));
      const f: DType = "f32";
      let body = reduce("sum", [dy, dx], mul(cast(ld(0, [b, guard(ok, yy), guard(ok, xq), c]), f), cast(ld(1, [c, V(dy.id), V(dx.id)]), f)));
      if ((n.arg as OpArgs["dwconv2d"]).hasBias) body = add(body, cast(ld(2, [c]), f));
      return cast(body, dt(n));
    }
    case "l2normalize":
    case "layernorm":
    case "rmsnorm":
      return normBody(n, out, vs);
    default:
      return undefined;
  }
}

/** segment_reduce: out[..., j, ...] = fn over the i with seg[..., i] == j (as-compute form). */
function segmentBody(n: Node, out: SExpr[], vs: Vars): SExpr {
  const s = n.src;
  const dt = (m: Node): DType => m.dtype as DType;
  const ld = (k: number, idx: SExpr[]) => load(k, idx, dt(s[k]!));
  const a = n.arg as OpArgs["segment_reduce"];
  const [x, seg] = s as [Node, Node];
  const iv = { id: vs.take(), extent: x.shape[a.axis]! };
  const xi = out.map((v, k) => (k === a.axis ? V(iv.id) : v));
  const si = [...bcastIdx(seg.shape.slice(0, a.axis), x.shape.slice(0, a.axis), out.slice(0, a.axis)), V(iv.id)];
  const cond = bin("eq", load(1, si, "i32"), out[a.axis]!, "bool");
  const f = dt(n);
  if (a.fn === "mean") {
    const sum = reduce("sum", [iv], cast(ld(0, xi), f === "f16" || f === "bf16" ? "f32" : f), cond);
    const iv2 = { id: vs.take(), extent: x.shape[a.axis]! };
    const si2 = [...si.slice(0, -1), V(iv2.id)];
    const cnt = reduce("sum", [iv2], I(1), bin("eq", load(1, si2, "i32"), out[a.axis]!, "bool"));
    return cast(sel(bin("eq", cnt, I(0), "bool"), C(0, sum.dtype), bin("div", sum, cast(cnt, sum.dtype))), f);
  }
  const body = ld(0, xi);
  const red = reduce(a.fn, [iv], isFloat(f) ? cast(body, "f32") : body, cond);
  if ((a.fn === "max" || a.fn === "min") && !isFloat(f)) {
    // integer empty segment → 0
    const iv2 = { id: vs.take(), extent: x.shape[a.axis]! };
    const any = reduce("any", [iv2], bin("eq", load(1, [...si.slice(0, -1), V(iv2.id)], "i32"), out[a.axis]!, "bool"));
    return sel(any, red, C(0, f));
  }
  return cast(red, f);
}

/**
 * Segment ids outside [0, num) other than -1 set the error flag (ops.ts): when a row holds one,
 * the element also reads x at index -2 (out of range: reads 0 and flags). Only that branch of the
 * select runs, so valid rows never flag.
 */
function flagBadSegments(n: Node, body: SExpr, out: SExpr[], vs: Vars): SExpr {
  const a = n.arg as OpArgs["segment_reduce"];
  const [x, seg] = n.src as [Node, Node];
  const iv = { id: vs.take(), extent: x.shape[a.axis]! };
  const si = [...bcastIdx(seg.shape.slice(0, a.axis), x.shape.slice(0, a.axis), out.slice(0, a.axis)), V(iv.id)];
  const id = load(1, si, "i32");
  const bad = reduce("any", [iv], bin("or", bin("lt", id, I(-1), "bool"), bin("ge", id, Dm(a.num), "bool"), "bool"));
  const probe = load(0, out.map((v, k) => (k === a.axis ? I(-2) : v)), n.src[0]!.dtype as DType);
  return sel(bad, bin("add", body, cast(probe, body.dtype)), body);
}

function unaryBody(fn: UnaryFn, x: SExpr, t: DType): SExpr {
  return un(fn, x, t);
}

function normBody(n: Node, out: SExpr[], vs: Vars): SExpr {
  const x = n.src[0]!;
  const r = x.shape.length;
  const f = dt(n);
  const lastOf = (axis: number) => {
    const id = vs.take();
    return { v: { id, extent: x.shape[axis]! }, idx: out.map((o, i) => (i === axis ? V(id) : o)) };
  };
  const xe = (idx: SExpr[]) => cast(load(0, idx, dt(x)), "f32");
  if (n.op === "l2normalize") {
    const a = n.arg as OpArgs["l2normalize"];
    const { v, idx } = lastOf(a.axis);
    const ss = reduce("sum", [v], mul(xe(idx), xe(idx)));
    return cast(bin("div", xe(out), bin("max", un("sqrt", ss), C(a.eps, "f32"))), f);
  }
  const C_ = x.shape[r - 1]!;
  const cf = cast(Dm(C_), "f32");
  if (n.op === "rmsnorm") {
    const a = n.arg as OpArgs["rmsnorm"];
    const { v, idx } = lastOf(r - 1);
    const ms = bin("div", reduce("sum", [v], mul(xe(idx), xe(idx))), cf);
    let y = bin("div", xe(out), un("sqrt", add(ms, C(a.eps, "f32"))));
    if (a.hasWeight) y = mul(y, cast(load(1, [out[r - 1]!], dt(n.src[1]!)), "f32"));
    return cast(y, f);
  }
  const a = n.arg as OpArgs["layernorm"];
  const m = lastOf(r - 1);
  const mean = bin("div", reduce("sum", [m.v], xe(m.idx)), cf);
  const q = lastOf(r - 1);
  const q2 = lastOf(r - 1);
  const mean2 = bin("div", reduce("sum", [q2.v], xe(q2.idx)), cf);
  const varr = bin("div", reduce("sum", [q.v], mul(sub(xe(q.idx), mean2), sub(xe(q.idx), mean2))), cf);
  let y = bin("div", sub(xe(out), mean), un("sqrt", add(varr, C(a.eps, "f32"))));
  let k = 1;
  if (a.hasWeight) y = mul(y, cast(load(k++, [out[r - 1]!], dt(n.src[1]!)), "f32"));
  if (a.hasBias) y = add(y, cast(load(k, [out[r - 1]!], dt(n.src[k]!)), "f32"));
  return cast(y, f);
}
