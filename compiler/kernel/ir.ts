/**
 * The kernel IR: one compute kernel as structured statements over scalar expressions, the level
 * between the graph IR and the target printers (backends/wgsl, backends/cuda). It is deliberately
 * small and C-like: typed locals, loads/stores of flat-indexed buffers, workgroup (shared) arrays,
 * barriers, counted loops and ifs. Targets differ only by tables and a legalization pass.
 *
 * Semantics
 * - A kernel runs on a grid of workgroups of `workgroup` = [x, y, z] threads. `gid/lid/wid/nwg` are
 *   the global invocation id, local id, workgroup id and number of workgroups (u32), per axis.
 * - Buffers are flat arrays of their element type; `index` is an i32 element offset. An index
 *   outside [0, length) reads 0 and drops the write (lowering emits the guards: printers never
 *   guard implicitly).
 * - Uniforms hold the run-time values of symbolic dims (i32) and scalars; they are read-only.
 * - Integer arithmetic wraps (i32). `div` and `mod` are floored (Python) like the graph IR, and an
 *   integer division by zero gives 0; float `mod` is x - floor(x/y)*y. `min`/`max` on floats
 *   propagate NaN. Printers implement these with prelude helpers where the target differs.
 * - `barrier` synchronizes the workgroup and makes shared-memory writes visible; it must be reached
 *   by every thread of the workgroup (lowering keeps barriers out of divergent control flow).
 * - Warp collectives (`warp_reduce`, `mma`) run on warps: 32 consecutive threads of the linear
 *   local id (x fastest). Every thread of a warp that exists must reach them together (control flow
 *   uniform per warp), and they only appear in kernel variants that require a target capability
 *   (Kernel.variants); a backend without it launches the base kernel, which has none.
 */

/** bf16 and (without shader-f16) f16 values are held in f32 registers and rounded on conversion. */
import type { Dim } from "../graph/dim.ts";

export type KType = "f32" | "f16" | "bf16" | "i32" | "u32" | "bool";

export type KUnary =
  | "neg" | "not" | "abs" | "exp" | "log" | "sqrt" | "rsqrt" | "sin" | "cos" | "tan" | "asin" | "acos" | "atan"
  | "tanh" | "floor" | "ceil" | "round" | "sign" | "erf" | "log1p" | "expm1" | "isnan";
export type KBinary =
  | "add" | "sub" | "mul" | "div" | "mod" | "min" | "max" | "pow" | "atan2"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "and" | "or" | "xor" | "shl" | "shr" | "bitand" | "bitor";

export type KExpr =
  | { readonly k: "const"; readonly v: number; readonly t: KType }
  | { readonly k: "var"; readonly name: string; readonly t: KType }
  | { readonly k: "builtin"; readonly which: "gid" | "lid" | "wid" | "nwg"; readonly axis: 0 | 1 | 2; readonly t: "u32" }
  | { readonly k: "uniform"; readonly name: string; readonly t: KType }
  | { readonly k: "load"; readonly buf: string; readonly index: KExpr; readonly t: KType }
  | { readonly k: "sload"; readonly arr: string; readonly index: KExpr; readonly t: KType }
  | { readonly k: "unary"; readonly op: KUnary; readonly a: KExpr; readonly t: KType }
  | { readonly k: "binary"; readonly op: KBinary; readonly a: KExpr; readonly b: KExpr; readonly t: KType }
  | { readonly k: "select"; readonly c: KExpr; readonly a: KExpr; readonly b: KExpr; readonly t: KType }
  | { readonly k: "cast"; readonly a: KExpr; readonly t: KType }
  /** Reinterpret the bits (f32 <-> u32 <-> i32). */
  | { readonly k: "bitcast"; readonly a: KExpr; readonly t: KType };

export type KStmt =
  | { readonly k: "let"; readonly name: string; readonly t: KType; readonly init: KExpr; readonly mutable: boolean }
  | { readonly k: "assign"; readonly name: string; readonly value: KExpr }
  | { readonly k: "store"; readonly buf: string; readonly index: KExpr; readonly value: KExpr }
  | { readonly k: "sstore"; readonly arr: string; readonly index: KExpr; readonly value: KExpr }
  | { readonly k: "if"; readonly cond: KExpr; readonly then: readonly KStmt[]; readonly else?: readonly KStmt[] }
  /** for (var = start; var < end; var += step), i32. */
  | { readonly k: "for"; readonly var: string; readonly start: KExpr; readonly end: KExpr; readonly step: number; readonly body: readonly KStmt[] }
  | { readonly k: "barrier" }
  | { readonly k: "comment"; readonly text: string }
  | KWarpReduce
  | KMma;

/**
 * Warp reduction (capability "warp-shuffle"): the lanes of a warp form groups of `width`
 * consecutive lanes (a power of two ≤ 32); afterwards the mutable variable `value` (of type `t`)
 * holds the reduction of the group's values in every lane of the group, bit-identical across lanes.
 * sum is a butterfly tree (each step adds two commutative operands, so every lane gets the same
 * bits); max/min propagate NaN like the binary ops; argmax also reduces the i32 variable `index`:
 * the greatest value wins, NaN above everything, ties (and NaNs) toward the lowest index.
 */
export interface KWarpReduce {
  readonly k: "warp_reduce";
  readonly op: "sum" | "max" | "min" | "argmax";
  readonly value: string;
  readonly t: KType;
  readonly index?: string;
  readonly width: number;
}

/** A 16×16 tile in a workgroup array at element `offset` with leading dimension `ld` (elements). */
export interface KTile {
  readonly arr: string;
  readonly offset: KExpr;
  readonly ld: number;
}

/**
 * Warp matrix multiply-accumulate (capability "wmma"), executed by one whole warp:
 *   C ← (acc ? C : 0) + Σ_{s < ksteps} A_s · B_s
 * with C a 16×16 f32 row-major tile, A_s the 16×16 row-major tile `a` shifted right by 16·s
 * columns, and B_s the 16×16 tile `b` shifted down by 16·s rows of the product (row layout:
 * B[k][j] = b[k·ld + j]; col layout: B[k][j] = b[j·ld + k], i.e. `b` holds Bᵀ row-major). A and
 * B are packed f16/bf16 workgroup arrays of type `ab`; products are exact in f32 and accumulate in
 * f32 (in an unspecified order). Offsets must keep tiles 32-byte aligned and `ld` a multiple of 8
 * (A, B) or 4 (C).
 */
export interface KMma {
  readonly k: "mma";
  readonly ab: "f16" | "bf16";
  readonly a: KTile;
  readonly b: KTile & { readonly layout: "row" | "col" };
  readonly c: KTile;
  readonly ksteps: number;
  readonly acc: boolean;
}

/** A target capability a kernel variant may require. */
export type Capability = "warp-shuffle" | "wmma";

/** What a kernel variant uses: plain threads and barriers, warp shuffles, or tensor cores. */
export type KernelVariantKind = "scalar" | "warp-shuffle" | "wmma";

/** A target-specific alternative of a kernel: same name, buffers, uniforms, workgroup and dispatch. */
export interface KernelVariant {
  readonly kind: KernelVariantKind;
  readonly requires: readonly Capability[];
  readonly kernel: Kernel;
}

export interface KBuffer {
  readonly name: string;
  readonly t: KType;
  readonly access: "read" | "read_write";
}

export interface KShared {
  readonly name: string;
  readonly t: KType;
  readonly size: number;
  /**
   * f16/bf16 only: stored at the type's own width (2 bytes) where the target can, as `mma`
   * operands need. Loads give the f32 value; stores take a value already rounded to `t`.
   */
  readonly packed?: boolean;
}

export interface Kernel {
  readonly name: string;
  readonly workgroup: readonly [number, number, number];
  readonly buffers: readonly KBuffer[];
  readonly uniforms: readonly { readonly name: string; readonly t: KType }[];
  readonly shared: readonly KShared[];
  readonly body: readonly KStmt[];
  /**
   * Workgroups along x, y, z as symbolic dims. A kernel whose dispatch is [n, 1, 1] linearizes its
   * workgroup id as wid.x + wid.y * nwg.x, so the runtime may fold n > the x limit into y.
   */
  readonly dispatch: readonly [Dim, Dim, Dim];
  /**
   * Alternatives for targets with more capabilities (most capable last). A backend launches the
   * last variant whose requirements it meets, else this kernel (the scalar path every target runs).
   */
  readonly variants?: readonly KernelVariant[];
}

/** The kernel a target with `caps` launches for `k` (k itself when no variant fits), and its kind. */
export function selectVariant(k: Kernel, caps: ReadonlySet<Capability>): { kernel: Kernel; kind: KernelVariantKind } {
  const vs = k.variants ?? [];
  for (let i = vs.length - 1; i >= 0; i--) {
    const v = vs[i]!;
    if (v.requires.every((c) => caps.has(c))) return { kernel: v.kernel, kind: v.kind };
  }
  return { kernel: k, kind: "scalar" };
}

// ── construction helpers (used by lowering) ───────────────────────────────────────────────

export const K = {
  i32: (v: number): KExpr => ({ k: "const", v, t: "i32" }),
  u32: (v: number): KExpr => ({ k: "const", v, t: "u32" }),
  f32: (v: number): KExpr => ({ k: "const", v, t: "f32" }),
  bool: (v: boolean): KExpr => ({ k: "const", v: v ? 1 : 0, t: "bool" }),
  v: (name: string, t: KType): KExpr => ({ k: "var", name, t }),
  u: (name: string, t: KType = "i32"): KExpr => ({ k: "uniform", name, t }),
  gid: (axis: 0 | 1 | 2 = 0): KExpr => ({ k: "builtin", which: "gid", axis, t: "u32" }),
  lid: (axis: 0 | 1 | 2 = 0): KExpr => ({ k: "builtin", which: "lid", axis, t: "u32" }),
  wid: (axis: 0 | 1 | 2 = 0): KExpr => ({ k: "builtin", which: "wid", axis, t: "u32" }),
  nwg: (axis: 0 | 1 | 2 = 0): KExpr => ({ k: "builtin", which: "nwg", axis, t: "u32" }),
  cast: (a: KExpr, t: KType): KExpr => (a.t === t ? a : a.k === "const" && t !== "bool" ? { k: "const", v: a.v, t } : { k: "cast", a, t }),
  un: (op: KUnary, a: KExpr, t: KType = op === "isnan" || op === "not" && a.t === "bool" ? "bool" : a.t): KExpr => ({ k: "unary", op, a, t }),
  bin: (op: KBinary, a: KExpr, b: KExpr): KExpr => ({ k: "binary", op, a, b, t: CMP.has(op) ? "bool" : a.t }),
  add: (a: KExpr, b: KExpr): KExpr => fold("add", a, b),
  sub: (a: KExpr, b: KExpr): KExpr => fold("sub", a, b),
  mul: (a: KExpr, b: KExpr): KExpr => fold("mul", a, b),
  sel: (c: KExpr, a: KExpr, b: KExpr): KExpr => ({ k: "select", c, a, b, t: a.t }),
  load: (buf: string, index: KExpr, t: KType): KExpr => ({ k: "load", buf, index, t }),
};

const CMP: ReadonlySet<KBinary> = new Set<KBinary>(["eq", "ne", "lt", "le", "gt", "ge"]);

/** Integer add/sub/mul with constant folding and identities (x+0, x*1, x*0). */
function fold(op: "add" | "sub" | "mul", a: KExpr, b: KExpr): KExpr {
  if (a.k === "const" && b.k === "const" && (a.t === "i32" || a.t === "u32")) {
    const v = op === "add" ? a.v + b.v : op === "sub" ? a.v - b.v : Math.imul(a.v, b.v);
    return { k: "const", v: a.t === "i32" ? v | 0 : v >>> 0, t: a.t };
  }
  const isC = (x: KExpr, v: number) => x.k === "const" && x.v === v && x.t !== "f32" && x.t !== "f16";
  if (op === "add" && isC(a, 0)) return b;
  if ((op === "add" || op === "sub") && isC(b, 0)) return a;
  if (op === "mul" && (isC(a, 0) || isC(b, 0))) return { k: "const", v: 0, t: a.t };
  if (op === "mul" && isC(a, 1)) return b;
  if (op === "mul" && isC(b, 1)) return a;
  return { k: "binary", op, a, b, t: a.t };
}

/** Visits every statement and expression of a kernel (pre-order). */
export function forEachKernelNode(k: Kernel, onStmt: (s: KStmt) => void, onExpr: (e: KExpr) => void): void {
  const ex = (e: KExpr): void => {
    onExpr(e);
    switch (e.k) {
      case "load":
      case "sload":
        ex(e.index);
        break;
      case "unary":
      case "cast":
      case "bitcast":
        ex(e.a);
        break;
      case "binary":
        ex(e.a);
        ex(e.b);
        break;
      case "select":
        ex(e.c);
        ex(e.a);
        ex(e.b);
        break;
    }
  };
  const st = (s: KStmt): void => {
    onStmt(s);
    switch (s.k) {
      case "let":
        ex(s.init);
        break;
      case "assign":
        ex(s.value);
        break;
      case "store":
      case "sstore":
        ex(s.index);
        ex(s.value);
        break;
      case "if":
        ex(s.cond);
        s.then.forEach(st);
        s.else?.forEach(st);
        break;
      case "for":
        ex(s.start);
        ex(s.end);
        s.body.forEach(st);
        break;
      case "warp_reduce":
        // the reduced variables are read (and written) by the statement
        ex({ k: "var", name: s.value, t: s.t });
        if (s.index !== undefined) ex({ k: "var", name: s.index, t: "i32" });
        break;
      case "mma":
        ex(s.a.offset);
        ex(s.b.offset);
        ex(s.c.offset);
        break;
    }
  };
  k.body.forEach(st);
}
