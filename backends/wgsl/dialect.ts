/**
 * WGSL as a dialect of the C-style printer: type and op tables, the binding layout and a prelude of
 * helpers for what WGSL lacks or defines differently (floored integer division, NaN-propagating
 * min/max, erf, pow of negative bases, NaN tests that compilers cannot fold away, infinities that
 * are not constant-folded). Without `shader-f16`, f16 values live in f32 registers and f32 storage
 * and are rounded to half precision on every conversion to f16 (by bits, _f16). With it (a target
 * record that has the feature, compiler/kernel/caps.ts), kernels holding f16 values print with
 * wgslF16: `enable f16;`, `array<f16>` storage and `f16` registers, f32 arithmetic. bf16 has no
 * WGSL type: always f32 registers and storage, rounded by _bf16 (lowering warns, ATTN4007).
 *
 * Binding layout (the runtime relies on it): binding i = buffers[i] in order, then one uniform
 * struct at binding buffers.length holding the kernel's uniforms in order (4 bytes each), then
 * `_inf: u32` = 0x7f800000.
 */
import type { KBinary, KExpr, KType, KUnary, Kernel } from "../../compiler/kernel/ir.ts";
import { forEachKernelNode } from "../../compiler/kernel/ir.ts";
import { logicOp, printKernel, type Dialect } from "../shared/cstyle.ts";
import { roundF16 } from "../../compiler/util/float16.ts";

const TYPE: Record<KType, string> = { f32: "f32", f16: "f32", bf16: "f32", i32: "i32", u32: "u32", bool: "bool" };
/** Storage element types: bool is stored as u32, f16 as f32 (no shader-f16). */
const STORAGE: Record<KType, string> = { f32: "f32", f16: "f32", bf16: "f32", i32: "i32", u32: "u32", bool: "u32" };

const isF = (t: KType) => t === "f32" || t === "f16" || t === "bf16";

const HELPERS: Record<string, string> = {
  _isnan: "fn _isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }",
  _fdiv: "fn _fdiv(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; } return q; }",
  _fmod: "fn _fmod(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; if (r != 0 && ((r < 0) != (b < 0))) { return r + b; } return r; }",
  _fmodf: "fn _fmodf(a: f32, b: f32) -> f32 { return a - floor(a / b) * b; }",
  _fmin: "fn _fmin(a: f32, b: f32) -> f32 { if (_isnan(a) || _isnan(b)) { return a + b; } return min(a, b); }",
  _fmax: "fn _fmax(a: f32, b: f32) -> f32 { if (_isnan(a) || _isnan(b)) { return a + b; } return max(a, b); }",
  _pow: "fn _pow(a: f32, b: f32) -> f32 { if (b == 0.0 || a == 1.0) { return 1.0; } if (_isnan(a) || _isnan(b)) { return a + b; } if (a == -1.0 && abs(b) == bitcast<f32>(u._inf)) { return 1.0; } if (a == -bitcast<f32>(u._inf)) { let odd = floor(b) == b && _fmodf(b, 2.0) == 1.0; let m = select(0.0, bitcast<f32>(u._inf), b > 0.0); return select(m, -m, odd); } if (a == 0.0 && b < 0.0) { let odd = floor(b) == b && _fmodf(b, 2.0) == 1.0; return select(1.0, -1.0, odd && (bitcast<u32>(a) >> 31u) != 0u) * bitcast<f32>(u._inf); } if (a < 0.0 && floor(b) != b && abs(b) != bitcast<f32>(u._inf)) { return bitcast<f32>(u._inf | 0x400000u); } if (a < 0.0 && floor(b) == b) { let m = pow(-a, b); if (_fmodf(b, 2.0) == 1.0) { return -m; } return m; } if (a == 0.0 && b > 0.0) { return 0.0; } return pow(a, b); }",
  _erf: "fn _erf(x: f32) -> f32 { let t = 1.0 / (1.0 + 0.5 * abs(x)); let y = 1.0 - t * exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))); return select(-y, y, x >= 0.0); }",
  _log1p: "fn _log1p(x: f32) -> f32 { let v = 1.0 + x; if (v == 1.0) { return x; } if (v == 0.0 || v == bitcast<f32>(u._inf)) { return _log(v); } return _log(v) * x / (v - 1.0); }",
  // NaN-preserving forms: GPU exp and sign may turn NaN into +inf or 0
  _exp: "fn _exp(x: f32) -> f32 { if (_isnan(x)) { return x; } return exp(x); }",
  _sign: "fn _sign(x: f32) -> f32 { if (_isnan(x)) { return x; } return sign(x); }",
  // atan2 with IEEE signed zeros (atan2(±0, x < 0 or -0) = ±π, atan2(±0, x > 0 or +0) = ±0) and NaN
  _atan2: "fn _atan2(y: f32, x: f32) -> f32 { if (_isnan(x) || _isnan(y)) { return x + y; } if (y == 0.0) { if (x < 0.0 || (x == 0.0 && (bitcast<u32>(x) >> 31u) != 0u)) { return select(3.141592653589793, -3.141592653589793, (bitcast<u32>(y) >> 31u) != 0u); } return y; } return atan2(y, x); }",
  _expm1: "fn _expm1(x: f32) -> f32 { if (_isnan(x)) { return x; } if (abs(x) < 1e-5) { return x + 0.5 * x * x; } return exp(x) - 1.0; }",
  _bf16: "fn _bf16(x: f32) -> f32 { let b = bitcast<u32>(x); if ((b & 0x7fffffffu) > 0x7f800000u) { return x; } return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u); }",
  // round to binary16, nearest even, by bits (pack2x16float is indeterminate outside the f16 range)
  _f16: "fn _f16(x: f32) -> f32 { let b = bitcast<u32>(x); let s = b & 0x80000000u; let a = b & 0x7fffffffu; if (a > 0x7f800000u) { return x; } if (a >= 0x477ff000u) { return bitcast<f32>(s | bitcast<u32>(u._inf)); } if (a < 0x38800000u) { let q = round(abs(x) * 16777216.0) / 16777216.0; return select(q, -q, s != 0u); } return bitcast<f32>(s | ((a + 0xfffu + ((a >> 13u) & 1u)) & 0xffffe000u)); }",
  // log with IEEE edge cases (0 → -inf, negative → NaN, inf → inf) that GPU log approximations miss
  _log: "fn _log(x: f32) -> f32 { let b = bitcast<u32>(x); let a = b & 0x7fffffffu; if (a > 0x7f800000u) { return x; } if (a == 0u) { return -bitcast<f32>(u._inf); } if (b >= 0x80000000u) { return bitcast<f32>(u._inf | 0x400000u); } if (a == 0x7f800000u) { return x; } return log(x); }",
  _tanh: "fn _tanh(x: f32) -> f32 { if (abs(x) > 9.0) { return sign(x); } return tanh(x); }",
  // sin, cos, tan, asin, acos: Cephes single-precision algorithms (Cody-Waite reduction by π/4,
  // minimax polynomials), about 2 ulps for |x| < 8192; GPU builtins are only bounded to 2^-11
  // absolute error inside [-π, π]
  _trig_nan: "fn _trig_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u; }",
  _sinp: "fn _sinp(r: f32) -> f32 { let z = r * r; return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r; }",
  _cosp: "fn _cosp(r: f32) -> f32 { let z = r * r; return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0; }",
  _sin: "fn _sin(x: f32) -> f32 { if (_trig_nan(x)) { return bitcast<f32>(u._inf | 0x400000u); } let ax = abs(x); var sg = select(1.0, -1.0, x < 0.0); var j = i32(ax * 1.27323954473516); var y = f32(j); if ((j & 1) != 0) { j = j + 1; y = y + 1.0; } j = j & 7; if (j > 3) { sg = -sg; j = j - 4; } let r = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8; if (j == 1 || j == 2) { return sg * _cosp(r); } return sg * _sinp(r); }",
  _cos: "fn _cos(x: f32) -> f32 { if (_trig_nan(x)) { return bitcast<f32>(u._inf | 0x400000u); } let ax = abs(x); var sg = 1.0; var j = i32(ax * 1.27323954473516); var y = f32(j); if ((j & 1) != 0) { j = j + 1; y = y + 1.0; } j = j & 7; if (j > 3) { j = j - 4; sg = -sg; } if (j > 1) { sg = -sg; } let r = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8; if (j == 1 || j == 2) { return sg * _sinp(r); } return sg * _cosp(r); }",
  _tan: "fn _tan(x: f32) -> f32 { if (_trig_nan(x)) { return bitcast<f32>(u._inf | 0x400000u); } let ax = abs(x); var j = i32(ax * 1.27323954473516); var y = f32(j); if ((j & 1) != 0) { j = j + 1; y = y + 1.0; } let z = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8; let zz = z * z; var t = z; if (ax > 1e-4) { t = (((((9.38540185543e-3 * zz + 3.11992232697e-3) * zz + 2.44301354525e-2) * zz + 5.34112807005e-2) * zz + 1.33387994085e-1) * zz + 3.33331568548e-1) * zz * z + z; } if ((j & 2) != 0) { t = -1.0 / t; } return select(t, -t, x < 0.0); }",
  _asin: "fn _asin(x: f32) -> f32 { let a = abs(x); if (!(a <= 1.0)) { return bitcast<f32>(u._inf | 0x400000u); } if (a < 1e-4) { return x; } var z: f32; var v: f32; let big = a > 0.5; if (big) { z = 0.5 * (1.0 - a); v = sqrt(z); } else { v = a; z = a * a; } var r = ((((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z + 7.4953002686e-2) * z + 1.6666752422e-1) * z * v + v; if (big) { r = 1.5707963267948966 - (r + r); } return select(r, -r, x < 0.0); }",
  _acos: "fn _acos(x: f32) -> f32 { if (!(abs(x) <= 1.0)) { return bitcast<f32>(u._inf | 0x400000u); } if (x < -0.5) { return 3.141592653589793 - 2.0 * _asin(sqrt(0.5 * (1.0 + x))); } if (x > 0.5) { return 2.0 * _asin(sqrt(0.5 * (1.0 - x))); } return 1.5707963267948966 - _asin(x); }",
};
/** Helpers that call other helpers. */
const DEPS: Record<string, string[]> = {
  _fmin: ["_isnan"],
  _fmax: ["_isnan"],
  _pow: ["_fmodf", "_isnan"],
  _exp: ["_isnan"],
  _expm1: ["_isnan"],
  _sign: ["_isnan"],
  _atan2: ["_isnan"],
  _log1p: ["_log"],
  _sin: ["_trig_nan", "_sinp", "_cosp"],
  _cos: ["_trig_nan", "_sinp", "_cosp"],
  _tan: ["_trig_nan"],
  _acos: ["_asin"],
};

const UNARY: Record<KUnary, (a: string, t: KType) => string> = {
  neg: (a) => `(-${a})`,
  not: (a, t) => (t === "bool" ? `(!${a})` : `(~${a})`),
  abs: (a) => `abs(${a})`,
  exp: (a) => `_exp(${a})`,
  log: (a) => `_log(${a})`,
  sqrt: (a) => `sqrt(${a})`,
  rsqrt: (a) => `inverseSqrt(${a})`,
  sin: (a) => `_sin(${a})`,
  cos: (a) => `_cos(${a})`,
  tan: (a) => `_tan(${a})`,
  asin: (a) => `_asin(${a})`,
  acos: (a) => `_acos(${a})`,
  atan: (a) => `atan(${a})`,
  tanh: (a) => `_tanh(${a})`,
  floor: (a) => `floor(${a})`,
  ceil: (a) => `ceil(${a})`,
  round: (a) => `round(${a})`,
  sign: (a) => `_sign(${a})`,
  erf: (a) => `_erf(${a})`,
  log1p: (a) => `_log1p(${a})`,
  expm1: (a) => `_expm1(${a})`,
  isnan: (a) => `_isnan(${a})`,
};

/** Literal spelling of an f32 value (non-finite ones through the `_inf` uniform: WGSL rejects them as constants). */
function f32Literal(v: number): string {
  if (Number.isNaN(v)) return "bitcast<f32>(u._inf | 0x400000u)";
  if (v === Infinity) return "bitcast<f32>(u._inf)";
  if (v === -Infinity) return "(-bitcast<f32>(u._inf))";
  const f = Math.fround(v);
  if (f === Infinity || f === -Infinity) return f > 0 ? "bitcast<f32>(u._inf)" : "(-bitcast<f32>(u._inf))";
  let s = String(f);
  if (!/[.e]/.test(s)) s += ".0";
  return `${s}f`;
}

const INFIX: Partial<Record<KBinary, string>> = { add: "+", sub: "-", mul: "*", eq: "==", lt: "<", le: "<=", gt: ">", ge: ">=", shl: "<<", shr: ">>", bitand: "&", bitor: "|" };

function call(op: KBinary, a: string, b: string, at: KType): string {
  const inf = INFIX[op];
  if (inf) return `(${a} ${inf} ${b})`;
  switch (op) {
    case "div":
      return isF(at) ? `(${a} / ${b})` : at === "u32" ? `select(0u, ${a} / ${b}, ${b} != 0u)` : `_fdiv(${a}, ${b})`;
    case "mod":
      return isF(at) ? `_fmodf(${a}, ${b})` : at === "u32" ? `select(0u, ${a} % ${b}, ${b} != 0u)` : `_fmod(${a}, ${b})`;
    case "min":
      return isF(at) ? `_fmin(${a}, ${b})` : `min(${a}, ${b})`;
    case "max":
      return isF(at) ? `_fmax(${a}, ${b})` : `max(${a}, ${b})`;
    case "pow":
      return `_pow(${a}, ${b})`;
    case "atan2":
      return `_atan2(${a}, ${b})`;
    case "ne":
      // GPUs may fold a != b to false when one side is NaN; !(a == b) keeps IEEE semantics
      return isF(at) ? `(!(${a} == ${b}))` : `(${a} != ${b})`;
    case "and":
    case "or":
    case "xor":
      return logicOp(op, a, b, at);
    default:
      throw new Error(`wgsl: no spelling for binary '${op}'`);
  }
}

/** Helpers a kernel's expressions need (shared by both dialects). */
const HELPER_UNARY: ReadonlySet<KUnary> = new Set<KUnary>(["erf", "log1p", "expm1", "isnan", "log", "tanh", "sin", "cos", "tan", "asin", "acos", "exp", "sign"]);

function helperUses(e: KExpr, need: (h: string) => void): void {
  if (e.k === "unary" && HELPER_UNARY.has(e.op)) need(`_${e.op}`);
  if (e.k === "binary") {
    const f = isF(e.a.t);
    if (e.op === "div" && e.a.t === "i32") need("_fdiv");
    if (e.op === "mod") need(f ? "_fmodf" : e.a.t === "i32" ? "_fmod" : "");
    if ((e.op === "min" || e.op === "max") && f) need(`_f${e.op}`);
    if (e.op === "pow") need("_pow");
    if (e.op === "atan2") need("_atan2");
  }
}

const noStmt = (): void => {};

/**
 * The kernel's declarations and helpers. `extraExpr` sees every expression in the same walk as
 * helperUses (the helper set does not depend on the order of `need` calls); `extra` adds more.
 */
function makeHeader(
  k: Kernel,
  types: Record<KType, string>,
  storage: Record<KType, string>,
  extraExpr: (e: KExpr, need: (h: string) => void) => void,
  extra: (need: (h: string) => void) => void,
  pre: readonly string[],
): string[] {
  const out: string[] = [];
  const helpers = new Set<string>();
  const need = (h: string) => {
    if (helpers.has(h)) return;
    (DEPS[h] ?? []).forEach(need);
    helpers.add(h);
  };
  forEachKernelNode(k, noStmt, (e) => {
    helperUses(e, need);
    extraExpr(e, need);
  });
  extra(need);
  helpers.delete("");
  out.push(`// attnc kernel ${k.name}`, ...pre);
  k.buffers.forEach((b, i) =>
    out.push(`@group(0) @binding(${i}) var<storage, ${b.access === "read" ? "read" : "read_write"}> ${b.name}: array<${storage[b.t]}>;`),
  );
  out.push(`struct Uniforms { ${[...k.uniforms.map((u) => `${u.name}: ${TYPE[u.t]}`), "_inf: u32"].join(", ")} }`);
  out.push(`@group(0) @binding(${k.buffers.length}) var<uniform> u: Uniforms;`);
  for (const s of k.shared) out.push(`var<workgroup> ${s.name}: array<${types[s.t]}, ${s.size}>;`);
  for (const h of Object.keys(HELPERS)) if (helpers.has(h)) out.push(HELPERS[h]!);
  const [x, y, z] = k.workgroup;
  out.push(
    `@compute @workgroup_size(${x}, ${y}, ${z})`,
    "fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {",
  );
  return out;
}

/** Conversions to f16 / bf16 round through the _f16 / _bf16 helpers. */
function roundingCasts(e: KExpr, need: (h: string) => void): void {
  if (e.k === "cast" && (e.t === "f16" || e.t === "bf16")) need(`_${e.t}`);
}

/** The f32 dialect: f16 and bf16 values live in f32 registers and f32 storage, rounded on every conversion. */
export const wgsl: Dialect = {
  name: "wgsl",
  type: (t) => TYPE[t],
  literal(v, t) {
    if (t === "bool") return v ? "true" : "false";
    if (t === "i32") return v === -2147483648 ? "i32(-2147483647 - 1)" : `${v | 0}i`;
    if (t === "u32") return `${v >>> 0}u`;
    return f32Literal(v);
  },
  infix: INFIX,
  call: (op, a, b, _t, at) => call(op, a, b, at),
  unary: (op, a, t, at) => UNARY[op](a, op === "not" ? at : t),
  select: (c, a, b) => `select(${b}, ${a}, ${c})`,
  cast(a, from, to) {
    if (to === "f16" || to === "bf16") return isF(from) ? `_${to}(${a})` : `_${to}(f32(${a}))`;
    if (isF(from) && to === "f32") return a;
    return `${TYPE[to]}(${a})`;
  },
  bitcast: (a, _from, to) => `bitcast<${TYPE[to]}>(${a})`,
  builtin: (which, axis) => `${which}.${"xyz"[axis]}`,
  uniform: (name) => `u.${name}`,
  load: (buf, index, t) => (t === "bool" ? `(${buf}[${index}] != 0u)` : `${buf}[${index}]`),
  store: (buf, index, value, t) => `${buf}[${index}] = ${t === "bool" ? `select(0u, 1u, ${value})` : value};`,
  sload: (arr, index) => `${arr}[${index}]`,
  sstore: (arr, index, value) => `${arr}[${index}] = ${value};`,
  let: (name, t, init, mutable) => `${mutable ? "var" : "let"} ${name}: ${TYPE[t]} = ${init};`,
  forHeader: (v, start, end, step) => `for (var ${v}: i32 = ${start}; ${v} < ${end}; ${v} += ${step})`,
  barrier: "workgroupBarrier();",
  header(k: Kernel) {
    return makeHeader(k, TYPE, STORAGE, roundingCasts, noStmt, []);
  },
  footer: () => ["}"],
};

// ── shader-f16 ──────────────────────────────────────────────────────────────────────────────

const TYPE16: Record<KType, string> = { ...TYPE, f16: "f16" };
const STORAGE16: Record<KType, string> = { ...STORAGE, f16: "f16" };
/**
 * f32 → f16: rounded to nearest even by bits (_f16), then converted; that conversion is exact, since
 * the value is representable. Infinities and NaN are built from bits (a float conversion of them
 * is indeterminate in WGSL).
 */
const H16 =
  "fn _h16(x: f32) -> f16 { let r = _f16(x); let b = bitcast<u32>(r); let a = b & 0x7fffffffu; if (a >= 0x7f800000u) { return bitcast<vec2<f16>>(((b >> 16u) & 0x8000u) | select(0x7c00u, 0x7e00u, a > 0x7f800000u)).x; } return f16(r); }";

/** Does the kernel hold any f16 value (buffer, workgroup array or expression)? */
export function kernelUsesF16(k: Kernel): boolean {
  if (k.buffers.some((b) => b.t === "f16") || k.shared.some((s) => s.t === "f16")) return true;
  let any = false;
  forEachKernelNode(k, (s) => {
    if (s.k === "let" && s.t === "f16") any = true;
  }, (e) => {
    if (e.t === "f16") any = true;
  });
  return any;
}

/**
 * The shader-f16 dialect for one kernel (`enable f16;`): f16 values are `f16` in storage, workgroup
 * memory and registers. Arithmetic stays in f32, as the kernel IR defines it (an op on f16 values
 * computes in f32 and rounds once): f16 operands are widened with the exact f32() conversion where
 * they are used, and results rounded by _h16. Kernels without f16 print as in the f32 dialect.
 */
export function wgslF16(k: Kernel): Dialect {
  const bufType = new Map(k.buffers.map((b) => [b.name, b.t]));
  const w = (a: string, t: KType) => (t === "f16" ? `f32(${a})` : a);
  return {
    ...wgsl,
    type: (t) => TYPE16[t],
    literal(v, t) {
      if (t !== "f16") return wgsl.literal(v, t);
      if (!Number.isFinite(v)) return `_h16(${f32Literal(v)})`;
      // constants the lowering made for f32 arithmetic (e.g. gelu's 1/√2) stay f32, as in the f32 dialect
      if (roundF16(v) !== v) return f32Literal(v);
      let s = String(v);
      if (!/[.e]/.test(s)) s += ".0";
      return `${s}h`;
    },
    // every binary op goes through call, which sees the operand type and widens f16 operands
    infix: {},
    call(op, a, b, t, at) {
      // the second operand of a float op is widened too (f32() of an f32 is the identity)
      const r = at === "f16" || at === "f32" ? call(op, w(a, "f16"), `f32(${b})`, at === "f16" ? "f32" : at) : call(op, a, b, at);
      return t === "f16" ? `_h16(${r})` : r;
    },
    unary(op, a, t, at) {
      if (at !== "f16") return UNARY[op](a, op === "not" ? at : t);
      const r = UNARY[op](w(a, at), op === "not" ? at : t === "f16" ? "f32" : t);
      return t === "f16" ? `_h16(${r})` : r;
    },
    cast(a, from, to) {
      if (from === to) return a;
      if (to === "f16") return isF(from) ? `_h16(${a})` : `_h16(f32(${a}))`;
      if (from === "f16") return to === "f32" ? `f32(${a})` : to === "bf16" ? `_bf16(f32(${a}))` : `${TYPE[to]}(${a})`;
      return wgsl.cast(a, from, to);
    },
    // a float select may have f16 branches (an op retyped to f32 around them): widen both
    select: (c, a, b, t) => (t === "f32" || t === "bf16" ? `select(f32(${b}), f32(${a}), ${c})` : `select(${b}, ${a}, ${c})`),
    bitcast: (a, from, to) => `bitcast<${TYPE16[to]}>(${w(a, from)})`,
    store(buf, index, value, t) {
      if (bufType.get(buf) === "f16" && t !== "f16") return `${buf}[${index}] = _h16(${isF(t) ? value : `f32(${value})`});`;
      return wgsl.store(buf, index, value, t);
    },
    let: (name, t, init, mutable) => `${mutable ? "var" : "let"} ${name}: ${TYPE16[t]} = ${init};`,
    header(k2: Kernel) {
      let h16 = false;
      forEachKernelNode(k2, (s) => {
        if (s.k === "store" && bufType.get(s.buf) === "f16" && s.value.t !== "f16") h16 = true;
      }, (e) => {
        if (e.t === "f16" && (e.k === "cast" || e.k === "unary" || e.k === "binary" || (e.k === "const" && !Number.isFinite(e.v)))) h16 = true;
      });
      const out = makeHeader(k2, TYPE16, STORAGE16, (e, need) => {
        if (e.k === "cast" && e.t === "bf16") need("_bf16");
      }, (need) => {
        if (h16) need("_f16");
      }, ["enable f16;"]);
      if (h16) out.splice(out.findIndex((l) => l.startsWith("@compute")), 0, H16);
      return out;
    },
  };
}

/** WGSL of a kernel; with `f16` (the target has shader-f16), kernels holding f16 values use the shader-f16 dialect. */
export function printWgsl(k: Kernel, opts: { f16?: boolean } = {}): string {
  return printKernel(k, opts.f16 && kernelUsesF16(k) ? wgslF16(k) : wgsl);
}
