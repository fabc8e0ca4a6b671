/** Registers every dedicated kernel generator in KERNELS (import for side effects). */
import "./attention.ts";
import "./order.ts";
export { computeKernel } from "./elementwise.ts";
import "./matmul.ts";
import "./segment.ts";
import "./rows.ts";
