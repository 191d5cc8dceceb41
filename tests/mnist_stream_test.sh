#!/usr/bin/env bash
# The README's quick start through a pipe: `examples/mnist/run.sh --iterations 300 | cat`
# must deliver each cost line as it is computed, not all at exit. Each line is stamped with
# its arrival time; 100 iterations on the full training set take seconds, so lines that
# arrive together were held back.
# Usage: mnist_stream_test.sh <source-dir> <build-dir> <mnist-data-dir>
set -euo pipefail
src=$(realpath "$1") build=$(realpath "$2") data=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; cat "$work/stamped" 2>/dev/null; exit 1; }

MININN_BUILD_DIR="$build" MININN_MNIST_DIR="$data" "$src/examples/mnist/run.sh" --iterations 300 |
  while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >"$work/stamped"
at() { sed -n "s/^\([0-9.]*\) $1.*/\1/p" "$work/stamped" | head -1; }
t0=$(at "Epoch 0 cost") t1=$(at "Epoch 100 cost") t2=$(at "Epoch 200 cost") tf=$(at "Final cost")
[ -n "$t0" ] && [ -n "$t1" ] && [ -n "$t2" ] && [ -n "$tf" ] || fail "missing cost lines"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v f="$tf" 'BEGIN {
  printf "arrivals after the first cost line: Epoch 100 at %.2f s, Epoch 200 at %.2f s, Final cost at %.2f s\n", b - a, c - a, f - a
  exit !(b - a >= 0.5 && c - b >= 0.5 && f - c >= 0.5) }' || fail "the cost lines arrived together: the output was buffered"
echo "ok: each cost line reached the pipe as it was computed"
