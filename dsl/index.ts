/**
 * Front end entry point: `parse(file)` lexes, parses and builds the AST of one .attn file. It never
 * throws: every problem becomes a diagnostic, and whatever was recognized is still returned. The
 * token stream is split before each item keyword so one broken declaration cannot swallow the rest.
 */
import { EOF, type IRecognitionException, type IToken } from "chevrotain";
import { DiagnosticBag, Diagnostics, span, type Diagnostic, type Message, type SourceFile, type Span } from "../compiler/diagnostics/index.ts";
import type { Item, Module } from "./ast.ts";
import { CstToAst } from "./cst-to-ast.ts";
import { NestingTooDeep, attnParser, isItemKeyword, type ParseErrorInfo } from "./parser.ts";
import { tokenize } from "./tokens.ts";

export * from "./ast.ts";
export { tokenize } from "./tokens.ts";

export interface ParseResult {
  readonly module: Module;
  readonly diagnostics: Diagnostic[];
}

/** Rules whose failure means "an expression was expected here". */
const EXPRESSION_RULES = new Set([
  "expr", "lambda", "reduction", "ternary", "orExpr", "andExpr", "cmpExpr", "addExpr", "mulExpr",
  "unary", "power", "postfix", "primary", "parenExpr", "listExpr", "subscript", "sliceTail", "arg", "stmt",
]);

/** Splits tokens before every item keyword (`import param graph fn schedule`). */
function chunks(tokens: readonly IToken[]): IToken[][] {
  const out: IToken[][] = [[]];
  for (const t of tokens) {
    if (isItemKeyword(t) && out[out.length - 1]!.length > 0) out.push([]);
    out[out.length - 1]!.push(t);
  }
  return out.filter((c) => c.length > 0);
}

const shown = (image: string): string => (image.length > 24 ? `${image.slice(0, 21)}...` : image);
const capitalized = (label: string): string => (/^[a-z]/.test(label) ? label[0]!.toUpperCase() + label.slice(1) : label);

function errorInfo(e: IRecognitionException): ParseErrorInfo {
  try {
    const parsed = JSON.parse(e.message) as ParseErrorInfo;
    if (typeof parsed === "object" && parsed !== null && typeof parsed.kind === "string") return parsed;
  } catch {
    // a message not made by our provider: fall through
  }
  return { kind: "noAlt", rule: "" };
}

class FrontEnd {
  readonly bag = new DiagnosticBag();
  /** Start offsets that already carry an error: one error per position. */
  private readonly positions = new Set<number>();
  /** Token index of each token start offset, and of the last reported syntax error. */
  private readonly tokenIndex = new Map<number, number>();
  private lastErrorToken = -2;

  constructor(readonly file: SourceFile) {}

  report(msg: Message, s: Span, ...args: unknown[]): void {
    if (this.positions.has(s.start)) return;
    this.positions.add(s.start);
    this.bag.error(msg, s, ...args);
  }

  /** Whether an error was reported at an offset in [from, to). */
  errorIn(from: number, to: number): boolean {
    for (const p of this.positions) if (p >= from && p < to) return true;
    return false;
  }

  tokSpan(t: IToken): Span {
    return span(this.file, t.startOffset, (t.endOffset ?? t.startOffset) + 1);
  }

  /**
   * Maps one chevrotain exception; `next` is the token after the chunk (its real "end of input").
   * An error on the token right after the previous error's token is a cascade and is dropped.
   */
  reportParseError(e: IRecognitionException, next: IToken | undefined): void {
    const info = errorInfo(e);
    const found = e.token.tokenType === EOF || !Number.isFinite(e.token.startOffset) ? next : e.token;
    const index = found ? (this.tokenIndex.get(found.startOffset) ?? -10) : this.tokenIndex.size;
    const cascade = index === this.lastErrorToken + 1 || index === this.lastErrorToken;
    this.lastErrorToken = index;
    if (cascade) return;
    if (!found) {
      const end = this.file.text.length;
      this.report(Diagnostics.Unexpected_end_of_file, span(this.file, end, end));
      return;
    }
    const s = this.tokSpan(found);
    const image = shown(found.image);
    if (info.kind === "mismatch" && info.expected === "EOF") this.report(Diagnostics.Declaration_expected_found_0, s, image);
    else if (info.kind === "mismatch") this.report(Diagnostics._0_expected_found_1, s, capitalized(info.expected ?? "token"), image);
    else if (info.kind === "redundant" || info.rule === "item" || info.rule === "program") this.report(Diagnostics.Declaration_expected_found_0, s, image);
    else if (info.rule === "letTarget") this.report(Diagnostics.Invalid_let_target, s);
    else if (info.rule === "retType") this.report(Diagnostics._0_expected_found_1, s, "Type", image);
    else if (EXPRESSION_RULES.has(info.rule)) this.report(Diagnostics.Expression_expected_found_0, s, image);
    else this.report(Diagnostics.Unexpected_0, s, image);
  }

  run(): Module {
    const tokens = tokenize(this.file, this.bag);
    for (const d of this.bag.items) if (d.span) this.positions.add(d.span.start);
    tokens.forEach((t, i) => this.tokenIndex.set(t.startOffset, i));
    const parser = attnParser();
    const convert = new CstToAst(this.file, {
      report: (msg, s, ...args) => this.report(msg, s, ...args),
      errorIn: (from, to) => this.errorIn(from, to),
    });
    const items: Item[] = [];
    const parts = chunks(tokens);
    parts.forEach((chunk, i) => {
      const next = parts[i + 1]?.[0];
      try {
        const cst = parser.parseTokens(chunk);
        for (const e of parser.errors) this.reportParseError(e, next);
        items.push(...convert.program(cst));
      } catch (e) {
        // The item is abandoned. chevrotain also flags the unconsumed rest as redundant: skip that.
        if (e instanceof NestingTooDeep) this.report(Diagnostics.Nesting_too_deep, this.tokSpan(e.token.tokenType === EOF ? chunk[0]! : e.token));
        else if (e instanceof RangeError) this.report(Diagnostics.Nesting_too_deep, this.tokSpan(chunk[0]!));
        else this.report(Diagnostics.Internal_error_in_0_1, this.tokSpan(chunk[0]!), "parser", e instanceof Error ? e.message : String(e));
        for (const err of parser.errors) if (err.name !== "NotAllInputParsedException") this.reportParseError(err, next);
      }
    });
    return { kind: "Module", items, span: span(this.file, 0, this.file.text.length) };
  }
}

/** Parses one source file. Never throws; diagnostics are sorted by position. */
export function parse(file: SourceFile): ParseResult {
  const fe = new FrontEnd(file);
  const module = fe.run();
  return { module, diagnostics: fe.bag.sorted() };
}
