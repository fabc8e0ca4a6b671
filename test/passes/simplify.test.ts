/** simplify: algebra, layout and compute-body rules (Before/Expected), each exact under the interpreter. */
import { describe, expect, it } from "vitest";
import { simplifyExpr } from "../../compiler/graph/passes/expr-rules.ts";
import { simplify } from "../../compiler/graph/passes/simplify.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { printExpr } from "../../compiler/graph/print.ts";
import type { OpArgs } from "../../compiler/graph/ops.ts";
import { expectRewrite, messages } from "./helpers.ts";

describe("simplify", () => {
  it("x*1, x+(-0), x-0, 0+i, --x vanish; x+0.0 stays for floats (-0 + 0 is +0)", () => {
    const rs = expectRewrite(
      simplify,
      `graph alg(%x: f32[N], %i: i32[N]) -> (%a, %b, %c, %d, %e, %f) {
        %one = const 1.0 : f32[]
        %zero = const 0.0 : f32[]
        %nz = const -0.0 : f32[]
        %a = mul %x, %one : f32[N]
        %b = add %x, %zero : f32[N]
        %c = add %x, %nz : f32[N]
        %d = sub %x, %zero : f32[N]
        %z = const 0 : i32[]
        %e = add %z, %i : i32[N]
        %n = neg %x : f32[N]
        %f = neg %n : f32[N]
      }`,
      `graph alg(%x: f32[N], %i: i32[N]) -> (%x, %b, %x, %x, %i, %x) {
        %zero = const 0 : f32[]
        %b = add %x, %zero : f32[N]
      }`,
    );
    expect(messages(rs, "fired")).toEqual(["mul-one", "add-zero", "sub-zero", "add-zero", "involution"]);
  });

  it("composes permutes, reshapes and broadcasts; drops identity permutes and same-dtype casts", () => {
    expectRewrite(
      simplify,
      `graph lay(%x: f32[A, B, C]) -> (%p2, %r2, %b2, %id) {
        %p1 = permute %x {perm = [2, 0, 1]} : f32[C, A, B]
        %p2 = permute %p1 {perm = [1, 2, 0]} : f32[A, B, C]
        %r1 = reshape %x : f32[A, B*C]
        %r2 = reshape %r1 : f32[A*B*C]
        %s = reduce %x {fn = sum, axes = [0], keepdims = true} : f32[1, B, C]
        %b1 = broadcast %s : f32[D, B, C]
        %b2 = broadcast %b1 : f32[E, D, B, C]
        %t = permute %x {perm = [1, 0, 2]} : f32[B, A, C]
        %t2 = permute %t {perm = [2, 1, 0]} : f32[C, A, B]
        %id = cast %t2 : f32[C, A, B]
      }`,
      `graph lay(%x: f32[A, B, C]) -> (%x, %r, %b, %p) {
        %r = reshape %x : f32[A*B*C]
        %s = reduce %x {fn = sum, axes = [0], keepdims = true} : f32[1, B, C]
        %b = broadcast %s : f32[E, D, B, C]
        %p = permute %x {perm = [2, 0, 1]} : f32[C, A, B]
      }`,
      { dims: { A: 2, B: 3, C: 2, D: 2, E: 2 } },
    );
  });

  it("folds where on a constant, selects and constants in compute bodies, and lossless cast round trips", () => {
    expectRewrite(
      simplify,
      `graph sel(%x: f32[N], %y: f32[N], %h: f16[N]) -> (%w, %k, %c) {
        %t = const 1 : bool[]
        %w = where %t, %x, %y : f32[N]
        %k = compute %x { select(v0 < 0, $0[v0], 2.0 * 3.0) + select(true, 1.0, $0[0]) * 1.0 } : f32[N]
        %up = cast %h : f32[N]
        %c = cast %up : f16[N]
      }`,
      `graph sel(%x: f32[N], %y: f32[N], %h: f16[N]) -> (%x, %k, %h) {
        %k = compute %x { select(v0 < 0, $0[v0], 6.0) + 1.0 } : f32[N]
      }`,
    );
  });

  it("keeps a where whose dropped branch may set the error flag, and a lossy cast round trip", () => {
    const text = `graph keep(%x: f32[N], %i: i32[N], %f: f32[N]) -> (%w, %c) {
        %t = const 1 : bool[]
        %g = gather %x, %i {axis = 0} : f32[N]
        %w = where %t, %x, %g : f32[N]
        %d = cast %f : f16[N]
        %c = cast %d : f32[N]
      }`;
    expectRewrite(simplify, text, text);
  });

  it("turns a reduction over unit axes into a reshape, unless the dtype changes (integer mean)", () => {
    expectRewrite(
      simplify,
      `graph unit(%x: f32[B, 1, C], %q: i32[B, 1]) -> (%s, %m) {
        %s = reduce %x {fn = max, axes = [1], keepdims = false} : f32[B, C]
        %m = reduce %q {fn = mean, axes = [1], keepdims = false} : f32[B]
      }`,
      `graph unit(%x: f32[B, 1, C], %q: i32[B, 1]) -> (%s, %m) {
        %s = reshape %x : f32[B, C]
        %m = reduce %q {fn = mean, axes = [1], keepdims = false} : f32[B]
      }`,
    );
  });

  it("drops an identity score hook and an always-true mask hook", () => {
    expectRewrite(
      simplify,
      `graph att(%q: f32[N, D]) -> (%o) {
        %o = attention %q, %q, %q {scale = 0.5, score = score * 1.0, mask = or(v0 < 0, true)} : f32[N, D]
      }`,
      `graph att(%q: f32[N, D]) -> (%o) {
        %o = attention %q, %q, %q {scale = 0.5} : f32[N, D]
      }`,
    );
  });
});

describe("expression rules", () => {
  const body = (e: string, src = "%x") => {
    const g = parseGraph(`graph g(%x: f32[N], %b: bool[N]) -> (%c) { %c = compute ${src} { ${e} } : f32[N] }`);
    return g.outputs[0]!;
  };
  const simp = (e: string, src?: string) => {
    const n = body(e, src);
    return printExpr(simplifyExpr((n.arg as OpArgs["compute"]).body), n.src.map((s) => s.dtype as "f32"));
  };
  it.each([
    ["$0[v0] * 1.0", "$0[v0]"],
    ["1.0 * $0[v0]", "$0[v0]"],
    ["$0[v0] + -0.0", "$0[v0]"],
    ["$0[v0] + 0.0", "$0[v0] + 0.0"],
    ["$0[v0] - 0.0", "$0[v0]"],
    ["$0[v0] - -0.0", "$0[v0] - -0.0"],
    ["$0[v0] / 1.0", "$0[v0]"],
    ["$0[v0 + 0] * 2.0", "$0[v0] * 2.0"],
    ["$0[v0 + 1 + 2]", "$0[v0 + 3]"],
    ["neg(neg($0[v0]))", "$0[v0]"],
    ["exp(0.0) + $0[v0]", "1.0 + $0[v0]"],
    ["cast<f32>(cast<i32>(2.5))", "2.0"],
    ["select(v0 < 3, $0[v0], $0[v0])", "$0[v0]"],
    ["select(true, $0[v0], 1.0)", "$0[v0]"],
    ["select(v0 < 3, select(v0 < 3, $0[v0], 1.0), 2.0)", "select(v0 < 3, $0[v0], 2.0)"],
  ])("%s -> %s", (e, want) => {
    expect(simp(e)).toBe(want);
  });

  it("does not drop a condition that loads (it may set the error flag)", () => {
    expect(simp("select($1[v0 + 5], 1.0, 1.0)", "%x, %b")).toBe("select($1[v0 + 5], 1.0, 1.0)");
  });
});
