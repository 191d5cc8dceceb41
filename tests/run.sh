#!/usr/bin/env bash
# Builds mininn's tests and examples and runs the test suite (CTest).
# Usage: tests/run.sh [build-dir]      (default: build; $MININN_JOBS parallel jobs, default one per core)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

cmake/install-deps.sh
jobs=${MININN_JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMININN_BUILD_TESTS=ON -DMININN_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
