import { describe, expect, it } from "vitest";
import { S, f32, fr, run, vals } from "./helpers.ts";

describe("iterate", () => {
  const fib = (n: number) =>
    run((b) => b.iterate("n", [b.scalar(0), b.scalar(1)], ([a, c]) => [c!, b.add(a!, c!)]), {}, { n }).outputs.map((o) => vals(o)[0]);
  it("Fibonacci-like state: n = 0 returns the initial state, n = 5 steps forward", () => {
    expect(fib(0)).toEqual([0, 1]);
    expect(fib(1)).toEqual([1, 1]);
    expect(fib(5)).toEqual([5, 8]); // (0,1) (1,1) (1,2) (2,3) (3,5) (5,8)
  });

  it("loop_index counts 0..n-1", () => {
    const r = run((b) => b.iterate(4, [b.scalar(0)], ([s], t) => [b.add(s!, t)]));
    expect(vals(r.outputs[0]!)).toEqual([0 + 1 + 2 + 3]);
  });

  it("tensor state with an outer tensor used inside the body", () => {
    // x ← x·0.5 + c, three times, c an input
    const r = run((b) => {
      const c = b.input("c", "f32", [2]);
      const c2 = b.mul(c, 2); // outer node, loop-independent
      return b.iterate(3, [b.full([2], 0, "f32")], ([x]) => [b.add(b.mul(x!, 0.5), c2)]);
    }, { c: f32([2], [1, -2]) });
    const step = (x: number, c: number) => x * 0.5 + 2 * c;
    expect(vals(r.outputs[0]!)).toEqual(fr([step(step(step(0, 1), 1), 1), step(step(step(0, -2), -2), -2)]));
  });

  it("a body that returns an outer tensor, and a state that is swapped", () => {
    const r = run((b) => {
      const c = b.input("c", "f32", [1]);
      return b.iterate(2, [b.full([1], 5, "f32"), b.full([1], 7, "f32")], ([, y]) => [c, y!]);
    }, { c: f32([1], [3]) });
    expect(r.outputs.map((o) => vals(o)[0])).toEqual([3, 7]);
    const sw = run((b) => b.iterate(3, [b.scalar(1), b.scalar(2)], ([a, c]) => [c!, a!]));
    expect(sw.outputs.map((o) => vals(o)[0])).toEqual([2, 1]);
  });

  it("loop-dependent values never leak across iterations (compute body reading the state)", () => {
    // s ← s + reverse(s)·t with a compute node that loads the state
    const r = run((b) =>
      b.iterate(3, [b.input("s", "f32", [3])], ([s], t) => {
        const rev = b.compute([3], (i) => S.load(s!, [S.sub(2, i)]));
        return [b.add(s!, b.mul(rev, b.cast(t, "f32")))];
      }), { s: f32([3], [1, 2, 3]) });
    let s = [1, 2, 3];
    for (let t = 0; t < 3; t++) s = s.map((v, i) => v + s[2 - i]! * t);
    expect(vals(r.outputs[0]!)).toEqual(s);
  });

  it("nested loops: inner body reads the outer index and both loop states", () => {
    // for t < 3: for u < 2: acc ← acc + 10t + u   →  Σ_t (20t + 1) = 63
    const r = run((b) =>
      b.iterate(3, [b.scalar(0)], ([acc], t) => {
        const tenT = b.mul(t, 10); // depends on the outer loop only; must refresh every outer step
        return b.iterate(2, [acc!], ([a], u) => [b.add(b.add(a!, tenT), u)]);
      }));
    expect(vals(r.outputs[0]!)).toEqual([63]);
  });

  it("nested loops where the inner loop also reads the outer state", () => {
    // outer state (x, k); inner: y ← y + x, run 2 times from 0 → 2x; outer: x ← 2x + 1
    const r = run((b) =>
      b.iterate(3, [b.scalar(1)], ([x]) => {
        const [twice] = b.iterate(2, [b.scalar(0)], ([y]) => [b.add(y!, x!)]);
        return [b.add(twice!, 1)];
      }));
    expect(vals(r.outputs[0]!)).toEqual([15]); // 1 → 3 → 7 → 15
  });

  it("symbolic iteration count of zero with tensor state", () => {
    const r = run((b) => b.iterate("n", [b.input("x", "f32", [2])], ([x]) => [b.exp(x!)]), { x: f32([2], [1, 2]) }, { n: 0 });
    expect(vals(r.outputs[0]!)).toEqual([1, 2]);
  });

  it("an out-of-range index inside the body flags with the iteration", () => {
    const r = run((b) => {
      const x = b.input("x", "f32", [3]);
      return b.iterate(5, [b.scalar(0, "f32")], ([s], t) => [b.add(s!, b.reshape(b.gather(x, b.reshape(t, [1]), 0), []))]);
    }, { x: f32([3], [1, 2, 4]) });
    expect(vals(r.outputs[0]!)).toEqual([7]);
    expect(r.errorFlag).toBe(true);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(/index 3 .*iteration 3 of loop 0/);
  });

  it("a loop placeholder used outside its iterate is an InterpError", async () => {
    const { GraphBuilder, interpret } = await import("./helpers.ts");
    const { InterpError } = await import("../../compiler/graph/interp.ts");
    const b = new GraphBuilder();
    let leaked: import("../../compiler/graph/builder.ts").Tensor | undefined;
    b.iterate(2, [b.scalar(1)], ([s]) => {
      leaked = b.add(s!, 1);
      return [leaked];
    });
    const g = b.finish([leaked!]);
    expect(() => interpret(g, {})).toThrow(InterpError);
  });
});
