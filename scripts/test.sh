#!/usr/bin/env bash
# The test command (`npm test`): sets the test environment, then runs the whole vitest suite.
# Extra arguments go to vitest, e.g. `npm test -- test/runtime` or `bash scripts/test.sh -t npy`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh
exec npx --no-install vitest run "$@"
