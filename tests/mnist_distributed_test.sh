#!/usr/bin/env bash
# mnist --distributed under mpiexec against the single-process run on the real data: 1, 2 and
# 4 ranks give the same costs to 1e-5 relative at every iteration and the same test accuracy;
# rank 0 alone prints and writes; a run under mpiexec without --distributed warns; a damaged
# test file, which rank 0 alone reads, stops every rank with its message (no hang).
# Usage: mnist_distributed_test.sh <mpiexec> <mnist-binary> <mnist-data-dir>
set -uo pipefail
mpiexec=$1 exe=$(realpath "$2") data=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OPENBLAS_NUM_THREADS=1
args=(--data "$data" --iterations 40 --log-every 10)

"$exe" "${args[@]}" --history "$work/h0.csv" >"$work/out0" 2>"$work/err0" || fail "single run: $(cat "$work/err0")"
acc0=$(sed -n 's/^Test accuracy: //p' "$work/out0")
for np in 1 2 4; do
  (cd "$work" && "$mpiexec" -n $np --bind-to none "$exe" --distributed "${args[@]}" --history "h$np.csv" \
      --predictions "p$np.csv" >"out$np" 2>"err$np") || fail "$np ranks: $(cat "$work/err$np")"
  out="$work/out$np"
  grep -q "over $np ranks" "$out" || fail "$np ranks: no 'over $np ranks' line"
  [ "$(grep -c '^Final cost:' "$out")" = 1 ] || fail "$np ranks: 'Final cost' printed $(grep -c '^Final cost:' "$out") times"
  [ "$(sed -n 's/^Test accuracy: //p' "$out")" = "$acc0" ] || fail "$np ranks: test accuracy differs from $acc0"
  grep -Eq "^Peak memory per rank:( [0-9.]+ MB){$np} " "$out" || fail "$np ranks: no peak memory of each rank"
  [ "$(wc -l <"$work/p$np.csv")" -eq 10001 ] || fail "$np ranks: predictions CSV"
  paste -d, "$work/h0.csv" "$work/h$np.csv" | awk -F, -v np=$np 'NR > 1 {
      d = $2 - $5; if (d < 0) d = -d; if (d > 1e-5 * $2) { print "iteration " $1 ": " $2 " vs " $5; bad = 1 } }
      END { exit bad }' || fail "$np ranks: costs differ from the single process"
  echo "$np ranks: 40 costs within 1e-5 of one process's, test accuracy $acc0"
done

# Several ranks without --distributed: a warning.
"$mpiexec" -n 2 "$exe" --data "$data" --iterations 0 --quiet >/dev/null 2>"$work/warn" || fail "no-distributed run failed: $(cat "$work/warn")"
grep -q "warning: started by mpirun with several ranks but without --distributed" "$work/warn" ||
  fail "no warning without --distributed: $(cat "$work/warn")"

# A truncated test set, read by rank 0 alone: every rank stops with one message, in bounded time.
mkdir "$work/bad"
for f in "$data"/*; do ln -s "$f" "$work/bad/"; done
t10k=$(ls "$data" | grep '^t10k-images')
rm "$work/bad/$t10k"
head -c 5000 "$data/$t10k" >"$work/bad/$t10k"
timeout 120 "$mpiexec" -n 2 "$exe" --distributed --data "$work/bad" --iterations 5 >/dev/null 2>"$work/err"
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a damaged test file: exit code $rc"
grep -q "mnist: error: rank 0: .*$t10k" "$work/err" || fail "a damaged test file: $(cat "$work/err")"
echo "a damaged test file: every rank stopped: $(grep -m1 'mnist: error' "$work/err")"
