// attnc_cuda: a Node-API addon over the CUDA driver API, for running the kernels attnc emits.
//
// libcuda is never linked: it is opened with dlopen("libcuda.so.1") on first use (ATTNC_CUDA_LIBRARY
// overrides the path), so the addon builds and loads on machines without a GPU or driver, where
// every call throws "no CUDA driver (libcuda.so.1 not found)". Driver errors become JS Errors that
// name the call and the error ("cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (out of memory)").
//
// Handles (contexts, device pointers, modules, functions, events) are BigInts. The driver API
// types and entry points are declared here (no cuda.h needed to build); the versioned symbol
// names (_v2) are the ones cuda.h maps the plain names to.
#include <dlfcn.h>
#include <napi.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

// ── the driver API subset (ABI as in cuda.h) ─────────────────────────────────────────────────
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st* CUcontext;
typedef struct CUmod_st* CUmodule;
typedef struct CUfunc_st* CUfunction;
typedef struct CUevent_st* CUevent;
typedef struct CUstream_st* CUstream;
typedef int CUjit_option;

constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER = 3;
constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

struct Driver {
  void* lib = nullptr;
  std::string error;  // why the driver is unavailable ("" when loaded)
  bool initialized = false;
  CUresult (*cuInit)(unsigned int);
  CUresult (*cuDriverGetVersion)(int*);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuGetErrorString)(CUresult, const char**);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
  CUresult (*cuDeviceTotalMem)(size_t*, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, size_t);
  CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuModuleLoadDataEx)(CUmodule*, const void*, unsigned int, CUjit_option*, void**);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void**, void**);
  CUresult (*cuEventCreate)(CUevent*, unsigned int);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);
  CUresult (*cuEventDestroy)(CUevent);
};

Driver g;
std::once_flag g_once;
std::string g_path;

template <class F>
bool sym(F& f, const char* name, const char* fallback = nullptr) {
  void* p = dlsym(g.lib, name);
  if (!p && fallback) p = dlsym(g.lib, fallback);
  if (!p) {
    if (g.error.empty()) g.error = std::string("the CUDA driver (") + g_path + ") lacks " + name;
    return false;
  }
  f = reinterpret_cast<F>(p);
  return true;
}

void load() {
  const char* env = std::getenv("ATTNC_CUDA_LIBRARY");
  g_path = env && *env ? env : "libcuda.so.1";
  g.lib = dlopen(g_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!g.lib) {
    g.error = "no CUDA driver (" + g_path + " not found)";
    return;
  }
  bool ok = sym(g.cuInit, "cuInit") && sym(g.cuDriverGetVersion, "cuDriverGetVersion") && sym(g.cuGetErrorName, "cuGetErrorName") &&
            sym(g.cuGetErrorString, "cuGetErrorString") && sym(g.cuDeviceGetCount, "cuDeviceGetCount") && sym(g.cuDeviceGet, "cuDeviceGet") &&
            sym(g.cuDeviceGetName, "cuDeviceGetName") && sym(g.cuDeviceGetAttribute, "cuDeviceGetAttribute") &&
            sym(g.cuDeviceTotalMem, "cuDeviceTotalMem_v2") && sym(g.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain") &&
            sym(g.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease") && sym(g.cuCtxSetCurrent, "cuCtxSetCurrent") &&
            sym(g.cuCtxSynchronize, "cuCtxSynchronize") && sym(g.cuMemAlloc, "cuMemAlloc_v2") && sym(g.cuMemFree, "cuMemFree_v2") &&
            sym(g.cuMemcpyHtoD, "cuMemcpyHtoD_v2") && sym(g.cuMemcpyDtoH, "cuMemcpyDtoH_v2") && sym(g.cuMemcpyDtoD, "cuMemcpyDtoD_v2") &&
            sym(g.cuMemsetD8, "cuMemsetD8_v2") && sym(g.cuModuleLoadDataEx, "cuModuleLoadDataEx") && sym(g.cuModuleUnload, "cuModuleUnload") &&
            sym(g.cuModuleGetFunction, "cuModuleGetFunction") && sym(g.cuLaunchKernel, "cuLaunchKernel") && sym(g.cuEventCreate, "cuEventCreate") &&
            sym(g.cuEventRecord, "cuEventRecord") && sym(g.cuEventSynchronize, "cuEventSynchronize") &&
            sym(g.cuEventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime") && sym(g.cuEventDestroy, "cuEventDestroy_v2", "cuEventDestroy");
  if (!ok) {
    dlclose(g.lib);
    g.lib = nullptr;
  }
}

bool available() {
  std::call_once(g_once, load);
  return g.lib != nullptr;
}

std::string describe(const char* call, CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (g.cuGetErrorName) g.cuGetErrorName(r, &name);
  if (g.cuGetErrorString) g.cuGetErrorString(r, &text);
  std::string s = std::string(call) + ": " + (name ? name : ("CUDA error " + std::to_string(r)));
  if (text) s += std::string(" (") + text + ")";
  return s;
}

// Throws when the driver is unavailable; initializes it (cuInit) on first use.
void need(const Napi::Env& env) {
  if (!available()) throw Napi::Error::New(env, g.error);
  if (!g.initialized) {
    CUresult r = g.cuInit(0);
    if (r != 0) throw Napi::Error::New(env, describe("cuInit", r));
    g.initialized = true;
  }
}

void check(const Napi::Env& env, const char* call, CUresult r) {
  if (r != 0) throw Napi::Error::New(env, describe(call, r));
}

uint64_t u64(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t x = v.As<Napi::BigInt>().Uint64Value(&lossless);
    return x;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && d <= 9007199254740991.0 && d == (double)(uint64_t)d) return (uint64_t)d;
  }
  throw Napi::TypeError::New(env, std::string(what) + " must be a BigInt handle or a non-negative integer");
}

int32_t i32(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

Napi::Value big(const Napi::Env& env, uint64_t x) { return Napi::BigInt::New(env, x); }

// Bytes of a Buffer / TypedArray / DataView / ArrayBuffer.
std::pair<const uint8_t*, size_t> bytes(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (v.IsBuffer()) {
    auto b = v.As<Napi::Buffer<uint8_t>>();
    return {b.Data(), b.Length()};
  }
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    auto ab = t.ArrayBuffer();
    return {static_cast<const uint8_t*>(ab.Data()) + t.ByteOffset(), t.ByteLength()};
  }
  if (v.IsDataView()) {
    auto d = v.As<Napi::DataView>();
    return {static_cast<const uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset(), d.ByteLength()};
  }
  if (v.IsArrayBuffer()) {
    auto ab = v.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(ab.Data()), ab.ByteLength()};
  }
  throw Napi::TypeError::New(env, std::string(what) + " must be a Buffer, TypedArray, DataView or ArrayBuffer");
}

CUdevice device(const Napi::Env& env, const Napi::Value& v) {
  CUdevice d = 0;
  check(env, "cuDeviceGet", g.cuDeviceGet(&d, i32(env, v, "device ordinal")));
  return d;
}

// ── exported functions ───────────────────────────────────────────────────────────────────────

// { available, error?, driverVersion? } — never throws.
Napi::Value DriverStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  bool ok = available();
  if (ok && !g.initialized) {
    CUresult r = g.cuInit(0);
    if (r != 0) {
      o.Set("available", false);
      o.Set("error", describe("cuInit", r));
      return o;
    }
    g.initialized = true;
  }
  o.Set("available", ok);
  if (!ok) o.Set("error", g.error);
  else {
    int v = 0;
    if (g.cuDriverGetVersion(&v) == 0) o.Set("driverVersion", v);
  }
  o.Set("library", g_path);
  return o;
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  need(info.Env());
  return info.Env().Undefined();
}

Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  int n = 0;
  check(env, "cuDeviceGetCount", g.cuDeviceGetCount(&n));
  return Napi::Number::New(env, n);
}

// { name, major, minor, totalMemory, multiprocessors }
Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  CUdevice d = device(env, info[0]);
  char name[256] = {0};
  check(env, "cuDeviceGetName", g.cuDeviceGetName(name, sizeof name - 1, d));
  int major = 0, minor = 0, sms = 0;
  check(env, "cuDeviceGetAttribute", g.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d));
  check(env, "cuDeviceGetAttribute", g.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d));
  check(env, "cuDeviceGetAttribute", g.cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d));
  size_t mem = 0;
  check(env, "cuDeviceTotalMem", g.cuDeviceTotalMem(&mem, d));
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", name);
  o.Set("major", major);
  o.Set("minor", minor);
  o.Set("totalMemory", Napi::Number::New(env, (double)mem));
  o.Set("multiprocessors", sms);
  return o;
}

// Retains the device's primary context and makes it current; returns the context handle.
Napi::Value ContextCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  CUdevice d = device(env, info[0]);
  CUcontext c = nullptr;
  check(env, "cuDevicePrimaryCtxRetain", g.cuDevicePrimaryCtxRetain(&c, d));
  check(env, "cuCtxSetCurrent", g.cuCtxSetCurrent(c));
  return big(env, (uint64_t)(uintptr_t)c);
}

Napi::Value ContextRelease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuDevicePrimaryCtxRelease", g.cuDevicePrimaryCtxRelease(device(env, info[0])));
  return env.Undefined();
}

Napi::Value ContextSetCurrent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuCtxSetCurrent", g.cuCtxSetCurrent((CUcontext)(uintptr_t)u64(env, info[0], "context")));
  return env.Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuCtxSynchronize", g.cuCtxSynchronize());
  return env.Undefined();
}

Napi::Value MemAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  CUdeviceptr p = 0;
  size_t n = (size_t)u64(env, info[0], "byte count");
  check(env, "cuMemAlloc", g.cuMemAlloc(&p, n == 0 ? 4 : n));
  return big(env, p);
}

Napi::Value MemFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuMemFree", g.cuMemFree((CUdeviceptr)u64(env, info[0], "device pointer")));
  return env.Undefined();
}

// memcpyHtoD(dst, bytes)
Napi::Value MemcpyHtoD(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  CUdeviceptr dst = (CUdeviceptr)u64(env, info[0], "device pointer");
  auto src = bytes(env, info[1], "source");
  if (src.second) check(env, "cuMemcpyHtoD", g.cuMemcpyHtoD(dst, src.first, src.second));
  return env.Undefined();
}

// memcpyDtoH(src, byteCount) -> ArrayBuffer
Napi::Value MemcpyDtoH(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  CUdeviceptr src = (CUdeviceptr)u64(env, info[0], "device pointer");
  size_t n = (size_t)u64(env, info[1], "byte count");
  Napi::ArrayBuffer out = Napi::ArrayBuffer::New(env, n);
  if (n) check(env, "cuMemcpyDtoH", g.cuMemcpyDtoH(out.Data(), src, n));
  return out;
}

// memcpyDtoD(dst, src, byteCount)
Napi::Value MemcpyDtoD(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  size_t n = (size_t)u64(env, info[2], "byte count");
  if (n)
    check(env, "cuMemcpyDtoD",
          g.cuMemcpyDtoD((CUdeviceptr)u64(env, info[0], "destination"), (CUdeviceptr)u64(env, info[1], "source"), n));
  return env.Undefined();
}

// memset(dst, byte, byteCount)
Napi::Value Memset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  size_t n = (size_t)u64(env, info[2], "byte count");
  if (n) check(env, "cuMemsetD8", g.cuMemsetD8((CUdeviceptr)u64(env, info[0], "device pointer"), (unsigned char)i32(env, info[1], "value"), n));
  return env.Undefined();
}

// moduleLoad(ptxText | cubinBytes) -> module; JIT errors carry the compiler log.
Napi::Value ModuleLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  std::vector<uint8_t> image;
  if (info[0].IsString()) {
    std::string s = info[0].As<Napi::String>().Utf8Value();
    image.assign(s.begin(), s.end());
  } else {
    auto b = bytes(env, info[0], "module image");
    image.assign(b.first, b.first + b.second);
  }
  image.push_back(0);  // PTX must be NUL-terminated; harmless after a cubin
  std::vector<char> errlog(16384, 0), infolog(4096, 0);
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void* vals[] = {errlog.data(), (void*)(uintptr_t)(errlog.size() - 1), infolog.data(), (void*)(uintptr_t)(infolog.size() - 1)};
  CUmodule m = nullptr;
  CUresult r = g.cuModuleLoadDataEx(&m, image.data(), 4, opts, vals);
  if (r != 0) {
    std::string msg = describe("cuModuleLoadData", r);
    if (errlog[0]) msg += std::string(": ") + errlog.data();
    throw Napi::Error::New(env, msg);
  }
  return big(env, (uint64_t)(uintptr_t)m);
}

Napi::Value ModuleUnload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuModuleUnload", g.cuModuleUnload((CUmodule)(uintptr_t)u64(env, info[0], "module")));
  return env.Undefined();
}

Napi::Value GetFunction(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  std::string name = info[1].As<Napi::String>().Utf8Value();
  CUfunction f = nullptr;
  CUresult r = g.cuModuleGetFunction(&f, (CUmodule)(uintptr_t)u64(env, info[0], "module"), name.c_str());
  if (r != 0) throw Napi::Error::New(env, describe(("cuModuleGetFunction('" + name + "')").c_str(), r));
  return big(env, (uint64_t)(uintptr_t)f);
}

// launch(fn, [gx, gy, gz], [bx, by, bz], sharedBytes, [devicePointers...], uniformsBytes?)
// Kernel parameters: one device pointer per buffer, then (when given) the uniform block by value.
Napi::Value Launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  CUfunction f = (CUfunction)(uintptr_t)u64(env, info[0], "function");
  auto dims = [&](const Napi::Value& v, const char* what) {
    if (!v.IsArray() || v.As<Napi::Array>().Length() != 3) throw Napi::TypeError::New(env, std::string(what) + " must be [x, y, z]");
    Napi::Array a = v.As<Napi::Array>();
    std::vector<unsigned> d(3);
    for (uint32_t i = 0; i < 3; i++) d[i] = (unsigned)u64(env, a.Get(i), what);
    return d;
  };
  std::vector<unsigned> grid = dims(info[1], "grid"), block = dims(info[2], "block");
  unsigned shared = (unsigned)u64(env, info[3], "shared bytes");
  if (!info[4].IsArray()) throw Napi::TypeError::New(env, "arguments must be an array of device pointers");
  Napi::Array args = info[4].As<Napi::Array>();
  std::vector<CUdeviceptr> ptrs(args.Length());
  std::vector<void*> params;
  for (uint32_t i = 0; i < args.Length(); i++) ptrs[i] = (CUdeviceptr)u64(env, args.Get(i), "argument");
  for (auto& p : ptrs) params.push_back(&p);
  std::vector<uint8_t> uni;
  if (info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull()) {
    auto b = bytes(env, info[5], "uniforms");
    uni.assign(b.first, b.first + b.second);
    params.push_back(uni.data());
  }
  check(env, "cuLaunchKernel",
        g.cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], shared, nullptr, params.empty() ? nullptr : params.data(), nullptr));
  return env.Undefined();
}

Napi::Value EventCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  CUevent e = nullptr;
  check(env, "cuEventCreate", g.cuEventCreate(&e, 0));
  return big(env, (uint64_t)(uintptr_t)e);
}

Napi::Value EventRecord(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuEventRecord", g.cuEventRecord((CUevent)(uintptr_t)u64(env, info[0], "event"), nullptr));
  return env.Undefined();
}

Napi::Value EventSynchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuEventSynchronize", g.cuEventSynchronize((CUevent)(uintptr_t)u64(env, info[0], "event")));
  return env.Undefined();
}

// eventElapsedMs(start, end) -> milliseconds
Napi::Value EventElapsed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  float ms = 0;
  check(env, "cuEventElapsedTime",
        g.cuEventElapsedTime(&ms, (CUevent)(uintptr_t)u64(env, info[0], "start event"), (CUevent)(uintptr_t)u64(env, info[1], "end event")));
  return Napi::Number::New(env, ms);
}

Napi::Value EventDestroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  need(env);
  check(env, "cuEventDestroy", g.cuEventDestroy((CUevent)(uintptr_t)u64(env, info[0], "event")));
  return env.Undefined();
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  struct {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  } fns[] = {
      {"driverStatus", DriverStatus}, {"init", Init}, {"deviceCount", DeviceCount}, {"deviceInfo", DeviceInfo},
      {"contextCreate", ContextCreate}, {"contextRelease", ContextRelease}, {"contextSetCurrent", ContextSetCurrent},
      {"synchronize", Synchronize}, {"memAlloc", MemAlloc}, {"memFree", MemFree}, {"memcpyHtoD", MemcpyHtoD},
      {"memcpyDtoH", MemcpyDtoH}, {"memcpyDtoD", MemcpyDtoD}, {"memset", Memset}, {"moduleLoad", ModuleLoad},
      {"moduleUnload", ModuleUnload}, {"getFunction", GetFunction}, {"launch", Launch}, {"eventCreate", EventCreate},
      {"eventRecord", EventRecord}, {"eventSynchronize", EventSynchronize}, {"eventElapsedMs", EventElapsed},
      {"eventDestroy", EventDestroy},
  };
  for (auto& f : fns) exports.Set(f.name, Napi::Function::New(env, f.fn, f.name));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

NODE_API_MODULE(attnc_cuda, Register)
