/*
 * attnc_emu.h — runs the CUDA C++ that attnc emits (backends/cuda) on the CPU, as host C++ built
 * with g++. Include it before the emitted .cu:
 *
 *   #include "attnc_emu.h"
 *   #include "prog.cu"
 *   #include "prog.h"
 *
 * It defines the CUDA qualifiers away (__global__, __device__, __forceinline__, __launch_bounds__),
 * makes __shared__ arrays per-block storage (function-static, in a section of their own that is
 * filled with 0xff bytes — NaN floats, -1 ints — before every block, so reading shared memory that
 * no thread of this block wrote shows), provides threadIdx/blockIdx/blockDim/gridDim, the CUDA
 * intrinsics the emitted code uses, and a launcher:
 *
 *   attnc_emu::launch(name, grid, block, fibers, reverse, [&] { kernel(args..., u); });
 *
 * Threads of a block run one at a time on one OS thread (deterministic). A kernel that uses
 * __syncthreads runs with one ucontext fiber per thread: each runs until it reaches the barrier or
 * returns, and the next round starts once every thread is at the barrier; a thread that returns
 * while others wait (a barrier in divergent control flow) is an error. `reverse` runs the threads
 * of each round in the opposite order; attnc_emu::run_checked runs a launch in both orders and
 * reports when the results differ: a thread read what another wrote without a barrier between
 * (a missing __syncthreads), or read shared memory no thread wrote.
 *
 * Warp collectives (__shfl_sync, __shfl_xor_sync, __shfl_down_sync, __shfl_up_sync, __syncwarp,
 * __activemask, and nvcuda::wmma's load_matrix_sync/mma_sync/store_matrix_sync/fill_fragment) also
 * need fibers. A warp is 32 consecutive threads of the linear thread index; a lane that reaches a
 * collective waits until every lane of its mask that exists (a partial last warp has fewer) has
 * reached one, then all of them continue with the exchanged values (groups with disjoint masks
 * complete independently). Lanes of the mask that return or wait at __syncthreads instead
 * (divergence), lanes of one mask that reach different collectives or pass different masks, a mask
 * without the caller's lane, and a shuffle that reads a lane outside the mask are errors
 * (native/emu/selftest.cpp checks these). WMMA fragments hold
 * the whole 16×16 tile in every lane (values as float); mma_sync accumulates in f32, k in order.
 *
 * f16/bf16 rounding uses cuda_fp16.h/cuda_bf16.h as host code when they are on the include path.
 */
#ifndef ATTNC_EMU_H
#define ATTNC_EMU_H
#define ATTNC_EMU 1

#if defined(__has_include)
#if __has_include(<cuda_fp16.h>)
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#define ATTNC_EMU_HAVE_CUDA_FP16 1
#endif
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <type_traits>
#include <vector>

#undef __global__
#undef __device__
#undef __host__
#undef __forceinline__
#undef __shared__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#ifndef __align__
#define __align__(n) __attribute__((aligned(n)))
#endif
#define __shared__ static __attribute__((section("attnc_shared"), aligned(16)))

struct attnc_emu_dim3 {
  unsigned int x, y, z;
};

/* The CUDA builtins of the thread that runs now (set by the scheduler before each switch). */
static attnc_emu_dim3 attnc_emu_threadIdx, attnc_emu_blockIdx, attnc_emu_blockDim, attnc_emu_gridDim;
#define threadIdx attnc_emu_threadIdx
#define blockIdx attnc_emu_blockIdx
#define blockDim attnc_emu_blockDim
#define gridDim attnc_emu_gridDim

/* ── intrinsics ─────────────────────────────────────────────────────────────────────────────── */
static inline unsigned int attnc_emu_float_as_uint(float x) { unsigned int u; memcpy(&u, &x, 4); return u; }
static inline int attnc_emu_float_as_int(float x) { int u; memcpy(&u, &x, 4); return u; }
static inline float attnc_emu_uint_as_float(unsigned int u) { float x; memcpy(&x, &u, 4); return x; }
static inline float attnc_emu_int_as_float(int u) { float x; memcpy(&x, &u, 4); return x; }
/* cvt.rzi.s32.f32 / cvt.rzi.u32.f32: truncate, saturate, NaN -> 0. */
static inline int attnc_emu_float2int_rz(float x) {
  if (x != x) return 0;
  if (x >= 2147483648.0f) return 2147483647;
  if (x <= -2147483648.0f) return (-2147483647 - 1);
  return (int)x;
}
static inline unsigned int attnc_emu_float2uint_rz(float x) {
  if (x != x || x <= 0.0f) return 0u;
  if (x >= 4294967296.0f) return 4294967295u;
  return (unsigned int)x;
}
/* Plain IEEE operations (the emulator is built with -ffp-contract=off: nothing is fused). */
static inline float attnc_emu_fmul_rn(float a, float b) { return a * b; }
static inline float attnc_emu_fadd_rn(float a, float b) { return a + b; }
static inline float attnc_emu_fsub_rn(float a, float b) { return a - b; }
static inline float attnc_emu_rsqrtf(float x) { return 1.0f / sqrtf(x); }
#define __float_as_uint attnc_emu_float_as_uint
#define __float_as_int attnc_emu_float_as_int
#define __uint_as_float attnc_emu_uint_as_float
#define __int_as_float attnc_emu_int_as_float
#define __float2int_rz attnc_emu_float2int_rz
#define __float2uint_rz attnc_emu_float2uint_rz
#define __fmul_rn attnc_emu_fmul_rn
#define __fadd_rn attnc_emu_fadd_rn
#define __fsub_rn attnc_emu_fsub_rn
#define rsqrtf attnc_emu_rsqrtf

/* Shared arrays live in section attnc_shared; the linker defines its bounds. */
extern "C" char __start_attnc_shared[] __attribute__((weak));
extern "C" char __stop_attnc_shared[] __attribute__((weak));

/*
 * Context switch. On x86-64 a few instructions that save the callee-saved registers on the old
 * stack and restore them from the new one (no system call, unlike swapcontext's signal-mask
 * save); elsewhere ucontext.
 */
#if defined(__x86_64__) && !defined(ATTNC_EMU_UCONTEXT)
#define ATTNC_EMU_ASM_SWITCH 1
extern "C" void attnc_emu_switch(void** save_sp, void* load_sp);
__asm__(
    ".text\n"
    ".globl attnc_emu_switch\n"
    ".type attnc_emu_switch,@function\n"
    "attnc_emu_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size attnc_emu_switch, .-attnc_emu_switch\n");
#endif

namespace attnc_emu {

/* A warp collective a lane waits at. */
enum WarpOp { W_NONE = 0, W_SHFL_IDX, W_SHFL_XOR, W_SHFL_DOWN, W_SHFL_UP, W_SYNC };

struct Fiber {
  void* sp = nullptr; /* saved stack pointer (x86-64 switch) */
  ucontext_t ctx;     /* elsewhere */
  char* stack = nullptr;
  bool done = false;
  bool at_barrier = false;
  unsigned int tx = 0, ty = 0, tz = 0;
  /* warp collective: which, the lane mask, the lane argument and width, the value (raw bits) */
  int wop = W_NONE;
  unsigned int wmask = 0;
  int warg = 0, wwidth = 32;
  uint64_t wval = 0, wres = 0;
};

inline const size_t kStack = 128 * 1024;
inline ucontext_t sched_ctx;
inline void* sched_sp = nullptr;
inline std::vector<Fiber> fibers;
inline int current = -1;
inline bool fiber_mode = false;
inline void (*body_fn)(void*) = nullptr;
inline void* body_arg = nullptr;
inline const char* kernel_name = "";
inline char error_msg[1024] = "";
inline bool failed = false;

inline void fail(const char* fmt, const char* a = "", unsigned x = 0, unsigned y = 0, unsigned z = 0) {
  if (failed) return;
  failed = true;
  snprintf(error_msg, sizeof error_msg, fmt, a, x, y, z);
}

inline void poison_shared() {
  if (__start_attnc_shared && __stop_attnc_shared && __stop_attnc_shared > __start_attnc_shared)
    memset(__start_attnc_shared, 0xff, (size_t)(__stop_attnc_shared - __start_attnc_shared));
}

inline void barrier() {
  if (!fiber_mode || current < 0) {
    fail("kernel %s: __syncthreads() in a kernel launched without fibers (the emitter said it has no barrier)", kernel_name);
    return;
  }
  Fiber& f = fibers[(size_t)current];
  f.at_barrier = true;
#ifdef ATTNC_EMU_ASM_SWITCH
  attnc_emu_switch(&f.sp, sched_sp);
#else
  swapcontext(&f.ctx, &sched_ctx);
#endif
}

/* Suspends the current lane at a warp collective; returns the exchanged value's bits. */
inline uint64_t warp_wait(int op, unsigned int mask, uint64_t val, int arg, int width) {
  if (!fiber_mode || current < 0) {
    fail("kernel %s: a warp collective in a kernel launched without fibers (the emitter said it has none)", kernel_name);
    return val;
  }
  Fiber& f = fibers[(size_t)current];
  f.wop = op;
  f.wmask = mask;
  f.wval = val;
  f.warg = arg;
  f.wwidth = width;
#ifdef ATTNC_EMU_ASM_SWITCH
  attnc_emu_switch(&f.sp, sched_sp);
#else
  swapcontext(&f.ctx, &sched_ctx);
#endif
  return fibers[(size_t)current].wres;
}

inline unsigned int lane_id() {
  return (unsigned int)(current >= 0 ? current % 32 : 0);
}

/*
 * Releases the lanes whose collective is complete: every existing lane of its mask waits at it with
 * the same mask (groups with disjoint masks complete independently), computing each lane's result.
 * Returns whether any lane was released; fails on divergence.
 */
inline bool resolve_warps(size_t n) {
  bool released = false;
  for (size_t w0 = 0; w0 < n; w0 += 32) {
    const size_t lanes = n - w0 < 32 ? n - w0 : 32;
    for (size_t first = 0; first < lanes; first++) {
      const Fiber& f0 = fibers[w0 + first];
      if (f0.wop == W_NONE) continue;
      const unsigned int mask = f0.wmask;
      const int op = f0.wop;
      if (!((mask >> first) & 1u)) {
        fail("kernel %s: thread (%u, %u, %u) calls a warp collective with a mask that leaves its own lane out", kernel_name, f0.tx, f0.ty, f0.tz);
        return false;
      }
      bool complete = true;
      for (size_t l = 0; l < lanes; l++) {
        if (!((mask >> l) & 1u)) continue;
        const Fiber& f = fibers[w0 + l];
        if (f.wop != W_NONE) {
          if (f.wop != op || f.wmask != mask) {
            fail("kernel %s: lanes of warp %u wait at different warp collectives or with different masks", kernel_name, (unsigned)(w0 / 32));
            return false;
          }
        } else if (f.done || f.at_barrier) {
          fail("kernel %s: thread (%u, %u, %u) of the mask does not reach the warp collective its warp's other lanes wait at (divergence)", kernel_name, f.tx, f.ty, f.tz);
          return false;
        } else
          complete = false; /* still running (not after a full round, but be safe) */
      }
      if (!complete) continue;
      for (size_t l = 0; l < lanes; l++) {
        if (!((mask >> l) & 1u)) continue;
        Fiber& f = fibers[w0 + l];
        const int w = f.wwidth;
        const int lane = (int)l;
        const int base = lane & ~(w - 1);
        int src = lane;
        switch (op) {
          case W_SHFL_IDX: src = base + (f.warg & (w - 1)); break;
          case W_SHFL_XOR: src = lane ^ f.warg; if ((src & ~(w - 1)) != base) src = lane; break;
          case W_SHFL_DOWN: src = lane + f.warg; if (src - base >= w) src = lane; break;
          case W_SHFL_UP: src = lane - f.warg; if (src < base) src = lane; break;
          default: break;
        }
        if (op != W_SYNC) {
          if (src < 0 || (size_t)src >= lanes || !((mask >> src) & 1u)) {
            fail("kernel %s: thread (%u, %u, %u) shuffles from a lane that is not in the mask or does not exist", kernel_name, f.tx, f.ty, f.tz);
            return false;
          }
          f.wres = fibers[w0 + (size_t)src].wval;
        }
      }
      for (size_t l = 0; l < lanes; l++)
        if ((mask >> l) & 1u) fibers[w0 + l].wop = W_NONE;
      released = true;
    }
  }
  return released;
}

inline void fiber_entry() {
  body_fn(body_arg);
  fibers[(size_t)current].done = true;
#ifdef ATTNC_EMU_ASM_SWITCH
  void* dead;
  attnc_emu_switch(&dead, sched_sp); /* never resumed */
  __builtin_unreachable();
#endif
  /* ucontext: returning resumes uc_link = sched_ctx */
}

inline void ensure_fibers(size_t n) {
  while (fibers.size() < n) {
    Fiber f;
    /* a guard page below each stack turns an overflow into a crash, not corruption */
    void* p = mmap(nullptr, kStack + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      fprintf(stderr, "attnc-emu: out of memory for fiber stacks\n");
      exit(2);
    }
    mprotect(p, 4096, PROT_NONE);
    f.stack = (char*)p + 4096;
    fibers.push_back(f);
  }
}

template <class F>
void call_body(void* p) {
  (*static_cast<F*>(p))();
}

/* Runs one block with fibers; returns false on a barrier error. */
inline bool run_block_fibers(size_t n, bool reverse) {
#ifndef ATTNC_EMU_ASM_SWITCH
  static ucontext_t proto;
  static bool have_proto = false;
  if (!have_proto) {
    getcontext(&proto);
    have_proto = true;
  }
#endif
  for (size_t i = 0; i < n; i++) {
    Fiber& f = fibers[i];
    f.done = false;
    f.at_barrier = false;
    f.wop = W_NONE;
#ifdef ATTNC_EMU_ASM_SWITCH
    /* a fresh stack that "returns" into fiber_entry: 6 saved registers, the entry address, and a
       fake return address so that fiber_entry starts with the ABI's alignment (rsp % 16 == 8) */
    void** top = (void**)(f.stack + kStack);
    top[-1] = nullptr;
    top[-2] = (void*)&fiber_entry;
    for (int r = 3; r <= 8; r++) top[-r] = nullptr;
    f.sp = (void*)(top - 8);
#else
    f.ctx = proto;
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = kStack;
    f.ctx.uc_link = &sched_ctx;
    makecontext(&f.ctx, (void (*)())fiber_entry, 0);
#endif
  }
  for (;;) {
    for (size_t j = 0; j < n; j++) {
      size_t i = reverse ? n - 1 - j : j;
      Fiber& f = fibers[i];
      if (f.done || f.at_barrier || f.wop != W_NONE) continue;
      current = (int)i;
      threadIdx.x = f.tx;
      threadIdx.y = f.ty;
      threadIdx.z = f.tz;
#ifdef ATTNC_EMU_ASM_SWITCH
      attnc_emu_switch(&sched_sp, f.sp);
#else
      swapcontext(&sched_ctx, &f.ctx);
#endif
      if (failed) return false;
    }
    current = -1;
    /* warps whose collective is complete continue first (in a new round) */
    if (resolve_warps(n)) continue;
    if (failed) return false;
    size_t done = 0, waiting = 0;
    for (size_t i = 0; i < n; i++) {
      if (fibers[i].done) done++;
      else if (fibers[i].at_barrier) waiting++;
      else if (fibers[i].wop != W_NONE) {
        fail("kernel %s: thread (%u, %u, %u) waits at a warp collective that lanes of its mask never reach (divergence)", kernel_name, fibers[i].tx, fibers[i].ty, fibers[i].tz);
        return false;
      }
    }
    if (done == n) return true;
    if (done > 0) {
      for (size_t i = 0; i < n; i++)
        if (fibers[i].done) {
          fail("kernel %s: thread (%u, %u, %u) returned while other threads of its block wait at __syncthreads() (a barrier in divergent control flow)",
               kernel_name, fibers[i].tx, fibers[i].ty, fibers[i].tz);
          return false;
        }
    }
    (void)waiting;
    /* every live thread is at the barrier: release them all */
    for (size_t i = 0; i < n; i++) fibers[i].at_barrier = false;
  }
}

/*
 * Runs a kernel over grid × block. `f` calls the kernel once for the current thread. With `fibers`,
 * each block runs with one fiber per thread (needed for __syncthreads); without, threads run to
 * completion one after another. Returns 0, or 1 with error_msg set.
 */
inline int launch_fn(const char* name, attnc_emu_dim3 grid, attnc_emu_dim3 block, bool use_fibers, bool reverse, void (*fn)(void*), void* arg) {
  kernel_name = name;
  failed = false;
  error_msg[0] = 0;
  const size_t n = (size_t)block.x * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0 || n > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64) {
    fail("kernel %s: invalid block size (%u, %u, %u) for CUDA", name, block.x, block.y, block.z);
    return 1;
  }
  if (grid.x > 2147483647u || grid.y > 65535u || grid.z > 65535u) {
    fail("kernel %s: grid (%u, %u, %u) exceeds the CUDA limits", name, grid.x, grid.y, grid.z);
    return 1;
  }
  blockDim = block;
  gridDim = grid;
  body_fn = fn;
  body_arg = arg;
  fiber_mode = use_fibers;
  if (use_fibers) {
    ensure_fibers(n);
    size_t i = 0;
    for (unsigned z = 0; z < block.z; z++)
      for (unsigned y = 0; y < block.y; y++)
        for (unsigned x = 0; x < block.x; x++, i++) {
          fibers[i].tx = x;
          fibers[i].ty = y;
          fibers[i].tz = z;
        }
  }
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        blockIdx.x = bx;
        blockIdx.y = by;
        blockIdx.z = bz;
        poison_shared();
        if (use_fibers) {
          if (!run_block_fibers(n, reverse)) return 1;
        } else {
          for (unsigned z = 0; z < block.z; z++)
            for (unsigned y = 0; y < block.y; y++)
              for (unsigned x = 0; x < block.x; x++) {
                threadIdx.x = reverse ? block.x - 1 - x : x;
                threadIdx.y = reverse ? block.y - 1 - y : y;
                threadIdx.z = reverse ? block.z - 1 - z : z;
                fn(arg);
                if (failed) return 1;
              }
        }
      }
  fiber_mode = false;
  return 0;
}

/* A buffer a launch may write: pointer and byte size. */
struct Span {
  void* data;
  size_t bytes;
  int id;
};

/*
 * Runs a launch twice, threads of each barrier round in forward then in reverse order, from the
 * same buffer contents, and compares every buffer it can write. A difference means the result
 * depends on the order of threads between barriers: error_msg names the kernel, buffer and element.
 * The forward run's results are kept.
 */
inline int run_checked_fn(const char* name, attnc_emu_dim3 grid, attnc_emu_dim3 block, bool use_fibers, const std::vector<Span>& writable,
                          void (*fn)(void*), void* arg) {
  std::vector<std::vector<unsigned char>> before(writable.size()), fwd(writable.size());
  for (size_t i = 0; i < writable.size(); i++)
    before[i].assign((unsigned char*)writable[i].data, (unsigned char*)writable[i].data + writable[i].bytes);
  if (launch_fn(name, grid, block, use_fibers, false, fn, arg)) return 1;
  for (size_t i = 0; i < writable.size(); i++) {
    fwd[i].assign((unsigned char*)writable[i].data, (unsigned char*)writable[i].data + writable[i].bytes);
    if (writable[i].bytes) memcpy(writable[i].data, before[i].data(), writable[i].bytes);
  }
  if (launch_fn(name, grid, block, use_fibers, true, fn, arg)) return 1;
  int rc = 0;
  for (size_t i = 0; i < writable.size() && !rc; i++) {
    const unsigned char* a = fwd[i].data();
    const unsigned char* b = (const unsigned char*)writable[i].data;
    for (size_t e = 0; e + 4 <= writable[i].bytes; e += 4)
      if (memcmp(a + e, b + e, 4) != 0) {
        unsigned int x, y;
        memcpy(&x, a + e, 4);
        memcpy(&y, b + e, 4);
        snprintf(error_msg, sizeof error_msg,
                 "kernel %s: the result depends on the order of threads between barriers (missing __syncthreads()?): "
                 "buffer %d element %zu is 0x%08x with threads in order, 0x%08x in reverse order",
                 name, writable[i].id, e / 4, x, y);
        failed = true;
        rc = 1;
        break;
      }
  }
  for (size_t i = 0; i < writable.size(); i++)
    if (writable[i].bytes) memcpy(writable[i].data, fwd[i].data(), writable[i].bytes);
  return rc;
}

template <class F>
int launch(const char* name, attnc_emu_dim3 grid, attnc_emu_dim3 block, bool use_fibers, bool reverse, F&& f) {
  return launch_fn(name, grid, block, use_fibers, reverse, &call_body<typename std::remove_reference<F>::type>, (void*)&f);
}

template <class F>
int run_checked(const char* name, attnc_emu_dim3 grid, attnc_emu_dim3 block, bool use_fibers, const std::vector<Span>& writable, F&& f) {
  return run_checked_fn(name, grid, block, use_fibers, writable, &call_body<typename std::remove_reference<F>::type>, (void*)&f);
}

}  // namespace attnc_emu

/* ── warp collectives ───────────────────────────────────────────────────────────────────────── */
namespace attnc_emu {
template <class T>
inline T shfl(int op, unsigned int mask, T v, int arg, int width) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "attnc-emu: shuffle of an unsupported type");
  if (width < 1 || width > 32 || (width & (width - 1)) != 0) {
    fail("kernel %s: shuffle width is not a power of two in [1, 32]", kernel_name);
    return v;
  }
  uint64_t bits = 0;
  memcpy(&bits, &v, sizeof(T));
  const uint64_t r = warp_wait(op, mask, bits, arg, width);
  T out;
  memcpy(&out, &r, sizeof(T));
  return out;
}
inline void syncwarp(unsigned int mask) { warp_wait(W_SYNC, mask, 0, 0, 32); }
}  // namespace attnc_emu

template <class T>
inline T __shfl_sync(unsigned int mask, T v, int src, int width = 32) { return attnc_emu::shfl(attnc_emu::W_SHFL_IDX, mask, v, src, width); }
template <class T>
inline T __shfl_xor_sync(unsigned int mask, T v, int lane_mask, int width = 32) { return attnc_emu::shfl(attnc_emu::W_SHFL_XOR, mask, v, lane_mask, width); }
template <class T>
inline T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = 32) { return attnc_emu::shfl(attnc_emu::W_SHFL_DOWN, mask, v, (int)delta, width); }
template <class T>
inline T __shfl_up_sync(unsigned int mask, T v, unsigned int delta, int width = 32) { return attnc_emu::shfl(attnc_emu::W_SHFL_UP, mask, v, (int)delta, width); }
inline void __syncwarp(unsigned int mask = 0xffffffffu) { attnc_emu::syncwarp(mask); }
/* The lanes of the current warp that exist and have not returned (the emulator runs no divergent subset concurrently). */
inline unsigned int __activemask() {
  using namespace attnc_emu;
  if (current < 0) return 1u;
  const size_t n = (size_t)blockDim.x * blockDim.y * blockDim.z;
  const size_t w0 = (size_t)current - (size_t)current % 32;
  unsigned int m = 0;
  for (size_t l = 0; l < 32 && w0 + l < n; l++)
    if (!fibers[w0 + l].done) m |= 1u << l;
  return m;
}

/* ── nvcuda::wmma (16x16x16; every lane holds the whole tile) ────────────────────────────────── */
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  static_assert(M == 16 && N == 16 && K == 16, "attnc-emu: only the 16x16x16 WMMA shape");
  /* the fragment's matrix, row-major: A is M x K, B is K x N, the accumulator M x N */
  float x[256];
  static const int num_elements = 256;
};

inline float to_float(float v) { return v; }
#ifdef ATTNC_EMU_HAVE_CUDA_FP16
inline float to_float(__half v) { return __half2float(v); }
inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
#endif

/* Warp-collective entry: every lane of the warp arrives; then pointer alignment and ldm checks. */
inline bool enter(const void* p, unsigned int ldm, size_t elem, const char* what) {
  using namespace attnc_emu;
  syncwarp(0xffffffffu);
  if (failed) return false;
  const bool aligned = ((uintptr_t)p) % 32 == 0, ldm_ok = (ldm * elem) % 16 == 0;
  if (aligned && ldm_ok) return true;
  failed = true;
  snprintf(error_msg, sizeof error_msg, "kernel %s: wmma::%s: %s (ldm %u)", kernel_name, what,
           aligned ? "ldm is not a multiple of 16 bytes" : "the pointer is not 32-byte aligned", ldm);
  return false;
}

template <class T, class L>
inline void load_matrix_sync(fragment<matrix_a, 16, 16, 16, T, L>& f, const T* p, unsigned int ldm) {
  if (!enter(p, ldm, sizeof(T), "load_matrix_sync(matrix_a)")) return;
  for (int i = 0; i < 16; i++)
    for (int k = 0; k < 16; k++) f.x[i * 16 + k] = to_float(std::is_same<L, row_major>::value ? p[(size_t)i * ldm + k] : p[(size_t)k * ldm + i]);
}
template <class T, class L>
inline void load_matrix_sync(fragment<matrix_b, 16, 16, 16, T, L>& f, const T* p, unsigned int ldm) {
  if (!enter(p, ldm, sizeof(T), "load_matrix_sync(matrix_b)")) return;
  for (int k = 0; k < 16; k++)
    for (int j = 0; j < 16; j++) f.x[k * 16 + j] = to_float(std::is_same<L, row_major>::value ? p[(size_t)k * ldm + j] : p[(size_t)j * ldm + k]);
}
inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float>& f, const float* p, unsigned int ldm, layout_t l) {
  if (!enter(p, ldm, sizeof(float), "load_matrix_sync(accumulator)")) return;
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) f.x[i * 16 + j] = l == mem_row_major ? p[(size_t)i * ldm + j] : p[(size_t)j * ldm + i];
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f, unsigned int ldm, layout_t l) {
  if (!enter(p, ldm, sizeof(float), "store_matrix_sync")) return;
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) (l == mem_row_major ? p[(size_t)i * ldm + j] : p[(size_t)j * ldm + i]) = f.x[i * 16 + j];
}
template <class Use, class T, class L, class V>
inline void fill_fragment(fragment<Use, 16, 16, 16, T, L>& f, const V& v) {
  const float x = to_float(v);
  for (int i = 0; i < 256; i++) f.x[i] = x;
}
/* d = a·b + c in f32: products of f16/bf16 values are exact, the sum runs over k in order. */
template <class T, class La, class Lb>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float>& d, const fragment<matrix_a, 16, 16, 16, T, La>& a,
                     const fragment<matrix_b, 16, 16, 16, T, Lb>& b, const fragment<accumulator, 16, 16, 16, float>& c) {
  attnc_emu::syncwarp(0xffffffffu);
  if (attnc_emu::failed) return;
  float t[256];
  for (int i = 0; i < 16; i++)
    for (int j = 0; j < 16; j++) {
      float acc = c.x[i * 16 + j];
      for (int k = 0; k < 16; k++) acc = acc + a.x[i * 16 + k] * b.x[k * 16 + j];
      t[i * 16 + j] = acc;
    }
  memcpy(d.x, t, sizeof t);
}
}  // namespace wmma
}  // namespace nvcuda

#define __syncthreads() attnc_emu::barrier()

#endif
