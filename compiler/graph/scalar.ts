/**
 * Building scalar expressions (expr.ts) for index-notation bodies and attention hooks, with the
 * same dtype rules as whole-tensor ops. Plain numbers are "weak" literals: they take the dtype of
 * the other operand (an int literal next to a float becomes that float; a float literal next to
 * an int makes f32), as in NumPy/PyTorch.
 */
import { BuildError } from "./errors.ts";
import { Diagnostics } from "../diagnostics/messages.ts";
import { dim, type Dim, type DimLike } from "./dim.ts";
import { isFloat, isInt, promote, type DType } from "./dtype.ts";
import type { SExpr, SVar } from "./expr.ts";
import { COMPARE_FNS, FLOAT_UNARY, LOGIC_FNS, type BinaryFn, type Node, type ReduceFn, type UnaryFn } from "./ops.ts";

export type Scalar = SExpr | number | boolean;

let tempVarId = 1 << 24;
/** A fresh index variable; ids are renumbered canonically when the enclosing node is built. */
export function freshVar(): SVar {
  return { k: "var", id: tempVarId++, dtype: "i32" };
}

const lit = (v: number | boolean, dtype: DType): SExpr => ({ k: "const", value: Number(v), dtype });

/** The dtype a weak literal takes next to an operand of dtype t. */
function litType(v: number | boolean, t: DType | undefined): DType {
  if (typeof v === "boolean") return "bool";
  if (t === undefined) return Number.isInteger(v) && !Object.is(v, -0) ? "i32" : "f32";
  if (t === "bool") return Number.isInteger(v) ? "i32" : "f32";
  if (isFloat(t)) return t;
  return Number.isInteger(v) ? t : "f32";
}

export function toExpr(x: Scalar, other?: DType): SExpr {
  return typeof x === "object" ? x : lit(x, litType(x, other));
}

export function sConst(v: number, dtype: DType): SExpr {
  return lit(v, dtype);
}

export function sCast(a: Scalar, dtype: DType): SExpr {
  const e = toExpr(a, dtype);
  return e.dtype === dtype ? e : { k: "cast", a: e, dtype };
}

export function sDim(d: DimLike): SExpr {
  const x = dim(d);
  return x.value !== undefined ? lit(x.value, "i32") : { k: "dim", dim: x, dtype: "i32" };
}

export function sUnary(fn: UnaryFn, a: Scalar): SExpr {
  let e = toExpr(a);
  if (fn === "not") {
    if (e.dtype !== "bool" && !isInt(e.dtype)) throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, ["!", "bool or an integer", e.dtype]);
  } else if (e.dtype === "bool") {
    throw new BuildError(Diagnostics.Operand_of_0_must_be_1_got_2, [fn, "a number", "bool"]);
  }
  if (fn === "isnan") return { k: "unary", fn, a: e, dtype: "bool" };
  if (FLOAT_UNARY.has(fn) && !isFloat(e.dtype)) e = sCast(e, "f32");
  return { k: "unary", fn, a: e, dtype: e.dtype };
}

/** The result dtype of a binary function, or a BuildError naming both dtypes. */
export function binaryType(fn: BinaryFn, a: DType, b: DType, where: string): { operand: DType; result: DType } {
  if (LOGIC_FNS.has(fn)) {
    if (a === "bool" && b === "bool") return { operand: "bool", result: "bool" };
    if (a === b && isInt(a)) return { operand: a, result: a };
    throw new BuildError(Diagnostics.Dtype_mismatch_0_1_in_2, [a, b, where]);
  }
  if ((fn === "eq" || fn === "ne") && a === "bool" && b === "bool") return { operand: "bool", result: "bool" };
  const p = promote(a, b);
  if (p === undefined || p === "bool") throw new BuildError(Diagnostics.Dtype_mismatch_0_1_in_2, [a, b, where]);
  const operand = fn === "pow" || fn === "atan2" ? (isFloat(p) ? p : "f32") : p;
  return { operand, result: COMPARE_FNS.has(fn) ? "bool" : operand };
}

export function sBinary(fn: BinaryFn, a: Scalar, b: Scalar): SExpr {
  const ea = typeof a === "object" ? a : undefined;
  const eb = typeof b === "object" ? b : undefined;
  const x = toExpr(a, eb?.dtype);
  const y = toExpr(b, x.dtype);
  const { operand, result } = binaryType(fn, x.dtype, y.dtype, fn);
  void ea;
  return { k: "binary", fn, a: sCast(x, operand), b: sCast(y, operand), dtype: result };
}

export function sSelect(c: Scalar, a: Scalar, b: Scalar): SExpr {
  const ec = toExpr(c);
  if (ec.dtype !== "bool") throw new BuildError(Diagnostics.Condition_must_be_bool_got_0, [ec.dtype]);
  const x = toExpr(a, typeof b === "object" ? b.dtype : undefined);
  const y = toExpr(b, x.dtype);
  const t = x.dtype === y.dtype ? x.dtype : promote(x.dtype, y.dtype);
  if (t === undefined) throw new BuildError(Diagnostics.Dtype_mismatch_0_1_in_2, [x.dtype, y.dtype, "?:"]);
  return { k: "select", c: ec, a: sCast(x, t), b: sCast(y, t), dtype: t };
}

/** A load of tensor `node` at the given indices (one per axis, integer-valued). */
export function sLoad(node: Node, idx: readonly Scalar[], name = "tensor"): SExpr {
  if (node.dtype === "tuple") throw new BuildError(Diagnostics.Name_0_is_a_1_not_a_tensor, [name, "tuple"]);
  if (idx.length !== node.shape.length) throw new BuildError(Diagnostics.Wrong_number_of_indices_0_for_rank_1, [idx.length, node.shape.length]);
  const es = idx.map((i) => toExpr(i, "i32"));
  for (const e of es) if (!isInt(e.dtype)) throw new BuildError(Diagnostics.Index_must_be_integer_got_0, [e.dtype]);
  return { k: "load", src: -1, node, idx: es.map((e) => sCast(e, "i32")), dtype: node.dtype } as unknown as SExpr;
}

/** A reduction over fresh variables with the given extents. */
export function sReduce(
  fn: ReduceFn | "argmax" | "argmin",
  extents: readonly DimLike[],
  body: (...vars: SVar[]) => Scalar,
  cond?: (...vars: SVar[]) => Scalar,
): SExpr {
  const vars = extents.map(() => freshVar());
  return sReduceWith(fn, vars, extents, toExpr(body(...vars)), cond ? toExpr(cond(...vars)) : undefined);
}

/** A reduction over given variables (already used in body and cond). */
export function sReduceWith(
  fn: ReduceFn | "argmax" | "argmin",
  vars: readonly SVar[],
  extents: readonly DimLike[],
  b: SExpr,
  c: SExpr | undefined,
): SExpr {
  if (c && c.dtype !== "bool") throw new BuildError(Diagnostics.Condition_must_be_bool_got_0, [c.dtype]);
  if ((fn === "argmax" || fn === "argmin") && vars.length !== 1) throw new BuildError(Diagnostics.Argreduce_one_variable_0, [fn]);
  const want = fn === "any" || fn === "all" ? "bool" : "a number";
  if ((want === "bool") !== (b.dtype === "bool")) throw new BuildError(Diagnostics.Reduction_0_needs_1_body, [fn, want, b.dtype]);
  const dtype: DType = fn === "argmax" || fn === "argmin" ? "i32" : fn === "mean" && !isFloat(b.dtype) ? "f32" : b.dtype;
  const extentsD: Dim[] = extents.map((e) => dim(e));
  return { k: "reduce", fn, vars: vars.map((v, i) => ({ id: v.id, extent: extentsD[i]! })), cond: c, body: b, dtype };
}
