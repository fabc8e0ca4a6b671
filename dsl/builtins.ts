/**
 * The builtin functions of attn (dsl/BUILTINS.md): argument binding and checking, compile-time
 * folding, scalar (index-notation) forms, and the GraphBuilder call each one maps onto.
 */
import { Diagnostics } from "../compiler/diagnostics/messages.ts";
import * as D from "../compiler/graph/dim.ts";
import { dim, type Dim } from "../compiler/graph/dim.ts";
import { isDType, type DType } from "../compiler/graph/dtype.ts";
import type { Node, ReduceFn, UnaryFn } from "../compiler/graph/ops.ts";
import { sBinary, sCast, sSelect, sUnary } from "../compiler/graph/scalar.ts";
import type * as A from "./ast.ts";
import type { Elaborator } from "./elaborate.ts";
import { ERROR, describe, type Env, type Val } from "./values.ts";
import { argSpan, bool, constInt, constIntList, dtypeArg, elementwise, fname, int, intList, num, size, T, tensor, type Args, type Handler, type Spec } from "./builtin-args.ts";
import { attention, iterate } from "./builtins-hooks.ts";

const UNARY: Record<string, UnaryFn> = {
  exp: "exp", log: "log", sqrt: "sqrt", rsqrt: "rsqrt", abs: "abs", sin: "sin", cos: "cos", tan: "tan", asin: "asin",
  acos: "acos", atan: "atan", tanh: "tanh", sigmoid: "sigmoid", relu: "relu", gelu: "gelu", erf: "erf", floor: "floor",
  ceil: "ceil", round: "round", sign: "sign", isnan: "isnan", log1p: "log1p", expm1: "expm1",
};

const JS_UNARY: Partial<Record<UnaryFn, (x: number) => number>> = {
  exp: Math.exp, log: Math.log, sqrt: Math.sqrt, rsqrt: (x) => 1 / Math.sqrt(x), abs: Math.abs, sin: Math.sin, cos: Math.cos,
  tan: Math.tan, asin: Math.asin, acos: Math.acos, atan: Math.atan, tanh: Math.tanh, sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => Math.max(0, x), floor: Math.floor, ceil: Math.ceil, sign: Math.sign, log1p: Math.log1p, expm1: Math.expm1,
  round: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
};

const REDUCE: Record<string, ReduceFn> = { sum: "sum", mean: "mean", max: "max", min: "min", prod: "prod", any: "any", all: "all" };

const SPECS: Record<string, Spec> = {};
const def = (names: string | string[], params: string[], run: Handler) => {
  for (const n of typeof names === "string" ? [names] : names) SPECS[n] = { params, run };
};


// ── elementwise ────────────────────────────────────────────────────────────────────────────

for (const [name, fn] of Object.entries(UNARY)) {
  def(name, ["x"], (a) => {
    // ceil(a / b) and floor(a / b) on compile-time ints are exact ceiling/floor division.
    const arg = a.call.args[0]?.value;
    if ((name === "ceil" || name === "floor") && arg?.kind === "Binary" && arg.op === "/") {
      const l = a.el.evalExpr(arg.left, a.env);
      const r = a.el.evalExpr(arg.right, a.env);
      if (l.k === "int" && r.k === "int") {
        const d = a.el.build(a.call.span, () => (name === "ceil" ? D.ceilDiv(l.d, r.d) : D.div(l.d, r.d)));
        return d ? { k: "int", d } : ERROR;
      }
    }
    const js = JS_UNARY[fn];
    return elementwise(
      a,
      ([x]) => sUnary(fn, x!),
      ([x]) => a.el.g.unary(fn, x!),
      js
        ? ([x]) => {
            const y = js(x!);
            // floor/ceil/round of a finite number is a compile-time int; of inf/nan it stays a float
            return (fn === "floor" || fn === "ceil" || fn === "round") && Number.isFinite(y) ? { k: "int", d: dim(y) } : { k: "float", v: y };
          }
        : undefined,
    );
  });
}

def("silu", ["x"], (a) =>
  elementwise(a, ([x]) => sBinary("mul", x!, sUnary("sigmoid", x!)), ([x]) => a.el.g.mul(x!, a.el.g.unary("sigmoid", x!))),
);
def("pow", ["a", "b"], (a) => elementwise(a, ([x, y]) => sBinary("pow", x!, y!), ([x, y]) => a.el.g.binary("pow", x!, y!), ([x, y]) => ({ k: "float", v: x! ** y! })));
def("atan2", ["a", "b"], (a) => elementwise(a, ([x, y]) => sBinary("atan2", x!, y!), ([x, y]) => a.el.g.binary("atan2", x!, y!), ([x, y]) => ({ k: "float", v: Math.atan2(x!, y!) })));
def("clamp", ["x", "lo", "hi"], (a) =>
  elementwise(a, ([x, l, h]) => sBinary("min", sBinary("max", x!, l!), h!), ([x, l, h]) => a.el.g.binary("min", a.el.g.binary("max", x!, l!), h!)),
);
def("where", ["cond", "a", "b"], (a) => elementwise(a, ([c, x, y]) => sSelect(c!, x!, y!), ([c, x, y]) => a.el.g.where(c!, x!, y!), undefined, [1, 2]));
def("elu", ["x", "alpha?"], (a) => {
  const alpha = num(a, 1, "alpha", 1);
  if (alpha === undefined) return ERROR;
  a.vals.length = 1;
  return elementwise(
    a,
    ([x]) => sSelect(sBinary("gt", x!, 0), x!, sBinary("mul", sUnary("expm1", x!), alpha)),
    ([x]) => a.el.g.elu(x as Node, alpha),
  );
});
def("cast", ["x", "dtype"], (a) => {
  const dt = dtypeArg(a, 1);
  const v = a.vals[0]!;
  if (!dt || v.k === "error") return ERROR;
  if (v.k === "scalar") return { k: "scalar", e: sCast(v.e, dt) };
  const t = tensor(a, 0);
  return t ? T(a, () => a.el.g.cast(t, dt)) : ERROR;
});
def("int", ["x"], (a) => {
  const v = a.vals[0]!;
  if (v.k === "int") return v;
  if (v.k === "float") return Number.isFinite(v.v) ? { k: "int", d: dim(Math.trunc(v.v)) } : a.el.error(Diagnostics.Not_a_compile_time_int_0, a.spans[0], describe(v));
  if (v.k === "bool") return { k: "int", d: dim(v.v ? 1 : 0) };
  return v.k === "error" ? ERROR : a.el.error(Diagnostics.Compile_time_value_expected_0, a.spans[0], "int()");
});
def("float", ["x"], (a) => {
  const v = a.vals[0]!;
  if (v.k === "float") return v;
  if (v.k === "int" && v.d.value !== undefined) return { k: "float", v: v.d.value };
  if (v.k === "bool") return { k: "float", v: v.v ? 1 : 0 };
  if (v.k === "int") {
    const t = tensor(a, 0);
    return t ? T(a, () => a.el.g.cast(t, "f32")) : ERROR;
  }
  return v.k === "error" ? ERROR : a.el.error(Diagnostics.Compile_time_value_expected_0, a.spans[0], "float()");
});

// ── reductions ─────────────────────────────────────────────────────────────────────────────

for (const [name, fn] of Object.entries(REDUCE)) {
  def(name, ["x", "b?", "axis?", "keepdims?"], (a) => {
    // max(a, b) / min(a, b) with two positional operands are elementwise.
    if ((fn === "max" || fn === "min") && a.vals[1] !== undefined) {
      // the two-operand form is elementwise: it has no axis or keepdims
      for (const i of [2, 3]) {
        const given = a.vals[i] !== undefined ? a.call.args.find((x) => x.name?.name === a.names?.[i]) ?? a.call.args[i] : undefined;
        if (given) return a.el.error(Diagnostics._0_has_no_parameter_named_1, given.name?.span ?? given.span, `${name}(a, b)`, a.names?.[i] ?? "axis");
      }
      const two = { ...a, vals: [a.vals[0], a.vals[1]], spans: [a.spans[0]!, a.spans[1]!] };
      // on compile-time ints (dims included: max(0, N - r)) they fold symbolically
      const [u0, v0] = [a.vals[0]!, a.vals[1]!];
      if (u0.k === "int" && v0.k === "int" && a.vals[2] === undefined && a.vals[3] === undefined) return { k: "int", d: (fn === "max" ? D.max : D.min)(u0.d, v0.d) };
      return elementwise(
        two,
        ([x, y]) => sBinary(fn, x!, y!),
        ([x, y]) => a.el.g.binary(fn, x!, y!),
        ([x, y]) => {
          const [u, v] = [two.vals[0]!, two.vals[1]!];
          if (u.k === "int" && v.k === "int") return { k: "int", d: (fn === "max" ? D.max : D.min)(u.d, v.d) };
          return { k: "float", v: (fn === "max" ? Math.max : Math.min)(x!, y!) };
        },
      );
    }
    if (a.vals[1] !== undefined) return a.el.error(Diagnostics._0_expects_1_arguments_got_2, a.spans[1], name, "1 positional", 2);
    if ((fn === "max" || fn === "min") && a.vals[0]?.k === "int" && a.vals[2] === undefined) return a.vals[0];
    const x = tensor(a, 0);
    const axes = a.vals[2] === undefined ? undefined : constIntList(a, 2, "axis");
    const keep = bool(a, 3, "keepdims", false);
    if (!x || (a.vals[2] !== undefined && !axes) || keep === undefined) return ERROR;
    return T(a, () => a.el.g.reduce(fn, x, axes, keep));
  });
}
def(["argmax", "argmin"], ["x", "axis?", "keepdims?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  const keep = bool(a, 2, "keepdims", false);
  if (!x || axis === undefined || keep === undefined) return ERROR;
  return T(a, () => a.el.g.argreduce(fname(a) as "argmax", x, axis, keep));
});
def("softmax", ["x", "axis?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  return x && axis !== undefined ? T(a, () => a.el.g.softmax(x, axis)) : ERROR;
});
def("log_softmax", ["x", "axis?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  return x && axis !== undefined ? T(a, () => a.el.g.sub(x, a.el.g.logsumexp(x, axis, true))) : ERROR;
});
def("logsumexp", ["x", "axis?", "keepdims?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  const keep = bool(a, 2, "keepdims", false);
  return x && axis !== undefined && keep !== undefined ? T(a, () => a.el.g.logsumexp(x, axis, keep)) : ERROR;
});
def("norm", ["x", "axis?", "keepdims?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  const keep = bool(a, 2, "keepdims", false);
  if (!x || axis === undefined || keep === undefined) return ERROR;
  return T(a, () => a.el.g.sqrt(a.el.g.reduce("sum", a.el.g.mul(x, x), axis, keep)));
});
def("normalize", ["x", "axis?", "eps?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  const eps = num(a, 2, "eps", 1e-12);
  return x && axis !== undefined && eps !== undefined ? T(a, () => a.el.g.l2normalize(x, axis, eps)) : ERROR;
});
def("layernorm", ["x", "weight?", "bias?", "eps?"], (a) => {
  const x = tensor(a, 0);
  const w = a.vals[1] && tensor(a, 1);
  const b = a.vals[2] && tensor(a, 2);
  const eps = num(a, 3, "eps", 1e-5);
  if (!x || (a.vals[1] && !w) || (a.vals[2] && !b) || eps === undefined) return ERROR;
  return T(a, () => a.el.g.layernorm(x, w || undefined, b || undefined, eps));
});
def("rmsnorm", ["x", "weight?", "eps?"], (a) => {
  const x = tensor(a, 0);
  const w = a.vals[1] && tensor(a, 1);
  const eps = num(a, 2, "eps", 1e-6);
  if (!x || (a.vals[1] && !w) || eps === undefined) return ERROR;
  return T(a, () => a.el.g.rmsnorm(x, w || undefined, eps));
});

// ── layout ─────────────────────────────────────────────────────────────────────────────────

def("reshape", ["x", "shape"], (a) => {
  const x = tensor(a, 0);
  const s = intList(a, 1, "shape");
  return x && s ? T(a, () => a.el.g.reshape(x, s.map((d) => (d.value === -1 ? -1 : d)))) : ERROR;
});
def("permute", ["x", "axes"], (a) => {
  const x = tensor(a, 0);
  const p = constIntList(a, 1, "axes");
  return x && p ? T(a, () => a.el.g.permute(x, p)) : ERROR;
});
def("unsqueeze", ["x", "axis"], (a) => {
  const x = tensor(a, 0);
  const ax = constInt(a, 1, "axis");
  return x && ax !== undefined ? T(a, () => a.el.g.unsqueeze(x, ax)) : ERROR;
});
def("squeeze", ["x", "axis"], (a) => {
  const x = tensor(a, 0);
  const ax = constInt(a, 1, "axis");
  return x && ax !== undefined ? T(a, () => a.el.g.squeeze(x, ax)) : ERROR;
});
def("broadcast_to", ["x", "shape"], (a) => {
  const x = tensor(a, 0);
  const s = intList(a, 1, "shape");
  return x && s ? T(a, () => a.el.g.broadcastTo(x, s)) : ERROR;
});
def("concat", ["xs", "axis?"], (a) => {
  const l = a.vals[0]!;
  const axis = constInt(a, 1, "axis", 0);
  if (l.k !== "list" && l.k !== "tuple") return l.k === "error" ? ERROR : a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[0], "xs", "concat", "a list of tensors", describe(l));
  const xs = l.items.map((v) => a.el.asTensor(v, a.spans[0]!));
  if (xs.some((x) => !x) || axis === undefined) return ERROR;
  return T(a, () => a.el.g.concat(xs as Node[], axis));
});
def("split", ["x", "parts", "axis?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 2, "axis", -1);
  const p = a.vals[1]!;
  if (!x || axis === undefined || p.k === "error") return ERROR;
  let parts: number | Dim[];
  if (p.k === "int") {
    if (p.d.value === undefined) return a.el.error(Diagnostics.Compile_time_value_expected_0, a.spans[1], "split count");
    parts = p.d.value;
  } else {
    const l = intList(a, 1, "parts");
    if (!l) return ERROR;
    const neg = l.find((d) => d.value !== undefined && d.value < 0);
    if (neg) return a.el.error(Diagnostics.Dim_must_be_nonnegative_0, a.spans[1], neg.value);
    parts = l;
  }
  const r = a.el.build(a.call.span, () => a.el.g.split(x, parts, axis), argSpan(a));
  return r ? { k: "tuple", items: r.map((t) => ({ k: "tensor", t })) } : ERROR;
});
def("pad", ["x", "before", "after", "value?"], (a) => {
  const x = tensor(a, 0);
  const b = intList(a, 1, "before");
  const e = intList(a, 2, "after");
  const v = num(a, 3, "value", 0);
  return x && b && e && v !== undefined ? T(a, () => a.el.g.pad(x, b, e, v)) : ERROR;
});
/** The region grid sh × sw of regions/unregions: positive compile-time ints. */
function gridInt(a: Args, i: number, what: string): number | undefined {
  const n = constInt(a, i, what);
  if (n !== undefined && n <= 0) {
    a.el.error(Diagnostics.Value_out_of_range_0_1, a.spans[i], `${what} = ${n}`, "the region grid must be positive");
    return undefined;
  }
  return n;
}
def("regions", ["x", "sh", "sw"], (a) => {
  const x = tensor(a, 0);
  const sh = gridInt(a, 1, "sh");
  const sw = gridInt(a, 2, "sw");
  return x && sh !== undefined && sw !== undefined ? T(a, () => a.el.g.regions(x, sh, sw)) : ERROR;
});
def("unregions", ["x", "sh", "sw", "h", "w"], (a) => {
  const x = tensor(a, 0);
  const sh = gridInt(a, 1, "sh");
  const sw = gridInt(a, 2, "sw");
  const h = size(a, 3);
  const w = size(a, 4);
  return x && sh !== undefined && sw !== undefined && h && w ? T(a, () => a.el.g.unregions(x, sh, sw, h, w)) : ERROR;
});
def("split_heads", ["x", "heads"], (a) => {
  const x = tensor(a, 0);
  const h = constInt(a, 1, "heads");
  return x && h !== undefined ? T(a, () => a.el.g.splitHeads(x, h)) : ERROR;
});
def("merge_heads", ["x"], (a) => {
  const x = tensor(a, 0);
  return x ? T(a, () => a.el.g.mergeHeads(x)) : ERROR;
});

// ── constructors ───────────────────────────────────────────────────────────────────────────

def("arange", ["n"], (a) => {
  const n = int(a, 0);
  return n ? T(a, () => a.el.g.arange(n)) : ERROR;
});
def(["zeros", "ones"], ["shape", "dtype?"], (a) => {
  const s = intList(a, 0, "shape");
  const dt = dtypeArg(a, 1, "f32");
  return s && dt ? T(a, () => a.el.g.full(s, fname(a) === "ones" ? 1 : 0, dt)) : ERROR;
});
def("full", ["shape", "value", "dtype?"], (a) => {
  const s = intList(a, 0, "shape");
  const v = a.vals[1]!;
  const dt = dtypeArg(a, 2, v.k === "bool" ? "bool" : "f32");
  if (!s || !dt) return ERROR;
  if (v.k === "bool") return T(a, () => a.el.g.full(s, v.v, dt));
  const n = num(a, 1, "value", 0);
  return n !== undefined ? T(a, () => a.el.g.full(s, n, dt)) : ERROR;
});
def("tensor", ["values", "dtype?"], (a) => {
  const l = a.vals[0]!;
  const dt = dtypeArg(a, 1, "f32");
  if (!dt || l.k === "error") return ERROR;
  if (l.k !== "list") return a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[0], "values", "tensor", "a list of numbers", describe(l));
  const vs: number[] = [];
  for (const it of l.items) {
    if (it.k === "float") vs.push(it.v);
    else if (it.k === "bool") vs.push(it.v ? 1 : 0);
    else if (it.k === "int" && it.d.value !== undefined) vs.push(it.d.value);
    else return a.el.error(Diagnostics.Compile_time_value_expected_0, a.spans[0], "tensor literal values");
  }
  return T(a, () => a.el.g.constant(vs, dt));
});

// ── contractions ───────────────────────────────────────────────────────────────────────────

def("matmul", ["a", "b"], (a) => {
  const x = tensor(a, 0);
  const y = tensor(a, 1);
  return x && y ? T(a, () => a.el.g.matmul(x, y)) : ERROR;
});
SPECS.einsum = {
  params: [],
  run: (a) => {
    const args = a.call.args.map((x) => a.el.evalExpr(x.value, a.env));
    const spec = args[0];
    if (!spec || spec.k !== "str") return a.el.error(Diagnostics.Einsum_spec_invalid_0, a.call.span, "the first argument must be a string like \"ij,jk->ik\"");
    const xs = args.slice(1).map((v, i) => a.el.asTensor(v, a.call.args[i + 1]!.span));
    if (xs.some((x) => !x)) return ERROR;
    return T(a, () => a.el.g.einsum(spec.v, ...(xs as Node[])));
  },
};

// ── order, indices, scatter ────────────────────────────────────────────────────────────────

def("topk", ["x", "k", "axis?", "largest?"], (a) => {
  const x = tensor(a, 0);
  const k = int(a, 1);
  const axis = constInt(a, 2, "axis", -1);
  const largest = bool(a, 3, "largest", true);
  if (!x || !k || axis === undefined || largest === undefined) return ERROR;
  const r = a.el.build(a.call.span, () => a.el.g.topk(x, k, axis, largest), argSpan(a));
  return r ? { k: "tuple", items: r.map((t) => ({ k: "tensor", t })), names: ["values", "indices"] } : ERROR;
});
def(["argsort", "sort"], ["x", "axis?", "descending?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  const desc = bool(a, 2, "descending", false);
  if (!x || axis === undefined || desc === undefined) return ERROR;
  return T(a, () => (fname(a) === "sort" ? a.el.g.sort(x, axis, desc) : a.el.g.argsort(x, axis, desc)));
});
def("gather", ["x", "idx", "axis"], (a) => {
  const x = tensor(a, 0);
  const i = tensor(a, 1);
  const axis = constInt(a, 2, "axis");
  return x && i && axis !== undefined ? T(a, () => a.el.g.gather(x, i, axis)) : ERROR;
});
def("take_along", ["x", "idx", "axis"], (a) => {
  const x = tensor(a, 0);
  const i = tensor(a, 1);
  const axis = constInt(a, 2, "axis");
  return x && i && axis !== undefined ? T(a, () => a.el.g.takeAlong(x, i, axis)) : ERROR;
});
def("compact", ["mask"], (a) => {
  const m = tensor(a, 0);
  if (!m) return ERROR;
  const r = a.el.build(a.call.span, () => a.el.g.compact(m));
  return r ? { k: "tuple", items: r.map((t) => ({ k: "tensor", t })), names: ["indices", "count"] } : ERROR;
});
def("cumsum", ["x", "axis?", "exclusive?", "reverse?"], (a) => {
  const x = tensor(a, 0);
  const axis = constInt(a, 1, "axis", -1);
  const ex = bool(a, 2, "exclusive", false);
  const rev = bool(a, 3, "reverse", false);
  return x && axis !== undefined && ex !== undefined && rev !== undefined ? T(a, () => a.el.g.cumsum(x, axis, ex, rev)) : ERROR;
});
for (const fn of ["sum", "mean", "max", "min"] as const)
  def(`segment_${fn}`, ["x", "seg", "num", "axis"], (a) => {
    const x = tensor(a, 0);
    const s = tensor(a, 1);
    const n = size(a, 2);
    const axis = constInt(a, 3, "axis");
    return x && s && n && axis !== undefined ? T(a, () => a.el.g.segmentReduce(fn, x, s, n, axis)) : ERROR;
  });

// ── vision, quantization ───────────────────────────────────────────────────────────────────

def("dwconv2d", ["x", "w", "bias?"], (a) => {
  const x = tensor(a, 0);
  const w = tensor(a, 1);
  const b = a.vals[2] && tensor(a, 2);
  if (!x || !w || (a.vals[2] && !b)) return ERROR;
  return T(a, () => a.el.g.dwconv2d(x, w, b || undefined));
});
def("quantize", ["x", "bits", "axis?"], (a) => {
  const x = tensor(a, 0);
  const bits = constInt(a, 1, "bits");
  const axis = constInt(a, 2, "axis", -1);
  if (!x || bits === undefined || axis === undefined) return ERROR;
  const r = a.el.build(a.call.span, () => a.el.g.quantize(x, bits, axis), argSpan(a));
  return r ? { k: "tuple", items: r.map((t) => ({ k: "tensor", t })), names: ["packed", "scale", "zero"] } : ERROR;
});
def("dequant", ["packed", "scale", "zero", "bits", "n", "axis?"], (a) => {
  const [p, s, z] = [tensor(a, 0), tensor(a, 1), tensor(a, 2)];
  const bits = constInt(a, 3, "bits");
  const n = size(a, 4);
  const axis = constInt(a, 5, "axis", -1);
  if (!p || !s || !z || bits === undefined || !n || axis === undefined) return ERROR;
  return T(a, () => a.el.g.dequantize(p, s, z, bits, n, axis));
});

// ── attention, iteration (their handlers: builtins-hooks.ts) ─────────────────────────────────

SPECS.attention = {
  params: ["q", "k", "v", "scale?", "score?", "mask?", "bias?", "value_scale?", "blocks?", "block_q?", "block_k?", "returns?"],
  run: (a) => attention(a),
};

def("iterate", ["n", "init", "step"], iterate);

/** Arguments a builtin reads from the AST itself (not evaluated up front). */
const LAZY: ReadonlySet<string> = new Set(["returns"]);

export const BUILTIN_NAMES: ReadonlySet<string> = new Set(Object.keys(SPECS));

/** Binds a builtin call's arguments by its parameter list and runs it. */
export function callBuiltin(el: Elaborator, name: string, call: A.Call, env: Env): Val {
  const spec = SPECS[name]!;
  if (spec.params.length === 0) return spec.run({ vals: [], spans: [], call, env, el, names: [] });
  const params = spec.params.map((p) => ({ name: p.replace("?", "") }));
  const optional = spec.params.map((p) => p.endsWith("?"));
  // hooks are lambdas evaluated lazily; everything else is evaluated by bindArgs
  const vals = el.bindArgs(name, params, call, env, optional, LAZY);
  if (!vals) return ERROR;
  const spans = params.map((p, i) => call.args.find((x) => x.name?.name === p.name)?.value.span ?? call.args[i]?.value.span ?? call.span);
  if (vals.some((v) => v?.k === "error")) return ERROR;
  return spec.run({ vals, spans, call, env, el, names: params.map((p) => p.name) });
}

export function isBuiltinDType(s: string): s is DType {
  return isDType(s);
}
