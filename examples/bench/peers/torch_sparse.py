#!/usr/bin/python3
"""The sparse-input peer: 784-64-10 (sigmoid, softmax cross-entropy) in PyTorch CPU with 2
threads, its first layer fed a sparse CSR batch (scipy row selection, then torch's CSR
product), and the same network fed dense batches. Shuffled mini-batch SGD; prints the median
epoch time and the test accuracy after the epochs, as key=value lines.

    torch_sparse.py --data DIR [--epochs 5] [--batch 128] [--lr 0.1]
"""
import argparse
import os
import time
import warnings

import numpy as np
import scipy.sparse
import torch

from common import load, load_test


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MININN_MNIST_DIR", ""))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    a = ap.parse_args()
    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
    torch.set_num_threads(2)  # Debian's torch defaults to 1 thread here
    x, y = load(a.data)
    xt, yt = load_test(a.data)
    X = torch.tensor(x, dtype=torch.float32)
    Y = torch.tensor(y)
    Xcsr = scipy.sparse.csr_matrix(x.astype(np.float32))
    Xtest = torch.tensor(xt, dtype=torch.float32)

    for kind in ("sparse", "dense"):
        torch.manual_seed(138)
        W1 = torch.nn.Linear(784, 64)
        head = torch.nn.Sequential(torch.nn.Sigmoid(), torch.nn.Linear(64, 10))
        params = list(W1.parameters()) + list(head.parameters())
        opt = torch.optim.SGD(params, lr=a.lr)
        loss_fn = torch.nn.CrossEntropyLoss()

        def batch_input(idx):
            if kind == "dense":
                return X[idx]
            b = Xcsr[idx.numpy()]
            return torch.sparse_csr_tensor(torch.from_numpy(b.indptr).long(), torch.from_numpy(b.indices).long(),
                                           torch.from_numpy(b.data), size=b.shape)

        def first(xb):
            if kind == "dense":
                return W1(xb)
            return torch.sparse.mm(xb, W1.weight.t()) + W1.bias

        times = []
        for _ in range(a.epochs):
            t0 = time.perf_counter()
            perm = torch.randperm(X.shape[0])
            for i in range(0, X.shape[0], a.batch):
                idx = perm[i:i + a.batch]
                opt.zero_grad()
                loss_fn(head(first(batch_input(idx))), Y[idx]).backward()
                opt.step()
            times.append(time.perf_counter() - t0)
        with torch.no_grad():
            acc = (head(W1(Xtest)).argmax(1).numpy() == yt).mean()
        epoch = sorted(times)[len(times) // 2]
        print(f"torch {kind} input: epoch {epoch:.3f} s (median of {a.epochs}), test accuracy {100 * acc:.2f} %")
        print(f"torch_{kind}_epoch{a.batch}_s={epoch:.3f}\ntorch_{kind}_test_accuracy={100 * acc:.2f}")


if __name__ == "__main__":
    main()
