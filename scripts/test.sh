#!/usr/bin/env bash
# The test command (README): installs what the tests need (fast when already done), sets the test
# environment, then runs the whole vitest suite. Extra arguments go to vitest, e.g.
# `bash scripts/test.sh test/runtime` or `npm test -- -t npy`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
exec npx --no-install vitest run "$@"
