/*
 * Self-test of attnc_emu.h's warp collectives beyond what the emitted CUDA uses (the emitted code
 * only has full-mask __shfl_xor_sync butterflies and wmma): __shfl_sync, __shfl_down_sync,
 * __shfl_up_sync with widths, partial warps and partial masks, __activemask, __syncwarp, and the
 * errors (divergence, a mask without the caller's lane, a shuffle from a lane that does not exist).
 * Built and run by test/cuda/emu.test.ts:
 *   g++ -std=c++17 -I native/emu [-I $CUDA/include] native/emu/selftest.cpp && ./a.out
 * Prints one line per failed check and "N failures"; exits nonzero on any failure.
 */
#include "attnc_emu.h"

static int failures = 0;
#define CHECK(c, ...)                                 \
  do {                                                \
    if (!(c)) {                                       \
      fprintf(stdout, "FAIL line %d: ", __LINE__);    \
      fprintf(stdout, __VA_ARGS__);                   \
      fprintf(stdout, "\n");                          \
      failures++;                                     \
    }                                                 \
  } while (0)

static int out[128];
static const attnc_emu_dim3 G = { 1, 1, 1 };

template <class F>
static int run(unsigned threads, F f) {
  memset(out, 0, sizeof out);
  return attnc_emu::launch("selftest", G, attnc_emu_dim3{ threads, 1, 1 }, true, false, f);
}

int main() {
  // __shfl_down_sync tree sums in groups of 16; the second warp is partial (lanes 0..15 exist) with mask 0xffff
  int rc = run(48, [] {
    const unsigned t = threadIdx.x;
    const unsigned mask = t < 32 ? 0xffffffffu : 0x0000ffffu;
    int v = (int)t + 1;
    for (int o = 8; o > 0; o >>= 1) v += __shfl_down_sync(mask, v, (unsigned)o, 16);
    out[t] = v;
  });
  CHECK(rc == 0, "down: %s", attnc_emu::error_msg);
  CHECK(out[0] == 136 && out[16] == 392 && out[32] == 648, "down: group sums %d %d %d", out[0], out[16], out[32]);
  // a source past the group gives the caller's own value: the last lane doubles its value every step
  CHECK(out[15] == 16 * 16, "down: the last lane of a group adds its own value (%d)", out[15]);

  // __shfl_sync broadcasts lane 5 of each group of 8 (the source lane is taken modulo the width)
  rc = run(64, [] {
    const unsigned t = threadIdx.x;
    out[t] = __shfl_sync(0xffffffffu, (int)t * 10, 13, 8);
  });
  CHECK(rc == 0, "idx: %s", attnc_emu::error_msg);
  for (unsigned t = 0; t < 64; t++) CHECK(out[t] == (int)((t & ~7u) + 5) * 10, "idx: lane %u got %d", t, out[t]);

  // __shfl_up_sync inclusive scan over the warp (a float payload)
  rc = run(32, [] {
    const unsigned t = threadIdx.x;
    float v = 1.0f;
    for (int o = 1; o < 32; o <<= 1) {
      const float u = __shfl_up_sync(0xffffffffu, v, (unsigned)o);
      if ((int)(t % 32) >= o) v += u;
    }
    out[t] = (int)v;
  });
  CHECK(rc == 0, "up: %s", attnc_emu::error_msg);
  for (unsigned t = 0; t < 32; t++) CHECK(out[t] == (int)t + 1, "up: lane %u got %d", t, out[t]);

  // lanes outside a partial mask go their own way; __activemask and __syncwarp on a partial warp
  rc = run(40, [] {
    const unsigned t = threadIdx.x;
    if (t == 33) out[100] = (int)__activemask(); // before any lane of the warp returned
    if (t % 32 < 4) {
      __syncwarp(0xfu);
      out[t] = __shfl_xor_sync(0xfu, (int)t, 1, 4);
    } else out[t] = -1;
  });
  CHECK(rc == 0, "partial mask: %s", attnc_emu::error_msg);
  CHECK(out[0] == 1 && out[1] == 0 && out[3] == 2 && out[32] == 33 && out[35] == 34 && out[4] == -1, "partial mask: %d %d %d %d %d", out[0], out[1], out[3], out[32], out[35]);
  CHECK(out[100] == 0xff, "__activemask of an 8-lane warp: %#x", (unsigned)out[100]);

  // errors
  rc = run(32, [] {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1);
  });
  CHECK(rc == 1 && strstr(attnc_emu::error_msg, "(divergence)"), "divergence not reported: rc %d, '%s'", rc, attnc_emu::error_msg);
  rc = run(32, [] {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1);
    __syncthreads();
  });
  CHECK(rc == 1 && strstr(attnc_emu::error_msg, "(divergence)"), "divergence against a barrier not reported: rc %d, '%s'", rc, attnc_emu::error_msg);
  rc = run(32, [] { out[threadIdx.x] = __shfl_sync(0xfffffffeu, 1, 1); });
  CHECK(rc == 1 && strstr(attnc_emu::error_msg, "leaves its own lane out"), "own lane not in mask: rc %d, '%s'", rc, attnc_emu::error_msg);
  rc = run(48, [] { out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 16); });
  CHECK(rc == 1 && strstr(attnc_emu::error_msg, "not in the mask or does not exist"), "nonexistent lane: rc %d, '%s'", rc, attnc_emu::error_msg);
  rc = run(32, [] { out[threadIdx.x] = threadIdx.x < 16 ? __shfl_sync(0xffffu, 1, 0) : __shfl_sync(0xffff0000u, 2, 16); });
  CHECK(rc == 0, "two half-warp groups with disjoint masks: %s", attnc_emu::error_msg);

  printf("%d failures\n", failures);
  return failures != 0;
}
