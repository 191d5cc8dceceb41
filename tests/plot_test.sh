#!/usr/bin/env bash
# examples/mnist/plot.py: draws overlaid histories (full-batch and mini-batch) and a confusion
# matrix into PNG files, and refuses files that are not what it draws, naming them.
# Usage: plot_test.sh <source-dir>
set -uo pipefail
plot="$1/examples/mnist/plot.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(stat -c %s "$1")" -gt 10000 ]; }

printf 'iteration,cost,elapsed_s\n0,7.7,0.1\n1,5.2,0.2\n2,3.9,0.3\n' >"$work/full.csv"
printf 'epoch,loss,accuracy,elapsed_s\n0,0.30,0.91,1.0\n1,0.14,0.96,2.0\n' >"$work/mini.csv"
printf 'index,true,predicted\n0,1,1\n1,2,2\n2,2,1\n3,0,0\n' >"$work/pred.csv"
"$plot" "$work/full.csv=seed" "$work/mini.csv=fast" --out "$work/curves.png" || fail "curves: exit $?"
png "$work/curves.png" || fail "curves.png is not a PNG"
"$plot" "$work/full.csv" --x seconds --linear --out "$work/seconds.png" || fail "seconds: exit $?"
png "$work/seconds.png" || fail "seconds.png is not a PNG"
"$plot" --confusion "$work/pred.csv" --out "$work/confusion.png" || fail "confusion: exit $?"
png "$work/confusion.png" || fail "confusion.png is not a PNG"

refuse() { # expected message, arguments...
  local want=$1; shift
  if "$plot" "$@" --out "$work/refused.png" 2>"$work/err"; then fail "accepted $*"; fi
  grep -qF "$want" "$work/err" || fail "$*: got $(cat "$work/err")"
  [ -e "$work/refused.png" ] && fail "$*: wrote a picture anyway"
  echo "ok: refused: $(tail -1 "$work/err")"
}
refuse "not a history CSV" "$work/pred.csv"
refuse "not a predictions CSV" --confusion "$work/full.csv"
printf 'iteration,cost,elapsed_s\n0,abc,0.1\n' >"$work/bad.csv"
refuse "bad.csv:2: 'abc' in column cost is not a number" "$work/bad.csv"
refuse "no/such.csv: No such file or directory" "$work/no/such.csv"
echo "plot.py: all checks passed"
