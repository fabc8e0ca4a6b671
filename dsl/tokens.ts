/**
 * Lexical grammar of the attn language (dsl/GRAMMAR.md § Lexical): chevrotain token types with
 * categories for the operator families, and `tokenize`, which never throws and turns every lexing
 * problem (stray character, unterminated string or comment, malformed number) into a diagnostic.
 */
import { createToken, Lexer, type IToken, type TokenType } from "chevrotain";
import { Diagnostics, span, type DiagnosticBag, type SourceFile } from "../compiler/diagnostics/index.ts";

// ---- categories (Lexer.NA: never matched directly) ----
export const AddOp = createToken({ name: "AddOp", pattern: Lexer.NA });
export const MulOp = createToken({ name: "MulOp", pattern: Lexer.NA });
export const CmpOp = createToken({ name: "CmpOp", pattern: Lexer.NA });
export const UnaryOp = createToken({ name: "UnaryOp", pattern: Lexer.NA });
export const Keyword = createToken({ name: "Keyword", pattern: Lexer.NA });
/** Keywords that start a top-level item; the parser splits the token stream before each one. */
export const ItemKeyword = createToken({ name: "ItemKeyword", pattern: Lexer.NA, categories: [Keyword] });
/** Tokens that may begin a reduction body (GRAMMAR.md, "Reduction vs call"). */
export const BodyStart = createToken({ name: "BodyStart", pattern: Lexer.NA });

// ---- trivia and lexical errors (skipped or routed to the "errors" group) ----
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v\uFEFF]+/, group: Lexer.SKIPPED });
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n]*/, group: Lexer.SKIPPED });
export const BlockComment = createToken({ name: "BlockComment", pattern: /\/\*[\s\S]*?\*\//, group: Lexer.SKIPPED });
export const UnterminatedComment = createToken({ name: "UnterminatedComment", pattern: /\/\*[\s\S]*/, group: "errors" });
export const StringLit = createToken({ name: "String", pattern: /"(?:[^"\\\n]|\\[^\n])*"/, label: "string" });
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n]|\\[^\n])*\\?/, group: "errors" });
export const NumberLit = createToken({
  name: "Number",
  pattern: /(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?/,
  label: "number",
  categories: [BodyStart],
});
export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: "identifier", categories: [BodyStart] });

const kw = (word: string, categories: TokenType[] = []): TokenType =>
  createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: Identifier,
    label: `'${word}'`,
    categories: [Keyword, ...categories],
  });

export const Import = kw("import", [ItemKeyword]);
export const From = kw("from");
export const Param = kw("param", [ItemKeyword]);
export const Graph = kw("graph", [ItemKeyword]);
export const Fn = kw("fn", [ItemKeyword]);
export const Schedule = kw("schedule", [ItemKeyword]);
export const Let = kw("let");
export const Return = kw("return");
export const True = kw("true", [BodyStart]);
export const False = kw("false", [BodyStart]);
export const Inf = kw("inf", [BodyStart]);
export const NaN_ = kw("nan", [BodyStart]);

const op = (name: string, text: string, categories: TokenType[] = []): TokenType =>
  createToken({
    name,
    pattern: new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")),
    label: `'${text}'`,
    categories,
  });

// Longer operators first: chevrotain takes the first pattern that matches.
export const Transpose = createToken({ name: "Transpose", pattern: /\^T(?![A-Za-z0-9_])/, label: "'^T'" });
export const Ellipsis = op("Ellipsis", "...");
export const StarStar = op("StarStar", "**");
export const FatArrow = op("FatArrow", "=>");
export const Arrow = op("Arrow", "->");
export const EqEq = op("EqEq", "==", [CmpOp]);
export const NotEq = op("NotEq", "!=", [CmpOp]);
export const LtEq = op("LtEq", "<=", [CmpOp]);
export const GtEq = op("GtEq", ">=", [CmpOp]);
export const AndAnd = op("AndAnd", "&&");
export const OrOr = op("OrOr", "||");
export const Plus = op("Plus", "+", [AddOp]);
export const Minus = op("Minus", "-", [AddOp, UnaryOp]);
export const Star = op("Star", "*", [MulOp]);
export const Slash = op("Slash", "/", [MulOp]);
export const Percent = op("Percent", "%", [MulOp]);
export const At = op("At", "@", [MulOp]);
export const Lt = op("Lt", "<", [CmpOp]);
export const Gt = op("Gt", ">", [CmpOp]);
export const Bang = op("Bang", "!", [UnaryOp, BodyStart]);
export const Question = op("Question", "?");
export const Colon = op("Colon", ":");
export const Eq = op("Eq", "=");
export const Comma = op("Comma", ",");
export const Dot = op("Dot", ".");
export const LParen = op("LParen", "(", [BodyStart]);
export const RParen = op("RParen", ")");
export const LBracket = op("LBracket", "[");
export const RBracket = op("RBracket", "]");
export const LBrace = op("LBrace", "{");
export const RBrace = op("RBrace", "}");
export const Pipe = op("Pipe", "|");
export const Semi = op("Semi", ";");

/** Every token type, in lexing priority order. */
export const allTokens: TokenType[] = [
  WhiteSpace, LineComment, BlockComment, UnterminatedComment, StringLit, UnterminatedString, NumberLit,
  Import, From, Param, Graph, Fn, Schedule, Let, Return, True, False, Inf, NaN_,
  Identifier,
  Transpose, Ellipsis, StarStar, FatArrow, Arrow, EqEq, NotEq, LtEq, GtEq, AndAnd, OrOr,
  Plus, Minus, Star, Slash, Percent, At, Lt, Gt, Bang, Question, Colon, Eq, Comma, Dot,
  LParen, RParen, LBracket, RBracket, LBrace, RBrace, Pipe, Semi,
  AddOp, MulOp, CmpOp, UnaryOp, Keyword, ItemKeyword, BodyStart,
];

let lexerInstance: Lexer | undefined;
function lexer(): Lexer {
  lexerInstance ??= new Lexer(allTokens, { positionTracking: "onlyOffset", ensureOptimizations: false });
  return lexerInstance;
}

/** First code point of `text` at `offset`, for messages. */
function charAt(text: string, offset: number): string {
  const cp = text.codePointAt(offset);
  if (cp === undefined) return "";
  const ch = String.fromCodePoint(cp);
  return cp < 0x20 || cp === 0x7f ? `\\u${cp.toString(16).padStart(4, "0")}` : ch;
}

const isAdjacentNumberTail = (prev: IToken, next: IToken): boolean =>
  next.startOffset === prev.endOffset! + 1 && (next.tokenType === NumberLit || next.tokenType === Identifier || next.tokenType.CATEGORIES?.includes(Keyword) === true);

/**
 * Lexes a file into tokens (comments and whitespace dropped). Lexical errors are reported to
 * `diags`; the offending text is left out of the token stream so parsing can continue.
 */
export function tokenize(file: SourceFile, diags: DiagnosticBag): IToken[] {
  const result = lexer().tokenize(file.text);
  // "onlyOffset" tracking leaves endOffset out; spans (and CST locations) need it.
  for (const t of result.tokens) t.endOffset = t.startOffset + t.image.length - 1;
  for (const t of result.groups["errors"] ?? []) t.endOffset = t.startOffset + t.image.length - 1;
  for (const e of result.errors) {
    diags.error(Diagnostics.Unexpected_character_0, span(file, e.offset, e.offset + e.length), charAt(file.text, e.offset));
  }
  for (const t of result.groups["errors"] ?? []) {
    const s = span(file, t.startOffset, t.endOffset! + 1);
    if (t.tokenType === UnterminatedComment) diags.error(Diagnostics.Unterminated_block_comment, s);
    else diags.error(Diagnostics.Unterminated_string_literal, s);
  }
  // A number glued to a following identifier or number (`1e`, `2x`, `1.2.3`) is one malformed literal.
  const out: IToken[] = [];
  const tokens = result.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    out.push(t);
    if (t.tokenType !== NumberLit) continue;
    let end = t.endOffset!;
    let j = i + 1;
    while (j < tokens.length && isAdjacentNumberTail(tokens[j - 1]!, tokens[j]!)) end = tokens[j++]!.endOffset!;
    if (j > i + 1) {
      diags.error(Diagnostics.Invalid_number_0, span(file, t.startOffset, end + 1), file.text.slice(t.startOffset, end + 1));
      i = j - 1;
    }
  }
  return out;
}

/** Decodes the body of a string token: `\"`, `\\` and `\n` are escapes; other backslashes stay. */
export function stringValue(image: string): string {
  const body = image.length >= 2 && image.endsWith('"') ? image.slice(1, -1) : image.slice(1);
  return body.replace(/\\(.)/g, (all, c: string) => (c === "n" ? "\n" : c === '"' || c === "\\" ? c : all));
}
