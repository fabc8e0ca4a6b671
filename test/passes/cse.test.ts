/** cse: equal nodes merge by re-interning; compute bodies merge up to operand order and duplication. */
import { describe, expect, it } from "vitest";
import { cse } from "../../compiler/graph/passes/cse.ts";
import { expectRewrite, messages } from "./helpers.ts";

describe("cse", () => {
  it("merges equal ops, and compute nodes equal up to operand order or duplicated operands", () => {
    const rs = expectRewrite(
      cse,
      `graph c(%x: f32[N], %y: f32[N]) -> (%o1, %o2, %o3) {
        %a = compute %x, %y { $0[v0] * $1[v0] } : f32[N]
        %b = compute %y, %x { $1[v0] * $0[v0] } : f32[N]
        %c = compute %x, %x, %y { $1[v0] * $2[v0] } : f32[N]
        %o1 = add %a, %b : f32[N]
        %o2 = add %a, %c : f32[N]
        %e1 = exp %x : f32[N]
        %e2 = exp %x : f32[N]
        %o3 = sub %e1, %e2 : f32[N]
      }`,
      `graph c(%x: f32[N], %y: f32[N]) -> (%o, %o, %s) {
        %a = compute %x, %y { $0[v0] * $1[v0] } : f32[N]
        %o = add %a, %a : f32[N]
        %e = exp %x : f32[N]
        %s = sub %e, %e : f32[N]
      }`,
    );
    expect(messages(rs, "fired")).toContain("3 nodes merged or dropped");
  });

  it("renumbers reduction variables canonically, so equal reductions merge", () => {
    expectRewrite(
      cse,
      `graph r(%x: f32[N, M]) -> (%a, %b) {
        %a = compute %x { sum[v7 < M] { $0[v0, v7] } } : f32[N]
        %b = compute %x { sum[v1 < M] { $0[v0, v1] } } : f32[N]
      }`,
      `graph r(%x: f32[N, M]) -> (%a, %a) {
        %a = compute %x { sum[v1 < M] { $0[v0, v1] } } : f32[N]
      }`,
    );
  });
});
