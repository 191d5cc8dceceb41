#!/usr/bin/python3
"""The seed experiment run to the end with the seed's own numpy step: 784-64-10, sigmoid,
softmax, full-batch gradient descent with learning rate 1 for 4000 iterations, the training
set shuffled with seed 138 and standard-normal weights, the cost printed every 100
iterations, then the test accuracy. In float64 (the seed's) or float32.

    numpy_seed_full.py --data DIR [--dtype float64|float32] [--iterations 4000]
                       [--history FILE] [--predictions FILE]

Prints the same lines as the mnist example (Epoch <i> cost, Final cost, Training time, Test
accuracy) and writes the same CSV files, so examples/mnist/plot.py can overlay the two.
"""
import argparse
import os
import time

import numpy as np

from common import load, load_test
from numpy_seed import seed_step, sigmoid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MININN_MNIST_DIR", ""))
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--iterations", type=int, default=4000)
    ap.add_argument("--history", default="")
    ap.add_argument("--predictions", default="")
    a = ap.parse_args()
    dtype = np.float64 if a.dtype == "float64" else np.float32
    x, y = load(a.data)
    xt, yt = load_test(a.data)
    m = x.shape[0]
    np.random.seed(138)  # the seed's generator: the shuffle, then the weights
    order = np.random.permutation(m)
    X = np.ascontiguousarray(x[order].T, dtype=dtype)  # [784, m]: samples are columns
    labels = y[order]
    Y = np.zeros((10, m), dtype=dtype)
    Y[labels, np.arange(m)] = 1
    p = [np.random.randn(64, 784).astype(dtype), np.zeros((64, 1), dtype),
         np.random.randn(10, 64).astype(dtype), np.zeros((10, 1), dtype)]
    print(f"numpy {np.__version__}, {a.dtype}, {a.iterations} full-batch iterations", flush=True)
    history = ["iteration,cost,elapsed_s"]
    t0 = time.perf_counter()
    for i in range(a.iterations):
        cost = seed_step(X, Y, p, 1.0, m)
        history.append(f"{i},{cost},{time.perf_counter() - t0}")
        if i % 100 == 0:
            print(f"Epoch {i} cost: {cost:.5f}", flush=True)
    train_s = time.perf_counter() - t0
    W1, b1, W2, b2 = p
    Z2 = W2 @ sigmoid(W1 @ X + b1) + b2
    Z2 = Z2 - Z2.max(axis=0)
    final = float(np.mean(np.log(np.exp(Z2).sum(axis=0)) - Z2[labels, np.arange(m)]))
    print(f"Final cost: {final:.5f}")
    print(f"Training time: {train_s:.1f} s ({1000 * train_s / max(1, a.iterations):.1f} ms per iteration)")
    Xt = np.ascontiguousarray(xt.T, dtype=dtype)
    pred = np.argmax(W2 @ sigmoid(W1 @ Xt + b1) + b2, axis=0)
    print(f"\nTest accuracy: {100 * np.mean(pred == yt):.2f} %", flush=True)
    if a.history:
        with open(a.history, "w") as f:
            f.write("\n".join(history) + "\n")
    if a.predictions:
        with open(a.predictions, "w") as f:
            f.write("index,true,predicted\n" + "".join(f"{j},{yt[j]},{pred[j]}\n" for j in range(len(yt))))


if __name__ == "__main__":
    main()
