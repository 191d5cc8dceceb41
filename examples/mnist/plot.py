#!/usr/bin/python3
"""Draws the mnist example's --history CSVs as loss curves, and a --predictions CSV as a
confusion-matrix heatmap (Debian: python3-matplotlib).

    plot.py [--out curves.png] [--x step|seconds] [--linear] RUN.csv[=LABEL] ...
    plot.py --confusion pred.csv [--out confusion.png] [--title TEXT]

Several histories overlay in one picture, e.g. the seed run against the fast one, float
against double, or mininn against the seed's numpy code (examples/bench/seed_experiment.sh).
Full-batch histories (iteration,cost,elapsed_s) and mini-batch ones (epoch,loss,accuracy,
elapsed_s, with val_loss and val_accuracy when there are any) can be mixed: the accuracy and
validation curves get a second panel when any history has them. --x seconds puts the
training time on the horizontal axis instead of the step, which is how two implementations
of the same steps compare. The loss axis is logarithmic unless --linear.
"""
import argparse
import csv
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fail(message):
    sys.exit(f"plot.py: {message}")


def read_history(path):
    """The columns of a history CSV as lists of floats, keyed by header name."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    if not rows:
        fail(f"{path}: empty file")
    header = rows[0]
    step = "iteration" if "iteration" in header else "epoch" if "epoch" in header else None
    loss = "cost" if "cost" in header else "loss" if "loss" in header else None
    if step is None or loss is None:
        fail(f"{path}: not a history CSV (header {','.join(header)}; expected iteration,cost or epoch,loss)")
    cols = {name: [] for name in header}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            fail(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
        for name, value in zip(header, row):
            try:
                cols[name].append(float(value))
            except ValueError:
                fail(f"{path}:{line}: '{value}' in column {name} is not a number")
    if not cols[step]:
        fail(f"{path}: no rows")
    cols["_step"], cols["_loss"], cols["_step_name"] = cols[step], cols[loss], step
    return cols


def curves(args):
    runs = []
    for spec in args.histories:
        path, _, label = spec.partition("=")
        runs.append((label or path, read_history(path)))
    has_acc = any("accuracy" in h or "val_accuracy" in h for _, h in runs)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(12 if has_acc else 7, 4.5), squeeze=False)
    ax_loss = axes[0][0]
    steps = {h["_step_name"] for _, h in runs}
    for label, h in runs:
        x = h["elapsed_s"] if args.x == "seconds" and "elapsed_s" in h else h["_step"]
        if h["_step_name"] == "epoch" and args.x != "seconds":
            x = [e + 1 for e in x]  # epochs are counted from 1 on the axis
        (line,) = ax_loss.plot(x, h["_loss"], label=f"{label} (training)" if "val_loss" in h else label)
        if "val_loss" in h and any(not math.isnan(v) for v in h["val_loss"]):
            ax_loss.plot(x, h["val_loss"], "--", color=line.get_color(), label=f"{label} (validation)")
        if has_acc:
            ax_acc = axes[0][1]
            if "accuracy" in h:
                ax_acc.plot(x, h["accuracy"], color=line.get_color(), label=f"{label} (training)")
            if "val_accuracy" in h and any(not math.isnan(v) for v in h["val_accuracy"]):
                ax_acc.plot(x, h["val_accuracy"], "--", color=line.get_color(), label=f"{label} (validation)")
    xlabel = "training time (s)" if args.x == "seconds" else " / ".join(sorted(steps))
    ax_loss.set_xlabel(xlabel)
    ax_loss.set_ylabel("training loss (cross-entropy)")
    if not args.linear:
        ax_loss.set_yscale("log")
    ax_loss.grid(True, which="both", alpha=0.3)
    ax_loss.legend()
    ax_loss.set_title(args.title or "loss")
    if has_acc:
        ax_acc = axes[0][1]
        ax_acc.set_xlabel(xlabel)
        ax_acc.set_ylabel("accuracy")
        ax_acc.grid(True, alpha=0.3)
        ax_acc.legend()
        ax_acc.set_title("accuracy")
    fig.tight_layout()
    fig.savefig(args.out or "curves.png", dpi=110)


def confusion(args):
    try:
        with open(args.confusion, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        fail(f"{args.confusion}: {e.strerror}")
    if not rows or rows[0] != ["index", "true", "predicted"]:
        fail(f"{args.confusion}: not a predictions CSV (expected the header index,true,predicted)")
    pairs = []
    for line, row in enumerate(rows[1:], start=2):
        try:
            pairs.append((int(row[1]), int(row[2])))
        except (ValueError, IndexError):
            fail(f"{args.confusion}:{line}: expected index,true,predicted integers")
    if not pairs:
        fail(f"{args.confusion}: no rows")
    k = max(max(t, p) for t, p in pairs) + 1
    C = [[0] * k for _ in range(k)]
    for t, p in pairs:
        C[t][p] += 1
    correct = sum(C[i][i] for i in range(k))
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    # Off-diagonal counts are small beside the diagonal: a log colour scale shows them.
    shown = [[math.log10(1 + c) for c in row] for row in C]
    im = ax.imshow(shown, cmap="Blues")
    top = max(max(row) for row in shown)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(C[i][j]), ha="center", va="center", fontsize=7,
                    color="white" if shown[i][j] > 0.6 * top else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(args.title or f"confusion matrix: {correct} of {len(pairs)} correct ({100 * correct / len(pairs):.2f} %)")
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label("log10(1 + count)")
    fig.tight_layout()
    fig.savefig(args.out or "confusion.png", dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("histories", nargs="*", help="history CSVs, each optionally =LABEL")
    ap.add_argument("--confusion", help="a predictions CSV (index,true,predicted) to draw as a heatmap")
    ap.add_argument("--out", help="the PNG to write (default: curves.png or confusion.png)")
    ap.add_argument("--x", choices=["step", "seconds"], default="step", help="horizontal axis")
    ap.add_argument("--linear", action="store_true", help="a linear loss axis")
    ap.add_argument("--title")
    args = ap.parse_args()
    if args.confusion:
        if args.histories:
            fail("--confusion draws one predictions CSV; draw the histories in a second call")
        confusion(args)
    elif args.histories:
        curves(args)
    else:
        ap.error("give history CSVs, or --confusion pred.csv")


if __name__ == "__main__":
    main()
