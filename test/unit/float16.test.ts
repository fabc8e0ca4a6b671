import { describe, expect, it } from "vitest";
import {
  BF16_MAX,
  BF16_MIN_SUBNORMAL,
  F16_MAX,
  F16_MIN_NORMAL,
  F16_MIN_SUBNORMAL,
  bf16Bits,
  bf16FromBits,
  f16Bits,
  f16FromBits,
  roundBF16,
  roundBF16FromF32,
  roundF16,
  roundF32,
} from "../../compiler/util/float16.ts";

const dv = new DataView(new ArrayBuffer(8));

/** The next double above x (x finite, > 0). */
function nextUp(x: number): number {
  dv.setFloat64(0, x);
  dv.setBigUint64(0, dv.getBigUint64(0) + 1n);
  return dv.getFloat64(0);
}

/** The next double below x (x finite, > 0). */
function nextDown(x: number): number {
  dv.setFloat64(0, x);
  dv.setBigUint64(0, dv.getBigUint64(0) - 1n);
  return dv.getFloat64(0);
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Format {
  name: string;
  round: (x: number) => number;
  bits: (x: number) => number;
  fromBits: (b: number) => number;
  expBits: number;
  fracBits: number;
  nanBits: number;
  max: number;
  minSub: number;
}

const formats: Format[] = [
  {
    name: "f16",
    round: roundF16,
    bits: f16Bits,
    fromBits: f16FromBits,
    expBits: 5,
    fracBits: 10,
    nanBits: 0x7e00,
    max: F16_MAX,
    minSub: F16_MIN_SUBNORMAL,
  },
  {
    name: "bf16",
    round: roundBF16,
    bits: bf16Bits,
    fromBits: bf16FromBits,
    expBits: 8,
    fracBits: 7,
    nanBits: 0x7fc0,
    max: BF16_MAX,
    minSub: BF16_MIN_SUBNORMAL,
  },
];

/** Independent decoding straight from the IEEE definition (no shared code with the module). */
function decodeRef(f: Format, bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> f.fracBits) & ((1 << f.expBits) - 1);
  const frac = bits & ((1 << f.fracBits) - 1);
  const bias = (1 << (f.expBits - 1)) - 1;
  if (exp === (1 << f.expBits) - 1) return frac === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * (frac / 2 ** f.fracBits) * 2 ** (1 - bias);
  return sign * (1 + frac / 2 ** f.fracBits) * 2 ** (exp - bias);
}

for (const f of formats) {
  const isNaNBits = (b: number) =>
    ((b >> f.fracBits) & ((1 << f.expBits) - 1)) === (1 << f.expBits) - 1 && (b & ((1 << f.fracBits) - 1)) !== 0;

  // All positive finite values in increasing order, with their bit patterns (0 .. max).
  const positives: { v: number; b: number }[] = [];
  for (let b = 0; b < 0x8000; b++) {
    const v = decodeRef(f, b);
    if (Number.isFinite(v)) positives.push({ v, b });
  }

  describe(`${f.name} exhaustive`, () => {
    it("fromBits matches the IEEE definition for all 65536 patterns", () => {
      for (let b = 0; b < 0x10000; b++) {
        const got = f.fromBits(b);
        const want = decodeRef(f, b);
        if (Number.isNaN(want)) {
          if (!Number.isNaN(got)) throw new Error(`bits 0x${b.toString(16)}: expected NaN, got ${got}`);
        } else if (!Object.is(got, want)) {
          throw new Error(`bits 0x${b.toString(16)}: expected ${want}, got ${got}`);
        }
      }
    });

    it("bits -> value -> bits round-trips for every non-NaN pattern; rounding is the identity on them", () => {
      let nanCount = 0;
      for (let b = 0; b < 0x10000; b++) {
        const v = f.fromBits(b);
        if (isNaNBits(b)) {
          nanCount++;
          expect(Number.isNaN(v)).toBe(true);
          if (f.bits(v) !== f.nanBits) throw new Error(`NaN bits 0x${b.toString(16)} re-encoded wrongly`);
          continue;
        }
        const back = f.bits(v);
        if (back !== b) throw new Error(`0x${b.toString(16)} -> ${v} -> 0x${back.toString(16)}`);
        const r = f.round(v);
        if (!Object.is(r, v)) throw new Error(`round(${v}) = ${r}, expected identity`);
      }
      expect(nanCount).toBe(2 * ((1 << f.fracBits) - 1));
    });

    it("every representable value is exactly an f32 value", () => {
      for (const { v } of positives) if (Math.fround(v) !== v) throw new Error(`${v} is not an f32 value`);
    });

    it("midpoints between neighbours round to the even pattern; one ulp (of double) off goes the other way", () => {
      for (let i = 0; i + 1 < positives.length; i++) {
        const lo = positives[i]!;
        const hi = positives[i + 1]!;
        const mid = (lo.v + hi.v) / 2; // exact in double
        const even = lo.b % 2 === 0 ? lo.v : hi.v;
        if (f.round(mid) !== even) throw new Error(`tie ${lo.v}|${hi.v}: got ${f.round(mid)}, want ${even}`);
        if (f.round(-mid) !== -even) throw new Error(`negative tie ${lo.v}|${hi.v}`);
        if (f.round(nextDown(mid)) !== lo.v) throw new Error(`below tie ${lo.v}|${hi.v}`);
        if (f.round(nextUp(mid)) !== hi.v) throw new Error(`above tie ${lo.v}|${hi.v}`);
        if (f.bits(mid) !== (lo.b % 2 === 0 ? lo.b : hi.b)) throw new Error(`tie bits ${lo.v}|${hi.v}`);
      }
    });

    it("agrees with a brute-force nearest-value search on random doubles", () => {
      const next = rng(f.name === "f16" ? 1234 : 5678);
      const values = positives.map((p) => p.v);
      const maxExp = Math.log2(f.max) + 1;
      const minExp = Math.log2(f.minSub) - 2;
      for (let n = 0; n < 20000; n++) {
        // Log-uniform magnitudes across the whole range, plus a little beyond both ends.
        const x = 2 ** (minExp + next() * (maxExp - minExp)) * (1 + next());
        // Binary search for the last representable value <= x.
        let lo = 0;
        let hi = values.length - 1;
        if (x >= values[hi]!) {
          const top = values[hi]!;
          const halfUlp = (top - values[hi - 1]!) / 2;
          const want = x >= top + halfUlp ? Infinity : top; // the tie above max rounds to even = overflow
          expect(f.round(x)).toBe(want);
          continue;
        }
        while (hi - lo > 1) {
          const m = (lo + hi) >> 1;
          if (values[m]! <= x) lo = m;
          else hi = m;
        }
        const a = values[lo]!;
        const b = values[hi]!;
        const want = x - a < b - x ? a : x - a > b - x ? b : positives[lo]!.b % 2 === 0 ? a : b;
        if (f.round(x) !== want) throw new Error(`round(${x}) = ${f.round(x)}, want ${want}`);
        if (f.round(-x) !== -want) throw new Error(`round(${-x}) sign`);
      }
    });
  });
}

describe("roundF16 special cases", () => {
  it("keeps NaN, infinities and signed zeros", () => {
    expect(roundF16(NaN)).toBeNaN();
    expect(roundF16(Infinity)).toBe(Infinity);
    expect(roundF16(-Infinity)).toBe(-Infinity);
    expect(Object.is(roundF16(0), 0)).toBe(true);
    expect(Object.is(roundF16(-0), -0)).toBe(true);
    expect(f16Bits(-0)).toBe(0x8000);
    expect(f16Bits(Infinity)).toBe(0x7c00);
    expect(f16Bits(-Infinity)).toBe(0xfc00);
    expect(f16Bits(NaN)).toBe(0x7e00);
  });

  it("overflows to infinity exactly from 65520 (the tie above 65504 rounds to even)", () => {
    expect(roundF16(65504)).toBe(65504);
    expect(roundF16(nextDown(65520))).toBe(65504);
    expect(roundF16(65520)).toBe(Infinity);
    expect(roundF16(-65520)).toBe(-Infinity);
    expect(roundF16(1e300)).toBe(Infinity);
    expect(f16Bits(70000)).toBe(0x7c00);
  });

  it("handles subnormals and underflow", () => {
    expect(roundF16(F16_MIN_SUBNORMAL)).toBe(2 ** -24);
    expect(f16Bits(2 ** -24)).toBe(0x0001);
    expect(Object.is(roundF16(2 ** -25), 0)).toBe(true); // tie between 0 and 2^-24 -> even (0)
    expect(roundF16(nextUp(2 ** -25))).toBe(2 ** -24);
    expect(roundF16(3 * 2 ** -25)).toBe(2 * 2 ** -24); // tie between 1 and 2 ulps -> 2
    expect(Object.is(roundF16(-(2 ** -26)), -0)).toBe(true);
    expect(Object.is(roundF16(-5e-324), -0)).toBe(true);
    expect(f16Bits(-(2 ** -26))).toBe(0x8000);
    expect(f16Bits(F16_MIN_NORMAL)).toBe(0x0400);
    expect(f16Bits(1023 * 2 ** -24)).toBe(0x03ff);
    // Largest subnormal + half an ulp is a tie: 1023 is odd, so it rounds up to the smallest normal.
    expect(roundF16(1023.5 * 2 ** -24)).toBe(F16_MIN_NORMAL);
  });

  it("rounds ordinary values to nearest even", () => {
    expect(roundF16(1 + 2 ** -11)).toBe(1); // tie, 1.0 has even mantissa
    expect(roundF16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9); // tie, rounds up to even
    expect(roundF16(0.1)).toBe(0.0999755859375);
    expect(f16Bits(0.1)).toBe(0x2e66);
    expect(f16Bits(1)).toBe(0x3c00);
    expect(f16Bits(-2)).toBe(0xc000);
    expect(f16Bits(65504)).toBe(0x7bff);
    expect(f16FromBits(0x3555)).toBe(0.333251953125);
    expect(roundF16(2049)).toBe(2048); // spacing 2 above 2048: tie -> even
    expect(roundF16(2051)).toBe(2052);
  });

  it("matches Math.f16round where the runtime has it", () => {
    const f16round = (Math as unknown as { f16round?: (x: number) => number }).f16round;
    if (f16round === undefined) return; // Node 20 has no Math.f16round
    const next = rng(99);
    for (let i = 0; i < 10000; i++) {
      const x = (next() - 0.5) * 2 ** Math.floor(next() * 40 - 26);
      expect(roundF16(x)).toBe(f16round(x));
    }
  });
});

describe("roundBF16 special cases", () => {
  it("keeps NaN, infinities and signed zeros", () => {
    expect(roundBF16(NaN)).toBeNaN();
    expect(roundBF16(-Infinity)).toBe(-Infinity);
    expect(Object.is(roundBF16(-0), -0)).toBe(true);
    expect(bf16Bits(-0)).toBe(0x8000);
    expect(bf16Bits(NaN)).toBe(0x7fc0);
    expect(bf16Bits(Infinity)).toBe(0x7f80);
    expect(bf16FromBits(0xff80)).toBe(-Infinity);
  });

  it("overflows past the largest finite value", () => {
    expect(bf16Bits(BF16_MAX)).toBe(0x7f7f);
    const tie = (2 - 2 ** -8) * 2 ** 127;
    expect(roundBF16(nextDown(tie))).toBe(BF16_MAX);
    expect(roundBF16(tie)).toBe(Infinity);
    expect(roundBF16(3.4e38)).toBe(Infinity); // finite in f32, not in bf16
    expect(roundBF16(1e300)).toBe(Infinity);
  });

  it("has the f32 exponent range with subnormals", () => {
    expect(bf16Bits(BF16_MIN_SUBNORMAL)).toBe(0x0001);
    expect(bf16Bits(2 ** -126)).toBe(0x0080);
    expect(Object.is(roundBF16(2 ** -134), 0)).toBe(true);
    expect(roundBF16(nextUp(2 ** -134))).toBe(2 ** -133);
  });

  it("rounds ordinary values to nearest even", () => {
    expect(bf16Bits(1)).toBe(0x3f80);
    expect(roundBF16(1 + 2 ** -8)).toBe(1);
    expect(roundBF16(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(bf16Bits(Math.PI)).toBe(0x4049);
    expect(roundBF16(0.1)).toBe(0.10009765625);
  });

  it("rounds the exact double, not fround(x) (documented choice)", () => {
    const x = 1 + 2 ** -8 + 2 ** -30; // just above a bf16 tie; fround(x) is exactly on the tie
    expect(Math.fround(x)).toBe(1 + 2 ** -8);
    expect(roundBF16(x)).toBe(1 + 2 ** -7);
    expect(roundBF16FromF32(x)).toBe(1);
    // For f32 inputs the two agree.
    const next = rng(7);
    for (let i = 0; i < 10000; i++) {
      const v = Math.fround((next() - 0.5) * 2 ** Math.floor(next() * 200 - 100));
      expect(roundBF16(v)).toBe(roundBF16FromF32(v));
    }
  });

  it("agrees with truncating the f32 bits plus round-to-nearest-even for f32 inputs", () => {
    const f = new DataView(new ArrayBuffer(4));
    const next = rng(11);
    for (let i = 0; i < 20000; i++) {
      const u = Math.floor(next() * 2 ** 32) >>> 0;
      f.setUint32(0, u);
      const v = f.getFloat32(0);
      if (Number.isNaN(v)) continue;
      // Classic bit trick (valid for non-NaN f32): add 0x7FFF + lsb, truncate.
      const lsb = (u >>> 16) & 1;
      const want = ((u + 0x7fff + lsb) >>> 16) & 0xffff;
      expect(bf16Bits(v)).toBe(want);
    }
  });
});

describe("roundF32", () => {
  it("is Math.fround", () => {
    expect(roundF32(0.1)).toBe(Math.fround(0.1));
    expect(roundF32(1 + 2 ** -24)).toBe(1);
  });
});
