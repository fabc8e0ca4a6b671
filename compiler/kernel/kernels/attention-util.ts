/**
 * Pieces of the attention kernels (attention.ts) shared with its CUDA variants: kernel-IR helpers,
 * fresh-name statement emission, and step 3 of the main kernel with warp reductions.
 */
import { K, type KExpr, type KMma, type KStmt, type KType } from "../ir.ts";
import { KernelScope, castK } from "../sexpr-to-kernel.ts";

export const NEG_INF = K.f32(-Infinity);
/**
 * ±inf tests on the bits: float comparisons with NaN operands are not reliable on every target
 * (WGSL allows assuming no NaN/inf; SwiftShader gives NaN != -inf = false).
 */
export const bits = (x: KExpr): KExpr => ({ k: "bitcast", a: x, t: "u32" });
export const isNegInf = (x: KExpr): KExpr => K.bin("eq", bits(x), K.u32(0xff800000));
export const isPosInf = (x: KExpr): KExpr => K.bin("eq", bits(x), K.u32(0x7f800000));
export const NAN = K.f32(NaN);
export const ZERO = K.f32(0);
/** p of a removed key in the scalar kernels: 0, so p·v adds nothing for a finite v. */
export const REMOVED: KExpr = ZERO;
export const nextPow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

export const and = (a: KExpr, b: KExpr): KExpr => K.bin("and", a, b);
export const not = (a: KExpr): KExpr => K.un("not", a, "bool");
export const lt = (a: KExpr, b: KExpr): KExpr => K.bin("lt", a, b);
export const fadd = (a: KExpr, b: KExpr): KExpr => K.bin("add", a, b);
export const fmul = (a: KExpr, b: KExpr): KExpr => K.bin("mul", a, b);
export const sload = (arr: string, index: KExpr): KExpr => ({ k: "sload", arr, index, t: "f32" });
export const sstore = (arr: string, index: KExpr, value: KExpr): KStmt => ({ k: "sstore", arr, index, value });
export const iff = (cond: KExpr, then: KStmt[], els?: KStmt[]): KStmt => (els && els.length ? { k: "if", cond, then, else: els } : { k: "if", cond, then });
export const assign = (v: KExpr, value: KExpr): KStmt => {
  if (v.k !== "var") throw new Error("assign to a non-variable");
  return { k: "assign", name: v.name, value };
};
export const BARRIER: KStmt = { k: "barrier" };
export const setFlag = (flag: string): KStmt => ({ k: "store", buf: flag, index: K.i32(0), value: K.u32(1) });

/** Statement emission with fresh names. */
export class Em {
  constructor(readonly sc: KernelScope) {}
  /** A fresh name that is not a type name of a target (i32, f16, u8, ...). */
  name(prefix: string): string {
    for (;;) {
      const n = this.sc.fresh(prefix);
      if (!/^(i|u|f|bf)\d+$/.test(n)) return n;
    }
  }
  let(out: KStmt[], prefix: string, init: KExpr): KExpr {
    if (init.k === "var" || init.k === "const") return init;
    const name = this.name(prefix);
    out.push({ k: "let", name, t: init.t, init, mutable: false });
    return K.v(name, init.t);
  }
  mut(out: KStmt[], prefix: string, init: KExpr): KExpr {
    const name = this.name(prefix);
    out.push({ k: "let", name, t: init.t, init, mutable: true });
    return K.v(name, init.t);
  }
  /** for (v = start; v < end; v += step) body(v). */
  loop(out: KStmt[], prefix: string, start: KExpr, end: KExpr, step: number, body: (v: KExpr, out: KStmt[]) => void): void {
    const name = this.name(prefix);
    const b: KStmt[] = [];
    body(K.v(name, "i32"), b);
    out.push({ k: "for", var: name, start, end, step, body: b });
  }
  /** A load that reads 0 unless `ok` (never touches memory otherwise). */
  guardedLoad(out: KStmt[], ok: KExpr, buf: string, index: KExpr, t: Parameters<typeof K.load>[2], zero: KExpr): KExpr {
    const v = this.mut(out, "g", zero);
    out.push(iff(ok, [assign(v, K.load(buf, index, t))]));
    return v;
  }
}

/** A warp matrix multiply-accumulate statement (ir.ts KMma). */
export function mmaStmt(ab: KType, a: KMma["a"], b: KMma["b"], c: KMma["c"], ksteps: number, acc: boolean): KStmt {
  if (ab !== "f16" && ab !== "bf16") throw new Error(`attention: no wmma for ${ab}`);
  return { k: "mma", ab, a, b, c, ksteps, acc };
}

/** What step 3 with warp reductions needs from the main kernel. */
export interface RowStatsCtx {
  readonly em: Em;
  /** This thread's key column (tid % TK) and first row (tid / TK). */
  readonly col: KExpr;
  readonly row0: KExpr;
  readonly WG: number;
  readonly TK: number;
  readonly Tq: number;
  /** wmma variant: P = hi + lo into ph (packed hT), O rescaled here. */
  readonly tc: boolean;
  readonly hT: KType;
  readonly Dvc: number;
  /** mass returns: per-key bool tensors, read at key j. */
  readonly massKeys: readonly { readonly buf: string }[];
  keyIndex(p: { readonly buf: string }, j: KExpr): KExpr;
}

/**
 * Step 3 with warp reductions: the TK lanes tid % TK of row tid / TK (+ n·WG/TK) hold one logit
 * each; max, sum and the restricted sums are butterfly reductions over those lanes (every lane
 * takes part, rows ≥ Tq included, so the shuffles see converged warps), lane 0 stores the row.
 * p (or 0 for a removed key, −1 with wmma) goes back into sp; wmma also writes P = hi + lo into ph (0 for
 * removed keys) and the row's lanes rescale O's row by α.
 */
export function rowStatsWarp(x: RowStatsCtx, out: KStmt[], kStart: KExpr, kt: KExpr): void {
  const { em, col, row0, WG, TK, Tq, tc, hT, Dvc, massKeys } = x;
  const step = WG / TK;
  for (let pass = 0; pass * step < Tq; pass++) {
    const r = pass === 0 ? row0 : em.let(out, "rw", K.add(row0, K.i32(pass * step)));
    const partial = (pass + 1) * step > Tq;
    const rc = partial ? em.let(out, "rwc", K.bin("min", r, K.i32(Tq - 1))) : r;
    const e = em.let(out, "e", K.add(K.mul(rc, K.i32(TK)), col));
    const sv = em.let(out, "sv", sload("sp", e));
    const mOld = em.let(out, "mo", sload("rm", rc));
    const mx = em.mut(out, "mx", sv);
    out.push({ k: "warp_reduce", op: "max", value: (mx as { name: string }).name, t: "f32", width: TK });
    const mNew = em.let(out, "mn", K.bin("max", mOld, mx));
    const alpha = em.let(out, "al", K.sel(isNegInf(mNew), K.f32(1), K.sel(isNegInf(mOld), ZERO, K.un("exp", K.bin("sub", mOld, mNew)))));
    const bad = em.let(out, "bad", K.bin("or", K.un("isnan", mNew), isPosInf(mNew)));
    const live = em.let(out, "live", not(isNegInf(sv)));
    // removed keys: −1 for wmma (its fix-up tests p ≥ 0), 0 for the scalar P·V
    const p = em.let(out, "p", K.sel(live, K.sel(bad, NAN, K.un("exp", K.bin("sub", sv, mNew))), tc ? K.f32(-1) : REMOVED));
    const pz = em.let(out, "pz", K.sel(live, p, ZERO));
    const ls = em.mut(out, "ls", pz);
    out.push({ k: "warp_reduce", op: "sum", value: (ls as { name: string }).name, t: "f32", width: TK });
    const ms = massKeys.map((mk) => {
      const m = em.mut(out, "ms", ZERO);
      const add: KStmt[] = [];
      const j = em.let(add, "j", K.add(kStart, K.add(kt, col)));
      add.push(iff(K.load(mk.buf, x.keyIndex(mk, j), "bool"), [assign(m, p)]));
      out.push(iff(live, add));
      out.push({ k: "warp_reduce", op: "sum", value: (m as { name: string }).name, t: "f32", width: TK });
      return m;
    });
    const w: KStmt[] = [];
    if (tc) {
      const hi = em.let(w, "ph", castK(pz, hT));
      const pr = em.let(w, "pr", K.mul(rc, K.i32(32)));
      w.push(sstore("ph", K.add(pr, col), hi), sstore("ph", K.add(K.add(pr, K.i32(16)), col), castK(K.bin("sub", pz, hi), hT)));
      em.loop(w, "oc", col, K.i32(Dvc), TK, (oc, lb) => {
        const oi = em.let(lb, "oi", K.add(K.mul(rc, K.i32(Dvc)), oc));
        lb.push(sstore("os", oi, fmul(sload("os", oi), alpha)));
      });
    }
    w.push(sstore("sp", e, p));
    // (wmma rescales O here, so α needs no workgroup copy)
    const lead: KStmt[] = [sstore("rm", rc, mNew), ...(tc ? [] : [sstore("ra", rc, alpha)]), sstore("rl", rc, fadd(fmul(sload("rl", rc), alpha), ls))];
    ms.forEach((m, n) => lead.push(sstore(`rs${n}`, rc, fadd(fmul(sload(`rs${n}`, rc), alpha), m))));
    w.push(iff(K.bin("eq", col, K.i32(0)), lead));
    if (partial) out.push(iff(lt(r, K.i32(Tq)), w));
    else out.push(...w);
  }
}
