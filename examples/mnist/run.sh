#!/usr/bin/env bash
# Quick start: installs the Debian packages, gets and verifies MNIST, builds the example and
# runs it. Extra arguments go to the example (see: examples/mnist/run.sh --help).
#   examples/mnist/run.sh                    # the seed experiment: 4000 full-batch iterations
#   examples/mnist/run.sh --iterations 200   # a shorter run
# Builds in $MININN_BUILD_DIR (default: build) with $MININN_JOBS parallel jobs (default: one
# per core).
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh

cmake/install-deps.sh
mininn_mnist_dir
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"
build=${MININN_BUILD_DIR:-build}
mininn_build "$build" mnist
mininn_openblas_coretype "$build"/examples/mnist "run.sh: OpenBLAS does not recognise this CPU; running with "
exec "$build"/examples/mnist "$@"
