/** fn inlining: dims bound from arguments and unified across them, defaults, argument checking, scoping. */
import { describe, expect, it } from "vitest";
import { codes, compile, errors, errorsOf, ir, ok, outType } from "./helpers.ts";

describe("dims of fn formals", () => {
  it("are bound from the arguments and usable in the body and the result type", () => {
    const { graph } = ok(`fn pad_rows(x: float[N, D], extra: int) -> float[N + extra, D] {
      return concat([x, zeros([extra, D])], axis: 0)
    }
    graph g(x: f32[B, 8]) -> f32[B + 3, 8] { return pad_rows(x, 3) }`);
    expect(outType(graph)).toBe("f32[B + 3, 8]");
  });

  it("unify across arguments", () => {
    const { graph } = ok(`fn scores(a: f32[N, D], b: f32[M, D]) -> f32[N, M] { return a @ b^T }
    graph g(x: f32[B, C], y: f32[K, C]) -> f32[B, K] { return scores(x, y) }`);
    expect(outType(graph)).toBe("f32[B, K]");
  });

  it("report an argument whose dims disagree, pointing at the fn signature", () => {
    const r = compile(`fn scores(a: f32[N, D], b: f32[M, D]) -> f32[N, M] { return a @ b^T }
    graph g(x: f32[B, C], y: f32[K, E]) -> f32[B, K] { return scores(x, y) }`);
    expect(errorsOf(r)).toEqual(["ATTN3005 Dim 'D' is bound to E here but to C elsewhere."]);
    const d = r.diagnostics[0]!;
    expect(d.span!.file.text.slice(d.span!.start, d.span!.start + d.span!.length)).toBe("y");
    expect(d.related?.[0]?.message).toMatch(/'scores' declares 'b: f32\[M, D\]'/);
  });

  it("unify with dim expressions and constants", () => {
    expect(ir(`fn halves(y: f32[H], x: f32[2 * H]) -> f32[H] { return reshape(x, [2, H])[0] + y }
    graph g(b: f32[N], a: f32[2 * N]) -> tensor { return halves(b, a) }`)).toContain("add");
    expect(codes(`fn halves(y: f32[H], x: f32[2 * H]) -> f32[H] { return reshape(x, [2, H])[0] + y }
    graph g(b: f32[N], a: f32[2 * N + 1]) -> tensor { return halves(b, a) }`)).toEqual(["ATTN3005"]);
    expect(codes(`fn four(x: f32[4]) -> f32[4] { return x }
    graph g(a: f32[N]) -> tensor { return four(a) }`)).toEqual(["ATTN3005"]);
  });

  it("are fresh at each call: one fn inlined at two different shapes", () => {
    const { graph } = ok(`fn rowsum(x: float[R, S]) -> float[R] { return sum(x, axis: 1) }
    graph g(a: f32[B, C], b: f16[4, 5]) -> (f32[B], f16[4]) { return rowsum(a), rowsum(b) }`);
    expect(outType(graph, 0)).toBe("f32[B]");
    expect(outType(graph, 1)).toBe("f16[4]");
  });

  it("check the rank of an argument", () => {
    expect(errors(`fn f(x: f32[N, D]) -> tensor { return x }
    graph g(a: f32[N]) -> tensor { return f(a) }`)).toEqual([expect.stringMatching(/^ATTN2010 Argument 'x' of 'f' must be rank 2 \[N, D\]/)]);
  });
});

describe("fn results", () => {
  it("are checked against the declared types with dim expressions", () => {
    expect(codes(`fn f(x: f32[N]) -> f32[N - 1] { return x }
    graph g(a: f32[N]) -> tensor { return f(a) }`)).toEqual(["ATTN3007"]);
    expect(codes(`fn f(x: f32[N]) -> f16[N] { return x }
    graph g(a: f32[N]) -> tensor { return f(a) }`)).toEqual(["ATTN3008"]);
  });

  it("several results come back as a tuple; `return (a, b)` equals `return a, b`", () => {
    const a = ir(`fn two(x: f32[N]) -> (f32[N], f32[N]) { return x + 1, x * 2 }
    graph g(x: f32[N]) -> (f32[N], f32[N]) { let (p, q) = two(x)
      return p, q }`);
    const b = ir(`fn two(x: f32[N]) -> (f32[N], f32[N]) { return (x + 1, x * 2) }
    graph g(x: f32[N]) -> (f32[N], f32[N]) { let (p, q) = two(x)
      return p, q }`);
    expect(a).toBe(b);
  });

  it("a fn returning a named tuple keeps its members", () => {
    expect(ir(`fn best(x: tensor, k: int) { return topk(x, k) }
    graph g(x: f32[N, 8]) -> i32[N, 2] { return best(x, 2).indices }`)).toContain("topk");
  });

  it("a scalar-typed formal or result (f32 without brackets) must be rank 0", () => {
    expect(ir(`fn scale(x: tensor, s: f32) -> tensor { return x * s }
    graph g(x: f32[N]) -> f32[N] { return scale(x, sum(x)) }`)).toContain("reduce");
    expect(errors(`fn scale(x: tensor, s: f32) -> tensor { return x * s }
    graph g(x: f32[N]) -> f32[N] { return scale(x, x) }`)).toEqual([
      "ATTN2010 Argument 's' of 'scale' must be f32[] (a scalar), got a tensor f32[N].",
    ]);
    expect(codes(`fn total(x: f32[N]) -> f32 { return x }
    graph g(x: f32[N]) -> tensor { return total(x) }`)).toEqual(["ATTN3007"]);
  });
});

describe("fn arguments", () => {
  const F = `fn f(x: f32[N], k: int = N - 1, s: float = 0.5) -> tensor { return x[:k] * s }\n`;

  it("defaults apply when omitted and may use dims bound by earlier formals", () => {
    const { graph, text } = ok(`${F}graph g(x: f32[8]) -> (f32[7], f32[3], f32[7], f32[2]) { return f(x), f(x, 3, 2.0), f(x, s: 1.5), f(x, k: 2) }`);
    expect(graph.outputs.map((o) => o.shape.map(String).join())).toEqual(["7", "3", "7", "2"]);
    expect(text).toContain("const 0.5 : f32[]");
    expect(text).toContain("const 1.5 : f32[]");
  });

  it("are checked for arity, names, duplicates and order", () => {
    const es = errors(`fn f(x: f32[N], y: f32[N]) -> f32[N] { return x + y }
    graph g(x: f32[8]) -> tensor { return f(x) + f(x, x, x) + f(x, z: x) + f(x, x, x: x) + f(y: x, x) }`);
    expect(es.map((e) => e.split(" ")[0])).toEqual(["ATTN2009", "ATTN2006", "ATTN2007", "ATTN2008", "ATTN2026"]);
  });

  it("are checked for kind: float formals take float tensors and numbers, int formals compile-time ints", () => {
    expect(ir(`fn twice(x: float[N]) -> float[N] { return x * 2 }
    graph g(a: f16[4], b: bf16[4], c: f32[4]) -> (f16[4], bf16[4], f32[4]) { return twice(a), twice(b), twice(c) }`)).toContain("bf16");
    expect(errors(`fn twice(x: float[N]) -> float[N] { return x * 2 }
    graph g(i: i32[4]) -> tensor { return twice(i) }`)).toEqual(["ATTN2010 Argument 'x' of 'twice' must be float[N], got a tensor i32[4]."]);
    expect(errors(`fn take(x: tensor, k: int) -> tensor { return x[:k] }
    graph g(x: f32[4]) -> tensor { return take(x, x) }`)).toEqual([expect.stringMatching(/^ATTN2010 Argument 'k' of 'take' must be a compile-time int/)]);
    expect(ir(`fn mul(x: tensor, s: float) -> tensor { return x * s }
    graph g(x: f16[4]) -> f16[4] { return mul(x, 3) }`)).toContain("const 3 : f16[]");
  });

});

describe("fn scoping", () => {
  it("a fn sees its formals, module params and module fns, not the caller's locals", () => {
    expect(errors(`fn f(x: f32[N]) -> f32[N] { return x * y }
    graph g(x: f32[N]) -> f32[N] { let y = x
      return f(x) }`)).toEqual(["ATTN2001 Cannot find name 'y'."]);
    expect(ir(`param s: float = 3.0
    fn h(x: f32[N]) -> f32[N] { return x * s }
    fn f(x: f32[N]) -> f32[N] { return h(x) + 1 }
    graph g(x: f32[N]) -> f32[N] { return f(x) }`)).toContain("const 3 : f32[]");
  });

  it("a fn's dims do not leak into the caller", () => {
    expect(codes(`fn f(x: f32[Q]) -> f32[Q] { return x }
    graph g(x: f32[N]) -> f32[Q] { return f(x) }`)).toEqual(["ATTN3006"]);
  });

  it("recursion is reported, direct or mutual", () => {
    expect(codes(`fn f(x: f32[N]) -> f32[N] { return f(x) }
    graph g(x: f32[8]) -> tensor { return f(x) }`)).toEqual(["ATTN2015"]);
    expect(codes(`fn a(x: f32[N]) -> f32[N] { return b(x) }
    fn b(x: f32[N]) -> f32[N] { return a(x) }
    graph g(x: f32[8]) -> tensor { return a(x) }`)).toEqual(["ATTN2015"]);
  });

  it("an inlined fn builds the same IR as its body written in place", () => {
    const a = ir(`fn l2(x: float[B, N, D]) -> float[B, N, D] {
      let n[b, i] = sum(d) x[b, i, d] * x[b, i, d]
      return x / sqrt(n[:, :, None] + 1e-12)
    }
    graph g(x: f32[B, N, C]) -> f32[B, N, C] { return l2(x) }`);
    const b = ir(`graph g(x: f32[B, N, C]) -> f32[B, N, C] {
      let n[b, i] = sum(d) x[b, i, d] * x[b, i, d]
      return x / sqrt(n[:, :, None] + 1e-12)
    }`);
    expect(a).toBe(b);
  });
});
