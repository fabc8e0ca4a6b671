/** AST utilities: walk/childrenOf/astDepth, and exprToString round-trips (hand-picked and generated). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SourceFile } from "../../compiler/diagnostics/index.ts";
import { astDepth, childrenOf, exprToString, stmtToString, walk, type Expr, type Node } from "../../dsl/ast.ts";
import { parse } from "../../dsl/index.ts";
import { TOME, exprOf, parseOk, sx } from "./helpers.ts";

const fakeSpan = { file: new SourceFile("gen", ""), start: 0, length: 0 };

describe("walk", () => {
  it("visits every node in pre-order, with parents", () => {
    const m = parseOk(TOME);
    const kinds: string[] = [];
    const parents = new Map<Node, Node | undefined>();
    walk(m, (n, p) => {
      kinds.push(n.kind);
      parents.set(n, p);
    });
    expect(kinds[0]).toBe("Module");
    expect(kinds.slice(1, 3)).toEqual(["Import", "ParamDecl"]);
    for (const k of ["FnDecl", "Formal", "TypeRef", "Block", "Let", "Return", "IndexTarget", "TupleTarget", "NameTarget", "IndexVar",
      "Reduction", "Index", "Slice", "Call", "Arg", "Lambda", "Ternary", "Tuple", "List", "Binary", "Num", "Bool", "Name"]) {
      expect(kinds).toContain(k);
    }
    // every child's parent is the node that lists it
    for (const [n, p] of parents) if (p) expect(childrenOf(p)).toContain(n);
    expect(kinds.filter((k) => k === "Reduction").length).toBe(3);
  });

  it("skips the children of a node when the visitor returns false", () => {
    const kinds: string[] = [];
    walk(parseOk(TOME), (n) => {
      kinds.push(n.kind);
      return n.kind !== "FnDecl";
    });
    expect(kinds).toEqual(["Module", "Import", "ParamDecl", "Num", "ParamDecl", "Num", "FnDecl", "FnDecl"]);
  });

  it("handles very deep trees without recursion", () => {
    let e: Expr = { kind: "Name", name: "x", span: fakeSpan };
    for (let i = 0; i < 100_000; i++) e = { kind: "Unary", op: "-", operand: e, span: fakeSpan };
    let count = 0;
    walk(e, () => void count++);
    expect(count).toBe(100_001);
    expect(astDepth(e)).toBe(100_001);
  });
});

describe("exprToString", () => {
  it.each([
    "a + b * c",
    "(a + b) * c",
    "a - (b - c)",
    "-x ** 2",
    "(-x) ** 2",
    "a ** b ** c",
    "(a ** b) ** c",
    "a @ b^T",
    "(a < b) == c",
    "a ? b : c ? d : e",
    "(a ? b : c) ? d : e",
    "x[:, 0::2, ...]",
    "x[1:]",
    "x[::-1]",
    "sum(c) x[c] * y[c]",
    "sum(i, j: N | m[i] > 0) (-x[i, j])",
    "1 / (sum(j) e[j])",
    "f(x, axis: -1, score: (s, b) => s + b, k: x => x, z: () => 0)",
    "(x => x)(1)",
    "[1, (a, b), []]",
    't.indices[0].values^T + "s"',
    "!a && b || !(c || d)",
    "-inf",
    "(1).x",
  ])("prints %s back as written", (src) => {
    expect(exprToString(exprOf(src))).toBe(src);
  });

  it("prints statements, including lambda blocks", () => {
    const m = parseOk(TOME);
    const tome = m.items[4];
    if (tome?.kind !== "FnDecl") throw new Error("fn expected");
    expect(tome.body.stmts.map(stmtToString)).toEqual([
      "let metric = mean(k, axis: 1)",
      "let (x2, size2) = bipartite_merge(x, metric: metric, size: size, r: r, protect_first: true)",
      "let z[b, i, c] = x[b, i, c] * (i == 0 ? 0.5 : 1.0)",
      "let m[b, j: N, c] = sum(i | dst[b, i] == j) x[b, i, c]",
      "let best[b, a] = argmax(j) s[b, a, j]",
      "let o = attention(q, k, v, scale: 1 / sqrt(D), score: (s, b, h, i, j) => s + log(size[b, j]), returns: [lse, probs(rows: [0])])",
      "let it = iterate(10, (c0, s0), (c, s, t) => { let c2 = c + 1; return (c2, s) })",
      "return x2, size2",
    ]);
  });

  it("round-trips generated expressions through the parser", () => {
    const S = { span: fakeSpan };
    const id = (name: string) => ({ name, span: fakeSpan });
    const name = fc.constantFrom("a", "b", "x", "y", "None", "f32").map((n): Expr => ({ kind: "Name", name: n, ...S }));
    const leaf = fc.oneof(
      name,
      fc.nat(1000).map((v): Expr => ({ kind: "Num", value: v, isInt: true, text: String(v), ...S })),
      fc.constantFrom("0.5", "1e-3", "2.0").map((t): Expr => ({ kind: "Num", value: Number(t), isInt: false, text: t, ...S })),
      fc.boolean().map((v): Expr => ({ kind: "Bool", value: v, ...S })),
      fc.constantFrom<Expr>({ kind: "Inf", ...S }, { kind: "NaN", ...S }, { kind: "Str", value: "std/x", ...S }),
    );
    const binOps = ["+", "-", "*", "/", "%", "@", "**", "==", "!=", "<", "<=", ">", ">=", "&&", "||"] as const;
    const { expr } = fc.letrec<{ expr: Expr }>((tie) => {
      const e = tie("expr");
      const sub = fc.oneof(
        e,
        fc.record({ start: fc.option(e, { nil: undefined }), stop: fc.option(e, { nil: undefined }), step: fc.option(e, { nil: undefined }) })
          .map(({ start, stop, step }) => ({ kind: "Slice" as const, ...(start ? { start } : {}), ...(stop ? { stop } : {}), ...(step ? { step } : {}), ...S })),
        fc.constant({ kind: "Ellipsis" as const, ...S }),
      );
      const ivar = fc.record({ n: fc.constantFrom("i", "j"), ext: fc.option(e, { nil: undefined }) })
        .map(({ n, ext }) => ({ kind: "IndexVar" as const, name: id(n), ...(ext ? { extent: ext } : {}), ...S }));
      return {
        expr: fc.oneof(
          { depthSize: "small", withCrossShrink: true },
          leaf,
          fc.tuple(fc.constantFrom("-", "!"), e).map(([op, operand]): Expr => ({ kind: "Unary", op: op as "-" | "!", operand, ...S })),
          fc.tuple(fc.constantFrom(...binOps), e, e).map(([op, left, right]): Expr => ({ kind: "Binary", op, opSpan: fakeSpan, left, right, ...S })),
          fc.tuple(e, e, e).map(([cond, whenTrue, whenFalse]): Expr => ({ kind: "Ternary", cond, whenTrue, whenFalse, ...S })),
          fc.tuple(e, fc.array(fc.tuple(fc.option(fc.constantFrom("axis", "k"), { nil: undefined }), e), { maxLength: 3 }))
            .map(([callee, args]): Expr => ({ kind: "Call", callee, args: args.map(([n, value]) => ({ kind: "Arg", ...(n ? { name: id(n) } : {}), value, ...S })), ...S })),
          fc.tuple(fc.constantFrom("sum", "max", "argmax"), fc.array(ivar, { minLength: 1, maxLength: 2 }), fc.option(e, { nil: undefined }), e)
            .map(([op, vars, cond, body]): Expr => ({ kind: "Reduction", op: op as "sum", opSpan: fakeSpan, vars, ...(cond ? { cond } : {}), body, ...S })),
          fc.tuple(e, fc.array(sub, { minLength: 1, maxLength: 3 })).map(([target, subscripts]): Expr => ({ kind: "Index", target, subscripts, ...S })),
          fc.tuple(e, fc.constantFrom("indices", "T")).map(([object, n]): Expr => ({ kind: "Member", object, name: id(n), ...S })),
          e.map((operand): Expr => ({ kind: "Transpose", operand, ...S })),
          fc.array(e, { minLength: 2, maxLength: 3 }).map((items): Expr => ({ kind: "Tuple", items, ...S })),
          fc.array(e, { maxLength: 3 }).map((items): Expr => ({ kind: "List", items, ...S })),
          fc.tuple(fc.subarray(["s", "b", "h"]), e).map(([ps, body]): Expr => ({ kind: "Lambda", params: ps.map(id), body, ...S })),
        ),
      };
    });
    fc.assert(
      fc.property(expr, (e) => {
        const text = exprToString(e);
        if (process.env["SHOW_GENERATED"]) console.log(text);
        const r = parse(new SourceFile("rt", `graph g() -> f32 {\n let v = ${text}\n return v\n}`));
        const errors = r.diagnostics.map((d) => d.message);
        const fn = r.module.items[0];
        const st = fn?.kind === "FnDecl" ? fn.body.stmts[0] : undefined;
        if (astDepth(e) > 40) return; // beyond the parser's nesting budget: covered in errors.test.ts
        expect({ text, errors }).toEqual({ text, errors: [] });
        expect(st?.kind === "Let" ? sx(st.value) : undefined).toBe(sx(e));
      }),
      { numRuns: 1500, seed: 20260101 },
    );
  });
});
