/** fold-constants: ops on constants become constants computed by the interpreter; errors and large results stay. */
import { describe, expect, it } from "vitest";
import { foldConstants } from "../../compiler/graph/passes/fold-constants.ts";
import { applyPass, expectRewrite, messages } from "./helpers.ts";

describe("fold-constants", () => {
  it("folds a constant chain (values from the interpreter, f32-rounded); leaves iota, large results and a flagging gather", () => {
    const rs = expectRewrite(
      foldConstants,
      `graph f(%x: f32[3]) -> (%y, %big, %g) {
        %a = const [1.0, 2.0, 3.0] : f32[3]
        %b = const 0.5 : f32[]
        %bb = broadcast %b : f32[3]
        %c = mul %a, %bb : f32[3]
        %d = exp %c : f32[3]
        %y = add %x, %d : f32[3]
        %i = iota {axis = 0} : i32[64]
        %big = cast %i : f32[64]
        %idx = const [0, 7] : i32[2]
        %g = gather %a, %idx {axis = 0} : f32[2]
      }`,
      `graph f(%x: f32[3]) -> (%y, %big, %g) {
        %d = const [1.6487212181091309, 2.7182817459106445, 4.481688976287842] : f32[3]
        %y = add %x, %d : f32[3]
        %i = iota {axis = 0} : i32[64]
        %big = cast %i : f32[64]
        %a = const [1, 2, 3] : f32[3]
        %idx = const [0, 7] : i32[2]
        %g = gather %a, %idx {axis = 0} : f32[2]
      }`,
    );
    expect(messages(rs, "missed")).toEqual(["not folded: evaluating it sets the error flag"]);
  });

  it("folds the outputs of a tuple op through proj", () => {
    expectRewrite(
      foldConstants,
      `graph tk(%x: f32[2]) -> (%v, %s) {
        %a = const [3.0, 1.0, 2.0] : f32[3]
        %t = topk %a {k = 2, axis = 0, largest = true} : (f32[2], i32[2])
        %v = proj %t {index = 0} : f32[2]
        %s = proj %t {index = 1} : i32[2]
      }`,
      `graph tk(%x: f32[2]) -> (%v, %s) {
        %v = const [3, 2] : f32[2]
        %s = const [0, 2] : i32[2]
      }`,
    );
  });

  it("keeps -0, NaN and inf exactly", () => {
    expectRewrite(
      foldConstants,
      `graph z(%x: f32[]) -> (%a, %b) {
        %m = const [0.0, -1.0, 0.0] : f32[3]
        %n = const [-1.0, 0.0, 0.0] : f32[3]
        %a = mul %m, %n : f32[3]
        %b = div %m, %n : f32[3]
      }`,
      `graph z(%x: f32[]) -> (%a, %b) {
        %a = const [-0.0, -0.0, 0] : f32[3]
        %b = const [-0.0, -inf, nan] : f32[3]
      }`,
    );
  });

  it("honours foldLimit", () => {
    const { after } = applyPass(foldConstants, `graph l(%x: f32[]) -> (%y) { %a = const [1.0, 2.0] : f32[2]\n %y = neg %a : f32[2] }`, { foldLimit: 1 });
    expect(after.outputs[0]!.op).toBe("unary");
  });
});
