#!/usr/bin/env bash
# mnist --distributed survives a lost rank: one rank of 4 is killed (SIGKILL) after the first
# checkpoint; mpiexec ends the job, naming the rank, in bounded time; a relaunch on 4 ranks with
# --resume ends with the uninterrupted run's weights bit for bit; the same checkpoint resumed on
# 2 and on 3 ranks ends within rounding of it (the last epoch's loss to 1e-5 relative, test
# accuracy to 0.05 points). (A checkpoint of the single-process example does not resume so: that
# run shuffles its training set in memory first, for the seed experiment, so its sample indices
# are not the files'. distributed::fit itself resumes fit()'s checkpoints: test_distributed.)
# Usage: mnist_distributed_resume_test.sh <mpiexec> <mnist-binary> <mnist-data-dir> [shm|tcp]
# (tcp: over TCP loopback, the stand-in for separate machines; shm, the default: shared memory)
set -uo pipefail
mpiexec=$1 exe=$(realpath "$2") data=$(realpath "$3") transport=${4:-shm}
work=$(mktemp -d)
trap 'pkill -9 -f "^$exe --distributed" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none OPENBLAS_NUM_THREADS=1
if [ "$transport" = tcp ]; then
  export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
fi
echo "over $transport ($OMPI_MCA_btl)"
args=(--data "$data" --batch-size 500 --optimizer adam --lr 0.002 --quiet)
cd "$work" || exit 1
run() { # name, ranks, more arguments -> out.NAME, err.NAME
  local name=$1 np=$2
  shift 2
  timeout 300 "$mpiexec" -n "$np" --bind-to none "$exe" --distributed "${args[@]}" "$@" >"out.$name" 2>"err.$name"
}
value() { sed -n "s/^$1: \([0-9.]*\).*/\1/p" "out.$2"; }
loss() { tail -1 "h.$1.csv" | cut -d, -f2; } # the last epoch's training loss, to 9 digits

run full 4 --epochs 3 --history h.full.csv --save full.npz || fail "the uninterrupted run: $(cat err.full)"

# The run to interrupt: kill one rank once the first checkpoint is on disk.
run killed 4 --epochs 3 --checkpoint ck.npz --save killed.npz &
job=$!
for _ in $(seq 1500); do [ -f ck.npz ] && break; sleep 0.1; done
[ -f ck.npz ] || fail "no checkpoint after 150 s"
victim=$(pgrep -f "^$exe --distributed" | tail -1)
[ -n "$victim" ] || fail "no rank to kill"
start=$(date +%s)
kill -9 "$victim"
wait $job
rc=$? took=$(($(date +%s) - start))
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "the job with a killed rank: exit code $rc"
[ $took -le 30 ] || fail "the job with a killed rank took $took s to end"
grep -q "exited on signal 9" err.killed || fail "mpiexec did not name the lost rank: $(cat err.killed)"
[ ! -f killed.npz ] || fail "the interrupted run wrote its model"
echo "killed rank (pid $victim): the job ended in $took s: $(grep -m1 'exited on signal 9' err.killed | sed 's/^ *//')"
cp ck.npz ck2.npz

run resumed 4 --epochs 3 --resume ck.npz --checkpoint ck.npz --save resumed.npz || fail "the resumed run: $(cat err.resumed)"
cmp -s full.npz resumed.npz || fail "4 ranks resumed: the weights differ from the uninterrupted run's"
[ "$(value 'Test accuracy' full)" = "$(value 'Test accuracy' resumed)" ] || fail "4 ranks resumed: test accuracy"
echo "4 ranks resumed: the uninterrupted run's weights bit for bit, test accuracy $(value 'Test accuracy' full) %"

close() { # name: final loss within 1e-5 relative, test accuracy within 0.05 points of the full run
  awk -v a="$(loss full)" -v b="$(loss "$1")" \
      -v p="$(value 'Test accuracy' full)" -v q="$(value 'Test accuracy' "$1")" 'BEGIN {
      d = a - b; if (d < 0) d = -d; e = p - q; if (e < 0) e = -e
      printf "final loss %s vs %s, test accuracy %s vs %s %%\n", b, a, q, p
      exit !(b != "" && d <= 1e-5 * a && e <= 0.05) }'
}
run two 2 --epochs 3 --resume ck2.npz --history h.two.csv || fail "2 ranks from the 4-rank checkpoint: $(cat err.two)"
echo "2 ranks from the 4-rank checkpoint: $(close two)" && close two >/dev/null || fail "2 ranks resumed: $(close two)"

run three 3 --epochs 3 --resume ck2.npz --history h.three.csv || fail "3 ranks from the 4-rank checkpoint: $(cat err.three)"
echo "3 ranks from the 4-rank checkpoint: $(close three)" && close three >/dev/null || fail "3 ranks resumed"
