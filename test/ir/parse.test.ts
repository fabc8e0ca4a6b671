/** Parsing hand-written IR text: what it accepts, what it builds, and its errors. */
import { describe, expect, it } from "vitest";
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import * as D from "../../compiler/graph/dim.ts";
import { printDim } from "../../compiler/graph/dim.ts";
import { IRParseError, parseDim, parseGraph } from "../../compiler/graph/parse.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { graphDiff } from "./helpers.ts";

describe("hand-written text", () => {
  it("builds the same nodes as the GraphBuilder (any names, comments, layout)", () => {
    const b = new GraphBuilder("tome");
    const x = b.input("x", "f32", ["B", "N", "C"]);
    const w = b.input("w", "f32", ["C", "C"]);
    const m = b.matmul(x, w);
    const s = b.compute(m.shape, (i, j, c) => S.mul(b.at_(m, [i!, j!, c!]), S.select(S.eq(j!, 0), 0.5, 1)));
    const [vals, idx] = b.topk(b.reduce("sum", s, 2), 4, 1);
    const built = b.finish([vals!, idx!], ["out0", "idx"]);
    const text = `
      // token merging, scored
      graph tome(%x: f32[B, N, C], %w: f32[C, C]) -> (%top_v, %top_i as idx) {
        %h = matmul %x, %w : f32[B, N, C]
        %scaled = compute %h {
          $0[v0, v1, v2] * select(eq(v1, 0), 0.5:f32, 1.0)   // prefix or infix, typed or not
        } : f32[B, N, C]
        %sum = reduce %scaled {keepdims = false, axes = [2], fn = sum} : f32[B, N]
        %t = topk %sum {k = 4, axis = 1, largest = true} : (f32[B, 4], i32[B, 4])
        %top_v = proj %t {index = 0} : f32[B, 4]
        %top_i = proj %t {index = 1} : i32[B, 4]
      }`;
    const parsed = parseGraph(text);
    expect(graphDiff(built, parsed)).toBeUndefined();
    expect(printGraph(parsed)).toBe(printGraph(built));
  });

  it("attention hooks, optional attributes left out, loops", () => {
    const b = new GraphBuilder("g");
    const q = b.input("q", "f32", ["N", "D"]);
    const bias = b.input("bias", "f32", ["N"]);
    const o = b.attention(q, q, q, { scale: 0.5, mask: ([i, j]) => S.le(j!, i!), bias }) as Tensor;
    const [h] = b.iterate("T", [o], ([st], t) => [b.add(st!, b.cast(t, "f32"))]);
    const built = b.finish([h!]);
    const text = `graph g(%q: f32[N, D], %bias: f32[N]) -> (%h) {
      %o = attention %q, %q, %q, %bias {mask = v1 <= v0, bias = $3, scale = 0.5} : f32[N, D]
      %loop = iterate %o {loop = 0, n = T} : (f32[N, D]) {
        %s = loop_state {loop = 0, index = 0} : f32[N, D]
        %t = loop_index {loop = 0} : i32[]
        %tf = cast %t : f32[]
        %next = add %s, %tf : f32[N, D]
        yield %next
      }
      %h = proj %loop {index = 0} : f32[N, D]
    }`;
    expect(graphDiff(built, parseGraph(text))).toBeUndefined();
  });

  it("names are global: a region may be written flat, with definitions before their iterate", () => {
    const nested = parseGraph(`graph g(%x: f32[N]) -> (%r) {
      %l = iterate %x {n = 2, loop = 0} : (f32[N]) {
        %s = loop_state {loop = 0, index = 0} : f32[N]
        %e = exp %s : f32[N]
        yield %e
      }
      %r = proj %l {index = 0} : f32[N]
    }`);
    const flat = parseGraph(`graph g(%x: f32[N]) -> (%r) {
      %s = loop_state {loop = 0, index = 0} : f32[N]
      %e = exp %s : f32[N]
      %l = iterate %x {n = 2, loop = 0} : (f32[N]) { yield %e }
      %r = proj %l {index = 0} : f32[N]
    }`);
    expect(graphDiff(nested, flat)).toBeUndefined();
  });

  it("equal lines intern to one node", () => {
    const g = parseGraph(`graph g(%x: f32[N]) -> (%a, %b) {
      %a = exp %x : f32[N]
      %b = exp %x : f32[N]
    }`);
    expect(g.outputs[0]).toBe(g.outputs[1]);
    expect(g.outputNames).toEqual(["out0", "out1"]);
  });

  it("infix and call forms of a binary function are the same expression", () => {
    const parse = (body: string) => parseGraph(`graph g(%x: f32[N]) -> (%c) { %c = compute %x { ${body} } : f32[N] }`);
    const same = (a: string, b: string) => expect(graphDiff(parse(a), parse(b))).toBeUndefined();
    same("$0[v0] * 2.0 + 1.0", "add(mul($0[v0], 2.0), 1.0)");
    same("$0[v0 - -1 % 3]", "$0[sub(v0, mod(-1, 3))]");
    same("sum[v1 < N | v1 <= v0] { $0[v1] }", "sum[v1 < N | le(v1, v0)] { ($0[v1]) }");
    expect(graphDiff(parse("$0[v0 - 1 - 1]"), parse("$0[v0 - (1 - 1)]"))).toMatch(/body/);
  });

  it("graphDiff notices a changed attribute", () => {
    const t = (eps: string) => parseGraph(`graph g(%x: f32[N]) -> (%y) { %y = rmsnorm %x {eps = ${eps}, hasWeight = false} : f32[N] }`);
    expect(graphDiff(t("1e-6"), t("0.000001"))).toBeUndefined();
    expect(graphDiff(t("1e-6"), t("1e-5"))).toMatch(/eps/);
  });
});

describe("dims", () => {
  const N = D.dim("N");
  const M = D.dim("M");
  it("parse to the canonical Dim", () => {
    expect(parseDim("N - r + 1")).toBe(D.add(D.sub(N, "r"), 1));
    expect(parseDim("r + 1 - r + N")).toBe(D.add(N, 1));
    expect(parseDim("(N + 1) / 2")).toBe(D.div(D.add(N, 1), 2));
    expect(parseDim("((N + 1) / 2)")).toBe(D.div(D.add(N, 1), 2));
    expect(parseDim("(N % 2)")).toBe(D.mod(N, 2));
    expect(parseDim("N%2")).toBe(D.mod(N, 2));
    expect(parseDim("min(M, N)")).toBe(D.min(N, M));
    expect(parseDim("max(N, 3) * 2")).toBe(D.mul(D.max(N, 3), 2));
    expect(parseDim("S*S")).toBe(D.mul("S", "S"));
    expect(parseDim("-N + 3")).toBe(D.sub(3, N));
    expect(parseDim("M / (2*N)")).toBe(D.div(M, D.mul(2, N)));
    expect(parseDim("M / 2*N")).toBe(D.mul(D.div(M, 2), N));
  });

  it("printDim output parses back to the same Dim (products as divisors, nested atoms)", () => {
    const ds = [
      D.div(M, D.mul(2, N)),
      D.mod(M, D.mul(N, N)),
      D.div(N, -2),
      D.div(M, D.neg(N)),
      D.mul(D.mod(M, D.mul(N, N)), D.div(N, D.mul(3, M))),
      D.ceilDiv(D.max(D.sub(N, "r"), 0), D.min(M, D.mul(N, N))),
    ];
    for (const d of ds) expect(parseDim(printDim(d)), printDim(d)).toBe(d);
  });
});

describe("errors", () => {
  const err = (text: string): IRParseError => {
    try {
      parseGraph(text);
    } catch (e) {
      expect(e).toBeInstanceOf(IRParseError);
      return e as IRParseError;
    }
    throw new Error("expected a parse error");
  };
  const g = (body: string, header = "graph g(%x: f32[N]) -> (%y) {") => `${header}\n${body}\n}`;

  const cases: [text: string, line: number, col: number, msg: string][] = [
    [g("  %y = frob %x : f32[N]"), 2, 8, "unknown op 'frob'"],
    [g("  %y = exp %z : f32[N]"), 2, 12, "undefined value %z"],
    [g("  %y = exp %x : f32[N]\n  %y = log %x : f32[N]"), 3, 3, "duplicate name %y"],
    [g("  %y = exp %x : f64[N]"), 2, 17, "unknown dtype 'f64'"],
    [g("  %y = softmax %x : f32[N]"), 2, 19, "expected '{' and the attributes of softmax (axis)"],
    [g("  %y = softmax %x {} : f32[N]"), 2, 19, "softmax needs attribute 'axis'"],
    [g("  %y = softmax %x {axis = 0, dim = 1} : f32[N]"), 2, 30, "unknown attribute 'dim' of softmax (expected axis)"],
    [g("  %y = softmax %x {axis = 0, axis = 1} : f32[N]"), 2, 30, "duplicate attribute 'axis'"],
    [g("  %y = softmax %x {axis = 0.5} : f32[N]"), 2, 27, "expected an integer"],
    [g("  %y = reduce %x {fn = total, axes = [0], keepdims = false} : f32[]"), 2, 24, "expected a value (sum, mean, max, min, prod, any, all), found 'total'"],
    [g("  %y = exp %x : f32[N / 0]"), 2, 23, "division by zero"],
    [g("  %y = exp %x : f32[N +]"), 2, 24, "expected a dim, found ']'"],
    [g("  %y = compute %x { $0[v0] + foo(v0) } : f32[N]"), 2, 30, "unknown name 'foo' in an expression"],
    [g("  %y = compute %x { $0[v0] + neg } : f32[N]"), 2, 34, "expected '(', found '}'"],
    [g("  %y = compute %x { -$0[v0] } : f32[N]"), 2, 21, "negation is written neg(x)"],
    [g("  %y = compute %x { $1[v0] } : f32[N]"), 2, 21, "$1 is not a tensor operand"],
    [g("  %y = compute %x { sum[i < N] { $0[i] } } : f32[]"), 2, 25, "expected a reduction variable (v3 < N), found 'i'"],
    [g("  %y = iterate %x {n = 2, loop = 0} : (f32[N]) {\n    %z = exp %y : f32[N]\n    yield %z\n  }"), 3, 14, "%y is used inside its own iterate region"],
    [g("  yield %x"), 2, 3, "'yield' outside an iterate region"],
    [g("  %y = input {name = x} : f32[N]"), 2, 22, "expected a string, found 'x'"],
    [g('  %y = input {name = "x} : f32[N]'), 2, 22, "unterminated string"],
    [g("  %y = exp %x : f32[N] #"), 2, 24, 'unexpected character "#"'],
    [g("  %y = exp %x : f32[N]", "graph g(%x: f32[N]) -> (%q) {"), 1, 25, "undefined value %q"],
    [g("  %y = exp %x : f32[N]", "graph g(%x: f32[N], %x: f32[N]) -> (%y) {"), 1, 21, "duplicate name %x"],
    ["graph g() -> () {}\n}", 2, 1, "expected end of input, found '}'"],
    ["graph g() -> () {", 1, 18, "expected a statement or '}', found end of input"],
    ["grph g() -> () {}", 1, 1, "expected 'graph', found 'grph'"],
  ];
  it.each(cases.map(([text, line, col, msg]) => [msg, text, line, col] as const))("%s", (msg, text, line, col) => {
    const e = err(text);
    expect(e.message).toContain(msg);
    expect([e.line, e.col]).toEqual([line, col]);
    expect(e.message.startsWith(`${line}:${col}: `)).toBe(true);
  });
});
