/** Syntax errors: catalog codes, messages and spans; several errors per file; recovery; no cascades. */
import { describe, expect, it } from "vitest";
import type { FnDecl } from "../../dsl/index.ts";
import { at, codes, parseText, stmtsOf, sx } from "./helpers.ts";

/** `line:col CODE message` for each diagnostic. */
function diags(text: string): string[] {
  const { diagnostics, file } = parseText(text);
  return diagnostics.map((d) => `${at(file, d.span!.start)} ${codes([d])[0]} ${d.message}`);
}

const g = (body: string) => `graph g(x: f32) -> f32 { ${body} }`;

describe("single syntax errors", () => {
  it.each([
    [g("let q = f(a b); return q"), "1:38 ATTN1005 ')' expected, found 'b'."],
    [g("let y = x + * 2; return y"), "1:38 ATTN1010 Expression expected, found '*'."],
    [g("let 1 = 2; return x"), "1:30 ATTN1015 Invalid target of 'let'."],
    [g("let q = (a,); return q"), "1:37 ATTN1010 Expression expected, found ')'."],
    [g("let q = x[]; return q"), "1:36 ATTN1010 Expression expected, found ']'."],
    [g("let q = f(x: ); return q"), "1:39 ATTN1010 Expression expected, found ')'."],
    [g("let q = sum(c | ) x; return q"), "1:42 ATTN1010 Expression expected, found ')'."],
    [g("return }"), "1:33 ATTN1010 Expression expected, found '}'."],
    [g("let q = a < b < c; return q"), "1:40 ATTN1009 Unexpected '<'."],
    [g("let q = 1 / sum(j) e[j]; return q"), "1:38 ATTN1020 A reduction used as an operand must be in parentheses, e.g. 'x / (sum(j) e[j])'."],
    ["graph g(x: f32) { return x }", "1:17 ATTN1005 '->' expected, found '{'."],
    ["graph g(x f32) -> f32 { return x }", "1:11 ATTN1005 ':' expected, found 'f32'."],
    ["graph g() -> { return 1 }", "1:14 ATTN1005 Type expected, found '{'."],
    ["import a from \"x\"", "1:8 ATTN1005 '{' expected, found 'a'."],
    ["param p: int = 1 +", "1:19 ATTN1013 Unexpected end of file."],
    ["let x = 1", "1:1 ATTN1011 Declaration expected (import, param, graph or fn), found 'let'."],
    ["graph 5", "1:7 ATTN1005 Identifier expected, found '5'."],
  ])("%s", (src, want) => {
    expect(diags(src)).toEqual([want]);
  });

  it("reports a missing '}' at the next declaration, which still parses", () => {
    const { diagnostics, module, file } = parseText("graph a(x: f32) -> f32 {\n  return x\ngraph b(x: f32) -> f32 { return x }");
    expect(diagnostics.map((d) => `${at(file, d.span!.start)} ${d.message}`)).toEqual(["3:1 '}' expected, found 'graph'."]);
    expect(module.items.map((i) => (i as FnDecl).name.name)).toEqual(["a", "b"]);
    expect((module.items[0] as FnDecl).body.stmts.length).toBe(1);
  });

  it("reports lexical errors through parse()", () => {
    expect(diags('import { a } from "std/x\nparam p: int = 2x $')).toEqual([
      "1:19 ATTN1002 Unterminated string literal.",
      "2:1 ATTN1005 String expected, found 'param'.",
      "2:16 ATTN1012 Invalid number literal '2x'.",
      "2:19 ATTN1001 Unexpected character '$'.",
    ]);
    expect(diags("param p: int = 1 /* open")).toEqual(["1:18 ATTN1003 Unterminated block comment."]);
  });
});

describe("several errors in one file", () => {
  const FILE = `import { a b } from "x"
param p: int =
graph g(x: f32[B, N]) -> f32[B, N] {
  let y = x + * 2
  let z = (x + 1
  let w[i, j] = sum(c) x[c] *
  let q = a < b < c
  let ok = x @ w^T
  return ok
}
$ junk here
fn f(x: f32) { let a = 1 / sum(j) e[j]; return a }
graph h(x: f32) { return x }
fn k( { let a = 1 }
`;

  it("reports each one, in order, once", () => {
    expect(diags(FILE)).toEqual([
      "1:12 ATTN1005 '}' expected, found 'b'.",
      "3:1 ATTN1010 Expression expected, found 'graph'.",
      "4:15 ATTN1010 Expression expected, found '*'.",
      "6:3 ATTN1005 ')' expected, found 'let'.",
      "7:3 ATTN1010 Expression expected, found 'let'.",
      "7:17 ATTN1009 Unexpected '<'.",
      "11:1 ATTN1001 Unexpected character '$'.",
      "11:3 ATTN1011 Declaration expected (import, param, graph or fn), found 'junk'.",
      "12:28 ATTN1020 A reduction used as an operand must be in parentheses, e.g. 'x / (sum(j) e[j])'.",
      "13:17 ATTN1005 '->' expected, found '{'.",
      "14:7 ATTN1005 ')' expected, found '{'.",
    ]);
  });

  it("still builds the AST of what was recognized", () => {
    const { module } = parseText(FILE);
    expect(module.items.map((i) => (i.kind === "FnDecl" ? i.name.name : i.kind))).toEqual(["Import", "g", "f", "h", "k"]);
    const gStmts = stmtsOf(module);
    expect(gStmts.map((s) => (s.kind === "Let" && s.target.kind === "NameTarget" ? s.target.name.name : s.kind))).toEqual(["z", "q", "ok", "Return"]);
    const z = gStmts[0];
    expect(z?.kind === "Let" && sx(z.value)).toBe("(+ x 1)");
  });

  it("never reports two diagnostics at one position", () => {
    const { diagnostics } = parseText(FILE + "\n)))) ]]]] }}}} let let let = = =\n");
    const starts = diagnostics.map((d) => d.span!.start);
    expect(new Set(starts).size).toBe(starts.length);
  });
});

describe("no cascades", () => {
  it("drops the debris of a broken statement", () => {
    const { diagnostics, module } = parseText(g("let x = = y + z\n  y + 1\n  return x"));
    expect(codes(diagnostics)).toEqual(["ATTN1010"]);
    // `y + z` is debris; the separate statement `y + 1` is kept for the checker to judge.
    expect(stmtsOf(module).map((s) => s.kind)).toEqual(["ExprStmt", "Return"]);
  });

  it("drops an error on the token right after a previous error", () => {
    expect(codes(parseText(g("let q = f(a b); return q")).diagnostics)).toEqual(["ATTN1005"]);
    expect(codes(parseText('import a from "x"').diagnostics)).toEqual(["ATTN1005"]);
  });
});

describe("deep nesting", () => {
  it.each([
    ["parens", "(".repeat(10000) + "x" + ")".repeat(10000)],
    ["unclosed parens", "(".repeat(10000)],
    ["brackets", "[".repeat(10000)],
    ["unary minus", "-".repeat(10000) + "x"],
    ["powers", "2 ** ".repeat(10000) + "x"],
    ["ternaries", "a ? b : ".repeat(10000) + "x"],
    ["lambdas", "f(" + "x => ".repeat(10000) + "x)"],
    ["reductions", "sum(i) ".repeat(10000) + "x"],
    ["calls", "f" + "(x)".repeat(10000)],
    ["additions", "x + ".repeat(10000) + "x"],
    ["blocks", "f(" + "() => { return f(".repeat(3000)],
  ])("reports %s nested 10k deep instead of overflowing", (_name, expr) => {
    const { diagnostics, module } = parseText(`param a: int = 1\ngraph g(x: f32) -> f32 { return ${expr} }\nparam b: int = 2`);
    expect(codes(diagnostics)).toContain("ATTN1019");
    // the declarations around it survive
    expect(module.items.map((i) => i.kind)).toEqual(expect.arrayContaining(["ParamDecl", "ParamDecl"]));
  });

  it("accepts ordinary nesting", () => {
    expect(parseText(g(`return ${"(".repeat(30)}x${")".repeat(30)}`)).diagnostics).toEqual([]);
    expect(parseText(g(`return ${"f(".repeat(30)}x${")".repeat(30)}`)).diagnostics).toEqual([]);
    expect(parseText(g(`return ${"x + ".repeat(200)}x`)).diagnostics).toEqual([]);
  });
});
