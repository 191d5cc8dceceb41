"""mininn's tabular example against scikit-learn's MLP on the same splits, in one sitting.

Builds nothing: give it the example binary. For each repetition and each data set it runs the
example, then examples/bench/peers/sklearn_tabular.py, alternately, on the splits the example
wrote, and prints a Markdown table: the mean test score of each (scores do not change between
repetitions), the median over repetitions of the mean training time per split, and the speed-up.

    /usr/bin/python3 examples/tabular/compare.py build/examples/tabular [--reps 2] [--splits 30]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "..", "bench", "peers", "sklearn_tabular.py")
DATASETS = ["breast_cancer", "iris", "digits", "diabetes"]


def row(output, name):
    """The fields of the table row for data set name: task, metric, mean, std, train_s."""
    for line in output.splitlines():
        words = line.split()
        if words and words[0] == name:
            return {"task": words[1], "samples": " ".join(words[2:5]), "metric": words[5],
                    "mean": float(words[6]), "std": float(words[7]), "seconds": float(words[8])}
    raise RuntimeError(f"no row for {name} in:\n{output}")


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tabular", help="the example binary (build/examples/tabular)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--splits", type=int, default=30)
    ap.add_argument("--datasets", nargs="+", default=DATASETS)
    a = ap.parse_args()
    results = {name: {"mininn": [], "sklearn": []} for name in a.datasets}
    with tempfile.TemporaryDirectory() as splits:
        for rep in range(a.reps):
            for name in a.datasets:
                m = run([a.tabular, "--splits", str(a.splits), "--datasets", name, "--write-splits", splits])
                results[name]["mininn"].append(row(m, name))
                s = run([sys.executable, PEER, "--splits-dir", splits, "--splits", str(a.splits), "--datasets", name])
                results[name]["sklearn"].append(row(s, name))
                if rep == 0:
                    header, peer_header = m.splitlines()[0], s.splitlines()[0]
                print(f"rep {rep + 1}/{a.reps} {name}: mininn {results[name]['mininn'][-1]['seconds']:.4f} s, "
                      f"scikit-learn {results[name]['sklearn'][-1]['seconds']:.4f} s", file=sys.stderr, flush=True)
    print(header)
    print(peer_header)
    print()
    print("| data set | task | samples | metric | mininn | scikit-learn | difference | mininn s/fit | "
          "scikit-learn s/fit | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in a.datasets:
        m, s = results[name]["mininn"], results[name]["sklearn"]
        tm = statistics.median(r["seconds"] for r in m)
        ts = statistics.median(r["seconds"] for r in s)
        print(f"| {name} | {m[0]['task']} | {m[0]['samples']} | {m[0]['metric']} | {m[0]['mean']:.4f} ± "
              f"{m[0]['std']:.4f} | {s[0]['mean']:.4f} ± {s[0]['std']:.4f} | {m[0]['mean'] - s[0]['mean']:+.4f} | "
              f"{tm:.4f} | {ts:.4f} | {ts / tm:.1f}x |")


if __name__ == "__main__":
    main()
