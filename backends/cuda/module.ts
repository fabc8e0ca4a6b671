/**
 * A lowered Program as CUDA sources: one `.cu` translation unit with every kernel the program
 * launches (the helper prelude printed once), and a C header with everything a host needs to run
 * them without the compiler: the dims struct, buffer sizes and dtypes as functions of the dims, one
 * launch helper per launch step (grid and block from the dispatch formulas, the uniform block filled
 * from dims and loop iterations, the buffer arguments), and `P_run`, which walks the program's steps
 * (launches, copies, counted loops) calling back into the host for each launch and copy.
 *
 * Names: P = the program name made a C identifier. Kernels are `P_<kernel name>` (extern "C", so
 * PTX/cubin entry points have exactly that name), their uniform structs `P_<kernel>_uniforms`, and
 * the header's types and functions `P_dims`, `P_launch`, `P_ops`, `P_launch_<i>`, `P_run`, so the
 * sources of several programs can be combined in one binary.
 *
 * Deterministic: the same Program gives byte-identical text (kernel order is the order of first
 * launch; identical kernels are emitted once).
 */
import { dimVars, printDim, type Dim } from "../../compiler/graph/dim.ts";
import { selectVariant, type Capability, type KExpr, type KType, type Kernel, type KernelVariantKind } from "../../compiler/kernel/ir.ts";
import type { Launch, Program, Step } from "../../compiler/kernel/program.ts";
import { KernelScope, dimToK } from "../../compiler/kernel/sexpr-to-kernel.ts";
import { cudaHelpers, cudaPrelude, printCudaKernelOnly, usesBarrier } from "./dialect.ts";


export interface CudaModuleKernel {
  /** The kernel as printed (renamed to its function name). */
  readonly kernel: Kernel;
  /** The function (PTX entry) name. */
  readonly name: string;
  /** Whether it uses __syncthreads (the emulator runs such kernels with one fiber per thread). */
  readonly barrier: boolean;
  /** Bytes of __shared__ storage it declares (4 per element, 2 for packed f16/bf16 arrays). */
  readonly sharedBytes: number;
  /** Which variant of the lowered kernel this is (scalar, warp-shuffle or wmma; ir.ts Kernel.variants). */
  readonly variant: KernelVariantKind;
}

/** What the CUDA backend assumes of the device: sm_80 and newer have warp shuffles and f16/bf16 WMMA. */
export const CUDA_CAPS: readonly Capability[] = ["warp-shuffle", "wmma"];

/**
 * The capabilities of a device architecture `sm_XY`: f16 and bf16 WMMA from sm_80 (bf16 fragments
 * need it), *_sync warp shuffles from sm_30; none for anything else.
 */
export function cudaCapsForArch(arch: string): Capability[] {
  const m = /^sm_([0-9]+)[a-z]?$/.exec(arch);
  const n = m ? Number(m[1]) : 0;
  return n >= 80 ? ["warp-shuffle", "wmma"] : n >= 30 ? ["warp-shuffle"] : [];
}

export interface CudaModuleLaunch {
  /** Index into kernels. */
  readonly kernel: number;
  readonly launch: Launch;
}

export interface CudaModule {
  /** The C identifier prefix P. */
  readonly prefix: string;
  /** File names: `${prefix}.cu` and `${prefix}.h`. */
  readonly cuFile: string;
  readonly headerFile: string;
  readonly cu: string;
  readonly header: string;
  /** Kernels in order of first launch. */
  readonly kernels: readonly CudaModuleKernel[];
  /** Launch steps in program order (a launch inside a loop counts once): header helper `P_launch_<i>`. */
  readonly launches: readonly CudaModuleLaunch[];
  /** Dim variables, sorted: the fields of `P_dims`. */
  readonly dims: readonly string[];
  /** Loop ids are < numLoops (the size of the iteration array `P_run` keeps). */
  readonly numLoops: number;
}

const C_KEYWORDS = new Set(
  ("auto break case char const continue default do double else enum extern float for goto if inline int long register restrict return short " +
    "signed sizeof static struct switch typedef union unsigned void volatile while bool true false class namespace new delete this template " +
    "typename operator private public protected virtual friend using try catch throw").split(" "),
);

export const cIdent = (s: string): string => {
  let r = s.replace(/[^A-Za-z0-9_]/g, "_") || "p";
  if (/^[0-9]/.test(r)) r = `p_${r}`;
  if (C_KEYWORDS.has(r)) r += "_";
  return r;
};

const UNIFORM_KIND: Record<KType, "int" | "float"> = { f32: "float", f16: "float", bf16: "float", i32: "int", u32: "int", bool: "int" };

/** A Dim as a C int64_t expression over `d->NAME` fields (floored / and %, like the graph). */
export function dimToC(d: Dim, field: (name: string) => string = (n) => `d->${cIdent(n)}`): string {
  const e = dimToK(d, new KernelScope());
  const p = (x: KExpr): string => {
    switch (x.k) {
      case "const":
        return x.v < 0 ? `(INT64_C(${x.v}))` : `INT64_C(${x.v})`;
      case "uniform":
        return field(x.name.replace(/^d_/, ""));
      case "binary": {
        const a = p(x.a);
        const b = p(x.b);
        switch (x.op) {
          case "add":
            return `(${a} + ${b})`;
          case "sub":
            return `(${a} - ${b})`;
          case "mul":
            return `(${a} * ${b})`;
          case "div":
            return `attnc_floordiv64(${a}, ${b})`;
          case "mod":
            return `attnc_floormod64(${a}, ${b})`;
          case "min":
            return `attnc_min64(${a}, ${b})`;
          case "max":
            return `attnc_max64(${a}, ${b})`;
        }
      }
    }
    throw new Error(`dimToC: unexpected kernel expression '${x.k}' in ${printDim(d)}`);
  };
  return p(e);
}

const HOST_HELPERS = [
  "#ifndef ATTNC_HOST_HELPERS",
  "#define ATTNC_HOST_HELPERS",
  "static inline int64_t attnc_floordiv64(int64_t a, int64_t b) { if (b == 0) return 0; int64_t q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1; return q; }",
  "static inline int64_t attnc_floormod64(int64_t a, int64_t b) { if (b == 0) return 0; int64_t r = a % b; if (r != 0 && ((r < 0) != (b < 0))) r += b; return r; }",
  "static inline int64_t attnc_min64(int64_t a, int64_t b) { return a < b ? a : b; }",
  "static inline int64_t attnc_max64(int64_t a, int64_t b) { return a > b ? a : b; }",
  "static inline uint32_t attnc_f32_bits_(float f) { union { float f; uint32_t u; } x; x.f = f; return x.u; }",
  "#endif",
];

export interface CudaModuleOptions {
  /** The C identifier prefix of every name the module defines (default: the program name). */
  readonly prefix?: string;
  /** Capabilities kernel variants may use (default CUDA_CAPS; [] gives the scalar kernels). */
  readonly caps?: readonly Capability[];
}

export function emitCudaModule(prog: Program, opts: CudaModuleOptions = {}): CudaModule {
  const P = cIdent(opts.prefix ?? prog.name);
  const caps = new Set(opts.caps ?? CUDA_CAPS);
  const kernels: CudaModuleKernel[] = [];
  const byObject = new Map<Kernel, number>();
  const byText = new Map<string, number>();
  const taken = new Set<string>();
  const launches: CudaModuleLaunch[] = [];
  const allDims: Dim[] = [];
  let numLoops = 0;

  const kernelIndex = (lowered: Kernel): number => {
    const have = byObject.get(lowered);
    if (have !== undefined) return have;
    const { kernel: k, kind } = selectVariant(lowered, caps);
    // identical kernels (same text under the same name) are emitted once
    const probe = printCudaKernelOnly({ ...k, name: "K" });
    const key = `${k.name}\u0000${probe}`;
    let i = byText.get(key);
    if (i === undefined) {
      const base = `${P}_${cIdent(k.name)}`;
      let name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
      taken.add(name);
      const renamed: Kernel = { ...k, name };
      i = kernels.length;
      const sharedBytes = k.shared.reduce((a, s) => a + (s.packed && (s.t === "f16" || s.t === "bf16") ? 2 : 4) * s.size, 0);
      kernels.push({ kernel: renamed, name, barrier: usesBarrier(k) || k.shared.length > 0, sharedBytes, variant: kind });
      byText.set(key, i);
    }
    byObject.set(lowered, i);
    return i;
  };

  // ── walk the steps: kernels, launches and the body of P_run ──
  const helperDefs: string[] = [];
  const runBody: string[] = [];
  const walk = (steps: readonly Step[], depth: number): void => {
    const ind = "  ".repeat(depth);
    for (const s of steps) {
      if (s.k === "launch") {
        const ki = kernelIndex(s.kernel);
        const li = launches.length;
        launches.push({ kernel: ki, launch: s });
        helperDefs.push(...launchHelper(P, li, ki, kernels[ki]!, s, allDims));
        runBody.push(`${ind}if (${P}_launch_${li}(d, iter, &L) && (rc = ops->launch(ops->ctx, &L)) != 0) return rc;`);
      } else if (s.k === "copy") {
        const a = prog.buffers[s.from]!.numel;
        const b = prog.buffers[s.to]!.numel;
        allDims.push(a, b);
        const n = a === b ? dimToC(a) : `attnc_min64(${dimToC(a)}, ${dimToC(b)})`;
        runBody.push(`${ind}if ((n = ${n}) > 0 && (rc = ops->copy(ops->ctx, ${s.from}, ${s.to}, n)) != 0) return rc;`);
      } else {
        numLoops = Math.max(numLoops, s.loop + 1);
        allDims.push(s.n);
        runBody.push(`${ind}for (iter[${s.loop}] = 0; iter[${s.loop}] < ${dimToC(s.n)}; iter[${s.loop}]++) {`);
        walk(s.body, depth + 1);
        runBody.push(`${ind}}`);
      }
    }
  };
  walk(prog.steps, 1);

  for (const b of prog.buffers) allDims.push(b.numel);
  for (const t of [...prog.inputs, ...prog.outputs]) allDims.push(...t.shape);
  const dimSet = new Set<string>();
  for (const d of allDims) for (const v of dimVars(d)) dimSet.add(v);
  for (const l of launches) for (const u of l.launch.uniforms) if (u.kind === "dim") dimSet.add(u.name);
  const dims = [...dimSet].sort();

  // ── .cu ──
  const helpers = new Set<string>();
  for (const k of kernels) for (const h of cudaHelpers(k.kernel)) helpers.add(h);
  const cu: string[] = [
    `// attnc CUDA module for program '${prog.name}' (generated by attnc; do not edit).`,
    `// Launch helpers: ${P}.h. Storage: 4-byte elements (f16/bf16 held as float, bool as unsigned int 0/1).`,
    `// Kernels: ${kernels.map((k) => (k.variant === "scalar" ? k.name : `${k.name} (${k.variant})`)).join(", ") || "none"}.`,
    ...cudaPrelude(helpers),
  ];
  for (const k of kernels) cu.push("", printCudaKernelOnly(k.kernel).trimEnd());

  // ── .h ──
  const maxWords = Math.max(1, ...kernels.map((k) => k.kernel.uniforms.length + 1));
  const strs = (xs: readonly string[]) => (xs.length ? xs.map((x) => JSON.stringify(x)).join(", ") : "0");
  const ints = (xs: readonly number[]) => (xs.length ? xs.join(", ") : "0");
  const h: string[] = [
    `/* attnc CUDA launch helpers for program '${prog.name}' (generated by attnc; do not edit).`,
    ` * The kernels are in ${P}.cu (extern "C" entry points ${P}_*). Every buffer element is 4 bytes:`,
    " * f32/f16/bf16 as float (f16/bf16 values rounded to their precision), i32 as int, u32 as",
    " * unsigned int, bool as unsigned int 0/1. Buffers start zeroed except inputs and constants.",
    ` * To run: fill ${P}_dims, allocate ${P}_NUM_BUFFERS buffers of ${P}_buffer_elements(d, i) elements,`,
    ` * upload the inputs and constants, then ${P}_run(d, &ops): it calls ops.launch(L) for each launch`,
    " * (kernel L->kernel with grid/block/uniforms, arguments = buffers L->args[0..nargs)) and",
    " * ops.copy(from, to, elements) for each buffer copy, in program order. */",
    `#ifndef ATTNC_PROGRAM_${P}_H`,
    `#define ATTNC_PROGRAM_${P}_H`,
    "#include <stdint.h>",
    "",
    ...HOST_HELPERS,
    "",
    `typedef struct ${P}_dims { ${dims.length ? dims.map((d) => `int64_t ${cIdent(d)};`).join(" ") : "int64_t unused_;"} } ${P}_dims;`,
    `#define ${P}_NUM_DIMS ${dims.length}`,
    `static const char* const ${P}_dim_names[] = { ${strs(dims)} };`,
    `#define ${P}_NUM_BUFFERS ${prog.buffers.length}`,
    `#define ${P}_FLAG_BUFFER ${prog.flag}`,
    `#define ${P}_NUM_KERNELS ${kernels.length}`,
    `#define ${P}_NUM_LAUNCHES ${launches.length}`,
    `#define ${P}_NUM_LOOPS ${numLoops}`,
    `#define ${P}_MAX_UNIFORM_WORDS ${maxWords}`,
    `static const char* const ${P}_kernel_names[] = { ${strs(kernels.map((k) => k.name))} };`,
    `static const unsigned int ${P}_kernel_shared_bytes[] = { ${ints(kernels.map((k) => k.sharedBytes))} };`,
    `static const char* const ${P}_buffer_dtypes[] = { ${strs(prog.buffers.map((b) => b.dtype))} };`,
    `static const char* const ${P}_buffer_roles[] = { ${strs(prog.buffers.map((b) => b.role))} };`,
    `#define ${P}_NUM_INPUTS ${prog.inputs.length}`,
    `static const char* const ${P}_input_names[] = { ${strs(prog.inputs.map((i) => i.name))} };`,
    `static const int ${P}_input_buffers[] = { ${ints(prog.inputs.map((i) => i.buffer))} };`,
    `#define ${P}_NUM_OUTPUTS ${prog.outputs.length}`,
    `static const char* const ${P}_output_names[] = { ${strs(prog.outputs.map((i) => i.name))} };`,
    `static const int ${P}_output_buffers[] = { ${ints(prog.outputs.map((i) => i.buffer))} };`,
    "",
    `/* Element count of buffer i (-1 for an unknown id). */`,
    `static inline int64_t ${P}_buffer_elements(const ${P}_dims* d, int i) {`,
    "  (void)d;",
    "  switch (i) {",
    ...prog.buffers.map((b) => `    case ${b.id}: return ${dimToC(b.numel)}; /* ${b.dtype} ${b.role}${b.node ? ` ${b.node.op}#${b.node.id}` : ""}: ${printDim(b.numel)} */`),
    "    default: return -1;",
    "  }",
    "}",
    "",
    `typedef struct ${P}_launch {`,
    `  int kernel;                 /* index into ${P}_kernel_names */`,
    "  uint32_t grid[3];           /* blocks along x, y, z */",
    "  uint32_t block[3];          /* threads per block */",
    "  uint32_t shared_bytes;      /* static __shared__ bytes the kernel declares (informational) */",
    "  int nargs;                  /* buffer arguments, in kernel parameter order */",
    "  const int* args;            /* their program buffer ids */",
    "  uint32_t uniform_words;     /* 4-byte words of the uniform block, _inf included */",
    `  uint32_t uniforms[${P}_MAX_UNIFORM_WORDS]; /* the by-value uniform struct's bytes */`,
    `} ${P}_launch;`,
    "",
    `typedef struct ${P}_ops {`,
    "  void* ctx;",
    `  int (*launch)(void* ctx, const ${P}_launch* L);`,
    "  int (*copy)(void* ctx, int from, int to, int64_t elements);",
    `} ${P}_ops;`,
    "",
    ...helperDefs,
    `/* Runs the program's steps in order; returns the first nonzero callback result, or 0. Launches`,
    "   with an empty grid and empty copies are skipped. */",
    `static inline int ${P}_run(const ${P}_dims* d, const ${P}_ops* ops) {`,
    `  int64_t iter[${Math.max(1, numLoops)}] = { 0 };`,
    `  ${P}_launch L;`,
    "  int rc = 0;",
    "  int64_t n = 0;",
    "  (void)iter; (void)L; (void)rc; (void)n; (void)d;",
    ...runBody,
    "  return 0;",
    "}",
    "#endif",
  ];
  return {
    prefix: P,
    cuFile: `${P}.cu`,
    headerFile: `${P}.h`,
    cu: cu.join("\n") + "\n",
    header: h.join("\n") + "\n",
    kernels,
    launches,
    dims,
    numLoops,
  };
}

function launchHelper(P: string, li: number, ki: number, mk: CudaModuleKernel, s: Launch, allDims: Dim[]): string[] {
  const k = mk.kernel;
  const [dx, dy, dz] = k.dispatch;
  allDims.push(dx, dy, dz);
  const [bx, by, bz] = k.workgroup;
  if (s.args.length !== k.buffers.length) throw new Error(`launch of ${k.name}: ${s.args.length} buffers for ${k.buffers.length} parameters`);
  if (s.uniforms.length !== k.uniforms.length) throw new Error(`launch of ${k.name}: ${s.uniforms.length} uniform sources for ${k.uniforms.length} uniforms`);
  const uni = k.uniforms.map((u, i) => {
    const src = s.uniforms[i]!;
    const v = src.kind === "dim" ? `d->${cIdent(src.name)}` : `iter[${src.loop}]`;
    const val = UNIFORM_KIND[u.t] === "float" ? `attnc_f32_bits_((float)(${v}))` : `(uint32_t)(int32_t)(${v})`;
    return `  L->uniforms[${i}] = ${val}; /* ${u.name} */`;
  });
  return [
    `/* launch ${li}: ${k.name} for ${s.node.op}#${s.node.id}; grid = [${k.dispatch.map(printDim).join(", ")}] */`,
    `static const int ${P}_args_${li}[] = { ${s.args.join(", ")} };`,
    `static inline int ${P}_launch_${li}(const ${P}_dims* d, const int64_t* iter, ${P}_launch* L) {`,
    "  (void)d; (void)iter;",
    `  int64_t gx = ${dimToC(dx)}, gy = ${dimToC(dy)}, gz = ${dimToC(dz)};`,
    "  if (gx <= 0 || gy <= 0 || gz <= 0) return 0;",
    `  L->kernel = ${ki};`,
    "  L->grid[0] = (uint32_t)gx; L->grid[1] = (uint32_t)gy; L->grid[2] = (uint32_t)gz;",
    `  L->block[0] = ${bx}; L->block[1] = ${by}; L->block[2] = ${bz};`,
    `  L->shared_bytes = ${mk.sharedBytes};`,
    `  L->nargs = ${s.args.length};`,
    `  L->args = ${P}_args_${li};`,
    `  L->uniform_words = ${k.uniforms.length + 1};`,
    ...uni,
    `  L->uniforms[${k.uniforms.length}] = 0x7f800000u; /* _inf */`,
    "  return 1;",
    "}",
  ];
}
