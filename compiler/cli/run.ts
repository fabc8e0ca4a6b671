/** `attnc run --backend interp`: inputs from .npy (or random), the reference interpreter, outputs to .npy. */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Diagnostics } from "../diagnostics/messages.ts";
import { dimVars } from "../graph/dim.ts";
import { DiagnosticBag, codeString, formatDiagnostic } from "../diagnostics/diagnostic.ts";
import type { Span } from "../diagnostics/source.ts";
import type { DType } from "../graph/dtype.ts";
import type { Graph } from "../graph/node.ts";
import { defaultDims, interpret, randomInputs, InterpError, type HostTensor } from "../graph/interp.ts";
import { NpyError, readNpyAsF64, writeNpy, type NpyWriteDtype } from "../../runtime/npy.ts";
import type { Cli } from "./args.ts";
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

export async function runInterp(graph: Graph, cli: RunCli, out: NodeJS.WritableStream, err: NodeJS.WritableStream, diagnostics: object[] = []): Promise<number> {
  let inputs: Record<string, HostTensor>;
  const dims: Record<string, number> = { ...cli.dims };
  if (cli.inputs) {
    inputs = {};
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
  } else {
    for (const inp of graph.inputs)
      for (const [k, v] of Object.entries(defaultDims(graph, dims, DEFAULT_DIM))) dims[k] = v;
    inputs = randomInputs(graph, dims, cli.seed);
  }
  let res;
  try {
    res = interpret(graph, inputs, { dims });
  } catch (e) {
    if (e instanceof InterpError) {
      // input problems carry their code; anything else the interpreter rejects is a run-time error
      const m = e.message;
      const code = /^input '[^']*': expected dtype/.test(m) ? 5004 : /^missing input/.test(m) ? 5002 : /^input '/.test(m) ? 5003 : undefined;
      err.write(code === undefined ? `error (run time): ${m}\n` : `error ${codeString(code)}: ${m}\n`);
      return 1;
    }
    throw e;
  }
  const summary = graph.outputNames.map((name, i) => {
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
    return { name, dtype: t.dtype, shape: t.shape, min: n ? min : null, max: n ? max : null, mean: n ? sum / n : null, nan };
  });
  if (cli.outputs) {
    io("write", cli.outputs, () => mkdirSync(cli.outputs!, { recursive: true }));
    graph.outputNames.forEach((name, i) => {
      const t = res.outputs[i]!;
      const path = join(cli.outputs!, `${name}.npy`);
      io("write", path, () => writeFileSync(path, writeNpy(t.shape, t.data, WRITE_AS[t.dtype])));
    });
  }
  if (cli.json) out.write(JSON.stringify({ diagnostics, graph: graph.name, dims: res.dims, outputs: summary, errorFlag: res.errorFlag }, null, 2) + "\n");
  else {
    out.write(`graph ${graph.name} on interp (dims: ${Object.entries(res.dims).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}${cli.inputs ? "" : `, random inputs, seed ${cli.seed}`})\n`);
    for (const s of summary) {
      const f = (x: number | null) => (x === null ? "-" : Number(x.toPrecision(6)).toString());
      out.write(`  ${s.name}: ${s.dtype}[${s.shape.join(", ")}]  min ${f(s.min)}  max ${f(s.max)}  mean ${f(s.mean)}${s.nan ? `  NaN ${s.nan}` : ""}\n`);
    }
    if (cli.outputs) out.write(`wrote ${graph.outputNames.map((n) => join(cli.outputs!, `${n}.npy`)).join(", ")}\n`);
  }
  if (res.errorFlag) {
    const bag = new DiagnosticBag();
    for (const e of res.errors) {
      const span = graph.cx.origin.get(e.node)?.[0] as Span | undefined;
      bag.add(Diagnostics.Index_out_of_range_at_run_time_0, span, [`'${e.node.op}' (${e.message})`]);
    }
    for (const d of bag.sorted().slice(0, 10)) err.write(formatDiagnostic(d) + "\n");
    return 1;
  }
  return 0;
}
