/** dce: unreachable nodes, unread compute operands, unused attention side outputs and loop states go; flagging work stays. */
import { describe, expect, it } from "vitest";
import { dce } from "../../compiler/graph/passes/dce.ts";
import { expectRewrite, messages } from "./helpers.ts";

describe("dce", () => {
  it("drops unreachable nodes, an unread compute operand and an unprojected lse", () => {
    const rs = expectRewrite(
      dce,
      `graph d(%x: f32[N], %y: f32[N]) -> (%o, %c) {
        %unused = exp %y : f32[N]
        %c = compute %x, %y { $0[v0] * 2.0 } : f32[N]
        %q = reshape %x : f32[1, N, 1]
        %att = attention %q, %q, %q {scale = 1.0, returns = [lse]} : (f32[1, N, 1], f32[1, N])
        %o = proj %att {index = 0} : f32[1, N, 1]
      }`,
      `graph d(%x: f32[N], %y: f32[N]) -> (%o, %c) {
        %q = reshape %x : f32[1, N, 1]
        %o = attention %q, %q, %q {scale = 1.0} : f32[1, N, 1]
        %c = compute %x { $0[v0] * 2.0 } : f32[N]
      }`,
    );
    expect(messages(rs, "fired")).toEqual(["dropped 1 unused side output(s)", "dropped 1 unread operand(s)"]);
  });

  it("drops a loop state nothing needs, renumbering the others", () => {
    expectRewrite(
      dce,
      `graph loop(%x: f32[N], %z: f32[N]) -> (%o) {
        %it = iterate %z, %x {n = T, loop = 0} : (f32[N], f32[N]) {
          %s0 = loop_state {loop = 0, index = 0} : f32[N]
          %s1 = loop_state {loop = 0, index = 1} : f32[N]
          %n0 = add %s0, %s1 : f32[N]
          %n1 = exp %s1 : f32[N]
          yield %n0, %n1
        }
        %o = proj %it {index = 1} : f32[N]
      }`,
      `graph loop(%x: f32[N], %z: f32[N]) -> (%o) {
        %it = iterate %x {n = T, loop = 0} : (f32[N]) {
          %s = loop_state {loop = 0, index = 0} : f32[N]
          %n = exp %s : f32[N]
          yield %n
        }
        %o = proj %it {index = 0} : f32[N]
      }`,
      { dims: { N: 3, T: 2 } },
    );
  });

  it("keeps a state read by a needed one, and work that may set the error flag", () => {
    const text = `graph keep(%x: f32[N], %i: i32[N]) -> (%o, %c) {
        %g = gather %x, %i {axis = 0} : f32[N]
        %c = compute %x, %g { $0[v0] } : f32[N]
        %it = iterate %x, %x {n = T, loop = 0} : (f32[N], f32[N]) {
          %s0 = loop_state {loop = 0, index = 0} : f32[N]
          %s1 = loop_state {loop = 0, index = 1} : f32[N]
          %n0 = add %s0, %s1 : f32[N]
          %n1 = exp %s1 : f32[N]
          yield %n0, %n1
        }
        %o = proj %it {index = 0} : f32[N]
      }`;
    expectRewrite(dce, text, text, { dims: { N: 4, T: 2 } });
  });
});
