/**
 * CUDA C++ as a dialect of the C-style printer (backends/shared/cstyle.ts): type and op tables, the
 * kernel signature, and a prelude of `static __device__` helpers emitted only when a kernel uses
 * them (floored integer division, NaN-propagating float min/max, NaN tests that survive fast-math,
 * sign, f16/bf16 rounding, float mod that cannot be contracted into an FMA).
 *
 * Storage convention (the same as WGSL, so one runtime buffer plan serves both targets): every
 * buffer element is 4 bytes. f32, f16 and bf16 buffers are `float` arrays (f16/bf16 values are held
 * in f32 registers and storage and rounded on every conversion to f16/bf16 by a
 * `__float2half_rn`/`__float2bfloat16_rn` round trip), i32 is `int`, u32 is `unsigned int`, and
 * bool is an `unsigned int` 0/1.
 *
 * Signature (the runtime relies on it): `extern "C" __global__ void __launch_bounds__(X*Y*Z)
 * NAME(buffers..., const NAME_uniforms u)`: one pointer per kernel buffer in order (`const T*
 * __restrict__` when read-only), then the uniform block passed by value: a struct of the kernel's
 * uniforms in order (4 bytes each: int, unsigned int or float) followed by `unsigned int _inf`
 * (= 0x7f800000), byte-identical to the WGSL uniform block. Kernels launch with blockDim =
 * workgroup and gridDim = dispatch; gid/lid/wid/nwg are blockIdx·blockDim + threadIdx, threadIdx,
 * blockIdx and gridDim. Workgroup arrays are `__shared__` arrays declared in the kernel body.
 *
 * Semantics notes (kernel IR header, compiler/kernel/ir.ts):
 * - i32 add/sub/mul are printed as plain C operators. The IR says they wrap; PTX integer arithmetic
 *   wraps, and the CPU emulator compiles with -fwrapv, but C++ calls signed overflow undefined, so
 *   an optimizer may in principle assume it away. Lowering only overflows on user i32 arithmetic
 *   that overflows in the graph too.
 * - i32 `div`/`mod` are floored, divide-by-zero gives 0, INT_MIN / -1 wraps (helpers).
 * - float `min`/`max` propagate NaN (helpers over fminf/fmaxf); `pow` is powf, whose C99 special
 *   cases (negative base with an integer exponent, pow(x, 0) = 1, pow(1, y) = 1) are the graph's.
 * - float → int casts saturate and map NaN to 0 (`__float2int_rz`/`__float2uint_rz`).
 * - shifts take the amount mod 32, like WGSL.
 * - infinities and NaN are `INFINITY`/`NAN` (nvcc does not reject them as WGSL does).
 */
import type { KBinary, KExpr, KMma, KShared, KStmt, KType, KUnary, KWarpReduce, Kernel } from "../../compiler/kernel/ir.ts";
import { forEachKernelNode } from "../../compiler/kernel/ir.ts";
import { logicOp, printKernel, type Dialect } from "../shared/cstyle.ts";

/** Register types. */
const TYPE: Record<KType, string> = { f32: "float", f16: "float", bf16: "float", i32: "int", u32: "unsigned int", bool: "bool" };
/** Storage element types: 4 bytes each (bool as unsigned int, f16/bf16 as float). */
export const CUDA_STORAGE: Record<KType, string> = { f32: "float", f16: "float", bf16: "float", i32: "int", u32: "unsigned int", bool: "unsigned int" };
/** Uniform field types (4 bytes each). */
const UNIFORM: Record<KType, string> = { f32: "float", f16: "float", bf16: "float", i32: "int", u32: "unsigned int", bool: "unsigned int" };

const isF = (t: KType) => t === "f32" || t === "f16" || t === "bf16";

const D = "static __device__ __forceinline__";
/** Prelude helpers, in the order they are printed. */
const HELPERS: Record<string, string> = {
  attnc_isnan: `${D} bool attnc_isnan(float x) { return (__float_as_uint(x) & 0x7fffffffu) > 0x7f800000u; }`,
  attnc_fdiv: `${D} int attnc_fdiv(int a, int b) { if (b == 0) return 0; if (b == -1) return (int)(0u - (unsigned int)a); int q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1; return q; }`,
  attnc_fmod: `${D} int attnc_fmod(int a, int b) { if (b == 0 || b == -1) return 0; int r = a % b; if (r != 0 && ((r < 0) != (b < 0))) r += b; return r; }`,
  attnc_udiv: `${D} unsigned int attnc_udiv(unsigned int a, unsigned int b) { return b == 0u ? 0u : a / b; }`,
  attnc_umod: `${D} unsigned int attnc_umod(unsigned int a, unsigned int b) { return b == 0u ? 0u : a % b; }`,
  attnc_fmodf: `${D} float attnc_fmodf(float a, float b) { return __fsub_rn(a, __fmul_rn(floorf(a / b), b)); }`,
  attnc_fminf: `${D} float attnc_fminf(float a, float b) { return (attnc_isnan(a) || attnc_isnan(b)) ? a + b : fminf(a, b); }`,
  attnc_fmaxf: `${D} float attnc_fmaxf(float a, float b) { return (attnc_isnan(a) || attnc_isnan(b)) ? a + b : fmaxf(a, b); }`,
  attnc_imin: `${D} int attnc_imin(int a, int b) { return a < b ? a : b; }`,
  attnc_imax: `${D} int attnc_imax(int a, int b) { return a > b ? a : b; }`,
  attnc_umin: `${D} unsigned int attnc_umin(unsigned int a, unsigned int b) { return a < b ? a : b; }`,
  attnc_umax: `${D} unsigned int attnc_umax(unsigned int a, unsigned int b) { return a > b ? a : b; }`,
  attnc_signf: `${D} float attnc_signf(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }`,
  attnc_f16: `${D} float attnc_f16(float x) { return __half2float(__float2half_rn(x)); }`,
  attnc_bf16: `${D} float attnc_bf16(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }`,
  // argmax step of a warp reduction: take the other lane's (value, index)? NaN above all, ties to the lower index
  attnc_argmax_take: `${D} bool attnc_argmax_take(float v, int i, float ov, int oi) { const bool vn = attnc_isnan(v), on = attnc_isnan(ov); if (vn || on) return on && (!vn || oi < i); return ov > v || (ov == v && oi < i); }`,
  // pseudo-helpers: headers only
  attnc_half_t: "",
  attnc_bf16_t: "",
  attnc_wmma: "",
};
/** Helpers that call other helpers. */
const DEPS: Record<string, string[]> = { attnc_fminf: ["attnc_isnan"], attnc_fmaxf: ["attnc_isnan"], attnc_argmax_take: ["attnc_isnan"] };

/** CUDA element type of a packed f16/bf16 workgroup array. */
const PACKED: Partial<Record<KType, string>> = { f16: "__half", bf16: "__nv_bfloat16" };
const isPacked = (s: KShared | undefined): boolean => !!s?.packed && PACKED[s.t] !== undefined;
const sharedOf = (k: Kernel, arr: string): KShared | undefined => k.shared.find((s) => s.name === arr);

const UNARY: Record<KUnary, (a: string, t: KType) => string> = {
  neg: (a) => `(-${a})`,
  not: (a, t) => (t === "bool" ? `(!${a})` : `(~${a})`),
  abs: (a, t) => (isF(t) ? `fabsf(${a})` : t === "u32" ? a : `abs(${a})`),
  exp: (a) => `expf(${a})`,
  log: (a) => `logf(${a})`,
  sqrt: (a) => `sqrtf(${a})`,
  rsqrt: (a) => `rsqrtf(${a})`,
  sin: (a) => `sinf(${a})`,
  cos: (a) => `cosf(${a})`,
  tan: (a) => `tanf(${a})`,
  asin: (a) => `asinf(${a})`,
  acos: (a) => `acosf(${a})`,
  atan: (a) => `atanf(${a})`,
  tanh: (a) => `tanhf(${a})`,
  floor: (a, t) => (isF(t) ? `floorf(${a})` : a),
  ceil: (a, t) => (isF(t) ? `ceilf(${a})` : a),
  round: (a, t) => (isF(t) ? `rintf(${a})` : a),
  sign: (a, t) => (isF(t) ? `attnc_signf(${a})` : t === "u32" ? `((unsigned int)(${a} > 0u))` : `((int)(${a} > 0) - (int)(${a} < 0))`),
  erf: (a) => `erff(${a})`,
  log1p: (a) => `log1pf(${a})`,
  expm1: (a) => `expm1f(${a})`,
  isnan: (a) => `attnc_isnan(${a})`,
};

/** A float literal that parses back to exactly Math.fround(v). */
function floatLiteral(v: number): string {
  if (Number.isNaN(v)) return "NAN";
  const f = Math.fround(v);
  if (f === Infinity) return "INFINITY";
  if (f === -Infinity) return "(-INFINITY)";
  if (Object.is(f, -0)) return "(-0.0f)";
  let s = String(f);
  if (!/[.e]/.test(s)) s += ".0";
  return `${s}f`;
}

/** The helpers a kernel's expressions need (dependencies included), in prelude order. */
export function cudaHelpers(kernel: Kernel): string[] {
  const k = legalizeCuda(kernel);
  const need = new Set<string>();
  const add = (h: string) => {
    if (need.has(h)) return;
    (DEPS[h] ?? []).forEach(add);
    need.add(h);
  };
  forEachKernelNode(k, () => {}, (e: KExpr) => {
    if (e.k === "unary") {
      if (e.op === "isnan") add("attnc_isnan");
      if (e.op === "sign" && isF(e.a.t)) add("attnc_signf");
    }
    if (e.k === "binary") {
      const t = e.a.t;
      if (e.op === "div" && t === "i32") add("attnc_fdiv");
      if (e.op === "div" && t === "u32") add("attnc_udiv");
      if (e.op === "mod") add(isF(t) ? "attnc_fmodf" : t === "u32" ? "attnc_umod" : "attnc_fmod");
      if (e.op === "min" || e.op === "max") add(isF(t) ? `attnc_f${e.op}f` : t === "u32" ? `attnc_u${e.op}` : `attnc_i${e.op}`);
    }
    if (e.k === "cast" && (e.t === "f16" || e.t === "bf16")) add(`attnc_${e.t}`);
  });
  forEachKernelNode(k, (s) => {
    if (s.k === "warp_reduce") {
      const f = isF(s.t);
      if (s.op === "argmax") {
        if (f) add("attnc_argmax_take");
      } else if (s.op !== "sum") add(f ? `attnc_f${s.op}f` : s.t === "u32" ? `attnc_u${s.op}` : `attnc_i${s.op}`);
    }
    if (s.k === "mma") {
      add("attnc_wmma");
      add(s.ab === "f16" ? "attnc_half_t" : "attnc_bf16_t");
    }
  }, () => {});
  for (const sh of k.shared) if (isPacked(sh)) add(sh.t === "f16" ? "attnc_half_t" : "attnc_bf16_t");
  return Object.keys(HELPERS).filter((h) => need.has(h));
}

/** The #include lines a set of helpers needs. */
function includesFor(helpers: Iterable<string>): string[] {
  const hs = new Set(helpers);
  const out: string[] = [];
  if (hs.has("attnc_f16") || hs.has("attnc_half_t")) out.push("#include <cuda_fp16.h>");
  if (hs.has("attnc_bf16") || hs.has("attnc_bf16_t")) out.push("#include <cuda_bf16.h>");
  // the CPU emulator (native/emu/attnc_emu.h) brings its own nvcuda::wmma
  if (hs.has("attnc_wmma")) out.push("#ifndef ATTNC_EMU", "#include <mma.h>", "#endif");
  return out;
}

/**
 * The prelude (includes and helper definitions) for a set of helper names. Each helper is guarded
 * (`#ifndef ATTNC_HELPER_<name>`), so the sources of several modules can be concatenated.
 */
export function cudaPrelude(helpers: Iterable<string>): string[] {
  const hs = new Set(helpers);
  const out = includesFor(hs);
  for (const h of Object.keys(HELPERS)) if (hs.has(h) && HELPERS[h]) out.push(`#ifndef ATTNC_HELPER_${h}`, `#define ATTNC_HELPER_${h}`, HELPERS[h]!, "#endif");
  return out;
}

/** The name of a kernel's uniform struct. */
export const uniformStructName = (kernelName: string): string => `${kernelName}_uniforms`;

/** The uniform struct definition (guarded, so a .cu and a header that both define it can be combined). */
export function uniformStruct(k: Kernel): string[] {
  const name = uniformStructName(k.name);
  const guard = `ATTNC_UNIFORMS_${k.name}`;
  const fields = [...k.uniforms.map((u) => `${UNIFORM[u.t]} ${u.name};`), "unsigned int _inf;"];
  return [`#ifndef ${guard}`, `#define ${guard}`, `struct ${name} { ${fields.join(" ")} };`, "#endif"];
}

/** `extern "C" __global__ ...(params) {` for a kernel. */
export function kernelSignature(k: Kernel): string {
  const [x, y, z] = k.workgroup;
  const params = [
    ...k.buffers.map((b) => `${b.access === "read" ? "const " : ""}${CUDA_STORAGE[b.t]}* __restrict__ ${b.name}`),
    `const ${uniformStructName(k.name)} u`,
  ];
  return `extern "C" __global__ void __launch_bounds__(${x * y * z}) ${k.name}(${params.join(", ")}) {`;
}

export interface CudaDialectOptions {
  /** Print the #includes and helpers before the kernel (a standalone translation unit). Default true. */
  readonly prelude?: boolean;
}

export function cudaDialect(opts: CudaDialectOptions = {}): Dialect {
  const prelude = opts.prelude ?? true;
  return {
    name: "cuda",
    type: (t) => TYPE[t],
    literal(v, t) {
      if (t === "bool") return v ? "true" : "false";
      if (t === "i32") {
        const i = v | 0;
        return i === -2147483648 ? "(-2147483647 - 1)" : String(i);
      }
      if (t === "u32") return `${v >>> 0}u`;
      return floatLiteral(v);
    },
    infix: { add: "+", sub: "-", mul: "*", eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=", bitand: "&", bitor: "|" },
    call(op: KBinary, a, b, _t, at) {
      switch (op) {
        case "div":
          return isF(at) ? `(${a} / ${b})` : at === "u32" ? `attnc_udiv(${a}, ${b})` : `attnc_fdiv(${a}, ${b})`;
        case "mod":
          return isF(at) ? `attnc_fmodf(${a}, ${b})` : at === "u32" ? `attnc_umod(${a}, ${b})` : `attnc_fmod(${a}, ${b})`;
        case "min":
        case "max":
          return `attnc_${isF(at) ? `f${op}f` : at === "u32" ? `u${op}` : `i${op}`}(${a}, ${b})`;
        case "pow":
          return `powf(${a}, ${b})`;
        case "atan2":
          return `atan2f(${a}, ${b})`;
        case "and":
        case "or":
        case "xor":
          return logicOp(op, a, b, at);
        case "shl":
          return `(${a} << (${b} & 31))`;
        case "shr":
          return `(${a} >> (${b} & 31))`;
        default:
          throw new Error(`cuda: no spelling for binary '${op}'`);
      }
    },
    unary: (op, a, t, at) => UNARY[op](a, op === "not" || op === "isnan" || op === "sign" || op === "abs" ? at : t),
    select: (c, a, b) => `(${c} ? ${a} : ${b})`,
    cast(a, from, to) {
      if (to === "f16" || to === "bf16") return isF(from) ? `attnc_${to}(${a})` : `attnc_${to}((float)(${a}))`;
      if (to === "f32") return isF(from) ? a : `((float)(${a}))`;
      if (to === "i32") return isF(from) ? `__float2int_rz(${a})` : `((int)(${a}))`;
      if (to === "u32") return isF(from) ? `__float2uint_rz(${a})` : `((unsigned int)(${a}))`;
      return isF(from) ? `(${a} != 0.0f)` : `(${a} != 0)`;
    },
    bitcast(a, from, to) {
      const f = isF(from) ? "f" : from === "u32" ? "u" : "i";
      const g = isF(to) ? "f" : to === "u32" ? "u" : "i";
      if (f === g) return a;
      if (f === "f") return g === "u" ? `__float_as_uint(${a})` : `__float_as_int(${a})`;
      if (g === "f") return f === "u" ? `__uint_as_float(${a})` : `__int_as_float(${a})`;
      return `((${TYPE[to]})(${a}))`;
    },
    builtin(which, axis) {
      const c = "xyz"[axis];
      switch (which) {
        case "gid":
          return `(blockIdx.${c} * blockDim.${c} + threadIdx.${c})`;
        case "lid":
          return `threadIdx.${c}`;
        case "wid":
          return `blockIdx.${c}`;
        case "nwg":
          return `gridDim.${c}`;
      }
    },
    uniform: (name) => `u.${name}`,
    load: (buf, index, t) => (t === "bool" ? `(${buf}[${index}] != 0u)` : `${buf}[${index}]`),
    store: (buf, index, value, t) => `${buf}[${index}] = ${t === "bool" ? `(${value} ? 1u : 0u)` : value};`,
    sload(arr, index, k) {
      const sh = sharedOf(k, arr);
      if (!isPacked(sh)) return `${arr}[${index}]`;
      return sh!.t === "f16" ? `__half2float(${arr}[${index}])` : `__bfloat162float(${arr}[${index}])`;
    },
    sstore(arr, index, value, k) {
      const sh = sharedOf(k, arr);
      if (!isPacked(sh)) return `${arr}[${index}] = ${value};`;
      return `${arr}[${index}] = ${sh!.t === "f16" ? "__float2half_rn" : "__float2bfloat16_rn"}(${value});`;
    },
    let: (name, t, init, mutable) => `${mutable ? "" : "const "}${TYPE[t]} ${name} = ${init};`,
    forHeader: (v, start, end, step) => `for (int ${v} = ${start}; ${v} < ${end}; ${v} += ${step})`,
    barrier: "__syncthreads();",
    warpReduce: printWarpReduce,
    mma: printMma,
    header(k: Kernel) {
      const out: string[] = [`// attnc kernel ${k.name}`];
      if (prelude) out.push(...cudaPrelude(cudaHelpers(k)));
      out.push(...uniformStruct(k), kernelSignature(k));
      // wmma operands need 32-byte aligned tiles
      const tiles = new Set<string>();
      forEachKernelNode(k, (s) => {
        if (s.k === "mma") [s.a, s.b, s.c].forEach((t) => tiles.add(t.arr));
      }, () => {});
      for (const s of k.shared) {
        const align = tiles.has(s.name) ? "__align__(32) " : "";
        out.push(isPacked(s) ? `  __shared__ ${align}${PACKED[s.t]} ${s.name}[${s.size}];` : `  __shared__ ${align}${TYPE[s.t]} ${s.name}[${s.size}];`);
      }
      return out;
    },
    footer: () => ["}"],
  };
}

const FULL_MASK = "0xffffffffu";

/** A warp reduction as a `__shfl_xor_sync` butterfly over groups of `width` lanes (log2(width) steps). */
function printWarpReduce(s: KWarpReduce, p: string): string[] {
  const w = s.width;
  if (!(w >= 2 && w <= 32 && (w & (w - 1)) === 0)) throw new Error(`cuda: warp reduction width ${w} is not a power of two in [2, 32]`);
  const v = s.value;
  const f = isF(s.t);
  const shfl = (x: string) => `__shfl_xor_sync(${FULL_MASK}, ${x}, attnc_lo, ${w})`;
  const head = `${p}for (int attnc_lo = ${w / 2}; attnc_lo > 0; attnc_lo >>= 1) {`;
  switch (s.op) {
    case "sum":
      return [head, `${p}  ${v} = (${v} + ${shfl(v)});`, `${p}}`];
    case "max":
    case "min": {
      const fn = `attnc_${f ? `f${s.op}f` : s.t === "u32" ? `u${s.op}` : `i${s.op}`}`;
      return [head, `${p}  ${v} = ${fn}(${v}, ${shfl(v)});`, `${p}}`];
    }
    case "argmax": {
      const ix = s.index;
      if (ix === undefined) throw new Error("cuda: argmax warp reduction without an index variable");
      const take = f ? `attnc_argmax_take(${v}, ${ix}, attnc_ov, attnc_oi)` : `(attnc_ov > ${v} || (attnc_ov == ${v} && attnc_oi < ${ix}))`;
      return [
        head,
        `${p}  const ${TYPE[s.t]} attnc_ov = ${shfl(v)};`,
        `${p}  const int attnc_oi = ${shfl(ix)};`,
        `${p}  if (${take}) { ${v} = attnc_ov; ${ix} = attnc_oi; }`,
        `${p}}`,
      ];
    }
  }
}

/** A warp matrix multiply-accumulate as nvcuda::wmma fragments (16×16×16, f32 accumulate). */
function printMma(s: KMma, off: { a: string; b: string; c: string }, p: string, k: Kernel): string[] {
  const W = "nvcuda::wmma::";
  const T = PACKED[s.ab]!;
  for (const [tile, t] of [[s.a, s.ab], [s.b, s.ab], [s.c, "f32"]] as const) {
    const sh = sharedOf(k, tile.arr);
    if (!sh || sh.t !== t || (t !== "f32" && !isPacked(sh))) throw new Error(`cuda: mma operand '${tile.arr}' of ${k.name} is not a ${t === "f32" ? "f32" : `packed ${t}`} workgroup array`);
    if (tile.ld % (t === "f32" ? 4 : 8) !== 0) throw new Error(`cuda: mma operand '${tile.arr}' of ${k.name} has leading dimension ${tile.ld}`);
  }
  const bStep = s.b.layout === "row" ? 16 * s.b.ld : 16;
  const step = (x: string, n: number) => (s.ksteps === 1 ? x : `${x} + attnc_ks * ${n}`);
  const body = [
    `${W}fragment<${W}matrix_a, 16, 16, 16, ${T}, ${W}row_major> attnc_fa;`,
    `${W}fragment<${W}matrix_b, 16, 16, 16, ${T}, ${W}${s.b.layout}_major> attnc_fb;`,
    `${W}load_matrix_sync(attnc_fa, ${step(`${s.a.arr} + ${off.a}`, 16)}, ${s.a.ld});`,
    `${W}load_matrix_sync(attnc_fb, ${step(`${s.b.arr} + ${off.b}`, bStep)}, ${s.b.ld});`,
    `${W}mma_sync(attnc_fc, attnc_fa, attnc_fb, attnc_fc);`,
  ];
  const cPtr = `${s.c.arr} + ${off.c}`;
  return [
    `${p}{`,
    `${p}  ${W}fragment<${W}accumulator, 16, 16, 16, float> attnc_fc;`,
    s.acc ? `${p}  ${W}load_matrix_sync(attnc_fc, ${cPtr}, ${s.c.ld}, ${W}mem_row_major);` : `${p}  ${W}fill_fragment(attnc_fc, 0.0f);`,
    ...(s.ksteps === 1 ? body.map((l) => `${p}  ${l}`) : [`${p}  for (int attnc_ks = 0; attnc_ks < ${s.ksteps}; attnc_ks++) {`, ...body.map((l) => `${p}    ${l}`), `${p}  }`]),
    `${p}  ${W}store_matrix_sync(${cPtr}, attnc_fc, ${s.c.ld}, ${W}mem_row_major);`,
    `${p}}`,
  ];
}

/**
 * Legalization for CUDA: drops `let`s whose variable is never read (nvcc warns about them, and
 * --Werror all-warnings turns that into an error), with the assignments to them, until none is
 * left. Kernel IR expressions have no side effects, so this never changes what a kernel does.
 */
export function legalizeCuda(k: Kernel): Kernel {
  let body = k.body;
  for (;;) {
    const read = new Set<string>();
    forEachKernelNode({ ...k, body }, () => {}, (e) => {
      if (e.k === "var") read.add(e.name);
    });
    let dropped = false;
    const prune = (ss: readonly KStmt[]): KStmt[] =>
      ss.flatMap((s): KStmt[] => {
        switch (s.k) {
          case "let":
          case "assign":
            if (read.has(s.name)) return [s];
            dropped = true;
            return [];
          case "if":
            return [{ ...s, then: prune(s.then), ...(s.else ? { else: prune(s.else) } : {}) }];
          case "for":
            return [{ ...s, body: prune(s.body) }];
          default:
            return [s];
        }
      });
    const next = prune(body);
    if (!dropped) return body === k.body ? k : { ...k, body };
    body = next;
  }
}

/** The standalone dialect (prelude included). */
export const cuda: Dialect = cudaDialect();
const bare: Dialect = cudaDialect({ prelude: false });

/** One kernel as a standalone CUDA translation unit (includes, helpers, uniform struct, kernel). */
export function printCuda(k: Kernel): string {
  return printKernel(legalizeCuda(k), cuda);
}

/** One kernel without includes and helpers (for a module that prints their union once). */
export function printCudaKernelOnly(k: Kernel): string {
  return printKernel(legalizeCuda(k), bare);
}

/** Whether a kernel synchronizes its threads (barriers or warp collectives). */
export function usesBarrier(k: Kernel): boolean {
  let b = false;
  forEachKernelNode(k, (s) => {
    if (s.k === "barrier" || s.k === "warp_reduce" || s.k === "mma") b = true;
  }, () => {});
  return b;
}
