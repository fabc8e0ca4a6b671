#!/usr/bin/env bash
# Prepares the carry folder for a GPU machine that has no Node.js and no network (/work/shared/gpu.md):
#
#   scripts/gpu-pack.sh [DIR]        (default .gpu-carry/, git-ignored)
#
#   DIR/node.xz               this machine's node binary (links only libc and libstdc++), xz -T2
#   DIR/attnc_cuda.node       the native addon, built here with cmake-js if it is not built yet
#   DIR/node-include/         Node-API headers, so scripts/gpu-check.sh can rebuild the addon with cmake
#   DIR/node_modules.tar.xz   the runtime subset of node_modules the CLI needs (tsx, esbuild, chevrotain,
#                             node-addon-api), unpacked by gpu-check.sh when node_modules is absent
#   DIR/commit                the tree's commit (+modified when tracked files differ), for the table
#
# Then carry the folder with the tree (the device tool's `carry: [".gpu-carry"]`) and run
# `bash scripts/gpu-check.sh LOGDIR` there. The whole folder stays well under the 64 MiB limit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/.gpu-carry}"
cd "$ROOT"
mkdir -p "$OUT"

NODE="$(readlink -f "$(command -v node)")"
echo "gpu-pack: node $("$NODE" --version) from $NODE"
xz -T2 -c "$NODE" > "$OUT/node.xz.tmp" && mv "$OUT/node.xz.tmp" "$OUT/node.xz"

ADDON=native/build/Release/attnc_cuda.node
if [ ! -f "$ADDON" ]; then
  echo "gpu-pack: building the addon (npm run build:native)"
  npm run build:native
fi
cp "$ADDON" "$OUT/attnc_cuda.node"

INC=""
for d in "$(dirname "$NODE")/../include/node" /usr/include/node /usr/local/include/node; do
  if [ -f "$d/node_api.h" ]; then INC="$d"; break; fi
done
if [ -n "$INC" ]; then
  mkdir -p "$OUT/node-include"
  for h in node_api.h node_api_types.h js_native_api.h js_native_api_types.h; do
    [ -f "$INC/$h" ] && cp "$INC/$h" "$OUT/node-include/"
  done
else
  echo "gpu-pack: warning: Node's headers were not found; the GPU machine can only use the prebuilt addon"
fi

MODS=()
for m in tsx esbuild @esbuild chevrotain @chevrotain node-addon-api get-tsconfig resolve-pkg-maps; do
  [ -e "node_modules/$m" ] && MODS+=("node_modules/$m")
done
tar -cf - "${MODS[@]}" | xz -T2 > "$OUT/node_modules.tar.xz.tmp" && mv "$OUT/node_modules.tar.xz.tmp" "$OUT/node_modules.tar.xz"
# the tree's commit, for the table on a machine where the copy has no .git
echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && echo "+modified")" > "$OUT/commit"
du -sh "$OUT"/* | sed 's/^/gpu-pack: /'
echo "gpu-pack: total $(du -sh "$OUT" | cut -f1) in $OUT"
