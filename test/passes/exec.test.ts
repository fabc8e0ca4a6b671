/**
 * End to end on the CPU: every op graph and example of the CUDA tests, and attention written out
 * by hand, goes through compileToProgram (the optimization pipeline, lowering, plan-memory's
 * buffer reuse) and runs on cuda-emu (the generated CUDA compiled as host C++); the results match
 * the reference interpreter on the original graph under the backends' tolerance. Skipped without g++.
 */
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret, randomInputs } from "../../compiler/graph/interp.ts";
import { compileToProgram } from "../../compiler/pipeline.ts";
import { runProgramEmu } from "../../runtime/cuda/emu.ts";
import { exampleCases, opCases, type Case } from "../cuda/graphs.ts";
import { haveGxx, mismatch } from "../cuda/helpers.ts";

function handAttention(): Case {
  const b = new GraphBuilder("hand_attention");
  const q = b.input("q", "f32", ["B", "N", 16]);
  const k = b.input("k", "f32", ["B", "N", 16]);
  const v = b.input("v", "f32", ["B", "N", 16]);
  const bias = b.input("bias", "f32", ["N"]);
  const s = b.add(b.mul(b.matmul(q, b.transpose(k)), 0.25), bias);
  const causal = b.binary("le", b.iota(["N", "N"], 1), b.iota(["N", "N"], 0));
  const o = b.matmul(b.softmax(b.where(causal, s, -Infinity)), v);
  return { name: "hand_attention", graph: b.finish([b.unary("relu", o)]), dims: { B: 2, N: 37 } };
}

function fusedChains(): Case {
  const b = new GraphBuilder("fused_chains");
  const x = b.input("x", "f32", ["B", "N", "C"]);
  const w = b.input("w", "f32", ["C"]);
  const y = b.mul(b.exp(b.sub(x, b.reduce("max", x, 2, true))), w);
  const s = b.div(b.reduce("sum", y, 2), 3);
  const r = b.reshape(b.permute(b.unary("tanh", x), [0, 2, 1]), ["B", "C", "N"]);
  return { name: "fused_chains", graph: b.finish([s, b.unary("sigmoid", r)]), dims: { B: 2, N: 5, C: 70 } };
}

const GXX = haveGxx();

describe.skipIf(!GXX)("optimized programs on cuda-emu match the interpreter", () => {
  for (const c of [handAttention(), fusedChains(), ...opCases(), ...exampleCases()])
    it(c.name, async () => {
      const compiled = compileToProgram(c.graph);
      if (c.name === "hand_attention") expect(compiled.graph.outputs[0]!.src[0]!.op).toBe("attention");
      const inputs = randomInputs(c.graph, c.dims, 1);
      const ref = interpret(c.graph, inputs, { dims: c.dims });
      const got = await runProgramEmu(compiled.program, inputs, c.dims, { requires: c.graph.requires });
      got.outputs.forEach((o, i) => expect(mismatch(o.dtype, o.data, ref.outputs[i]!.data), `output ${i}`).toBeUndefined());
      expect(got.errorFlag).toBe(ref.errorFlag);
    }, 120_000);
});
