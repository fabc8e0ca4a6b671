/**
 * WGSL as a dialect of the C-style printer: type and op tables, the binding layout and a prelude of
 * helpers for what WGSL lacks or defines differently (floored integer division, NaN-propagating
 * min/max, erf, pow of negative bases, NaN tests that compilers cannot fold away, infinities that
 * are not constant-folded). Without `shader-f16`, f16 values live in f32 registers and f32 storage
 * and are rounded to half precision on every conversion to f16 (pack2x16float).
 *
 * Binding layout (the runtime relies on it): binding i = buffers[i] in order, then one uniform
 * struct at binding buffers.length holding the kernel's uniforms in order (4 bytes each), then
 * `_inf: u32` = 0x7f800000.
 */
import type { KBinary, KType, KUnary, Kernel } from "../../compiler/kernel/ir.ts";
import { forEachKernelNode } from "../../compiler/kernel/ir.ts";
import { printKernel, type Dialect } from "../shared/cstyle.ts";

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
  _pow: "fn _pow(a: f32, b: f32) -> f32 { if (b == 0.0) { return 1.0; } if (a < 0.0 && floor(b) == b) { let m = pow(-a, b); if (_fmodf(b, 2.0) == 1.0) { return -m; } return m; } if (a == 0.0 && b > 0.0) { return 0.0; } return pow(a, b); }",
  _erf: "fn _erf(x: f32) -> f32 { let t = 1.0 / (1.0 + 0.5 * abs(x)); let y = 1.0 - t * exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))); return select(-y, y, x >= 0.0); }",
  _log1p: "fn _log1p(x: f32) -> f32 { let u = 1.0 + x; if (u == 1.0) { return x; } return log(u) * x / (u - 1.0); }",
  _expm1: "fn _expm1(x: f32) -> f32 { if (abs(x) < 1e-5) { return x + 0.5 * x * x; } return exp(x) - 1.0; }",
  _bf16: "fn _bf16(x: f32) -> f32 { let b = bitcast<u32>(x); if ((b & 0x7fffffffu) > 0x7f800000u) { return x; } return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u); }",
  _f16: "fn _f16(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2f(x, 0.0))).x; }",
};
/** Helpers that call other helpers. */
const DEPS: Record<string, string[]> = { _fmin: ["_isnan"], _fmax: ["_isnan"], _pow: ["_fmodf"] };

const UNARY: Record<KUnary, (a: string, t: KType) => string> = {
  neg: (a) => `(-${a})`,
  not: (a, t) => (t === "bool" ? `(!${a})` : `(~${a})`),
  abs: (a) => `abs(${a})`,
  exp: (a) => `exp(${a})`,
  log: (a) => `log(${a})`,
  sqrt: (a) => `sqrt(${a})`,
  rsqrt: (a) => `inverseSqrt(${a})`,
  sin: (a) => `sin(${a})`,
  cos: (a) => `cos(${a})`,
  tan: (a) => `tan(${a})`,
  asin: (a) => `asin(${a})`,
  acos: (a) => `acos(${a})`,
  atan: (a) => `atan(${a})`,
  tanh: (a) => `tanh(${a})`,
  floor: (a) => `floor(${a})`,
  ceil: (a) => `ceil(${a})`,
  round: (a) => `round(${a})`,
  sign: (a) => `sign(${a})`,
  erf: (a) => `_erf(${a})`,
  log1p: (a) => `_log1p(${a})`,
  expm1: (a) => `_expm1(${a})`,
  isnan: (a) => `_isnan(${a})`,
};

export const wgsl: Dialect = {
  name: "wgsl",
  type: (t) => TYPE[t],
  literal(v, t) {
    if (t === "bool") return v ? "true" : "false";
    if (t === "i32") return v === -2147483648 ? "i32(-2147483647 - 1)" : `${v | 0}i`;
    if (t === "u32") return `${v >>> 0}u`;
    if (Number.isNaN(v)) return "bitcast<f32>(u._inf | 0x400000u)";
    if (v === Infinity) return "bitcast<f32>(u._inf)";
    if (v === -Infinity) return "(-bitcast<f32>(u._inf))";
    const f = Math.fround(v);
    if (f === Infinity || f === -Infinity) return f > 0 ? "bitcast<f32>(u._inf)" : "(-bitcast<f32>(u._inf))";
    let s = String(f);
    if (!/[.e]/.test(s)) s += ".0";
    return `${s}f`;
  },
  infix: { add: "+", sub: "-", mul: "*", eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=", shl: "<<", shr: ">>", bitand: "&", bitor: "|" },
  call(op: KBinary, a, b, _t, at) {
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
        return `atan2(${a}, ${b})`;
      case "and":
        return at === "bool" ? `(${a} && ${b})` : `(${a} & ${b})`;
      case "or":
        return at === "bool" ? `(${a} || ${b})` : `(${a} | ${b})`;
      case "xor":
        return at === "bool" ? `(${a} != ${b})` : `(${a} ^ ${b})`;
      default:
        throw new Error(`wgsl: no spelling for binary '${op}'`);
    }
  },
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
    const out: string[] = [];
    const helpers = new Set<string>();
    const need = (h: string) => {
      if (helpers.has(h)) return;
      (DEPS[h] ?? []).forEach(need);
      helpers.add(h);
    };
    forEachKernelNode(k, () => {}, (e) => {
      if (e.k === "unary" && ["erf", "log1p", "expm1", "isnan"].includes(e.op)) need(`_${e.op}`);
      if (e.k === "binary") {
        const f = isF(e.a.t);
        if (e.op === "div" && e.a.t === "i32") need("_fdiv");
        if (e.op === "mod") need(f ? "_fmodf" : e.a.t === "i32" ? "_fmod" : "");
        if ((e.op === "min" || e.op === "max") && f) need(`_f${e.op}`);
        if (e.op === "pow") need("_pow");
      }
      if (e.k === "cast" && (e.t === "f16" || e.t === "bf16")) need(`_${e.t}`);
    });
    helpers.delete("");
    out.push(`// attnc kernel ${k.name}`);
    k.buffers.forEach((b, i) =>
      out.push(`@group(0) @binding(${i}) var<storage, ${b.access === "read" ? "read" : "read_write"}> ${b.name}: array<${STORAGE[b.t]}>;`),
    );
    out.push(`struct Uniforms { ${[...k.uniforms.map((u) => `${u.name}: ${TYPE[u.t]}`), "_inf: u32"].join(", ")} }`);
    out.push(`@group(0) @binding(${k.buffers.length}) var<uniform> u: Uniforms;`);
    for (const s of k.shared) out.push(`var<workgroup> ${s.name}: array<${TYPE[s.t]}, ${s.size}>;`);
    for (const h of Object.keys(HELPERS)) if (helpers.has(h)) out.push(HELPERS[h]!);
    const [x, y, z] = k.workgroup;
    out.push(
      `@compute @workgroup_size(${x}, ${y}, ${z})`,
      "fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {",
    );
    return out;
  },
  footer: () => ["}"],
};

export function printWgsl(k: Kernel): string {
  return printKernel(k, wgsl);
}
