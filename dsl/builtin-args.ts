/**
 * What every builtin handler gets (Args: evaluated arguments, their spans, the call, the
 * elaborator) and the readers that check one argument each (tensor, int, size, compile-time
 * ints and numbers, dtypes, int lists), reporting a diagnostic at the argument when it is wrong;
 * `elementwise` applies a function to scalars, folded numbers or tensors alike.
 */
import { Diagnostics } from "../compiler/diagnostics/messages.ts";
import type { Span } from "../compiler/diagnostics/source.ts";
import { dim, type Dim } from "../compiler/graph/dim.ts";
import type { DType } from "../compiler/graph/dtype.ts";
import type { Node } from "../compiler/graph/ops.ts";
import type { Scalar } from "../compiler/graph/scalar.ts";
import type { SExpr } from "../compiler/graph/expr.ts";
import type * as A from "./ast.ts";
import type { Elaborator } from "./elaborate.ts";
import { ERROR, describe, type Env, type Val } from "./values.ts";

export type Args = { vals: (Val | undefined)[]; spans: Span[]; call: A.Call; env: Env; el: Elaborator; names?: readonly string[] };
export type Handler = (a: Args) => Val;

export interface Spec {
  params: string[]; // "name" required, "name?" optional
  run: Handler;
}

export function tensor(a: Args, i: number): Node | undefined {
  const v = a.vals[i];
  return v === undefined ? undefined : a.el.asTensor(v, a.spans[i]!);
}

export function int(a: Args, i: number, dflt?: number): Dim | undefined {
  const v = a.vals[i];
  if (v === undefined) return dflt === undefined ? undefined : dim(dflt);
  return a.el.asInt(v, a.spans[i]!);
}

/** A compile-time int used as a size (a dim of the result): a constant must not be negative. */
export function size(a: Args, i: number): Dim | undefined {
  const d = int(a, i);
  if (d?.value !== undefined && d.value < 0) {
    a.el.error(Diagnostics.Dim_must_be_nonnegative_0, a.spans[i], d.value);
    return undefined;
  }
  return d;
}

export function constInt(a: Args, i: number, what: string, dflt?: number): number | undefined {
  const d = int(a, i, dflt);
  if (d === undefined) return undefined;
  if (d.value === undefined) {
    a.el.error(Diagnostics.Compile_time_value_expected_0, a.spans[i], what);
    return undefined;
  }
  return d.value;
}

export function num(a: Args, i: number, what: string, dflt: number): number | undefined {
  const v = a.vals[i];
  if (v === undefined) return dflt;
  if (v.k === "float") return v.v;
  if (v.k === "int" && v.d.value !== undefined) return v.d.value;
  if (v.k !== "error") a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[i], what, a.call.callee.kind === "Name" ? a.call.callee.name : "call", "a compile-time number", describe(v));
  return undefined;
}

export function bool(a: Args, i: number, what: string, dflt: boolean): boolean | undefined {
  const v = a.vals[i];
  if (v === undefined) return dflt;
  if (v.k === "bool") return v.v;
  if (v.k !== "error") a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[i], what, fname(a), "a compile-time bool", describe(v));
  return undefined;
}

export function dtypeArg(a: Args, i: number, dflt?: DType): DType | undefined {
  const v = a.vals[i];
  if (v === undefined) return dflt;
  if (v.k === "dtype") return v.dt;
  if (v.k !== "error") a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[i], "dtype", fname(a), "a dtype (f32, f16, bf16, i32, u32, bool)", describe(v));
  return undefined;
}

export function intList(a: Args, i: number, what: string): Dim[] | undefined {
  const v = a.vals[i];
  if (v === undefined) return undefined;
  if (v.k === "int") return [v.d];
  if (v.k !== "list" && v.k !== "tuple") {
    if (v.k !== "error") a.el.error(Diagnostics.Argument_0_of_1_must_be_2_got_3, a.spans[i], what, fname(a), "a list of integers", describe(v));
    return undefined;
  }
  const out: Dim[] = [];
  for (const it of v.items) {
    const d = a.el.asInt(it, a.spans[i]!);
    if (d === undefined) return undefined;
    out.push(d);
  }
  return out;
}

export function constIntList(a: Args, i: number, what: string): number[] | undefined {
  const l = intList(a, i, what);
  if (!l) return undefined;
  if (l.some((d) => d.value === undefined)) {
    a.el.error(Diagnostics.Compile_time_value_expected_0, a.spans[i], what);
    return undefined;
  }
  return l.map((d) => d.value!);
}

export const fname = (a: Args): string => (a.call.callee.kind === "Name" ? a.call.callee.name : "call");
export const T = (a: Args, f: () => Node): Val => a.el.tensor(a.call.span, f, argSpan(a));

/** Which argument a builder error is about (when the argument was given): its span, else the call's. */
export const ERROR_ARG: Record<number, readonly string[]> = {
  [Diagnostics.Axis_0_out_of_range_for_rank_1.code]: ["axis", "axes"],
  [Diagnostics.Bits_must_be_2_3_4_or_8_got_0.code]: ["bits"],
  [Diagnostics.K_0_exceeds_dim_1.code]: ["k"],
  [Diagnostics.Head_count_0_does_not_divide_1.code]: ["heads"],
  [Diagnostics.Reshape_0_to_1_changes_size.code]: ["shape"],
  [Diagnostics.Dim_0_not_divisible_by_1.code]: ["parts", "heads"],
};
export const argSpan = (a: Args) => (code: number): Span | undefined => {
  for (const n of ERROR_ARG[code] ?? []) {
    const i = a.names?.indexOf(n) ?? -1;
    if (i >= 0 && a.vals[i] !== undefined) return a.spans[i];
  }
  return undefined;
};
export const isScalarCtx = (a: Args): boolean => a.vals.some((v) => v?.k === "scalar");

/**
 * Applies an elementwise function on scalars, folded numbers or tensors. Plain numbers stay weak
 * literals that adopt the dtype of the other value operands (`peers`: all arguments, or the two
 * branches of where), as with operators and the builder.
 */
export function elementwise(
  a: Args,
  scalar: (xs: Scalar[]) => SExpr,
  tensor: (xs: (Node | number | boolean)[]) => Node,
  fold?: (xs: number[]) => Val | undefined,
  peers?: readonly number[],
): Val {
  const vals = a.vals.filter((v): v is Val => v !== undefined);
  if (vals.some((v) => v.k === "error")) return ERROR;
  if (fold && vals.every((v) => v.k === "float" || (v.k === "int" && v.d.value !== undefined))) {
    const r = fold(vals.map((v) => (v.k === "float" ? v.v : (v as { d: Dim }).d.value!)));
    if (r) return r;
  }
  const ps = peers ?? vals.map((_, i) => i);
  const other = (i: number): DType | undefined => {
    if (!ps.includes(i)) return undefined;
    for (const j of ps) if (j !== i && vals[j]) {
      const dt = a.el.operandDType(vals[j]!);
      if (dt !== undefined) return dt;
    }
    return undefined;
  };
  if (isScalarCtx(a)) {
    const xs: Scalar[] = [];
    for (let i = 0; i < vals.length; i++) {
      const x = a.el.scalarOperand(vals[i]!, a.spans[i]!, other(i));
      if (x === undefined) return ERROR;
      xs.push(x);
    }
    const r = a.el.build(a.call.span, () => scalar(xs));
    return r ? { k: "scalar", e: r } : ERROR;
  }
  const xs: (Node | number | boolean)[] = [];
  for (let i = 0; i < vals.length; i++) {
    const x = a.el.tensorLike(vals[i]!, a.spans[i]!, other(i));
    if (x === undefined) return ERROR;
    xs.push(x);
  }
  if (!xs.some((x) => typeof x === "object")) {
    const t = a.el.asTensor(vals[0]!, a.spans[0]!);
    if (!t) return ERROR;
    xs[0] = t;
  }
  return T(a, () => tensor(xs));
}
