/** The rebuild utilities: rebuild keeps identity when nothing changes; mapGraph re-interns (CSE, DCE) and carries provenance. */
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { mapGraph, rebuild, useCounts } from "../../compiler/graph/passes/rebuild.ts";
import { printGraph } from "../../compiler/graph/print.ts";

describe("rebuild", () => {
  it("returns the same node when operands and argument are unchanged, a new one otherwise", () => {
    const g = parseGraph(`graph g(%x: f32[N], %y: f32[N]) -> (%a) { %a = add %x, %y : f32[N] }`);
    const a = g.outputs[0]!;
    expect(rebuild(g.cx, a, {})).toBe(a);
    expect(rebuild(g.cx, a, { src: [...a.src], arg: { fn: "add" } as never })).toBe(a);
    const b = rebuild(g.cx, a, { arg: { fn: "mul" } as never });
    expect(b).not.toBe(a);
    expect(b.src).toEqual(a.src);
  });
});

describe("mapGraph", () => {
  it("copies into a fresh context: same text, equal nodes merged, unreachable nodes gone, inputs kept", () => {
    const b = new GraphBuilder("m");
    const x = b.input("x", "f32", ["N"]);
    b.input("unused", "f32", ["N"]);
    b.exp(b.neg(x)); // dead
    const y = b.add(b.exp(x), b.exp(x));
    const g = b.finish([y]);
    const m = mapGraph(g);
    expect(m.cx).not.toBe(g.cx);
    expect(printGraph(m)).toBe(printGraph(g));
    expect(m.inputs.map((i) => i.arg.name)).toEqual(["x", "unused"]);
    expect(m.cx.size).toBeLessThan(g.cx.size);
  });

  it("carries provenance to copies and to replacements", () => {
    const b = new GraphBuilder("p");
    b.at = "span-x";
    const x = b.input("x", "f32", ["N"]);
    b.at = "span-e";
    const e = b.exp(x);
    const g = b.finish([e]);
    const m = mapGraph(g, (old, mm) => (old.op === "unary" ? mm.cx.node("unary", old.types, [mm.get(old.src[0]!)], { fn: "tanh" }) : undefined));
    expect(m.cx.origin.get(m.outputs[0]!)).toEqual(["span-e"]);
    expect(printGraph(m)).toContain("tanh %x");
  });

  it("counts consumers once each, outputs included", () => {
    const g = parseGraph(`graph u(%x: f32[N]) -> (%a, %x) { %a = add %x, %x : f32[N] }`);
    const uses = useCounts(g);
    expect(uses.get(g.inputs[0]!)).toBe(2);
    expect(uses.get(g.outputs[0]!)).toBe(1);
  });
});
