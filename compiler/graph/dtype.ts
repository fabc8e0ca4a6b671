/**
 * Dtypes of the graph IR and the promotion rules of language.md §5: no implicit narrowing;
 * f16/bf16 mixed with f32 compute in f32; int with float gives float; comparisons give bool.
 */

export type DType = "f32" | "f16" | "bf16" | "i32" | "u32" | "bool";

export const DTYPES: readonly DType[] = ["f32", "f16", "bf16", "i32", "u32", "bool"];

export const isFloat = (t: DType): boolean => t === "f32" || t === "f16" || t === "bf16";
export const isInt = (t: DType): boolean => t === "i32" || t === "u32";
export const isNumeric = (t: DType): boolean => t !== "bool";

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

/** Bytes per element in memory (bool is stored as one u32 word on GPUs; counted as 4). */
export const byteSize = (t: DType): number => (t === "f16" || t === "bf16" ? 2 : 4);

/**
 * Result dtype of a binary arithmetic op, or undefined when the pair needs an explicit cast.
 * bool promotes like an integer 0/1 only through cast; arithmetic on bool is rejected.
 */
export function promote(a: DType, b: DType): DType | undefined {
  if (a === b) return a;
  if (a === "bool" || b === "bool") return undefined;
  if (isFloat(a) && isFloat(b)) return "f32"; // f16+bf16, f16+f32, bf16+f32
  if (isFloat(a)) return a; // float with int: the float
  if (isFloat(b)) return b;
  return undefined; // i32 with u32: ambiguous, cast explicitly
}
