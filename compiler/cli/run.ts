/**
 * `attnc run`: inputs from .npy (or random), one backend, outputs to .npy. Both backends share
 * the input handling, the output files and the summary:
 * - `--backend interp`: the float64 reference interpreter;
 * - `--backend webgpu`: the optimized graph lowered to WGSL kernels and run on WebGPU (Dawn in
 *   Node); with `--check`, the interpreter runs on the same inputs and each output is compared
 *   under the tolerance policy (compiler/tolerance.ts);
 * - `--backend cuda-emu`: the emitted CUDA compiled as host C++ and run on the CPU;
 * - `--backend cuda`: the emitted CUDA compiled by nvcc for the device and run through the native
 *   addon (runtime/cuda/execute.ts); without a driver or device, one ATTN5006 line and exit 1.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Diagnostics } from "../diagnostics/messages.ts";
import { DiagnosticBag, codeString, formatDiagnostic } from "../diagnostics/diagnostic.ts";
import type { Span } from "../diagnostics/source.ts";
import type { DType } from "../graph/dtype.ts";
import type { Graph } from "../graph/node.ts";
import type { Node } from "../graph/ops.ts";
import { defaultDims, interpret, randomInputs, InterpError, type HostTensor, type InterpResult } from "../graph/interp.ts";
import { compareOutput, describeComparison, outputTolerance } from "../tolerance.ts";
import { NpyError, readNpyAsF64, writeNpy, type NpyWriteDtype } from "../../runtime/npy.ts";
import { WebGpuDevice, WebGpuUnavailable } from "../../runtime/webgpu/device.ts";
import { RunError, runProgram } from "../../runtime/webgpu/execute.ts";
import { EmuError, EmuInputError, runProgramEmu } from "../../runtime/cuda/emu.ts";
import { CudaDevice, CudaUnavailableError, cudaStatus } from "../../runtime/cuda/device.ts";
import { CudaRunError, runProgramCuda } from "../../runtime/cuda/execute.ts";
import type { Program } from "../kernel/program.ts";
import type { Cli } from "./args.ts";
import { defaultCaps, lowerForTarget } from "./lowering.ts";
import { UserError, io } from "./main.ts";

type RunCli = Extract<Cli, { command: "run" }>;

const DEFAULT_DIM = 8;

/** Which .npy dtypes may feed an input of each dtype. */
const ACCEPT: Record<DType, readonly string[]> = {
  f32: ["f4", "f8", "f2"],
  f16: ["f2", "f4", "f8"],
  bf16: ["f4", "f8", "f2"],
  i32: ["i4", "i8", "i2", "i1", "u1", "u2"],
  u32: ["u4", "u8", "u2", "u1"],
  bool: ["b1", "u1"],
};

const WRITE_AS: Record<DType, NpyWriteDtype> = { f32: "f4", f16: "f2", bf16: "bf16", i32: "i4", u32: "u4", bool: "b1" };

interface Outputs {
  readonly outputs: readonly { readonly dtype: DType; readonly shape: readonly number[]; readonly data: Float64Array }[];
  readonly dims: Record<string, number>;
}

/** The run's inputs: read from --inputs DIR, or random (seeded) with --dim sizes (default 8). */
export function prepareInputs(graph: Graph, cli: RunCli): { inputs: Record<string, HostTensor>; dims: Record<string, number> } {
  const dims: Record<string, number> = { ...cli.dims };
  if (!cli.inputs) {
    Object.assign(dims, defaultDims(graph, dims, DEFAULT_DIM));
    return { inputs: randomInputs(graph, dims, cli.seed), dims };
  }
  const inputs: Record<string, HostTensor> = {};
  if (!existsSync(cli.inputs) || !statSync(cli.inputs).isDirectory())
    throw new UserError(Diagnostics.Cannot_read_0_1, [cli.inputs, existsSync(cli.inputs) ? "not a directory" : "no such directory"]);
  for (const inp of graph.inputs) {
    const name = inp.arg.name;
    const path = join(cli.inputs, `${name}.npy`);
    if (!existsSync(path)) throw new UserError(Diagnostics.Input_0_missing, [name], `expected the file ${path} (${inp.dtype}[${inp.shape.join(", ")}])`);
    let arr;
    try {
      arr = readNpyAsF64(new Uint8Array(io("read", path, () => readFileSync(path))));
    } catch (e) {
      if (e instanceof NpyError) throw new UserError(Diagnostics.Cannot_read_0_1, [path, e.message]);
      throw e;
    }
    const dt = inp.dtype as DType;
    if (!ACCEPT[dt].includes(arr.dtype)) throw new UserError(Diagnostics.Input_0_dtype_1_expected_2, [name, arr.dtype, dt]);
    inputs[name] = { dtype: dt, shape: arr.shape, data: arr.data };
  }
  return { inputs, dims };
}

/** Runs the interpreter; an InterpError becomes its error line (input problems carry their code). */
function runReference(graph: Graph, inputs: Record<string, HostTensor>, dims: Record<string, number>, err: NodeJS.WritableStream): InterpResult | undefined {
  try {
    return interpret(graph, inputs, { dims });
  } catch (e) {
    if (e instanceof InterpError) {
      const m = e.message;
      const code = /^input '[^']*': expected dtype/.test(m) ? 5004 : /^missing input/.test(m) ? 5002 : /^input '/.test(m) ? 5003 : undefined;
      err.write(code === undefined ? `error (run time): ${m}\n` : `error ${codeString(code)}: ${m}\n`);
      return undefined;
    }
    throw e;
  }
}

function summarize(graph: Graph, res: Outputs) {
  return graph.outputNames.map((name, i) => {
    const t = res.outputs[i]!;
    let min = Infinity, max = -Infinity, sum = 0, nan = 0;
    for (const v of t.data) {
      if (Number.isNaN(v)) nan++;
      else {
        min = Math.min(min, v);
        max = Math.max(max, v);
        sum += v;
      }
    }
    const n = t.data.length - nan;
    return { name, dtype: t.dtype, shape: [...t.shape], min: n ? min : null, max: n ? max : null, mean: n ? sum / n : null, nan };
  });
}

/** Writes --outputs files and prints the summary (text or the JSON object, with `extra` fields). */
function report(graph: Graph, backend: string, res: Outputs, cli: RunCli, out: NodeJS.WritableStream, json: Record<string, unknown>, lines: readonly string[] = []): void {
  const summary = summarize(graph, res);
  if (cli.outputs) {
    io("write", cli.outputs, () => mkdirSync(cli.outputs!, { recursive: true }));
    graph.outputNames.forEach((name, i) => {
      const t = res.outputs[i]!;
      const path = join(cli.outputs!, `${name}.npy`);
      io("write", path, () => writeFileSync(path, writeNpy([...t.shape], t.data, WRITE_AS[t.dtype])));
    });
  }
  if (cli.json) {
    const { diagnostics, ...rest } = json;
    out.write(JSON.stringify({ diagnostics, graph: graph.name, backend, dims: res.dims, outputs: summary, ...rest }, null, 2) + "\n");
    return;
  }
  out.write(`graph ${graph.name} on ${backend} (dims: ${Object.entries(res.dims).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}${cli.inputs ? "" : `, random inputs, seed ${cli.seed}`})\n`);
  for (const s of summary) {
    const f = (x: number | null) => (x === null ? "-" : Number(x.toPrecision(6)).toString());
    out.write(`  ${s.name}: ${s.dtype}[${s.shape.join(", ")}]  min ${f(s.min)}  max ${f(s.max)}  mean ${f(s.mean)}${s.nan ? `  NaN ${s.nan}` : ""}\n`);
  }
  for (const l of lines) out.write(l + "\n");
  if (cli.outputs) out.write(`wrote ${graph.outputNames.map((n) => join(cli.outputs!, `${n}.npy`)).join(", ")}\n`);
}

/** The interpreter's out-of-range events as ATTN5001 diagnostics at the ops' spans. */
function reportFlag(graph: Graph, errors: readonly { node: Node; message: string }[], err: NodeJS.WritableStream): void {
  const bag = new DiagnosticBag();
  for (const e of errors) {
    const span = graph.cx.origin.get(e.node)?.[0] as Span | undefined;
    bag.add(Diagnostics.Index_out_of_range_at_run_time_0, span, [`'${e.node.op}' (${e.message})`]);
  }
  for (const d of bag.sorted().slice(0, 10)) err.write(formatDiagnostic(d) + "\n");
}

export async function runInterp(graph: Graph, cli: RunCli, out: NodeJS.WritableStream, err: NodeJS.WritableStream, diagnostics: object[] = []): Promise<number> {
  const { inputs, dims } = prepareInputs(graph, cli);
  const res = runReference(graph, inputs, dims, err);
  if (!res) return 1;
  report(graph, "interp", res, cli, out, { diagnostics, errorFlag: res.errorFlag });
  if (res.errorFlag) {
    reportFlag(graph, res.errors, err);
    return 1;
  }
  return 0;
}

/** A kernel backend: what it is called, and how it runs a lowered program (or why it cannot). */
interface KernelBackend {
  readonly name: "webgpu" | "cuda-emu" | "cuda";
  run(program: Program, graph: Graph, inputs: Record<string, HostTensor>, dims: Record<string, number>): Promise<
    { ok: true; label: string; res: { outputs: { dtype: DType; shape: number[]; data: Float64Array }[]; dims: Record<string, number>; errorFlag: boolean; launches: number } } | { ok: false; unavailable?: string; failed?: string }
  >;
}

const WEBGPU: KernelBackend = {
  name: "webgpu",
  async run(program, graph, inputs, dims) {
    let dev: WebGpuDevice;
    try {
      dev = await WebGpuDevice.open();
    } catch (e) {
      if (e instanceof WebGpuUnavailable) return { ok: false, unavailable: e.message };
      throw e;
    }
    try {
      const res = await runProgram(program, dev, inputs, dims, { requires: graph.requires });
      return { ok: true, label: `webgpu (${dev.adapterName})`, res };
    } catch (e) {
      if (e instanceof RunError) return { ok: false, failed: e.message };
      throw e;
    } finally {
      dev.destroy();
    }
  },
};

/** The emitted CUDA compiled as host C++ and run on the CPU (threads as fibers, real barriers). */
const CUDA_EMU: KernelBackend = {
  name: "cuda-emu",
  async run(program, graph, inputs, dims) {
    try {
      const res = await runProgramEmu(program, inputs, dims, { requires: graph.requires });
      return { ok: true, label: "cuda-emu (emitted CUDA on the CPU)", res };
    } catch (e) {
      if (e instanceof EmuInputError || e instanceof EmuError) return { ok: false, failed: e.message };
      throw e;
    }
  },
};

/** CUDA on a device through the native addon: the module compiled by nvcc for the device's sm, run with the driver API. */
const CUDA: KernelBackend = {
  name: "cuda",
  async run(program, graph, inputs, dims) {
    let dev: CudaDevice;
    try {
      dev = CudaDevice.open();
    } catch (e) {
      if (e instanceof CudaUnavailableError) return { ok: false, unavailable: e.message.replace(/^CUDA is unavailable: /, "") };
      throw e;
    }
    try {
      const res = await runProgramCuda(program, dev, inputs, dims, { requires: graph.requires });
      return { ok: true, label: `cuda (${res.device}, ${res.arch})`, res };
    } catch (e) {
      if (e instanceof CudaRunError) return { ok: false, failed: e.message };
      throw e;
    } finally {
      dev.destroy();
    }
  },
};

export const KERNEL_BACKENDS = { webgpu: WEBGPU, "cuda-emu": CUDA_EMU, cuda: CUDA } as const;

/** `--backend webgpu|cuda-emu|cuda [--check]`. */
export async function runKernels(graph: Graph, cli: RunCli, out: NodeJS.WritableStream, err: NodeJS.WritableStream, diagnostics: object[] = []): Promise<number> {
  const be = KERNEL_BACKENDS[cli.backend as keyof typeof KERNEL_BACKENDS];
  if (be.name === "cuda") {
    // availability first: without a driver there is nothing to lower for
    const st = cudaStatus();
    if (!st.ok) {
      err.write(`error ${codeString(Diagnostics.Backend_0_unavailable_1.code)}: Backend 'cuda' is unavailable: ${st.reason.replace(/^CUDA is unavailable: /, "")}\n`);
      return 1;
    }
  }
  const { inputs, dims } = prepareInputs(graph, cli);
  // webgpu: lowered for the adapter's real limits and features (compiler/kernel/caps.ts)
  const caps = be.name === "webgpu" ? await WebGpuDevice.probe() : undefined;
  const lowered = lowerForTarget(graph, be.name === "webgpu" ? "wgsl" : "cuda", {}, caps ?? defaultCaps(be.name === "webgpu" ? "wgsl" : "cuda"));
  if ("diagnostic" in lowered) {
    err.write(formatDiagnostic(lowered.diagnostic) + "\n");
    return 1;
  }
  const r = await be.run(lowered.program, graph, inputs, dims);
  if (!r.ok) {
    if (r.unavailable !== undefined) err.write(`error ${codeString(Diagnostics.Backend_0_unavailable_1.code)}: Backend '${be.name}' is unavailable: ${r.unavailable}\n`);
    else err.write(`error ${codeString(Diagnostics.Run_failed_on_0_1.code)}: The run on backend '${be.name}' failed: ${r.failed}\n`);
    return 1;
  }
  const res = r.res;
  const backend = r.label;
  if (!cli.check) {
    report(graph, backend, res, cli, out, { diagnostics, errorFlag: res.errorFlag, launches: res.launches });
    if (res.errorFlag) {
      err.write(`error ${codeString(Diagnostics.Index_out_of_range_at_run_time_0.code)}: A data-dependent index was out of range at run time; reads yielded 0 and writes were dropped (run with --check or --backend interp to see which op).\n`);
      return 1;
    }
    return 0;
  }
  // --check: the interpreter on the same inputs, every output under the tolerance policy
  const ref = runReference(graph, inputs, dims, err);
  if (!ref) return 1;
  const checks = graph.outputNames.map((name, i) => {
    const { dtype, tol } = outputTolerance(graph, i);
    const c = compareOutput(ref.outputs[i]!.dtype, res.outputs[i]!, ref.outputs[i]!, tol);
    return { name, ok: c.ok, maxAbs: c.maxAbs, maxRel: c.maxRel, tolerance: { dtype, rtol: tol.rtol, atolScale: tol.atolScale }, text: describeComparison(dtype, c) };
  });
  const flagOk = ref.errorFlag === res.errorFlag;
  const lines = ["check against interp:", ...checks.map((c) => `  ${c.name}: ${c.ok ? "ok  " : "FAIL"}  ${c.text}`)];
  if (!flagOk) lines.push(`  error flag: FAIL  ${be.name} ${res.errorFlag}, interp ${ref.errorFlag}`);
  report(graph, backend, res, cli, out, {
    diagnostics,
    errorFlag: res.errorFlag,
    launches: res.launches,
    check: { ok: checks.every((c) => c.ok) && flagOk, outputs: checks.map(({ text: _t, ...c }) => c), errorFlag: { [be.name]: res.errorFlag, interp: ref.errorFlag } },
  }, lines);
  let code = 0;
  for (const c of checks)
    if (!c.ok) {
      err.write(`error ${codeString(Diagnostics.Output_0_of_1_differs_2.code)}: Output '${c.name}' of backend '${be.name}' differs from the reference interpreter: ${c.text}.\n`);
      code = 1;
    }
  if (!flagOk) {
    err.write(`error ${codeString(Diagnostics.Output_0_of_1_differs_2.code)}: The error flag of backend '${be.name}' (${res.errorFlag}) differs from the reference interpreter's (${ref.errorFlag}).\n`);
    code = 1;
  }
  if (res.errorFlag) {
    reportFlag(graph, ref.errors, err);
    code = 1;
  }
  return code;
}
