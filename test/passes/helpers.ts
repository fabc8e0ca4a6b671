/**
 * Pass tests go through text (style.md §12.6): parse a Before graph, run one pass, print, and
 * compare with the Expected text printed after parsing (so formatting and numbering do not
 * matter, structure does). Exact passes are also run on random inputs: before and after must
 * give bit-identical outputs and the same error flag.
 */
import { expect } from "vitest";
import { dimVars } from "../../compiler/graph/dim.ts";
import { interpret, randomInputs, InterpError, type InterpResult } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { verifyGraph } from "../../compiler/graph/passes/infer-shapes.ts";
import { passContext, type Pass, type PassOptions, type Remark } from "../../compiler/graph/passes/pass.ts";
import { printGraph } from "../../compiler/graph/print.ts";

/** Runs one pass on IR text (both sides verified); returns the graphs and the remarks. */
export function applyPass(pass: Pass, text: string, options: PassOptions = {}): { before: Graph; after: Graph; remarks: Remark[] } {
  const before = parseGraph(text);
  verifyGraph(before, "test input");
  const remarks: Remark[] = [];
  const after = pass.run(before, passContext(pass.name, remarks, options));
  verifyGraph(after, `verify after ${pass.name}`);
  return { before, after, remarks };
}

/** Before/Expected: the pass turns `before` into `expected` (compared after parsing), preserving semantics. */
export function expectRewrite(pass: Pass, before: string, expected: string, opts: { options?: PassOptions; dims?: Record<string, number> } = {}): Remark[] {
  const r = applyPass(pass, before, opts.options);
  expect(printGraph(r.after)).toBe(printGraph(parseGraph(expected)));
  if (pass.exact) expectSameResults(r.before, r.after, opts.dims);
  return r.remarks;
}

/** Every dim variable the inputs mention, bound to `size` unless given. */
export function defaultDims(g: Graph, given: Record<string, number> = {}, size = 3): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const i of g.inputs) for (const d of i.shape) for (const v of dimVars(d)) dims[v] = given[v] ?? size;
  return { ...dims, ...given };
}

/** Bit-identical outputs (NaN equal to NaN, -0 distinct from 0) and error flags on a few random inputs. */
export function expectSameResults(a: Graph, b: Graph, given?: Record<string, number>, seeds = [0, 1, 2]): void {
  const dims = defaultDims(a, given);
  for (const seed of seeds) {
    const inputs = randomInputs(a, dims, seed);
    const x = tryRun(a, inputs, dims);
    if (x instanceof InterpError) continue; // a malformed program stays malformed; nothing to compare
    const y = tryRun(b, inputs, dims);
    if (y instanceof InterpError) throw new Error(`the rewritten graph fails where the original ran: ${y.message}`);
    expect(y.errorFlag).toBe(x.errorFlag);
    x.outputs.forEach((o, i) => {
      const p = y.outputs[i]!;
      expect(p.dtype).toBe(o.dtype);
      expect(p.shape).toEqual(o.shape);
      const bad = [...o.data].findIndex((v, k) => !Object.is(v, p.data[k]));
      if (bad >= 0) throw new Error(`output ${i} differs at flat index ${bad}: ${o.data[bad]} before, ${p.data[bad]} after (seed ${seed})`);
    });
  }
}

function tryRun(g: Graph, inputs: Parameters<typeof interpret>[1], dims: Record<string, number>): InterpResult | InterpError {
  try {
    return interpret(g, inputs, { dims });
  } catch (e) {
    if (e instanceof InterpError) return e;
    throw e;
  }
}

/** The messages of remarks of a kind (for --explain expectations). */
export const messages = (rs: readonly Remark[], kind: Remark["kind"]): string[] => rs.filter((r) => r.kind === kind).map((r) => r.message);
