/** What every runtime takes and returns: host arrays in, outputs with the bound dims and the error flag out. */
import type { DType } from "../compiler/graph/dtype.ts";

export interface HostArray {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface RunResult {
  readonly outputs: { dtype: DType; shape: number[]; data: Float64Array }[];
  readonly dims: Record<string, number>;
  readonly errorFlag: boolean;
  /** Kernel launches executed (launches inside loops count once per iteration; empty grids are skipped). */
  readonly launches: number;
}
