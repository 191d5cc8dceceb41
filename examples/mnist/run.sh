#!/usr/bin/env bash
# Quick start: installs the Debian packages, gets and verifies MNIST, builds the example and
# runs it. Extra arguments go to the example (see: examples/mnist/run.sh --help).
#   examples/mnist/run.sh                    # the seed experiment: 4000 full-batch iterations
#   examples/mnist/run.sh --iterations 200   # a shorter run
# Builds in $MININN_BUILD_DIR (default: build) with $MININN_JOBS parallel jobs (default: one
# per core).
set -euo pipefail
cd "$(dirname "$0")/../.."

cmake/install-deps.sh
export MININN_MNIST_DIR=${MININN_MNIST_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mininn/mnist}
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"
build=${MININN_BUILD_DIR:-build}
# Examples on explicitly: a build directory configured earlier without them (an install step)
# would otherwise have no 'mnist' target. A new one is a Release build (CMakeLists.txt).
cmake -S . -B "$build" -DMININN_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j "${MININN_JOBS:-$(nproc)}" --target mnist

# OpenBLAS 0.3.21 does not recognise CPUs newer than itself and falls back to generic SSE3
# kernels; the example knows which kernel set this CPU can run instead.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  core=$("$build"/examples/mnist --blas-advice)
  if [ -n "$core" ]; then
    echo "run.sh: OpenBLAS does not recognise this CPU; running with OPENBLAS_CORETYPE=$core"
    export OPENBLAS_CORETYPE=$core
  fi
fi
exec "$build"/examples/mnist "$@"
