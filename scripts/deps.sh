#!/usr/bin/env bash
# Installs the Debian packages descent needs to build, test and draw, when missing.
# As root (or with sudo) it runs apt-get; otherwise it prints the exact command and
# fails, so nothing half-works. Usage: scripts/deps.sh [build|test]
set -eu
need=(gcc make cmake pkg-config libcjson-dev zlib1g-dev libopenblas-dev)
# the man page, generated from the command's --help at build time
need+=(help2man)
# figures (descent compare --plot, descent demo)
need+=(libplplot-dev plplot-driver-cairo)
# `make` builds the tests and the dist layer too, so that a tree configured by
# `make demo` is the same tree `make test` runs (CMake caches what it found)
need+=(libcmocka-dev libopenmpi-dev openmpi-bin)
if [ "${1:-build}" = test ]; then
  need+=(clang libclang-rt-14-dev python3) # make fuzz (libFuzzer); the safetensors interop test
  # the Python package (make python) and its tests against torch.optim
  need+=(python3-dev python3-setuptools python3-venv python3-pip python3-numpy python3-torch python3-pytest)
fi
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "descent needs these Debian packages; install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
