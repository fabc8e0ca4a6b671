/**
 * cuda-emu: runs the CUDA a Program compiles to on the CPU, for machines without a GPU. The
 * program's module (backends/cuda/module.ts: one .cu and its launch-helper header) is compiled as
 * host C++ by g++ together with native/emu/attnc_emu.h and a generated main, which reads dims and
 * buffer contents from a binary file, runs the program's steps through the header's `P_run`
 * (launches, copies, loops) with the emulator's launcher, and writes the requested buffers back.
 * Binaries are cached by a hash of their sources (node_modules/.cache/attnc-emu, else the OS temp
 * directory; ATTNC_EMU_CACHE overrides), so a program compiles once.
 *
 * Kernels that use __syncthreads or shared memory run with one fiber per thread, and (unless
 * checkBarriers is false) twice — threads of each barrier round in order, then in reverse — with
 * the results compared: a kernel whose result depends on the thread order has a missing barrier
 * (EmuError names the kernel and the first differing element).
 *
 * Results have the shape of the WebGPU backend's runProgram result, so the two compare with the
 * interpreter the same way.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { asVar, evalDim, printDim, type Dim } from "../../compiler/graph/dim.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import type { DivisibilityRequirement } from "../../compiler/graph/node.ts";
import type { Capability, KType } from "../../compiler/kernel/ir.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import { roundBF16, roundF16 } from "../../compiler/util/float16.ts";
import type { HostArray, RunResult } from "../host.ts";
import { CUDA_STORAGE } from "../../backends/cuda/dialect.ts";
import { cIdent as cIdentLocal, emitCudaModule, type CudaModule } from "../../backends/cuda/module.ts";

export type { HostArray } from "../host.ts";
/** The emulator's result has the shape of every runtime's. */
export type EmuRunResult = RunResult;

/** Inputs or dims that do not fit the program. */
export class EmuInputError extends Error {}
/** The emulator could not build or run the program, or a kernel failed a check (e.g. a missing barrier). */
export class EmuError extends Error {}

export interface EmuOptions {
  /** Divisibility requirements of the graph (Graph.requires), checked when dims are bound. */
  readonly requires?: readonly DivisibilityRequirement[];
  /** Run barrier kernels in both thread orders and compare (default true). */
  readonly checkBarriers?: boolean;
  /** Capabilities kernel variants may use (default: the CUDA backend's, CUDA_CAPS; [] runs the scalar kernels). */
  readonly caps?: readonly Capability[];
  /** Kill the emulator after this many ms (default 300000). */
  readonly timeoutMs?: number;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
export const EMU_HEADER_DIR = path.join(ROOT, "native/emu");

/** The C++ flags the emulator compiles with (-fwrapv: i32 arithmetic wraps as the kernel IR says). */
export const EMU_CXXFLAGS = ["-std=c++17", "-O1", "-fwrapv", "-ffp-contract=off", "-fno-strict-aliasing", "-pthread"];

export function cudaInclude(): string | undefined {
  for (const root of [process.env.CUDA_PATH, process.env.CUDA_HOME, "/usr/local/cuda"]) {
    if (root && existsSync(path.join(root, "include", "cuda_fp16.h"))) return path.join(root, "include");
  }
  return undefined;
}

function cacheDir(): string {
  if (process.env.ATTNC_EMU_CACHE) return process.env.ATTNC_EMU_CACHE;
  const nm = path.join(ROOT, "node_modules");
  return existsSync(nm) ? path.join(nm, ".cache", "attnc-emu") : path.join(os.tmpdir(), "attnc-emu");
}

const modules = new WeakMap<Program, Map<string, CudaModule>>();
function moduleOf(prog: Program, caps?: readonly Capability[]): CudaModule {
  let byCaps = modules.get(prog);
  if (!byCaps) modules.set(prog, (byCaps = new Map()));
  const key = caps ? caps.join(",") : "default";
  let m = byCaps.get(key);
  if (!m) byCaps.set(key, (m = emitCudaModule(prog, caps ? { caps } : {})));
  return m;
}

const CT: Record<KType, string> = CUDA_STORAGE;

/** The generated main of the emulator binary for a module. */
export function emuMainSource(m: CudaModule): string {
  const P = m.prefix;
  const cases: string[] = [];
  m.kernels.forEach((mk, ki) => {
    const k = mk.kernel;
    const ptrs = k.buffers.map((b, i) => `    ${b.access === "read" ? "const " : ""}${CT[b.t]}* a${i} = (${b.access === "read" ? "const " : ""}${CT[b.t]}*)ptr(${i});`);
    const writable = k.buffers.map((b, i) => ({ b, i })).filter((x) => x.b.access === "read_write");
    const spans = writable.map(({ i }) => `{ (void*)c->buf[(size_t)L->args[${i}]].data(), c->buf[(size_t)L->args[${i}]].size() * 4, L->args[${i}] }`);
    cases.push(
      `  case ${ki}: {`,
      `    ${k.name}_uniforms u;`,
      `    static_assert(sizeof u == ${4 * (k.uniforms.length + 1)}, "uniform block layout");`,
      "    memcpy(&u, L->uniforms, sizeof u);",
      ...ptrs,
      `    auto f = [&]() { ${k.name}(${[...k.buffers.map((_, i) => `a${i}`), "u"].join(", ")}); };`,
      mk.barrier
        ? `    if (c->check) { std::vector<attnc_emu::Span> w = { ${spans.join(", ")} }; rc = attnc_emu::run_checked("${k.name}", g, b, true, w, f); }\n    else rc = attnc_emu::launch("${k.name}", g, b, true, false, f);`
        : `    rc = attnc_emu::launch("${k.name}", g, b, false, false, f);`,
      "    break;",
      "  }",
    );
  });
  return [
    `// attnc cuda-emu main for program '${m.prefix}' (generated).`,
    '#include "attnc_emu.h"',
    `#include "${m.cuFile}"`,
    `#include "${m.headerFile}"`,
    "",
    "struct Ctx {",
    "  std::vector<std::vector<uint32_t>> buf;",
    "  bool check = true;",
    "  uint64_t launches = 0;",
    "};",
    "",
    `static int launch_cb(void* vc, const ${P}_launch* L) {`,
    "  Ctx* c = (Ctx*)vc;",
    "  attnc_emu_dim3 g = { L->grid[0], L->grid[1], L->grid[2] };",
    "  attnc_emu_dim3 b = { L->block[0], L->block[1], L->block[2] };",
    "  auto ptr = [&](int i) -> void* { return (void*)c->buf[(size_t)L->args[i]].data(); };",
    "  (void)ptr;",
    "  int rc = 0;",
    "  c->launches++;",
    "  switch (L->kernel) {",
    ...cases,
    "  default:",
    '    snprintf(attnc_emu::error_msg, sizeof attnc_emu::error_msg, "unknown kernel index %d", L->kernel);',
    "    return 1;",
    "  }",
    "  return rc;",
    "}",
    "",
    "static int copy_cb(void* vc, int from, int to, int64_t n) {",
    "  Ctx* c = (Ctx*)vc;",
    "  if ((size_t)n > c->buf[(size_t)from].size() || (size_t)n > c->buf[(size_t)to].size()) {",
    '    snprintf(attnc_emu::error_msg, sizeof attnc_emu::error_msg, "copy of %lld elements from buffer %d to %d is out of range", (long long)n, from, to);',
    "    return 1;",
    "  }",
    "  memmove(c->buf[(size_t)to].data(), c->buf[(size_t)from].data(), (size_t)n * 4);",
    "  return 0;",
    "}",
    "",
    'static void die(const char* m) { fprintf(stderr, "attnc-emu: %s\\n", m); exit(3); }',
    'static void rd(FILE* f, void* p, size_t n) { if (n && fread(p, 1, n, f) != n) die("truncated input file"); }',
    "",
    "int main(int argc, char** argv) {",
    '  if (argc != 3) die("usage: emu INPUT OUTPUT");',
    '  FILE* in = fopen(argv[1], "rb");',
    '  if (!in) die("cannot open the input file");',
    "  char magic[8];",
    "  rd(in, magic, 8);",
    '  if (memcmp(magic, "ATEMUIN1", 8) != 0) die("bad input file");',
    "  uint32_t nd = 0;",
    "  rd(in, &nd, 4);",
    `  if (nd != ${P}_NUM_DIMS) die("wrong number of dims");`,
    "  int64_t dv[64] = { 0 };",
    '  if (nd > 64) die("too many dims");',
    "  rd(in, dv, 8 * (size_t)nd);",
    `  ${P}_dims d;`,
    "  memset(&d, 0, sizeof d);",
    ...m.dims.map((name, i) => `  d.${cIdentLocal(name)} = dv[${i}];`),
    "  uint32_t flags = 0, nb = 0;",
    "  rd(in, &flags, 4);",
    "  rd(in, &nb, 4);",
    `  if (nb != ${P}_NUM_BUFFERS) die("wrong number of buffers");`,
    "  Ctx c;",
    "  c.check = (flags & 1u) != 0;",
    "  c.buf.resize(nb);",
    "  for (uint32_t i = 0; i < nb; i++) {",
    `    int64_t size = ${P}_buffer_elements(&d, (int)i);`,
    '    if (size < 0) die("a buffer size is negative");',
    "    c.buf[i].assign((size_t)size, 0u);",
    "    int64_t given = 0;",
    "    rd(in, &given, 8);",
    "    if (given >= 0) {",
    '      if (given != size) die("an input buffer has the wrong size");',
    "      rd(in, c.buf[i].data(), (size_t)given * 4);",
    "    }",
    "  }",
    "  uint32_t nout = 0;",
    "  rd(in, &nout, 4);",
    "  std::vector<uint32_t> outs(nout);",
    "  rd(in, outs.data(), 4 * (size_t)nout);",
    "  fclose(in);",
    `  ${P}_ops ops = { &c, launch_cb, copy_cb };`,
    `  if (${P}_run(&d, &ops) != 0) die(attnc_emu::error_msg[0] ? attnc_emu::error_msg : "a step failed");`,
    '  FILE* out = fopen(argv[2], "wb");',
    '  if (!out) die("cannot open the output file");',
    '  fwrite("ATEMUOUT", 1, 8, out);',
    "  fwrite(&c.launches, 8, 1, out);",
    "  fwrite(&nout, 4, 1, out);",
    "  for (uint32_t j = 0; j < nout; j++) {",
    '    if (outs[j] >= nb) die("bad output buffer id");',
    "    const std::vector<uint32_t>& v = c.buf[outs[j]];",
    "    uint64_t n = v.size();",
    "    fwrite(&n, 8, 1, out);",
    "    if (n) fwrite(v.data(), 4, n, out);",
    "  }",
    '  if (fclose(out) != 0) die("cannot write the output file");',
    "  return 0;",
    "}",
    "",
  ].join("\n");
}

const run = (file: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
      if (e && typeof e.code === "string") resolve({ code: -1, signal: null, stdout: String(stdout), stderr: `${e.message}` });
      else resolve({ code: e ? (typeof e.code === "number" ? e.code : null) : 0, signal: e?.signal ?? null, stdout: String(stdout), stderr: String(stderr) });
    });
  });

export interface EmuBinary {
  readonly module: CudaModule;
  /** The compiled emulator. */
  readonly exe: string;
  /** Whether this call compiled it (false: found in the cache). */
  readonly compiled: boolean;
  readonly compileMs: number;
}

const building = new Map<string, Promise<EmuBinary>>();

/** Compiles (or finds in the cache) the emulator binary of a program. */
export async function buildEmu(prog: Program, caps?: readonly Capability[]): Promise<EmuBinary> {
  const m = moduleOf(prog, caps);
  const main = emuMainSource(m);
  const header = readFileSync(path.join(EMU_HEADER_DIR, "attnc_emu.h"), "utf8");
  const inc = cudaInclude();
  const hash = createHash("sha256")
    .update([m.cu, m.header, main, header, EMU_CXXFLAGS.join(" "), inc ?? "", process.arch].join("\u0000"))
    .digest("hex")
    .slice(0, 24);
  const dir = cacheDir();
  const exe = path.join(dir, `${m.prefix.slice(0, 40)}-${hash}`);
  if (existsSync(exe)) return { module: m, exe, compiled: false, compileMs: 0 };
  const pending = building.get(exe);
  if (pending) return pending;
  const p = (async (): Promise<EmuBinary> => {
    const t0 = performance.now();
    mkdirSync(dir, { recursive: true });
    const src = mkdtempSync(path.join(dir, "src-"));
    try {
      writeFileSync(path.join(src, m.cuFile), m.cu);
      writeFileSync(path.join(src, m.headerFile), m.header);
      writeFileSync(path.join(src, "main.cpp"), main);
      const tmp = path.join(src, "emu");
      const args = [...EMU_CXXFLAGS, "-I", EMU_HEADER_DIR, ...(inc ? ["-isystem", inc] : []), path.join(src, "main.cpp"), "-o", tmp];
      const r = await run(process.env.CXX || "g++", args, 300_000);
      if (r.code !== 0) {
        const needsFp16 = /cuda_(fp16|bf16)\.h/.test(r.stderr) && !inc;
        throw new EmuError(
          `cuda-emu: g++ failed to compile program '${prog.name}'${needsFp16 ? " (its f16/bf16 casts need cuda_fp16.h: set CUDA_PATH to a CUDA toolkit)" : ""}:\n${r.stderr.split("\n").slice(0, 30).join("\n")}`,
        );
      }
      renameSync(tmp, exe);
    } finally {
      if (!process.env.ATTNC_EMU_KEEP) rmSync(src, { recursive: true, force: true });
    }
    return { module: m, exe, compiled: true, compileMs: performance.now() - t0 };
  })();
  building.set(exe, p);
  try {
    return await p;
  } finally {
    building.delete(exe);
  }
}

const fmt = (s: readonly (number | string)[]) => `[${s.join(", ")}]`;

/** Binds dims from input shapes (an axis that is exactly one dim variable binds it) and checks the inputs. */
export function bindProgramDims(
  prog: Program,
  inputs: Record<string, HostArray>,
  given: Record<string, number> = {},
  requires: readonly DivisibilityRequirement[] = [],
): Record<string, number> {
  const env: Record<string, number> = {};
  for (const [k, v] of Object.entries(given)) {
    if (!Number.isInteger(v) || v < 0) throw new EmuInputError(`dim ${k} = ${v} is not a non-negative integer`);
    env[k] = v;
  }
  for (const k of Object.keys(inputs))
    if (!prog.inputs.some((i) => i.name === k)) throw new EmuInputError(`unknown input '${k}'; the program's inputs are ${prog.inputs.map((i) => `'${i.name}'`).join(", ") || "none"}`);
  for (const inp of prog.inputs) {
    const t = inputs[inp.name];
    if (!t) throw new EmuInputError(`input '${inp.name}' (${inp.dtype}${fmt(inp.shape.map(printDim))}) is missing`);
    if (t.dtype !== inp.dtype) throw new EmuInputError(`input '${inp.name}': expected dtype ${inp.dtype}, got ${t.dtype}`);
    if (t.shape.length !== inp.shape.length) throw new EmuInputError(`input '${inp.name}' has shape ${fmt(t.shape)}, expected ${fmt(inp.shape.map(printDim))}`);
    inp.shape.forEach((d, i) => {
      const v = asVar(d);
      if (v !== undefined && env[v] === undefined) env[v] = t.shape[i]!;
    });
  }
  for (const inp of prog.inputs) {
    const t = inputs[inp.name]!;
    inp.shape.forEach((d, i) => {
      const want = evalDim(d, env);
      if (want !== t.shape[i]) throw new EmuInputError(`input '${inp.name}' has shape ${fmt(t.shape)}, expected ${fmt(inp.shape.map(printDim))} (${printDim(d)} = ${want ?? "unbound"})`);
    });
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new EmuInputError(`input '${inp.name}': ${t.data.length} values for shape ${fmt(t.shape)}`);
  }
  for (const r of requires) {
    const v = evalDim(r.dim, env);
    if (v !== undefined && v % r.divisor !== 0) throw new EmuInputError(`${r.what} needs ${printDim(r.dim)} = ${v} to be divisible by ${r.divisor}`);
  }
  return env;
}

/** Host values as the device's 4-byte words. */
export function encodeBuffer(dtype: DType, data: ArrayLike<number>): Uint8Array {
  const n = data.length;
  const buf = new ArrayBuffer(n * 4);
  const dv = new DataView(buf);
  for (let i = 0; i < n; i++) {
    const x = data[i]!;
    switch (dtype) {
      case "f32":
        dv.setFloat32(i * 4, x, true);
        break;
      case "f16":
        dv.setFloat32(i * 4, roundF16(x), true);
        break;
      case "bf16":
        dv.setFloat32(i * 4, roundBF16(x), true);
        break;
      case "i32":
        dv.setInt32(i * 4, x | 0, true);
        break;
      case "u32":
        dv.setUint32(i * 4, x >>> 0, true);
        break;
      case "bool":
        dv.setUint32(i * 4, x ? 1 : 0, true);
        break;
    }
  }
  return new Uint8Array(buf);
}

function decodeBuffer(dtype: DType, bytes: Uint8Array): Float64Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / 4;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = dtype === "i32" ? dv.getInt32(i * 4, true) : dtype === "u32" || dtype === "bool" ? dv.getUint32(i * 4, true) : dv.getFloat32(i * 4, true);
  return out;
}

/** Runs a lowered Program on the CPU through its CUDA code; outputs like the WebGPU runProgram. */
export async function runProgramEmu(
  prog: Program,
  inputs: Record<string, HostArray>,
  given: Record<string, number> = {},
  opts: EmuOptions = {},
): Promise<EmuRunResult> {
  const dims = bindProgramDims(prog, inputs, given, opts.requires);
  const bin = await buildEmu(prog, opts.caps);
  const m = bin.module;
  const ev = (d: Dim, what: string): number => {
    const v = evalDim(d, dims);
    if (v === undefined) throw new EmuInputError(`${what}: ${printDim(d)} has no value (pass its dims explicitly)`);
    if (v < 0) throw new EmuInputError(`${what}: ${printDim(d)} = ${v} is negative`);
    return v;
  };
  for (const name of m.dims) if (dims[name] === undefined) throw new EmuInputError(`dim '${name}' is not determined by the inputs; pass it explicitly`);
  const sizes = prog.buffers.map((b) => ev(b.numel, `size of buffer ${b.id}`));

  // input file
  const parts: Uint8Array[] = [];
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return b;
  };
  const i64 = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt(v), true);
    return b;
  };
  parts.push(new TextEncoder().encode("ATEMUIN1"), u32(m.dims.length), ...m.dims.map((d) => i64(dims[d]!)));
  parts.push(u32(opts.checkBarriers === false ? 0 : 1), u32(prog.buffers.length));
  const byBuffer = new Map<number, Uint8Array>();
  for (const inp of prog.inputs) byBuffer.set(inp.buffer, encodeBuffer(inp.dtype, inputs[inp.name]!.data));
  for (const b of prog.buffers) if (b.values && b.values.length) byBuffer.set(b.id, encodeBuffer(b.dtype, b.values));
  prog.buffers.forEach((b, i) => {
    const data = byBuffer.get(b.id);
    if (data && data.byteLength !== sizes[i]! * 4) throw new EmuInputError(`buffer ${b.id}: ${data.byteLength / 4} values for ${sizes[i]} elements`);
    parts.push(i64(data ? sizes[i]! : -1));
    if (data) parts.push(data);
  });
  const outIds = [...prog.outputs.map((o) => o.buffer), prog.flag];
  parts.push(u32(outIds.length), ...outIds.map(u32));

  const dir = mkdtempSync(path.join(os.tmpdir(), "attnc-emu-run-"));
  try {
    const inFile = path.join(dir, "in.bin");
    const outFile = path.join(dir, "out.bin");
    writeFileSync(inFile, Buffer.concat(parts));
    const r = await run(bin.exe, [inFile, outFile], opts.timeoutMs ?? 300_000);
    if (r.code !== 0) {
      const msg = r.stderr.trim().replace(/^attnc-emu: /, "") || (r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`);
      throw new EmuError(`cuda-emu: program '${prog.name}': ${msg}`);
    }
    const raw = readFileSync(outFile);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (raw.subarray(0, 8).toString("latin1") !== "ATEMUOUT") throw new EmuError("cuda-emu: bad output file");
    const launches = Number(dv.getBigUint64(8, true));
    const nout = dv.getUint32(16, true);
    let off = 20;
    const bufs: Uint8Array[] = [];
    for (let j = 0; j < nout; j++) {
      const n = Number(dv.getBigUint64(off, true));
      off += 8;
      bufs.push(new Uint8Array(raw.buffer, raw.byteOffset + off, n * 4));
      off += n * 4;
    }
    const outputs = prog.outputs.map((o, j) => ({
      dtype: o.dtype,
      shape: o.shape.map((d) => ev(d, `shape of output ${o.name}`)),
      data: decodeBuffer(o.dtype, bufs[j]!),
    }));
    const flag = new DataView(bufs[nout - 1]!.buffer, bufs[nout - 1]!.byteOffset, 4).getUint32(0, true) !== 0;
    return { outputs, dims, errorFlag: flag, launches };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
