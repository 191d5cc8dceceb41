#!/usr/bin/python3
"""The same 784-64-10 network in PyTorch CPU (2 threads, set explicitly): the full-batch
step against its GEMMs, and shuffled mini-batch epochs at batch sizes 128 and 32 with SGD.
Prints key=value lines.

    torch_mlp.py [--data DIR | --synthetic] [--steps 5] [--epochs 3]
"""
import argparse
import os

import torch

from common import load, median


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("MININN_MNIST_DIR", ""))
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(2)  # Debian's torch defaults to 1 thread here
    torch.manual_seed(138)
    x, y = load(a.data, a.synthetic)
    X = torch.tensor(x, dtype=torch.float32)  # [m, 784]: PyTorch's batch-first layout
    Y = torch.tensor(y)

    def model():
        return torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.Sigmoid(), torch.nn.Linear(64, 10))

    loss_fn = torch.nn.CrossEntropyLoss()  # log-softmax + NLL on the logits

    net = model()
    opt = torch.optim.SGD(net.parameters(), lr=1.0)

    def full_step():
        opt.zero_grad()
        loss_fn(net(X), Y).backward()
        opt.step()

    step = median(full_step, a.steps) * 1000
    W1, W2 = net[0].weight.detach(), net[2].weight.detach()
    H = torch.full((X.shape[0], 64), 0.5)
    G = torch.full((X.shape[0], 10), 0.1)

    def gemms():
        X @ W1.T
        H @ W2.T
        G @ W2
        G.T @ H
        H.T @ X

    floor = median(gemms, a.steps) * 1000
    print(f"torch float: full-batch step {step:.1f} ms, its GEMMs alone {floor:.1f} ms, ratio {step / floor:.3f}")

    results = {}
    for batch in (128, 32):
        net = model()
        opt = torch.optim.SGD(net.parameters(), lr=0.1)

        def epoch():
            perm = torch.randperm(X.shape[0])
            for i in range(0, X.shape[0], batch):
                idx = perm[i:i + batch]
                opt.zero_grad()
                loss_fn(net(X[idx]), Y[idx]).backward()
                opt.step()

        results[batch] = median(epoch, a.epochs)
        print(f"torch float: mini-batch epoch, batch {batch}: {results[batch]:.3f} s")
    print(f"torch_fullbatch_float_step_ms={step:.2f}\ntorch_fullbatch_float_floor_ms={floor:.2f}")
    print(f"torch_minibatch128_epoch_s={results[128]:.3f}\ntorch_minibatch32_epoch_s={results[32]:.3f}")
    print(f"torch_threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
