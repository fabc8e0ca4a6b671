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
