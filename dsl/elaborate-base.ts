/**
 * The elaborator's base layer: its state (the graph builder, inlining budget, syntax-error map,
 * lenient-name stack), diagnostics and builder calls that turn BuildError into a diagnostic, the
 * conversions between values (tensor, weak literal, scalar expression, compile-time int), and the
 * operators with compile-time folding. elaborate.ts adds evaluation of the AST on top.
 */
import { Diagnostics, type Message } from "../compiler/diagnostics/messages.ts";
import type { Diagnostic, DiagnosticBag } from "../compiler/diagnostics/diagnostic.ts";
import type { SourceFile, Span } from "../compiler/diagnostics/source.ts";
import * as D from "../compiler/graph/dim.ts";
import { dim, type Dim } from "../compiler/graph/dim.ts";
import { isDType, isFloat, type DType } from "../compiler/graph/dtype.ts";
import { BuildError } from "../compiler/graph/errors.ts";
import { GraphBuilder } from "../compiler/graph/builder.ts";
import type { BinaryFn } from "../compiler/graph/ops.ts";
import { sBinary, sDim, sLoad, sUnary, toExpr } from "../compiler/graph/scalar.ts";
import type { SExpr } from "../compiler/graph/expr.ts";
import type * as A from "./ast.ts";
import { BUILTIN_NAMES } from "./builtins.ts";
import { ERROR, describe, type Env, type Val } from "./values.ts";

export abstract class ElaboratorBase {
  g: GraphBuilder = new GraphBuilder();
  protected inlineStack: A.FnDecl[] = [];
  protected inlinedCalls = 0;
  /** Source names of index variables by id, for builder errors that only know the id. */
  protected readonly varNames = new Map<number, string>();
  /** Offsets of syntax errors per file, and whether a file has one outside every fn/graph. */
  protected readonly syntaxErrors = new Map<SourceFile, { offsets: number[]; outsideDecls: boolean }>();
  /** One entry per fn/graph being elaborated: whether names that do not resolve are reported. */
  protected readonly lenientStack: { names: boolean; noReturn: boolean }[] = [];
  /** > 0 while evaluating the dims of a type (unknown names there are unbound dims). */
  protected inType = 0;
  /** > 0 inside index-notation bodies, reductions and hooks. */
  protected indexDepth = 0;

  constructor(readonly bag: DiagnosticBag) {}

  /**
   * Records the syntax errors of a parsed file. A statement next to one is debris of the broken
   * code and is skipped (its names poisoned), and names that do not resolve inside a broken
   * declaration are not reported (they may have been declared by the code that failed to parse).
   */
  noteSyntaxErrors(file: SourceFile, module: A.Module, ds: readonly Diagnostic[]): void {
    const offsets = ds.filter((d) => d.category === "error" && d.span?.file === file).map((d) => d.span!.start);
    if (offsets.length === 0) return;
    const decls = module.items.filter((i): i is A.FnDecl => i.kind === "FnDecl");
    const outsideDecls = offsets.some((p) => !decls.some((d) => d.span.start <= p && p < d.span.start + d.span.length));
    this.syntaxErrors.set(file, { offsets, outsideDecls });
  }

  /** Whether a syntax error lies inside `span`, or (trailing) right after it with only blanks between. */
  protected hasSyntaxError(span: Span, trailing: false | "stmt" | "decl"): boolean {
    const info = this.syntaxErrors.get(span.file);
    if (!info) return false;
    const end = span.start + span.length;
    const text = span.file.text;
    return info.offsets.some((p) => {
      if (p >= span.start && p < end) return true;
      if (!trailing || p < end) return false;
      // a statement does not own an error at the next declaration's keyword; a declaration does
      if (trailing === "stmt" && /^(graph|fn|param|import|schedule)\b/.test(text.slice(p, p + 9))) return false;
      return text.slice(end, p).replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, "").trim() === "";
    });
  }

  protected enterDecl(decl: A.FnDecl): void {
    const broken = this.hasSyntaxError(decl.span, "decl");
    const moduleBroken = this.syntaxErrors.get(decl.span.file)?.outsideDecls ?? false;
    this.lenientStack.push({ names: broken || moduleBroken, noReturn: broken });
  }

  protected get lenient(): { names: boolean; noReturn: boolean } {
    return this.lenientStack[this.lenientStack.length - 1] ?? { names: false, noReturn: false };
  }

  /** Whether a name resolves to anything (local, param, fn, import, builtin, dtype, None). */
  protected resolves(name: string, env: Env): boolean {
    const sc = env.scope;
    return !!env.lookup(name) || sc.params.has(name) || sc.fns.has(name) || sc.imports.has(name) || BUILTIN_NAMES.has(name) || isDType(name) || name === "None";
  }

  /** How a value is named in messages: its source text when short, else "value". */
  protected nameOf(span: Span): string {
    const t = span.file.text.slice(span.start, span.start + span.length);
    return t.length > 0 && t.length <= 40 && !t.includes("\n") ? t : "value";
  }

  error(msg: Message, span: Span | undefined, ...args: unknown[]): Val {
    this.bag.add(msg, span, args);
    return ERROR;
  }

  /** Runs a builder call, turning BuildError into a diagnostic at `span`. */
  build<T>(span: Span, f: () => T, remap?: (code: number) => Span | undefined): T | undefined {
    const prev = this.g.at;
    this.g.at = span;
    try {
      return f();
    } catch (e) {
      if (e instanceof BuildError) {
        let args = e.args;
        // an index variable used where it is not in scope (e.g. an outer one inside a hook): its name
        const m = e.diag === Diagnostics.Index_variable_0_not_bound ? /^v(\d+)$/.exec(String(args[0])) : null;
        if (m && this.varNames.has(Number(m[1]))) args = [this.varNames.get(Number(m[1]))];
        this.bag.add(e.diag, remap?.(e.diag.code) ?? span, args);
        return undefined;
      }
      if (e instanceof RangeError && /division by zero|modulo by zero/.test(e.message)) {
        this.bag.add(Diagnostics.Division_by_zero, span);
        return undefined;
      }
      throw e;
    } finally {
      this.g.at = prev;
    }
  }

  tensor(span: Span, f: () => import("../compiler/graph/ops.ts").Node, remap?: (code: number) => Span | undefined): Val {
    const t = this.build(span, f, remap);
    return t ? { k: "tensor", t } : ERROR;
  }

  // ── conversions ──────────────────────────────────────────────────────────────────────────

  /** A tensor (compile-time numbers become 0-d constants; symbolic ints become i32 scalars). */
  asTensor(v: Val, span: Span): import("../compiler/graph/ops.ts").Node | undefined {
    switch (v.k) {
      case "tensor":
        if (v.t.dtype === "tuple") {
          this.error(Diagnostics.Name_0_is_a_1_not_a_tensor, span, this.nameOf(span), "tuple");
          return undefined;
        }
        return v.t;
      case "int":
        return this.build(span, () => (v.d.value !== undefined ? this.g.scalar(v.d.value, "i32") : this.g.computeExpr([], [], sDim(v.d))));
      case "float":
        return this.build(span, () => this.g.scalar(v.v, "f32"));
      case "bool":
        return this.build(span, () => this.g.scalar(v.v, "bool"));
      case "error":
        return undefined;
      case "scalar":
        this.error(Diagnostics.Value_out_of_range_0_1, span, "an index-notation value", "it can only be used inside an index-notation body");
        return undefined;
      default:
        this.error(Diagnostics.Name_0_is_a_1_not_a_tensor, span, this.nameOf(span), noun(v));
        return undefined;
    }
  }

  /** The dtype a value has as an operand; undefined for a plain number (it adopts the other operand's). */
  operandDType(v: Val): DType | undefined {
    if (v.k === "tensor") return v.t.dtype === "tuple" ? undefined : v.t.dtype;
    if (v.k === "scalar") return v.e.dtype;
    if (v.k === "int" && v.d.value === undefined) return "i32";
    return undefined;
  }

  /**
   * A float literal with an integral value (`1.0`) stays a float: it is weak only next to a float
   * operand (`other`); otherwise it is an f32 constant, as a non-integral literal would be.
   */
  protected strongFloat(v: Val, other: DType | undefined): boolean {
    return v.k === "float" && Number.isInteger(v.v) && !(other !== undefined && isFloat(other));
  }

  /** A tensor or a plain number (kept weak so it adopts the other operand's dtype `other`). */
  tensorLike(v: Val, span: Span, other?: DType): import("../compiler/graph/ops.ts").Node | number | boolean | undefined {
    if (this.strongFloat(v, other)) return this.asTensor(v, span);
    if (v.k === "float") return v.v;
    if (v.k === "bool") return v.v;
    if (v.k === "int" && v.d.value !== undefined) return v.d.value;
    return this.asTensor(v, span);
  }

  /** A scalar expression (index-notation context). Rank-0 tensors are loaded. */
  asScalar(v: Val, span: Span): SExpr | undefined {
    switch (v.k) {
      case "scalar":
        return v.e;
      case "int":
        return sDim(v.d);
      case "float":
        return toExpr(v.v, "f32");
      case "bool":
        return toExpr(v.v);
      case "tensor":
        if (v.t.dtype !== "tuple" && v.t.shape.length === 0) return sLoad(v.t, []);
        this.error(Diagnostics.Tensor_0_used_without_indices, span, this.nameOf(span), v.t.shape.length);
        return undefined;
      case "error":
        return undefined;
      default:
        this.error(Diagnostics.Name_0_is_a_1_not_a_tensor, span, this.nameOf(span), noun(v));
        return undefined;
    }
  }

  /** A compile-time int (possibly symbolic). */
  asInt(v: Val, span: Span): Dim | undefined {
    if (v.k === "error") return undefined;
    const d = v.k === "int" ? v.d : v.k === "float" && Number.isInteger(v.v) ? dim(v.v) : undefined;
    if (!d) {
      this.error(Diagnostics.Not_a_compile_time_int_0, span, describe(v));
      return undefined;
    }
    // huge literals and overflowing arithmetic (10 ** 400, 1e308) would make inexact or infinite dims
    if (![...d.terms.values()].every((c) => Number.isSafeInteger(c))) {
      const src = this.nameOf(span); // a literal as written: 99999999999999999999 prints as 100000000000000000000
      this.error(Diagnostics.Integer_0_too_large, span, /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(src) ? src : d.toString());
      return undefined;
    }
    return d;
  }

  /** A dim expression; in a type (`inType`), names that do not resolve are unbound dims. */
  evalDim(e: A.Expr, env: Env, inType = false): Dim | undefined {
    if (inType) this.inType++;
    let v: Val;
    try {
      v = this.evalExpr(e, env);
    } finally {
      if (inType) this.inType--;
    }
    const d = this.asInt(v, e.span);
    if (d?.value !== undefined && d.value < 0) {
      this.error(Diagnostics.Dim_must_be_nonnegative_0, e.span, d.value);
      return undefined;
    }
    return d;
  }

  // ── operators ────────────────────────────────────────────────────────────────────────────

  unary(op: A.UnaryOp, v: Val, span: Span): Val {
    switch (v.k) {
      case "error":
        return ERROR;
      case "int":
        if (op === "-") return { k: "int", d: D.neg(v.d) };
        break;
      case "float":
        if (op === "-") return { k: "float", v: -v.v };
        break;
      case "bool":
        if (op === "!") return { k: "bool", v: !v.v };
        break;
      case "scalar": {
        const r = this.build(span, () => sUnary(op === "-" ? "neg" : "not", v.e));
        return r ? { k: "scalar", e: r } : ERROR;
      }
      case "tensor": {
        const t = this.asTensor(v, span);
        if (!t) return ERROR;
        return this.tensor(span, () => this.g.unary(op === "-" ? "neg" : "not", t));
      }
    }
    return this.error(Diagnostics.Operand_of_0_must_be_1_got_2, span, op, op === "-" ? "a number or tensor" : "a bool", describe(v));
  }

  binary(op: A.BinaryOp, a: Val, b: Val, opSpan: Span, span: Span, aSpan: Span = span, bSpan: Span = span): Val {
    if (a.k === "error" || b.k === "error") return ERROR;
    if (op === "@") {
      const [x, y] = [this.asTensor(a, aSpan), this.asTensor(b, bSpan)];
      if (!x || !y) return ERROR;
      return this.tensor(opSpan, () => this.g.matmul(x, y));
    }
    const fn = BINOP[op];
    // compile-time folding
    const folded = this.fold(fn, a, b, span);
    if (folded) return folded;
    if (a.k === "scalar" || b.k === "scalar") {
      const [x, y] = [this.scalarOperand(a, aSpan, this.operandDType(b)), this.scalarOperand(b, bSpan, this.operandDType(a))];
      if (x === undefined || y === undefined) return ERROR;
      const r = this.build(opSpan, () => sBinary(fn, x, y));
      return r ? { k: "scalar", e: r } : ERROR;
    }
    const [x, y] = [this.tensorLike(a, aSpan, this.operandDType(b)), this.tensorLike(b, bSpan, this.operandDType(a))];
    if (x === undefined || y === undefined) return ERROR;
    return this.tensor(opSpan, () => this.g.binary(fn, x, y));
  }

  /** Operand of a scalar op: numbers stay weak literals (see tensorLike). */
  scalarOperand(v: Val, span: Span, other?: DType): SExpr | number | boolean | undefined {
    if (this.strongFloat(v, other)) return this.asScalar(v, span);
    if (v.k === "float") return v.v;
    if (v.k === "bool") return v.v;
    if (v.k === "int" && v.d.value !== undefined) return v.d.value;
    return this.asScalar(v, span);
  }

  /** Folds compile-time arithmetic; undefined when an operand is not compile-time. */
  protected fold(fn: BinaryFn, a: Val, b: Val, span: Span): Val | undefined {
    const num = (v: Val) => (v.k === "float" ? v.v : v.k === "int" ? v.d.value : undefined);
    if (a.k === "int" && b.k === "int") {
      const r = this.build(span, () => foldInt(fn, a.d, b.d));
      if (r === undefined) return ERROR;
      if (r !== null) return r;
      return undefined;
    }
    if (a.k === "bool" && b.k === "bool") {
      switch (fn) {
        case "and": return { k: "bool", v: a.v && b.v };
        case "or": return { k: "bool", v: a.v || b.v };
        case "eq": return { k: "bool", v: a.v === b.v };
        case "ne": return { k: "bool", v: a.v !== b.v };
        default: return undefined;
      }
    }
    const x = num(a);
    const y = num(b);
    if (x === undefined || y === undefined || (a.k !== "float" && b.k !== "float")) return undefined;
    return foldFloat(fn, x, y);
  }

  /** Evaluates an expression (elaborate.ts). */
  abstract evalExpr(e: A.Expr, env: Env): Val;
}

/** describe() without its article, for messages that supply one ("'x' is a {1}"). */
export const noun = (v: Val): string => describe(v).replace(/^(a|an|the) /, "");

export const BINOP: Record<Exclude<A.BinaryOp, "@">, BinaryFn> = {
  "+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod", "**": "pow",
  "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "&&": "and", "||": "or",
};

/** Folds int⊕int; null when the op does not fold on (symbolic) ints. */
export function foldInt(fn: BinaryFn, a: Dim, b: Dim): Val | null {
  switch (fn) {
    case "add": return { k: "int", d: D.add(a, b) };
    case "sub": return { k: "int", d: D.sub(a, b) };
    case "mul": return { k: "int", d: D.mul(a, b) };
    case "div": return { k: "int", d: D.div(a, b) };
    case "mod": return { k: "int", d: D.mod(a, b) };
    case "min": return { k: "int", d: D.min(a, b) };
    case "max": return { k: "int", d: D.max(a, b) };
    case "pow": {
      if (a.value === undefined || b.value === undefined) return null;
      const p = a.value ** b.value;
      // a power too large for an exact integer stays a (possibly infinite) float
      return b.value >= 0 && Number.isSafeInteger(p) ? { k: "int", d: dim(p) } : { k: "float", v: p };
    }
    default: {
      if (a === b && (fn === "eq" || fn === "le" || fn === "ge")) return { k: "bool", v: true };
      if (a === b && (fn === "ne" || fn === "lt" || fn === "gt")) return { k: "bool", v: false };
      const diff = D.sub(a, b).value;
      if (diff === undefined) return null;
      const r = { eq: diff === 0, ne: diff !== 0, lt: diff < 0, le: diff <= 0, gt: diff > 0, ge: diff >= 0 }[fn as "eq"];
      return r === undefined ? null : { k: "bool", v: r };
    }
  }
}

export function foldFloat(fn: BinaryFn, x: number, y: number): Val | undefined {
  switch (fn) {
    case "add": return { k: "float", v: x + y };
    case "sub": return { k: "float", v: x - y };
    case "mul": return { k: "float", v: x * y };
    case "div": return { k: "float", v: x / y };
    case "mod": return { k: "float", v: x - Math.floor(x / y) * y };
    case "pow": return { k: "float", v: x ** y };
    case "min": return { k: "float", v: Math.min(x, y) };
    case "max": return { k: "float", v: Math.max(x, y) };
    case "eq": return { k: "bool", v: x === y };
    case "ne": return { k: "bool", v: x !== y };
    case "lt": return { k: "bool", v: x < y };
    case "le": return { k: "bool", v: x <= y };
    case "gt": return { k: "bool", v: x > y };
    case "ge": return { k: "bool", v: x >= y };
    default: return undefined;
  }
}
