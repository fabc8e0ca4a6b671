/**
 * CST (dsl/parser.ts) → AST (dsl/ast.ts). Tolerates the partial nodes that error recovery leaves
 * behind: a construct missing a required part is dropped (its error was already reported), a
 * declaration keeps whatever of it was recognized. Also reports the few errors the grammar
 * accepts on purpose for better messages (chained comparisons, unparenthesised reductions).
 */
import type { CstNode, IToken } from "chevrotain";
import { Diagnostics, joinSpans, span, type Message, type SourceFile, type Span } from "../compiler/diagnostics/index.ts";
import {
  astDepth, isRedOp,
  type Arg, type BinaryOp, type Block, type Expr, type FnDecl, type Formal, type Ident, type IndexVar, type Item,
  type Node, type Stmt, type Subscript, type Target, type TypeRef,
} from "./ast.ts";
import { False, Graph, Inf, NaN_, NumberLit, StringLit, True, stringValue } from "./tokens.ts";

/** Deepest AST a statement or declaration may have; deeper ones are reported and dropped. */
export const MAX_AST_DEPTH = 256;

const kids = (n: CstNode, key: string): CstNode[] => (n.children[key] ?? []) as CstNode[];
/** Tokens under `key`, without the ones error recovery invented. */
const toks = (n: CstNode, key: string): IToken[] => ((n.children[key] ?? []) as IToken[]).filter((t) => t.isInsertedInRecovery !== true);
const kid = (n: CstNode, key: string): CstNode | undefined => kids(n, key)[0];
const tok = (n: CstNode, key: string): IToken | undefined => toks(n, key)[0];
/** How the converter reports errors and learns where syntax errors were (dsl/index.ts). */
export interface ConvertHost {
  report(msg: Message, span: Span, ...args: unknown[]): void;
  /** Whether an error was reported at an offset in [from, to). */
  errorIn(from: number, to: number): boolean;
}

const defined = <T>(xs: readonly (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);

export class CstToAst {
  constructor(
    private readonly file: SourceFile,
    private readonly host: ConvertHost,
  ) {}

  // ---------------------------------------------------------------- spans

  private tokSpan(t: IToken): Span {
    const start = Number.isFinite(t.startOffset) ? t.startOffset : this.file.text.length;
    const end = t.endOffset !== undefined && Number.isFinite(t.endOffset) ? t.endOffset + 1 : start;
    return span(this.file, start, end);
  }

  private nodeSpan(n: CstNode): Span {
    const loc = n.location;
    const start = loc && Number.isFinite(loc.startOffset) && loc.startOffset >= 0 ? loc.startOffset : undefined;
    const end = loc?.endOffset !== undefined && Number.isFinite(loc.endOffset) && loc.endOffset >= 0 ? loc.endOffset + 1 : undefined;
    if (start === undefined) return span(this.file, end ?? this.file.text.length, end ?? this.file.text.length);
    return span(this.file, start, Math.max(start, end ?? start));
  }

  private ident(t: IToken): Ident {
    return { name: t.image, span: this.tokSpan(t) };
  }

  /** Drops (and reports) a node deeper than MAX_AST_DEPTH. */
  private bounded<T extends Node>(n: T | undefined): T | undefined {
    if (n === undefined || astDepth(n) <= MAX_AST_DEPTH) return n;
    this.host.report(Diagnostics.Nesting_too_deep, span(this.file, n.span.start, n.span.start + 1));
    return undefined;
  }

  // ---------------------------------------------------------------- items

  program(n: CstNode): Item[] {
    return defined(kids(n, "item").map((i) => this.bounded(this.item(i))));
  }

  private item(n: CstNode): Item | undefined {
    const c = kid(n, "importDecl") ?? kid(n, "paramDecl") ?? kid(n, "fnDecl") ?? kid(n, "scheduleDecl");
    if (!c) return undefined;
    switch (c.name) {
      case "importDecl": {
        const from = tok(c, "from");
        if (!from) return undefined;
        const names = toks(c, "names").map((t) => this.ident(t));
        return { kind: "Import", names, from: { value: stringValue(from.image), span: this.tokSpan(from) }, span: this.nodeSpan(c) };
      }
      case "paramDecl": {
        const name = tok(c, "name");
        const scalarKind = tok(c, "scalarKind");
        const value = this.optExpr(c, "value");
        if (!name || !scalarKind || !value) return undefined;
        return { kind: "ParamDecl", name: this.ident(name), scalarKind: this.ident(scalarKind), value, span: this.nodeSpan(c) };
      }
      case "fnDecl":
        return this.fnDecl(c);
      default: {
        const name = tok(c, "name");
        const items = defined(kids(c, "items").map((e) => this.expr(e)));
        return { kind: "Schedule", ...(name ? { name: this.ident(name) } : {}), items, span: this.nodeSpan(c) };
      }
    }
  }

  private fnDecl(n: CstNode): FnDecl | undefined {
    const kw = tok(n, "keyword");
    const name = tok(n, "name");
    if (!kw || !name) return undefined;
    const isGraph = kw.tokenType === Graph;
    const formals = defined(kids(n, "formals").map((f) => this.formal(f)));
    const rt = kid(n, "retType");
    const ret = rt ? defined(kids(rt, "types").map((t) => this.typeRef(t))) : undefined;
    const bodyNode = kid(n, "body");
    const whole = this.nodeSpan(n);
    const end = whole.start + whole.length;
    // A body lost to a syntax error becomes an empty block at the end of what was parsed.
    const body: Block = bodyNode ? this.block(bodyNode) : { kind: "Block", stmts: [], span: span(this.file, end, end) };
    if (isGraph && !rt && bodyNode && !n.recoveredNode) {
      const brace = tok(bodyNode, "LBrace");
      if (brace) this.host.report(Diagnostics._0_expected_found_1, this.tokSpan(brace), "'->'", brace.image);
    }
    return { kind: "FnDecl", isGraph, name: this.ident(name), formals, ret, body, span: whole };
  }

  private formal(n: CstNode): Formal | undefined {
    const name = tok(n, "name");
    const typeNode = kid(n, "type");
    const type = typeNode && this.typeRef(typeNode);
    if (!name || !type) return undefined;
    const def = kid(n, "default");
    const dflt = def && this.expr(def);
    return { kind: "Formal", name: this.ident(name), type, ...(dflt ? { default: dflt } : {}), span: this.nodeSpan(n) };
  }

  private typeRef(n: CstNode): TypeRef | undefined {
    const dtype = tok(n, "dtype");
    if (!dtype) return undefined;
    const dims = n.children["open"] ? defined(kids(n, "dims").map((d) => this.expr(d))) : undefined;
    return { kind: "TypeRef", dtype: this.ident(dtype), ...(dims ? { dims } : {}), span: this.nodeSpan(n) };
  }

  // ---------------------------------------------------------------- statements

  block(n: CstNode): Block {
    const stmts: Stmt[] = [];
    // An expression statement that follows or contains a syntax error is most likely debris of
    // the broken statement before it (`let x = = y` leaves `y`): drop it rather than report it again.
    let prevStart = this.nodeSpan(n).start;
    for (const c of kids(n, "stmts")) {
      const s = this.bounded(this.stmt(c));
      const cs = this.nodeSpan(c);
      const debris = s?.kind === "ExprStmt" && this.host.errorIn(prevStart, cs.start + cs.length);
      if (s && !debris) stmts.push(s);
      prevStart = cs.start;
    }
    return { kind: "Block", stmts, span: this.nodeSpan(n) };
  }

  private stmt(n: CstNode): Stmt | undefined {
    const letNode = kid(n, "letStmt");
    if (letNode) {
      const t = kid(letNode, "target");
      const target = t && this.target(t);
      const value = this.optExpr(letNode, "value");
      if (!target || !value) return undefined;
      return { kind: "Let", target, value, span: this.nodeSpan(letNode) };
    }
    const ret = kid(n, "returnStmt");
    if (ret) return { kind: "Return", values: defined(kids(ret, "values").map((v) => this.expr(v))), span: this.nodeSpan(ret) };
    const e = kid(n, "expr");
    const expr = e && this.expr(e);
    return expr && { kind: "ExprStmt", expr, span: expr.span };
  }

  private target(n: CstNode): Target | undefined {
    if (n.children["tuple"]) {
      const names = toks(n, "names").map((t) => this.ident(t));
      return names.length ? { kind: "TupleTarget", names, span: this.nodeSpan(n) } : undefined;
    }
    const name = tok(n, "name");
    if (!name) return undefined;
    if (!n.children["open"]) return { kind: "NameTarget", name: this.ident(name), span: this.tokSpan(name) };
    const vars = defined(kids(n, "vars").map((v) => this.idxVar(v)));
    return { kind: "IndexTarget", name: this.ident(name), vars, span: this.nodeSpan(n) };
  }

  private idxVar(n: CstNode): IndexVar | undefined {
    const name = tok(n, "name");
    if (!name) return undefined;
    const ext = kid(n, "extent");
    const extent = ext && this.expr(ext);
    if (ext && !extent) return undefined;
    return { kind: "IndexVar", name: this.ident(name), ...(extent ? { extent } : {}), span: this.nodeSpan(n) };
  }

  // ---------------------------------------------------------------- expressions

  private optExpr(n: CstNode, key: string): Expr | undefined {
    const e = kid(n, key);
    return e && this.expr(e);
  }

  expr(n: CstNode): Expr | undefined {
    const lam = kid(n, "lambda");
    if (lam) return this.lambda(lam);
    const red = kid(n, "reduction");
    if (red) return this.reduction(red);
    const t = kid(n, "ternary");
    return t && this.ternary(t);
  }

  private lambda(n: CstNode): Expr | undefined {
    const params = toks(n, "params").map((t) => this.ident(t));
    const b = kid(n, "body");
    if (!b) return undefined;
    const body = b.name === "block" ? this.block(b) : this.expr(b);
    return body && { kind: "Lambda", params, body, span: this.nodeSpan(n) };
  }

  private reduction(n: CstNode): Expr | undefined {
    const op = tok(n, "op");
    const body = this.optExpr(n, "body");
    if (!op || !isRedOp(op.image) || !body) return undefined;
    const vars = defined(kids(n, "vars").map((v) => this.idxVar(v)));
    const cn = kid(n, "cond");
    const cond = cn && this.expr(cn);
    if (cn && !cond) return undefined;
    return { kind: "Reduction", op: op.image, opSpan: this.tokSpan(op), vars, ...(cond ? { cond } : {}), body, span: this.nodeSpan(n) };
  }

  private ternary(n: CstNode): Expr | undefined {
    const c = kid(n, "cond");
    const cond = c && this.chain(c);
    if (!cond || !n.children["Question"]) return cond;
    const whenTrue = this.optExpr(n, "whenTrue");
    const whenFalse = this.optExpr(n, "whenFalse");
    if (!whenTrue || !whenFalse) return undefined;
    return { kind: "Ternary", cond, whenTrue, whenFalse, span: joinSpans(cond.span, whenFalse.span) };
  }

  /** orExpr / andExpr / cmpExpr / addExpr / mulExpr: `operand (op operand)*`, folded to the left. */
  private chain(n: CstNode): Expr | undefined {
    const operands = kids(n, "operands");
    const ops = toks(n, "ops");
    const first = operands[0];
    let acc = first && this.operand(first);
    if (!acc || operands.length !== ops.length + 1) return operands.length === ops.length + 1 ? acc : undefined;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const right = this.operand(operands[i + 1]!);
      if (!right) return undefined;
      if (n.name === "cmpExpr" && i > 0) this.host.report(Diagnostics.Unexpected_0, this.tokSpan(op), op.image);
      acc = { kind: "Binary", op: op.image as BinaryOp, opSpan: this.tokSpan(op), left: acc, right, span: joinSpans(acc.span, right.span) };
    }
    return acc;
  }

  private operand(n: CstNode): Expr | undefined {
    return n.name === "unary" ? this.unary(n) : this.chain(n);
  }

  private unary(n: CstNode): Expr | undefined {
    const operandNode = kid(n, "operand");
    if (!operandNode) return undefined;
    const op = tok(n, "op");
    if (!op) return this.power(operandNode);
    const operand = this.unary(operandNode);
    return operand && { kind: "Unary", op: op.image === "!" ? "!" : "-", operand, span: joinSpans(this.tokSpan(op), operand.span) };
  }

  private power(n: CstNode): Expr | undefined {
    const b = kid(n, "base");
    const base = b && this.postfix(b);
    const op = tok(n, "op");
    if (!base || !op) return op ? undefined : base;
    const e = kid(n, "exponent");
    const exponent = e && this.unary(e);
    if (!exponent) return undefined;
    return { kind: "Binary", op: "**", opSpan: this.tokSpan(op), left: base, right: exponent, span: joinSpans(base.span, exponent.span) };
  }

  private postfix(n: CstNode): Expr | undefined {
    const p = kid(n, "base");
    let acc = p && this.primary(p);
    for (const op of kids(n, "ops")) {
      if (!acc) return undefined;
      const s = joinSpans(acc.span, this.nodeSpan(op));
      if (op.children["index"]) {
        const subscripts = kids(op, "subscripts").map((x) => this.subscript(x));
        if (subscripts.some((x) => x === undefined)) return undefined;
        acc = { kind: "Index", target: acc, subscripts: defined(subscripts), span: s };
      } else if (op.children["call"]) {
        const args = kids(op, "args").map((x) => this.arg(x));
        if (args.some((x) => x === undefined)) return undefined;
        acc = { kind: "Call", callee: acc, args: defined(args), span: s };
      } else if (op.children["member"]) {
        const name = tok(op, "name");
        if (!name) return undefined;
        acc = { kind: "Member", object: acc, name: this.ident(name), span: s };
      } else {
        acc = { kind: "Transpose", operand: acc, span: s };
      }
    }
    return acc;
  }

  private subscript(n: CstNode): Subscript | undefined {
    if (n.children["ellipsis"]) return { kind: "Ellipsis", span: this.nodeSpan(n) };
    const st = kid(n, "start");
    const start = st && this.expr(st);
    if (st && !start) return undefined;
    const tail = kid(n, "sliceTail");
    if (!tail) return start;
    const sp = kid(tail, "stop");
    const stop = sp && this.expr(sp);
    const se = kid(tail, "step");
    const step = se && this.expr(se);
    if ((sp && !stop) || (se && !step)) return undefined;
    return { kind: "Slice", ...(start ? { start } : {}), ...(stop ? { stop } : {}), ...(step ? { step } : {}), span: this.nodeSpan(n) };
  }

  private arg(n: CstNode): Arg | undefined {
    const value = this.optExpr(n, "value");
    if (!value) return undefined;
    const name = tok(n, "name");
    return { kind: "Arg", ...(name ? { name: this.ident(name) } : {}), value, span: this.nodeSpan(n) };
  }

  private primary(n: CstNode): Expr | undefined {
    const lit = tok(n, "literal");
    if (lit) {
      const s = this.tokSpan(lit);
      const t = lit.tokenType;
      if (t === NumberLit) return { kind: "Num", value: Number(lit.image), isInt: !/[.eE]/.test(lit.image), text: lit.image, span: s };
      if (t === StringLit) return { kind: "Str", value: stringValue(lit.image), span: s };
      if (t === True || t === False) return { kind: "Bool", value: t === True, span: s };
      if (t === Inf) return { kind: "Inf", span: s };
      if (t === NaN_) return { kind: "NaN", span: s };
      return undefined;
    }
    const name = tok(n, "name");
    if (name) return { kind: "Name", name: name.image, span: this.tokSpan(name) };
    const red = kid(n, "reduction");
    if (red) {
      const r = this.reduction(red);
      if (r?.kind === "Reduction") this.host.report(Diagnostics.Reduction_operand_needs_parens_0, r.opSpan, r.op);
      return r;
    }
    const paren = kid(n, "parenExpr");
    if (paren) {
      const items = kids(paren, "items").map((x) => this.expr(x));
      if (items.length === 0 || items.some((x) => x === undefined)) return undefined;
      const s = this.nodeSpan(paren);
      if (items.length === 1 && !paren.children["commas"]) return { ...items[0]!, span: s };
      return { kind: "Tuple", items: defined(items), span: s };
    }
    const list = kid(n, "listExpr");
    if (list) {
      const items = kids(list, "items").map((x) => this.expr(x));
      if (items.some((x) => x === undefined)) return undefined;
      return { kind: "List", items: defined(items), span: this.nodeSpan(list) };
    }
    return undefined;
  }
}
