/**
 * The manifest of a compiled program (`attnc compile --target wgsl -o DIR` writes it as
 * DIR/manifest.json beside one file per kernel). It is everything a runtime needs to run the
 * program without the compiler: the buffers to allocate, the steps to execute (kernel launches,
 * copies, counted loops), how each launch binds buffers and fills its uniform block, and the
 * device features and limits the kernels need. backends/wgsl/MANIFEST.md documents every field;
 * this file is the TypeScript type of the same schema, plus the evaluator of its symbolic dims.
 *
 * This module imports nothing, so a runtime (Node or a browser bundle) can read manifests
 * without pulling in the compiler.
 *
 * Versioning: `version` is bumped on any change a reader could notice (a field renamed, removed,
 * or given a new meaning); adding an optional field does not bump it. Readers must reject a
 * schema or a version they do not know.
 */

export const MANIFEST_SCHEMA = "attnc-manifest";
export const MANIFEST_VERSION = 1;

/**
 * A symbolic size: an integer expression over dim names, printed like the graph IR prints dims.
 * Grammar: expr := term (('+' | '-') term)*; term := unary (('*' | '/' | '%') unary)*;
 * unary := '-' unary | INT | NAME | 'min(' expr ',' expr ')' | 'max(' expr ',' expr ')' | '(' expr ')'.
 * `/` and `%` are floored (Python semantics); evaluation is exact integer arithmetic.
 */
export type DimExpr = string;

export type ManifestDType = "f32" | "f16" | "bf16" | "i32" | "u32" | "bool";
/** The element type a buffer holds on the device (WGSL `array<…>`): 4 bytes each, f16 (with shader-f16) 2. */
export type StorageType = "f32" | "i32" | "u32" | "f16";
/** Scalar types of uniforms and bindings in kernel code. */
export type ScalarType = "f32" | "i32" | "u32";

export interface Manifest {
  readonly schema: typeof MANIFEST_SCHEMA;
  readonly version: typeof MANIFEST_VERSION;
  /** wgsl: kernels are .wgsl files; cuda: `<graph>.cu#<function>` entries of one CUDA module. */
  readonly target: "wgsl" | "cuda";
  /** The graph this program computes. */
  readonly graph: string;
  /** Every dim variable the program's sizes mention, sorted by name, with where its value comes from. */
  readonly dims: readonly ManifestDimVar[];
  /** Divisibility the graph's shapes assume (e.g. heads dividing the width); checked when dims are bound. */
  readonly requires: readonly { readonly dim: DimExpr; readonly divisor: number; readonly what: string }[];
  readonly inputs: readonly ManifestTensor[];
  readonly outputs: readonly ManifestTensor[];
  readonly buffers: readonly ManifestBuffer[];
  /** The id of the u32[1] error-flag buffer (nonzero after a run: a data-dependent index was out of range). */
  readonly flag: number;
  readonly steps: readonly ManifestStep[];
  /** Each kernel file once, in order of first launch. */
  readonly kernels: readonly ManifestKernel[];
  readonly requirements: ManifestRequirements;
  /** The dtypes the program uses and how each is stored on the device. */
  readonly dtypes: readonly ManifestDTypeInfo[];
}

export interface ManifestDimVar {
  readonly name: string;
  /** The first input axis that is exactly this dim (binds it), or null: the caller must give it. */
  readonly from: { readonly input: string; readonly axis: number } | null;
}

export interface ManifestTensor {
  readonly name: string;
  readonly dtype: ManifestDType;
  readonly shape: readonly DimExpr[];
  readonly buffer: number;
}

/** A constant: a JSON number, or "NaN", "Infinity", "-Infinity", "-0". */
export type ManifestValue = number | "NaN" | "Infinity" | "-Infinity" | "-0";

/** The number a ManifestValue stands for. */
export const decodeValue = (v: ManifestValue): number => (typeof v === "number" ? v : Number(v));

export type BufferRole = "input" | "output" | "temp" | "const" | "flag";

export interface ManifestBuffer {
  readonly id: number;
  readonly dtype: ManifestDType;
  readonly storage: StorageType;
  /** 4 (f16/bf16 held as f32, bool as u32); 2 for f16 stored as binary16 (WGSL with shader-f16). */
  readonly elementBytes: 4 | 2;
  /** Element count. */
  readonly numel: DimExpr;
  readonly role: BufferRole;
  /** For const buffers: the initial values (valid for dtype; non-finite values and -0 as strings). */
  readonly values?: readonly ManifestValue[];
  /** The graph node it holds, `op#id` (provenance only). */
  readonly node?: string;
}

export interface ManifestUniform {
  readonly name: string;
  readonly type: ScalarType;
  /** Byte offset in the uniform block. */
  readonly offset: number;
  /** Where the value comes from; the trailing `_inf` has a constant. */
  readonly source: { readonly dim: string } | { readonly iteration: number } | { readonly value: number };
}

export interface ManifestBinding {
  /** The variable name in the kernel. */
  readonly name: string;
  /** The program buffer bound here. */
  readonly buffer: number;
  readonly access: "read" | "read_write";
}

export interface ManifestLaunch {
  readonly op: "launch";
  /** The kernel file (relative to the manifest). */
  readonly kernel: string;
  /** The graph node this launch computes, `op#id` (provenance only). */
  readonly node: string;
  /** Storage bindings 0..n-1 of group 0, in order; the uniform block is binding n. */
  readonly bindings: readonly ManifestBinding[];
  readonly uniformBinding: number;
  /** Size of the uniform buffer to allocate (a multiple of 16, at least 16). */
  readonly uniformBytes: number;
  readonly uniforms: readonly ManifestUniform[];
  readonly workgroupSize: readonly [number, number, number];
  /** Workgroups along x, y, z. A launch with a zero count is skipped. */
  readonly dispatch: readonly [DimExpr, DimExpr, DimExpr];
  /**
   * true when the dispatch is [n, 1, 1] and the kernel linearizes its workgroup id
   * (wid.x + wid.y·nwg.x): a runtime may dispatch [min(n, L), ceil(n / L), 1] when n exceeds the
   * per-dimension limit L; the kernel guards the excess threads.
   */
  readonly foldable: boolean;
}

export interface ManifestCopy {
  readonly op: "copy";
  readonly from: number;
  readonly to: number;
  /** Elements copied: min(numel(from), numel(to)), 4 bytes each. */
  readonly elements: DimExpr;
}

export interface ManifestLoop {
  readonly op: "loop";
  /** Loop id (uniform sources `{ iteration: id }` read its current iteration, 0-based). */
  readonly loop: number;
  /** Iteration count; 0 runs the body never. */
  readonly count: DimExpr;
  readonly body: readonly ManifestStep[];
}

export type ManifestStep = ManifestLaunch | ManifestCopy | ManifestLoop;

export interface ManifestKernel {
  readonly file: string;
  /** The kernel's own name (the `// attnc kernel NAME` line of the file). */
  readonly name: string;
  readonly workgroupSize: readonly [number, number, number];
  /** Bytes of var<workgroup> storage the kernel declares. */
  readonly workgroupStorageBytes: number;
  readonly storageBuffers: number;
}

export interface ManifestRequirements {
  /** WebGPU features the device must have (requested at device creation). */
  readonly features: readonly string[];
  /** Minimum values of WebGPU device limits, the maximum over the kernels. */
  readonly limits: {
    readonly maxComputeWorkgroupStorageSize: number;
    readonly maxComputeInvocationsPerWorkgroup: number;
    readonly maxComputeWorkgroupSizeX: number;
    readonly maxComputeWorkgroupSizeY: number;
    readonly maxComputeWorkgroupSizeZ: number;
    readonly maxStorageBuffersPerShaderStage: number;
    readonly maxUniformBuffersPerShaderStage: number;
  };
}

export interface ManifestDTypeInfo {
  readonly dtype: ManifestDType;
  readonly storage: StorageType;
  /** How host values become device values. */
  readonly encode: string;
}

// ── symbolic dims ───────────────────────────────────────────────────────────────────────────

export class DimExprError extends Error {}

type DNode =
  | { k: "int"; v: number }
  | { k: "name"; name: string }
  | { k: "neg"; a: DNode }
  | { k: "bin"; op: "+" | "-" | "*" | "/" | "%"; a: DNode; b: DNode }
  | { k: "fn"; fn: "min" | "max"; a: DNode; b: DNode };

const parsed = new Map<string, DNode>();

/** Parses a DimExpr (cached). Throws DimExprError on text outside the grammar. */
export function parseDimExpr(text: string): DNode {
  const hit = parsed.get(text);
  if (hit) return hit;
  const toks = text.match(/\s*(\d+|[A-Za-z_][A-Za-z0-9_]*|[-+*/%(),])/gy);
  if (!toks || toks.join("").length !== text.length) throw new DimExprError(`bad dim expression '${text}'`);
  const t = toks.map((s) => s.trim());
  let i = 0;
  const peek = () => t[i];
  const eat = (s: string) => {
    if (t[i] !== s) throw new DimExprError(`bad dim expression '${text}': expected '${s}'`);
    i++;
  };
  const expr = (): DNode => {
    let a = term();
    while (peek() === "+" || peek() === "-") {
      const op = t[i++] as "+" | "-";
      a = { k: "bin", op, a, b: term() };
    }
    return a;
  };
  const term = (): DNode => {
    let a = unary();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = t[i++] as "*" | "/" | "%";
      a = { k: "bin", op, a, b: unary() };
    }
    return a;
  };
  const unary = (): DNode => {
    const s = t[i++];
    if (s === undefined) throw new DimExprError(`bad dim expression '${text}': unexpected end`);
    if (s === "-") return { k: "neg", a: unary() };
    if (s === "(") {
      const e = expr();
      eat(")");
      return e;
    }
    if (/^\d+$/.test(s)) return { k: "int", v: Number(s) };
    if ((s === "min" || s === "max") && peek() === "(") {
      eat("(");
      const a = expr();
      eat(",");
      const b = expr();
      eat(")");
      return { k: "fn", fn: s, a, b };
    }
    if (/^[A-Za-z_]/.test(s)) return { k: "name", name: s };
    throw new DimExprError(`bad dim expression '${text}': unexpected '${s}'`);
  };
  const root = expr();
  if (i !== t.length) throw new DimExprError(`bad dim expression '${text}': unexpected '${t[i]}'`);
  parsed.set(text, root);
  return root;
}

/** Evaluates a DimExpr under dim values; undefined when a name is unbound or a divisor is 0. */
export function evalDimExpr(text: string, env: Readonly<Record<string, number>>): number | undefined {
  const ev = (n: DNode): number | undefined => {
    switch (n.k) {
      case "int":
        return n.v;
      case "name":
        return Object.prototype.hasOwnProperty.call(env, n.name) ? env[n.name] : undefined;
      case "neg": {
        const a = ev(n.a);
        return a === undefined ? undefined : -a;
      }
      case "fn":
      case "bin": {
        const a = ev(n.a);
        const b = ev(n.b);
        if (a === undefined || b === undefined) return undefined;
        if (n.k === "fn") return n.fn === "min" ? Math.min(a, b) : Math.max(a, b);
        switch (n.op) {
          case "+":
            return a + b;
          case "-":
            return a - b;
          case "*":
            return a * b;
          case "/":
            return b === 0 ? undefined : Math.floor(a / b);
          case "%":
            return b === 0 ? undefined : a - Math.floor(a / b) * b;
        }
      }
    }
  };
  return ev(parseDimExpr(text));
}

/** The dim names a DimExpr mentions, sorted. */
export function dimExprNames(text: string): string[] {
  const out = new Set<string>();
  const visit = (n: DNode): void => {
    if (n.k === "name") out.add(n.name);
    else if (n.k === "neg") visit(n.a);
    else if (n.k === "bin" || n.k === "fn") {
      visit(n.a);
      visit(n.b);
    }
  };
  visit(parseDimExpr(text));
  return [...out].sort();
}

/** When a DimExpr is exactly one dim name, that name. */
export function dimExprVar(text: string): string | undefined {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text.trim()) && text.trim() !== "min" && text.trim() !== "max" ? text.trim() : undefined;
}

/** Checks the schema and version of a parsed manifest.json; throws with a clear message otherwise. */
export function checkManifest(m: unknown): Manifest {
  const o = m as Partial<Manifest> | null;
  if (!o || typeof o !== "object" || o.schema !== MANIFEST_SCHEMA)
    throw new Error(`not an attnc manifest (schema ${JSON.stringify(o && (o as { schema?: unknown }).schema)}, expected "${MANIFEST_SCHEMA}")`);
  if (o.version !== MANIFEST_VERSION) throw new Error(`manifest version ${String(o.version)} is not supported (this reader knows version ${MANIFEST_VERSION})`);
  if (o.target !== "wgsl") throw new Error(`manifest target '${String(o.target)}' is not wgsl`);
  return o as Manifest;
}
