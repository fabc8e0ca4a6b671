/**
 * `attnc compile --target cuda -o DIR`: the program's kernels as one CUDA module (`<graph>.cu`,
 * every kernel `extern "C" __global__`), a C header with launch helpers (`<graph>.h`), and
 * manifest.json in the WGSL manifest's schema (backends/wgsl/MANIFEST.md) with target "cuda":
 * the buffers, steps, uniforms and dispatch formulas are the same program's; a launch's `kernel`
 * names `<graph>.cu#<function>`, and each kernel entry says which `variant` it is (scalar,
 * warp-shuffle or wmma: the lowered kernel or a capability variant, Kernel.variants). When nvcc is on PATH, PTX and cubin for sm_80 and sm_90 too.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DivisibilityRequirement } from "../../compiler/graph/node.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import type { Manifest, ManifestStep } from "../manifest.ts";
import { buildWgslArtifacts, manifestJson } from "../wgsl/artifacts.ts";
import { emitCudaModule } from "./module.ts";

export const CUDA_ARCHS = ["sm_80", "sm_90"] as const;

export interface CudaArtifacts {
  /** [file name, contents] in a deterministic order. */
  readonly files: [string, string | Uint8Array][];
  /** Why PTX/cubin are absent, when they are. */
  readonly note?: string;
}

export function buildCudaArtifacts(prog: Program, opts: { requires?: readonly DivisibilityRequirement[]; nvcc?: boolean } = {}): CudaArtifacts {
  const m = emitCudaModule(prog);
  const wg = buildWgslArtifacts(prog, { requires: opts.requires });
  // launches of the module and of the manifest are both in program order
  const names = m.launches.map((l) => `${m.cuFile}#${m.kernels[l.kernel]!.name}`);
  let li = 0;
  const mapSteps = (steps: readonly ManifestStep[]): ManifestStep[] =>
    steps.map((s) => (s.op === "launch" ? { ...s, kernel: names[li++]! } : s.op === "loop" ? { ...s, body: mapSteps(s.body) } : s));
  const steps = mapSteps(wg.manifest.steps);
  const kernels = m.kernels.map((k) => ({
    file: `${m.cuFile}#${k.name}`,
    name: k.name,
    workgroupSize: k.kernel.workgroup,
    workgroupStorageBytes: k.sharedBytes,
    storageBuffers: k.kernel.buffers.length,
    variant: k.variant,
  }));
  const manifest = { ...wg.manifest, target: "cuda", steps, kernels } as unknown as Manifest;
  const files: [string, string | Uint8Array][] = [
    [m.cuFile, m.cu],
    [m.headerFile, m.header],
    ["manifest.json", manifestJson(manifest)],
  ];
  if (opts.nvcc === false) return { files };
  const probe = spawnSync("nvcc", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return { files, note: "nvcc is not on PATH: no PTX or cubin written" };
  const dir = mkdtempSync(join(tmpdir(), "attnc-cuda-"));
  try {
    const src = join(dir, m.cuFile);
    writeFileSync(src, m.cu);
    for (const arch of CUDA_ARCHS)
      for (const kind of ["ptx", "cubin"] as const) {
        const out = join(dir, `${m.prefix}.${arch}.${kind}`);
        const r = spawnSync("nvcc", [`-${kind}`, `-arch=${arch}`, "-O3", "-o", out, src], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`nvcc -${kind} -arch=${arch} failed:\n${r.stderr}`);
        files.push([`${m.prefix}.${arch}.${kind}`, kind === "ptx" ? readFileSync(out, "utf8") : new Uint8Array(readFileSync(out))]);
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { files };
}
