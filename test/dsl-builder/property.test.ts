/**
 * Property: a random well-typed program written in attn and the same program written with direct
 * GraphBuilder calls give identical IR (printGraph text), and the reference interpreter gives
 * bit-identical outputs for both on the same random inputs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { codeString } from "../../compiler/diagnostics/index.ts";
import { interpret, randomInputs, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { printGraph } from "../../compiler/graph/print.ts";
import { buildProgram, realize, recipeArb, RUN_DIMS, type Program } from "./gen.ts";

function compileProgram(p: Program): Graph {
  const r = compileSource("prop.attn", p.source);
  if (r.internalError) throw r.internalError.error;
  const errs = r.diagnostics.filter((d) => d.category === "error").map((d) => `${codeString(d.code)} ${d.message}`);
  if (errs.length || r.graphs.length !== 1) throw new Error(`DSL rejected the program:\n${p.source}\n${errs.join("\n")}`);
  return r.graphs[0]!;
}

/** Runs a graph; an interpreter error is part of the result (both sides must agree on it). */
function run(g: Graph, inputs: Record<string, HostTensor>): HostTensor[] | string {
  try {
    return interpret(g, inputs, { dims: RUN_DIMS }).outputs;
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/** Bit-level equality of two host tensors (NaN equals NaN, -0 differs from 0). */
function sameBits(a: HostTensor, b: HostTensor): boolean {
  if (a.dtype !== b.dtype || a.shape.join() !== b.shape.join() || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) return false;
  return true;
}

const arb = recipeArb.map(realize);

describe("random programs: DSL ≡ GraphBuilder", () => {
  it("print identically and interpret bit-identically", () => {
    let steps = 0;
    fc.assert(
      fc.property(arb, (p) => {
        const fromDsl = compileProgram(p);
        const fromBuilder = buildProgram(p);
        const a = printGraph(fromDsl);
        const b = printGraph(fromBuilder);
        if (a !== b) throw new Error(`IR differs for\n${p.source}\n--- DSL\n${a}--- builder\n${b}`);
        const inputs = randomInputs(fromDsl, RUN_DIMS, p.steps.length);
        const ra = run(fromDsl, inputs);
        const rb = run(fromBuilder, inputs);
        if (typeof ra === "string" || typeof rb === "string") expect(ra).toEqual(rb);
        else {
          expect(ra.length).toBe(rb.length);
          ra.forEach((t, i) => {
            if (!sameBits(t, rb[i]!)) throw new Error(`output ${i} differs for\n${p.source}`);
          });
        }
        steps += p.steps.length;
      }),
      { seed: 0x5eed, numRuns: 250 },
    );
    // the generator really exercises the op mix (not just inputs passed through)
    expect(steps).toBeGreaterThan(500);
  });

  it("covers every kind of step", () => {
    const seen = new Set<string>();
    const kinds: [string, RegExp][] = [
      ["unary", /= (-|!)?(exp|log|sqrt|rsqrt|sin|tanh|sigmoid|relu|gelu|erf|floor|round|sign|isnan|abs)?\(?x|= [-!]v/],
      ["binary", /= [xv]\d+ (\+|-|\*|\/|%|\*\*|==|!=|<|>=|&&|\|\|) [xv]\d+$/],
      ["literal", /= ([xv]\d+ \S+ [\d.]+|[\d.]+ \S+ [xv]\d+)$/],
      ["reduce", /= (sum|mean|max|min|prod|any|all)\([xv]/],
      ["softmax", /= (softmax|logsumexp|argmax)\(/],
      ["matmul", / @ /],
      ["transpose", /\^T$|permute\(/],
      ["index reduction", /\] = (sum|max|min|mean|argmax)\(j/],
      ["index elementwise", /\] = [xv]\d+\[.*\? 0\.5 : 2\.0/],
      ["index ternary", /\] = i\d == 0 \? [xv]\d+\[/],
      ["index max", /\] = max\([xv]\d+\[/],
      ["topk", /topk\(/],
      ["where", /where\(| \? /],
      ["cast", /cast\(/],
      ["slice", /\[(:, )*(1:|::2|-1|None)\]/],
      ["concat", /concat\(/],
      ["reshape", /reshape\(/],
      ["cumsum/sort", /(cumsum|argsort|sort)\(/],
      ["iterate", /iterate\(/],
      ["attention", /attention\(/],
    ];
    fc.sample(arb, { seed: 7, numRuns: 300 }).forEach((p) =>
      p.steps.forEach((s) => kinds.forEach(([k, re]) => re.test(s.src) && seen.add(k))),
    );
    expect([...seen].sort()).toEqual(kinds.map(([k]) => k).sort());
  });
});
