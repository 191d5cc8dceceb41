#!/usr/bin/env bash
# Runs mininn_bench, the seed's numpy code and PyTorch CPU on the same data in one sitting,
# all on the same OpenBLAS with the same thread count, and prints every figure.
#   examples/bench/run.sh [--synthetic]
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh

cmake/install-deps.sh
for p in python3-numpy python3-torch; do
  dpkg -s "$p" >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
mininn_mnist_dir
data_args=(--data "$MININN_MNIST_DIR")
if [ "${1:-}" = --synthetic ]; then data_args=(--synthetic); else examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"; fi
mininn_build build -DCMAKE_BUILD_TYPE=Release mininn_bench mnist

mininn_openblas_coretype build/examples/mnist "bench: OpenBLAS does not recognise this CPU; every peer runs with "
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(nproc)}

# Medians over more repetitions than the programs' defaults: this machine's speed drifts.
echo "== mininn"; build/examples/mininn_bench "${data_args[@]}" --steps 15
echo "== numpy (the seed's code)"; /usr/bin/python3 examples/bench/peers/numpy_seed.py "${data_args[@]}" --steps 9
echo "== PyTorch CPU"; /usr/bin/python3 examples/bench/peers/torch_mlp.py "${data_args[@]}" --steps 9
