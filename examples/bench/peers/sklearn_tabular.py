"""scikit-learn's MLP on the splits that mininn's tabular example wrote (--write-splits DIR).

Same model and training as the example: one hidden ReLU layer, Adam with the same rate, batch
size and number of epochs, no L2 penalty, no early stop (tol 0, n_iter_no_change = epochs),
features (and the diabetes target) standardised on the training part. Prints the example's
table: the mean and standard deviation of the test score over the splits and the mean time of
one fit() call.

    /usr/bin/python3 examples/bench/peers/sklearn_tabular.py --splits-dir DIR [--splits 30]
"""
import argparse
import gzip
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

DATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"


def load(name, data_dir):
    """Features [n, d], targets [n] and the task, read from the same files as the example."""
    if name == "diabetes":
        x = np.loadtxt(os.path.join(data_dir, "diabetes_data_raw.csv.gz"))
        y = np.loadtxt(os.path.join(data_dir, "diabetes_target.csv.gz"))
        return x, y, "regression"
    if name == "digits":
        with gzip.open(os.path.join(data_dir, "digits.csv.gz"), "rt") as f:
            d = np.loadtxt(f, delimiter=",")
    else:
        d = np.loadtxt(os.path.join(data_dir, name + ".csv"), delimiter=",", skiprows=1)
    x, y = d[:, :-1], d[:, -1].astype(np.int64)
    return x, y, "binary" if y.max() == 1 else "classes"


def read_split(path):
    parts = {}
    with open(path) as f:
        for line in f:
            words = line.split()
            parts[words[0]] = np.array([int(w) for w in words[1:]], dtype=np.int64)
    return parts["train"], parts["test"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits-dir", required=True)
    ap.add_argument("--splits", type=int, default=30)
    ap.add_argument("--data-dir", default=DATA)
    ap.add_argument("--datasets", nargs="+", default=["breast_cancer", "iris", "digits", "diabetes"])
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    import sklearn
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, {a.splits} splits, {a.epochs} epochs of "
          f"batch {a.batch}, hidden {a.hidden}, Adam lr {a.lr:g}")
    print(f"{'dataset':<14} {'task':<10} {'samples':>11}  {'metric':<9} {'mean':>8} {'std':>8} {'train_s':>12}")
    for name in a.datasets:
        x, y, task = load(name, a.data_dir)
        scores, secs = [], []
        for s in range(a.splits):
            train, test = read_split(os.path.join(a.splits_dir, f"{name}_{s}.txt"))
            scale = StandardScaler().fit(x[train])
            xtr, xte = scale.transform(x[train]), scale.transform(x[test])
            common = dict(hidden_layer_sizes=(a.hidden,), activation="relu", solver="adam", alpha=0.0,
                          batch_size=a.batch, learning_rate_init=a.lr, max_iter=a.epochs, shuffle=True,
                          random_state=s, tol=0.0, n_iter_no_change=a.epochs)
            if task == "regression":
                ys = StandardScaler().fit(y[train, None])
                ytr, yte = ys.transform(y[train, None]).ravel(), ys.transform(y[test, None]).ravel()
                model = MLPRegressor(**common)
                t0 = time.perf_counter()
                model.fit(xtr, ytr)
                secs.append(time.perf_counter() - t0)
                scores.append(r2_score(yte, model.predict(xte)))
            else:
                model = MLPClassifier(**common)
                t0 = time.perf_counter()
                model.fit(xtr, y[train])
                secs.append(time.perf_counter() - t0)
                scores.append(accuracy_score(y[test], model.predict(xte)))
        metric = "r2" if task == "regression" else "accuracy"
        print(f"{name:<14} {task:<10} {x.shape[0]:>5} x {x.shape[1]:<3}  {metric:<9} {np.mean(scores):8.4f} "
              f"{np.std(scores):8.4f} {np.mean(secs):12.4f}", flush=True)


if __name__ == "__main__":
    main()
