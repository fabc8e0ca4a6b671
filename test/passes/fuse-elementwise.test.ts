/** fuse-elementwise: Before/Expected cases for each fusion rule, and the exactness of the bodies it substitutes. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Graph } from "../../compiler/graph/node.ts";
import { EXACT_BODIES, fuseElementwise } from "../../compiler/graph/passes/fuse-elementwise.ts";
import { mapGraph } from "../../compiler/graph/passes/rebuild.ts";
import { asCompute } from "../../compiler/kernel/as-compute.ts";
import { programArb, runProgram } from "../ir/gen.ts";
import { applyPass, expectRewrite, expectSameResults, messages } from "./helpers.ts";

describe("fuse-elementwise", () => {
  it("fuses an elementwise chain with a broadcast, and the chain into a reduction that reads each element once", () => {
    const rs = expectRewrite(
      fuseElementwise,
      `graph g(%x: f32[B, N], %b: f32[N]) -> (%s) {
        %e = exp %x : f32[B, N]
        %bb = broadcast %b : f32[B, N]
        %a = add %e, %bb : f32[B, N]
        %r = relu %a : f32[B, N]
        %s = reduce %r {fn = sum, axes = [1], keepdims = false} : f32[B]
      }`,
      `graph g(%x: f32[B, N], %b: f32[N]) -> (%s) {
        %s = compute %x, %b { sum[v1 < N] { relu(exp($0[v0, v1]) + $1[v1]) } } : f32[B]
      }`,
    );
    expect(messages(rs, "fired")).toHaveLength(4);
  });

  it("inlines a single-use reduction as the epilogue's producer (read at its own index)", () => {
    expectRewrite(
      fuseElementwise,
      `graph epilogue(%x: f32[B, N], %b: f32[B]) -> (%y) {
        %s = reduce %x {fn = sum, axes = [1], keepdims = false} : f32[B]
        %n = const 4.0 : f32[]
        %nb = broadcast %n : f32[B]
        %m = div %s, %nb : f32[B]
        %y = add %m, %b : f32[B]
      }`,
      `graph epilogue(%x: f32[B, N], %b: f32[B]) -> (%y) {
        %y = compute %x, %b { sum[v1 < N] { $0[v0, v1] } / 4.0 + $1[v0] } : f32[B]
      }`,
    );
  });

  it("keeps a reduction with two consumers, and says why", () => {
    const rs = expectRewrite(
      fuseElementwise,
      `graph twouses(%x: f32[B, N]) -> (%y, %z) {
        %s = reduce %x {fn = max, axes = [1], keepdims = true} : f32[B, 1]
        %sb = broadcast %s : f32[B, N]
        %y = sub %x, %sb : f32[B, N]
        %z = exp %s : f32[B, 1]
      }`,
      `graph twouses(%x: f32[B, N]) -> (%y, %z) {
        %s = reduce %x {fn = max, axes = [1], keepdims = true} : f32[B, 1]
        %y = compute %x, %s { $0[v0, v1] - $1[v0, 0] } : f32[B, N]
        %z = exp %s : f32[B, 1]
      }`,
    );
    expect(messages(rs, "missed")[0]).toMatch(/has a reduction and 2 uses/);
  });

  it("fuses only cheap producers into a matmul-like sum (exp would run N times per element)", () => {
    const rs = expectRewrite(
      fuseElementwise,
      `graph mm(%x: f32[M, K], %w: f32[K, N]) -> (%y, %z) {
        %e = exp %x : f32[M, K]
        %y = compute %e, %w { sum[v2 < K] { $0[v0, v2] * $1[v2, v1] } } : f32[M, N]
        %h = mul %w, %w : f32[K, N]
        %z = compute %x, %h { sum[v2 < K] { $0[v0, v2] * $1[v2, v1] } } : f32[M, N]
      }`,
      `graph mm(%x: f32[M, K], %w: f32[K, N]) -> (%y, %z) {
        %e = exp %x : f32[M, K]
        %y = compute %e, %w { sum[v2 < K] { $0[v0, v2] * $1[v2, v1] } } : f32[M, N]
        %z = compute %x, %w { sum[v2 < K] { $0[v0, v2] * ($1[v2, v1] * $1[v2, v1]) } } : f32[M, N]
      }`,
    );
    expect(messages(rs, "missed")[0]).toMatch(/evaluated more often than it has elements/);
  });

  it("inlines a gather (which may flag) only where it is read whole; a strided read keeps it", () => {
    const rs = expectRewrite(
      fuseElementwise,
      `graph gath(%x: f32[N, C], %i: i32[J]) -> (%y, %z) {
        %g = gather %x, %i {axis = 0} : f32[J, C]
        %y = exp %g : f32[J, C]
        %s = slice %g {starts = [0, 0], steps = [2, 1]} : f32[(J + 1) / 2, C]
        %z = neg %s : f32[(J + 1) / 2, C]
      }`,
      `graph gath(%x: f32[N, C], %i: i32[J]) -> (%y, %z) {
        %y = compute %x, %i { exp($0[$1[v0], v1]) } : f32[J, C]
        %g = gather %x, %i {axis = 0} : f32[J, C]
        %z = compute %g { neg($0[v0 * 2, v1]) } : f32[(J + 1) / 2, C]
      }`,
      { dims: { N: 3, C: 2, J: 5 } },
    );
    // the strided read is in range (2·v0 < J for v0 < (J + 1) / 2), but it reads only half of g
    expect(messages(rs, "missed")).toEqual(["not fused into %4 slice : f32[((J + 1) / 2), C]: the producer may set the error flag (a data-dependent index) and the consumer does not read all of it"]);
  });

  it("does not pull a loop-invariant producer into a loop body", () => {
    const rs = expectRewrite(
      fuseElementwise,
      `graph loop(%x: f32[N], %w: f32[N]) -> (%o) {
        %e = exp %w : f32[N]
        %it = iterate %x {n = T, loop = 0} : (f32[N]) {
          %s = loop_state {loop = 0, index = 0} : f32[N]
          %m = mul %s, %e : f32[N]
          %t = tanh %m : f32[N]
          yield %t
        }
        %o = proj %it {index = 0} : f32[N]
      }`,
      `graph loop(%x: f32[N], %w: f32[N]) -> (%o) {
        %e = exp %w : f32[N]
        %it = iterate %x {n = T, loop = 0} : (f32[N]) {
          %s = loop_state {loop = 0, index = 0} : f32[N]
          %t = compute %s, %e { tanh($0[v0] * $1[v0]) } : f32[N]
          yield %t
        }
        %o = proj %it {index = 0} : f32[N]
      }`,
      { dims: { N: 3, T: 2 } },
    );
    expect(messages(rs, "missed")[0]).toMatch(/loop-invariant/);
  });

  it("proves index ranges: a shifted read, pad's guarded read, reshape/permute index arithmetic", () => {
    expectRewrite(
      fuseElementwise,
      `graph shifted(%x: f32[N]) -> (%y) {
        %e = exp %x : f32[N]
        %y = compute %e { $0[v0 + 1] } : f32[N - 1]
      }`,
      `graph shifted(%x: f32[N]) -> (%y) {
        %y = compute %x { exp($0[v0 + 1]) } : f32[N - 1]
      }`,
    );
    expectRewrite(
      fuseElementwise,
      `graph padded(%x: f32[N]) -> (%y) {
        %d = mul %x, %x : f32[N]
        %y = pad %d {before = [1], after = [2], value = 0.0} : f32[N + 3]
      }`,
      `graph padded(%x: f32[N]) -> (%y) {
        %y = compute %x { select(and(v0 - 1 >= 0, v0 - 1 < dim(N)), $0[select(and(v0 - 1 >= 0, v0 - 1 < dim(N)), v0 - 1, -1)] * $0[select(and(v0 - 1 >= 0, v0 - 1 < dim(N)), v0 - 1, -1)], 0.0) } : f32[N + 3]
      }`,
    );
    expectRewrite(
      fuseElementwise,
      `graph reshaped(%x: f32[B, N, C]) -> (%y) {
        %e = exp %x : f32[B, N, C]
        %r = reshape %e : f32[B, N*C]
        %p = permute %r {perm = [1, 0]} : f32[N*C, B]
        %y = sigmoid %p : f32[N*C, B]
      }`,
      `graph reshaped(%x: f32[B, N, C]) -> (%y) {
        %y = compute %x { sigmoid(exp($0[(v1 * dim(C*N) + v0) / dim(C*N), (v1 * dim(C*N) + v0) / dim(C) % dim(N), (v1 * dim(C*N) + v0) % dim(C)])) } : f32[C*N, B]
      }`,
    );
  });

  it("does not fuse a read that may fall outside the producer", () => {
    const rs = expectRewrite(
      fuseElementwise,
      `graph over(%x: f32[N]) -> (%y) {
        %e = exp %x : f32[N]
        %y = compute %e { $0[v0 + 1] } : f32[N]
      }`,
      `graph over(%x: f32[N]) -> (%y) {
        %e = exp %x : f32[N]
        %y = compute %e { $0[v0 + 1] } : f32[N]
      }`,
    );
    expect(messages(rs, "missed")[0]).toMatch(/out of range/);
  });

  it("stops a stencil chain once the inlined body is no longer cheap (no exponential growth)", () => {
    expectRewrite(
      fuseElementwise,
      `graph stencil(%x: f32[N]) -> (%y) {
        %a = compute %x { $0[v0] + $0[v0 + 1] } : f32[N - 1]
        %b = compute %a { $0[v0] + $0[v0 + 1] } : f32[N - 2]
        %c = compute %b { $0[v0] + $0[v0 + 1] } : f32[N - 3]
        %y = compute %c { $0[v0] + $0[v0 + 1] } : f32[N - 4]
      }`,
      `graph stencil(%x: f32[N]) -> (%y) {
        %b = compute %x { $0[v0] + $0[v0 + 1] + ($0[v0 + 1] + $0[v0 + 2]) } : f32[N - 2]
        %y = compute %b { $0[v0] + $0[v0 + 1] + ($0[v0 + 1] + $0[v0 + 2]) } : f32[N - 4]
      }`,
      { dims: { N: 7 } },
    );
  });

  it("respects the body-size limit", () => {
    const text = `graph big(%x: f32[N]) -> (%y) {
      %a = mul %x, %x : f32[N]
      %y = add %a, %a : f32[N]
    }`;
    const { after, remarks } = applyPass(fuseElementwise, text, { maxBodySize: 3 });
    expect(after.outputs[0]!.op).toBe("binary");
    expect(messages(remarks, "missed")[0]).toMatch(/would have 13 nodes \(limit 3\)/);
  });

  it("leaves producers of ops without a per-element form alone, with a remark", () => {
    const rs = expectRewrite(
      fuseElementwise,
      `graph tomatmul(%x: f32[M, K], %w: f32[K, N]) -> (%y) {
        %e = exp %x : f32[M, K]
        %y = matmul %e, %w : f32[M, N]
      }`,
      `graph tomatmul(%x: f32[M, K], %w: f32[K, N]) -> (%y) {
        %e = exp %x : f32[M, K]
        %y = matmul %e, %w : f32[M, N]
      }`,
    );
    expect(messages(rs, "missed")[0]).toMatch(/has no per-element form/);
  });
});

/** Every EXACT_BODIES op replaced by a compute node holding its as-compute body. */
function asBodies(g: Graph): Graph {
  return mapGraph(g, (old, m) => {
    const n = m.copy(old);
    if (!EXACT_BODIES.has(n.op) || n.dtype === "tuple") return n;
    const body = asCompute(n);
    return body ? m.cx.node("compute", n.types, n.src, { body }) : n;
  });
}

describe("EXACT_BODIES", () => {
  const DIMS = { B: 2, N: 3, C: 4, K: 2, r: 1, p: 1, T: 2, M: 3, Dv: 2, BQ: 2, R: 2 };
  it("as-compute bodies of these ops give the interpreter's results bit for bit, error flag included", () => {
    fc.assert(
      fc.property(programArb, fc.nat(3), (prog, seed) => {
        const g = runProgram(prog);
        expectSameResults(g, asBodies(g), DIMS, [seed]);
      }),
      { seed: 20250101, numRuns: 600 },
    );
  });

  it("excluded ops really differ (matmul rounds products to f32 in its body), so the list is not over-cautious by accident", () => {
    const { before } = applyPass(fuseElementwise, `graph mm(%a: f32[N, K], %b: f32[K, N]) -> (%y) { %y = matmul %a, %b : f32[N, N] }`);
    const body = asCompute(before.outputs[0]!)!;
    const via = mapGraph(before, (old, m) => (old.op === "matmul" ? m.cx.node("compute", old.types, old.src.map(m.get), { body }) : undefined));
    expect(() => expectSameResults(before, via, { N: 8, K: 16 }, [0, 1, 2, 3])).toThrow(/differs/);
  });
});
