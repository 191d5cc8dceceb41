#!/usr/bin/python3
"""LeNet-5 on MNIST in PyTorch CPU (2 threads, set explicitly), as mininn_lenet_bench trains it:
conv 5x5 to 6 with padding 2, max-pool 2, conv 5x5 to 16, max-pool 2, dense 400-120-84-10,
ReLU, Adam 1e-3, shuffled batches of 128. Prints key=value lines.

    torch_lenet.py [--data DIR] [--epochs 1] [--batchnorm]
"""
import argparse
import os
import time

import torch
from torch import nn

from common import load, load_test


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MININN_MNIST_DIR", ""))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--batchnorm", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)  # Debian's torch defaults to 1 thread here
    torch.manual_seed(138)
    x, y = load(a.data)
    xt, yt = load_test(a.data)
    X = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 28, 28)
    Y = torch.tensor(y)
    norm = (lambda c: [nn.BatchNorm2d(c)]) if a.batchnorm else (lambda c: [])
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), *norm(6), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 16, 5), *norm(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for _ in range(a.epochs):
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], a.batch_size):
            idx = perm[i:i + a.batch_size]
            opt.zero_grad()
            loss = loss_fn(net(X[idx]), Y[idx])
            loss.backward()
            opt.step()
    seconds = (time.perf_counter() - t0) / a.epochs
    net.eval()
    with torch.no_grad():
        pred = net(torch.tensor(xt, dtype=torch.float32).reshape(-1, 1, 28, 28)).argmax(1)
    accuracy = (pred == torch.tensor(yt)).float().mean().item()
    tag = "torch_lenet_bn" if a.batchnorm else "torch_lenet"
    print(f"{tag}_epoch_s={seconds:.3f}")
    print(f"{tag}_test_accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
