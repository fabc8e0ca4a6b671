/**
 * The Node side of scripts/gpu-check.sh. Subcommands (each writes JSON into the log folder):
 *
 *   correctness LOG [--quick] [--jobs N]   every example through `attnc run --backend cuda --check`
 *       (logs/<example>.txt each); without CUDA, the reason, and the quick subset on cuda-emu as a
 *       CPU stand-in (labelled so) → LOG/correctness.json
 *   artifacts LOG [--quick] [--arch sm_XY] `attnc compile --target cuda -o LOG/artifacts/<variant>`
 *       for the benchmark variants (manifest.json, .cu, .h, PTX/cubin from nvcc), and the compile
 *       latency DSL → cubin in this process (nvcc with an empty cache) → LOG/artifacts.json
 *   table LOG [--write FILE] [--command TEXT]  the markdown table of everything in LOG (printed;
 *       with --write also written to FILE)
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";
import { compileSource } from "../../compiler/compile.ts";
import { emitCudaModule } from "../../backends/cuda/module.ts";
import { cudaStatus } from "../../runtime/cuda/device.ts";
import { compileCubin, findNvcc } from "../../runtime/cuda/execute.ts";
import { benchVariants, gpuExamples, runArgs, ROOT, type GpuExample } from "./examples.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

const run = (args: readonly string[], timeoutMs = 600_000) =>
  new Promise<{ code: number; out: string; err: string; ms: number }>((resolve) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ["bin/attnc.js", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("close", (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out, err: sig ? `${err}killed by ${sig} after ${timeoutMs} ms\n` : err, ms: performance.now() - t0 });
    });
  });

async function pool<T, R>(xs: readonly T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, xs.length)) }, async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await f(xs[i]!);
    }
  }));
  return out;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.@=-]+/g, "_");

export interface CorrectnessRow {
  readonly name: string;
  readonly backend: string;
  readonly status: "ok" | "FAIL" | "skipped";
  readonly detail: string;
  readonly ms?: number;
}

async function correctness(log: string): Promise<void> {
  const quick = flag("--quick");
  const jobs = Number(opt("--jobs") ?? 2);
  const dir = path.join(log, "correctness");
  mkdirSync(dir, { recursive: true });
  const st = cudaStatus();
  const rows: CorrectnessRow[] = [];
  const one = async (e: GpuExample, backend: string): Promise<CorrectnessRow> => {
    const args = runArgs(e, backend);
    const r = await run(args);
    writeFileSync(path.join(dir, `${safe(e.name)}.${backend}.txt`), `$ attnc ${args.join(" ")}\n(exit ${r.code}, ${r.ms.toFixed(0)} ms)\n--- stdout\n${r.out}\n--- stderr\n${r.err}`);
    let j: { backend?: string; check?: { ok: boolean; outputs: { name: string; maxAbs: number; ok: boolean }[] } } = {};
    try {
      j = JSON.parse(r.out);
    } catch {
      /* the error is on stderr */
    }
    const errs = (j.check?.outputs ?? []).map((o) => `${o.name} ${o.ok ? "ok" : "FAIL"} max|Δ| ${o.maxAbs.toPrecision(3)}`).join("; ");
    const ok = r.code === 0 && j.check?.ok === true;
    return { name: e.name, backend: j.backend ?? backend, status: ok ? "ok" : "FAIL", detail: ok ? errs : (r.err.trim().split("\n")[0] ?? `exit ${r.code}`) + (errs ? ` (${errs})` : ""), ms: r.ms };
  };
  const examples = gpuExamples({ quick });
  // saved after every example: what ran survives a timeout
  const save = () =>
    writeFileSync(path.join(log, "correctness.json"), JSON.stringify({ cuda: st.ok ? { device: st.device.name, arch: `sm_${st.device.major}${st.device.minor}` } : { unavailable: st.reason }, rows }, null, 2));
  const record = async (e: GpuExample, backend: string) => {
    const row = await one(e, backend);
    rows.push(row);
    save();
    return row;
  };
  save();
  if (st.ok) {
    await pool(examples, jobs, (e) => record(e, "cuda"));
  } else {
    for (const e of examples) rows.push({ name: e.name, backend: "cuda", status: "skipped", detail: st.reason });
    // the same driver and checks, on the CPU: the quick subset through cuda-emu
    await pool(gpuExamples({ quick: true }), jobs, (e) => record(e, "cuda-emu"));
  }
  const order = new Map([...examples, ...gpuExamples({ quick: true })].map((e, i) => [e.name, i]));
  rows.sort((a, b) => (a.backend === b.backend ? 0 : a.backend.startsWith("cuda-emu") ? 1 : -1) || order.get(a.name)! - order.get(b.name)!);
  save();
  const bad = rows.filter((r) => r.status === "FAIL");
  console.log(`correctness: ${rows.filter((r) => r.status === "ok").length} ok, ${bad.length} failed, ${rows.filter((r) => r.status === "skipped").length} skipped`);
  for (const b of bad) console.log(`  FAIL ${b.name} on ${b.backend}: ${b.detail}`);
}

async function artifacts(log: string): Promise<void> {
  const quick = flag("--quick");
  const st = cudaStatus();
  const arch = opt("--arch") ?? (st.ok ? `sm_${st.device.major}${st.device.minor}` : "sm_90");
  const out = path.join(log, "artifacts");
  mkdirSync(out, { recursive: true });
  const nvcc = findNvcc();
  const variants = [];
  for (const v of benchVariants({ quick })) {
    const dir = path.join(out, v.name);
    rmSync(dir, { recursive: true, force: true });
    const args = ["compile", v.file, "--graph", v.graph, "--target", "cuda", "-o", dir, ...Object.entries(v.defines).flatMap(([k, x]) => ["-D", `${k}=${x}`])];
    const r = await run(args);
    writeFileSync(path.join(out, `${v.name}.compile.txt`), `$ attnc ${args.join(" ")}\n(exit ${r.code}, ${r.ms.toFixed(0)} ms)\n--- stdout\n${r.out}\n--- stderr\n${r.err}`);
    const manifest = path.join(dir, "manifest.json");
    const m = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, "utf8")) as { kernels: { file: string }[] }) : undefined;
    const prefix = m?.kernels[0]?.file.split(".cu#")[0];
    const cubin = prefix ? path.join(dir, `${prefix}.${arch}.cubin`) : undefined;
    // compile latency: DSL → graph → pipeline → kernels → CUDA → cubin (nvcc, no cache), in this process
    let latency: { ms: number; nvccMs: number } | { error: string };
    if (!nvcc) latency = { error: "nvcc was not found" };
    else {
      const cache = mkdtempSync(path.join(os.tmpdir(), "attnc-latency-"));
      try {
        const t0 = performance.now();
        const res = compileSource(v.file, readFileSync(path.join(ROOT, v.file), "utf8"), { defines: v.defines });
        if (!res.ok) throw new Error(res.diagnostics.map((d) => d.message).join("; "));
        const g = res.graphs.find((x) => x.name === v.graph)!;
        const low = lowerForTarget(g, "cuda");
        if ("diagnostic" in low) throw new Error(low.diagnostic.message);
        const bin = compileCubin(emitCudaModule(low.program), arch, { nvcc, cacheDir: cache, noCache: true });
        latency = { ms: performance.now() - t0, nvccMs: bin.compileMs };
      } catch (e) {
        latency = { error: (e as Error).message.split("\n")[0]! };
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }
    variants.push({
      ...v,
      dir: path.relative(log, dir),
      compile: { ok: r.code === 0 && !!m, exitCode: r.code, ms: r.ms, note: r.err.trim().split("\n")[0] ?? "" },
      cubin: cubin && existsSync(cubin) ? path.relative(log, cubin) : null,
      ptx: prefix && existsSync(path.join(dir, `${prefix}.sm_80.ptx`)) ? path.relative(log, path.join(dir, `${prefix}.sm_80.ptx`)) : null,
      latency,
    });
    console.log(`artifacts: ${v.name}: compile ${r.code === 0 ? "ok" : "FAILED"} (${r.ms.toFixed(0)} ms), cubin ${cubin && existsSync(cubin) ? arch : "none"}, DSL→cubin ${"ms" in latency ? `${latency.ms.toFixed(0)} ms` : latency.error}`);
  }
  writeFileSync(path.join(log, "artifacts.json"), JSON.stringify({ arch, nvcc: nvcc ?? null, quick, variants }, null, 2));
}

// ── the table ──

const readJson = (f: string): any => (existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : undefined);
const ms = (x: number | undefined | null) => (x === undefined || x === null || !Number.isFinite(x) ? "-" : x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0));

function table(log: string): void {
  const corr = readJson(path.join(log, "correctness.json"));
  const art = readJson(path.join(log, "artifacts.json"));
  const bench = readJson(path.join(log, "bench.json"));
  const env = readJson(path.join(log, "env.json")) ?? {};
  const L: string[] = [];
  const skipped: string[] = [];
  const gpu = corr?.cuda?.device as string | undefined;
  L.push(`# attnc GPU check${gpu ? ` on ${gpu} (${corr.cuda.arch})` : " — no GPU"}`, "");
  if (opt("--command")) L.push(`Command: \`${opt("--command")}\``, "");
  const facts = [env.date && `date ${env.date}`, env.commit && `commit ${env.commit}`, env.node && `node ${env.node}`, env.nvcc && `nvcc ${env.nvcc}`, env.driver && `driver ${env.driver}`, bench?.torch && `torch ${bench.torch}`, bench?.cupy && `cupy ${bench.cupy}`].filter(Boolean);
  if (facts.length) L.push(facts.join(" · "), "");
  if (!gpu && corr?.cuda?.unavailable) skipped.push(`GPU runs: ${/no CUDA driver/.test(corr.cuda.unavailable) ? "no CUDA driver" : "no CUDA device"} — ${corr.cuda.unavailable}`);

  L.push("## Correctness (vs the reference interpreter)", "");
  if (corr) {
    const rows = corr.rows as CorrectnessRow[];
    const ran = rows.filter((r) => r.status !== "skipped");
    const n = (b: string, s: string) => rows.filter((r) => r.backend.startsWith(b) && r.status === s).length;
    L.push(`cuda: ${n("cuda (", "ok")} ok, ${n("cuda (", "FAIL")} failed, ${rows.filter((r) => r.backend === "cuda" && r.status === "skipped").length} skipped; cuda-emu (CPU stand-in): ${n("cuda-emu", "ok")} ok, ${n("cuda-emu", "FAIL")} failed`, "");
    if (ran.length) {
      L.push("| example | backend | result | detail |", "|---|---|---|---|");
      for (const r of ran) L.push(`| ${r.name} | ${r.backend} | ${r.status} | ${r.detail.replace(/\|/g, "\\|")} |`);
      L.push("");
    }
  } else skipped.push("correctness: not run");
  const san = readJson(path.join(log, "sanitizer.json"));
  if (san) L.push(`compute-sanitizer memcheck (${san.example ?? "-"}): ${san.status}${san.detail ? ` — ${san.detail}` : ""}`, "");

  L.push("## Compile", "");
  if (art) {
    L.push(`| variant | attnc compile --target cuda | cubin (${art.arch}) | DSL→cubin ms (nvcc ms) | cold torch.compile(flex_attention) ms |`, "|---|---|---|---|---|");
    for (const v of art.variants) {
      const cold = bench?.compile?.[v.name];
      const lat = "ms" in v.latency ? `${ms(v.latency.ms)} (${ms(v.latency.nvccMs)})` : `- (${v.latency.error})`;
      L.push(`| ${v.name} | ${v.compile.ok ? "ok" : `FAILED: ${v.compile.note}`} | ${v.cubin ? "yes" : "no"} | ${lat} | ${cold === undefined ? "-" : typeof cold === "number" ? ms(cold) : cold} |`);
    }
    L.push("");
    if (bench?.compile && Object.keys(bench.compile).length)
      L.push("DSL→cubin: parse, check, optimize, lower, emit CUDA and nvcc -cubin, in one process. torch.compile: first call after torch._dynamo.reset() with empty Inductor/Triton caches, block mask included; the first variant also pays Inductor's start-up.", "");
  } else skipped.push("compile: not run");

  L.push("## Speed (median GPU ms, CUDA events, after warm-up)", "");
  if (bench?.status === "ok" || bench?.status === "partial") {
    if (bench.status === "partial") skipped.push(`speed: partial (${bench.reason}; bench.py ran out of time)`);
    L.push("| variant | shape | attnc ms | reference | ref ms | attnc / ref | max abs diff vs ref |", "|---|---|---|---|---|---|---|");
    for (const r of bench.rows) L.push(`| ${r.variant} | ${r.shape} | ${ms(r.attncMs)} | ${r.reference} | ${ms(r.refMs)} | ${r.attncMs && r.refMs ? (r.attncMs / r.refMs).toFixed(2) : "-"} | ${r.maxAbsDiff === null || r.maxAbsDiff === undefined ? (r.note ?? "-") : Number(r.maxAbsDiff).toExponential(2)} |`);
    L.push("");
  } else skipped.push(`speed: ${bench ? bench.reason : "not run"}`);
  if (bench?.dryRun) L.push(`launch plans from the manifests at the benchmark dims: ${bench.dryRun}`, "");

  if (skipped.length) L.push("## Skipped", "", ...skipped.map((s) => `- ${s}`), "");
  const text = L.join("\n");
  console.log(text);
  const w = opt("--write");
  if (w) {
    mkdirSync(path.dirname(w), { recursive: true });
    writeFileSync(w, text + "\n");
  }
}

const [cmd, log] = argv;
if (!log || !["correctness", "artifacts", "table"].includes(cmd ?? "")) {
  console.error("usage: driver.ts correctness|artifacts|table LOGDIR [--quick] [--jobs N] [--arch sm_XY] [--write FILE] [--command TEXT]");
  process.exit(2);
}
mkdirSync(log, { recursive: true });
if (cmd === "correctness") await correctness(log);
else if (cmd === "artifacts") await artifacts(log);
else table(log);
