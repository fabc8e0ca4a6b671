/** Parser tests: declarations, statements, precedence, reductions vs calls, slices, lambdas and spans. */
import { describe, expect, it } from "vitest";
import type { FnDecl, Import, Lambda, Let, ParamDecl, Schedule } from "../../dsl/index.ts";
import { TOME, at, exprOf, parseOk, parseText, stmtsOf, sx } from "./helpers.ts";


const s = (src: string) => sx(exprOf(src));

describe("the example program", () => {
  it("parses without diagnostics into the expected items", () => {
    const m = parseOk(TOME);
    expect(m.items.map((i) => i.kind)).toEqual(["Import", "ParamDecl", "ParamDecl", "FnDecl", "FnDecl"]);
    const imp = m.items[0] as Import;
    expect(imp.names.map((n) => n.name)).toEqual(["bipartite_merge", "mean_heads"]);
    expect(imp.from.value).toBe("std/merge");
    const r = m.items[1] as ParamDecl;
    expect([r.name.name, r.scalarKind.name, sx(r.value)]).toEqual(["r", "int", "16"]);
    const l2 = m.items[3] as FnDecl;
    expect([l2.isGraph, l2.name.name, l2.formals.length, l2.ret?.length]).toEqual([false, "l2norm", 1, 1]);
    const tome = m.items[4] as FnDecl;
    expect(tome.isGraph).toBe(true);
    expect(tome.formals.map((f) => `${f.name.name}:${f.type.dtype.name}[${f.type.dims?.map(sx).join(",")}]`)).toEqual([
      "x:f32[B,N,C]", "k:f32[B,H,N,D]", "size:f32[B,N]",
    ]);
    expect(tome.ret?.map((t) => t.dims?.map(sx).join(","))).toEqual(["B,(- N r),C", "B,(- N r)"]);
    expect(tome.body.stmts.map((st) => st.kind)).toEqual(["Let", "Let", "Let", "Let", "Let", "Let", "Let", "Return"]);
  });

  it("builds the right statements", () => {
    const [metric, tuple, z, mm, best, o, it2, ret] = (parseOk(TOME).items[4] as FnDecl).body.stmts;
    expect(sx((metric as Let).value)).toBe("(call mean k axis=1)");
    expect((tuple as Let).target).toMatchObject({ kind: "TupleTarget", names: [{ name: "x2" }, { name: "size2" }] });
    expect(sx((z as Let).value)).toBe("(* (idx x b i c) (? (== i 0) 0.5f 1f))");
    const mt = (mm as Let).target;
    expect(mt.kind).toBe("IndexTarget");
    if (mt.kind === "IndexTarget") expect(mt.vars.map((v) => (v.extent ? `${v.name.name}:${sx(v.extent)}` : v.name.name))).toEqual(["b", "j:N", "c"]);
    expect(sx((mm as Let).value)).toBe("(sum [i] | (== (idx dst b i) j) (idx x b i c))");
    expect(sx((best as Let).value)).toBe("(argmax [j] (idx s b a j))");
    expect(sx((o as Let).value)).toBe(
      "(call attention q k v scale=(/ 1 (call sqrt D)) score=(fn [s b h i j] (+ s (call log (idx size b j)))) returns=[lse (call probs rows=[0])])",
    );
    const iter = (it2 as Let).value;
    expect(sx(iter)).toBe("(call iterate 10 (tuple c0 s0) (fn [c s t] {2}))");
    expect(ret).toMatchObject({ kind: "Return", values: [{ name: "x2" }, { name: "size2" }] });
  });
});

describe("declarations", () => {
  it("parses imports with a trailing comma, params of each kind, and fns without a return type", () => {
    const m = parseOk(`import { a, b, } from "std/x"\nparam p: float = 0.5; param q: bool = true\nfn f(x: f32, n: int = 3,) { return x }`);
    expect(m.items.map((i) => i.kind)).toEqual(["Import", "ParamDecl", "ParamDecl", "FnDecl"]);
    const f = m.items[3] as FnDecl;
    expect(f.ret).toBeUndefined();
    expect(f.formals[1]?.default && sx(f.formals[1].default)).toBe("3");
    expect(f.formals[0]?.type.dims).toBeUndefined();
  });

  it("distinguishes scalar types, f32[] and shaped types", () => {
    const f = parseOk(`graph g(a: f32, b: f32[], c: f32[B, 2*C, N/4]) -> f32 { return a }`).items[0] as FnDecl;
    expect(f.formals.map((x) => (x.type.dims === undefined ? "none" : x.type.dims.map(sx).join(",")))).toEqual(["none", "", "B,(* 2 C),(/ N 4)"]);
  });

  it("parses schedule blocks, named or not", () => {
    const m = parseOk(`schedule main { tile(attention, 64); fuse(a, b) }\nschedule { }`);
    const [a, b] = m.items as Schedule[];
    expect(a?.name?.name).toBe("main");
    expect(a?.items.map(sx)).toEqual(["(call tile attention 64)", "(call fuse a b)"]);
    expect(b?.name).toBeUndefined();
    expect(b?.items).toEqual([]);
  });

  it("parses an empty file and a file of comments", () => {
    expect(parseOk("").items).toEqual([]);
    expect(parseOk("// nothing\n/* at all */").items).toEqual([]);
  });
});

describe("precedence and associativity", () => {
  it.each([
    ["a + b * c", "(+ a (* b c))"],
    ["a * b + c", "(+ (* a b) c)"],
    ["a - b - c", "(- (- a b) c)"],
    ["a / b % c @ d", "(@ (% (/ a b) c) d)"],
    ["-x ** 2", "(- (** x 2))"],
    ["2 ** -1", "(** 2 (- 1))"],
    ["a ** b ** c", "(** a (** b c))"],
    ["a @ b^T", "(@ a (T b))"],
    ["x^T^T", "(T (T x))"],
    ["!a && b || c && !d", "(|| (&& (! a) b) (&& c (! d)))"],
    ["a + 1 < b * 2", "(< (+ a 1) (* b 2))"],
    ["a || b ? c : d", "(? (|| a b) c d)"],
    ["a ? b : c ? d : e", "(? a b (? c d e))"],
    ["a ? b ? c : d : e", "(? a (? b c d) e)"],
    ["(a + b) * c", "(* (+ a b) c)"],
    ["-inf", "(- inf)"],
    ["f(x).y[0]^T", "(T (idx (. (call f x) y) 0))"],
    ["t.indices", "(. t indices)"],
    ['"abc"', '"abc"'],
    ["nan", "nan"],
    ["false", "false"],
  ])("%s", (src, want) => expect(s(src)).toBe(want));

  it("keeps literal kinds", () => {
    expect(exprOf("3")).toMatchObject({ kind: "Num", value: 3, isInt: true, text: "3" });
    expect(exprOf("3.0")).toMatchObject({ kind: "Num", value: 3, isInt: false, text: "3.0" });
    expect(exprOf("1e3")).toMatchObject({ kind: "Num", value: 1000, isInt: false });
    expect(exprOf(".5")).toMatchObject({ kind: "Num", value: 0.5, isInt: false });
  });

  it("parses tuples and lists", () => {
    expect(s("(a, b)")).toBe("(tuple a b)");
    expect(s("(a, b, c,)")).toBe("(tuple a b c)");
    expect(s("[]")).toBe("[]");
    expect(s("[1, 2,]")).toBe("[1 2]");
    expect(s("[[1], (a)]")).toBe("[[1] a]");
  });
});

describe("reductions and calls", () => {
  it.each([
    ["sum(x, axis: -1)", "(call sum x axis=(- 1))"],
    ["max(a, b)", "(call max a b)"],
    ["max(a)", "(call max a)"],
    ["sum(x)[0]", "(idx (call sum x) 0)"],
    ["sum(c) x[c] * y[c]", "(sum [c] (* (idx x c) (idx y c)))"],
    ["sum(c) x[c] * y[c] + 1", "(sum [c] (+ (* (idx x c) (idx y c)) 1))"],
    ["sum(c: C) x[c]", "(sum [c:C] (idx x c))"],
    ["sum(i, j: N * 2) a[i, j]", "(sum [i j:(* N 2)] (idx a i j))"],
    ["sum(i | dst[b, i] == j) x[b, i, c]", "(sum [i] | (== (idx dst b i) j) (idx x b i c))"],
    ["max(j | j <= i) s[i, j]", "(max [j] | (<= j i) (idx s i j))"],
    ["any(c) !m[c]", "(any [c] (! (idx m c)))"],
    ["mean(c) (-x[c])", "(mean [c] (- (idx x c)))"],
    ["sum(c) -x[c]", "(- (call sum c) (idx x c))"],
    ["sum(c) 2", "(sum [c] 2)"],
    ["sum(a) sum(b) x[a, b]", "(sum [a] (sum [b] (idx x a b)))"],
    ["argmin(j) (d[j])", "(argmin [j] (idx d j))"],
    ["prod(c) true", "(prod [c] true)"],
    ["c ? sum(j) e[j] : 0", "(? c (sum [j] (idx e j)) 0)"],
  ])("%s", (src, want) => expect(s(src)).toBe(want));

  it("takes the reduction body as far right as possible", () => {
    expect(s("sum(c) x[c] * y[c] > 0 ? 1 : 2")).toBe("(sum [c] (? (> (* (idx x c) (idx y c)) 0) 1 2))");
    expect(s("f(sum(c) x[c], 1)")).toBe("(call f (sum [c] (idx x c)) 1)");
  });
});

describe("subscripts and slices", () => {
  it.each([
    ["x[:, 0::2, ...]", "(idx x (: _ _ _) (: 0 _ 2) ...)"],
    ["x[1:]", "(idx x (: 1 _ _))"],
    ["x[::-1]", "(idx x (: _ _ (- 1)))"],
    ["x[a:b:c]", "(idx x (: a b c))"],
    ["x[:n]", "(idx x (: _ n _))"],
    ["x[1:2:]", "(idx x (: 1 2 _))"],
    ["x[..., 0]", "(idx x ... 0)"],
    ["x[i ? 1 : 2]", "(idx x (? i 1 2))"],
    ["x[b, idx[b, j], c]", "(idx x b (idx idx b j) c)"],
    ["x[i + 1, j - 1]", "(idx x (+ i 1) (- j 1))"],
  ])("%s", (src, want) => expect(s(src)).toBe(want));
});

describe("lambdas", () => {
  it("parses expression bodies with 0, 1 and several parameters", () => {
    expect(s("f((s, b, h, i, j) => s * 2)")).toBe("(call f (fn [s b h i j] (* s 2)))");
    expect(s("f(x => x + 1)")).toBe("(call f (fn [x] (+ x 1)))");
    expect(s("f((x) => x)")).toBe("(call f (fn [x] x))");
    expect(s("f(() => 0)")).toBe("(call f (fn [] 0))");
    expect(s("f(s => c ? -inf : s)")).toBe("(call f (fn [s] (? c (- inf) s)))");
  });

  it("parses block bodies", () => {
    const call = exprOf("iterate(3, (a, b), (a, b, t) => {\n let a2 = a + 1\n return (a2, b)\n})");
    if (call.kind !== "Call") throw new Error("call expected");
    const lam = call.args[2]?.value as Lambda;
    expect(lam.kind).toBe("Lambda");
    expect(lam.body.kind).toBe("Block");
    if (lam.body.kind === "Block") {
      expect(lam.body.stmts.map((x) => x.kind)).toEqual(["Let", "Return"]);
      expect(lam.body.stmts[1]).toMatchObject({ values: [{ kind: "Tuple" }] });
    }
  });

  it("tells a lambda from a parenthesised expression and a tuple", () => {
    expect(s("f((a), (a, b), (a, b) => a)")).toBe("(call f a (tuple a b) (fn [a b] a))");
  });
});

describe("statements", () => {
  it("parses the three let targets and multi-value returns", () => {
    const st = stmtsOf(parseOk(`graph g(x: f32) -> f32 {\n let y = x\n let z[b, i: N] = y\n let (v, i) = topk(s, 4, axis: -1)\n return v, i\n}`));
    expect(st.map((x) => (x.kind === "Let" ? x.target.kind : x.kind))).toEqual(["NameTarget", "IndexTarget", "TupleTarget", "Return"]);
    expect(st[3]).toMatchObject({ kind: "Return", values: [{ name: "v" }, { name: "i" }] });
  });

  it("needs no separators, and accepts semicolons", () => {
    expect(stmtsOf(parseOk(`graph g(x: f32) -> f32 { let a = x let b = a; ; return b; }`)).length).toBe(3);
  });

  it("keeps a bare expression statement for the checker", () => {
    expect(stmtsOf(parseOk(`fn f(x: f32) { g(x) }`))[0]).toMatchObject({ kind: "ExprStmt", expr: { kind: "Call" } });
  });
});

describe("spans", () => {
  it("points at exact lines and columns", () => {
    const { module: m, file } = parseText(TOME);
    const tome = m.items[4] as FnDecl;
    expect(at(file, tome.span.start)).toBe("11:1");
    expect(at(file, tome.name.span.start)).toBe("11:7");
    expect(file.text.slice(tome.formals[1]!.span.start, tome.formals[1]!.span.start + tome.formals[1]!.span.length)).toBe("k: f32[B, H, N, D]");
    const z = tome.body.stmts[2] as Let;
    expect(at(file, z.span.start)).toBe("14:3");
    const text = (sp: { start: number; length: number }) => file.text.slice(sp.start, sp.start + sp.length);
    expect(text(z.span)).toBe("let z[b, i, c] = x[b, i, c] * (i == 0 ? 0.5 : 1.0)");
    expect(text(z.value.span)).toBe("x[b, i, c] * (i == 0 ? 0.5 : 1.0)");
    if (z.value.kind === "Binary") {
      expect(text(z.value.opSpan)).toBe("*");
      expect(text(z.value.right.span)).toBe("(i == 0 ? 0.5 : 1.0)");
    }
    const red = (tome.body.stmts[3] as Let).value;
    expect(text(red.span)).toBe("sum(i | dst[b, i] == j) x[b, i, c]");
    if (red.kind === "Reduction") {
      expect(at(file, red.opSpan.start)).toBe("15:23");
      expect(text(red.vars[0]!.span)).toBe("i");
    }
    const imp = m.items[0] as Import;
    expect(text(imp.from.span)).toBe('"std/merge"');
    expect(at(file, imp.names[1]!.span.start)).toBe("2:27");
    expect(text(tome.ret![0]!.span)).toBe("f32[B, N - r, C]");
  });
});
