/**
 * plan-memory (compiler/kernel/plan.ts): liveness-based buffer reuse on lowered programs, the
 * buffer-plan report, and the end-to-end claim of fusion: fused dense attention needs no N×N
 * buffer, while the unfused form (attention recognition off) has one.
 */
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { evalDim, type Dim } from "../../compiler/graph/dim.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { parseGraph } from "../../compiler/graph/parse.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { planBytes, planMemory, planReport } from "../../compiler/kernel/plan.ts";
import { launches, type Program, type Step } from "../../compiler/kernel/program.ts";
import { compileToProgram } from "../../compiler/pipeline.ts";

/** q @ kᵀ / 8, causal mask by iota comparison, softmax, @ v: attention written out by hand. */
function handAttention(): Graph {
  const b = new GraphBuilder("hand");
  const q = b.input("q", "f32", ["B", "H", "N", 64]);
  const k = b.input("k", "f32", ["B", "H", "N", 64]);
  const v = b.input("v", "f32", ["B", "H", "N", 64]);
  const s = b.div(b.matmul(q, b.transpose(k)), 8);
  const causal = b.binary("le", b.iota(["N", "N"], 1), b.iota(["N", "N"], 0));
  const p = b.softmax(b.where(causal, s, -Infinity), -1);
  return b.finish([b.matmul(p, v)]);
}

/** Whether a size grows like N² (evaluated at N = 1000 with every other dim 1). */
const quadratic = (d: Dim) => (evalDim(d, { B: 1, H: 1, N: 1000 }) ?? 0) >= 1000 * 1000;

/** Buffer ids a program's steps use. */
function used(steps: readonly Step[], out = new Set<number>()): Set<number> {
  for (const s of steps) {
    if (s.k === "launch") s.args.forEach((a) => out.add(a));
    else if (s.k === "copy") out.add(s.from).add(s.to);
    else used(s.body, out);
  }
  return out;
}

describe("plan-memory", () => {
  it("fused dense attention has no N×N buffer; the unfused form has (and reuses them)", () => {
    const fused = compileToProgram(handAttention());
    expect(fused.graph.outputs[0]!.op).toBe("attention");
    expect(fused.program.buffers.filter((b) => quadratic(b.numel))).toEqual([]);

    const unfused = compileToProgram(handAttention(), { exact: true });
    const big = unfused.program.buffers.filter((b) => quadratic(b.numel));
    expect(big.length).toBeGreaterThan(0);
    // every N×N temporary lives in a reused slot: fewer physical N×N buffers than N×N values
    const values = unfused.plan.buffers.filter((b) => quadratic(b.decl.numel)).length;
    expect(big.length).toBeLessThanOrEqual(values);
    const dims = { B: 1, H: 8, N: 1024 };
    expect(planBytes(fused.plan, dims).planned).toBeLessThan(planBytes(unfused.plan, dims).planned / 4);
  });

  it("reuses a dead temporary of the same dtype and a comparable size; pins inputs, outputs and constants", () => {
    const g = parseGraph(`graph chain(%x: f32[N, N], %w: f32[N, N]) -> (%d) {
      %a = matmul %x, %w : f32[N, N]
      %b = matmul %a, %w : f32[N, N]
      %c = matmul %b, %w : f32[N, N]
      %d = matmul %c, %w : f32[N, N]
    }`);
    const { program, plan } = planMemory(lowerGraph(g));
    const slotOf = (op: number) => plan.buffers.filter((b) => b.decl.node?.op === "matmul")[op]!.slot;
    expect(slotOf(2)).toBe(slotOf(0)); // c reuses a (dead once b is computed)
    expect(slotOf(1)).not.toBe(slotOf(0));
    expect(plan.buffers.filter((b) => b.pinned).map((b) => b.pinned).sort()).toEqual(["flag", "input", "input", "output"]);
    expect(program.buffers.length).toBe(plan.buffers.length - 1);
    // the rewritten program references only its own buffers, with outputs and inputs remapped
    for (const id of used(program.steps)) expect(id).toBeLessThan(program.buffers.length);
    expect(program.outputs[0]!.buffer).toBe(plan.buffers.find((b) => b.pinned === "output")!.slot);
    expect(planReport(plan, { N: 4 })).toMatch(/with N=4: 388 B unplanned, 324 B planned, peak live 324 B/);
  });

  it("keeps buffers used in a loop alive for the whole loop, and never shares loop state", () => {
    const g = parseGraph(`graph loop(%x: f32[N], %w: f32[N]) -> (%o) {
      %e = exp %w : f32[N]
      %it = iterate %x {n = T, loop = 0} : (f32[N]) {
        %s = loop_state {loop = 0, index = 0} : f32[N]
        %m = mul %s, %e : f32[N]
        %t = tanh %m : f32[N]
        yield %t
      }
      %o = proj %it {index = 0} : f32[N]
    }`);
    const { plan } = planMemory(lowerGraph(g));
    const exp = plan.buffers.find((b) => b.decl.node?.op === "unary" && (b.decl.node.arg as { fn: string }).fn === "exp")!;
    const inLoop = plan.buffers.filter((b) => b.decl.node?.op === "binary" || (b.decl.node?.op === "unary" && b !== exp));
    // exp is read in every iteration: nothing computed inside the loop may take its slot
    for (const b of inLoop) expect(b.slot).not.toBe(exp.slot);
    expect(plan.buffers.some((b) => b.pinned === "loop state")).toBe(true);
    for (const b of plan.buffers.filter((x) => x.pinned === "loop state"))
      expect(plan.buffers.filter((x) => x.slot === b.slot)).toHaveLength(1);
  });

  it("only hands a used slot to buffers whose producer writes every element", () => {
    const g = parseGraph(`graph mixed(%x: f32[N]) -> (%s) {
      %a = exp %x : f32[N]
      %b = cumsum %a {axis = 0, exclusive = false, reverse = false} : f32[N]
      %c = neg %b : f32[N]
      %s = cumsum %c {axis = 0, exclusive = false, reverse = false} : f32[N]
    }`);
    const p: Program = lowerGraph(g);
    const { plan } = planMemory(p);
    const written = new Set<number>();
    for (const l of launches(p.steps)) if (l.node.op === "unary") written.add(l.args[l.args.length - 2]!);
    for (const s of plan.slots)
      for (const occ of s.occupants.slice(1)) expect(written.has(occ), `buffer ${occ} moved into slot ${s.id}`).toBe(true);
  });
});
