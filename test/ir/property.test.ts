/** Property tests (fixed seeds): random builder programs round-trip, print deterministically, and mutated texts fail cleanly. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as D from "../../compiler/graph/dim.ts";
import { printDim, type Dim } from "../../compiler/graph/dim.ts";
import { IRParseError, parseDim, parseGraph } from "../../compiler/graph/parse.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { programArb, runProgram } from "./gen.ts";
import { graphDiff } from "./helpers.ts";

describe("random graphs", () => {
  it("round-trip print → parse → print identically, with the same structure", () => {
    fc.assert(
      fc.property(programArb, (prog) => {
        const g = runProgram(prog);
        const text = printGraph(g);
        const back = parseGraph(text);
        expect(printGraph(back)).toBe(text);
        expect(graphDiff(g, back)).toBeUndefined();
      }),
      { seed: 20240611, numRuns: 400 },
    );
  });

  it("building the same program in two fresh builders prints the same IR", () => {
    fc.assert(
      fc.property(programArb, (prog) => {
        const a = runProgram(prog);
        const b = runProgram(prog);
        expect(a.cx).not.toBe(b.cx);
        expect(printGraph(b)).toBe(printGraph(a));
        expect(graphDiff(a, b)).toBeUndefined();
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it("mutated texts (characters deleted, duplicated, inserted, swapped) parse or throw IRParseError, never anything else", () => {
    const mutation = fc.tuple(fc.nat(), fc.nat(3), fc.constantFrom("%", "$", "{", "}", "(", ")", "[", "]", ",", ":", "-", "/", "0", "9", "v", '"', "\n"));
    fc.assert(
      fc.property(programArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (prog, muts) => {
        let text = printGraph(runProgram(prog));
        for (const [pos, kind, ch] of muts) {
          const i = pos % text.length;
          if (kind === 0) text = text.slice(0, i) + text.slice(i + 1);
          else if (kind === 1) text = text.slice(0, i + 1) + text.slice(i);
          else if (kind === 2) text = text.slice(0, i) + ch + text.slice(i);
          else text = text.slice(0, i) + text.slice(i + 1, i + 2) + text.slice(i, i + 1) + text.slice(i + 2);
        }
        const t0 = performance.now();
        try {
          const g = parseGraph(text);
          // whatever parsed is a graph that prints and parses back to itself
          const printed = printGraph(g);
          expect(printGraph(parseGraph(printed))).toBe(printed);
        } catch (e) {
          if (!(e instanceof IRParseError)) throw new Error(`not an IRParseError: ${String(e)}\n${text}`);
          expect(e.message).toMatch(/^\d+:\d+: /);
        }
        expect(performance.now() - t0).toBeLessThan(2000);
      }),
      { seed: 99, numRuns: 600 },
    );
  });
});

describe("random dims", () => {
  const leaf = fc.oneof(fc.constantFrom<string | number>("N", "M", "r", "S"), fc.integer({ min: -5, max: 9 }));
  const dimArb: fc.Arbitrary<Dim> = fc
    .letrec<{ d: unknown }>((tie) => ({
      d: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.tuple(fc.constantFrom("add", "sub", "mul", "div", "mod", "min", "max"), tie("d"), tie("d")),
      ),
    }))
    .d.map(function build(t: unknown): Dim {
      if (!Array.isArray(t)) return D.dim(t as string | number);
      const [op, x, y] = t as [string, unknown, unknown];
      const a = build(x);
      let b = build(y);
      if ((op === "div" || op === "mod") && b.value === 0) b = D.dim(3);
      return (D as unknown as Record<string, (p: Dim, q: Dim) => Dim>)[op]!(a, b);
    });

  it("printDim output parses back to the same canonical Dim", () => {
    fc.assert(
      fc.property(dimArb, (d) => {
        expect(parseDim(printDim(d))).toBe(d);
      }),
      { seed: 31337, numRuns: 2000 },
    );
  });
});
