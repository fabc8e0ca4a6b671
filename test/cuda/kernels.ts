/** Hand-built kernel IR with shared memory and barriers (lowering's generic kernels have none). */
import { ceilDiv, dim } from "../../compiler/graph/dim.ts";
import { K, type KExpr, type KStmt, type Kernel } from "../../compiler/kernel/ir.ts";

const WG = 64;
const g: KExpr = K.cast(K.gid(0), "i32");
const l: KExpr = K.cast(K.lid(0), "i32");
const N: KExpr = K.u("d_N");
const inRange: KExpr = K.bin("lt", K.v("g", "i32"), N);

const base = (name: string, body: KStmt[]): Kernel => ({
  name,
  workgroup: [WG, 1, 1],
  buffers: [
    { name: "x", t: "f32", access: "read" },
    { name: "out", t: "f32", access: "read_write" },
  ],
  uniforms: [{ name: "d_N", t: "i32" }],
  shared: [{ name: "s", t: "f32", size: WG }],
  body,
  dispatch: [ceilDiv("N", WG), dim(1), dim(1)],
});

const prologue: KStmt[] = [
  { k: "let", name: "g", t: "i32", init: g, mutable: false },
  { k: "let", name: "l", t: "i32", init: l, mutable: false },
  { k: "let", name: "v", t: "f32", init: K.f32(0), mutable: true },
  { k: "if", cond: inRange, then: [{ k: "assign", name: "v", value: K.load("x", K.v("g", "i32"), "f32") }] },
  { k: "sstore", arr: "s", index: K.v("l", "i32"), value: K.v("v", "f32") },
];

/** out[g] = x[(block start) + 63 − l] (0 past N): each thread reads what another wrote. */
export function reverseKernel(barrier: boolean): Kernel {
  return base(barrier ? "reverse_block" : "reverse_block_nobarrier", [
    ...prologue,
    ...(barrier ? [{ k: "barrier" } as const] : []),
    { k: "if", cond: inRange, then: [{ k: "store", buf: "out", index: K.v("g", "i32"), value: { k: "sload", arr: "s", index: K.sub(K.i32(WG - 1), K.v("l", "i32")), t: "f32" } }] },
  ]);
}

/** Tree sum per block (barriers inside a counted loop): out[g] = Σ x over g's block. */
export function blockSumKernel(): Kernel {
  const stride = K.bin("shr", K.i32(WG / 2), K.v("it", "i32"));
  return base("block_sum", [
    ...prologue,
    { k: "barrier" },
    {
      k: "for", var: "it", start: K.i32(0), end: K.i32(Math.log2(WG)), step: 1, body: [
        { k: "let", name: "st", t: "i32", init: stride, mutable: false },
        { k: "if", cond: K.bin("lt", K.v("l", "i32"), K.v("st", "i32")), then: [
          { k: "sstore", arr: "s", index: K.v("l", "i32"), value: K.add({ k: "sload", arr: "s", index: K.v("l", "i32"), t: "f32" }, { k: "sload", arr: "s", index: K.add(K.v("l", "i32"), K.v("st", "i32")), t: "f32" }) },
        ] },
        { k: "barrier" },
      ],
    },
    { k: "if", cond: inRange, then: [{ k: "store", buf: "out", index: K.v("g", "i32"), value: { k: "sload", arr: "s", index: K.i32(0), t: "f32" } }] },
  ]);
}

/** A barrier that only half of the block reaches (undefined behaviour in CUDA). */
export function divergentBarrierKernel(): Kernel {
  return base("divergent_barrier", [
    ...prologue,
    { k: "if", cond: K.bin("lt", K.v("l", "i32"), K.i32(WG / 2)), then: [{ k: "barrier" }] },
    { k: "if", cond: inRange, then: [{ k: "store", buf: "out", index: K.v("g", "i32"), value: { k: "sload", arr: "s", index: K.v("l", "i32"), t: "f32" } }] },
  ]);
}

/** Expected results on the host. */
export function expectReverse(x: readonly number[]): number[] {
  return x.map((_, gi) => {
    const j = gi - (gi % WG) + (WG - 1 - (gi % WG));
    return j < x.length ? x[j]! : 0;
  });
}

export function expectBlockSum(x: readonly number[]): number[] {
  const sums: number[] = [];
  for (let b = 0; b * WG < x.length; b++) {
    // the same pairwise tree as the kernel, in f32
    const s = Array.from({ length: WG }, (_, i) => (b * WG + i < x.length ? Math.fround(x[b * WG + i]!) : 0));
    for (let st = WG / 2; st >= 1; st >>= 1) for (let i = 0; i < st; i++) s[i] = Math.fround(s[i]! + s[i + st]!);
    sums.push(s[0]!);
  }
  return x.map((_, gi) => sums[Math.floor(gi / WG)]!);
}

// ── warp collectives (kernel IR that only CUDA variants contain) ──────────────────────────────

const lt = (a: KExpr, b: KExpr): KExpr => K.bin("lt", a, b);
const ld = (arr: string, index: KExpr): KExpr => ({ k: "sload", arr, index, t: "f32" });

/**
 * out[g] = the warp reduction (`op` over groups of `width` lanes) of v = x[g] (0 past N); argmax
 * writes the winning index (the global id) as f32. `divergent`: only lanes < 16 reach it.
 */
export function warpReduceKernel(op: "sum" | "max" | "min" | "argmax", width: number, divergent = false): Kernel {
  const red: KStmt[] = [{ k: "warp_reduce", op, value: "v", t: "f32", width, ...(op === "argmax" ? { index: "ix" } : {}) }];
  return {
    ...base(`warp_${op}_${width}${divergent ? "_divergent" : ""}`, [
      ...prologue.slice(0, 4),
      { k: "let", name: "ix", t: "i32", init: K.v("g", "i32"), mutable: true },
      ...(divergent ? [{ k: "if", cond: lt(K.v("l", "i32"), K.i32(16)), then: red } as const] : red),
      { k: "if", cond: inRange, then: [{ k: "store", buf: "out", index: K.v("g", "i32"), value: op === "argmax" ? K.cast(K.v("ix", "i32"), "f32") : K.v("v", "f32") }] },
    ]),
    shared: [],
  };
}

/** The warp reduction on the host, step by step as the butterfly does it (f32). */
export function expectWarpReduce(x: readonly number[], op: "sum" | "max" | "min" | "argmax", width: number): number[] {
  const n = Math.ceil(x.length / WG) * WG;
  const v = Array.from({ length: n }, (_, i) => (i < x.length ? Math.fround(x[i]!) : 0));
  const ix = Array.from({ length: n }, (_, i) => i);
  for (let o = width / 2; o >= 1; o >>= 1) {
    const pv = [...v];
    const pi = [...ix];
    for (let i = 0; i < n; i++) {
      const j = i ^ o;
      const [a, b] = [pv[i]!, pv[j]!];
      if (op === "sum") v[i] = Math.fround(a + b);
      else if (op === "max" || op === "min") v[i] = Number.isNaN(a) || Number.isNaN(b) ? NaN : op === "max" ? Math.max(a, b) : Math.min(a, b);
      else {
        const an = Number.isNaN(a);
        const bn = Number.isNaN(b);
        const take = an || bn ? bn && (!an || pi[j]! < pi[i]!) : b > a || (b === a && pi[j]! < pi[i]!);
        if (take) {
          v[i] = b;
          ix[i] = pi[j]!;
        }
      }
    }
  }
  return x.map((_, i) => (op === "argmax" ? ix[i]! : v[i]!));
}

/** Layout of the mma test: A 16×32 (ld 40), B 32×16 stored per `layout` (ld 40), C 16×16 (ld 24). */
export const MMA_TEST = { lda: 40, ldb: 40, ldc: 24, ksteps: 2, aFrom: 0, bFrom: 640, cFrom: 1280, n: 2048 } as const;

/**
 * One warp: A, B (rounded to `ab`) and C from x, C ← C + A·B over k < 32 with one `mma` (two k
 * steps), then out[i·16 + j] = C[i][j]. B's tile is stored row-major (B[k][j] at k·ld + j) or
 * column-major (at j·ld + k).
 */
export function mmaKernel(ab: "f16" | "bf16", layout: "row" | "col", acc = true): Kernel {
  const { lda, ldb, ldc, ksteps, aFrom, bFrom, cFrom } = MMA_TEST;
  const t = K.v("l", "i32");
  const fill = (arr: string, size: number, from: number, cast: boolean): KStmt => ({
    k: "for", var: `f_${arr}`, start: t, end: K.i32(size), step: 32, body: [
      { k: "sstore", arr, index: K.v(`f_${arr}`, "i32"), value: (() => {
        const x = K.load("x", K.add(K.v(`f_${arr}`, "i32"), K.i32(from)), "f32");
        return cast ? K.cast(x, ab) : x;
      })() },
    ],
  });
  return {
    name: `mma_${ab}_${layout}${acc ? "" : "_noacc"}`,
    workgroup: [32, 1, 1],
    buffers: [
      { name: "x", t: "f32", access: "read" },
      { name: "out", t: "f32", access: "read_write" },
    ],
    uniforms: [{ name: "d_N", t: "i32" }],
    shared: [
      { name: "ma", t: ab, size: 16 * lda, packed: true },
      { name: "mb", t: ab, size: 32 * ldb, packed: true },
      { name: "mc", t: "f32", size: 16 * ldc },
    ],
    body: [
      { k: "let", name: "l", t: "i32", init: l, mutable: false },
      fill("ma", 16 * lda, aFrom, true),
      fill("mb", 32 * ldb, bFrom, true),
      fill("mc", 16 * ldc, cFrom, false),
      { k: "barrier" },
      { k: "mma", ab, a: { arr: "ma", offset: K.i32(0), ld: lda }, b: { arr: "mb", offset: K.i32(0), ld: ldb, layout }, c: { arr: "mc", offset: K.i32(0), ld: ldc }, ksteps, acc },
      { k: "barrier" },
      {
        k: "for", var: "e", start: t, end: K.i32(256), step: 32, body: [
          { k: "store", buf: "out", index: K.v("e", "i32"), value: ld("mc", K.add(K.mul(K.bin("div", K.v("e", "i32"), K.i32(16)), K.i32(ldc)), K.bin("mod", K.v("e", "i32"), K.i32(16)))) },
        ],
      },
    ],
    dispatch: [dim(1), dim(1), dim(1)],
  };
}

/** The scalar product the mma test must give: C + Σ_k A[i][k]·B[k][j], k in order, in f32. */
export function expectMma(x: readonly number[], round: (v: number) => number, layout: "row" | "col", acc = true): number[] {
  const { lda, ldb, ldc, aFrom, bFrom, cFrom } = MMA_TEST;
  const out = new Array<number>(x.length).fill(0);
  for (let i = 0; i < 16; i++)
    for (let j = 0; j < 16; j++) {
      let s = acc ? Math.fround(x[cFrom + i * ldc + j]!) : 0;
      for (let k = 0; k < 32; k++) {
        const a = round(x[aFrom + i * lda + k]!);
        const b = round(x[bFrom + (layout === "row" ? k * ldb + j : j * ldb + k)]!);
        s = Math.fround(s + Math.fround(a * b));
      }
      out[i * 16 + j] = s;
    }
  return out;
}
