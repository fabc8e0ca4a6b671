/**
 * The benchmark workloads: each is an attnc graph (from examples/, or bench/graphs for the
 * op-by-op dense attention), its dims and inputs, and the same computation composed from
 * TensorFlow.js ops the way a TF.js user writes it. Weights are N(0, 1/fan_in) so activations stay
 * O(1), as in a trained model; everything else is standard normal (randomInputs) except ToMe's
 * sizes, which are positive integers as after earlier merges.
 */
import { readFileSync } from "node:fs";
import type * as TF from "@tensorflow/tfjs-core";
import { compileSource } from "../../compiler/compile.ts";
import { randomInputs, type HostTensor } from "../../compiler/graph/interp.ts";
import type { Graph } from "../../compiler/graph/node.ts";

type Tf = typeof TF;
type Tensor = TF.Tensor;

export interface TfComposition {
  /** The composed computation on pre-uploaded inputs; returns the outputs compared with attnc's. */
  run(): Tensor[];
  /** Frees the uploaded inputs and constants. */
  dispose(): void;
}

export interface BenchCase {
  readonly name: string;
  /** Sizes and params, for the table. */
  readonly shape: string;
  /** The graph timed as "fused" (compileToProgram) in (b) and (c). */
  readonly graph: Graph;
  /** The graph lowered without GRAPH_PIPELINE for (c) (the same graph unless stated). */
  readonly unfusedGraph: Graph;
  readonly unfusedNote?: string;
  /**
   * Why the unfused program is not run (its dispatches and bytes are still reported); the case
   * that stands in for it at a smaller size is named there.
   */
  readonly unfusedNotRun?: string;
  readonly dims: Record<string, number>;
  readonly inputs: Record<string, HostTensor>;
  /** attnc output index → compared with the TF.js output of the same position. */
  readonly compared: readonly number[];
  /** Run the float64 interpreter as a third opinion (off where it takes minutes). */
  readonly interp: boolean;
  tfjs(tf: Tf, inputs: Record<string, HostTensor>): TfComposition;
}

function graphOf(path: string, graph: string, defines: Record<string, number> = {}): Graph {
  const res = compileSource(path, readFileSync(path, "utf8"), { graph, defines });
  if (!res.ok) throw new Error(`${path}#${graph}: ${res.diagnostics.map((d) => d.message).join("; ")}`);
  return res.graphs[0]!;
}

const scaled = (t: HostTensor, s: number): HostTensor => ({ ...t, data: t.data.map((x) => x * s) });
const f32 = (tf: Tf, t: HostTensor): Tensor => tf.tensor(Float32Array.from(t.data), t.shape, "float32");

/** Dense causal attention, B=1, H=4, N=1024, D=64 (issue 3's done-when size). */
export function denseCase(dims = { B: 1, H: 4, N: 1024, D: 64 }, unfusedNotRun?: string): BenchCase {
  const graph = graphOf("examples/dense-attention/dense-attention.attn", "causal");
  const composed = graphOf("bench/graphs/composed.attn", "causal_composed");
  const inputs = randomInputs(graph, dims, 1);
  return {
    name: "dense causal attention",
    shape: `B=${dims.B} H=${dims.H} N=${dims.N} D=${dims.D} f32`,
    graph,
    unfusedGraph: composed,
    unfusedNote: "bench/graphs/composed.attn: q@kᵀ/√D, mask, softmax, @v written op by op",
    unfusedNotRun,
    dims,
    inputs,
    compared: [0],
    interp: false,
    tfjs(tf, x) {
      const { N, D } = dims;
      const q = f32(tf, x.q!);
      const k = f32(tf, x.k!);
      const v = f32(tf, x.v!);
      const m = new Float32Array(N * N);
      for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) m[i * N + j] = -Infinity;
      const mask = tf.tensor2d(m, [N, N]);
      const scale = 1 / Math.sqrt(D);
      return {
        run: () => [tf.tidy(() => tf.matMul(tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), mask)), v))],
        dispose: () => tf.dispose([q, k, v, mask]),
      };
    },
  };
}

/**
 * BiFormer BRA + LCE (examples/biformer-bra `bra`, methods.md §1) at BiFormer-T stage 2 on a 224²
 * image: 28×28 tokens, C=128, 4 heads, S=7 (16 tokens per region), topk=4 (64 keys per query).
 */
export function braCase(B = 1, H = 28, W = 28, C = 128, S = 7, topk = 4, heads = 4): BenchCase {
  const graph = graphOf("examples/biformer-bra/biformer-bra.attn", "bra", { S, topk, heads });
  const dims = { B, H, W, C };
  const r = randomInputs(graph, dims, 2);
  const inputs = {
    x: r.x!,
    wqkv: scaled(r.wqkv!, 1 / Math.sqrt(C)),
    bqkv: scaled(r.bqkv!, 0.1),
    wo: scaled(r.wo!, 1 / Math.sqrt(C)),
    bo: scaled(r.bo!, 0.1),
    wlce: scaled(r.wlce!, 1 / 5),
    blce: scaled(r.blce!, 0.1),
  };
  return {
    name: "BiFormer BRA + LCE",
    shape: `B=${B} ${H}×${W} C=${C} heads=${heads} S=${S} topk=${topk} f32`,
    graph,
    unfusedGraph: graph,
    dims,
    inputs,
    compared: [0],
    interp: true,
    tfjs(tf, x) {
      const h = H / S;
      const w = W / S;
      const T = h * w;
      const R = S * S;
      const d = C / heads;
      const X = f32(tf, x.x!);
      const wqkv = f32(tf, x.wqkv!);
      const bqkv = f32(tf, x.bqkv!);
      const wo = f32(tf, x.wo!);
      const bo = f32(tf, x.bo!);
      // LCE weights in TF.js's depthwise filter layout [kh, kw, C, 1] (a one-time weight conversion)
      const wl = tf.tidy(() => tf.reshape(tf.transpose(f32(tf, x.wlce!), [1, 2, 0]), [5, 5, C, 1]));
      const blce = f32(tf, x.blce!);
      const scale = 1 / Math.sqrt(C);
      const regions = (t: Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, S, h, S, w, C]), [0, 1, 3, 2, 4, 5]), [B, R, T, C]);
      const unregions = (t: Tensor) => tf.reshape(tf.transpose(tf.reshape(t, [B, S, S, h, w, C]), [0, 1, 3, 2, 4, 5]), [B, H, W, C]);
      const heads5 = (t: Tensor, n: number) => tf.transpose(tf.reshape(t, [B, R, n, heads, d]), [0, 1, 3, 2, 4]); // [B, R, M, n, d]
      const run = () =>
        tf.tidy(() => {
          const qkv = tf.add(tf.matMul(tf.reshape(X, [B * H * W, C]), wqkv), bqkv);
          const [q, k, v] = tf.split(tf.reshape(qkv, [B, H, W, 3 * C]), 3, 3) as [Tensor, Tensor, Tensor];
          const qr = tf.mul(regions(q), scale);
          const kr = regions(k);
          const vr = regions(v);
          // routing: region means, affinity shared by all heads, top-k regions per query region
          const ar = tf.matMul(tf.mean(qr, 2), tf.mean(kr, 2), false, true); // [B, R, R]
          const idx = tf.topk(ar, topk).indices; // [B, R, topk]
          // gather the routed K/V regions, then attention within the gathered keys
          const kg = tf.reshape(tf.gather(kr, idx, 1, 1), [B, R, topk * T, C]);
          const vg = tf.reshape(tf.gather(vr, idx, 1, 1), [B, R, topk * T, C]);
          const p = tf.softmax(tf.matMul(heads5(qr, T), heads5(kg, topk * T), false, true));
          const o = tf.reshape(tf.transpose(tf.matMul(p, heads5(vg, topk * T)), [0, 1, 3, 2, 4]), [B, R, T, C]);
          // + LCE(v) on the full image, then the output projection
          const lce = tf.add(tf.depthwiseConv2d(v as TF.Tensor4D, wl as TF.Tensor4D, 1, "same"), blce);
          const y = tf.add(tf.matMul(tf.reshape(tf.add(unregions(o), lce), [B * H * W, C]), wo), bo);
          return [tf.reshape(y, [B, H, W, C])];
        });
      return { run, dispose: () => tf.dispose([X, wqkv, bqkv, wo, bo, wl, blce]) };
    },
  };
}

/**
 * ToMe merge (examples/tome `tome_merge`, methods.md §2.2) at ViT-B/16's first merge: N=197 tokens
 * ([CLS] first), C=768, metric width D=64, r=16, one image.
 */
export function tomeCase(B = 1, N = 197, C = 768, D = 64, r = 16): BenchCase {
  const graph = graphOf("examples/tome/tome.attn", "tome_merge", { r });
  const dims = { B, N, C, D };
  const rin = randomInputs(graph, dims, 3);
  const inputs = { ...rin, size: { ...rin.size!, data: rin.size!.data.map((s) => 1 + (Math.abs(Math.round(s * 1000)) % 4)) } };
  return {
    name: "ToMe merge",
    shape: `B=${B} N=${N} C=${C} D=${D} r=${r} f32`,
    graph,
    unfusedGraph: graph,
    dims,
    inputs,
    compared: [0, 1],
    interp: true,
    tfjs(tf, x) {
      const na = Math.ceil(N / 2);
      const nb = Math.floor(N / 2);
      const X = f32(tf, x.x!);
      const metric = f32(tf, x.metric!);
      const size = f32(tf, x.size!);
      // S[:, 0, :] = -inf: the [CLS] token (A[0]) is never merged away
      const protect = tf.tensor2d(Float32Array.from({ length: na }, (_, i) => (i === 0 ? -Infinity : 0)), [na, 1]);
      const batchIds = tf.tensor2d(Int32Array.from({ length: B * r }, (_, i) => Math.floor(i / r)), [B, r], "int32");
      const even = (t: Tensor) => tf.stridedSlice(t, [0, 0, 0], t.shape, [1, 2, 1]);
      const odd = (t: Tensor) => tf.stridedSlice(t, [0, 1, 0], t.shape, [1, 2, 1]);
      const run = () =>
        tf.tidy(() => {
          const mn = tf.div(metric, tf.maximum(tf.norm(metric, 2, -1, true), 1e-12));
          const scores = tf.add(tf.matMul(even(mn), odd(mn), false, true), protect); // [B, na, nb]
          const nodeMax = tf.max(scores, -1);
          const nodeIdx = tf.argMax(scores, -1); // [B, na]
          const order = tf.topk(nodeMax, na).indices; // argsort descending
          const src = tf.slice(order, [0, 0], [B, r]);
          const unmSim = tf.slice(order, [0, r], [B, na - r]);
          // with a class token the kept A tokens go back to ascending order (cls first)
          const unm = tf.cast(tf.neg(tf.topk(tf.neg(tf.cast(unmSim, "float32")), na - r).values), "int32");
          const dst = tf.gather(nodeIdx, src, 1, 1); // [B, r]
          const where = tf.reshape(tf.stack([batchIds, dst], -1), [B * r, 2]);
          const merge = (t: Tensor) => {
            const c = t.shape[2]!;
            const tA = even(t);
            const kept = tf.gather(tA, unm, 1, 1);
            const moved = tf.reshape(tf.gather(tA, src, 1, 1), [B * r, c]);
            const tB = tf.add(odd(t), tf.scatterND(where, moved, [B, nb, c])); // scatter_reduce 'sum'
            return tf.concat([kept, tB], 1);
          };
          const s3 = tf.expandDims(size, 2);
          const den = merge(s3);
          return [tf.div(merge(tf.mul(X, s3)), den), tf.squeeze(den, [2])];
        });
      return { run, dispose: () => tf.dispose([X, metric, size, protect, batchIds]) };
    },
  };
}
