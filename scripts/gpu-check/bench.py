#!/usr/bin/env python3
"""The Python side of scripts/gpu-check.sh: attnc's generated CUDA against PyTorch, in one process.

    bench.py LOG [--dry-run]          time every variant of LOG/artifacts.json -> LOG/bench.json
    bench.py --plan DIR --dim N=V ... print the launches of DIR/manifest.json at these dims

The attnc side is exactly what `attnc compile --target cuda -o DIR` wrote: manifest.json (buffers,
steps, uniform layout, dispatch formulas; backends/wgsl/MANIFEST.md) and the cubin for the device's
sm (PTX otherwise), loaded with CuPy RawModule and launched step by step. The references:
  causal          torch.nn.functional.scaled_dot_product_attention(is_causal=True), and
                  torch.compile(flex_attention) with the causal block mask
  sliding_window  torch.compile(flex_attention), mask j <= i and i - j < window
  alibi           torch.compile(flex_attention), causal block mask and score_mod s - m_h (i - j)
  bra             BiFormer's ops/bra_legacy.py BiLevelRoutingAttention forward (region mean,
                  topk routing, torch.gather of the K/V regions, attention, LCE, Wo)
  tome            ToMe's tome/merge.py bipartite_soft_matching(class_token=True) + merge_wavg
Times are medians over many repetitions after warm-up, bracketed by CUDA events on the default
stream, on random normal inputs (inputs are restored before each repetition, outside the events).
Compile latency: a cold torch.compile(flex_attention) (fresh Inductor/Triton caches, first call).

Without torch/CuPy or a GPU it writes bench.json with status "skipped" and the reason, and exits 0.
--dry-run needs neither: it reads the manifests, evaluates every launch at the benchmark dims and
checks the cubin/PTX files are there.
"""
import json
import math
import os
import re
import struct
import sys
import tempfile
import time

# ── manifest dims and launches (pure Python) ───────────────────────────────────────────────────

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(.))")


def dim_expr(text):
    """A manifest DimExpr as a function of the dims (floored / and %, as evalDimExpr)."""
    toks = []
    for num, name, op in _TOKEN.findall(text):
        toks.append(("int", int(num)) if num else ("name", name) if name else ("op", op))
    toks = [t for t in toks if not (t[0] == "op" and t[1].isspace())]
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else ("end", None)

    def take(kind=None, val=None):
        t = peek()
        if (kind and t[0] != kind) or (val is not None and t[1] != val):
            raise ValueError("bad dim expression %r at token %d" % (text, pos[0]))
        pos[0] += 1
        return t

    def fdiv(a, b):
        return 0 if b == 0 else a // b

    def fmod(a, b):
        return 0 if b == 0 else a % b

    def expr():
        f = term()
        while peek() in (("op", "+"), ("op", "-")):
            op = take()[1]
            g = term()
            f = (lambda f, g: lambda e: f(e) + g(e))(f, g) if op == "+" else (lambda f, g: lambda e: f(e) - g(e))(f, g)
        return f

    def term():
        f = unary()
        while peek() in (("op", "*"), ("op", "/"), ("op", "%")):
            op = take()[1]
            g = unary()
            if op == "*":
                f = (lambda f, g: lambda e: f(e) * g(e))(f, g)
            elif op == "/":
                f = (lambda f, g: lambda e: fdiv(f(e), g(e)))(f, g)
            else:
                f = (lambda f, g: lambda e: fmod(f(e), g(e)))(f, g)
        return f

    def unary():
        t = peek()
        if t == ("op", "-"):
            take()
            f = unary()
            return lambda e: -f(e)
        if t[0] == "int":
            take()
            v = t[1]
            return lambda e: v
        if t == ("op", "("):
            take()
            f = expr()
            take("op", ")")
            return f
        if t[0] == "name":
            take()
            if t[1] in ("min", "max") and peek() == ("op", "("):
                take()
                a = expr()
                take("op", ",")
                b = expr()
                take("op", ")")
                return (lambda a, b: lambda e: min(a(e), b(e)))(a, b) if t[1] == "min" else (lambda a, b: lambda e: max(a(e), b(e)))(a, b)
            name = t[1]

            def var(e):
                if name not in e:
                    raise KeyError("dim %s is not bound (in %s)" % (name, text))
                return e[name]

            return var
        raise ValueError("bad dim expression %r" % text)

    f = expr()
    if peek()[0] != "end":
        raise ValueError("bad dim expression %r (trailing input)" % text)
    return f


def ev(text, dims):
    return dim_expr(text)(dims)


def decode_value(v):
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}.get(v, v) if isinstance(v, str) else v


def uniform_words(step, dims, iters):
    """The by-value uniform struct of a launch: one 4-byte word per field at its offset (_inf last)."""
    n = max(u["offset"] for u in step["uniforms"]) // 4 + 1
    words = [0] * n
    for u in step["uniforms"]:
        src = u["source"]
        v = dims[src["dim"]] if "dim" in src else iters.get(src["iteration"], 0) if "iteration" in src else src["value"]
        if u["type"] == "f32":
            w = struct.unpack("<I", struct.pack("<f", float(v)))[0]
        elif u["type"] == "u32":
            w = int(v) & 0xFFFFFFFF
        else:
            w = int(v) & 0xFFFFFFFF  # (uint32_t)(int32_t)v
        words[u["offset"] // 4] = w
    return words


def plan(man, dims):
    """Every launch and copy at these dims, in order (loops unrolled, empty grids and copies left out)."""
    out = []
    iters = {}

    def walk(steps):
        for s in steps:
            if s["op"] == "copy":
                n = ev(s["elements"], dims)
                if n > 0:
                    out.append(("copy", s["from"], s["to"], n))
            elif s["op"] == "loop":
                for i in range(ev(s["count"], dims)):
                    iters[s["loop"]] = i
                    walk(s["body"])
            else:
                grid = [ev(d, dims) for d in s["dispatch"]]
                if min(grid) <= 0:
                    continue
                fn = s["kernel"].split("#", 1)[1]
                out.append(("launch", fn, tuple(grid), tuple(s["workgroupSize"]), [b["buffer"] for b in s["bindings"]], uniform_words(s, dims, iters)))
        return out

    return walk(man["steps"])


def plan_lines(man, dims):
    """The plan in test/cuda/gpu-plan.test.ts's line format (kernel by index in manifest.kernels)."""
    names = [k["name"] for k in man["kernels"]]
    shared = {k["name"]: k["workgroupStorageBytes"] for k in man["kernels"]}
    lines = []
    for s in plan(man, dims):
        if s[0] == "copy":
            lines.append("copy %d %d %d" % s[1:])
        else:
            _, fn, grid, block, args, words = s
            lines.append(" ".join(str(x) for x in ["launch", names.index(fn), *grid, *block, shared[fn], len(args), *args, len(words), *words]))
    return lines


def buffer_sizes(man, dims):
    return [ev(b["numel"], dims) for b in man["buffers"]]


# ── the GPU side ───────────────────────────────────────────────────────────────────────────────


class AttncProgram:
    """A compiled attnc program on the GPU: buffers, constants, the launch plan; run() replays it."""

    NP = {"f32": "float32", "f16": "float32", "bf16": "float32", "i32": "int32", "u32": "uint32", "bool": "uint32"}

    def __init__(self, cp, np, man, image, dims):
        self.cp, self.np, self.man, self.dims = cp, np, man, dims
        self.image = image
        self.mode = "RawKernel"  # or "cuLaunchKernel" when CuPy does not take the struct argument
        self.fallback = None
        self.module = cp.RawModule(path=image)
        self.fns = {k["name"]: self.module.get_function(k["name"]) for k in man["kernels"]}
        self.sizes = buffer_sizes(man, dims)
        self.words = [cp.zeros(max(1, n), dtype=cp.uint32) for n in self.sizes]
        for b in man["buffers"]:
            if b.get("values"):
                vals = self.narrow(b["dtype"], np.array([decode_value(v) for v in b["values"]], dtype=self.NP[b["dtype"]]))
                self.view(b["id"])[: len(vals)] = cp.asarray(vals)
        self.steps = []
        for s in plan(man, dims):
            if s[0] == "copy":
                self.steps.append(s)
            else:
                _, fn, grid, block, args, words = s
                rec = np.frombuffer(np.array(words, dtype="<u4").tobytes(), dtype=np.dtype([("w%d" % i, "<u4") for i in range(len(words))]))[0]
                self.steps.append(("launch", self.fns[fn], grid, block, tuple(self.words[a] for a in args), rec, fn, words))
        self.inputs = {}

    def narrow(self, dtype, a):
        """f16/bf16 values rounded to their precision (nearest even) and held as float32, as attnc's runtimes encode them."""
        if dtype == "f16":
            return a.astype("float16").astype("float32")
        if dtype == "bf16":
            u = a.astype("float32").view("uint32")
            u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
            return u.astype("uint32").view("float32")
        return a

    def view(self, buf):
        return self.words[buf].view(self.NP[self.man["buffers"][buf]["dtype"]])

    def set_input(self, name, arr):
        """arr: a CuPy-compatible device array (torch tensors via __cuda_array_interface__)."""
        inp = next(i for i in self.man["inputs"] if i["name"] == name)
        src = self.narrow(inp["dtype"], self.cp.asarray(arr).ravel().astype(self.NP[inp["dtype"]]))
        dst = self.view(inp["buffer"])
        if src.size != self.sizes[inp["buffer"]]:
            raise ValueError("input %s: %d values for %d elements" % (name, src.size, self.sizes[inp["buffer"]]))
        dst[: src.size] = src
        self.inputs[inp["buffer"]] = self.words[inp["buffer"]].copy()

    def restore_inputs(self):
        """Inputs as uploaded (a program may reuse an input buffer once it is dead); the flag zeroed."""
        for b, saved in self.inputs.items():
            self.words[b][...] = saved
        self.words[self.man["flag"]][...] = 0

    def run(self):
        for s in self.steps:
            if s[0] == "copy":
                _, a, b, n = s
                self.words[b][:n] = self.words[a][:n]
            elif self.mode == "RawKernel":
                _, fn, grid, block, args, rec, name, words = s
                try:
                    fn(grid, block, args + (rec,))
                except TypeError as e:  # this CuPy does not pass a structured scalar by value
                    self.fallback = str(e)
                    self.mode = "cuLaunchKernel"
                    self._driver_launch(s)
            else:
                self._driver_launch(s)

    def _driver_launch(self, s):
        """The launch through the driver API: kernel parameters = device pointers, then the struct bytes."""
        import ctypes

        _, _, grid, block, args, _, name, words = s
        drv = self.cp.cuda.driver
        if not hasattr(self, "_dmod"):
            self._dmod = drv.moduleLoad(self.image)
            self._dfns = {}
        if name not in self._dfns:
            self._dfns[name] = drv.moduleGetFunction(self._dmod, name)
        params = [ctypes.c_uint64(a.data.ptr) for a in args] + [(ctypes.c_uint32 * len(words))(*words)]
        ptrs = (ctypes.c_void_p * len(params))(*[ctypes.addressof(p) for p in params])
        drv.launchKernel(self._dfns[name], grid[0], grid[1], grid[2], block[0], block[1], block[2], 0,
                         self.cp.cuda.get_current_stream().ptr, ctypes.addressof(ptrs), 0)

    def output(self, name):
        o = next(x for x in self.man["outputs"] if x["name"] == name)
        shape = [ev(d, self.dims) for d in o["shape"]]
        n = int(self.np.prod(shape)) if shape else 1
        return self.view(o["buffer"])[:n].reshape(shape)

    def flag(self):
        return int(self.cp.asnumpy(self.words[self.man["flag"]][:1])[0])


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def time_gpu(torch, fn, before=None, warmup=5, budget_ms=1500.0, max_reps=100):
    """Median ms of fn over repetitions after warm-up (CUDA events; `before` runs outside them)."""
    for _ in range(warmup):
        if before:
            before()
        fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    t_end = time.time() + budget_ms / 1000.0
    while len(times) < max_reps and (len(times) < 10 or time.time() < t_end):
        if before:
            before()
        s.record()
        fn()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return median(times), len(times)


# ── the PyTorch references ─────────────────────────────────────────────────────────────────────


def bra_reference(torch, F, x, wqkv, bqkv, wo, bo, wlce, blce, S, topk, heads):
    """BiFormer's ops/bra_legacy.py BiLevelRoutingAttention.forward, NHWC, with n_win=S,
    qk_dim=dim=C, qk_scale=C^-1/2, kv_per_win/kv_downsample off (identity), param_routing=False,
    diff_routing=False, soft_routing=False (routing_act identity, mul_weight 'none'),
    side_dwconv=5 (LCE on v), auto_pad=False; the einops rearranges as view/permute."""
    N, H, W, C = x.shape
    h, w = H // S, W // S
    x = x.view(N, S, h, S, w, C).permute(0, 1, 3, 2, 4, 5).reshape(N, S * S, h, w, C)  # n (j h) (i w) c -> n (j i) h w c
    qkv = x @ wqkv + bqkv  # QKVLinear: q | kv
    q, kv = qkv[..., :C], qkv[..., C:]
    q_pix = q.reshape(N, S * S, h * w, C)  # n p2 h w c -> n p2 (h w) c
    kv_pix = kv.reshape(N, S * S, h * w, 2 * C)  # kv_down = identity
    q_win, k_win = q.mean([2, 3]), kv[..., :C].mean([2, 3])  # region-level q, k
    v_img = kv[..., C:].reshape(N, S, S, h, w, C).permute(0, 5, 1, 3, 2, 4).reshape(N, C, H, W)  # n (j i) h w c -> n c (j h) (i w)
    lepe = F.conv2d(v_img, wlce.view(C, 1, 5, 5), blce, padding=2, groups=C).permute(0, 2, 3, 1)
    scale = C ** -0.5
    r_logit = (q_win * scale) @ k_win.transpose(-2, -1)  # TopkRouting
    _r_weight, r_idx = torch.topk(r_logit, k=topk, dim=-1)
    n, p2, w2, c_kv = kv_pix.shape  # KVGather
    kv_sel = torch.gather(kv_pix.view(n, 1, p2, w2, c_kv).expand(-1, p2, -1, -1, -1), dim=2,
                          index=r_idx.view(n, p2, topk, 1, 1).expand(-1, -1, -1, w2, c_kv))
    k_sel, v_sel = kv_sel.split([C, C], dim=-1)
    m, c = heads, C // heads
    k_sel = k_sel.reshape(n, p2, topk, w2, m, c).permute(0, 1, 4, 5, 2, 3).reshape(n * p2, m, c, topk * w2)
    v_sel = v_sel.reshape(n, p2, topk, w2, m, c).permute(0, 1, 4, 2, 3, 5).reshape(n * p2, m, topk * w2, c)
    q_pix = q_pix.reshape(n, p2, w2, m, c).permute(0, 1, 3, 2, 4).reshape(n * p2, m, w2, c)
    attn = torch.softmax((q_pix * scale) @ k_sel, dim=-1)
    out = attn @ v_sel  # (n p2) m w2 c
    out = out.reshape(n, S, S, m, h, w, c).permute(0, 1, 4, 2, 5, 3, 6).reshape(n, H, W, C)  # -> n (j h) (i w) (m c)
    return (out + lepe) @ wo + bo


def tome_reference(torch, x, metric, size, r):
    """ToMe's tome/merge.py: bipartite_soft_matching(metric, r, class_token=True) then merge_wavg."""
    protected = 1
    t = metric.shape[1]
    r = min(r, (t - protected) // 2)
    with torch.no_grad():
        metric = metric / metric.norm(dim=-1, keepdim=True)
        a, b = metric[..., ::2, :], metric[..., 1::2, :]
        scores = a @ b.transpose(-1, -2)
        scores[..., 0, :] = -math.inf
        node_max, node_idx = scores.max(dim=-1)
        edge_idx = node_max.argsort(dim=-1, descending=True)[..., None]
        unm_idx = edge_idx[..., r:, :]
        src_idx = edge_idx[..., :r, :]
        dst_idx = node_idx[..., None].gather(dim=-2, index=src_idx)
        unm_idx = unm_idx.sort(dim=1)[0]

    def merge(v, mode):
        src, dst = v[..., ::2, :], v[..., 1::2, :]
        n, t1, c = src.shape
        unm = src.gather(dim=-2, index=unm_idx.expand(n, t1 - r, c))
        src = src.gather(dim=-2, index=src_idx.expand(n, r, c))
        dst = dst.scatter_reduce(-2, dst_idx.expand(n, r, c), src, reduce=mode)
        return torch.cat([unm, dst], dim=1)

    size = size[..., None]
    xm = merge(x * size, "sum")
    sm = merge(size, "sum")
    return xm / sm, sm[..., 0]


# ── main ───────────────────────────────────────────────────────────────────────────────────────


def load_variants(log):
    with open(os.path.join(log, "artifacts.json")) as f:
        art = json.load(f)
    out = []
    for v in art["variants"]:
        d = os.path.join(log, v["dir"])
        mpath = os.path.join(d, "manifest.json")
        man = json.load(open(mpath)) if os.path.exists(mpath) else None
        out.append((v, d, man))
    return art, out


def dry_run(log, result):
    art, variants = load_variants(log)
    notes = []
    for v, d, man in variants:
        if man is None:
            notes.append("%s: no manifest" % v["name"])
            continue
        steps = plan(man, v["dims"])
        sizes = buffer_sizes(man, v["dims"])
        image = v.get("cubin") or v.get("ptx")
        ok = image and os.path.exists(os.path.join(log, image))
        notes.append("%s: %d launches, %d copies, %.1f MB of buffers, %s" % (
            v["name"], sum(1 for s in steps if s[0] == "launch"), sum(1 for s in steps if s[0] == "copy"),
            4 * sum(sizes) / 1e6, "image " + os.path.basename(image) if ok else "NO cubin/PTX"))
    result["dryRun"] = "; ".join(notes)
    return all("NO " not in n and "no manifest" not in n for n in notes)


def save(log, result):
    with open(os.path.join(log, "bench.json"), "w") as f:
        json.dump(result, f, indent=2)


def bench(log, result):
    # a cold torch.compile: fresh Inductor and Triton caches for this process
    tmp = tempfile.mkdtemp(prefix="attnc-bench-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(tmp, "inductor")
    os.environ["TRITON_CACHE_DIR"] = os.path.join(tmp, "triton")
    try:
        import numpy as np
    except ImportError as e:
        result.update(status="skipped", reason="NumPy is not installed (%s)" % e)
        return
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        result.update(status="skipped", reason="PyTorch is not installed (%s)" % e)
        return
    result["torch"] = torch.__version__
    try:
        import cupy as cp
    except ImportError as e:
        result.update(status="skipped", reason="CuPy is not installed (%s)" % e)
        return
    result["cupy"] = cp.__version__
    if not torch.cuda.is_available():
        result.update(status="skipped", reason="torch.cuda.is_available() is False (no CUDA driver or device)")
        return
    result["device"] = torch.cuda.get_device_name(0)
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        flex = torch.compile(flex_attention)
    except Exception as e:  # noqa: BLE001
        flex = None
        result["flexError"] = "flex_attention unavailable: %s" % e
    art, variants = load_variants(log)
    rows = result["rows"] = []
    compile_ms = result["compile"] = {}
    dev = "cuda"
    g = torch.Generator(device=dev).manual_seed(0)

    def randn(*shape, scale=1.0):
        return torch.randn(*shape, device=dev, dtype=torch.float32, generator=g) * scale

    def maxdiff(a, b):
        try:
            return float((torch.as_tensor(a, device=dev).float() - b.float()).abs().max())
        except Exception as e:  # noqa: BLE001
            return "shape mismatch (%s)" % e

    for v, d, man in variants:
        name, dims = v["name"], v["dims"]
        image = v.get("cubin") or v.get("ptx")
        if man is None or not image:
            rows.append(dict(variant=name, shape="-", attncMs=None, reference="-", refMs=None, maxAbsDiff=None, note="no manifest/cubin: attnc compile failed"))
            continue
        try:
            prog = AttncProgram(cp, np, man, os.path.join(log, image), dims)
        except Exception as e:  # noqa: BLE001
            rows.append(dict(variant=name, shape="-", attncMs=None, reference="-", refMs=None, maxAbsDiff=None, note="loading the cubin failed: %s" % e))
            continue
        kind = v["kind"]
        refs = []  # (label, fn, attnc output, reference output fn)
        if kind in ("causal", "sliding_window", "alibi"):
            B, H, N, D = dims["B"], dims["H"], dims["N"], dims["D"]
            shape = "B%d H%d N%d D%d f32" % (B, H, N, D)
            q, k, vv = randn(B, H, N, D), randn(B, H, N, D), randn(B, H, N, D)
            for nm, t in (("q", q), ("k", k), ("v", vv)):
                prog.set_input(nm, t)
            out_name = man["outputs"][0]["name"]
            window = v["defines"].get("window", 256)
            if kind == "causal":
                refs.append(("SDPA (is_causal)", lambda: F.scaled_dot_product_attention(q, k, vv, is_causal=True)))
            if flex is not None:
                if kind == "sliding_window":
                    def mask_mod(b, h, qi, kj, w=window):
                        return (kj <= qi) & (qi - kj < w)
                else:
                    def mask_mod(b, h, qi, kj):
                        return kj <= qi
                score_mod = None
                if kind == "alibi":
                    slopes = torch.tensor([2.0 ** (-8.0 * (h + 1) / H) for h in range(H)], device=dev)

                    def score_mod(s, b, h, qi, kj, slopes=slopes):
                        return s - slopes[h] * (qi - kj)
                try:
                    torch._dynamo.reset()
                    t0 = time.time()
                    bm = create_block_mask(mask_mod, None, None, N, N, device=dev)
                    flex(q, k, vv, score_mod=score_mod, block_mask=bm)
                    torch.cuda.synchronize()
                    compile_ms[name] = (time.time() - t0) * 1000.0
                    refs.append(("torch.compile(flex_attention)", lambda bm=bm, sm=score_mod: flex(q, k, vv, score_mod=sm, block_mask=bm)))
                except Exception as e:  # noqa: BLE001
                    compile_ms[name] = "failed: %s" % str(e).split("\n")[0][:120]
        elif kind == "bra":
            B, H, W, C = dims["B"], dims["H"], dims["W"], dims["C"]
            S, topk, heads = v["defines"]["S"], v["defines"]["topk"], v["defines"]["heads"]
            shape = "B%d %dx%d C%d S%d topk%d heads%d f32" % (B, H, W, C, S, topk, heads)
            x = randn(B, H, W, C)
            wqkv, bqkv = randn(C, 3 * C, scale=C ** -0.5), randn(3 * C, scale=0.1)
            wo, bo = randn(C, C, scale=C ** -0.5), randn(C, scale=0.1)
            wlce, blce = randn(C, 5, 5, scale=0.2), randn(C, scale=0.1)
            for nm, t in (("x", x), ("wqkv", wqkv), ("bqkv", bqkv), ("wo", wo), ("bo", bo), ("wlce", wlce), ("blce", blce)):
                prog.set_input(nm, t)
            out_name = man["outputs"][0]["name"]
            refs.append(("PyTorch BRA (gather, as bra_legacy.py)", lambda: bra_reference(torch, F, x, wqkv, bqkv, wo, bo, wlce, blce, S, topk, heads)))
        elif kind == "tome":
            B, N, C, D = dims["B"], dims["N"], dims["C"], dims["D"]
            r = v["defines"]["r"]
            shape = "B%d N%d C%d D%d r%d f32" % (B, N, C, D, r)
            x, metric = randn(B, N, C), randn(B, N, D)
            size = torch.ones(B, N, device=dev)
            for nm, t in (("x", x), ("metric", metric), ("size", size)):
                prog.set_input(nm, t)
            out_name = man["outputs"][0]["name"]
            refs.append(("PyTorch ToMe (merge.py bipartite_soft_matching + merge_wavg)", lambda: tome_reference(torch, x, metric, size, r)[0]))
        else:
            continue
        try:
            prog.restore_inputs()
            prog.run()
            cp.cuda.Device().synchronize()
            got = torch.as_tensor(prog.output(out_name), device=dev)
            flagged = prog.flag()
            a_ms, a_n = time_gpu(torch, prog.run, before=prog.restore_inputs)
            if prog.fallback:
                result["launchFallback"] = "RawKernel refused the uniform struct (%s); launched with cuLaunchKernel" % prog.fallback
        except Exception as e:  # noqa: BLE001
            rows.append(dict(variant=name, shape=shape, attncMs=None, reference="-", refMs=None, maxAbsDiff=None, note="attnc run failed: %s" % str(e).split("\n")[0][:160]))
            continue
        if not refs:
            rows.append(dict(variant=name, shape=shape, attncMs=a_ms, reference="-", refMs=None, maxAbsDiff=None, note=result.get("flexError", "no reference")))
        for label, fn in refs:
            try:
                ref = fn()
                r_ms, r_n = time_gpu(torch, fn)
                rows.append(dict(variant=name, shape=shape, attncMs=a_ms, attncReps=a_n, reference=label, refMs=r_ms, refReps=r_n,
                                 maxAbsDiff=maxdiff(got, ref), errorFlag=flagged))
            except Exception as e:  # noqa: BLE001
                rows.append(dict(variant=name, shape=shape, attncMs=a_ms, reference=label, refMs=None, maxAbsDiff=None, note="reference failed: %s" % str(e).split("\n")[0][:160]))
        result["status"] = "partial"
        result["reason"] = "stopped after %s" % name
        save(log, result)  # what is measured survives a timeout
        print("bench: %s done" % name, flush=True)
    result["status"] = "ok"
    result.pop("reason", None)


def main(argv):
    if argv and argv[0] == "--plan":
        d = argv[1]
        dims = {}
        for i, a in enumerate(argv):
            if a == "--dim":
                k, val = argv[i + 1].split("=")
                dims[k] = int(val)
        man = json.load(open(os.path.join(d, "manifest.json")))
        print("\n".join(plan_lines(man, dims)))
        return 0
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    log = argv[0]
    result = {"status": "skipped", "rows": []}
    ok = True
    try:
        ok = dry_run(log, result)
        if "--dry-run" in argv:
            result["reason"] = "--dry-run"
        else:
            bench(log, result)
    except Exception as e:  # noqa: BLE001
        result.update(status="error", reason="%s: %s" % (type(e).__name__, e))
        ok = False
    save(log, result)
    print("bench: %s%s" % (result["status"], " (%s)" % result["reason"] if result.get("reason") else ""))
    if result.get("dryRun"):
        print("bench: dry run: %s" % result["dryRun"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
