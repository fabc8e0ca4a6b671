/** The registry of dedicated kernel generators, filled by compiler/kernel/kernels/*.ts. */
import type { Dim } from "../graph/dim.ts";
import type { DType } from "../graph/dtype.ts";
import type { Node, TensorType } from "../graph/ops.ts";
import type { Launch } from "./program.ts";
import type { TargetCaps } from "./caps.ts";

/** What a kernel generator receives: the node, its input buffers and output buffers. */
export interface LowerCtx {
  readonly node: Node;
  readonly inputs: readonly { readonly id: number; readonly type: TensorType }[];
  readonly outputs: readonly { readonly id: number; readonly type: TensorType }[];
  readonly flag: number;
  /** Adds a scratch buffer and returns its id. */
  temp(dtype: DType, numel: Dim): number;
  /** The target's capability record (compiler/kernel/caps.ts), when lowering was given one: generators choose fallbacks from it. */
  readonly caps?: TargetCaps;
  /** Records that a generator chose a fallback for the record (reported as an info diagnostic at the node). */
  note?(text: string): void;
  /** Whether to build capability variants (Kernel.variants); false when the target only launches base kernels. Default true. */
  readonly variants?: boolean;
}

export type KernelGen = (cx: LowerCtx) => Launch[];

/** Dedicated kernels for ops without a per-element form (registered by kernels/*.ts). */
export const KERNELS: Partial<Record<Node["op"], KernelGen>> = {};


/**
 * Dedicated kernels for ops that also have a per-element form (matmul, softmax, segment_reduce…):
 * tried before the per-element kernel; a generator returns undefined to decline (a shape or dtype
 * it does not handle), and the op then lowers through its per-element body as before.
 */
export const KERNELS_FIRST: Partial<Record<Node["op"], (cx: LowerCtx) => Launch[] | undefined>> = {};
