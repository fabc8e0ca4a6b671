/**
 * A lowered program: the buffers a graph needs (one per node output; sizes are symbolic), and the
 * steps that fill them — kernel launches, copies, and counted loops for `iterate`. The runtime
 * evaluates the dims once per run, allocates, and executes the steps in order.
 */
import type { Dim } from "../graph/dim.ts";
import type { DType } from "../graph/dtype.ts";
import type { Node } from "../graph/ops.ts";
import type { Kernel } from "./ir.ts";

export interface BufferDecl {
  readonly id: number;
  readonly dtype: DType;
  /** Element count. */
  readonly numel: Dim;
  readonly role: "input" | "output" | "temp" | "const" | "flag";
  /** The graph node whose value this buffer holds (for diagnostics and the buffer plan). */
  readonly node?: Node;
  /** Initial contents (constants). */
  readonly values?: readonly number[];
}

/** Where a uniform's value comes from at run time. */
export type UniformSource =
  | { readonly kind: "dim"; readonly name: string } // the value of a dim variable
  | { readonly kind: "iter"; readonly loop: number }; // the current iteration of a loop

export interface Launch {
  readonly k: "launch";
  readonly kernel: Kernel;
  /** Buffer ids, in the kernel's buffer order. */
  readonly args: readonly number[];
  /** One source per kernel uniform, in order. */
  readonly uniforms: readonly UniformSource[];
  /** The graph node this launch computes (for provenance). */
  readonly node: Node;
}

export type Step =
  | Launch
  | { readonly k: "copy"; readonly from: number; readonly to: number }
  | { readonly k: "loop"; readonly loop: number; readonly n: Dim; readonly body: readonly Step[] };

export interface Program {
  readonly name: string;
  readonly buffers: readonly BufferDecl[];
  readonly steps: readonly Step[];
  readonly inputs: readonly { readonly name: string; readonly buffer: number; readonly dtype: DType; readonly shape: readonly Dim[] }[];
  readonly outputs: readonly { readonly name: string; readonly buffer: number; readonly dtype: DType; readonly shape: readonly Dim[] }[];
  /** The u32 buffer data-dependent indices flag when out of range. */
  readonly flag: number;
}

export function* launches(steps: readonly Step[]): Generator<Launch> {
  for (const s of steps) {
    if (s.k === "launch") yield s;
    else if (s.k === "loop") yield* launches(s.body);
  }
}
