/**
 * Data-dependent counts stay on the device (issue 6): the examples that prune, retain, compact
 * or route by data (ATP-LLaVA, ToDRE, text-guided pruning, MiKV, MiniCache, MoR, A-CLIP) compile
 * to programs whose every buffer size, dispatch size, loop count and output shape is a static
 * bound, a polynomial in the input dims alone; a data-dependent count (compact's) is a device
 * buffer that kernels read, or a program output. So the host never needs a device value before
 * the end:
 *   - WebGPU: the whole program is one command submission, and the only reads (outputs and the
 *     error flag) come after it (counted on the real device, which also checks the results
 *     against the interpreter);
 *   - CUDA: P_run's step list at given dims is launches and copies only, and the launch header's
 *     callbacks (P_ops) are launch and copy: there is no read-back hook to call mid-program.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { dimVars, type Dim } from "../../compiler/graph/dim.ts";
import { defaultDims, randomInputs, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { toposort } from "../../compiler/graph/node.ts";
import { compileToProgram } from "../../compiler/pipeline.ts";
import type { Program, Step } from "../../compiler/kernel/program.ts";
import { emitCudaModule } from "../../backends/cuda/module.ts";
import { planCudaSteps } from "../../runtime/cuda/execute.ts";
import { checkGraph, gpuIt, openGpu } from "../webgpu/util.ts";

const gpu = await openGpu();

/** Small shapes (as test/webgpu/examples.test.ts), and the inputs that must be non-negative. */
const EXAMPLES: Record<string, { defines?: Record<string, number | boolean>; dims: Record<string, number>; positive?: string[] }> = {
  "atp-llava": { defines: { G: 2 }, dims: { L: 8, B: 2, M: 2 }, positive: ["attn"] },
  todre: { defines: { keep: 3 }, dims: { B: 1, N: 8, D: 4, H: 2, E: 4 }, positive: ["cls_attn"] },
  "text-guided-pruning": { defines: { W: 3 }, dims: { B: 1, H: 2, D: 4, N: 9, C: 4 } },
  mikv: { defines: { heavy: 2, recent: 2 }, dims: { B: 1, H: 2, T: 9, D: 4, P: 3 }, positive: ["acc"] },
  minicache: { dims: { B: 1, H: 2, N: 5, T: 6, D: 4 } },
  mor: { defines: { heads: 2 }, dims: { B: 1, N: 6, C: 4, F: 4 } },
  aclip: { defines: { G: 4, cells: 2 }, dims: { L: 2, B: 2, M: 2, C: 4, E: 4 }, positive: ["attn"] },
};

/** Ops whose results depend on data in a way that decides how much later work is live. */
const DATA_DEPENDENT = new Set(["compact", "topk", "argsort", "gather", "segment_reduce", "iterate"]);

interface Entry {
  readonly example: string;
  readonly graph: Graph;
  readonly dims: Record<string, number>;
  readonly positive: readonly string[];
}

const ENTRIES: Entry[] = Object.entries(EXAMPLES).flatMap(([example, cfg]) => {
  const path = `examples/${example}/${example}.attn`;
  const res = compileSource(path, readFileSync(path, "utf8"), { defines: cfg.defines });
  if (!res.ok) throw new Error(`${path}: ${res.diagnostics.map((d) => d.message).join("; ")}`);
  return res.graphs.map((graph) => ({ example, graph, dims: defaultDims(graph, cfg.dims, 4), positive: cfg.positive ?? [] }));
});

/** The optimized, lowered, memory-planned program (the device's own limits are checked when it runs). */
const lowered = (g: Graph): Program => compileToProgram(g).program;

/** Every Dim a program's host side evaluates: buffer sizes, dispatch sizes, loop counts, output shapes. */
function hostDims(p: Program): { what: string; d: Dim }[] {
  const out: { what: string; d: Dim }[] = [];
  p.buffers.forEach((b) => out.push({ what: `buffer ${b.id}`, d: b.numel }));
  const walk = (steps: readonly Step[]) => {
    for (const s of steps) {
      if (s.k === "launch") s.kernel.dispatch.forEach((d) => out.push({ what: `dispatch of ${s.kernel.name}`, d }));
      else if (s.k === "loop") {
        out.push({ what: `count of loop ${s.loop}`, d: s.n });
        walk(s.body);
      }
    }
  };
  walk(p.steps);
  p.outputs.forEach((o) => o.shape.forEach((d) => out.push({ what: `shape of output ${o.name}`, d })));
  return out;
}

describe("data-dependent counts stay on the device", () => {
  it("covers every graph of the seven examples, each example with data-dependent ops", () => {
    expect(ENTRIES.length).toBeGreaterThanOrEqual(12);
    for (const ex of Object.keys(EXAMPLES)) {
      const ops = ENTRIES.filter((e) => e.example === ex).flatMap((e) => toposort([...e.graph.inputs, ...e.graph.outputs]).map((n) => n.op));
      expect(ops.some((o) => DATA_DEPENDENT.has(o)), ex).toBe(true);
    }
  });

  it("a compaction's count leaves the program as an output beside its statically bounded list", () => {
    const withCount: string[] = [];
    for (const e of ENTRIES) {
      const nodes = toposort([...e.graph.inputs, ...e.graph.outputs]);
      for (const c of nodes.filter((n) => n.op === "compact")) {
        // compact: (indices i32 [..., N] padded with -1, count i32 [...]); N is the static bound
        const [list, count] = c.types;
        expect(list!.shape.slice(0, -1)).toEqual(count!.shape);
        const out = e.graph.outputs.find((o) => o.op === "proj" && o.src[0] === c && (o.arg as { index: number }).index === 1);
        if (out) withCount.push(`${e.example}/${e.graph.name}: count i32[${count!.shape.join(", ")}] beside a list of ${list!.shape.at(-1)}`);
      }
    }
    expect(withCount).toEqual([
      "atp-llava/atp: count i32[B] beside a list of L",
      "todre/todre_relevance: count i32[B] beside a list of N",
      "text-guided-pruning/text_guided_prune: count i32[B] beside a list of N",
      "minicache/minicache_compress: count i32[B, H] beside a list of T",
    ]);
  });

  for (const e of ENTRIES) {
    const name = `${e.example}/${e.graph.name}`;

    it(`${name}: sizes, dispatches, loop counts and output shapes are static bounds (input dims only)`, () => {
      const p = lowered(e.graph);
      const inputDims = new Set(e.graph.inputs.flatMap((i) => i.shape.flatMap(dimVars)));
      for (const { what, d } of hostDims(p)) expect(dimVars(d).filter((v) => !inputDims.has(v)), `${name}: ${what} = ${d.toString()}`).toEqual([]);
      // compact's index list and count are device buffers that kernels read or the program returns
      const counts = p.buffers.filter((b) => b.node?.op === "compact");
      for (const c of counts) {
        const read = [...launchesOf(p.steps)].some((s) => s.args.includes(c.id)) || p.outputs.some((o) => o.buffer === c.id);
        expect(read, `${name}: count buffer ${c.id}`).toBe(true);
      }
    });

    it(`${name}: CUDA runs it as launches and copies only (no read-back hook)`, () => {
      const p = lowered(e.graph);
      const m = emitCudaModule(p);
      const ops = m.header.match(/typedef struct \w+_ops \{([^}]*)\}/)![1]!;
      expect(ops.split(";").map((s) => s.trim()).filter(Boolean).map((s) => s.replace(/\(\*(\w+)\).*/, "$1").split(/\s+/).pop())).toEqual(["ctx", "launch", "copy"]);
      const steps = planCudaSteps(p, m, e.dims);
      expect(steps.length).toBeGreaterThan(0);
      expect(new Set(steps.map((s) => s.op)).size).toBeLessThanOrEqual(2);
      for (const s of steps) expect(["launch", "copy"]).toContain(s.op);
    });

    gpuIt(gpu, `${name}: WebGPU runs it as one submission; reads only after it, and matches the interpreter`, async (dev) => {
      const inputs: Record<string, HostTensor> = randomInputs(e.graph, e.dims, 1);
      for (const n of e.positive) if (inputs[n]) inputs[n] = { ...inputs[n]!, data: inputs[n]!.data.map(Math.abs) };
      const program = lowered(e.graph);
      const events: string[] = [];
      const queue = dev.device.queue;
      const submit = queue.submit.bind(queue);
      const read = dev.read.bind(dev);
      queue.submit = (bufs) => {
        events.push("submit");
        return submit(bufs);
      };
      dev.read = (buf, bytes) => {
        events.push("read");
        return read(buf, bytes);
      };
      try {
        await checkGraph(dev, e.graph, e.dims, { inputs, program, label: name });
      } finally {
        queue.submit = submit;
        dev.read = read;
      }
      // the program's submission, then per read its own copy submission
      expect(events[0]).toBe("submit");
      const rest = events.slice(1);
      expect(rest.length % 2).toBe(0);
      for (let i = 0; i < rest.length; i += 2) expect(rest.slice(i, i + 2)).toEqual(["read", "submit"]);
      expect(rest.length / 2).toBeLessThanOrEqual(program.outputs.length + 1); // outputs and the flag
    }, 240_000);
  }
});

function* launchesOf(steps: readonly Step[]): Generator<Extract<Step, { k: "launch" }>> {
  for (const s of steps) {
    if (s.k === "launch") yield s;
    else if (s.k === "loop") yield* launchesOf(s.body);
  }
}
