#!/usr/bin/env bash
# Idempotent set-up for a Debian machine with Node.js >= 20 (a developer's or CI's):
#   1. npm dependencies: `npm ci` from package-lock.json (`npm install` when there is no lockfile),
#      skipped when node_modules was installed from the same lockfile (stamp: node_modules/.attnc-setup-stamp).
#   2. Debian packages for the WebGPU tests (chromium, libvulkan1): installed with apt-get when missing
#      and we are root (or have non-interactive sudo); otherwise one message says how to install them,
#      and set-up goes on without them.
# Environment: ATTNC_SKIP_SYSTEM_PACKAGES=1 skips step 2; ATTNC_FORCE_NPM=1 reinstalls npm packages.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*"; }

# --- Node.js -----------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "error: node and npm are required (Node.js >= 20); install them first" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  log "error: Node.js >= 20 is required, found $(node --version)" >&2
  exit 1
fi

# --- npm dependencies --------------------------------------------------------------------------
stamp_file="node_modules/.attnc-setup-stamp"
stamp_of() {
  # Lockfile (or package.json when there is none) + Node major + platform: native optional
  # dependencies (esbuild, rolldown) differ per platform.
  local src=package-lock.json
  [ -f "$src" ] || src=package.json
  printf '%s node%s %s-%s\n' "$(sha256sum "$src" | cut -d' ' -f1)" "$node_major" "$(uname -s)" "$(uname -m)"
}
want_stamp="$(stamp_of)"
have_stamp="$(cat "$stamp_file" 2>/dev/null || true)"

if [ "${ATTNC_FORCE_NPM:-0}" != "1" ] && [ "$want_stamp" = "$have_stamp" ] && [ -x node_modules/.bin/vitest ]; then
  log "npm dependencies up to date (node_modules matches package-lock.json)"
else
  npm_flags=(--no-audit --no-fund --loglevel=error)
  if [ -f package-lock.json ]; then
    log "installing npm dependencies (npm ci)..."
    if ! npm ci "${npm_flags[@]}"; then
      log "error: 'npm ci' failed; if package.json changed, run 'npm install' and commit package-lock.json" >&2
      exit 1
    fi
  else
    log "no package-lock.json: installing npm dependencies (npm install)..."
    npm install "${npm_flags[@]}"
  fi
  stamp_of >"$stamp_file"
  log "npm dependencies installed"
fi

# --- Debian packages for the WebGPU tests ------------------------------------------------------
system_packages=(chromium libvulkan1)

pkg_installed() {
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
  else
    # Not Debian: accept an equivalent found some other way.
    case "$1" in
      chromium) command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ;;
      libvulkan1) ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' ;;
      *) return 1 ;;
    esac
  fi
}

missing=()
for p in "${system_packages[@]}"; do
  pkg_installed "$p" || missing+=("$p")
done

explain_missing() {
  log "note: missing system packages for the WebGPU tests: ${missing[*]} ($1)."
  log "      install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  log "      continuing without them: the WebGPU tests cannot run until they are installed."
}

if [ "${#missing[@]}" -eq 0 ]; then
  log "system packages present: ${system_packages[*]}"
elif [ "${ATTNC_SKIP_SYSTEM_PACKAGES:-0}" = "1" ]; then
  explain_missing "ATTNC_SKIP_SYSTEM_PACKAGES=1"
elif ! command -v apt-get >/dev/null 2>&1; then
  explain_missing "no apt-get on this machine"
else
  sudo_cmd=()
  can_install=1
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo_cmd=(sudo -n)
    else
      can_install=0
    fi
  fi
  if [ "$can_install" -eq 0 ]; then
    explain_missing "not root and no non-interactive sudo"
  else
    log "installing system packages: ${missing[*]} (apt-get; this can take a few minutes)..."
    apt_log="$(mktemp -t attnc-apt.XXXXXX)"
    apt=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
    if "${apt[@]}" update >"$apt_log" 2>&1 &&
      "${apt[@]}" install -y -o Dpkg::Use-Pty=0 "${missing[@]}" >>"$apt_log" 2>&1; then
      rm -f "$apt_log"
    else
      log "apt-get failed; its last lines (full log: $apt_log):"
      tail -n 15 "$apt_log" | sed 's/^/setup:   | /'
    fi
    still=()
    for p in "${missing[@]}"; do
      pkg_installed "$p" || still+=("$p")
    done
    if [ "${#still[@]}" -eq 0 ]; then
      log "installed: ${missing[*]}"
    else
      missing=("${still[@]}")
      explain_missing "apt-get could not install them"
    fi
  fi
fi

icd=/usr/lib/chromium/vk_swiftshader_icd.json
if pkg_installed chromium && [ ! -f "$icd" ]; then
  log "note: chromium is installed but $icd is missing; WebGPU tests may not find a Vulkan device"
fi

# --- native CUDA addon (optional; builds without a GPU or driver) -------------------------------
addon=native/build/Release/attnc_cuda.node
if [ -f "$addon" ] && [ -z "$(find native/src native/CMakeLists.txt -newer "$addon" 2>/dev/null | head -n 1)" ]; then
  log "native CUDA addon up to date ($addon)"
elif npm run --silent build:native >/tmp/attnc-native-build.log 2>&1; then
  log "native CUDA addon built ($addon)"
else
  log "note: the native CUDA addon did not build (see /tmp/attnc-native-build.log); CUDA runs are unavailable, everything else works"
fi

log "done"
