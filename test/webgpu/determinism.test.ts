/**
 * Determinism of the WGSL backend: the same source gives byte-identical kernels and manifest
 * (in-process, and through `attnc compile --target wgsl -o DIR` twice), the manifest's symbolic
 * sizes evaluate exactly like the compiler's dims, and running a program twice gives bit-identical
 * outputs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { compileSource } from "../../compiler/compile.ts";
import { evalDim } from "../../compiler/graph/dim.ts";
import { defaultDims, randomInputs } from "../../compiler/graph/interp.ts";
import { lowerForTarget } from "../../compiler/cli/lowering.ts";
import { launches } from "../../compiler/kernel/program.ts";
import { buildWgslArtifacts, manifestJson } from "../../backends/wgsl/artifacts.ts";
import { evalDimExpr, parseDimExpr, type ManifestStep } from "../../backends/manifest.ts";
import { runProgram } from "../../runtime/webgpu/execute.ts";
import { gpuIt, openGpu } from "./util.ts";

const gpu = await openGpu();
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TMP = mkdtempSync(join(tmpdir(), "attnc-det-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const EXAMPLES = readdirSync(join(ROOT, "examples"), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

function artifactsOf(ex: string) {
  const path = join(ROOT, "examples", ex, `${ex}.attn`);
  const res = compileSource(path, readFileSync(path, "utf8"));
  expect(res.ok).toBe(true);
  return res.graphs.map((g) => {
    const l = lowerForTarget(g, "wgsl");
    if ("diagnostic" in l) return { graph: g, text: `skipped: ${l.diagnostic.message}` };
    const a = buildWgslArtifacts(l.program, { requires: g.requires });
    return { graph: g, program: l.program, artifacts: a, text: manifestJson(a.manifest) + a.files.map(([n, t]) => `// ${n}\n${t}`).join("") };
  });
}

describe("determinism", () => {
  it("compiling an example twice gives byte-identical kernels and manifests (every example)", () => {
    for (const ex of EXAMPLES) {
      const a = artifactsOf(ex).map((x) => x.text);
      const b = artifactsOf(ex).map((x) => x.text);
      expect(a, ex).toEqual(b);
    }
  });

  it("attnc compile --target wgsl -o DIR twice writes identical directories", () => {
    const file = "examples/dense-attention/dense-attention.attn";
    const dirs = [join(TMP, "a"), join(TMP, "b")];
    for (const d of dirs) {
      const r = spawnSync(process.execPath, ["bin/attnc.js", "compile", file, "--target", "wgsl", "-o", d], { cwd: ROOT, encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
    }
    const list = (d: string): string[] => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(d.length + 1)).sort();
    const files = list(dirs[0]!);
    expect(files).toEqual(list(dirs[1]!));
    // three graphs: one folder each, a manifest and kernels in each
    for (const g of ["causal", "sliding_window", "alibi"]) {
      expect(files).toContain(join(g, "manifest.json"));
      expect(files.some((f) => f.startsWith(`${g}/`) && f.endsWith(".wgsl"))).toBe(true);
    }
    for (const f of files) expect(readFileSync(join(dirs[0]!, f), "utf8"), f).toBe(readFileSync(join(dirs[1]!, f), "utf8"));
  });

  it("manifest sizes, dispatches and loop counts evaluate like the compiler's dims (every example)", () => {
    for (const ex of EXAMPLES)
      for (const x of artifactsOf(ex)) {
        if (!x.artifacts) continue;
        const m = x.artifacts.manifest;
        const dims = defaultDims(x.graph, {}, 5);
        for (const d of m.dims) if (dims[d.name] === undefined) dims[d.name] = 3;
        const z = (v: number | undefined) => (v === undefined ? v : v + 0); // -0 → 0
        m.buffers.forEach((b, i) => expect(z(evalDimExpr(b.numel, dims)), `${ex}/${m.graph} buffer ${i}: ${b.numel}`).toBe(z(evalDim(x.program!.buffers[i]!.numel, dims))));
        const progLaunches = [...launches(x.program!.steps)];
        const manLaunches: Extract<ManifestStep, { op: "launch" }>[] = [];
        const walk = (ss: readonly ManifestStep[]): void => ss.forEach((s) => (s.op === "launch" ? manLaunches.push(s) : s.op === "loop" ? walk(s.body) : undefined));
        walk(m.steps);
        expect(manLaunches.length).toBe(progLaunches.length);
        manLaunches.forEach((l, i) => {
          const k = progLaunches[i]!.kernel;
          l.dispatch.forEach((d, a) => expect(z(evalDimExpr(d, dims)), `${ex}/${m.graph} ${l.kernel} dispatch ${a}: ${d}`).toBe(z(evalDim(k.dispatch[a]!, dims))));
          expect(l.bindings.length).toBe(k.buffers.length);
          expect(l.uniforms.at(-1)).toEqual({ name: "_inf", type: "u32", offset: 4 * k.uniforms.length, source: { value: 0x7f800000 } });
          const text = x.artifacts!.files.find(([n]) => n === l.kernel)![1];
          expect(text.match(/@binding\((\d+)\) var<storage/g)?.length ?? 0).toBe(l.bindings.length);
          expect(text).toContain(`@binding(${l.uniformBinding}) var<uniform> u: Uniforms;`);
        });
      }
  });

  it("the DimExpr grammar: precedence, floored / and %, min/max, unbound names", () => {
    expect(evalDimExpr("2*N - (N + 3) / 2", { N: 5 })).toBe(6);
    expect(evalDimExpr("(-7 % 3)", {})).toBe(2);
    expect(evalDimExpr("-7 / 2", {})).toBe(-4);
    expect(evalDimExpr("max(N - 4, 0) + min(N, 2)*3", { N: 3 })).toBe(6);
    expect(evalDimExpr("M + 1", { N: 3 })).toBeUndefined();
    expect(() => parseDimExpr("N +")).toThrow();
    expect(() => parseDimExpr("N $ 2")).toThrow();
  });

  gpuIt(gpu, "running the same program twice gives bit-identical outputs", async (dev) => {
    for (const ex of ["tome", "dense-attention"]) {
      const x = artifactsOf(ex)[0]!;
      const dims = defaultDims(x.graph, { N: 20 }, 4);
      const inputs = randomInputs(x.graph, dims, 3);
      const a = await runProgram(x.program!, dev, inputs, dims);
      const b = await runProgram(x.program!, dev, inputs, dims);
      a.outputs.forEach((o, i) => expect(Buffer.from(o.data.buffer).equals(Buffer.from(b.outputs[i]!.data.buffer)), `${ex} output ${i}`).toBe(true));
    }
  }, 180_000);
});
