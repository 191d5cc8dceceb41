#!/usr/bin/env bash
# End-to-end check of the mnist example on the real data: a short run prints the expected
# format and lowers the cost, writes both CSV files, and damaged data files give a one-line
# error and a non-zero exit.
# Usage: mnist_example_test.sh <mnist-binary> <mnist-data-dir>
set -uo pipefail
exe=$(realpath "$1") data=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$exe" --data "$data" --iterations 50 --log-every 10 --digits 4 \
  --predictions "$work/pred.csv" --history "$work/hist.csv" >"$work/out" 2>"$work/err" ||
  fail "exit code $? ($(cat "$work/err"))"
out="$work/out"
for i in 0 10 20 30 40; do grep -Eq "^Epoch $i cost: [0-9]+\.[0-9]{5}$" "$out" || fail "no 'Epoch $i cost:' line"; done
grep -q "^Epoch 50 " "$out" && fail "logged an iteration that did not run"
first=$(sed -n 's/^Epoch 0 cost: //p' "$out")
final=$(sed -n 's/^Final cost: //p' "$out")
[ -n "$final" ] || fail "no 'Final cost:' line"
awk -v a="$first" -v b="$final" 'BEGIN { exit !(b < a) }' || fail "final cost $final not below first $first"
grep -q "^Confusion matrix (rows: true label, columns: predicted label)$" "$out" || fail "no confusion matrix"
grep -Eq "^ +precision +recall +f1-score +support$" "$out" || fail "no report header"
grep -Eq "^ +accuracy +[01]\.[0-9]{4} +10000$" "$out" || fail "no accuracy row"
# Peak memory stays within 1.3x the data and the activations: the training set is shuffled in
# place, never copied (the activations of 784-64-10 on 60000 columns are about 20 MB).
peak=$(sed -n 's/^Peak memory: \([0-9.]*\) MB (data \([0-9.]*\) MB)$/\1 \2/p' "$out")
[ -n "$peak" ] || fail "no 'Peak memory:' line"
awk -v p="${peak% *}" -v d="${peak#* }" 'BEGIN { exit !(p <= 1.3 * (d + 20.2)) }' ||
  fail "peak memory $peak: above 1.3 x (data + activations)"
grep -Eq "^weighted avg( +[01]\.[0-9]{4}){3} +10000$" "$out" || fail "no weighted avg row"
[ "$(wc -l <"$work/pred.csv")" -eq 10001 ] || fail "predictions CSV should have 10001 lines"
head -1 "$work/pred.csv" | grep -qx "index,true,predicted" || fail "predictions CSV header"
[ "$(wc -l <"$work/hist.csv")" -eq 51 ] || fail "history CSV should have 51 lines"
head -1 "$work/hist.csv" | grep -qx "iteration,cost,elapsed_s" || fail "history CSV header"
# the confusion matrix's row sums are the test set's per-class supports
total=$(awk '/^Confusion matrix/ {on=1; getline; next} on && NF==11 {for (i=2;i<=11;i++) s+=$i} on && NF!=11 {on=0} END {print s}' "$out")
[ "$total" = 10000 ] || fail "confusion matrix sums to $total, not 10000"

# damaged copies of the data: each must fail with one line on stderr and no crash
damage() { # name, how -> runs the example on a copy of the data with one file damaged
  local dir="$work/$1"; mkdir -p "$dir"
  cp "$data"/* "$dir"/
  local img; img=$(ls "$dir"/train-images* | head -1)
  case $2 in
    truncate) head -c 1000000 "$img" > "$img.tmp" && mv "$img.tmp" "$img" ;;
    garbage)  printf 'not an idx file at all' > "$img" ;;
    missing)  rm -f "$dir"/t10k-labels* ;;
    labels)   rm -f "$dir"/train-labels*; printf '\0\0\10\1\0\0\0\3\1\2\3' > "$dir/train-labels-idx1-ubyte" ;;
  esac
  "$exe" --data "$dir" --iterations 1 --quiet >"$dir.out" 2>"$dir.err"
  local rc=$?
  [ $rc -ne 0 ] || fail "$1: exit code 0"
  [ $rc -lt 128 ] || fail "$1: crashed (exit $rc)"
  [ "$(wc -l <"$dir.err")" -eq 1 ] || fail "$1: expected one line on stderr, got: $(cat "$dir.err")"
  grep -q "^mnist: error: " "$dir.err" || fail "$1: unexpected error text: $(cat "$dir.err")"
  echo "ok: $1: $(cat "$dir.err")"
}
damage truncate truncate
damage garbage garbage
damage missing missing
damage labels labels

# Output files that cannot be written are refused before the data is even loaded: no training
# line is printed, and nothing is created.
refuse() { # expected message, options...
  local want=$1; shift
  "$exe" --data "$data" --iterations 5 "$@" >"$work/refuse.out" 2>"$work/refuse.err"
  local rc=$?
  [ $rc -eq 1 ] || fail "refuse $*: exit $rc"
  grep -q "^Epoch" "$work/refuse.out" && fail "refuse $*: trained before refusing"
  grep -qF "$want" "$work/refuse.err" || fail "refuse $*: got $(cat "$work/refuse.err")"
  echo "ok: refused $*: $(cat "$work/refuse.err")"
}
refuse "$work/no/such/dir/pred.csv: the directory '$work/no/such/dir' does not exist" --predictions "$work/no/such/dir/pred.csv" --save "$work/m.npz"
[ -e "$work/m.npz" ] && fail "model written although the predictions path was bad"
refuse "/dev/full: exists and is a device; refusing to replace it" --save /dev/full
[ -c /dev/full ] || fail "/dev/full is no longer a device"
refuse "/dev/null: exists and is a device; refusing to replace it" --history /dev/null
[ -c /dev/null ] || fail "/dev/null is no longer a device"

# Through a pipe, each cost line arrives as it is computed: the run is stopped by SIGINT after
# its first lines, keeps them, exits 130, and leaves no output file and no temporary behind.
mkdir "$work/sig"
(cd "$work/sig" && exec "$exe" --data "$data" --iterations 100000 --log-every 1 \
   --save model.npz --history hist.csv --predictions pred.csv 2>err | cat >out) &
pipeline=$!
for _ in $(seq 1 300); do grep -q "^Epoch 2 cost" "$work/sig/out" 2>/dev/null && break; sleep 0.1; done
grep -q "^Epoch 2 cost" "$work/sig/out" || fail "no cost line reached the pipe while the run went on"
pkill -INT -f -- "--iterations 100000 --log-every 1" || fail "could not signal the run"
wait $pipeline
grep -q "^mnist: interrupted by SIGINT after [0-9]* iterations; no output files written$" "$work/sig/err" ||
  fail "interrupt message: $(cat "$work/sig/err")"
[ "$(ls "$work/sig")" = "$(printf 'err\nout')" ] || fail "files left after the interrupt: $(ls "$work/sig")"
grep -q "^Epoch 0 cost" "$work/sig/out" || fail "lines printed before the interrupt were lost"
echo "ok: SIGINT: $(grep -c '^Epoch' "$work/sig/out") cost lines kept, $(cat "$work/sig/err")"
# Dropout and a cosine schedule: the rate of each epoch is printed and written, falling from
# the preset's 0.002; a schedule without --epochs is refused before any training.
"$exe" --data "$data" --preset fast --epochs 3 --dropout 0.2 --schedule cosine --history "$work/cos.csv" \
  >"$work/cos.out" 2>"$work/cos.err" || fail "dropout + cosine run: exit $? ($(cat "$work/cos.err"))"
grep -q "with dropout 0.2 for 3 epochs of batch 64, cosine schedule (warm-up 0)$" "$work/cos.out" ||
  fail "dropout + cosine header: $(grep '^Training' "$work/cos.out")"
grep -Eq "^Epoch 0 loss: [0-9.]+  accuracy: [0-9.]+  lr 0.002  " "$work/cos.out" || fail "epoch 0 rate"
grep -Eq "^Epoch 2 loss: [0-9.]+  accuracy: [0-9.]+  lr 0.0005  " "$work/cos.out" || fail "epoch 2 rate (cosine at 2/3)"
head -1 "$work/cos.csv" | grep -qx "epoch,loss,accuracy,learning_rate,elapsed_s" || fail "cosine history header"
acc=$(sed -n 's/^Test accuracy: \([0-9.]*\) %$/\1/p' "$work/cos.out")
awk -v a="$acc" 'BEGIN { exit !(a >= 95) }' || fail "dropout + cosine: test accuracy $acc after 3 epochs"
"$exe" --data "$data" --schedule cosine >/dev/null 2>"$work/sched.err" && fail "--schedule without --epochs accepted"
grep -qx "mnist: error: --schedule cosine needs --epochs (fit() applies it per epoch)" "$work/sched.err" ||
  fail "schedule refusal: $(cat "$work/sched.err")"
echo "ok: dropout + cosine schedule, test accuracy $acc %"
# A run with --checkpoint stopped by SIGINT after its first epoch, then continued with --resume,
# saves the same model, byte for byte, as a run that was never interrupted.
mkdir "$work/ck"
common=(--data "$data" --preset fast --epochs 3 --dropout 0.2 --schedule cosine)
"$exe" "${common[@]}" --save "$work/ck/straight.npz" >/dev/null 2>&1 || fail "straight run for the resume check"
(cd "$work/ck" && exec "$exe" "${common[@]}" --checkpoint ck.npz >first.out 2>first.err) &
run=$!
for _ in $(seq 1 1200); do grep -q "^Epoch 0 " "$work/ck/first.out" 2>/dev/null && break; sleep 0.1; done
grep -q "^Epoch 0 " "$work/ck/first.out" || fail "no epoch line before the interrupt"
pkill -INT -f -- "--checkpoint ck.npz" || fail "could not signal the checkpointing run"
wait $run
grep -Eq "^mnist: interrupted by SIGINT after [12] complete epochs; no output files written but the checkpoint ck.npz \(continue with --resume ck.npz\)$" \
  "$work/ck/first.err" || fail "checkpoint interrupt message: $(cat "$work/ck/first.err")"
[ -f "$work/ck/ck.npz" ] || fail "no checkpoint after an interrupted run"
(cd "$work/ck" && "$exe" "${common[@]}" --resume ck.npz --save resumed.npz >resumed.out 2>&1) ||
  fail "resumed run: $(cat "$work/ck/resumed.out")"
grep -q "^Epoch 0 " "$work/ck/resumed.out" && fail "the resumed run trained epoch 0 again"
cmp -s "$work/ck/straight.npz" "$work/ck/resumed.npz" || fail "resumed model differs from the uninterrupted one"
"$exe" --data "$data" --checkpoint "$work/ck/x.npz" >/dev/null 2>"$work/ck/x.err" && fail "--checkpoint without --epochs accepted"
grep -qx "mnist: error: --checkpoint and --resume need --epochs (fit() writes them per epoch)" "$work/ck/x.err" ||
  fail "checkpoint refusal: $(cat "$work/ck/x.err")"
echo "ok: interrupted after $(grep -c '^Epoch' "$work/ck/first.out") epoch line(s), resumed, model identical to the straight run"
# --input: auto picks sparse for MNIST and says so; dense and sparse runs agree to float
# rounding, full batch and mini-batch; a value outside the three is refused.
for args in "--iterations 20" "--epochs 1 --batch-size 256"; do
  for input in auto dense sparse; do
    "$exe" --data "$data" $args --input "$input" --digits 4 >"$work/in_$input" 2>&1 || fail "--input $input: $(cat "$work/in_$input")"
  done
  grep -Eq "^Input: sparse \(19\.1 % of the training pixels are non-zero; --input auto picks sparse at 50 % or less\)$" \
    "$work/in_auto" || fail "auto input line: $(grep '^Input' "$work/in_auto")"
  grep -qx "Input: dense (--input dense)" "$work/in_dense" || fail "dense input line"
  d=$(sed -n 's/^Final cost: //p' "$work/in_dense") s=$(sed -n 's/^Final cost: //p' "$work/in_sparse")
  awk -v d="$d" -v s="$s" 'BEGIN { exit !(d - s < 2e-4 && s - d < 2e-4) }' || fail "$args: dense cost $d, sparse $s"
  da=$(sed -n 's/^Test accuracy: //p' "$work/in_dense") sa=$(sed -n 's/^Test accuracy: //p' "$work/in_sparse")
  echo "ok: $args: final cost dense $d, sparse $s; test accuracy $da, $sa"
done
"$exe" --data "$data" --input coo >/dev/null 2>"$work/coo.err" && fail "--input coo accepted"
grep -q "input" "$work/coo.err" || fail "--input refusal: $(cat "$work/coo.err")"
echo "mnist example: all checks passed"
