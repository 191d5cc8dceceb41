#!/usr/bin/env bash
# LeNet-5 on MNIST, mininn against PyTorch CPU, dlib 19.24 and tiny-dnn (Debian's) in one sitting,
# on the same thread count: seconds per epoch, test accuracy, and the ratios lenet_vs_torch,
# lenet_vs_dlib and lenet_vs_tiny_dnn (mininn's time over the peer's), then the same with BatchNorm
# after each convolution (lenet_bn_vs_torch, ...; tiny-dnn's batch norm has no learnable scale and
# shift, examples/bench/peers/tiny_dnn_lenet.cpp).
#   examples/bench/lenet.sh [epochs]      (default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh
epochs=${1:-1}

cmake/install-deps.sh
cmake/install-deps.sh python3-torch libdlib-dev pkg-config tiny-dnn libcereal-dev libgemmlowp-dev libstb-dev
mininn_mnist_dir
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"
mininn_build build -DCMAKE_BUILD_TYPE=Release mininn_lenet_bench mnist
# tiny-dnn includes stb as "third_party/stb/...", which Debian installs as <stb/...>.
mkdir -p build/peers/include/third_party
ln -sfn /usr/include/stb build/peers/include/third_party/stb
flags=(-O3 -march=native -std=c++17 -pthread -Iinclude -Ibuild/peers/include)
[ build/peers/dlib_lenet -nt examples/bench/peers/dlib_lenet.cpp ] ||
  g++ "${flags[@]}" examples/bench/peers/dlib_lenet.cpp -o build/peers/dlib_lenet $(pkg-config --libs dlib-1) -lz
[ build/peers/tiny_dnn_lenet -nt examples/bench/peers/tiny_dnn_lenet.cpp ] ||
  g++ "${flags[@]}" examples/bench/peers/tiny_dnn_lenet.cpp -o build/peers/tiny_dnn_lenet -lz
# dlib's convolutions go through OpenBLAS too, so it gets the same kernel set and thread count;
# tiny-dnn has no BLAS and runs one thread per core.
mininn_openblas_coretype build/examples/mnist "bench: OpenBLAS does not recognise this CPU; all run with "
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(nproc)}

# Each variant's four runs follow one another, so that its ratios compare one moment of the machine.
# ratio MINE KEY THEIRS PEER: KEY_vs_PEER, mininn's KEY_epoch_s over the peer's PEER_KEY_epoch_s.
ratio() {
  local a b
  a=$(sed -n "s/^$2_epoch_s=//p" <<<"$1") b=$(sed -n "s/^$4_$2_epoch_s=//p" <<<"$3")
  awk -v a="$a" -v b="$b" -v k="$2" -v p="$4" 'BEGIN { printf "%s_vs_%s=%.3f\n", k, p, a / b }'
}
for bn in "" --batchnorm; do
  key=lenet${bn:+_bn}
  echo "== mininn ${bn:-(no BatchNorm)}"
  mine=$(build/examples/mininn_lenet_bench --data "$MININN_MNIST_DIR" --epochs "$epochs" $bn)
  echo "$mine"
  echo "== PyTorch CPU ${bn:-(no BatchNorm)}"
  theirs=$(/usr/bin/python3 examples/bench/peers/torch_lenet.py --data "$MININN_MNIST_DIR" --epochs "$epochs" $bn)
  echo "$theirs"
  ratio "$mine" "$key" "$theirs" torch
  echo "== dlib ${bn:-(no BatchNorm)}"
  theirs=$(build/peers/dlib_lenet "$MININN_MNIST_DIR" "$epochs" $bn)
  echo "$theirs"
  ratio "$mine" "$key" "$theirs" dlib
  echo "== tiny-dnn ${bn:-(no BatchNorm)}"
  theirs=$(build/peers/tiny_dnn_lenet "$MININN_MNIST_DIR" "$epochs" $bn)
  echo "$theirs"
  ratio "$mine" "$key" "$theirs" tiny_dnn
done
