#!/usr/bin/env bash
# The main job (README quick start): set up, then compile an example and run it on the reference
# interpreter, writing its outputs as .npy files under out/demo/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
ex=examples/dense-attention/dense-attention.attn
echo "demo: attnc check $ex"
node bin/attnc.js check "$ex"
echo "demo: attnc compile $ex --graph causal --emit graph"
node bin/attnc.js compile "$ex" --graph causal --emit graph
echo "demo: attnc run $ex --graph causal --backend interp --dim N=16 --outputs out/demo"
node bin/attnc.js run "$ex" --graph causal --backend interp --dim B=1 --dim H=2 --dim N=16 --dim D=8 --outputs out/demo
