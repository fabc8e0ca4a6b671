# shellcheck shell=bash
# Source this file (`. scripts/env.sh`) to set the environment the tests expect.
# Safe under `set -euo pipefail`; it never exits and never fails.
#
# VK_ICD_FILENAMES: Chromium's bundled SwiftShader Vulkan driver (Debian package chromium), so
# headless WebGPU has a software adapter. Kept as is if the caller already set it.
_attnc_icd=/usr/lib/chromium/vk_swiftshader_icd.json
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$_attnc_icd" ]; then
  export VK_ICD_FILENAMES="$_attnc_icd"
fi
unset _attnc_icd
