/** Lexer tests: token kinds, numbers, strings, comments, and lexical errors as diagnostics with spans. */
import { describe, expect, it } from "vitest";
import { DiagnosticBag, SourceFile, codeString } from "../../compiler/diagnostics/index.ts";
import { stringValue, tokenize } from "../../dsl/tokens.ts";

function lex(text: string) {
  const file = new SourceFile("t.attn", text);
  const bag = new DiagnosticBag();
  const tokens = tokenize(file, bag);
  return {
    names: tokens.map((t) => t.tokenType.name),
    images: tokens.map((t) => t.image),
    diags: bag.items.map((d) => ({ code: codeString(d.code), msg: d.message, start: d.span?.start, length: d.span?.length })),
    tokens,
  };
}

describe("lexer", () => {
  it("splits operators, longest first", () => {
    expect(lex("a ** b * c => d -> e == f != g <= h >= i && j || k ... . ^T").images).toEqual([
      "a", "**", "b", "*", "c", "=>", "d", "->", "e", "==", "f", "!=", "g", "<=", "h", ">=", "i", "&&", "j", "||", "k", "...", ".", "^T",
    ]);
    expect(lex("x^T@y").names).toEqual(["Identifier", "Transpose", "At", "Identifier"]);
    expect(lex("+ - * / % @ < > ! ? : = , ( ) [ ] { } | ;").names).toEqual([
      "Plus", "Minus", "Star", "Slash", "Percent", "At", "Lt", "Gt", "Bang", "Question", "Colon", "Eq", "Comma",
      "LParen", "RParen", "LBracket", "RBracket", "LBrace", "RBrace", "Pipe", "Semi",
    ]);
  });

  it("tells keywords from identifiers that start with one", () => {
    expect(lex("let letter import imports fn fnx graph schedule param from return true false inf nan infinity").names).toEqual([
      "Let", "Identifier", "Import", "Identifier", "Fn", "Identifier", "Graph", "Schedule", "Param", "From", "Return",
      "True", "False", "Inf", "Nan", "Identifier",
    ]);
    // dtypes, scalar kinds and reduction ops are plain identifiers
    expect(lex("f32 bf16 int float bool sum argmax None").names.every((n) => n === "Identifier")).toBe(true);
  });

  it("lexes numbers", () => {
    expect(lex("123 1.5 1e-6 .5 2. 3E+2 0").images).toEqual(["123", "1.5", "1e-6", ".5", "2.", "3E+2", "0"]);
    expect(lex("1.5").names).toEqual(["Number"]);
    expect(lex("0::2").images).toEqual(["0", ":", ":", "2"]);
  });

  it("reports malformed numbers once, with the whole literal", () => {
    const r = lex("a = 1e + 2x + 1.2.3");
    expect(r.diags.map((d) => d.msg)).toEqual([
      "Invalid number literal '1e'.",
      "Invalid number literal '2x'.",
      "Invalid number literal '1.2.3'.",
    ]);
    expect(r.diags.map((d) => [d.start, d.length])).toEqual([[4, 2], [9, 2], [14, 5]]);
    expect(r.images).toEqual(["a", "=", "1", "+", "2", "+", "1.2"]);
  });

  it("lexes strings with escapes", () => {
    const r = lex(String.raw`"std/merge" "a\"b" "c\\d" "e\nf"`);
    expect(r.names).toEqual(["String", "String", "String", "String"]);
    expect(r.images.map(stringValue)).toEqual(["std/merge", 'a"b', "c\\d", "e\nf"]);
  });

  it("skips comments, whitespace, CRLF and a byte-order mark", () => {
    expect(lex("a // b c\n/* d\n e */ f\r\n\tg").images).toEqual(["a", "f", "g"]);
    expect(lex("\uFEFFparam p").diags).toEqual([]);
  });

  it("reports an unexpected character with its span and continues", () => {
    const r = lex("a $ b # c");
    expect(r.images).toEqual(["a", "b", "c"]);
    expect(r.diags).toEqual([
      { code: "ATTN1001", msg: "Unexpected character '$'.", start: 2, length: 1 },
      { code: "ATTN1001", msg: "Unexpected character '#'.", start: 6, length: 1 },
    ]);
    expect(lex("a ^ b").diags[0]?.msg).toBe("Unexpected character '^'.");
    expect(lex("\u{1F600}").diags[0]?.msg).toBe("Unexpected character '\u{1F600}'.");
  });

  it("reports an unterminated string up to the end of its line", () => {
    const r = lex('import { a } from "std/x\nparam p: int = 1');
    expect(r.diags).toEqual([{ code: "ATTN1002", msg: "Unterminated string literal.", start: 18, length: 6 }]);
    expect(r.images.slice(-6)).toEqual(["param", "p", ":", "int", "=", "1"]);
  });

  it("reports an unterminated block comment", () => {
    const r = lex("a /* never\nclosed");
    expect(r.diags).toEqual([{ code: "ATTN1003", msg: "Unterminated block comment.", start: 2, length: 15 }]);
    expect(r.images).toEqual(["a"]);
  });

  it("gives every token an end offset", () => {
    for (const t of lex("let x = 1.5 ** y").tokens) expect(t.endOffset).toBe(t.startOffset + t.image.length - 1);
  });
});
