#!/usr/bin/env bash
# Installs what mininn needs to build, test and run its examples on Debian 12 / Ubuntu, or,
# given package names, those packages (tests/fuzz/run.sh asks for clang this way).
# Does nothing when everything is already there.
# Usage: cmake/install-deps.sh [package...]
set -euo pipefail

packages=(g++ cmake make xtensor-dev libxtensor-blas-dev libxsimd-dev libopenblas-dev
          doctest-dev libcli11-dev zlib1g-dev libzip-dev libopenmpi-dev openmpi-bin
          libcpp-httplib-dev nlohmann-json3-dev libonnx-dev libprotobuf-dev libonnx-testdata
          python3-numpy python3-matplotlib python3-sklearn
          ca-certificates curl)
[ $# -gt 0 ] && packages=("$@")
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root, or install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
