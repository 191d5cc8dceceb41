#!/usr/bin/python3
"""The seed's numpy training step (samples as columns, full batch), timed against the same
GEMMs alone, in float32 and float64. Prints key=value lines.

    numpy_seed.py [--data DIR | --synthetic] [--steps 5]
"""
import argparse
import os

import numpy as np

from common import load, median


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def seed_step(X, Y, p, lr, m):
    """One iteration exactly as the seed writes it (including its recomputations)."""
    W1, b1, W2, b2 = p
    Z1 = W1 @ X + b1
    A1 = sigmoid(Z1)
    Z2 = W2 @ A1 + b2
    A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0)
    cost = -np.sum(Y * np.log(A2)) / m
    dZ2 = A2 - Y
    dW2 = (1 / m) * dZ2 @ A1.T
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * sigmoid(Z1) * (1 - sigmoid(Z1))
    dW1 = (1 / m) * dZ1 @ X.T
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
    p[0] = W1 - lr * dW1
    p[1] = b1 - lr * db1
    p[2] = W2 - lr * dW2
    p[3] = b2 - lr * db2
    return cost


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MININN_MNIST_DIR", ""))
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    x, y = load(a.data, a.synthetic)
    m = x.shape[0]
    for dtype, name in ((np.float32, "float"), (np.float64, "double")):
        X = np.ascontiguousarray(x.T, dtype=dtype)          # [784, m]: samples are columns
        Y = np.zeros((10, m), dtype=dtype)
        Y[y, np.arange(m)] = 1
        rng = np.random.default_rng(138)
        p = [rng.standard_normal((64, 784)).astype(dtype), np.zeros((64, 1), dtype),
             rng.standard_normal((10, 64)).astype(dtype), np.zeros((10, 1), dtype)]
        step = median(lambda: seed_step(X, Y, p, 1.0, m), a.steps) * 1000
        A1 = np.full((64, m), 0.5, dtype)
        A2 = np.full((10, m), 0.1, dtype)
        W1, W2 = p[0], p[2]

        def gemms():
            W1 @ X
            W2 @ A1
            W2.T @ A2
            A2 @ A1.T
            A1 @ X.T

        def big_gemms():  # the two mininn calls: Z1 = W1 X and dW1 = dZ1 X^T
            W1 @ X
            A1 @ X.T

        floor = median(gemms, a.steps) * 1000
        big = median(big_gemms, a.steps) * 1000
        print(f"numpy {name}: seed step {step:.1f} ms, its five GEMMs alone {floor:.1f} ms, ratio {step / floor:.3f}; "
              f"the two big GEMMs alone {big:.1f} ms")
        print(f"numpy_{name}_step_ms={step:.2f}\nnumpy_{name}_floor_ms={floor:.2f}\nnumpy_{name}_ratio={step / floor:.3f}\n"
              f"numpy_{name}_big_gemms_ms={big:.2f}")


if __name__ == "__main__":
    main()
