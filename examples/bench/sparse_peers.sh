#!/usr/bin/env bash
# The sparse-input comparison, in one sitting: mininn with a sparse and a dense input, PyTorch
# CPU with a sparse CSR first layer and with a dense one (2 threads), dlib 19.24 and tiny-dnn
# (Debian's; neither has a sparse input), all on the same network (784-64-10, sigmoid, softmax
# cross-entropy), the same data and the same training: plain SGD, learning rate 0.1, shuffled
# batches of 128, the same number of epochs (default 5). Prints each one's epoch time and test
# accuracy after the epochs.
#   examples/bench/sparse_peers.sh [epochs]
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh
epochs=${1:-5}

cmake/install-deps.sh
cmake/install-deps.sh python3-torch python3-scipy libdlib-dev pkg-config tiny-dnn libcereal-dev libgemmlowp-dev \
  libstb-dev
mininn_mnist_dir
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"
mininn_build build -DCMAKE_BUILD_TYPE=Release mnist
# tiny-dnn includes stb as "third_party/stb/...", which Debian installs as <stb/...>.
mkdir -p build/peers/include/third_party
ln -sfn /usr/include/stb build/peers/include/third_party/stb
flags=(-O3 -march=native -std=c++17 -pthread -Iinclude -Ibuild/peers/include)
[ build/peers/dlib_mlp -nt examples/bench/peers/dlib_mlp.cpp ] ||
  g++ "${flags[@]}" examples/bench/peers/dlib_mlp.cpp -o build/peers/dlib_mlp $(pkg-config --libs dlib-1) -lz
[ build/peers/tiny_dnn_mlp -nt examples/bench/peers/tiny_dnn_mlp.cpp ] ||
  g++ "${flags[@]}" examples/bench/peers/tiny_dnn_mlp.cpp -o build/peers/tiny_dnn_mlp -lz
mininn_openblas_coretype build/examples/mnist "peers: every program runs with "
echo "OpenBLAS core: ${OPENBLAS_CORETYPE:-chosen by OpenBLAS itself}"

for input in sparse dense; do
  out=$(build/examples/mnist --data "$MININN_MNIST_DIR" --epochs "$epochs" --batch-size 128 --optimizer gd --lr 0.1 \
    --init xavier --input "$input" --quiet)
  per_epoch=$(sed -n 's/^Training time: .* s (\([0-9.]*\) s per epoch).*/\1/p' <<<"$out")
  acc=$(sed -n 's/^Test accuracy: \([0-9.]*\) %$/\1/p' <<<"$out")
  echo "mininn $input input: epoch $per_epoch s (mean of $epochs), test accuracy $acc %"
  echo "mininn_${input}_epoch128_s=$per_epoch"
  echo "mininn_${input}_test_accuracy=$acc"
done
/usr/bin/python3 examples/bench/peers/torch_sparse.py --data "$MININN_MNIST_DIR" --epochs "$epochs"
build/peers/dlib_mlp "$MININN_MNIST_DIR" "$epochs" 128 0.1
build/peers/tiny_dnn_mlp "$MININN_MNIST_DIR" "$epochs" 128 0.1
