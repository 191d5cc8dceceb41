"""Writes the seed network saved by mininn (an .npz) as an ONNX graph, a graph that adds 0 to
one number (the cost of a call through node alone), and MNIST test images as raw float32, for
ort_infer.js; and the same weights as one raw float32 file for the C and C++ peers
(dlib_infer.cpp, fann_infer.c), which then need no .npz reader.

ONNX keeps samples as rows: mininn's X [784, n] is the graph's input [n, 784], and each Dense
layer's W [out, in] is a Gemm with transB = 1.

OUT_DIR/seed_weights.f32 is 50890 little-endian float32s, mininn's own layout one after the
other: layer0.W [64, 784] row-major (row o holds hidden unit o's weights), layer0.b [64],
layer2.W [10, 64] row-major, layer2.b [10]. OUT_DIR/images.f32 is the first 3072 test images,
[3072, 784] row-major, each pixel / 255.

    ort_export.py MODEL.npz MNIST_DIR OUT_DIR
"""
import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main(model_path, mnist_dir, out):
    npz = np.load(model_path)
    arch = json.loads(npz["architecture"].item())
    names = [layer["op"] for layer in arch["layers"]]
    assert names == ["Dense", "Sigmoid", "Dense", "Softmax"], names
    inits = [numpy_helper.from_array(npz[f"layer{i}.{t}"].astype(np.float32), f"layer{i}.{t}")
             for i in (0, 2) for t in ("W", "b")]
    nodes = [
        helper.make_node("Gemm", ["x", "layer0.W", "layer0.b"], ["z1"], transB=1),
        helper.make_node("Sigmoid", ["z1"], ["a1"]),
        helper.make_node("Gemm", ["a1", "layer2.W", "layer2.b"], ["z2"], transB=1),
        helper.make_node("Softmax", ["z2"], ["p"], axis=-1),
    ]
    graph = helper.make_graph(nodes, "mininn_seed",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 784])],
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["n", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "seed.onnx"))
    raw = [npz[f"layer{i}.{t}"].astype("<f4") for i in (0, 2) for t in ("W", "b")]
    assert [a.shape for a in raw] == [(64, 784), (64,), (10, 64), (10,)], [a.shape for a in raw]
    np.concatenate([a.ravel() for a in raw]).tofile(os.path.join(out, "seed_weights.f32"))

    zero = numpy_helper.from_array(np.zeros((1,), np.float32), "zero")
    add = helper.make_graph([helper.make_node("Add", ["x", "zero"], ["y"])], "add0",
                            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [zero])
    add0 = helper.make_model(add, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(add0)
    onnx.save(add0, os.path.join(out, "add0.onnx"))

    with gzip.open(os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    (images[:3072].astype(np.float32) / 255.0).tofile(os.path.join(out, "images.f32"))


if __name__ == "__main__":
    main(*sys.argv[1:4])
