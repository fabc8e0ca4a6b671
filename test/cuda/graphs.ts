/**
 * The graphs the CUDA tests compile (nvcc) and run (cuda-emu): every graph of the example programs,
 * and op graphs built with the GraphBuilder that cover what lowering supports today. A graph whose
 * lowering throws LoweringError (an op without a kernel yet) is listed as skipped with the reason.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { compileSource } from "../../compiler/compile.ts";
import { GraphBuilder, S, type Tensor } from "../../compiler/graph/builder.ts";
import { mul } from "../../compiler/graph/dim.ts";
import { defaultDims } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";
import { LoweringError, lowerGraph } from "../../compiler/kernel/lower.ts";
import type { Program } from "../../compiler/kernel/program.ts";
import { UNARY_FNS } from "../../compiler/graph/ops.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Case {
  readonly name: string;
  readonly graph: Graph;
  readonly dims: Record<string, number>;
}

export interface Lowered extends Case {
  readonly prog: Program;
}

const g = (name: string, dims: Record<string, number>, build: (b: GraphBuilder) => Tensor | Tensor[]): Case => {
  const b = new GraphBuilder(name);
  const out = build(b);
  return { name, graph: b.finish(Array.isArray(out) ? out : [out]), dims };
};

/** Op graphs: elementwise (every unary fn, binary fns, int and bool ops, f16/bf16), reductions, layout, nn ops, iterate. */
export function opCases(): Case[] {
  const cases: Case[] = [];
  cases.push(
    g("unary_all", { N: 37 }, (b) => {
      const x = b.input("x", "f32", ["N"]);
      return UNARY_FNS.filter((f) => f !== "not").map((f) => b.unary(f, f === "isnan" ? b.div(x, b.sub(x, x)) : x));
    }),
    g("binary_f32", { N: 70 }, (b) => {
      const x = b.input("x", "f32", ["N"]);
      const y = b.input("y", "f32", ["N"]);
      return (["add", "sub", "mul", "div", "mod", "pow", "min", "max", "atan2", "eq", "ne", "lt", "le", "gt", "ge"] as const).map((f) => b.binary(f, x, y));
    }),
    g("int_ops", { N: 65 }, (b) => {
      const x = b.sub(b.input("x", "i32", ["N"]), 2);
      const y = b.sub(b.input("y", "i32", ["N"]), 1);
      const u = b.input("u", "u32", ["N"]);
      return [
        ...(["add", "sub", "mul", "div", "mod", "min", "max", "and", "or", "xor", "lt", "eq"] as const).map((f) => b.binary(f, x, y)),
        b.unary("neg", x), b.unary("abs", x), b.unary("not", x), b.unary("sign", x),
        b.binary("div", u, b.cast(b.input("v", "u32", ["N"]), "u32")), b.binary("mod", u, b.add(u, b.scalar(1, "u32"))), b.binary("min", u, b.scalar(2, "u32")),
        b.cast(x, "f32"), b.cast(b.mul(b.cast(x, "f32"), 1.7), "i32"), b.cast(b.mul(b.cast(x, "f32"), 1e10), "i32"), b.cast(b.cast(x, "f32"), "u32"),
      ];
    }),
    g("bool_ops", { N: 33 }, (b) => {
      const p = b.input("p", "bool", ["N"]);
      const q = b.input("q", "bool", ["N"]);
      const x = b.input("x", "f32", ["N"]);
      return [b.binary("and", p, q), b.binary("or", p, q), b.binary("xor", p, q), b.unary("not", p), b.where(p, x, b.neg(x)), b.cast(p, "f32"), b.cast(x, "bool")];
    }),
    g("half_types", { N: 40 }, (b) => {
      const x = b.input("x", "f32", ["N"]);
      const h = b.input("h", "f16", ["N"]);
      const z = b.input("z", "bf16", ["N"]);
      return [b.cast(b.mul(x, 3.3), "f16"), b.cast(b.mul(x, 3.3), "bf16"), b.add(h, h), b.mul(z, z), b.add(h, z), b.cast(h, "f32"), b.exp(h), b.cast(b.cast(x, "i32"), "bf16")];
    }),
    g("special_values", {}, (b) => {
      const x = b.constant([0, -0, 1, -1, Infinity, -Infinity, NaN, 1e30, -1e-30, 2.5, -2.5, 3.5], "f32", [12]);
      return [b.div(x, b.scalar(0)), b.binary("max", x, 1), b.binary("min", x, -1), b.unary("round", x), b.unary("sign", x), b.binary("pow", x, 2), b.binary("pow", x, 0.5), b.binary("mod", x, 2), b.unary("isnan", x), b.cast(x, "i32"), b.cast(x, "f16"), b.cast(x, "bf16")];
    }),
    g("reduce", { B: 3, N: 45 }, (b) => {
      const x = b.input("x", "f32", ["B", "N"]);
      const i = b.input("i", "i32", ["B", "N"]);
      const p = b.input("p", "bool", ["B", "N"]);
      return [
        ...(["sum", "mean", "max", "min", "prod"] as const).map((f) => b.reduce(f, x, -1)),
        b.reduce("sum", x, [0, 1]), b.reduce("max", x, 0, true), b.reduce("sum", i, -1), b.reduce("mean", i, -1), b.reduce("any", p, -1), b.reduce("all", p, 0),
        b.argreduce("argmax", x, -1), b.argreduce("argmin", x, 0), b.softmax(x, -1), b.logsumexp(x, 0),
      ];
    }),
    g("matmul", { B: 2, M: 9, K: 17, N: 11 }, (b) => [
      b.matmul(b.input("a", "f32", ["B", "M", "K"]), b.input("w", "f32", ["K", "N"])),
      b.einsum("bmk,bmk->bm", b.input("p", "f32", ["B", "M", "K"]), b.input("q", "f32", ["B", "M", "K"])),
    ]),
    g("layout", { B: 2, H: 4, W: 6, C: 3 }, (b) => {
      const x = b.input("x", "f32", ["B", "H", "W", "C"]);
      return [
        b.permute(x, [0, 3, 1, 2]), b.transpose(b.reshape(x, ["B", "H", mul("W", "C")])),
        b.slice(x, 2, 1, 5, 2), b.concat([x, x], 3), b.pad(x, [0, 1, 0, 0], [0, 0, 2, 0], -1), b.regions(x, 2, 3), b.unregions(b.regions(x, 2, 2), 2, 2, "H", "W"),
        b.broadcastTo(b.input("c", "f32", ["C"]), ["B", "C"]), b.iota(["H", "W"], 1),
      ];
    }),
    g("gather_segment", { B: 2, N: 10, C: 5, S: 4 }, (b) => {
      const x = b.input("x", "f32", ["B", "N", "C"]);
      const idx = b.input("idx", "i32", ["B", "S"]);
      const seg = b.input("seg", "i32", ["B", "N"]);
      return [
        b.gather(x, idx, 1), b.takeAlong(x, b.unsqueeze(idx, -1), 1),
        ...(["sum", "mean", "max", "min"] as const).map((f) => b.segmentReduce(f, x, seg, "S", 1)),
        b.gather(x, b.sub(idx, 2), 1), // negative indices: -1 reads 0 silently, others set the flag
      ];
    }),
    g("nn", { B: 2, H: 5, W: 6, C: 8 }, (b) => {
      const x = b.input("x", "f32", ["B", "H", "W", "C"]);
      const w = b.input("w", "f32", ["C"]);
      return [
        b.dwconv2d(x, b.input("k", "f32", ["C", 3, 3]), b.input("bias", "f32", ["C"])),
        b.layernorm(x, w, b.input("bb", "f32", ["C"])), b.rmsnorm(x, w), b.l2normalize(x, -1), b.unary("gelu", x), b.elu(x),
      ];
    }),
    g("compute_expr", { N: 12, M: 7 }, (b) => {
      const x = b.input("x", "f32", ["N", "M"]);
      return [
        b.compute(["N", "M"], (i, j) => S.mul(S.load(x, [i, j]), S.load(x, [S.sub(S.dim("N"), S.add(i, 1)), j]))),
        b.compute(["N"], (i) => S.sum(["M"], (j) => S.mul(S.load(x, [i, j]), S.cast(j, "f32")), (j) => S.lt(j, S.div(S.dim("M"), 2)))),
        b.compute(["M"], (j) => S.reduce("argmax", ["N"], (i) => S.load(x, [i, j]))),
      ];
    }),
    // f16/bf16 attention: the CUDA backend's wmma variant (ragged tiles, padded D and Dv, constant
    // and symbolic shapes, causal mask, side outputs), and with a value scale the warp-shuffle one
    g("attention_f16", { B: 2 }, (b) => {
      const q = b.input("q", "f16", ["B", 37, 40]);
      const k = b.input("k", "f16", ["B", 29, 40]);
      const v = b.input("v", "f16", ["B", 29, 24]);
      return b.attention(q, k, v, { mask: ([, i, j]) => S.le(j!, S.add(i!, 3)), returns: [{ kind: "lse" }, { kind: "mass", keys: b.input("keep", "bool", ["B", 29]) }] }) as Tensor[];
    }),
    g("attention_bf16", { B: 2, N: 21, M: 50, D: 16, E: 72 }, (b) => {
      const q = b.input("q", "bf16", ["B", "N", "D"]);
      const k = b.input("k", "bf16", ["B", "M", "D"]);
      const v = b.input("v", "bf16", ["B", "M", "E"]);
      return b.attention(q, k, v, { bias: b.input("bias", "f32", ["B", "M"]), returns: [{ kind: "probs", rows: b.input("rows", "i32", ["B", 3]) }] }) as Tensor[];
    }),
    g("attention_f16_dense", { H: 3 }, (b) => {
      const q = b.input("q", "f16", ["H", 64, 64]);
      return b.attention(q, b.input("k", "f16", ["H", 80, 64]), b.input("v", "f16", ["H", 80, 64])) as Tensor;
    }),
    g("attention_f16_vscale", { N: 19, D: 8 }, (b) => {
      const q = b.input("q", "f16", ["N", "D"]);
      return b.attention(q, q, b.input("v", "f16", ["N", "D"]), { valueScale: b.input("g", "f32", ["N"]), scale: 0.5 }) as Tensor;
    }),
    // f16/bf16 matmul: the wmma variant (ragged tiles, K not a multiple of the panel, broadcast batch)
    g("matmul_half", { B: 2, M: 33, K: 70, N: 20 }, (b) => [
      b.matmul(b.input("a", "f16", ["B", "M", "K"]), b.input("w", "f16", ["K", "N"])),
      b.matmul(b.input("p", "bf16", [1, 17, 40]), b.input("q", "bf16", [3, 40, 24])),
    ]),
    g("iterate", { n: 4, N: 9 }, (b) => {
      const c = b.input("c", "f32", ["N"]);
      const [x, y] = b.iterate("n", [b.full(["N"], 0, "f32"), b.scalar(1, "i32")], ([x, s], t) => [
        b.add(b.mul(x!, 0.5), b.mul(c, b.cast(t, "f32"))),
        b.add(s!, t),
      ]);
      const nested = b.iterate(3, [b.scalar(0)], ([acc], t) => b.iterate(2, [acc!], ([a], u) => [b.add(b.add(a!, b.mul(t, 10)), u)]));
      return [x!, y!, nested[0]!];
    }),
  );
  return cases;
}

/** Params and dims for examples whose defaults need larger sizes (from each example's README commands). */
const EXAMPLE_SETTINGS: Record<string, { defines?: Record<string, number | boolean>; dims?: Record<string, number> }> = {
  aclip: { dims: { L: 2, B: 1, M: 2, E: 8, C: 8 } },
  "atp-llava": { defines: { G: 4 }, dims: { L: 24, M: 2, D: 8, Z: 16 } },
  mikv: { defines: { heavy: 4, recent: 4, bits: 2 }, dims: { T: 32, D: 16 } },
  pitome: { defines: { r: 6 }, dims: { N: 33, M: 4, D: 8 } },
  tome: { defines: { heads: 4, r: 8 }, dims: { B: 2, N: 33, C: 48, F: 96 } },
  vmtc: { defines: { kp: 8, kc: 8 }, dims: { N: 64, C: 16, M: 4 } },
};

/** Every graph of every example program (examples/<name>/<name>.attn). */
export function exampleCases(): Case[] {
  const out: Case[] = [];
  const dir = path.join(ROOT, "examples");
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!d.isDirectory()) continue;
    const file = path.join(dir, d.name, `${d.name}.attn`);
    const set = EXAMPLE_SETTINGS[d.name] ?? {};
    const r = compileSource(file, readFileSync(file, "utf8"), { defines: set.defines });
    if (!r.ok) throw new Error(`example ${d.name} does not compile: ${r.diagnostics.map((x) => x.message).join("; ")}`);
    for (const graph of r.graphs) out.push({ name: `${d.name}/${graph.name}`, graph, dims: defaultDims(graph, set.dims ?? {}, 4) });
  }
  return out;
}

/** Lowers every case; the ones lowering cannot handle yet come back in `skipped` with the reason. */
export function lowerCases(cases: readonly Case[]): { lowered: Lowered[]; skipped: { name: string; reason: string }[] } {
  const lowered: Lowered[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const c of cases) {
    try {
      lowered.push({ ...c, prog: lowerGraph(c.graph) });
    } catch (e) {
      if (e instanceof LoweringError) skipped.push({ name: c.name, reason: `${e.node.op}#${e.node.id}: ${e.message}` });
      else throw e;
    }
  }
  return { lowered, skipped };
}
