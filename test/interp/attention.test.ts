import { describe, expect, it } from "vitest";
import { GraphBuilder, type AttentionOptions, type Tensor } from "../../compiler/graph/builder.ts";
import { randomInputs } from "../../compiler/graph/interp.ts";
import { S, bool, close, f32, i32, interpret, run, t, vals } from "./helpers.ts";

type Mat = number[][];
const rows = (data: ArrayLike<number>, r: number, c: number, off = 0): Mat =>
  Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => data[off + i * c + j]!));

/**
 * Naive attention of one head in double: s_ij = logit(scale·q_i·k_j, i, j) (+ bias_j), keys with
 * keep(i, j) false or s = -inf dropped, p = softmax, o_i = Σ p_ij·g_j·v_j.
 */
function naive(q: Mat, k: Mat, v: Mat, scale: number, o: { keep?: (i: number, j: number) => boolean; logit?: (s: number, i: number, j: number) => number; bias?: number[]; gain?: number[] } = {}) {
  const out: Mat = [];
  const lse: number[] = [];
  const P: Mat = [];
  q.forEach((qi, i) => {
    const s = k.map((kj, j) => {
      if (o.keep && !o.keep(i, j)) return -Infinity;
      let z = scale * qi.reduce((acc, x, d) => acc + x * kj[d]!, 0);
      if (o.logit) z = o.logit(z, i, j);
      return z + (o.bias?.[j] ?? 0);
    });
    const m = Math.max(...s);
    if (m === -Infinity || s.length === 0) {
      out.push(v[0] ? v[0].map(() => 0) : []);
      lse.push(-Infinity);
      P.push(s.map(() => 0));
      return;
    }
    const e = s.map((z) => Math.exp(z - m));
    const sum = e.reduce((a, b) => a + b, 0);
    const p = e.map((x) => x / sum);
    P.push(p);
    lse.push(m + Math.log(sum));
    out.push(v[0]!.map((_, c) => p.reduce((acc, pj, j) => acc + pj * (o.gain?.[j] ?? 1) * v[j]![c]!, 0)));
  });
  return { o: out, lse, p: P };
}

const flat = (m: Mat): number[] => m.flat();

describe("attention", () => {
  it("a hand-computed case: logits [1, 0] → p = [e, 1]/(e + 1)", () => {
    const r = run((b) => b.attention(b.input("q", "f32", [1, 2]), b.input("k", "f32", [2, 2]), b.input("v", "f32", [2, 2]), { scale: 1, returns: [{ kind: "lse" }] }) as Tensor[], {
      q: f32([1, 2], [1, 0]), k: f32([2, 2], [1, 0, 0, 1]), v: f32([2, 2], [1, 2, 3, 4]),
    });
    // p0 = e/(e+1) = 0.7310585786300049; o = [3 - 2p0, 4 - 2p0]; lse = ln(1 + e)
    expect(vals(r.outputs[0]!)).toEqual([Math.fround(1.5378828427399902), Math.fround(2.53788284273999)]);
    expect(vals(r.outputs[1]!)).toEqual([Math.fround(1.3132616875182228)]);
  });

  it("dense multi-head attention equals softmax(QKᵀ/√D)V computed naively", () => {
    const B = 2, H = 2, Nq = 3, Nk = 5, D = 4, Dv = 3;
    const b = new GraphBuilder();
    const q = b.input("q", "f32", [B, H, Nq, D]);
    const k = b.input("k", "f32", [B, H, Nk, D]);
    const v = b.input("v", "f32", [B, H, Nk, Dv]);
    const g = b.finish(b.attention(q, k, v, { returns: [{ kind: "lse" }] }) as Tensor[]);
    const inp = randomInputs(g, {}, 7);
    const r = interpret(g, inp);
    const wantO: number[] = [];
    const wantL: number[] = [];
    for (let h = 0; h < B * H; h++) {
      const n = naive(rows(inp.q!.data, Nq, D, h * Nq * D), rows(inp.k!.data, Nk, D, h * Nk * D), rows(inp.v!.data, Nk, Dv, h * Nk * Dv), 1 / Math.sqrt(D));
      wantO.push(...flat(n.o));
      wantL.push(...n.lse);
    }
    expect(r.outputs[0]!.shape).toEqual([B, H, Nq, Dv]);
    expect(close(vals(r.outputs[0]!), wantO, 1e-6)).toBe(true);
    expect(close(vals(r.outputs[1]!), wantL, 1e-6)).toBe(true);
  });

  it("batch axes broadcast (shared keys/values)", () => {
    const b = new GraphBuilder();
    const g = b.finish([b.attention(b.input("q", "f32", [2, 2, 3]), b.input("k", "f32", [1, 4, 3]), b.input("v", "f32", [4, 2]), { scale: 0.7 }) as Tensor]);
    const inp = randomInputs(g, {}, 3);
    const r = interpret(g, inp);
    const want: number[] = [];
    for (let t2 = 0; t2 < 2; t2++) want.push(...flat(naive(rows(inp.q!.data, 2, 3, t2 * 6), rows(inp.k!.data, 4, 3), rows(inp.v!.data, 4, 2), 0.7).o));
    expect(r.outputs[0]!.shape).toEqual([2, 2, 2]);
    expect(close(vals(r.outputs[0]!), want, 1e-6)).toBe(true);
  });

  /** One head of Nq queries, Nk keys, D = Dv = 2, with fixed data. */
  const Q = [0.5, -1, 1, 0.25, -0.75, 0.5];
  const K = [1, 0, 0.5, -0.5, -1, 1, 0.25, 0.75];
  const V = [1, 2, 3, 4, 5, 6, 7, 8];
  const head = { q: f32([3, 2], Q), k: f32([4, 2], K), v: f32([4, 2], V) };
  const attn = (opts: (b: GraphBuilder, idx?: unknown) => AttentionOptions, extra: Record<string, import("../../compiler/graph/interp.ts").HostTensor> = {}, dims?: Record<string, number>) =>
    run((b) => {
      const o = b.attention(b.input("q", "f32", [3, 2]), b.input("k", "f32", [4, 2]), b.input("v", "f32", [4, 2]), opts(b));
      return Array.isArray(o) ? o : [o];
    }, { ...head, ...extra }, dims);
  const nq = rows(Q, 3, 2), nk = rows(K, 4, 2), nv = rows(V, 4, 2);

  it("causal mask hook", () => {
    const r = attn(() => ({ mask: ([i, j]) => S.le(j!, i!) }));
    const want = naive(nq, nk, nv, 1 / Math.sqrt(2), { keep: (i, j) => j <= i });
    expect(close(vals(r.outputs[0]!), flat(want.o))).toBe(true);
    expect(vals(r.outputs[0]!).slice(0, 2)).toEqual([1, 2]); // row 0 sees only key 0
  });

  it("a fully masked row gives o = 0, lse = -inf, probs 0, mass 0, never NaN", () => {
    const r = attn((b) => ({
      mask: ([i]) => S.gt(i!, 0),
      returns: [{ kind: "lse" }, { kind: "probs", rows: b.input("rows", "i32", [2]) }, { kind: "mass", keys: b.input("keys", "bool", [4]) }],
    }), { rows: i32([2], [0, 1]), keys: bool([4], [1, 1, 0, 1]) });
    const [o, lse, probs, mass] = r.outputs.map(vals) as [number[], number[], number[], number[]];
    expect(o.slice(0, 2)).toEqual([0, 0]);
    expect(lse[0]).toBe(-Infinity);
    expect(probs.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(mass[0]).toBe(0);
    for (const x of [...o, ...lse, ...probs, ...mass]) expect(Number.isNaN(x)).toBe(false);
    const want = naive(nq, nk, nv, 1 / Math.sqrt(2));
    expect(close(o.slice(2), flat(want.o).slice(2))).toBe(true);
    expect(close(probs.slice(4), want.p[1]!)).toBe(true);
    expect(close(mass.slice(1), [1, 2].map((i) => want.p[i]![0]! + want.p[i]![1]! + want.p[i]![3]!))).toBe(true);
  });

  it("no keys at all: every row is masked", () => {
    const r = run((b) => b.attention(b.input("q", "f32", [2, 2]), b.input("k", "f32", [0, 2]), b.input("v", "f32", [0, 3]), { returns: [{ kind: "lse" }] }) as Tensor[], {
      q: f32([2, 2], [1, 2, 3, 4]), k: f32([0, 2], []), v: f32([0, 3], []),
    });
    expect(vals(r.outputs[0]!)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(vals(r.outputs[1]!)).toEqual([-Infinity, -Infinity]);
  });

  it("score hooks: ALiBi-like slope, softcap, and -inf masking", () => {
    const alibi = attn(() => ({ score: (s, [i, j]) => S.sub(s, S.mul(S.cast(S.binary("max", S.sub(i!, j!), S.sub(j!, i!)), "f32"), 0.5)) }));
    const wantA = naive(nq, nk, nv, 1 / Math.sqrt(2), { logit: (s, i, j) => s - 0.5 * Math.abs(i - j) });
    expect(close(vals(alibi.outputs[0]!), flat(wantA.o))).toBe(true);
    const cap = attn(() => ({ scale: 3, score: (s) => S.mul(S.unary("tanh", S.div(s, 5)), 5) }));
    const wantC = naive(nq, nk, nv, 3, { logit: (s) => 5 * Math.tanh(s / 5) });
    expect(close(vals(cap.outputs[0]!), flat(wantC.o))).toBe(true);
    const inf = attn(() => ({ score: (s, [i, j]) => S.select(S.gt(j!, i!), -Infinity, s) }));
    const causal = attn(() => ({ mask: ([i, j]) => S.le(j!, i!) }));
    expect(vals(inf.outputs[0]!)).toEqual(vals(causal.outputs[0]!));
  });

  it("the identity score hook changes nothing", () => {
    expect(vals(attn(() => ({ score: (s) => s })).outputs[0]!)).toEqual(vals(attn(() => ({})).outputs[0]!));
  });

  it("per-key bias (with -inf) and value scale", () => {
    const bias = [0, -Infinity, 1, 0.5];
    const gain = [1, 2, 0.5, 0];
    const r = attn((b) => ({ bias: b.input("bias", "f32", [4]), valueScale: b.input("g", "f32", [4]) }), { bias: f32([4], bias), g: f32([4], gain) });
    const want = naive(nq, nk, nv, 1 / Math.sqrt(2), { bias, gain });
    expect(close(vals(r.outputs[0]!), flat(want.o))).toBe(true);
  });

  it("a mask hook can load a tensor", () => {
    const m = [1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0];
    const r = attn((b) => {
      const mt = b.input("m", "bool", [3, 4]);
      return { mask: ([i, j]) => S.load(mt, [i!, j!]) };
    }, { m: bool([3, 4], m) });
    const want = naive(nq, nk, nv, 1 / Math.sqrt(2), { keep: (i, j) => m[i * 4 + j] === 1 });
    expect(close(vals(r.outputs[0]!), flat(want.o))).toBe(true);
  });

  it("probs of chosen rows (row -1 gives zeros) and mass on a key subset", () => {
    const r = attn((b) => ({ returns: [{ kind: "probs", rows: b.input("rows", "i32", [3]) }, { kind: "mass", keys: b.input("keys", "bool", [4]) }] }), {
      rows: i32([3], [2, -1, 0]), keys: bool([4], [1, 0, 1, 0]),
    });
    const want = naive(nq, nk, nv, 1 / Math.sqrt(2));
    expect(r.outputs[1]!.shape).toEqual([3, 4]);
    expect(close(vals(r.outputs[1]!), [...want.p[2]!, 0, 0, 0, 0, ...want.p[0]!])).toBe(true);
    expect(close(vals(r.outputs[2]!), want.p.map((p) => p[0]! + p[2]!))).toBe(true);
    expect(r.errorFlag).toBe(false);
    const bad = attn((b) => ({ returns: [{ kind: "probs", rows: b.input("rows", "i32", [1]) }] }), { rows: i32([1], [3]) });
    expect(bad.errorFlag).toBe(true);
    expect(vals(bad.outputs[1]!)).toEqual([0, 0, 0, 0]);
  });

  describe("block routes", () => {
    // Nq = 4, Nk = 6, blockQ = blockK = 2: 2 query blocks, 3 key blocks
    const q4 = [1, 0, 0, 1, 0.5, 0.5, -1, 0.25];
    const k6 = [1, 0, 0, 1, 1, 1, -1, 0, 0, -1, 0.5, -0.5];
    const v6 = [1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60];
    const routed = (route: number[], R: number) =>
      run((b) => b.attention(b.input("q", "f32", [4, 2]), b.input("k", "f32", [6, 2]), b.input("v", "f32", [6, 2]), {
        scale: 1,
        blocks: { route: b.input("r", "i32", [2, R]), blockQ: 2, blockK: 2 },
        returns: [{ kind: "lse" }],
      }) as Tensor[], { q: f32([4, 2], q4), k: f32([6, 2], k6), v: f32([6, 2], v6), r: i32([2, R], route) });
    /** Dense attention of query rows `qi` over the listed keys (duplicates included), in double. */
    const gathered = (qi: number[], keys: number[]) =>
      naive(qi.map((i) => q4.slice(2 * i, 2 * i + 2)), keys.map((j) => k6.slice(2 * j, 2 * j + 2)), keys.map((j) => v6.slice(2 * j, 2 * j + 2)), 1);

    it("equals dense attention over the gathered key blocks; -1 entries are skipped", () => {
      // query block 0 (queries 0, 1) → key blocks 0 and 2 = keys 0, 1, 4, 5; query block 1 → key block 1 = keys 2, 3
      const r = routed([0, 2, 1, -1], 2);
      const a = gathered([0, 1], [0, 1, 4, 5]);
      const c = gathered([2, 3], [2, 3]);
      expect(close(vals(r.outputs[0]!), [...flat(a.o), ...flat(c.o)])).toBe(true);
      expect(close(vals(r.outputs[1]!), [...a.lse, ...c.lse])).toBe(true);
      expect(r.errorFlag).toBe(false);
    });
    it("duplicate entries count twice; a row routed nowhere is fully masked", () => {
      const r = routed([0, 0, 1, -1, -1, -1], 3);
      const a = gathered([0, 1], [0, 1, 0, 1, 2, 3]);
      expect(close(vals(r.outputs[0]!).slice(0, 4), flat(a.o))).toBe(true);
      expect(close(vals(r.outputs[1]!).slice(0, 2), a.lse)).toBe(true);
      expect(vals(r.outputs[0]!).slice(4)).toEqual([0, 0, 0, 0]);
      expect(vals(r.outputs[1]!).slice(2)).toEqual([-Infinity, -Infinity]);
    });
    it("out-of-range route entries are skipped and flag", () => {
      const r = routed([0, 3, 1, -2], 2);
      expect(r.errorFlag).toBe(true);
      expect(r.errors[0]!.node.op).toBe("attention");
      const a = gathered([0, 1], [0, 1]);
      const c = gathered([2, 3], [2, 3]);
      expect(close(vals(r.outputs[0]!), [...flat(a.o), ...flat(c.o)])).toBe(true);
    });
    it("a partial last key block holds only the existing keys", () => {
      // blockK = 4: key block 1 = keys 4, 5 only
      const r = run((b) => b.attention(b.input("q", "f32", [4, 2]), b.input("k", "f32", [6, 2]), b.input("v", "f32", [6, 2]), {
        scale: 1, blocks: { route: b.input("r", "i32", [1, 1]), blockQ: 4, blockK: 4 },
      }) as Tensor, { q: f32([4, 2], q4), k: f32([6, 2], k6), v: f32([6, 2], v6), r: i32([1, 1], [1]) });
      expect(close(vals(r.outputs[0]!), flat(gathered([0, 1, 2, 3], [4, 5]).o))).toBe(true);
      expect(r.errorFlag).toBe(false);
    });
  });

  it("f16 inputs give an f16 output rounded once", () => {
    const r = run((b) => b.attention(b.input("q", "f16", [3, 2]), b.input("k", "f16", [4, 2]), b.input("v", "f16", [4, 2])) as Tensor, {
      q: t("f16", [3, 2], Q), k: t("f16", [4, 2], K), v: t("f16", [4, 2], V),
    });
    expect(r.outputs[0]!.dtype).toBe("f16");
    const want = flat(naive(nq, nk, nv, 1 / Math.sqrt(2)).o);
    const got = vals(r.outputs[0]!);
    expect(close(got, want, 2e-3)).toBe(true);
    // every value is an f16 value: 11 significant bits
    for (const x of got) expect(Number.isInteger(x * 2 ** (10 - Math.floor(Math.log2(Math.abs(x)))))).toBe(true);
  });

  it("symbolic head dim: scale 1/√D resolved at run time", () => {
    const r = run((b) => b.attention(b.input("q", "f32", [1, "D"]), b.input("k", "f32", [2, "D"]), b.input("v", "f32", [2, 1])) as Tensor, {
      q: f32([1, 4], [1, 1, 1, 1]), k: f32([2, 4], [1, 1, 1, 1, 0, 0, 0, 0]), v: f32([2, 1], [1, 0]),
    });
    // logits [4/2, 0] = [2, 0] → o = e²/(e² + 1)
    expect(vals(r.outputs[0]!)).toEqual([Math.fround(Math.exp(2) / (Math.exp(2) + 1))]);
  });
});
