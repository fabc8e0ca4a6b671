/** Golden prints of the textual graph IR, and the printer's layout rules. */
import { describe, expect, it } from "vitest";
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import * as D from "../../compiler/graph/dim.ts";
import type { SExpr } from "../../compiler/graph/expr.ts";
import { GraphContext, type Graph } from "../../compiler/graph/node.ts";
import type { Node } from "../../compiler/graph/ops.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { printExpr, printGraph, printNode, printType } from "../../compiler/graph/print.ts";
import { roundTrip } from "./helpers.ts";

function tome(extra = false): Graph {
  const b = new GraphBuilder("tome");
  const x = b.input("x", "f32", ["B", "N", "C"]);
  const w = b.input("w", "f32", ["C", "C"]);
  if (extra) b.softmax(b.exp(x)); // unused nodes built first shift every internal id
  const m = b.matmul(x, w);
  const s = b.compute(m.shape, (i, j, c) => S.mul(b.at_(m, [i!, j!, c!]), S.select(S.eq(j!, 0), 0.5, 1)));
  const [vals, idx] = b.topk(b.reduce("sum", s, 2), 4, 1);
  return b.finish([vals!, idx!], ["scores", "idx"]);
}

describe("golden prints", () => {
  it("a small graph: matmul, compute, reduce, topk, proj, output names", () => {
    expect(printGraph(tome())).toBe(`graph tome(%x: f32[B, N, C], %w: f32[C, C]) -> (%6 as scores, %7 as idx) {
  %2 = matmul %x, %w : f32[B, N, C]
  %3 = compute %2 { $0[v0, v1, v2] * select(v1 == 0, 0.5, 1.0) } : f32[B, N, C]
  %4 = reduce %3 {fn = sum, axes = [2], keepdims = false} : f32[B, N]
  %5 = topk %4 {k = 4, axis = 1, largest = true} : (f32[B, 4], i32[B, 4])
  %6 = proj %5 {index = 0} : f32[B, 4]
  %7 = proj %5 {index = 1} : i32[B, 4]
}
`);
  });

  it("attention with a mask hook and lse; default output names are left out", () => {
    const b = new GraphBuilder("causal");
    const q = b.input("q", "f16", ["B", "N", 64]);
    const k = b.input("k", "f16", ["B", "N", 64]);
    const v = b.input("v", "f16", ["B", "N", 64]);
    const o = b.attention(q, k, v, { mask: ([, i, j]) => S.le(j!, i!), returns: [{ kind: "lse" }] }) as Tensor[];
    expect(printGraph(b.finish(o))).toBe(`graph causal(%q: f16[B, N, 64], %k: f16[B, N, 64], %v: f16[B, N, 64]) -> (%4, %5) {
  %3 = attention %q, %k, %v {scale = 0.125, mask = v2 <= v1, returns = [lse]} : (f16[B, N, 64], f32[B, N])
  %4 = proj %3 {index = 0} : f16[B, N, 64]
  %5 = proj %3 {index = 1} : f32[B, N]
}
`);
  });

  it("iterate: a region for the loop body, loop-invariant nodes hoisted before it", () => {
    const b = new GraphBuilder("loop");
    const x = b.input("x", "f32", ["N"]);
    const w = b.input("w", "f32", ["N"]);
    const [h] = b.iterate("T", [x], ([s], t) => [b.add(b.mul(s!, b.exp(w)), b.cast(t, "f32"))]);
    expect(printGraph(b.finish([h!]))).toBe(`graph loop(%x: f32[N], %w: f32[N]) -> (%9) {
  %2 = exp %w : f32[N]
  %3 = iterate %x {n = T, loop = 0} : (f32[N]) {
    %4 = loop_state {loop = 0, index = 0} : f32[N]
    %5 = mul %4, %2 : f32[N]
    %6 = loop_index {loop = 0} : i32[]
    %7 = cast %6 : f32[]
    %8 = add %5, %7 : f32[N]
    yield %8
  }
  %9 = proj %3 {index = 0} : f32[N]
}
`);
  });

  it("consts with nan/inf/-0, symbolic dims, quoted names", () => {
    const b = new GraphBuilder("misc");
    const x = b.input("x", "f32", ["N"]);
    const c = b.constant([NaN, Infinity, -Infinity, -0, 0.1], "f32", [5]);
    const s = b.slice(b.concat([x, c], 0), 0, "r", undefined, -2);
    const y = b.pad(s, [D.div("N", 2)], [1], -Infinity);
    expect(printGraph(b.finish([y], ["y y"]))).toBe(`graph misc(%x: f32[N]) -> (%4 as "y y") {
  %1 = const [nan, inf, -inf, -0.0, 0.1] : f32[5]
  %2 = concat %x, %1 {axis = 0} : f32[N + 5]
  %3 = slice %2 {starts = [r], steps = [-2]} : f32[((r + 2) / 2)]
  %4 = pad %3 {before = [(N / 2)], after = [1], value = -inf} : f32[(N / 2) + ((r + 2) / 2) + 1]
}
`);
  });
});

describe("layout", () => {
  it("numbers nodes by printed position, whatever the build history", () => {
    const a = tome();
    const b = tome(true);
    expect(b.outputs[0]!.id).not.toBe(a.outputs[0]!.id);
    expect(printGraph(b)).toBe(printGraph(a));
  });

  it("independent branches built in either order print the same", () => {
    const build = (flip: boolean) => {
      const b = new GraphBuilder("g");
      const x = b.input("x", "f32", ["N"]);
      let e: Tensor;
      let l: Tensor;
      if (flip) {
        b.sqrt(x);
        l = b.log(x);
        e = b.exp(x);
      } else {
        e = b.exp(x);
        l = b.log(x);
      }
      return b.finish([b.add(e, l)]);
    };
    expect(printGraph(build(true))).toBe(printGraph(build(false)));
  });

  it("nested loops nest their regions; a node goes in the innermost loop it depends on", () => {
    const b = new GraphBuilder("nest");
    const x = b.input("x", "f32", ["N"]);
    const [h] = b.iterate("T", [x], ([s]) => {
      const [inner] = b.iterate("U", [s!], ([u], t2) => [b.add(u!, b.add(b.reduce("max", s!), b.cast(t2, "f32")))]);
      return [inner!];
    });
    const text = roundTrip(b.finish([h!]));
    expect(text).toBe(`graph nest(%x: f32[N]) -> (%11) {
  %1 = iterate %x {n = T, loop = 0} : (f32[N]) {
    %2 = loop_state {loop = 0, index = 0} : f32[N]
    %3 = reduce %2 {fn = max, axes = [0], keepdims = false} : f32[]
    %4 = iterate %2 {n = U, loop = 1} : (f32[N]) {
      %5 = loop_state {loop = 1, index = 0} : f32[N]
      %6 = loop_index {loop = 1} : i32[]
      %7 = cast %6 : f32[]
      %8 = add %3, %7 : f32[]
      %9 = add %5, %8 : f32[N]
      yield %9
    }
    %10 = proj %4 {index = 0} : f32[N]
    yield %10
  }
  %11 = proj %1 {index = 0} : f32[N]
}
`);
  });

  it("a value computed from a placeholder but used outside its loop (malformed) stays in the region", () => {
    const b = new GraphBuilder("escape");
    const x = b.input("x", "f32", ["N"]);
    let leaked: Tensor | undefined;
    const [h] = b.iterate(2, [x], ([s]) => {
      leaked = b.exp(s!);
      return [b.add(s!, 1)];
    });
    expect(roundTrip(b.finish([h!, b.neg(leaked!)]))).toBe(`graph escape(%x: f32[N]) -> (%7, %6) {
  %1 = const 1 : f32[]
  %2 = iterate %x {n = 2, loop = 0} : (f32[N]) {
    %3 = loop_state {loop = 0, index = 0} : f32[N]
    %4 = add %3, %1 : f32[N]
    %5 = exp %3 : f32[N]
    %6 = neg %5 : f32[N]
    yield %4
  }
  %7 = proj %2 {index = 0} : f32[N]
}
`);
  });

  it("prints flat when regions cannot keep definitions before uses (malformed), and still round-trips", () => {
    const b = new GraphBuilder("escape");
    const x = b.input("x", "f32", ["N"]);
    let state: Tensor | undefined;
    const [h] = b.iterate(2, [x], ([s]) => {
      state = s;
      return [b.add(s!, 1)];
    });
    const late = b.log(x);
    expect(roundTrip(b.finish([h!, b.add(state!, late)]))).toBe(`graph escape(%x: f32[N]) -> (%5, %7) {
  %1 = loop_state {loop = 0, index = 0} : f32[N]
  %2 = const 1 : f32[]
  %3 = add %1, %2 : f32[N]
  %4 = iterate %x {n = 2, loop = 0} : (f32[N]) {
    yield %3
  }
  %5 = proj %4 {index = 0} : f32[N]
  %6 = log %x : f32[N]
  %7 = add %1, %6 : f32[N]
}
`);
  });

  it("a loop id shared by two iterate nodes also prints flat", () => {
    const cx = new GraphContext();
    const t = { dtype: "f32" as const, shape: [D.dim("N")] };
    const x = cx.node("input", [t], [], { name: "x" });
    const st = cx.node("loop_state", [t], [], { loop: 0, index: 0 });
    const body = cx.node("unary", [t], [st], { fn: "exp" });
    const it1 = cx.node("iterate", [t], [x], { n: D.dim(2), loop: 0, body: [body] });
    const it2 = cx.node("iterate", [t], [x], { n: D.dim(3), loop: 0, body: [body] });
    const outs = [it1, it2].map((n) => cx.node("proj", [t], [n], { index: 0 }));
    const g: Graph = { name: "shared", inputs: [x], outputs: outs, outputNames: ["a", "b"], cx };
    const text = roundTrip(g);
    expect(text).toBe(`graph shared(%x: f32[N]) -> (%4 as a, %6 as b) {
  %1 = loop_state {loop = 0, index = 0} : f32[N]
  %2 = exp %1 : f32[N]
  %3 = iterate %x {n = 2, loop = 0} : (f32[N]) {
    yield %2
  }
  %4 = proj %3 {index = 0} : f32[N]
  %5 = iterate %x {n = 3, loop = 0} : (f32[N]) {
    yield %2
  }
  %6 = proj %5 {index = 0} : f32[N]
}
`);
  });

  it("input nodes that are not graph inputs print as nodes; unused graph inputs stay in the header", () => {
    const cx = new GraphContext();
    const t = { dtype: "i32" as const, shape: [] };
    const x = cx.node("input", [t], [], { name: "x" });
    const y = cx.node("input", [t], [], { name: "y" });
    const z = cx.node("input", [t], [], { name: "3" });
    const g: Graph = { name: "in puts", inputs: [x, z], outputs: [cx.node("binary", [t], [x, y], { fn: "add" }), x], outputNames: ["out0", "out1"], cx };
    expect(roundTrip(g)).toBe(`graph "in puts"(%x: i32[], %"3": i32[]) -> (%3, %x) {
  %2 = input {name = "y"} : i32[]
  %3 = add %x, %2 : i32[]
}
`);
  });
});

describe("scalar expressions", () => {
  const v = (id: number): SExpr => ({ k: "var", id, dtype: "i32" });
  const bin = (fn: "add" | "sub" | "mul" | "div" | "lt" | "eq", a: SExpr, b: SExpr): SExpr => S.binary(fn, a, b);

  it("parenthesizes by precedence and left associativity only where needed", () => {
    expect(printExpr(bin("sub", v(0), bin("sub", v(1), v(2))))).toBe("v0 - (v1 - v2)");
    expect(printExpr(bin("sub", bin("sub", v(0), v(1)), v(2)))).toBe("v0 - v1 - v2");
    expect(printExpr(bin("mul", bin("add", v(0), v(1)), v(2)))).toBe("(v0 + v1) * v2");
    expect(printExpr(bin("add", v(0), bin("mul", v(1), v(2))))).toBe("v0 + v1 * v2");
    expect(printExpr(bin("div", v(0), bin("mul", v(1), v(2))))).toBe("v0 / (v1 * v2)");
    expect(printExpr(bin("eq", bin("lt", v(0), v(1)), bin("lt", v(1), v(2))))).toBe("(v0 < v1) == (v1 < v2)");
    expect(printExpr(bin("lt", bin("add", v(0), S.const(-1, "i32")), S.const(-5, "i32")))).toBe("v0 + -1 < -5");
  });

  it("writes literal dtypes only when the literal does not imply them", () => {
    const c = (x: number, dt: "f32" | "f16" | "bf16" | "i32" | "u32" | "bool") => printExpr(S.const(x, dt));
    expect([c(1, "f32"), c(-0, "f32"), c(1e21, "f32"), c(NaN, "f32"), c(-Infinity, "f32")]).toEqual(["1.0", "-0.0", "1e+21", "nan", "-inf"]);
    expect([c(3, "i32"), c(-0, "i32"), c(0, "bool"), c(1, "bool"), c(2, "u32"), c(0.5, "f16"), c(1, "bf16")]).toEqual([
      "3",
      "-0.0:i32",
      "false",
      "true",
      "2:u32",
      "0.5:f16",
      "1:bf16",
    ]);
  });

  it("ascribes a dtype that differs from the one the parts imply, and round-trips it", () => {
    const cx = new GraphContext();
    const t = { dtype: "f32" as const, shape: [D.dim(4)] };
    const x = cx.node("input", [t], [], { name: "x" });
    const tup = cx.node("topk", [t, { dtype: "i32", shape: [D.dim(4)] }], [x], { k: D.dim(4), axis: 0, largest: true });
    const body: SExpr = {
      k: "binary",
      fn: "add",
      a: { k: "load", src: 1, idx: [v(0)], dtype: "f32" },
      b: { k: "binary", fn: "mul", a: v(0), b: v(0), dtype: "f32" },
      dtype: "f16",
    };
    const n = cx.node("compute", [{ dtype: "f16", shape: [D.dim(4)] }], [x, tup], { body });
    expect(printNode(n, (m: Node) => `%${m.op}`)).toBe("%compute = compute %input, %topk { ($1[v0]:f32 + (v0 * v0):f32):f16 } : f16[4]");
    const g: Graph = { name: "asc", inputs: [x], outputs: [n], outputNames: ["out"], cx };
    roundTrip(g);
  });
});

describe("helpers", () => {
  it("printNode and printType", () => {
    const b = new GraphBuilder("h");
    const x = b.input("x", "f32", ["N", 4]);
    const [vals] = b.topk(x, 2, 1);
    const tk = vals!.src[0]!;
    expect(printType(x)).toBe("f32[N, 4]");
    expect(printType(tk)).toBe("(f32[N, 2], i32[N, 2])");
    expect(printType({ dtype: "bool", shape: [] })).toBe("bool[]");
    expect(printNode(tk)).toBe(`%${tk.id} = topk %x {k = 2, axis = 1, largest = true} : (f32[N, 2], i32[N, 2])`);
    const [h] = b.iterate(3, [x], ([s]) => [b.neg(s!)]);
    const it = h!.src[0]!;
    expect(printNode(it, (m) => (m.op === "input" ? "%x" : `%n${m.id}`))).toMatch(/^%n\d+ = iterate %x \{n = 3, loop = 0\} : \(f32\[N, 4\]\) \{ yield %n\d+ \}$/);
  });

  it("a printed graph parses to the same printed text", () => {
    const text = printGraph(tome());
    expect(printGraph(parseGraph(text))).toBe(text);
  });
});
