/**
 * Reads the textual graph IR written by print.ts (the syntax is described there) back into a
 * Graph, building every node through a fresh GraphContext, so `printGraph(parseGraph(t))` is `t`
 * for printed text and equal structures give identical nodes. Names are global to the graph
 * (regions only group lines) and must be defined before use; an iterate's own name is defined at
 * the end of its region. Types are taken as written: the parser checks syntax, names, op and
 * attribute spelling, not shapes (that is the verifier's job). Errors are IRParseError with
 * line:col.
 *
 * For hand-written text it accepts more than the printer writes: any `%identifier` (or `%"any
 * string"`) as a name, attributes in any order, the call form of infix functions (`add(a, b)`),
 * redundant parentheses, literals typed either way (`1.0` or `1:f32`), `//` comments.
 */
import * as D from "./dim.ts";
import type { Dim } from "./dim.ts";
import { DTYPES, isDType, type DType } from "./dtype.ts";
import type { SExpr } from "./expr.ts";
import { GraphContext, type Graph } from "./node.ts";
import { BINARY_FNS, REDUCE_FNS, UNARY_FNS, type AttnReturn, type BinaryFn, type GOp, type Node, type ReduceFn, type TensorType, type UnaryFn } from "./ops.ts";
import { ATTRS, BLOCK_ATTRS, GOPS, INFIX, defaultOutputName, impliedDType, type AttrKind, type AttrSpec } from "./print.ts";

export class IRParseError extends Error {
  constructor(
    readonly line: number,
    readonly col: number,
    readonly detail: string,
  ) {
    super(`${line}:${col}: ${detail}`);
    this.name = "IRParseError";
  }
}

// ── lexer ───────────────────────────────────────────────────────────────────────────────────

type TokKind = "id" | "int" | "num" | "str" | "p" | "eof";

interface Tok {
  readonly k: TokKind;
  readonly t: string;
  readonly line: number;
  readonly col: number;
}

const PUNCT2 = ["->", "<=", ">=", "==", "!="];
const PUNCT1 = "%$()[]{},=:+-*/<>|";

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const push = (k: TokKind, t: string, at: number) => out.push({ k, t, line, col: at - lineStart + 1 });
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    const rest = src.slice(i, i + 400);
    let m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (m) {
      push("id", m[0], i);
      i += m[0].length;
      continue;
    }
    m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(rest);
    if (m) {
      push(m[1] !== undefined || m[2] !== undefined ? "num" : "int", m[0], i);
      i += m[0].length;
      continue;
    }
    if (c === '"') {
      m = /^"(?:[^"\\\n]|\\.)*"/.exec(src.slice(i));
      if (!m) throw new IRParseError(line, i - lineStart + 1, "unterminated string");
      push("str", m[0], i);
      i += m[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.includes(two)) {
      push("p", two, i);
      i += 2;
      continue;
    }
    if (PUNCT1.includes(c)) {
      push("p", c, i);
      i++;
      continue;
    }
    throw new IRParseError(line, i - lineStart + 1, `unexpected character ${JSON.stringify(c)}`);
  }
  push("eof", "", i);
  return out;
}

// ── parser ──────────────────────────────────────────────────────────────────────────────────

const OPS: ReadonlySet<string> = new Set(GOPS);
const UNARY: ReadonlySet<string> = new Set(UNARY_FNS);
const BINARY: ReadonlySet<string> = new Set(BINARY_FNS);
const REDUCE_EXPR: ReadonlySet<string> = new Set([...REDUCE_FNS, "argmax", "argmin"]);
const INFIX_BY_SYM = new Map<string, { fn: BinaryFn; prec: number }>(
  Object.entries(INFIX).map(([fn, v]) => [v!.sym, { fn: fn as BinaryFn, prec: v!.prec }]),
);

type SrcTypes = readonly (DType | undefined)[];
type Mut<T> = { -readonly [K in keyof T]: T[K] };

const describe = (t: Tok): string => (t.k === "eof" ? "end of input" : `'${t.t}'`);

class Parser {
  private i = 0;
  private readonly cx = new GraphContext();
  /** name key → node, or the iterate whose region is being read. */
  private readonly values = new Map<string, Node | { pending: Tok }>();

  constructor(private readonly toks: readonly Tok[]) {}

  // ── tokens ──

  private get tok(): Tok {
    return this.toks[this.i]!;
  }

  private peek(k = 1): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }

  private advance(): Tok {
    const t = this.tok;
    if (t.k !== "eof") this.i++;
    return t;
  }

  private err(msg: string, t: Tok = this.tok): never {
    throw new IRParseError(t.line, t.col, msg);
  }

  private is(p: string): boolean {
    return this.tok.k === "p" && this.tok.t === p;
  }

  private isId(w?: string): boolean {
    return this.tok.k === "id" && (w === undefined || this.tok.t === w);
  }

  private eat(p: string): boolean {
    if (!this.is(p)) return false;
    this.i++;
    return true;
  }

  private expect(p: string, what?: string): Tok {
    if (!this.is(p)) this.err(`expected ${what ?? `'${p}'`}, found ${describe(this.tok)}`);
    return this.advance();
  }

  private ident(what: string): Tok {
    if (this.tok.k !== "id") this.err(`expected ${what}, found ${describe(this.tok)}`);
    return this.advance();
  }

  private word(words: readonly string[], what: string): string {
    const t = this.ident(what);
    if (!words.includes(t.t)) this.err(`expected ${what} (${words.join(", ")}), found '${t.t}'`, t);
    return t.t;
  }

  private str(t: Tok): string {
    try {
      return JSON.parse(t.t) as string;
    } catch {
      return this.err("invalid string literal", t);
    }
  }

  /** A name: an identifier or a string. */
  private name(what: string): string {
    if (this.tok.k === "str") return this.str(this.advance());
    return this.ident(what).t;
  }

  /** Fails unless all input was read. */
  end(after: string): void {
    if (this.tok.k !== "eof") this.err(`unexpected ${describe(this.tok)} after ${after}`);
  }

  // ── graph ──

  parseGraph(): Graph {
    const kw = this.ident("'graph'");
    if (kw.t !== "graph") this.err(`expected 'graph', found '${kw.t}'`, kw);
    const gname = this.name("graph name");
    this.expect("(");
    const inputs: Node<"input">[] = [];
    if (!this.is(")"))
      do {
        const at = this.tok;
        const [key, nm] = this.valueName();
        this.expect(":");
        const t = this.tensorType();
        const n = this.cx.node("input", [t], [], { name: nm });
        if (this.values.has(key)) this.err(`duplicate name %${nm}`, at);
        this.values.set(key, n);
        inputs.push(n);
      } while (this.eat(","));
    this.expect(")");
    this.expect("->");
    this.expect("(");
    const outs: { at: Tok; key: string; ref: string; name: string | undefined }[] = [];
    if (!this.is(")"))
      do {
        const at = this.tok;
        const [key, ref] = this.valueName();
        let name: string | undefined;
        if (this.isId("as")) {
          this.advance();
          name = this.name("output name");
        }
        outs.push({ at, key, ref: `%${ref}`, name });
      } while (this.eat(","));
    this.expect(")");
    this.expect("{");
    while (this.is("%")) this.statement();
    if (this.isId("yield")) this.err("'yield' outside an iterate region");
    this.expect("}", "a statement or '}'");
    if (this.tok.k !== "eof") this.err(`expected end of input, found ${describe(this.tok)}`);
    const outputs = outs.map((o) => {
      const v = this.values.get(o.key);
      if (!v || !("op" in v)) return this.err(`undefined value ${o.ref}`, o.at);
      return v;
    });
    return {
      name: gname,
      inputs,
      outputs,
      outputNames: outs.map((o, i) => o.name ?? defaultOutputName(i, outs.length)),
      cx: this.cx,
    };
  }

  /** `%name` → [lookup key, name]; `%3` and `%"3"` are different names. */
  private valueName(): [string, string] {
    this.expect("%", "a value name (%name)");
    const t = this.tok;
    if (t.k === "id") return (this.advance(), [t.t, t.t]);
    if (t.k === "int") return (this.advance(), [`#${t.t}`, t.t]);
    if (t.k === "str") {
      this.advance();
      const s = this.str(t);
      return [s, s];
    }
    return this.err(`expected a value name after '%', found ${describe(t)}`);
  }

  private valueRef(): Node {
    const at = this.tok;
    const [key, nm] = this.valueName();
    const v = this.values.get(key);
    if (!v) return this.err(`undefined value %${nm}`, at);
    if (!("op" in v)) return this.err(`%${nm} is used inside its own iterate region`, at);
    return v;
  }

  private refList(): Node[] {
    const out: Node[] = [];
    if (this.is("%")) do out.push(this.valueRef());
    while (this.eat(","));
    return out;
  }

  private statement(): void {
    const at = this.tok;
    const [key, nm] = this.valueName();
    if (this.values.has(key)) this.err(`duplicate name %${nm}`, at);
    this.expect("=");
    const opTok = this.ident("an op name");
    let op: GOp;
    let arg: Record<string, unknown> = {};
    if (OPS.has(opTok.t)) op = opTok.t as GOp;
    else if (UNARY.has(opTok.t)) {
      op = "unary";
      arg = { fn: opTok.t };
    } else if (BINARY.has(opTok.t)) {
      op = "binary";
      arg = { fn: opTok.t };
    } else return this.err(`unknown op '${opTok.t}'`, opTok);
    if (op === "const") arg = { values: this.constValues() };
    const src = this.refList();
    const srcT: SrcTypes = src.map((s) => (s.dtype === "tuple" ? undefined : s.dtype));
    if (op === "compute") {
      this.expect("{", "'{' and the compute body");
      arg = { body: this.expr(srcT) };
      this.expect("}");
    } else if (this.is("{")) arg = { ...arg, ...this.attrs(ATTRS[op], srcT, op) };
    else arg = { ...arg, ...this.defaults(ATTRS[op], op) };
    this.expect(":", "':' and the node type");
    const types = this.typeList();
    if (op === "iterate") {
      this.values.set(key, { pending: at });
      this.expect("{", "'{' and the iterate region");
      while (this.is("%")) this.statement();
      const y = this.tok;
      if (!this.isId("yield")) this.err(`expected a statement or 'yield', found ${describe(y)}`);
      this.advance();
      const body = this.refList();
      this.expect("}");
      arg = { ...arg, body };
    }
    const n = this.cx.node(op, types, src, arg as never);
    this.values.set(key, n);
  }

  private constValues(): number[] {
    if (!this.eat("[")) return [this.number()];
    const out: number[] = [];
    if (!this.is("]"))
      do out.push(this.number());
      while (this.eat(","));
    this.expect("]");
    return out;
  }

  // ── types ──

  private dtype(): DType {
    const t = this.ident("a dtype");
    if (!isDType(t.t)) this.err(`unknown dtype '${t.t}' (expected ${DTYPES.join(", ")})`, t);
    return t.t;
  }

  private tensorType(): TensorType {
    const dtype = this.dtype();
    this.expect("[", "'[' and the shape");
    const shape = this.dimList("]");
    return { dtype, shape };
  }

  /** A node type: `f32[N]` or a tuple `(f32[N], i32[N])`. */
  private typeList(): TensorType[] {
    if (!this.eat("(")) return [this.tensorType()];
    const out: TensorType[] = [];
    if (!this.is(")"))
      do out.push(this.tensorType());
      while (this.eat(","));
    this.expect(")");
    return out;
  }

  // ── dims ──

  /** Dims separated by commas up to `close` (consumed); the opening bracket is already read. */
  private dimList(close: string): Dim[] {
    const out: Dim[] = [];
    if (!this.is(close))
      do out.push(this.dimExpr());
      while (this.eat(","));
    this.expect(close);
    return out;
  }

  private dimOp(at: Tok, f: () => Dim): Dim {
    try {
      return f();
    } catch (e) {
      if (e instanceof RangeError) return this.err(e.message, at);
      throw e;
    }
  }

  dimExpr(): Dim {
    let x = this.dimTerm();
    while (this.is("+") || this.is("-")) {
      const op = this.advance();
      const y = this.dimTerm();
      x = op.t === "+" ? D.add(x, y) : D.sub(x, y);
    }
    return x;
  }

  private dimTerm(): Dim {
    let x = this.dimUnary();
    while (this.is("*") || this.is("/") || this.is("%")) {
      const op = this.advance();
      const y = this.dimUnary();
      const l = x;
      x = this.dimOp(op, () => (op.t === "*" ? D.mul(l, y) : op.t === "/" ? D.div(l, y) : D.mod(l, y)));
    }
    return x;
  }

  private dimUnary(): Dim {
    if (this.eat("-")) return D.neg(this.dimUnary());
    const t = this.tok;
    if (t.k === "int") {
      this.advance();
      const v = Number(t.t);
      if (!Number.isSafeInteger(v)) this.err(`dim ${t.t} is too large`, t);
      return D.dim(v);
    }
    if (t.k === "id") {
      this.advance();
      if ((t.t === "min" || t.t === "max") && this.eat("(")) {
        const x = this.dimExpr();
        this.expect(",");
        const y = this.dimExpr();
        this.expect(")");
        return t.t === "min" ? D.min(x, y) : D.max(x, y);
      }
      return D.dim(t.t);
    }
    if (this.eat("(")) {
      const x = this.dimExpr();
      this.expect(")");
      return x;
    }
    return this.err(`expected a dim, found ${describe(t)}`);
  }

  // ── attributes ──

  private number(): number {
    const neg = this.eat("-");
    const t = this.tok;
    let v: number;
    if (t.k === "int" || t.k === "num") v = Number(t.t);
    else if (t.k === "id" && t.t === "inf") v = Infinity;
    else if (t.k === "id" && t.t === "nan") v = NaN;
    else return this.err(`expected a number, found ${describe(t)}`);
    this.advance();
    return neg ? -v : v;
  }

  private int(): number {
    const t = this.tok;
    const v = this.number();
    if (!Number.isInteger(v)) this.err(`expected an integer, found ${describe(t)}`, t);
    return v;
  }

  private srcIndex(): number {
    this.expect("$", "an operand position ($i)");
    const t = this.tok;
    if (t.k !== "int") this.err(`expected an operand position after '$', found ${describe(t)}`);
    this.advance();
    return Number(t.t);
  }

  private attrs(specs: readonly AttrSpec[], srcT: SrcTypes, owner: string): Record<string, unknown> {
    const open = this.expect("{");
    const got = new Map<string, unknown>();
    if (!this.is("}"))
      do {
        const k = this.ident("an attribute name");
        const spec = specs.find((s) => s.name === k.t);
        if (!spec)
          this.err(
            specs.length ? `unknown attribute '${k.t}' of ${owner} (expected ${specs.map((s) => s.name).join(", ")})` : `${owner} has no attributes`,
            k,
          );
        if (got.has(k.t)) this.err(`duplicate attribute '${k.t}'`, k);
        this.expect("=");
        got.set(k.t, this.attrValue(spec.kind, srcT));
      } while (this.eat(","));
    this.expect("}", "',' or '}'");
    const out: Record<string, unknown> = {};
    for (const s of specs) {
      if (got.has(s.name)) out[s.name] = got.get(s.name);
      else if (s.optional) out[s.name] = s.kind === "returns" ? [] : undefined;
      else this.err(`${owner} needs attribute '${s.name}'`, open);
    }
    return out;
  }

  private defaults(specs: readonly AttrSpec[], owner: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of specs) {
      if (!s.optional) this.err(`expected '{' and the attributes of ${owner} (${specs.map((x) => x.name).join(", ")})`);
      out[s.name] = s.kind === "returns" ? [] : undefined;
    }
    return out;
  }

  private attrValue(kind: AttrKind, srcT: SrcTypes): unknown {
    if (Array.isArray(kind)) return this.word(kind as readonly string[], "a value");
    switch (kind) {
      case "int":
        return this.int();
      case "num":
        return this.number();
      case "bool":
        return this.word(["true", "false"], "a bool") === "true";
      case "str": {
        const t = this.tok;
        if (t.k !== "str") this.err(`expected a string, found ${describe(t)}`);
        return this.str(this.advance());
      }
      case "dim":
        return this.dimExpr();
      case "dims":
        this.expect("[");
        return this.dimList("]");
      case "ints": {
        this.expect("[");
        const out: number[] = [];
        if (!this.is("]"))
          do out.push(this.int());
          while (this.eat(","));
        this.expect("]");
        return out;
      }
      case "expr":
        return this.expr(srcT);
      case "src":
        return this.srcIndex();
      case "scale":
        if (this.isId("auto")) return (this.advance(), null);
        return this.number();
      case "blocks":
        return this.attrs(BLOCK_ATTRS, srcT, "blocks");
      case "returns": {
        this.expect("[");
        const out: AttnReturn[] = [];
        if (!this.is("]"))
          do {
            const w = this.word(["lse", "probs", "mass"], "an attention return");
            if (w === "lse") out.push({ kind: "lse" });
            else {
              this.expect("(");
              const i = this.srcIndex();
              this.expect(")");
              out.push(w === "probs" ? { kind: "probs", rows: i } : { kind: "mass", keys: i });
            }
          } while (this.eat(","));
        this.expect("]");
        return out;
      }
    }
    return this.err("unsupported attribute");
  }

  // ── scalar expressions ──

  expr(srcT: SrcTypes, minPrec = 1): SExpr {
    let x = this.postfix(srcT);
    for (;;) {
      const t = this.tok;
      const inf = t.k === "p" ? INFIX_BY_SYM.get(t.t) : undefined;
      if (!inf || inf.prec < minPrec) return x;
      this.advance();
      const y = this.expr(srcT, inf.prec + 1);
      x = this.typed({ k: "binary", fn: inf.fn, a: x, b: y, dtype: "bool" }, srcT);
    }
  }

  /** Sets the dtype implied by the parts. */
  private typed(e: Mut<SExpr>, srcT: SrcTypes): SExpr {
    const dt = impliedDType(e, srcT);
    if (dt !== undefined) (e as { dtype: DType }).dtype = dt;
    return e;
  }

  private postfix(srcT: SrcTypes): SExpr {
    const at = this.tok;
    const e = this.primary(srcT);
    if (this.eat(":")) return { ...e, dtype: this.dtype() } as SExpr;
    if (e.k === "load" && (e.dtype as DType | undefined) === undefined)
      this.err(`$${e.src} is not a tensor operand; write its dtype: $${e.src}[...]:f32`, at);
    return e;
  }

  private args(srcT: SrcTypes, n: number): SExpr[] {
    this.expect("(");
    const out: SExpr[] = [];
    for (let k = 0; k < n; k++) {
      if (k > 0) this.expect(",");
      out.push(this.expr(srcT));
    }
    this.expect(")");
    return out;
  }

  private primary(srcT: SrcTypes): SExpr {
    const t = this.tok;
    if (this.is("-")) {
      const n = this.peek();
      if (n.k === "int" || n.k === "num" || (n.k === "id" && (n.t === "inf" || n.t === "nan"))) {
        this.advance();
        return this.literal(true);
      }
      return this.err("negation is written neg(x) (a '-' directly before a number makes a negative literal)");
    }
    if (t.k === "int" || t.k === "num") return this.literal(false);
    if (this.eat("(")) {
      const e = this.expr(srcT);
      this.expect(")");
      return e;
    }
    if (this.eat("$")) {
      const it = this.tok;
      if (it.k !== "int") this.err(`expected an operand position after '$', found ${describe(it)}`);
      this.advance();
      const src = Number(it.t);
      this.expect("[", "'[' and the indices of the load");
      const idx: SExpr[] = [];
      if (!this.is("]"))
        do idx.push(this.expr(srcT));
        while (this.eat(","));
      this.expect("]");
      return { k: "load", src, idx, dtype: srcT[src] as DType };
    }
    if (t.k !== "id") return this.err(`expected an expression, found ${describe(t)}`);
    const w = t.t;
    if (w === "inf" || w === "nan") return this.literal(false);
    this.advance();
    if (w === "true" || w === "false") return { k: "const", value: w === "true" ? 1 : 0, dtype: "bool" };
    if (w === "score") return { k: "score", dtype: "f32" };
    const vm = /^v(\d+)$/.exec(w);
    if (vm) return { k: "var", id: Number(vm[1]), dtype: "i32" };
    if (w === "dim") {
      this.expect("(");
      const d = this.dimExpr();
      this.expect(")");
      return { k: "dim", dim: d, dtype: "i32" };
    }
    if (w === "cast") {
      this.expect("<");
      const dt = this.dtype();
      this.expect(">");
      const [x] = this.args(srcT, 1) as [SExpr];
      return { k: "cast", a: x, dtype: dt };
    }
    if (w === "select") {
      const [c, x, y] = this.args(srcT, 3) as [SExpr, SExpr, SExpr];
      return this.typed({ k: "select", c, a: x, b: y, dtype: "bool" }, srcT);
    }
    if (REDUCE_EXPR.has(w) && this.is("[")) return this.reduction(w as ReduceFn | "argmax" | "argmin", srcT);
    if (UNARY.has(w)) {
      const [x] = this.args(srcT, 1) as [SExpr];
      return this.typed({ k: "unary", fn: w as UnaryFn, a: x, dtype: "bool" }, srcT);
    }
    if (BINARY.has(w)) {
      const [x, y] = this.args(srcT, 2) as [SExpr, SExpr];
      return this.typed({ k: "binary", fn: w as BinaryFn, a: x, b: y, dtype: "bool" }, srcT);
    }
    return this.err(`unknown name '${w}' in an expression`, t);
  }

  /** A number literal (after an optional '-' already read): int → i32, otherwise f32. */
  private literal(neg: boolean): SExpr {
    const t = this.advance();
    const v = t.k === "id" ? (t.t === "inf" ? Infinity : NaN) : Number(t.t);
    return { k: "const", value: neg ? -v : v, dtype: t.k === "int" ? "i32" : "f32" };
  }

  private reduction(fn: ReduceFn | "argmax" | "argmin", srcT: SrcTypes): SExpr {
    this.expect("[");
    const vars: { id: number; extent: Dim }[] = [];
    do {
      const v = this.ident("a reduction variable (v3 < N)");
      const vm = /^v(\d+)$/.exec(v.t);
      if (!vm) this.err(`expected a reduction variable (v3 < N), found '${v.t}'`, v);
      this.expect("<");
      vars.push({ id: Number(vm[1]), extent: this.dimExpr() });
    } while (this.eat(","));
    const cond = this.eat("|") ? this.expr(srcT) : undefined;
    this.expect("]");
    this.expect("{", "'{' and the reduction body");
    const body = this.expr(srcT);
    this.expect("}");
    return this.typed({ k: "reduce", fn, vars, cond, body, dtype: "f32" }, srcT);
  }
}

/** Parses a graph printed by printGraph (or written by hand in the same syntax). */
export function parseGraph(text: string): Graph {
  return new Parser(lex(text)).parseGraph();
}

/** Parses a dim expression (`N - r + 1`, `(N / 2)`, `min(a, b)`) to its canonical Dim. */
export function parseDim(text: string): Dim {
  const p = new Parser(lex(text));
  const d = p.dimExpr();
  p.end("the dim");
  return d;
}
