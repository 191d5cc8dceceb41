#!/usr/bin/env bash
# LeNet-5 on MNIST, mininn against PyTorch CPU in one sitting, on the same thread count:
# seconds per epoch, test accuracy, and their ratio lenet_vs_torch (mininn's time over PyTorch's).
#   examples/bench/lenet.sh [epochs]      (default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh
epochs=${1:-1}

cmake/install-deps.sh
cmake/install-deps.sh python3-torch
mininn_mnist_dir
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"
mininn_build build -DCMAKE_BUILD_TYPE=Release mininn_lenet_bench mnist
mininn_openblas_coretype build/examples/mnist "bench: OpenBLAS does not recognise this CPU; both run with "
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(nproc)}

echo "== mininn"
mine=$(build/examples/mininn_lenet_bench --data "$MININN_MNIST_DIR" --epochs "$epochs")
echo "$mine"
echo "== PyTorch CPU"
theirs=$(/usr/bin/python3 examples/bench/peers/torch_lenet.py --data "$MININN_MNIST_DIR" --epochs "$epochs")
echo "$theirs"
a=$(sed -n 's/^lenet_epoch_s=//p' <<<"$mine") b=$(sed -n 's/^torch_lenet_epoch_s=//p' <<<"$theirs")
awk -v a="$a" -v b="$b" 'BEGIN { printf "lenet_vs_torch=%.3f\n", a / b }'
