/**
 * The shader-f16 path of the WGSL backend (backends/wgsl/dialect.ts wgslF16): with a record that has
 * `shader-f16`, f16 tensors are `array<f16>` (2 bytes an element) and f16 values are `f16` in
 * registers; arithmetic stays in f32 as the kernel IR defines it (widen, compute, round once with
 * the exact _h16). Without the feature, nothing changes.
 *
 * The machine these tests were written on has no adapter with shader-f16 (SwiftShader), so the
 * native-f16 kernels are NOT executed here. They are checked by (a) golden files
 * (test/webgpu/caps-golden/, UPDATE_GOLDEN=1 regenerates), (b) structural assertions, and (c) Dawn's
 * real WGSL compiler on a rewritten copy (caps-f16-graphs.ts proxyWgsl: f16 → i32, so every
 * f16/f32 mix-up is still a type error). When the device does have shader-f16, the graphs also run
 * and are compared with the interpreter.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { WEBGPU_DEFAULT_CAPS, type TargetCaps } from "../../compiler/kernel/caps.ts";
import { lowerGraph } from "../../compiler/kernel/lower.ts";
import { launches } from "../../compiler/kernel/program.ts";
import { buildWgslArtifacts, kernelWgsl } from "../../backends/wgsl/artifacts.ts";
import { kernelUsesF16, printWgsl } from "../../backends/wgsl/dialect.ts";
import { f16Cases, proxyWgsl } from "./caps-f16-graphs.ts";
import { checkGraph, gpuIt, openGpu } from "./util.ts";

const gpu = await openGpu();
const DIR = join(dirname(fileURLToPath(import.meta.url)), "caps-golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const F16: TargetCaps = { ...WEBGPU_DEFAULT_CAPS, source: "defaults + shader-f16", features: ["shader-f16"] };
const cases = f16Cases();

function golden(name: string, text: string): void {
  const path = join(DIR, name);
  if (UPDATE || !existsSync(path)) {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(path, text);
    if (!UPDATE) throw new Error(`golden ${path} was missing and has been written; review it and rerun`);
    return;
  }
  expect(text, `${path} (UPDATE_GOLDEN=1 regenerates)`).toBe(readFileSync(path, "utf8"));
}

describe("shader-f16 WGSL", () => {
  it("golden kernels: f16 add with broadcast, an f32 → f16 cast, a select, a mean reduction; and the manifest", () => {
    const b = new GraphBuilder("binary_add_f16_broadcast");
    const g = b.finish([b.binary("add", b.input("x", "f16", ["A", 1]), b.input("y", "f16", ["B"]))]);
    const a = buildWgslArtifacts(lowerGraph(g), { caps: F16 });
    expect(a.files.length).toBe(1);
    golden("binary_add_f16_broadcast.wgsl", a.files[0]![1]);
    const m = a.manifest;
    expect(m.requirements.features).toEqual(["shader-f16"]);
    expect(m.buffers.filter((x) => x.dtype === "f16").map((x) => [x.storage, x.elementBytes])).toEqual([["f16", 2], ["f16", 2], ["f16", 2]]);
    for (const [c, kname] of [["f16_casts", "cast_6"], ["f16_casts", "where_19"], ["f16_reduce", "reduce_2"]] as const) {
      const k = [...launches(lowerGraph(cases.find((x) => x.name === c)!.graph).steps)].map((l) => l.kernel).find((k) => k.name === kname)!;
      golden(`${c}_${k.name}.wgsl`, kernelWgsl(k, true));
    }
  });

  it("structure: `enable f16;`, array<f16> for f16 buffers, f16 registers; f16-free kernels print as without the feature", () => {
    let native = 0;
    for (const c of cases)
      for (const l of launches(lowerGraph(c.graph).steps)) {
        const k = l.kernel;
        const text = kernelWgsl(k, true);
        const plain = kernelWgsl(k, false);
        expect(plain).toBe(printWgsl(k));
        expect(plain).not.toMatch(/\bf16\b/);
        if (!kernelUsesF16(k)) {
          expect(text, `${c.name}/${k.name}`).toBe(plain);
          continue;
        }
        native++;
        const lines = text.split("\n");
        expect(lines[0]).toBe(`// attnc kernel ${k.name}`);
        expect(lines[1]).toBe("enable f16;");
        for (const buf of k.buffers) expect(text).toContain(` ${buf.name}: array<${buf.t === "f16" ? "f16" : buf.t === "bool" ? "u32" : buf.t === "bf16" ? "f32" : buf.t}>;`);
        // rounding to f16 is _h16 (exact, then a representable conversion), never the f32-register helper alone
        expect(lines.filter((x) => !x.startsWith("fn _")).join("\n")).not.toMatch(/\b_f16\(/);
      }
    expect(native).toBeGreaterThanOrEqual(60);
  });

  gpuIt(gpu, "every f16 kernel passes Dawn's WGSL compiler (proxy: f16 as a distinct type, see proxyWgsl)", async (dev) => {
    const seen = new Set<string>();
    const failures: string[] = [];
    for (const c of cases)
      for (const l of launches(lowerGraph(c.graph, { caps: F16 }).steps)) {
        const text = kernelWgsl(l.kernel, true);
        if (!text.includes("enable f16;") || seen.has(text)) continue;
        seen.add(text);
        const code = dev.device.features.has("shader-f16") ? text : proxyWgsl(text);
        const info = await dev.device.createShaderModule({ code }).getCompilationInfo();
        const errs = info.messages.filter((m) => m.type === "error");
        if (errs.length) failures.push(`${c.name}/${l.kernel.name}: ${errs.map((e) => `${e.lineNum}:${e.linePos} ${e.message}`).join("; ")}`);
      }
    expect(seen.size).toBeGreaterThanOrEqual(60);
    expect(failures).toEqual([]);
  }, 120_000);

  it("the proxy is a real check: an f16 value used as f32 without widening is rejected", () => {
    expect(proxyWgsl("enable f16;\nfn f(x: f16) -> f32 { return x * 2.0; }")).toBe("fn f(x: i32) -> f32 { return x * 2.0; }");
    expect(proxyWgsl("let a: f16 = 1.5h;")).toBe("let a: i32 = i32(1.5f);");
  });

  gpuIt(gpu, "proxy rejections come from the compiler (a mixed f16/f32 expression fails to compile)", async (dev) => {
    const code = proxyWgsl("enable f16;\n@group(0) @binding(0) var<storage, read_write> o: array<f16>;\n@compute @workgroup_size(1)\nfn main() { o[0] = o[0] * 2.0f; }\n");
    const info = await dev.device.createShaderModule({ code }).getCompilationInfo();
    expect(info.messages.some((m) => m.type === "error")).toBe(true);
  });

  gpuIt(gpu, "on a device with shader-f16: the graphs run natively and match the interpreter", async (dev, ctx) => {
    if (!dev.device.features.has("shader-f16")) return ctx.skip("this device has no shader-f16 (the native-f16 kernels are not executed here)");
    for (const c of cases) await checkGraph(dev, c.graph, c.dims, { program: lowerGraph(c.graph, { caps: dev.record }), seed: 3, label: c.name });
  }, 300_000);
});
