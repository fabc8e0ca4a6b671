/**
 * runProgramCuda's host orchestration, on the CPU: the driver calls it makes, recorded by an object
 * with the addon's interface that keeps device memory in host arrays. This is not a backend — no
 * kernel runs (a launch only writes a marker pattern into its read_write buffers so the read-back
 * path has something to decode); test/cuda/gpu.test.ts runs the real thing on a device. Checked:
 * the cubin is nvcc's for the device's sm; one zeroed allocation per buffer of the planned size;
 * inputs and constants uploaded with the emulator's encoding; launches exactly as planCudaSteps
 * says (function, grid, block, buffer pointers, uniform bytes) in order; outputs and the flag
 * decoded per dtype; with timing, inputs restored before each replay outside the events;
 * everything freed and the module unloaded, also when a launch fails.
 */
import { describe, expect, it } from "vitest";
import { emitCudaModule } from "../../backends/cuda/module.ts";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";
import { defaultDims, randomInputs } from "../../compiler/graph/interp.ts";
import type { CudaAddon } from "../../runtime/cuda/device.ts";
import { CudaDevice } from "../../runtime/cuda/device.ts";
import { encodeBuffer } from "../../runtime/cuda/emu.ts";
import { bufferSizes, CudaRunError, findNvcc, planCudaSteps, runProgramCuda } from "../../runtime/cuda/execute.ts";
import { exampleCases } from "./graphs.ts";

type Call = [string, ...unknown[]];

/** An object with the addon's interface over host memory; records every call. */
function recordingAddon(opts: { failLaunch?: number; onLaunch?: (args: readonly bigint[], mem: Map<bigint, Uint8Array>) => void } = {}) {
  const calls: Call[] = [];
  const mem = new Map<bigint, Uint8Array>();
  const fns = new Map<bigint, string>();
  let next = 0x1000n;
  let launches = 0;
  const addon: CudaAddon = {
    abiVersion: 1,
    driverStatus: () => ({ available: true, library: "recording", driverVersion: 13000 }),
    init: () => void calls.push(["init"]),
    deviceCount: () => 1,
    deviceInfo: () => ({ name: "recording device", major: 9, minor: 0, totalMemory: 1 << 30, multiprocessors: 1 }),
    contextCreate: (o) => (calls.push(["contextCreate", o]), 7n),
    contextRelease: (o) => void calls.push(["contextRelease", o]),
    contextSetCurrent: (c) => void calls.push(["contextSetCurrent", c]),
    synchronize: () => void calls.push(["synchronize"]),
    memAlloc: (n) => {
      const p = (next += 0x100000n);
      mem.set(p, new Uint8Array(n).fill(0xab)); // not zeroed: the runtime must memset
      calls.push(["memAlloc", n, p]);
      return p;
    },
    memFree: (p) => {
      if (!mem.delete(p)) throw new Error(`memFree of unknown ${p}`);
      calls.push(["memFree", p]);
    },
    memcpyHtoD: (p, src) => {
      const b = src instanceof ArrayBuffer ? new Uint8Array(src) : new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
      mem.get(p)!.set(b);
      calls.push(["memcpyHtoD", p, Uint8Array.from(b)]);
    },
    memcpyDtoH: (p, n) => {
      calls.push(["memcpyDtoH", p, n]);
      return mem.get(p)!.slice(0, n).buffer;
    },
    memcpyDtoD: (d, s, n) => {
      mem.get(d)!.set(mem.get(s)!.subarray(0, n));
      calls.push(["memcpyDtoD", d, s, n]);
    },
    memset: (p, v, n) => {
      mem.get(p)!.fill(v, 0, n);
      calls.push(["memset", p, v, n]);
    },
    moduleLoad: (img) => {
      calls.push(["moduleLoad", img]);
      return 42n;
    },
    moduleUnload: (m) => void calls.push(["moduleUnload", m]),
    getFunction: (_m, name) => {
      const f = BigInt(100 + fns.size);
      fns.set(f, name);
      calls.push(["getFunction", name]);
      return f;
    },
    launch: (fn, grid, block, shared, args, uniforms) => {
      if (opts.failLaunch === launches++) throw new Error("cuLaunchKernel: CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES (too many resources requested for launch)");
      opts.onLaunch?.(args, mem);
      const u = uniforms ? new Uint8Array(uniforms.buffer, uniforms.byteOffset, uniforms.byteLength) : undefined;
      calls.push(["launch", fns.get(fn), [...grid], [...block], shared, [...args], u && [...new Uint32Array(Uint8Array.from(u).buffer)]]);
    },
    eventCreate: () => (calls.push(["eventCreate"]), BigInt(900 + calls.length)),
    eventRecord: (e) => void calls.push(["eventRecord", e]),
    eventSynchronize: (e) => void calls.push(["eventSynchronize", e]),
    eventElapsedMs: () => 0.25,
    eventDestroy: (e) => void calls.push(["eventDestroy", e]),
  };
  return { addon, calls, mem };
}

const NVCC = findNvcc();
const tome = exampleCases().find((c) => c.name === "tome/tome_merge")!;

describe.skipIf(!NVCC)(`runProgramCuda's driver calls (recording addon, no kernels run)${NVCC ? "" : " — skipped: nvcc not found"}`, () => {
  const low = lowerForTarget(tome.graph, "cuda");
  if ("diagnostic" in low) throw new Error(low.diagnostic.message);
  const prog = low.program;
  const dims = defaultDims(tome.graph, tome.dims, 4);
  const inputs = randomInputs(tome.graph, dims, 3);

  it("allocates, uploads, launches as planned, reads back and frees", async () => {
    const rec = recordingAddon({
      // a marker in every read_write buffer: word i = i + 1 (as the buffer's storage type reads it back)
      onLaunch: (args, mem) => {
        for (const p of args) {
          const b = mem.get(p)!;
          const dv = new DataView(b.buffer);
          for (let i = 0; i + 4 <= b.byteLength; i += 4) if (dv.getUint32(i, true) === 0) dv.setUint32(i, i / 4 + 1, true);
        }
      },
    });
    const dev = CudaDevice.withAddon(rec.addon);
    expect(dev.arch).toBe("sm_90");
    const res = await runProgramCuda(prog, dev, inputs, {}, { requires: tome.graph.requires });
    const calls = rec.calls;
    const img = calls.find((c) => c[0] === "moduleLoad")![1] as Uint8Array;
    expect(Buffer.from(img.subarray(0, 4)).toString("latin1")).toBe("\x7fELF");
    const m = emitCudaModule(prog);
    expect(calls.filter((c) => c[0] === "getFunction").map((c) => c[1])).toEqual(m.kernels.map((k) => k.name));
    const sizes = bufferSizes(prog, res.dims);
    const allocs = calls.filter((c) => c[0] === "memAlloc");
    expect(allocs.map((c) => c[1])).toEqual(sizes.map((n) => Math.max(1, n) * 4));
    const ptr = allocs.map((c) => c[2] as bigint);
    for (const p of ptr) expect(calls.findIndex((c) => c[0] === "memset" && c[1] === p && c[2] === 0)).toBeLessThan(calls.findIndex((c) => c[0] === "launch"));
    for (const inp of prog.inputs) {
      const up = calls.find((c) => c[0] === "memcpyHtoD" && c[1] === ptr[inp.buffer]);
      expect(up, inp.name).toBeDefined();
      expect([...(up![2] as Uint8Array)]).toEqual([...encodeBuffer(inp.dtype, inputs[inp.name]!.data)]);
    }
    const plan = planCudaSteps(prog, m, res.dims);
    const launched = calls.filter((c) => c[0] === "launch");
    const want = plan.filter((s) => s.op === "launch").map((s) => ["launch", s.name, [...s.grid], [...s.block], 0, s.args.map((a) => ptr[a]), [...s.uniforms]]);
    expect(launched).toEqual(want);
    expect(res.launches).toBe(want.length);
    // outputs decoded per dtype from the marker pattern (f32 bits i + 1, i32 i + 1)
    prog.outputs.forEach((o, j) => {
      const got = res.outputs[j]!;
      expect(got.dtype).toBe(o.dtype);
      expect(got.data.length).toBe(sizes[o.buffer]);
      const w = new Uint32Array(Array.from({ length: 3 }, (_, i) => i + 1));
      const expect3 = o.dtype === "i32" ? [1, 2, 3] : Array.from(new Float32Array(w.buffer));
      expect(Array.from(got.data.slice(0, 3))).toEqual(expect3);
    });
    expect(res.errorFlag).toBe(true); // the marker wrote 1 into the flag buffer too, and it was read back
    expect(res.outputs[0]!.shape).toEqual([dims.B, dims.N! - 8, dims.C]);
    // everything released
    expect(rec.mem.size).toBe(0);
    expect(calls.filter((c) => c[0] === "moduleUnload")).toEqual([["moduleUnload", 42n]]);
  }, 120_000);

  it("timing: inputs restored before every replay, outside the events; median of the samples", async () => {
    const rec = recordingAddon();
    const res = await runProgramCuda(prog, CudaDevice.withAddon(rec.addon), inputs, {}, { timing: { warmup: 1, reps: 3 } });
    expect(res.timing).toEqual({ medianMs: 0.25, samplesMs: [0.25, 0.25, 0.25] });
    expect(res.errorFlag).toBe(false);
    const seq = rec.calls.map((c) => c[0]);
    const first = seq.indexOf("eventRecord");
    const perRep = plan(prog).length;
    // each timed replay: HtoD uploads, flag memset, eventRecord, launches, eventRecord, eventSynchronize
    for (let r = 0, i = first; r < 3; r++) {
      expect(seq.slice(i, i + 1 + perRep + 2)).toEqual(["eventRecord", ...Array(perRep).fill("launch"), "eventRecord", "eventSynchronize"]);
      expect(seq[i - 1]).toBe("memset");
      expect(seq[i - 2]).toBe("memcpyHtoD");
      i = seq.indexOf("eventRecord", i + perRep + 2);
    }
    expect(rec.mem.size).toBe(0);
    expect(seq.filter((s) => s === "eventDestroy")).toHaveLength(2);
  }, 120_000);

  it("a failing launch is a CudaRunError naming the kernel and the driver error; nothing leaks", async () => {
    const rec = recordingAddon({ failLaunch: 1 });
    const err = await runProgramCuda(prog, CudaDevice.withAddon(rec.addon), inputs).catch((e) => e);
    expect(err).toBeInstanceOf(CudaRunError);
    expect(err.message).toMatch(/^launching tome_merge_\w+ \(grid \d+×\d+×\d+, block \d+×\d+×\d+\): cuLaunchKernel: CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES/);
    expect(rec.mem.size).toBe(0);
    expect(rec.calls.filter((c) => c[0] === "moduleUnload")).toHaveLength(1);
  }, 120_000);

  it("inputs that do not fit are a CudaRunError before anything is allocated", async () => {
    const rec = recordingAddon();
    const bad = { ...inputs, x: { ...inputs.x!, shape: [1, 2, 3] } };
    await expect(runProgramCuda(prog, CudaDevice.withAddon(rec.addon), bad)).rejects.toThrow(CudaRunError);
    expect(rec.calls.filter((c) => c[0] === "memAlloc")).toHaveLength(0);
  });
});

const plan = (prog: Parameters<typeof planCudaSteps>[0]) => planCudaSteps(prog, emitCudaModule(prog), defaultDims(tome.graph, tome.dims, 4)).filter((s) => s.op === "launch");
