/** Fused attention kernels (flash-style online softmax, hooks inlined, block routes, side outputs). */
export {};
