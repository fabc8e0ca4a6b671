/**
 * Compiles graph-level scalar expressions (expr.ts: compute bodies, attention hooks) to kernel IR,
 * emitting statements for reductions (loops with accumulators) and bounds-checked loads. Dims become
 * arithmetic over i32 uniforms `d_<name>` (one per dim variable).
 */
import * as D from "../graph/dim.ts";
import type { Dim } from "../graph/dim.ts";
import type { DType } from "../graph/dtype.ts";
import { exprKey, forEachExpr, type SExpr } from "../graph/expr.ts";
import type { BinaryFn, UnaryFn } from "../graph/ops.ts";
import { K, type KExpr, type KStmt, type KType } from "./ir.ts";
import { roundBF16, roundF16 } from "../util/float16.ts";

/** Graph dtype → kernel type (bf16 has no kernel type on WGSL; lowering rejects it earlier). */
export function ktype(t: DType): KType {
  switch (t) {
    case "f32":
      return "f32";
    case "bf16":
      return "bf16";
    case "f16":
      return "f16";
    default:
      return t;
  }
}

/** Names a generated local must not take: WGSL and CUDA type names (e.g. prefix "i" + 32). */
const RESERVED: ReadonlySet<string> = new Set(["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "f32", "f64", "vec2", "vec3", "vec4", "mat2", "mat3", "mat4"]);

/** Per-kernel state while emitting code: fresh names and the uniforms a kernel reads. */
export class KernelScope {
  private n = 0;
  readonly uniforms = new Set<string>();
  /** dimToK's results in this kernel (kernel expressions are immutable; the uniforms are already registered). */
  readonly dims = new Map<Dim, KExpr>();
  /** stridesK's results in this kernel, by shape array. */
  readonly strides = new Map<readonly Dim[], readonly KExpr[]>();
  fresh(prefix: string): string {
    let name = `${prefix}${this.n++}`;
    while (RESERVED.has(name)) name = `${prefix}${this.n++}`;
    return name;
  }
  dimUniform(name: string): KExpr {
    const u = `d_${name}`;
    this.uniforms.add(u);
    return K.u(u, "i32");
  }
}

/** A symbolic dim as i32 kernel arithmetic over dim uniforms. */
export function dimToK(d: Dim, sc: KernelScope): KExpr {
  let k = sc.dims.get(d);
  if (k === undefined) sc.dims.set(d, (k = dimExpr(d, sc)));
  return k;
}

function dimExpr(d: Dim, sc: KernelScope): KExpr {
  const v = d.value;
  if (v !== undefined) return K.i32(v);
  let acc: KExpr | undefined;
  for (const { coef, atoms } of D.dimTerms(d)) {
    let term: KExpr = K.i32(coef);
    for (const a of atoms) term = K.mul(term, a.kind === "var" ? sc.dimUniform(a.name) : K.bin(a.kind, dimToK(a.a, sc), dimToK(a.b, sc)));
    acc = acc ? K.add(acc, term) : term;
  }
  return acc ?? K.i32(0);
}

/** Row-major strides of a shape as kernel expressions. */
export function stridesK(shape: readonly Dim[], sc: KernelScope): KExpr[] {
  let k = sc.strides.get(shape);
  if (k === undefined) sc.strides.set(shape, (k = stridesOf(shape, sc)));
  return [...k];
}

function stridesOf(shape: readonly Dim[], sc: KernelScope): KExpr[] {
  const out: KExpr[] = [];
  let acc: KExpr = K.i32(1);
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = acc;
    acc = K.mul(acc, dimToK(shape[i]!, sc));
  }
  return out;
}

/** How a compute body reaches its inputs: buffer name, dtype and shape per src position. */
export interface SrcInfo {
  readonly buf: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export interface ExprCtx {
  readonly sc: KernelScope;
  readonly srcs: readonly SrcInfo[];
  /** Kernel expressions of index variables by id. */
  readonly vars: Map<number, KExpr>;
  /** Extents of index variables by id (to skip provably in-range bounds checks). */
  readonly extents: Map<number, Dim>;
  /** The logit in a score hook. */
  readonly score?: KExpr;
  /** Name of the u32 error-flag buffer, when out-of-range loads must set it. */
  readonly flag?: string;
}

/** Compiles e to a kernel expression, pushing any statements it needs (loops, guards) onto out. */
export function compileExpr(e: SExpr, cx: ExprCtx, out: KStmt[]): KExpr {
  switch (e.k) {
    case "var": {
      const v = cx.vars.get(e.id);
      if (!v) throw new Error(`unbound index variable v${e.id}`);
      return v;
    }
    case "score":
      if (!cx.score) throw new Error("score outside a score hook");
      return cx.score;
    case "const": {
      const t = ktype(e.dtype);
      return { k: "const", v: t === "f16" ? roundF16(e.value) : t === "bf16" ? roundBF16(e.value) : e.value, t };
    }
    case "dim":
      return dimToK(e.dim, cx.sc);
    case "load":
      return emitLoad(e, cx, out);
    case "unary":
      return narrow(unaryK(e.fn, compileExpr(e.a, cx, out), ktype(e.dtype)));
    case "binary":
      return narrow(binaryK(e.fn, compileExpr(e.a, cx, out), compileExpr(e.b, cx, out)));
    case "select": {
      // Only the chosen branch runs (a guarded load must not set the error flag).
      const c = compileExpr(e.c, cx, out);
      const sa: KStmt[] = nested(out);
      const sb: KStmt[] = nested(out);
      const a = compileExpr(e.a, cx, sa);
      const b = compileExpr(e.b, cx, sb);
      if (sa.length === 0 && sb.length === 0) return K.sel(c, a, b);
      const r = cx.sc.fresh("sel");
      out.push({ k: "let", name: r, t: a.t, init: { k: "const", v: 0, t: a.t }, mutable: true });
      out.push({ k: "if", cond: c, then: [...sa, { k: "assign", name: r, value: a }], else: [...sb, { k: "assign", name: r, value: b }] });
      return K.v(r, a.t);
    }
    case "cast":
      return castK(compileExpr(e.a, cx, out), ktype(e.dtype));
    case "reduce": {
      // a reduction repeated in one body (an inlined producer read at equal indices, e.g. by
      // elu's select) runs once: later copies reuse the value where the first one is in scope
      const key = reduceKey(e, cx);
      const hit = memoGet(out, key);
      if (hit) return hit;
      const r = narrow(emitReduce(e, cx, out));
      memoOf(out).set(key, r);
      return r;
    }
  }
}

/** Statement lists opened inside another (select branches, loop bodies): where a value computed in the parent is still in scope. */
const parents = new WeakMap<KStmt[], KStmt[]>();
const memos = new WeakMap<KStmt[], Map<string, KExpr>>();
const nested = (parent: KStmt[]): KStmt[] => {
  const l: KStmt[] = [];
  parents.set(l, parent);
  return l;
};
const memoOf = (l: KStmt[]): Map<string, KExpr> => {
  let m = memos.get(l);
  if (!m) memos.set(l, (m = new Map()));
  return m;
};
function memoGet(out: KStmt[], key: string): KExpr | undefined {
  for (let l: KStmt[] | undefined = out; l; l = parents.get(l)) {
    const hit = memos.get(l)?.get(key);
    if (hit) return hit;
  }
  return undefined;
}

/** A reduction up to the names of its own variables, with the kernel values of its free variables. */
function reduceKey(e: SExpr, cx: ExprCtx): string {
  const bound = new Set<number>();
  const free = new Set<number>();
  let score = false;
  forEachExpr(e, (x) => {
    if (x.k === "reduce") for (const v of x.vars) bound.add(v.id);
    else if (x.k === "var" && !bound.has(x.id)) free.add(x.id);
    else if (x.k === "score") score = true;
  });
  const ren = new Map<number, number>();
  let next = 0;
  const canon = (x: SExpr): string => {
    switch (x.k) {
      case "var":
        return ren.has(x.id) ? `r${ren.get(x.id)}` : `v${x.id}`;
      case "load":
        return `$${x.src}[${x.idx.map(canon).join(",")}]`;
      case "unary":
      case "cast":
        return `${x.k === "cast" ? "cast" : x.fn}<${x.dtype}>(${canon(x.a)})`;
      case "binary":
        return `${x.fn}<${x.dtype}>(${canon(x.a)},${canon(x.b)})`;
      case "select":
        return `sel<${x.dtype}>(${canon(x.c)},${canon(x.a)},${canon(x.b)})`;
      case "reduce": {
        for (const v of x.vars) ren.set(v.id, next++);
        const vs = x.vars.map((v) => `r${ren.get(v.id)}<${v.extent.toString()}`).join(",");
        return `${x.fn}<${x.dtype}>[${vs}|${x.cond ? canon(x.cond) : ""}](${canon(x.body)})`;
      }
      default:
        return exprKey(x) + `<${x.dtype}>`;
    }
  };
  const env = [...free].sort((a, b) => a - b).map((id) => `v${id}=${JSON.stringify(cx.vars.get(id))}`);
  return `${canon(e)} ${env.join(" ")}${score ? ` score=${JSON.stringify(cx.score)}` : ""}`;
}

/**
 * f16/bf16 values live in f32 registers, so an op whose result is f16/bf16 computes in f32 and
 * must round once (ops.ts: "rounded to the storage dtype once per op"): retype the op as f32 and
 * cast it to the narrow type (the printers' rounding helper).
 */
export function narrow(x: KExpr): KExpr {
  if ((x.t !== "f16" && x.t !== "bf16") || x.k === "const" || x.k === "load" || x.k === "var" || x.k === "uniform" || x.k === "sload" || x.k === "cast")
    return x;
  return { k: "cast", a: { ...x, t: "f32" } as KExpr, t: x.t };
}

export function castK(a: KExpr, t: KType): KExpr {
  if (a.t === t) return a;
  if (t === "bool") return K.bin("ne", a, { k: "const", v: 0, t: a.t });
  if ((t === "i32" || t === "u32") && F(a.t)) {
    // float → int truncates toward zero, NaN → 0, saturating (ops.ts cast)
    const nan = K.un("isnan", K.cast(a, "f32"));
    const lo = t === "i32" ? -2147483648 : 0;
    const hi = t === "i32" ? 2147483520 : 4294967040;
    const clamped = K.bin("min", K.bin("max", K.cast(a, "f32"), K.f32(lo)), K.f32(hi));
    // hi is the largest f32 below 2^31 (2^32); at or above 2^31 (2^32) saturate to the int maximum
    const top = K.bin("ge", K.cast(a, "f32"), K.f32(t === "i32" ? 2147483648 : 4294967296));
    return K.sel(nan, { k: "const", v: 0, t }, K.sel(top, { k: "const", v: t === "i32" ? 2147483647 : 4294967295, t }, { k: "cast", a: clamped, t }));
  }
  return { k: "cast", a, t };
}

const F = (t: KType) => t === "f32" || t === "f16" || t === "bf16";

export function unaryK(fn: UnaryFn, a: KExpr, t: KType): KExpr {
  const one = { k: "const", v: 1, t: a.t } as const;
  switch (fn) {
    case "sigmoid":
      return K.bin("div", one, K.add(one, K.un("exp", K.un("neg", a))));
    case "relu":
      // max(x, 0): NaN-propagating on floats (relu(NaN) = NaN)
      return K.bin("max", a, { k: "const", v: 0, t: a.t });
    case "gelu": {
      // 0.5·x·(1 + erf(x/√2)); gelu(-inf) = 0, not -inf·0 (ops.ts)
      const g = K.mul(K.mul({ k: "const", v: 0.5, t: a.t }, a), K.add(one, K.un("erf", K.mul(a, { k: "const", v: Math.SQRT1_2, t: a.t }))));
      return K.sel(K.bin("eq", a, { k: "const", v: -Infinity, t: a.t }), { k: "const", v: 0, t: a.t }, g);
    }
    case "recip":
      return K.bin("div", one, a);
    case "abs":
    case "neg":
      // u32: abs is the identity, neg wraps (2^32 - x)
      return F(a.t) || a.t === "i32" ? K.un(fn, a) : fn === "neg" ? { k: "binary", op: "sub", a: K.u32(0), b: a, t: "u32" } : a;
    case "sign":
      if (!F(a.t)) return K.sel(K.bin("gt", a, { k: "const", v: 0, t: a.t }), one, K.sel(K.bin("lt", a, { k: "const", v: 0, t: a.t }), { k: "const", v: -1, t: a.t }, { k: "const", v: 0, t: a.t }));
      return K.un("sign", a);
    case "floor":
    case "ceil":
    case "round":
      return F(a.t) ? K.un(fn, a) : a;
    case "isnan":
      return F(a.t) ? K.un("isnan", a, "bool") : K.bool(false);
    case "not":
      return K.un("not", a, a.t);
    default:
      return { k: "unary", op: fn, a, t };
  }
}

export function binaryK(fn: BinaryFn, a: KExpr, b: KExpr): KExpr {
  switch (fn) {
    case "and":
    case "or":
    case "xor":
      return { k: "binary", op: fn, a, b, t: a.t };
    default:
      return K.bin(fn, a, b);
  }
}

/** A load with a bounds check: out-of-range reads 0; unless the index is -1, also sets the flag. */
function emitLoad(e: Extract<SExpr, { k: "load" }>, cx: ExprCtx, out: KStmt[]): KExpr {
  const src = cx.srcs[e.src]!;
  const t = ktype(src.dtype);
  const strides = stridesK(src.shape, cx.sc);
  let flat: KExpr = K.i32(0);
  let inb: KExpr | undefined;
  let none: KExpr | undefined;
  e.idx.forEach((ix, a) => {
    const ik = compileExpr(ix, cx, out);
    const name = cx.sc.fresh("ix");
    out.push({ k: "let", name, t: "i32", init: ik, mutable: false });
    const iv = K.v(name, "i32");
    flat = K.add(flat, K.mul(iv, strides[a]!));
    if (!provablyInRange(ix, src.shape[a]!, cx)) {
      const ok = K.bin("and", K.bin("ge", iv, K.i32(0)), K.bin("lt", iv, dimToK(src.shape[a]!, cx.sc)));
      inb = inb ? K.bin("and", inb, ok) : ok;
      const isNone = K.bin("eq", iv, K.i32(-1));
      none = none ? K.bin("or", none, isNone) : isNone;
    }
  });
  const zero: KExpr = { k: "const", v: 0, t };
  if (!inb) return K.load(src.buf, flat, t);
  const okName = cx.sc.fresh("ok");
  out.push({ k: "let", name: okName, t: "bool", init: inb, mutable: false });
  const ok = K.v(okName, "bool");
  if (cx.flag && none) out.push({ k: "if", cond: K.bin("and", K.un("not", ok, "bool"), K.un("not", none, "bool")), then: [{ k: "store", buf: cx.flag, index: K.i32(0), value: K.u32(1) }] });
  const v = cx.sc.fresh("ld");
  out.push({ k: "let", name: v, t, init: zero, mutable: true });
  out.push({ k: "if", cond: ok, then: [{ k: "assign", name: v, value: K.load(src.buf, flat, t) }] });
  return K.v(v, t);
}

function provablyInRange(ix: SExpr, extent: Dim, cx: ExprCtx): boolean {
  if (ix.k === "const") return extent.value !== undefined && ix.value >= 0 && ix.value < extent.value;
  if (ix.k === "var") {
    const ext = cx.extents.get(ix.id);
    return ext !== undefined && (ext === extent || (ext.value !== undefined && extent.value !== undefined && ext.value <= extent.value));
  }
  return false;
}

/** A reduction as a loop nest with an accumulator (argmax/argmin track the first best index). */
function emitReduce(e: Extract<SExpr, { k: "reduce" }>, cx: ExprCtx, out: KStmt[]): KExpr {
  const t = ktype(e.dtype);
  const bodyT = ktype(e.body.dtype);
  const acc = cx.sc.fresh("acc");
  const cnt = cx.sc.fresh("cnt");
  const arg = e.fn === "argmax" || e.fn === "argmin";
  const init = reduceInit(e.fn, arg ? bodyT : t);
  out.push({ k: "let", name: acc, t: arg ? bodyT : t, init, mutable: true });
  // integer max/min of an empty domain is 0 (ops.ts): count the elements seen
  const intMinMax = (e.fn === "max" || e.fn === "min") && !F(t);
  if (arg) out.push({ k: "let", name: cnt, t: "i32", init: K.i32(-1), mutable: true });
  else if (e.fn === "mean" || intMinMax) out.push({ k: "let", name: cnt, t: "i32", init: K.i32(0), mutable: true });
  const inner: KStmt[] = [];
  const loops: { name: string; end: KExpr }[] = e.vars.map((v) => {
    const name = cx.sc.fresh("r");
    cx.vars.set(v.id, K.v(name, "i32"));
    cx.extents.set(v.id, v.extent);
    return { name, end: dimToK(v.extent, cx.sc) };
  });
  const work: KStmt[] = nested(out);
  const body = compileExpr(e.body, cx, work);
  const accV = K.v(acc, arg ? bodyT : t);
  const bv = arg ? body : castK(body, t);
  switch (e.fn) {
    case "sum":
    case "mean":
      work.push({ k: "assign", name: acc, value: K.add(accV, bv) });
      if (e.fn === "mean") work.push({ k: "assign", name: cnt, value: K.add(K.v(cnt, "i32"), K.i32(1)) });
      break;
    case "prod":
      work.push({ k: "assign", name: acc, value: K.mul(accV, bv) });
      break;
    case "max":
    case "min":
      work.push({ k: "assign", name: acc, value: K.bin(e.fn, accV, bv) });
      if (intMinMax) work.push({ k: "assign", name: cnt, value: K.add(K.v(cnt, "i32"), K.i32(1)) });
      break;
    case "any":
      work.push({ k: "assign", name: acc, value: K.bin("or", accV, bv) });
      break;
    case "all":
      work.push({ k: "assign", name: acc, value: K.bin("and", accV, bv) });
      break;
    case "argmax":
    case "argmin": {
      // first index wins ties; NaN counts as the largest value (and is taken first by both)
      const cur = K.v(cnt, "i32");
      const better = F(bodyT)
        ? K.bin("or", K.bin("and", K.un("isnan", body, "bool"), K.un("not", K.un("isnan", accV, "bool"), "bool")),
            K.bin("and", K.un("not", K.un("isnan", accV, "bool"), "bool"), K.bin(e.fn === "argmax" ? "gt" : "lt", body, accV)))
        : K.bin(e.fn === "argmax" ? "gt" : "lt", body, accV);
      const take = K.bin("or", K.bin("lt", cur, K.i32(0)), better);
      work.push({ k: "if", cond: take, then: [{ k: "assign", name: acc, value: body }, { k: "assign", name: cnt, value: flatIndex(loops) }] });
      break;
    }
  }
  if (e.cond) {
    const condStmts: KStmt[] = nested(out);
    const c = compileExpr(e.cond, cx, condStmts);
    inner.push(...condStmts, { k: "if", cond: c, then: work });
  } else inner.push(...work);
  let nest: KStmt[] = inner;
  for (let i = loops.length - 1; i >= 0; i--) nest = [{ k: "for", var: loops[i]!.name, start: K.i32(0), end: loops[i]!.end, step: 1, body: nest }];
  out.push(...nest);
  if (arg) return K.v(cnt, "i32");
  if (intMinMax) return K.sel(K.bin("eq", K.v(cnt, "i32"), K.i32(0)), { k: "const", v: 0, t }, accV);
  if (e.fn === "mean") {
    const c = K.v(cnt, "i32");
    return K.sel(K.bin("eq", c, K.i32(0)), { k: "const", v: NaN, t }, K.bin("div", accV, castK(c, t)));
  }
  return accV;
}

function flatIndex(loops: readonly { name: string; end: KExpr }[]): KExpr {
  let idx: KExpr = K.i32(0);
  for (const l of loops) idx = K.add(K.mul(idx, l.end), K.v(l.name, "i32"));
  return idx;
}

function reduceInit(fn: string, t: KType): KExpr {
  switch (fn) {
    case "sum":
    case "mean":
      return { k: "const", v: 0, t };
    case "prod":
      return { k: "const", v: 1, t };
    case "max":
      return { k: "const", v: F(t) ? -Infinity : t === "i32" ? -2147483648 : 0, t };
    case "min":
      return { k: "const", v: F(t) ? Infinity : t === "i32" ? 2147483647 : 4294967295, t };
    case "any":
      return K.bool(false);
    case "all":
      return K.bool(true);
    default:
      return { k: "const", v: 0, t };
  }
}
