/**
 * AST of the attn language: readonly plain objects, a discriminated union on `kind`, each node
 * with the `span` of the text it came from. Also a generic child enumeration (`forEachChild`),
 * an iterative `walk`, and `exprToString`, a precedence-aware printer used in messages.
 */
import type { Span } from "../compiler/diagnostics/index.ts";

/** A name as written, with its span (not a node: it has no `kind`). */
export interface Ident {
  readonly name: string;
  readonly span: Span;
}

// ---------------------------------------------------------------- items
export interface Module {
  readonly kind: "Module";
  readonly items: readonly Item[];
  readonly span: Span;
}
export type Item = Import | ParamDecl | FnDecl | Schedule;

export interface Import {
  readonly kind: "Import";
  readonly names: readonly Ident[];
  readonly from: { readonly value: string; readonly span: Span };
  readonly span: Span;
}
export interface ParamDecl {
  readonly kind: "ParamDecl";
  readonly name: Ident;
  /** `int`, `float` or `bool` as written; any other identifier is left for the checker to reject. */
  readonly scalarKind: Ident;
  readonly value: Expr;
  readonly span: Span;
}
/** A `graph` (isGraph) or a `fn`; both share one shape. */
export interface FnDecl {
  readonly kind: "FnDecl";
  readonly isGraph: boolean;
  readonly name: Ident;
  readonly formals: readonly Formal[];
  /** Declared result types: one for `-> T`, several for `-> (T, U)`; undefined when a fn has no `->`. */
  readonly ret: readonly TypeRef[] | undefined;
  readonly body: Block;
  readonly span: Span;
}
export type GraphDecl = FnDecl & { readonly isGraph: true };
export interface Formal {
  readonly kind: "Formal";
  readonly name: Ident;
  readonly type: TypeRef;
  readonly default?: Expr;
  readonly span: Span;
}
export interface TypeRef {
  readonly kind: "TypeRef";
  readonly dtype: Ident;
  /** undefined: no brackets (`f32`, `int`); `[]`: `f32[]`. */
  readonly dims?: readonly Expr[];
  readonly span: Span;
}
export interface Schedule {
  readonly kind: "Schedule";
  readonly name?: Ident;
  readonly items: readonly Expr[];
  readonly span: Span;
}

// ---------------------------------------------------------------- statements
export interface Block {
  readonly kind: "Block";
  readonly stmts: readonly Stmt[];
  readonly span: Span;
}
export type Stmt = Let | Return | ExprStmt;
export interface Let {
  readonly kind: "Let";
  readonly target: Target;
  readonly value: Expr;
  readonly span: Span;
}
export interface Return {
  readonly kind: "Return";
  readonly values: readonly Expr[];
  readonly span: Span;
}
export interface ExprStmt {
  readonly kind: "ExprStmt";
  readonly expr: Expr;
  readonly span: Span;
}
export type Target = NameTarget | IndexTarget | TupleTarget;
export interface NameTarget {
  readonly kind: "NameTarget";
  readonly name: Ident;
  readonly span: Span;
}
export interface IndexTarget {
  readonly kind: "IndexTarget";
  readonly name: Ident;
  readonly vars: readonly IndexVar[];
  readonly span: Span;
}
export interface TupleTarget {
  readonly kind: "TupleTarget";
  readonly names: readonly Ident[];
  readonly span: Span;
}
/** `b` or `j: N` on the left of an index-notation let, or a reduction variable. */
export interface IndexVar {
  readonly kind: "IndexVar";
  readonly name: Ident;
  readonly extent?: Expr;
  readonly span: Span;
}

// ---------------------------------------------------------------- expressions
export type Expr =
  | Num | Str | Bool | Inf | NaN | Name
  | Unary | Binary | Ternary | Call | Reduction | Index | Member | Transpose | Tuple | List | Lambda;

export interface Num {
  readonly kind: "Num";
  readonly value: number;
  /** No `.` and no exponent in the literal. */
  readonly isInt: boolean;
  readonly text: string;
  readonly span: Span;
}
export interface Str {
  readonly kind: "Str";
  readonly value: string;
  readonly span: Span;
}
export interface Bool {
  readonly kind: "Bool";
  readonly value: boolean;
  readonly span: Span;
}
export interface Inf {
  readonly kind: "Inf";
  readonly span: Span;
}
export interface NaN {
  readonly kind: "NaN";
  readonly span: Span;
}
export interface Name {
  readonly kind: "Name";
  readonly name: string;
  readonly span: Span;
}
export type UnaryOp = "-" | "!";
export interface Unary {
  readonly kind: "Unary";
  readonly op: UnaryOp;
  readonly operand: Expr;
  readonly span: Span;
}
export type BinaryOp =
  | "+" | "-" | "*" | "/" | "%" | "@" | "**"
  | "==" | "!=" | "<" | "<=" | ">" | ">="
  | "&&" | "||";
export interface Binary {
  readonly kind: "Binary";
  readonly op: BinaryOp;
  readonly opSpan: Span;
  readonly left: Expr;
  readonly right: Expr;
  readonly span: Span;
}
export interface Ternary {
  readonly kind: "Ternary";
  readonly cond: Expr;
  readonly whenTrue: Expr;
  readonly whenFalse: Expr;
  readonly span: Span;
}
export interface Arg {
  readonly kind: "Arg";
  readonly name?: Ident;
  readonly value: Expr;
  readonly span: Span;
}
export interface Call {
  readonly kind: "Call";
  readonly callee: Expr;
  readonly args: readonly Arg[];
  readonly span: Span;
}
export const REDUCTION_OPS = ["sum", "mean", "max", "min", "prod", "any", "all", "argmax", "argmin"] as const;
export type RedOp = (typeof REDUCTION_OPS)[number];
export const isRedOp = (s: string): s is RedOp => (REDUCTION_OPS as readonly string[]).includes(s);
export interface Reduction {
  readonly kind: "Reduction";
  readonly op: RedOp;
  readonly opSpan: Span;
  readonly vars: readonly IndexVar[];
  readonly cond?: Expr;
  readonly body: Expr;
  readonly span: Span;
}
export interface Slice {
  readonly kind: "Slice";
  readonly start?: Expr;
  readonly stop?: Expr;
  readonly step?: Expr;
  readonly span: Span;
}
export interface Ellipsis {
  readonly kind: "Ellipsis";
  readonly span: Span;
}
export type Subscript = Expr | Slice | Ellipsis;
export interface Index {
  readonly kind: "Index";
  readonly target: Expr;
  readonly subscripts: readonly Subscript[];
  readonly span: Span;
}
export interface Member {
  readonly kind: "Member";
  readonly object: Expr;
  readonly name: Ident;
  readonly span: Span;
}
/** Postfix `^T`: transpose of the last two axes. */
export interface Transpose {
  readonly kind: "Transpose";
  readonly operand: Expr;
  readonly span: Span;
}
export interface Tuple {
  readonly kind: "Tuple";
  readonly items: readonly Expr[];
  readonly span: Span;
}
export interface List {
  readonly kind: "List";
  readonly items: readonly Expr[];
  readonly span: Span;
}
export interface Lambda {
  readonly kind: "Lambda";
  readonly params: readonly Ident[];
  readonly body: Expr | Block;
  readonly span: Span;
}

export type Node =
  | Module | Item | Formal | TypeRef | Block | Stmt | Target | IndexVar | Arg | Slice | Ellipsis | Expr;
export type NodeKind = Node["kind"];

// ---------------------------------------------------------------- traversal

const opt = <T>(x: T | undefined): T[] => (x === undefined ? [] : [x]);

/** The direct child nodes of `n`, in source order. */
export function childrenOf(n: Node): Node[] {
  switch (n.kind) {
    case "Module": return [...n.items];
    case "Import": return [];
    case "ParamDecl": return [n.value];
    case "FnDecl": return [...n.formals, ...(n.ret ?? []), n.body];
    case "Formal": return [n.type, ...opt(n.default)];
    case "TypeRef": return [...(n.dims ?? [])];
    case "Schedule": return [...n.items];
    case "Block": return [...n.stmts];
    case "Let": return [n.target, n.value];
    case "Return": return [...n.values];
    case "ExprStmt": return [n.expr];
    case "NameTarget": case "TupleTarget": return [];
    case "IndexTarget": return [...n.vars];
    case "IndexVar": return opt(n.extent);
    case "Num": case "Str": case "Bool": case "Inf": case "NaN": case "Name": case "Ellipsis": return [];
    case "Unary": return [n.operand];
    case "Binary": return [n.left, n.right];
    case "Ternary": return [n.cond, n.whenTrue, n.whenFalse];
    case "Call": return [n.callee, ...n.args];
    case "Arg": return [n.value];
    case "Reduction": return [...n.vars, ...opt(n.cond), n.body];
    case "Index": return [n.target, ...n.subscripts];
    case "Slice": return [...opt(n.start), ...opt(n.stop), ...opt(n.step)];
    case "Member": return [n.object];
    case "Transpose": return [n.operand];
    case "Tuple": case "List": return [...n.items];
    case "Lambda": return [n.body];
  }
}

/**
 * Pre-order traversal without recursion (safe on arbitrarily deep trees). `visit` returning
 * `false` skips the children of that node.
 */
export function walk(root: Node, visit: (node: Node, parent: Node | undefined) => boolean | void): void {
  const stack: [Node, Node | undefined][] = [[root, undefined]];
  while (stack.length > 0) {
    const [node, parent] = stack.pop()!;
    if (visit(node, parent) === false) continue;
    const kids = childrenOf(node);
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i]!, node]);
  }
}

/** Height of the tree below `root` (a leaf has depth 1), computed without recursion. */
export function astDepth(root: Node): number {
  let max = 0;
  const stack: [Node, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, d] = stack.pop()!;
    if (d > max) max = d;
    for (const k of childrenOf(node)) stack.push([k, d + 1]);
  }
  return max;
}

// ---------------------------------------------------------------- printing

/** Binding strength of each expression form (higher binds tighter). */
const PREC = { lambda: 0, ternary: 1, or: 2, and: 3, cmp: 4, add: 5, mul: 6, unary: 7, power: 8, postfix: 9, primary: 10 } as const;
const BINARY_PREC: Record<BinaryOp, number> = {
  "||": PREC.or, "&&": PREC.and,
  "==": PREC.cmp, "!=": PREC.cmp, "<": PREC.cmp, "<=": PREC.cmp, ">": PREC.cmp, ">=": PREC.cmp,
  "+": PREC.add, "-": PREC.add, "*": PREC.mul, "/": PREC.mul, "%": PREC.mul, "@": PREC.mul, "**": PREC.power,
};

function precOf(e: Expr): number {
  switch (e.kind) {
    case "Lambda": case "Reduction": return PREC.lambda;
    case "Ternary": return PREC.ternary;
    case "Binary": return BINARY_PREC[e.op];
    case "Unary": return PREC.unary;
    case "Call": case "Index": case "Member": case "Transpose": return PREC.postfix;
    default: return PREC.primary;
  }
}

function paren(e: Expr, min: number): string {
  const s = exprToString(e);
  return precOf(e) < min ? `(${s})` : s;
}

const list = (xs: readonly Expr[]): string => xs.map((x) => exprToString(x)).join(", ");

function indexVarToString(v: IndexVar): string {
  return v.extent ? `${v.name.name}: ${exprToString(v.extent)}` : v.name.name;
}

function subscriptToString(s: Subscript): string {
  if (s.kind === "Ellipsis") return "...";
  if (s.kind !== "Slice") return exprToString(s);
  const part = (x: Expr | undefined) => (x ? exprToString(x) : "");
  return `${part(s.start)}:${part(s.stop)}${s.step ? `:${part(s.step)}` : ""}`;
}

/** Source-like text of a statement (used for lambda block bodies in messages). */
export function stmtToString(s: Stmt): string {
  switch (s.kind) {
    case "Let": {
      const t = s.target;
      const lhs =
        t.kind === "NameTarget" ? t.name.name
        : t.kind === "TupleTarget" ? `(${t.names.map((n) => n.name).join(", ")})`
        : `${t.name.name}[${t.vars.map(indexVarToString).join(", ")}]`;
      return `let ${lhs} = ${exprToString(s.value)}`;
    }
    case "Return": return `return ${list(s.values)}`;
    case "ExprStmt": return exprToString(s.expr);
  }
}

/** Source-like text of an expression with the fewest parentheses that keep its structure. */
export function exprToString(e: Expr): string {
  switch (e.kind) {
    case "Num": return e.text;
    case "Str": return JSON.stringify(e.value);
    case "Bool": return e.value ? "true" : "false";
    case "Inf": return "inf";
    case "NaN": return "nan";
    case "Name": return e.name;
    case "Unary": {
      // `-` of a power prints as `-x ** 2` (the power binds tighter); of anything looser it needs parens.
      return `${e.op}${paren(e.operand, PREC.unary)}`;
    }
    case "Binary": {
      const p = BINARY_PREC[e.op];
      if (e.op === "**") return `${paren(e.left, PREC.postfix)} ** ${paren(e.right, PREC.unary)}`;
      // Left-associative; comparisons are non-associative so both sides need a tighter operand.
      const lmin = p === PREC.cmp ? p + 1 : p;
      return `${paren(e.left, lmin)} ${e.op} ${paren(e.right, p + 1)}`;
    }
    case "Ternary":
      return `${paren(e.cond, PREC.or)} ? ${exprToString(e.whenTrue)} : ${exprToString(e.whenFalse)}`;
    case "Call": {
      const args = e.args.map((a) => (a.name ? `${a.name.name}: ${exprToString(a.value)}` : exprToString(a.value)));
      return `${paren(e.callee, PREC.postfix)}(${args.join(", ")})`;
    }
    case "Reduction": {
      const cond = e.cond ? ` | ${exprToString(e.cond)}` : "";
      // The body must start with a token that can begin one (GRAMMAR.md); otherwise parenthesise it.
      const b = exprToString(e.body);
      const body = /^[A-Za-z_0-9.(!]/.test(b) ? b : `(${b})`;
      return `${e.op}(${e.vars.map(indexVarToString).join(", ")}${cond}) ${body}`;
    }
    case "Index": return `${paren(e.target, PREC.postfix)}[${e.subscripts.map(subscriptToString).join(", ")}]`;
    case "Member": return `${e.object.kind === "Num" ? `(${e.object.text})` : paren(e.object, PREC.postfix)}.${e.name.name}`;
    case "Transpose": return `${paren(e.operand, PREC.postfix)}^T`;
    case "Tuple": return `(${list(e.items)})`;
    case "List": return `[${list(e.items)}]`;
    case "Lambda": {
      const params = e.params.length === 1 ? e.params[0]!.name : `(${e.params.map((p) => p.name).join(", ")})`;
      const body = e.body.kind === "Block" ? `{ ${e.body.stmts.map(stmtToString).join("; ")} }` : exprToString(e.body);
      return `${params} => ${body}`;
    }
  }
}
