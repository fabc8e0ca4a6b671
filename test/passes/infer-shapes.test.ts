/** infer-shapes: the verifier accepts every builder graph and names the first ill-typed node of a bad text. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InternalCompilerError } from "../../compiler/graph/errors.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { inferShapes, verifyGraph } from "../../compiler/graph/passes/infer-shapes.ts";
import { passContext } from "../../compiler/graph/passes/pass.ts";
import { programArb, runProgram } from "../ir/gen.ts";

describe("infer-shapes", () => {
  it("accepts every graph the builder makes, and returns it unchanged", () => {
    fc.assert(
      fc.property(programArb, (prog) => {
        const g = runProgram(prog);
        expect(inferShapes.run(g, passContext("infer-shapes", []))).toBe(g);
      }),
      { seed: 99, numRuns: 500 },
    );
  });

  it.each([
    ["a broadcast that does not match", "%y = add %x, %w : f32[N]", /add.*shapes \[N\] and \[M\] do not broadcast/],
    ["a wrong result dtype", "%y = add %x, %x : f16[N]", /expected type f32\[N\]/],
    ["a wrong shape", "%y = exp %x : f32[M]", /expected type f32\[N\]/],
    ["a reshape that changes the size", "%y = reshape %x : f32[N, 2]", /changes the size/],
    ["a load of a missing operand", "%y = compute %x { $1[v0]:f32 } : f32[N]", /missing operand \$1/],
    ["an unbound variable", "%y = compute %x { $0[v3] } : f32[N]", /unbound variable v3/],
    ["mismatched operand dtypes in a body", "%y = compute %x { $0[v0] + 1 } : f32[N]", /operands f32 and i32/],
    ["a float function of an int", "%y = exp %i : i32[N]", /exp of i32/],
  ])("rejects %s", (_, line, msg) => {
    const g = parseGraph(`graph bad(%x: f32[N], %w: f32[M], %i: i32[N]) -> (%y) {\n  ${line}\n}`);
    expect(() => verifyGraph(g)).toThrow(InternalCompilerError);
    expect(() => verifyGraph(g)).toThrow(msg);
  });
});
