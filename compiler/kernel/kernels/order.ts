/** Kernels for order and scan ops: topk, argsort, compact, cumsum; and quantize/dequantize. */
export {};
