#!/usr/bin/env bash
# The mnist example's --model lenet on the real data: one epoch of LeNet-5 with BatchNorm
# prints the epoch line and the report, reaches 97 %, writes its files; the saved model, frozen
# by the predict tool (its BatchNorms folded into the convolutions), gives the example's own
# predictions; options for the other model are refused with one line.
# Usage: mnist_lenet_test.sh <mnist-binary> <predict-binary> <mnist-data-dir>
set -uo pipefail
exe=$(realpath "$1") predict=$(realpath "$2") data=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$exe" --model lenet --data "$data" --epochs 1 --digits 4 --save "$work/lenet.npz" \
  --predictions "$work/pred.csv" --history "$work/hist.csv" >"$work/out" 2>"$work/err" ||
  fail "exit code $? ($(cat "$work/err"))"
out="$work/out"
grep -q "^Training LeNet-5 with BatchNorm (61[0-9]* parameters; float, adam lr 0.003, seed 138) for 1 epochs of batch 64, cosine schedule (warm-up 0)$" "$out" ||
  fail "no training line: $(grep Training "$out")"
grep -Eq "^Epoch 0 loss: [0-9]+\.[0-9]{5}  accuracy: 0\.9[0-9]{3}  " "$out" || fail "no 'Epoch 0' line"
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\) %$/\1/p' "$out")
[ -n "$acc" ] || fail "no 'Test accuracy:' line"
awk -v a="$acc" 'BEGIN { exit !(a >= 97) }' || fail "test accuracy $acc % after one epoch, below 97 %"
grep -Eq "^ +accuracy +0\.9[0-9]{3} +10000$" "$out" || fail "no accuracy row"
[ "$(wc -l <"$work/hist.csv")" -eq 2 ] || fail "history CSV should have 2 lines"
[ "$(wc -l <"$work/pred.csv")" -eq 10001 ] || fail "predictions CSV should have 10001 lines"
echo "ok: one epoch, test accuracy $acc %"

# the frozen model (BatchNorm folded) predicts what the trained network predicted
"$predict" "$work/lenet.npz" "$data"/t10k-images-idx3-ubyte* >"$work/frozen" \
  2>"$work/perr" || fail "predict: $(cat "$work/perr")"
tail -n +2 "$work/pred.csv" | cut -d, -f3 >"$work/net"
differ=$(paste -d' ' "$work/net" "$work/frozen" | awk '$1 != $2' | wc -l)
[ "$differ" -le 2 ] || fail "the frozen model's classes differ from the network's on $differ of 10000 images"
echo "ok: the frozen LeNet's classes differ from the network's on $differ of 10000 test images"

for args in "--hidden 32" "--activation relu" "--dtype double" "--epochs 0"; do
  # shellcheck disable=SC2086
  "$exe" --model lenet --data "$data" $args >"$work/o" 2>"$work/e"
  rc=$?
  [ $rc -eq 2 ] || fail "$args: exit code $rc"
  [ "$(wc -l <"$work/e")" -eq 1 ] && grep -q "^mnist: error: " "$work/e" || fail "$args: $(cat "$work/e")"
  echo "ok: $args: $(cat "$work/e")"
done
