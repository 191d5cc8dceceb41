#!/usr/bin/env bash
# Builds the tests that drive mininn's raw-pointer kernels (the fused head, the SIMD
# elementwise passes, the fused and unfused network paths) with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs them; any report fails the run. Numerically harmless
# out-of-bounds writes (adding 0 past the end of a buffer) pass every value test; this finds
# them.
# Usage: tests/sanitize.sh [build-dir]      (default: build-sanitize)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-sanitize}
tests=(test_head test_activations test_cross_entropy test_network)

cmake/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DMININN_BUILD_EXAMPLES=OFF \
  "-DCMAKE_CXX_FLAGS=-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${tests[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
for t in "${tests[@]}"; do
  echo "== $t (address, undefined)"
  "$build/tests/$t" --minimal
done
