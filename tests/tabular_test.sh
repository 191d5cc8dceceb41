#!/usr/bin/env bash
# End-to-end check of the tabular example on scikit-learn's CSV files: every data set trains
# from its file to a real score, the splits it writes are partitions of the samples, and a
# missing or damaged file gives a one-line error naming it and a non-zero exit.
# Usage: tabular_test.sh <tabular-binary> <sklearn-data-dir>
set -uo pipefail
exe=$(realpath "$1") data=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir "$work/splits"
"$exe" --data-dir "$data" --splits 2 --write-splits "$work/splits" >"$work/out" 2>"$work/err" ||
  fail "exit code $? ($(cat "$work/err"))"
cat "$work/out"
# name, metric, lowest acceptable mean score (scikit-learn's MLP reaches about 0.97, 0.96, 0.98, 0.40)
while read -r name metric low; do
  line=$(grep -E "^$name " "$work/out") || fail "no row for $name"
  read -r _ _ _ _ _ m mean _ secs <<<"$line"
  [ "$m" = "$metric" ] || fail "$name reports $m, expected $metric"
  awk -v v="$mean" -v l="$low" 'BEGIN { exit !(v >= l && v <= 1) }' || fail "$name: $metric $mean below $low"
  awk -v s="$secs" 'BEGIN { exit !(s > 0) }' || fail "$name: training time $secs"
done <<'ROWS'
breast_cancer accuracy 0.93
iris accuracy 0.85
digits accuracy 0.95
diabetes r2 0.25
ROWS
# Each split file holds every sample once: a train line and a test line of 25 %.
for f in iris_0 iris_1 digits_1; do
  total=$(case $f in iris*) echo 150 ;; *) echo 1797 ;; esac)
  python3 - "$work/splits/$f.txt" "$total" <<'PY' || fail "split $f is not a partition"
import sys
lines = dict(l.split(maxsplit=1) for l in open(sys.argv[1]))
train, test = (list(map(int, lines[k].split())) for k in ("train", "test"))
n = int(sys.argv[2])
assert sorted(train + test) == list(range(n)), "not a partition"
assert len(test) == round(0.25 * n), len(test)
PY
done
# A data directory without the files, and a damaged file.
"$exe" --data-dir "$work" --datasets iris >/dev/null 2>"$work/err" && fail "a missing file was accepted"
grep -q "^tabular: .*$work/iris.csv" "$work/err" || fail "missing file: $(cat "$work/err")"
{ head -3 "$data/iris.csv"; echo "5.1,3.5,oops,0.2,0"; tail -n +5 "$data/iris.csv"; } >"$work/iris.csv"
"$exe" --data-dir "$work" --datasets iris >/dev/null 2>"$work/err" && fail "a damaged file was accepted"
grep -q "^tabular: .*iris.csv:4, column 3: .oops. is not a number$" "$work/err" || fail "damaged file: $(cat "$work/err")"
# One error line; the advice on OpenBLAS's kernels (a warning of its own, on CPUs OpenBLAS 0.3.21
# does not know) may come before it.
[ "$(grep -vc '^tabular: warning: ' "$work/err")" -eq 1 ] || fail "more than one error line: $(cat "$work/err")"
echo "tabular_test: ok"
