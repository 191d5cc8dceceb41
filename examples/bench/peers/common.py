"""Shared by the peer benchmarks: MNIST loading (raw or .gz IDX files) and timing."""
import gzip
import os
import time

import numpy as np


def _read(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rb") as f:
                return f.read()
    raise FileNotFoundError(path)


def load(directory, synthetic=False):
    """Training images as float64 [60000, 784] in [0, 1] and labels [60000]."""
    if synthetic:
        rng = np.random.default_rng(1)
        return rng.random((60000, 784)), rng.integers(0, 10, 60000)
    images = _read(os.path.join(directory, "train-images-idx3-ubyte"))
    labels = _read(os.path.join(directory, "train-labels-idx1-ubyte"))
    x = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(-1, 784) / 255.0
    y = np.frombuffer(labels, dtype=np.uint8, offset=8).astype(np.int64)
    return x, y


def load_test(directory):
    """Test images as float64 [10000, 784] in [0, 1] and labels [10000]."""
    images = _read(os.path.join(directory, "t10k-images-idx3-ubyte"))
    labels = _read(os.path.join(directory, "t10k-labels-idx1-ubyte"))
    x = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(-1, 784) / 255.0
    y = np.frombuffer(labels, dtype=np.uint8, offset=8).astype(np.int64)
    return x, y


def median(f, reps):
    """Median wall time of f() in seconds over reps calls, after one warm-up call."""
    f()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return sorted(t)[len(t) // 2]
