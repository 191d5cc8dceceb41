#!/usr/bin/env bash
# Installs mininn into a temporary prefix, then builds and runs tests/consumer, an outside
# project that finds it with find_package(mininn CONFIG REQUIRED).
set -euo pipefail
cd "$(dirname "$0")/../.."

cmake/install-deps.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S . -B "$work/build" -DMININN_BUILD_TESTS=OFF -DMININN_BUILD_EXAMPLES=OFF \
      -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --install "$work/build" >/dev/null
cmake -S tests/consumer -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" -j "$(nproc)"
"$work/consumer/consumer"
