/**
 * The parser never throws and always terminates: random strings, token soup and mutated programs
 * go in, diagnostics (with valid spans) come out. Also validates the chevrotain grammar itself.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SourceFile } from "../../compiler/diagnostics/index.ts";
import { walk } from "../../dsl/ast.ts";
import { parse } from "../../dsl/index.ts";
import { AttnParser } from "../../dsl/parser.ts";
import { TOME } from "./helpers.ts";

/** Parses `text`; returns a description of the first problem, or "" (plain code: `expect` per node is slow). */
function problem(text: string): string {
  const file = new SourceFile("fuzz.attn", text);
  const r = parse(file);
  const inside = (s: { start: number; length: number } | undefined) => !!s && s.start >= 0 && s.length >= 0 && s.start + s.length <= text.length;
  for (const d of r.diagnostics) {
    if (d.code === 9001) return `internal error: ${d.message}`;
    if (!inside(d.span)) return `diagnostic span out of the file: ${d.message}`;
  }
  let bad = "";
  walk(r.module, (n) => {
    if (!bad && !inside(n.span)) bad = `${n.kind} span out of the file`;
  });
  return bad;
}

function check(text: string): void {
  expect(problem(text)).toBe("");
}

const FRAGMENTS = [
  "(", ")", "[", "]", "{", "}", ",", ":", "=>", "->", "|", "sum", "max", "argmax", "let", "return", "graph", "fn",
  "import", "param", "schedule", "from", "x", "y", "1", "1.5e3", ".5", '"s', '"ok"', "/*", "*/", "//", "\n", "...",
  "^T", "**", "-", "!", "?", ";", "=", "==", "@", "&&", "||", "<", "$", "\u{1F600}", "\\", "'", "true", "inf", "nan",
];

describe("robustness", () => {
  it("validates as a chevrotain grammar (no ambiguities or left recursion)", () => {
    // chevrotain's grammar checks use Object.groupBy (Node 21+); provide it on Node 20.
    const O = Object as unknown as { groupBy?: unknown };
    O.groupBy ??= <T>(xs: readonly T[], key: (x: T, i: number) => PropertyKey) => {
      const out: Record<PropertyKey, T[]> = Object.create(null);
      xs.forEach((x, i) => (out[key(x, i)] ??= []).push(x));
      return out;
    };
    expect(() => new AttnParser({ validate: true })).not.toThrow();
  });

  it("survives arbitrary strings", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => check(s)), { numRuns: 1000, seed: 1 });
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(..."(){}[],:;=|-+*/!?.^T\"x1 \n"), maxLength: 300 }), (s) => check(s)), { numRuns: 1000, seed: 2 });
  });

  it("survives token soup", () => {
    const soup = fc.array(fc.tuple(fc.constantFrom(...FRAGMENTS), fc.constantFrom("", " ")), { maxLength: 200 }).map((xs) => xs.flat().join(""));
    fc.assert(fc.property(soup, (s) => check(s)), { numRuns: 1500, seed: 3 });
  });

  it("survives mutations of a valid program", () => {
    const edit = fc.tuple(fc.nat(TOME.length), fc.nat(12), fc.constantFrom("", ...FRAGMENTS));
    const mutated = fc.array(edit, { minLength: 1, maxLength: 8 }).map((edits) =>
      edits.reduce((text, [at, del, ins]) => text.slice(0, at) + ins + text.slice(at + del), TOME),
    );
    fc.assert(fc.property(mutated, (s) => check(s)), { numRuns: 1500, seed: 4 });
  });

  it("terminates quickly on large inputs", () => {
    const big = Array.from({ length: 200 }, (_, i) => TOME.replace("tome", `tome${i}`)).join("\n");
    const t0 = performance.now();
    const r = parse(new SourceFile("big.attn", big));
    expect(r.diagnostics).toEqual([]);
    expect(r.module.items.length).toBe(1000);
    expect(performance.now() - t0).toBeLessThan(10_000);
    check("(".repeat(50_000) + ")".repeat(50_000));
    check("sum(a: (".repeat(5000));
    check("graph g() -> f32 {" + "let x = 1\n".repeat(20_000));
  });
});
