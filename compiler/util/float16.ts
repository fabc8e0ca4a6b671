/**
 * Exact rounding to the narrow float formats used by the reference interpreter.
 *
 * All rounding here is IEEE 754 round-to-nearest, ties-to-even, applied ONCE to the exact
 * input double (no intermediate rounding to f32):
 *
 * - `roundF16(x)`: IEEE binary16 (1 sign, 5 exponent, 10 fraction bits). Gradual underflow
 *   (subnormals down to 2^-24); magnitudes that round above 65504 become ±Infinity (so
 *   everything >= 65520 overflows); NaN stays NaN; the sign of zero is kept.
 * - `roundBF16(x)`: bfloat16 (1 sign, 8 exponent, 7 fraction bits; the f32 exponent range).
 *   Design choice: bf16(x) is the correctly rounded bf16 value of the exact double x, NOT
 *   bf16(fround(x)). The two differ only when x is not an f32 value and rounding x to f32
 *   lands exactly on a bf16 tie (double rounding), e.g. x = 1 + 2^-8 + 2^-30:
 *   roundBF16(x) = 1 + 2^-7 but roundBF16(Math.fround(x)) = 1. For f32 inputs (every value
 *   a kernel holds in an f32 register) the two agree; `roundBF16FromF32` spells out the
 *   f32-first variant when a caller wants to model an f32 -> bf16 conversion of a value
 *   computed in double. Subnormal bf16 values (down to 2^-133) are kept, as in IEEE
 *   arithmetic; values rounding above 0x7F7F (about 3.3895e38) become ±Infinity.
 * - `roundF32` is `Math.fround` (already ties-to-even and exact).
 *
 * Bit helpers: `f16Bits`/`bf16Bits` round first, then return the 16-bit pattern (NaN maps
 * to the canonical quiet NaN 0x7E00 / 0x7FC0, with the sign bit clear); `f16FromBits` and
 * `bf16FromBits` decode any 16-bit pattern exactly (only the low 16 bits are used).
 */

const scratch = new DataView(new ArrayBuffer(8));

/** Unbiased binary exponent of a positive, finite, NORMAL double (floor(log2(a)), exactly). */
function exponentOf(a: number): number {
  scratch.setFloat64(0, a);
  return ((scratch.getUint32(0) >>> 20) & 0x7ff) - 1023;
}

/** Rounds the non-negative integer-or-fraction y to the nearest integer, ties to even. */
function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f; // exact: y < 2^53 and f is y's integer part
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Rounds a finite a >= 0 to a binary format with `fracBits` fraction bits and minimum normal
 * exponent `eMin` (no upper bound: the caller checks overflow). Multiplying or dividing by a
 * power of two is exact here, so the only rounding is the explicit one.
 */
function roundMagnitude(a: number, fracBits: number, eMin: number): number {
  if (a === 0) return 0;
  // Below the smallest normal number the spacing is fixed at 2^(eMin - fracBits).
  const e = a < 2 ** eMin ? eMin : exponentOf(a);
  const scale = e - fracBits; // the spacing of representable values near a is 2^scale
  return roundHalfEven(a * 2 ** -scale) * 2 ** scale;
}

/** Largest finite binary16 value. */
export const F16_MAX = 65504;
/** Smallest positive normal binary16 value, 2^-14. */
export const F16_MIN_NORMAL = 2 ** -14;
/** Smallest positive subnormal binary16 value, 2^-24. */
export const F16_MIN_SUBNORMAL = 2 ** -24;
/** Largest finite bfloat16 value, (2 - 2^-7) * 2^127 (bits 0x7F7F). */
export const BF16_MAX = (2 - 2 ** -7) * 2 ** 127;
/** Smallest positive subnormal bfloat16 value, 2^-133 (bits 0x0001). */
export const BF16_MIN_SUBNORMAL = 2 ** -133;

/** Rounds x to the nearest IEEE binary16 value (ties to even); the result is returned as a double. */
export function roundF16(x: number): number {
  if (Number.isNaN(x) || x === 0 || !Number.isFinite(x)) return x;
  const r = roundMagnitude(Math.abs(x), 10, -14);
  const m = r > F16_MAX ? Infinity : r;
  return x < 0 ? -m : m;
}

/** Rounds x (the exact double) to the nearest bfloat16 value (ties to even); see the module comment. */
export function roundBF16(x: number): number {
  if (Number.isNaN(x) || x === 0 || !Number.isFinite(x)) return x;
  const r = roundMagnitude(Math.abs(x), 7, -126);
  const m = r > BF16_MAX ? Infinity : r;
  return x < 0 ? -m : m;
}

/** bf16 conversion of an f32 value: rounds x to f32 first, then to bf16 (models an f32 -> bf16 cast). */
export function roundBF16FromF32(x: number): number {
  return roundBF16(Math.fround(x));
}

/** Rounds x to the nearest IEEE binary32 value (ties to even). */
export const roundF32: (x: number) => number = Math.fround;

/** The binary16 bit pattern (0..0xFFFF) of roundF16(x). NaN gives 0x7E00. */
export function f16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const r = roundF16(x);
  const sign = r < 0 || Object.is(r, -0) ? 0x8000 : 0;
  const a = Math.abs(r);
  if (a === Infinity) return sign | 0x7c00;
  if (a < F16_MIN_NORMAL) return sign | (a * 2 ** 24); // subnormal or zero: exact integer 0..1023
  const e = exponentOf(a);
  return sign | ((e + 15) << 10) | (a * 2 ** (10 - e) - 1024);
}

/** The value of the binary16 bit pattern `bits` (low 16 bits used). */
export function f16FromBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** The bfloat16 bit pattern (0..0xFFFF) of roundBF16(x). NaN gives 0x7FC0. */
export function bf16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  // Every bf16 value is an f32 value whose low 16 bits are zero.
  scratch.setFloat32(0, roundBF16(x));
  return scratch.getUint32(0) >>> 16;
}

/** The value of the bfloat16 bit pattern `bits` (low 16 bits used). */
export function bf16FromBits(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}
