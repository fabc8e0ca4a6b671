/**
 * A lowered Program as WGSL artifacts: one `.wgsl` file per distinct kernel and the manifest
 * (backends/manifest.ts, documented in MANIFEST.md) that says how to run them. Deterministic:
 * the same Program gives byte-identical files (names come from kernel names and the order of
 * first launch; nothing depends on time, paths or hash iteration order).
 */
import { asVar, dim, dimVars, printDim, type Dim } from "../../compiler/graph/dim.ts";
import type { DType } from "../../compiler/graph/dtype.ts";
import type { DivisibilityRequirement } from "../../compiler/graph/node.ts";
import type { Node } from "../../compiler/graph/ops.ts";
import type { KType, Kernel } from "../../compiler/kernel/ir.ts";
import type { Program, Step } from "../../compiler/kernel/program.ts";
import {
  MANIFEST_SCHEMA, MANIFEST_VERSION, type Manifest, type ManifestDTypeInfo, type ManifestKernel, type ManifestStep, type ManifestValue, type ScalarType,
  type StorageType,
} from "../manifest.ts";
import { printWgsl } from "./dialect.ts";
import { nativeF16, workgroupStorageBytes, type TargetCaps } from "../../compiler/kernel/caps.ts";

export interface WgslArtifacts {
  readonly manifest: Manifest;
  /** Kernel files in manifest order: [file name, WGSL text]. */
  readonly files: readonly (readonly [string, string])[];
}

const STORAGE32: Record<DType, StorageType> = { f32: "f32", f16: "f32", bf16: "f32", i32: "i32", u32: "u32", bool: "u32" };
/** With shader-f16. */
const STORAGE16: Record<DType, StorageType> = { ...STORAGE32, f16: "f16" };
const SCALAR: Record<KType, ScalarType> = { f32: "f32", f16: "f32", bf16: "f32", i32: "i32", u32: "u32", bool: "u32" };
const ENCODE32: Record<DType, string> = {
  f32: "IEEE binary32",
  f16: "the value rounded to binary16 (nearest even), held as binary32",
  bf16: "the value rounded to bfloat16 (nearest even), held as binary32",
  i32: "two's-complement 32-bit integer",
  u32: "unsigned 32-bit integer",
  bool: "u32 0 (false) or 1 (true)",
};
const DTYPE_ORDER: readonly DType[] = ["f32", "f16", "bf16", "i32", "u32", "bool"];

/** The bit pattern of +inf: every uniform block ends with `_inf: u32` holding it (see dialect.ts). */
export const INF_BITS = 0x7f800000;

const wgslText = new WeakMap<Kernel, string>();
const wgslText16 = new WeakMap<Kernel, string>();
/** The WGSL of a kernel (memoized per kernel object); `f16`: the target has shader-f16. */
export function kernelWgsl(k: Kernel, f16 = false): string {
  const memo = f16 ? wgslText16 : wgslText;
  let s = memo.get(k);
  if (s === undefined) memo.set(k, (s = printWgsl(k, { f16 })));
  return s;
}

const nodeName = (n: Node | undefined): string | undefined => (n ? `${n.op}#${n.id}` : undefined);
const sanitize = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, "_") || "kernel";

export interface ArtifactOptions {
  /** Divisibility requirements of the graph (Graph.requires), checked by runtimes when dims are bound. */
  readonly requires?: readonly DivisibilityRequirement[];
  /**
   * The target's capability record: with `shader-f16`, f16 buffers hold binary16 (2 bytes an
   * element) and kernels compute on `f16` values (the manifest then requires the feature).
   * Default: WebGPU's default limits (f16 as f32).
   */
  readonly caps?: TargetCaps;
}

export function buildWgslArtifacts(prog: Program, opts: ArtifactOptions = {}): WgslArtifacts {
  const f16 = nativeF16(opts.caps) && prog.buffers.some((b) => b.dtype === "f16");
  const STORAGE = f16 ? STORAGE16 : STORAGE32;
  const ENCODE = f16 ? { ...ENCODE32, f16: "IEEE binary16 (nearest even), 2 bytes an element" } : ENCODE32;
  const files: [string, string][] = [];
  const fileOfText = new Map<string, string>();
  const taken = new Set<string>();
  const kernels: ManifestKernel[] = [];
  const allDims: Dim[] = [];
  const D = (d: Dim): string => {
    allDims.push(d);
    return printDim(d);
  };

  const fileFor = (k: Kernel): string => {
    const text = kernelWgsl(k, f16);
    const have = fileOfText.get(text);
    if (have) return have;
    const base = sanitize(k.name);
    let name = `${base}.wgsl`;
    for (let i = 2; taken.has(name); i++) name = `${base}_${i}.wgsl`;
    taken.add(name);
    fileOfText.set(text, name);
    files.push([name, text]);
    const [x, y, z] = k.workgroup;
    kernels.push({
      file: name,
      name: k.name,
      workgroupSize: [x, y, z],
      workgroupStorageBytes: workgroupStorageBytes(k, f16),
      storageBuffers: k.buffers.length,
    });
    return name;
  };

  const steps = (ss: readonly Step[]): ManifestStep[] =>
    ss.map((s): ManifestStep => {
      switch (s.k) {
        case "copy": {
          const a = prog.buffers[s.from]!.numel;
          const b = prog.buffers[s.to]!.numel;
          const sub = a === b ? a : undefined;
          return { op: "copy", from: s.from, to: s.to, elements: sub ? D(sub) : `min(${D(a)}, ${D(b)})` };
        }
        case "loop":
          return { op: "loop", loop: s.loop, count: D(s.n), body: steps(s.body) };
        case "launch": {
          const k = s.kernel;
          if (s.args.length !== k.buffers.length) throw new Error(`launch of ${k.name}: ${s.args.length} buffers for ${k.buffers.length} bindings`);
          if (s.uniforms.length !== k.uniforms.length) throw new Error(`launch of ${k.name}: ${s.uniforms.length} uniform sources for ${k.uniforms.length} uniforms`);
          const uniforms = k.uniforms.map((u, i) => {
            const src = s.uniforms[i]!;
            return { name: u.name, type: SCALAR[u.t], offset: 4 * i, source: src.kind === "dim" ? { dim: src.name } : { iteration: src.loop } };
          });
          for (const u of s.uniforms) if (u.kind === "dim") allDims.push(dim(u.name));
          const n = k.uniforms.length;
          const [dx, dy, dz] = k.dispatch;
          return {
            op: "launch",
            kernel: fileFor(k),
            node: nodeName(s.node)!,
            bindings: k.buffers.map((b, i) => ({ name: b.name, buffer: s.args[i]!, access: b.access })),
            uniformBinding: k.buffers.length,
            uniformBytes: Math.max(16, Math.ceil(((n + 1) * 4) / 16) * 16),
            uniforms: [...uniforms, { name: "_inf", type: "u32", offset: 4 * n, source: { value: INF_BITS } }],
            workgroupSize: [k.workgroup[0], k.workgroup[1], k.workgroup[2]],
            dispatch: [D(dx), D(dy), D(dz)],
            foldable: dy.value === 1 && dz.value === 1,
          };
        }
      }
    });

  const tensor = (t: Program["inputs"][number]) => ({ name: t.name, dtype: t.dtype, shape: t.shape.map(D), buffer: t.buffer });
  const inputs = prog.inputs.map(tensor);
  const outputs = prog.outputs.map(tensor);
  const buffers = prog.buffers.map((b) => ({
    id: b.id,
    dtype: b.dtype,
    storage: STORAGE[b.dtype],
    elementBytes: STORAGE[b.dtype] === "f16" ? (2 as const) : (4 as const),
    numel: D(b.numel),
    role: prog.outputs.some((o) => o.buffer === b.id) && b.role === "temp" ? ("output" as const) : b.role,
    ...(b.values ? { values: b.values.map(encodeValue) } : {}),
    ...(b.node ? { node: nodeName(b.node) } : {}),
  }));
  const stepList = steps(prog.steps);
  const requires = (opts.requires ?? []).map((r) => ({ dim: D(r.dim), divisor: r.divisor, what: r.what }));

  // every dim variable mentioned anywhere, and the first input axis that binds it
  const names = new Set<string>();
  for (const d of allDims) for (const v of dimVars(d)) names.add(v);
  const dims = [...names].sort().map((name) => {
    for (const inp of prog.inputs) {
      const axis = inp.shape.findIndex((d) => asVar(d) === name);
      if (axis >= 0) return { name, from: { input: inp.name, axis } };
    }
    return { name, from: null };
  });

  const wg = kernels.map((k) => k.workgroupSize);
  const used = new Set<DType>(prog.buffers.map((b) => b.dtype));
  const dtypes: ManifestDTypeInfo[] = DTYPE_ORDER.filter((t) => used.has(t)).map((t) => ({ dtype: t, storage: STORAGE[t], encode: ENCODE[t] }));
  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA,
    version: MANIFEST_VERSION,
    target: "wgsl",
    graph: prog.name,
    dims,
    requires,
    inputs,
    outputs,
    buffers,
    flag: prog.flag,
    steps: stepList,
    kernels,
    requirements: {
      features: f16 ? ["shader-f16"] : [],
      limits: {
        maxComputeWorkgroupStorageSize: Math.max(0, ...kernels.map((k) => k.workgroupStorageBytes)),
        maxComputeInvocationsPerWorkgroup: Math.max(1, ...wg.map(([x, y, z]) => x * y * z)),
        maxComputeWorkgroupSizeX: Math.max(1, ...wg.map((w) => w[0])),
        maxComputeWorkgroupSizeY: Math.max(1, ...wg.map((w) => w[1])),
        maxComputeWorkgroupSizeZ: Math.max(1, ...wg.map((w) => w[2])),
        maxStorageBuffersPerShaderStage: Math.max(0, ...kernels.map((k) => k.storageBuffers)),
        maxUniformBuffersPerShaderStage: kernels.length ? 1 : 0,
      },
    },
    dtypes,
  };
  return { manifest, files };
}

/** JSON has no NaN, infinities or -0: those constants are written as strings. */
function encodeValue(v: number): ManifestValue {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  if (Object.is(v, -0)) return "-0";
  return v;
}

/**
 * manifest.json text: JSON indented by 2, where an array or object whose one-line form fits in
 * 120 columns stays on one line; a final newline. Key order is the order built above, so the
 * text is deterministic.
 */
export function manifestJson(m: Manifest): string {
  const flat = (v: unknown): string => {
    if (v === null || typeof v !== "object") return JSON.stringify(v);
    if (Array.isArray(v)) return `[${v.map(flat).join(", ")}]`;
    return `{${Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}: ${flat(x)}`).join(", ")}}`;
  };
  const fmt = (v: unknown, indent: string): string => {
    const one = flat(v);
    if (v === null || typeof v !== "object" || indent.length + one.length <= 120) return one;
    const inner = indent + "  ";
    if (Array.isArray(v)) return `[\n${v.map((x) => inner + fmt(x, inner)).join(",\n")}\n${indent}]`;
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${fmt(x, inner)}`).join(",\n")}\n${indent}}`;
  };
  return fmt(m, "") + "\n";
}
