/** Command-line parsing for `attnc` (no dependency; strict about unknown flags). */

export type Cli =
  | { command: "check"; file: string; defines: Record<string, number | boolean>; graph?: string; json: boolean }
  | {
      command: "compile";
      file: string;
      defines: Record<string, number | boolean>;
      graph?: string;
      json: boolean;
      emit?: "ast" | "graph";
      /** Kernel target (wgsl; cuda is announced but not available yet); checked by the compile command. */
      target?: string;
      outDir?: string;
      /** Graph optimization (compiler/pipeline.ts): see cli/optimize.ts. */
      pipeline: PipelineFlags;
      /** --target: a JSON file of device limits and features to compile for (compiler/kernel/caps.ts). */
      limits?: string;
      /** --target: maxComputeWorkgroupStorageSize to compile for. */
      maxWorkgroupStorage?: number;
    }
  | {
      command: "run";
      file: string;
      defines: Record<string, number | boolean>;
      graph?: string;
      json: boolean;
      backend: "interp" | "webgpu" | "cuda-emu" | "cuda";
      /** webgpu: also run the interpreter on the same inputs and compare (tolerance.ts). */
      check: boolean;
      inputs?: string;
      outputs?: string;
      seed: number;
      dims: Record<string, number>;
    };

/** compile's pipeline flags: -O, --print-after PASS|all, --stop-after PASS, --explain, --time-passes. */
export interface PipelineFlags {
  optimize: boolean;
  printAfter?: string[] | "all";
  stopAfter?: string;
  explain: boolean;
  timePasses: boolean;
  /** Print the buffer plan (plan-memory) of the lowered program; sizes in bytes for `dims` too. */
  plan: boolean;
  dims?: Record<string, number>;
}

export function usage(): string {
  return `attnc — a compiler for attention variants and token-reduction methods

Usage:
  attnc check FILE [options]                 check a program; print diagnostics only
  attnc compile FILE [options]               compile; print or write the IR or the kernels
  attnc run FILE --backend interp [options]  run a graph on the reference interpreter
  attnc run FILE --backend webgpu [--check]  run a graph on WebGPU (and compare with the interpreter)
  attnc run FILE --backend cuda-emu [--check]  run the emitted CUDA on the CPU (g++; threads as fibers)
  attnc run FILE --backend cuda [--check]    run on an NVIDIA GPU through the native addon

Options:
  -D name=value        override a param (int, float, true/false); repeatable
  --graph NAME         choose a graph of the module (default: all for check/compile, the first for run)
  --emit ast|graph     compile: what to print (default: graph)
  --target wgsl        compile: lower to WGSL kernels plus manifest.json (with -o DIR: one file each)
  --limits FILE        compile --target: device limits to compile for (JSON: {"maxComputeWorkgroupStorageSize": 8192,
                       "features": ["shader-f16"], ...}; default: WebGPU's default limits, sm_80 for cuda)
  --max-workgroup-storage N  compile --target: the workgroup storage (bytes) to compile for
  -o, --out DIR        compile: write files to DIR instead of printing
  -O, --optimize       compile: emit the graph after the optimization pipeline
  --print-after PASS   compile: print the graph after PASS (repeatable; 'all' for every pass)
  --stop-after PASS    compile: stop the pipeline after PASS and emit that graph (implies -O)
  --explain            compile: report which fusions fired, which did not and why, and whether
                       attention was recognized (with --target: on stderr)
  --time-passes        compile: time each pass
  --plan               compile: print the buffer plan of the lowered program (symbolic sizes; with
                       --dim NAME=N also bytes unplanned, planned and at peak)
  --backend B          run: where to run (interp: the float64 reference interpreter; cuda-emu: the
                       emitted CUDA run on the CPU; cuda: an NVIDIA GPU; webgpu: WGSL
                       kernels on WebGPU — Dawn in Node)
  --check              run with a kernel backend: also run the interpreter on the same inputs, print the
                       max abs/rel error per output, exit 1 when one is outside the tolerance
  --inputs DIR         run: read inputs from DIR/<input name>.npy (default: random inputs)
  --outputs DIR        run: write outputs to DIR/<output name>.npy
  --seed N             run: seed of the random inputs (default 0)
  --dim NAME=N         run: size of a symbolic dim when inputs are random (default 8); compile --plan:
                       the dims to size the plan with; repeatable
  --json               print diagnostics (and run summaries) as JSON
  -h, --help           show this help

Examples:
  attnc check examples/tome/tome.attn
  attnc compile examples/dense-attention/dense-attention.attn --emit graph -D window=64
  attnc run examples/dense-attention/dense-attention.attn --backend interp --dim N=16 --outputs out/
  attnc run prog.attn --backend interp --inputs in/ --outputs out/
  attnc compile examples/dense-attention/dense-attention.attn --graph causal --target wgsl -o out/causal/
  attnc run prog.attn --backend webgpu --check --dim N=16

Exit codes: 0 success, 1 errors in the program or its inputs, 2 internal compiler error.
`;
}

export function parseArgs(argv: readonly string[]): Cli | { help: true } | { error: string } {
  if (argv.length === 0 || argv.includes("-h") || argv.includes("--help") || argv[0] === "help") return { help: true };
  const [command, ...rest] = argv;
  if (command !== "check" && command !== "compile" && command !== "run") return { error: `unknown command '${command}'` };
  const defines: Record<string, number | boolean> = {};
  const dims: Record<string, number> = {};
  let file: string | undefined;
  let graph: string | undefined;
  let json = false;
  let emit: "ast" | "graph" | undefined;
  let outDir: string | undefined;
  let backend: string | undefined;
  let target: string | undefined;
  let check = false;
  const pipeline: PipelineFlags = { optimize: false, explain: false, timePasses: false, plan: false };
  let inputs: string | undefined;
  let outputs: string | undefined;
  let seed = 0;
  let limits: string | undefined;
  let maxWorkgroupStorage: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = (): string | undefined => {
      const eq = a.indexOf("=");
      if (a.startsWith("--") && eq > 0) return a.slice(eq + 1);
      if (a.startsWith("-D") && a.length > 2) return a.slice(2);
      return rest[++i];
    };
    const flag = a.startsWith("--") && a.includes("=") ? a.slice(0, a.indexOf("=")) : a.startsWith("-D") ? "-D" : a;
    switch (flag) {
      case "-D": {
        const v = value();
        const m = v && /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(v);
        if (!m) return { error: `-D expects name=value, got '${v ?? ""}'` };
        const raw = m[2]!;
        if (raw === "true" || raw === "false") defines[m[1]!] = raw === "true";
        else if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw)) defines[m[1]!] = Number(raw);
        else return { error: `-D ${m[1]}: '${raw}' is not a number or true/false` };
        break;
      }
      case "--dim": {
        const v = value();
        const m = v && /^([A-Za-z_][A-Za-z0-9_]*)=(\d+)$/.exec(v);
        if (!m) return { error: `--dim expects NAME=N (a non-negative integer), got '${v ?? ""}'` };
        dims[m[1]!] = Number(m[2]);
        break;
      }
      case "--graph":
        graph = value();
        break;
      case "--json":
        json = true;
        break;
      case "--emit": {
        const v = value();
        if (v !== "ast" && v !== "graph") return { error: `--emit expects ast or graph, got '${v ?? ""}'` };
        emit = v;
        break;
      }
      case "-o":
      case "--out":
        outDir = value();
        break;
      case "--backend":
        backend = value();
        break;
      case "--target":
        target = value();
        if (!target) return { error: "--target expects a target name (wgsl)" };
        break;
      case "--check":
        check = true;
        break;
      case "--limits":
        limits = value();
        if (!limits) return { error: "--limits expects a JSON file of device limits" };
        break;
      case "--max-workgroup-storage": {
        const v = value();
        if (!v || !/^\d+$/.test(v) || Number(v) < 1) return { error: `--max-workgroup-storage expects a positive integer (bytes), got '${v ?? ""}'` };
        maxWorkgroupStorage = Number(v);
        break;
      }
      case "-O":
      case "--optimize":
        pipeline.optimize = true;
        break;
      case "--print-after": {
        const v = value();
        if (!v) return { error: "--print-after expects a pass name or 'all'" };
        pipeline.printAfter = v === "all" || pipeline.printAfter === "all" ? "all" : [...(pipeline.printAfter ?? []), v];
        break;
      }
      case "--stop-after":
        pipeline.stopAfter = value();
        if (!pipeline.stopAfter) return { error: "--stop-after expects a pass name" };
        break;
      case "--explain":
        pipeline.explain = true;
        break;
      case "--time-passes":
        pipeline.timePasses = true;
        break;
      case "--plan":
        pipeline.plan = true;
        break;
      case "--inputs":
        inputs = value();
        break;
      case "--outputs":
        outputs = value();
        break;
      case "--seed": {
        const v = value();
        if (!v || !/^\d+$/.test(v)) return { error: `--seed expects a non-negative integer, got '${v ?? ""}'` };
        seed = Number(v);
        break;
      }
      default:
        if (a.startsWith("-")) return { error: `unknown option '${a}'` };
        if (file !== undefined) return { error: `unexpected argument '${a}' (one FILE only)` };
        file = a;
    }
  }
  if (file === undefined) return { error: `${command}: missing FILE` };
  if (command !== "compile" && (pipeline.optimize || pipeline.printAfter || pipeline.stopAfter || pipeline.explain || pipeline.timePasses || pipeline.plan))
    return { error: `${command}: -O, --print-after, --stop-after, --explain, --time-passes and --plan apply to compile only` };
  if (pipeline.plan && Object.keys(dims).length) pipeline.dims = dims;
  if (command === "check") return { command, file, defines, graph, json };
  if (command !== "compile" && target !== undefined) return { error: `${command}: --target applies to compile only` };
  if ((limits !== undefined || maxWorkgroupStorage !== undefined) && (command !== "compile" || target === undefined))
    return { error: `${command}: --limits and --max-workgroup-storage apply to compile --target only` };
  if (command !== "run" && check) return { error: `${command}: --check applies to run with a kernel backend only` };
  if (command === "compile") {
    if (target !== undefined && emit !== undefined) return { error: "compile: give --emit (graph IR, AST) or --target (kernels), not both" };
    if (emit === "ast" && (pipeline.optimize || pipeline.printAfter || pipeline.stopAfter || pipeline.explain)) return { error: "compile: the pipeline flags work on graphs, not --emit ast" };
    return { command, file, defines, graph, json, emit, target, outDir, pipeline, ...(limits !== undefined ? { limits } : {}), ...(maxWorkgroupStorage !== undefined ? { maxWorkgroupStorage } : {}) };
  }
  if (backend === undefined) return { error: "run: --backend is required (interp, webgpu, cuda-emu or cuda)" };
  if (backend !== "interp" && backend !== "webgpu" && backend !== "cuda-emu" && backend !== "cuda")
    return { error: `run: unknown backend '${backend}' (available: interp, webgpu, cuda-emu, cuda)` };
  if (check && backend === "interp") return { error: "run: --check compares a backend with the interpreter; use it with --backend webgpu, cuda-emu or cuda" };
  return { command, file, defines, graph, json, backend, check, inputs, outputs, seed, dims };
}
