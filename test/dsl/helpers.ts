/** Test helpers for the front end: parse snippets, and print expressions as fully bracketed s-expressions. */
import { expect } from "vitest";
import { SourceFile, codeString, type Diagnostic } from "../../compiler/diagnostics/index.ts";
import { parse, type Expr, type FnDecl, type Module, type Stmt, type Subscript } from "../../dsl/index.ts";

export function parseText(text: string, path = "test.attn"): { module: Module; diagnostics: Diagnostic[]; file: SourceFile } {
  const file = new SourceFile(path, text);
  return { ...parse(file), file };
}

/** Parses and expects no diagnostics. */
export function parseOk(text: string): Module {
  const r = parseText(text);
  expect(r.diagnostics.map((d) => `${codeString(d.code)} ${d.message}`)).toEqual([]);
  return r.module;
}

export const codes = (ds: readonly Diagnostic[]): string[] => ds.map((d) => codeString(d.code));

/** The statements of the first graph/fn. */
export function stmtsOf(m: Module): readonly Stmt[] {
  const fn = m.items.find((i): i is FnDecl => i.kind === "FnDecl");
  if (!fn) throw new Error("no fn in module");
  return fn.body.stmts;
}

/** Parses `let v = <src>` inside a graph and returns the value. */
export function exprOf(src: string): Expr {
  const m = parseOk(`graph g() -> f32 {\n  let v = ${src}\n  return v\n}`);
  const s = stmtsOf(m)[0];
  if (s?.kind !== "Let") throw new Error("expected a let");
  return s.value;
}

function sub(s: Subscript): string {
  if (s.kind === "Ellipsis") return "...";
  if (s.kind === "Slice") return `(: ${s.start ? sx(s.start) : "_"} ${s.stop ? sx(s.stop) : "_"} ${s.step ? sx(s.step) : "_"})`;
  return sx(s);
}

/** Fully bracketed structure of an expression, e.g. `(+ a (* b c))`. */
export function sx(e: Expr): string {
  switch (e.kind) {
    case "Num": return e.isInt ? `${e.value}` : `${e.value}f`;
    case "Str": return JSON.stringify(e.value);
    case "Bool": return String(e.value);
    case "Inf": return "inf";
    case "NaN": return "nan";
    case "Name": return e.name;
    case "Unary": return `(${e.op} ${sx(e.operand)})`;
    case "Binary": return `(${e.op} ${sx(e.left)} ${sx(e.right)})`;
    case "Ternary": return `(? ${sx(e.cond)} ${sx(e.whenTrue)} ${sx(e.whenFalse)})`;
    case "Call": return `(call ${sx(e.callee)}${e.args.map((a) => ` ${a.name ? `${a.name.name}=` : ""}${sx(a.value)}`).join("")})`;
    case "Reduction":
      return `(${e.op} [${e.vars.map((v) => (v.extent ? `${v.name.name}:${sx(v.extent)}` : v.name.name)).join(" ")}]${e.cond ? ` | ${sx(e.cond)}` : ""} ${sx(e.body)})`;
    case "Index": return `(idx ${sx(e.target)} ${e.subscripts.map(sub).join(" ")})`;
    case "Member": return `(. ${sx(e.object)} ${e.name.name})`;
    case "Transpose": return `(T ${sx(e.operand)})`;
    case "Tuple": return `(tuple ${e.items.map(sx).join(" ")})`;
    case "List": return `[${e.items.map(sx).join(" ")}]`;
    case "Lambda": return `(fn [${e.params.map((p) => p.name).join(" ")}] ${e.body.kind === "Block" ? `{${e.body.stmts.length}}` : sx(e.body)})`;
  }
}

/** `line:col` of a span start. */
export function at(file: SourceFile, start: number): string {
  const p = file.position(start);
  return `${p.line}:${p.column}`;
}

/** The example program from the front-end brief (token merging with proportional attention). */
export const TOME = `// Token merging with proportional attention
import { bipartite_merge, mean_heads } from "std/merge"
param r: int = 16
param heads: int = 8

fn l2norm(x: float[B, N, D]) -> float[B, N, D] {
  let n[b, i] = sum(d) x[b, i, d] * x[b, i, d]
  return x / sqrt(n[:, :, None] + 1e-12)   // None is just a Name here
}

graph tome(x: f32[B, N, C], k: f32[B, H, N, D], size: f32[B, N]) -> (f32[B, N - r, C], f32[B, N - r]) {
  let metric = mean(k, axis: 1)
  let (x2, size2) = bipartite_merge(x, metric: metric, size: size, r: r, protect_first: true)
  let z[b, i, c] = x[b, i, c] * (i == 0 ? 0.5 : 1.0)
  let m[b, j: N, c] = sum(i | dst[b, i] == j) x[b, i, c]
  let best[b, a] = argmax(j) s[b, a, j]
  let o = attention(q, k, v, scale: 1 / sqrt(D), score: (s, b, h, i, j) => s + log(size[b, j]),
                    returns: [lse, probs(rows: [0])])
  let it = iterate(10, (c0, s0), (c, s, t) => { let c2 = c + 1; return (c2, s) })
  return x2, size2
}
`;
