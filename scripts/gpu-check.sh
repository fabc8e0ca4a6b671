#!/usr/bin/env bash
# The GPU check (/work/shared/gpu.md): one invocation, under 10 minutes, full logs in LOGDIR, a short
# markdown table printed last.
#
#   scripts/gpu-check.sh LOGDIR [--quick]
#
#   1. Node: `node` on PATH, else the shipped one ($ATTNC_NODE_XZ, default .gpu-carry/node.xz)
#      unpacked to /tmp; node_modules from .gpu-carry/node_modules.tar.xz when absent.
#   2. The native addon: native/build/Release/attnc_cuda.node, else .gpu-carry/attnc_cuda.node, else
#      rebuilt with cmake (Node's headers from .gpu-carry/node-include or the system).
#   3. Correctness: every example through `attnc run --backend cuda --check` against the reference
#      interpreter (fresh random inputs); compute-sanitizer memcheck on a small example. Without a
#      CUDA driver/device: the reason, and the quick subset on cuda-emu (the CPU stand-in).
#   4. `attnc compile --target cuda -o DIR` (manifest, .cu, PTX/cubin via nvcc) for the benchmark
#      variants; compile latency DSL -> cubin.
#   5. Speed (scripts/gpu-check/bench.py, one Python process): generated kernels via CuPy RawModule
#      vs SDPA, torch.compile(flex_attention), a gather-based BRA and ToMe's merge; cold
#      torch.compile latency. Without torch/CuPy/GPU: a dry run, and the reason.
#   6. The table (scripts/gpu-check/driver.ts table), also written to bench/results/<gpu>-<date>.md
#      when a GPU ran.
# --quick: a small subset at small sizes (the CPU test, test/cuda/gpu-check.test.ts).
# On a borrowed device machine only LOGDIR comes back: put it under $OUT and commit LOGDIR/table.md
# as bench/results/<gpu>-<date>.md (prepare with scripts/gpu-pack.sh; carry .gpu-carry).
# Exit status: 0 when everything that could run passed; 1 when a check failed or a step broke.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG="${1:-}"
if [ -z "$LOG" ] || [ "${LOG#-}" != "$LOG" ]; then
  echo "usage: scripts/gpu-check.sh LOGDIR [--quick]" >&2
  exit 2
fi
shift
QUICK=""
for a in "$@"; do
  case "$a" in
    --quick) QUICK="--quick" ;;
    *) echo "gpu-check: unknown option '$a'" >&2; exit 2 ;;
  esac
done
mkdir -p "$LOG" || exit 2
LOG="$(cd "$LOG" && pwd)"
cd "$ROOT" || exit 2
CARRY="${ATTNC_CARRY:-$ROOT/.gpu-carry}"
exec > >(tee -a "$LOG/gpu-check.log") 2>&1
T0=$(date +%s)
FAILED=0
step() { echo; echo "== $* (t=$(( $(date +%s) - T0 ))s)"; }
note() { echo "gpu-check: $*"; }
# run STEPNAME TIMEOUT CMD...: output to LOG/STEPNAME.txt and the console; a failure marks the run failed
run() {
  local name="$1" limit="$2"
  shift 2
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$LOG/$name.txt"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    note "$name: exit $rc$([ "$rc" -eq 124 ] && echo " (timed out after ${limit}s)")"
    FAILED=1
  fi
  return "$rc"
}

# ── 1. node and node_modules ──
step "node"
if ! command -v node >/dev/null 2>&1; then
  XZ="${ATTNC_NODE_XZ:-$CARRY/node.xz}"
  if [ ! -f "$XZ" ]; then
    note "node is not installed and no shipped node was found ($XZ); run scripts/gpu-pack.sh and carry .gpu-carry"
    exit 1
  fi
  mkdir -p /tmp/attnc-node/bin
  xz -dc "$XZ" > /tmp/attnc-node/bin/node && chmod +x /tmp/attnc-node/bin/node || { note "cannot unpack $XZ"; exit 1; }
  export PATH="/tmp/attnc-node/bin:$PATH"
  note "using the shipped node from $XZ"
fi
node --version || { note "node does not run"; exit 1; }
if [ ! -d node_modules/tsx ] || [ ! -d node_modules/chevrotain ]; then
  if [ -f "$CARRY/node_modules.tar.xz" ]; then
    tar -xJf "$CARRY/node_modules.tar.xz" -C "$ROOT" || { note "cannot unpack $CARRY/node_modules.tar.xz"; exit 1; }
    note "unpacked the runtime node_modules from $CARRY/node_modules.tar.xz"
  else
    note "node_modules is missing (no $CARRY/node_modules.tar.xz); run scripts/gpu-pack.sh"
    exit 1
  fi
fi
TSX=(node --import tsx)

# ── 2. the native addon ──
step "native addon"
addon_loads() { node -e 'const a = require(process.argv[1]); if (a.abiVersion !== 1) throw new Error("abi " + a.abiVersion)' "$1" >>"$LOG/addon.txt" 2>&1; }
ADDON="$ROOT/native/build/Release/attnc_cuda.node"
if [ -f "$ADDON" ] && addon_loads "$ADDON"; then
  note "addon: $ADDON"
elif [ -f "$CARRY/attnc_cuda.node" ] && addon_loads "$CARRY/attnc_cuda.node"; then
  export ATTNC_CUDA_ADDON="$CARRY/attnc_cuda.node"
  note "addon: the shipped $ATTNC_CUDA_ADDON"
else
  note "the addon does not load here; rebuilding it with cmake"
  INC=""
  for d in "${ATTNC_NODE_INCLUDE:-}" "$CARRY/node-include" "$(dirname "$(command -v node)")/../include/node" /usr/include/node /usr/local/include/node; do
    if [ -n "$d" ] && [ -f "$d/node_api.h" ]; then INC="$d"; break; fi
  done
  BUILD="$LOG/addon-build"
  if [ -z "$INC" ]; then
    note "cannot rebuild the addon: Node's headers (node_api.h) were not found; CUDA runs will be reported unavailable"
  elif command -v cmake >/dev/null 2>&1 \
    && run addon-cmake 300 cmake -S native -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_JS_INC="$INC" -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$BUILD/Release" \
    && run addon-build 300 cmake --build "$BUILD" -j 4 && addon_loads "$BUILD/Release/attnc_cuda.node"; then
    export ATTNC_CUDA_ADDON="$BUILD/Release/attnc_cuda.node"
    note "addon: rebuilt at $ATTNC_CUDA_ADDON"
  else
    note "the addon could not be rebuilt (see $LOG/addon-*.txt); CUDA runs will be reported unavailable"
    FAILED=1
  fi
fi

# ── environment ──
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || { [ -f "$CARRY/commit" ] && echo "$(cat "$CARRY/commit") (at gpu-pack)"; } || echo unknown)"
NVCC_V="$(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' | head -1)"
DRIVER="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
node -e 'const [f, ...v] = process.argv.slice(1); require("fs").writeFileSync(f, JSON.stringify({ date: v[0], commit: v[1], node: process.version, nvcc: v[2] || null, driver: v[3] || null }, null, 2))' \
  "$LOG/env.json" "$(date -u +%Y-%m-%dT%H:%MZ)" "$COMMIT" "$NVCC_V" "$DRIVER"
"${TSX[@]}" -e 'import("./runtime/cuda/device.ts").then(({ cudaStatus }) => { const s = cudaStatus(); console.log(s.ok ? `CUDA: ${s.device.name} (sm_${s.device.major}${s.device.minor}), ${s.devices} device(s), driver ${s.driverVersion}` : s.reason); })' | tee "$LOG/cuda-status.txt"

# ── 3. correctness ──
step "correctness"
JOBS=$(( $(nproc 2>/dev/null || echo 2) / 2 )); [ "$JOBS" -lt 1 ] && JOBS=1; [ "$JOBS" -gt 6 ] && JOBS=6
run correctness 180 "${TSX[@]}" scripts/gpu-check/driver.ts correctness "$LOG" $QUICK --jobs "$JOBS"
HAVE_GPU=$(node -e 'try { const j = require(process.argv[1]); console.log(j.cuda && j.cuda.device ? 1 : 0) } catch { console.log(0) }' "$LOG/correctness.json")

step "compute-sanitizer"
if [ "$HAVE_GPU" = 1 ] && command -v compute-sanitizer >/dev/null 2>&1; then
  EX=(run examples/dense-attention/dense-attention.attn --graph causal --backend cuda --check --dim B=1 --dim H=2 --dim N=40 --dim D=16)
  timeout --kill-after=10 90 compute-sanitizer --tool memcheck --error-exitcode 9 node bin/attnc.js "${EX[@]}" >"$LOG/sanitizer.txt" 2>&1
  rc=$?
  SUMMARY="$(grep -E 'ERROR SUMMARY' "$LOG/sanitizer.txt" | tail -1)"
  STATUS=$([ "$rc" -eq 0 ] && echo ok || echo FAIL)
  [ "$rc" -ne 0 ] && FAILED=1
  node -e 'const [f, s, d] = process.argv.slice(1); require("fs").writeFileSync(f, JSON.stringify({ example: "dense-attention/causal B1 H2 N40 D16", status: s, detail: d }))' "$LOG/sanitizer.json" "$STATUS" "${SUMMARY:-exit $rc}"
  note "compute-sanitizer: $STATUS (${SUMMARY:-exit $rc})"
else
  WHY=$([ "$HAVE_GPU" = 1 ] && echo "compute-sanitizer is not installed" || echo "no CUDA device")
  node -e 'const [f, d] = process.argv.slice(1); require("fs").writeFileSync(f, JSON.stringify({ example: "dense-attention/causal", status: "skipped", detail: d }))' "$LOG/sanitizer.json" "$WHY"
  note "compute-sanitizer: skipped ($WHY)"
fi

# ── 4. compile: artifacts and latency ──
step "compile (attnc compile --target cuda, nvcc)"
run artifacts 120 "${TSX[@]}" scripts/gpu-check/driver.ts artifacts "$LOG" $QUICK

# ── 5. speed ──
step "speed (bench.py)"
PY="$(command -v python3 || command -v python || true)"
if [ -z "$PY" ]; then
  note "python3 is not installed: speed skipped"
  echo '{"status": "skipped", "reason": "python3 is not installed", "rows": []}' > "$LOG/bench.json"
elif "$PY" -m py_compile scripts/gpu-check/bench.py; then
  run bench 280 "$PY" scripts/gpu-check/bench.py "$LOG"
else
  note "bench.py does not compile"
  FAILED=1
fi

# ── 6. the table ──
step "table"
WRITE=()
if [ "$HAVE_GPU" = 1 ] && [ -z "$QUICK" ]; then
  GPU_NAME="$(node -e 'console.log(require(process.argv[1]).cuda.device)' "$LOG/correctness.json")"
  SLUG="$(echo "$GPU_NAME" | grep -io 'h200\|h100\|a100\|l40s\|b200' | head -1 | tr 'A-Z' 'a-z')"
  SLUG="${SLUG:-$(echo "$GPU_NAME" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')}"
  WRITE=(--write "$ROOT/bench/results/$SLUG-$(date -u +%Y-%m-%d).md")
fi
CORR_FAIL=$(node -e 'try { const j = require(process.argv[1]); console.log(j.rows.filter((r) => r.status === "FAIL").length) } catch { console.log(1) }' "$LOG/correctness.json")
COMPILE_FAIL=$(node -e 'try { const j = require(process.argv[1]); console.log(j.variants.filter((v) => !v.compile.ok).length) } catch { console.log(1) }' "$LOG/artifacts.json")
[ "$CORR_FAIL" != 0 ] && FAILED=1
[ "$COMPILE_FAIL" != 0 ] && FAILED=1
echo "gpu-check: finished in $(( $(date +%s) - T0 ))s; logs in $LOG; $([ "$FAILED" = 0 ] && echo "all checks that ran passed" || echo "SOMETHING FAILED (see above)")"
echo
"${TSX[@]}" scripts/gpu-check/driver.ts table "$LOG" --command "scripts/gpu-check.sh $(basename "$LOG")${QUICK:+ $QUICK}" "${WRITE[@]}" | tee "$LOG/table.md"
exit "$FAILED"
