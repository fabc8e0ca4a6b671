/**
 * The generic per-element kernel: one thread per output element evaluates an index-notation body
 * (a compute node, or an op's as-compute form) and stores it, rounded to the output dtype.
 * Workgroups of 64 threads along x; the workgroup id is linearized (wid.x + wid.y * nwg.x) so the
 * runtime can fold large grids into y. A body that is one long f32 sum/max/min reduction also gets
 * a "warp-shuffle" variant (Kernel.variants) for CUDA: a warp per output, lanes strided over the
 * reduction, combined by a warp reduction; an f16/bf16 matmul a "wmma" one (matmul-wmma.ts).
 */
import { ceilDiv, dim, numel, type Dim } from "../../graph/dim.ts";
import type { SExpr } from "../../graph/expr.ts";
import { K, type KExpr, type KStmt, type Kernel, type KernelVariant } from "../ir.ts";
import { matmulWmmaVariant } from "./matmul-wmma.ts";
import type { LowerCtx } from "../registry.ts";
import type { Launch } from "../program.ts";
import { KernelScope, castK, compileExpr, dimToK, ktype, type SrcInfo } from "../sexpr-to-kernel.ts";

export const WG = 64;

/** i32 linear thread id for [n, 1, 1] dispatches. */
export function linearId(wg: number): KExpr {
  const wgId = K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0)));
  return K.cast(K.add(K.mul(wgId, K.u32(wg)), K.lid(0)), "i32");
}

/** Splits a row-major flat index into per-axis index lets; returns the index expressions. */
export function decompose(flat: KExpr, shape: readonly Dim[], sc: KernelScope, out: KStmt[], prefix = "o"): KExpr[] {
  const idx: KExpr[] = [];
  let rest = flat;
  for (let i = shape.length - 1; i >= 0; i--) {
    const name = sc.fresh(prefix);
    if (i === 0) out.push({ k: "let", name, t: "i32", init: rest, mutable: false });
    else {
      const d = dimToK(shape[i]!, sc);
      out.push({ k: "let", name, t: "i32", init: K.bin("mod", rest, d), mutable: false });
      const q = sc.fresh("q");
      out.push({ k: "let", name: q, t: "i32", init: K.bin("div", rest, d), mutable: false });
      rest = K.v(q, "i32");
    }
    idx[i] = K.v(name, "i32");
  }
  return idx;
}

export function computeKernel(cx: LowerCtx, body: SExpr): Launch {
  const node = cx.node;
  const out = cx.outputs[0]!;
  const sc = new KernelScope();
  const srcs: SrcInfo[] = cx.inputs.map((inp, i) => ({ buf: `in${i}`, dtype: inp.type.dtype, shape: inp.type.shape }));
  const stmts: KStmt[] = [];
  const total = numel(out.type.shape);
  stmts.push({ k: "let", name: "gi", t: "i32", init: linearId(WG), mutable: false });
  const inner: KStmt[] = [];
  const idx = decompose(K.v("gi", "i32"), out.type.shape, sc, inner);
  const vars = new Map<number, KExpr>(idx.map((e, i) => [i, e]));
  const extents = new Map<number, Dim>(out.type.shape.map((d, i) => [i, d]));
  const value = compileExpr(body, { sc, srcs, vars, extents, flag: "flag" }, inner);
  inner.push({ k: "store", buf: "out", index: K.v("gi", "i32"), value: castK(value, ktype(out.type.dtype)) });
  stmts.push({ k: "if", cond: K.bin("lt", K.v("gi", "i32"), dimToK(total, sc)), then: inner });
  const uniforms = [...sc.uniforms].sort();
  const scalar: Kernel = {
    name: `${node.op}_${node.id}`,
    workgroup: [WG, 1, 1],
    buffers: [
      ...srcs.map((s) => ({ name: s.buf, t: ktype(s.dtype), access: "read" as const })),
      { name: "out", t: ktype(out.type.dtype), access: "read_write" as const },
      { name: "flag", t: "u32" as const, access: "read_write" as const },
    ],
    uniforms: uniforms.map((name) => ({ name, t: "i32" as const })),
    shared: [],
    body: stmts,
    dispatch: [ceilDiv(total, WG), dim(1), dim(1)],
  };
  const warp = cx.variants === false ? undefined : warpReduceVariant(cx, body, scalar);
  const wmma = cx.variants === false ? undefined : matmulWmmaVariant(cx, scalar);
  const variants: KernelVariant[] = [
    ...(warp ? [{ kind: "warp-shuffle" as const, requires: ["warp-shuffle" as const], kernel: warp }] : []),
    ...(wmma ? [{ kind: "wmma" as const, requires: ["wmma" as const], kernel: wmma }] : []),
  ];
  const kernel: Kernel = variants.length ? { ...scalar, variants } : scalar;
  return {
    k: "launch",
    kernel,
    args: [...cx.inputs.map((i) => i.id), out.id, cx.flag],
    uniforms: uniforms.map((u) => ({ kind: "dim", name: u.slice(2) })),
    node,
  };
}

// ── warp-shuffle variant (CUDA): one warp per output element of a reduction ───────────────────

type SReduceE = Extract<SExpr, { k: "reduce" }>;

/** The body's one reduction, when it sits under unary/binary/cast nodes only (no select, no other reduction). */
function topReduce(body: SExpr): SReduceE | undefined {
  let found: SReduceE | undefined;
  let ok = true;
  const walk = (e: SExpr, top: boolean): void => {
    switch (e.k) {
      case "reduce":
        if (!top || found) ok = false;
        else found = e;
        return; // its body runs per lane as it is
      case "unary":
      case "cast":
        walk(e.a, top);
        return;
      case "binary":
        walk(e.a, top);
        walk(e.b, top);
        return;
      case "select":
        walk(e.c, false);
        walk(e.a, false);
        walk(e.b, false);
        return;
      case "load":
        e.idx.forEach((x) => walk(x, false));
        return;
      default:
        return;
    }
  };
  walk(body, true);
  return ok ? found : undefined;
}

/** e with index variable `id` replaced by `by`, and the node `target` replaced by `with_`. */
function substitute(e: SExpr, id: number, by: SExpr, target?: SExpr, with_?: SExpr): SExpr {
  const r = (x: SExpr): SExpr => substitute(x, id, by, target, with_);
  if (target && e === target) return with_!;
  switch (e.k) {
    case "var":
      return e.id === id ? by : e;
    case "load":
      return { ...e, idx: e.idx.map(r) };
    case "unary":
    case "cast":
      return { ...e, a: r(e.a) };
    case "binary":
      return { ...e, a: r(e.a), b: r(e.b) };
    case "select":
      return { ...e, c: r(e.c), a: r(e.a), b: r(e.b) };
    case "reduce":
      return { ...e, body: r(e.body), cond: e.cond ? r(e.cond) : undefined };
    default:
      return e;
  }
}

function maxVarId(e: SExpr): number {
  switch (e.k) {
    case "var":
      return e.id;
    case "load":
      return Math.max(-1, ...e.idx.map(maxVarId));
    case "unary":
    case "cast":
      return maxVarId(e.a);
    case "binary":
      return Math.max(maxVarId(e.a), maxVarId(e.b));
    case "select":
      return Math.max(maxVarId(e.c), maxVarId(e.a), maxVarId(e.b));
    case "reduce":
      return Math.max(...e.vars.map((v) => v.id), maxVarId(e.body), e.cond ? maxVarId(e.cond) : -1);
    default:
      return -1;
  }
}

/**
 * The "warp-shuffle" variant of a per-element kernel whose body is one f32 sum/max/min reduction
 * over one variable (under elementwise ops): the same workgroups and threads, but each warp walks
 * its 32 outputs one at a time, its lanes taking every 32nd element of the reduction (lane + 32·r),
 * then a warp reduction combines them and lane 0 stores. Only where it pays: a reduction extent
 * that is symbolic or ≥ 32. undefined when the body does not have that form.
 */
function warpReduceVariant(cx: LowerCtx, body: SExpr, base: Kernel): Kernel | undefined {
  const R = topReduce(body);
  if (!R || R.vars.length !== 1 || (R.fn !== "sum" && R.fn !== "max" && R.fn !== "min") || ktype(R.dtype) !== "f32") return undefined;
  const rv = R.vars[0]!;
  if (rv.extent.value !== undefined && rv.extent.value < 32) return undefined;
  const out = cx.outputs[0]!;
  const sc = new KernelScope();
  const srcs: SrcInfo[] = cx.inputs.map((inp, i) => ({ buf: `in${i}`, dtype: inp.type.dtype, shape: inp.type.shape }));
  const total = numel(out.type.shape);
  const laneId = maxVarId(body) + 1;
  const stepId = laneId + 1;
  const valueId = laneId + 2;
  const lane: SExpr = { k: "var", id: laneId, dtype: "i32" };
  const step: SExpr = { k: "var", id: stepId, dtype: "i32" };
  const j: SExpr = { k: "binary", fn: "add", a: lane, b: { k: "binary", fn: "mul", a: { k: "const", value: 32, dtype: "i32" }, b: step, dtype: "i32" }, dtype: "i32" };
  const inRange: SExpr = { k: "binary", fn: "lt", a: j, b: { k: "dim", dim: rv.extent, dtype: "i32" }, dtype: "bool" };
  const cond0 = R.cond ? substitute(R.cond, rv.id, j) : undefined;
  const strided: SReduceE = {
    ...R,
    vars: [{ id: stepId, extent: ceilDiv(rv.extent, 32) }],
    // a select, not an `and`: the condition's own loads must only run in range (they may set the flag)
    cond: cond0 ? { k: "select", c: inRange, a: cond0, b: { k: "const", value: 0, dtype: "bool" }, dtype: "bool" } : inRange,
    body: substitute(R.body, rv.id, j),
  };
  const rest = substitute(body, -1, lane, R, { k: "var", id: valueId, dtype: "i32" });

  const stmts: KStmt[] = [
    { k: "let", name: "lane", t: "i32", init: K.cast(K.bin("bitand", K.lid(0), K.u32(31)), "i32"), mutable: false },
    { k: "let", name: "wbase", t: "i32", init: K.cast(K.add(K.mul(K.add(K.wid(0), K.mul(K.wid(1), K.nwg(0))), K.u32(WG)), K.bin("bitand", K.lid(0), K.u32(~31 >>> 0))), "i32"), mutable: false },
  ];
  const each: KStmt[] = [{ k: "let", name: "gi", t: "i32", init: K.add(K.v("wbase", "i32"), K.v("t", "i32")), mutable: false }];
  const inner: KStmt[] = [];
  const idx = decompose(K.v("gi", "i32"), out.type.shape, sc, inner);
  const vars = new Map<number, KExpr>(idx.map((e, i) => [i, e]));
  vars.set(laneId, K.v("lane", "i32"));
  const extents = new Map<number, Dim>(out.type.shape.map((d, i) => [i, d]));
  const ecx = { sc, srcs, vars, extents, flag: "flag" };
  const part = compileExpr(strided, ecx, inner);
  const acc = sc.fresh("wacc");
  inner.push({ k: "let", name: acc, t: "f32", init: part, mutable: true });
  inner.push({ k: "warp_reduce", op: R.fn, value: acc, t: "f32", width: 32 });
  vars.set(valueId, K.v(acc, "f32"));
  const store: KStmt[] = [];
  const value = compileExpr(rest, ecx, store);
  store.push({ k: "store", buf: "out", index: K.v("gi", "i32"), value: castK(value, ktype(out.type.dtype)) });
  inner.push({ k: "if", cond: K.bin("eq", K.v("lane", "i32"), K.i32(0)), then: store });
  each.push({ k: "if", cond: K.bin("lt", K.v("gi", "i32"), dimToK(total, sc)), then: inner });
  stmts.push({ k: "for", var: "t", start: K.i32(0), end: K.i32(32), step: 1, body: each });
  const uniforms = [...sc.uniforms].sort();
  const kernel: Kernel = { ...base, uniforms: uniforms.map((name) => ({ name, t: "i32" as const })), body: stmts };
  // the launch is shared: same buffers and uniforms as the scalar kernel, or no variant
  return JSON.stringify(kernel.uniforms) === JSON.stringify(base.uniforms) ? kernel : undefined;
}
