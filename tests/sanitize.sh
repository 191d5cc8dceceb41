#!/usr/bin/env bash
# Builds every test program with sanitizers and runs the suite under them; any report fails.
#   address  AddressSanitizer + UndefinedBehaviorSanitizer on every test program (test_alloc,
#            which replaces malloc, under UBSan alone)
#   thread   ThreadSanitizer on the programs that start threads: the network, the fused head
#            (its helper thread), training, the sparse products (their two halves), Conv2D (its
#            chunks shared with the helper thread); OpenBLAS's own threads, not instrumented,
#            are suppressed by tests/tsan.supp. Built without
#            -march=native (as a consumer builds by default), with the tests of the other
#            components that have SIMD kernels of their own, so the portable kernels and their
#            accuracy tests run here: one build serves both.
# Line tables only (-g1): enough for the reports to name file and line, and far quicker to
# compile than full debug information. AddressSanitizer's build is at -O0, which clang compiles
# 2.6 times as fast as -O1 here (test_model.cpp: 21 s against 53 s), but for the programs whose
# tests run long loops (tests/CMakeLists.txt keeps them at -O1); ThreadSanitizer's at -O1. Built with clang 14 ($MININN_SANITIZE_CXX to change it):
# g++ 12 takes 2 to 3 times as long over the same programs with UBSan on, and the suite is
# then also compiled by a second compiler.
# Usage: tests/sanitize.sh address|thread [build-dir]      (default: build-sanitize-<kind>)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: tests/sanitize.sh address|thread [build-dir]}
build=${2:-build-sanitize-$kind}

cmake/install-deps.sh
cxx=${MININN_SANITIZE_CXX:-clang++-14}
[ "$cxx" = clang++-14 ] && cmake/install-deps.sh clang-14 libclang-rt-14-dev
case $kind in
  address) sanitizers=address,undefined arch=-march=native opt=-O0 tests=() ;;
  thread) sanitizers=thread arch= opt=-O1 tests=(test_network test_head test_train test_sparse test_model test_conv2d
                                          test_activations test_softmax test_cross_entropy test_binary_cross_entropy
                                          test_mean_squared_error test_dense) ;;
  *) echo "sanitize.sh: unknown kind '$kind' (address or thread)" >&2; exit 2 ;;
esac
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -g1" \
  -DMININN_BUILD_EXAMPLES=OFF -DMININN_SANITIZE="$sanitizers" -DMININN_ARCH_FLAGS="$arch" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
if [ ${#tests[@]} -eq 0 ]; then
  cmake --build "$build" -j "$(nproc)"
  # The compile-fail, header, layout and docs tests and the plotting script run no mininn
  # code, and onnxruntime's run none but the exporter's: the plain suite has them.
  ctest --test-dir "$build" --output-on-failure -j "$(nproc)" -E '^(compile_(fail|ok)_.*|header_.*|layout|docs|plot|onnx_runtime)$'
else
  # make builds the targets it is given one after another, one unit each: the shared main
  # first, then the programs side by side.
  cmake --build "$build" --target mininn_test_main
  printf '%s\n' "${tests[@]}" | xargs -P "$(nproc)" -I{} cmake --build "$build" --target {}
  for t in "${tests[@]}"; do
    echo "== $t ($sanitizers)"
    "$build/tests/$t" --minimal
  done
fi
