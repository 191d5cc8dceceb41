#!/usr/bin/env bash
# The whole seed experiment (4000 full-batch iterations) in one sitting on one machine: mininn
# in float and double, and the seed's own numpy code in its float64 and in float32, one after
# the other on the same OpenBLAS and thread count; then a table of accuracy, final cost and
# training time, with the machine and the OpenBLAS kernel. Takes about 35 minutes on 2 cores.
# Each run's output, --history and --predictions CSVs go to the output directory, for
# examples/mnist/plot.py.
#   examples/bench/seed_experiment.sh [output-dir] [iterations]   (default: seed-experiment, 4000)
# SEED_RUNS picks the runs, in order (default: mininn-float numpy-float64 mininn-double numpy-float32).
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh
out=${1:-seed-experiment} iterations=${2:-4000}
mkdir -p "$out"

cmake/install-deps.sh
cmake/install-deps.sh python3-numpy
mininn_mnist_dir
examples/mnist/get-mnist.sh "$MININN_MNIST_DIR" >/dev/null
build=${MININN_BUILD_DIR:-build}
mininn_build "$build" mnist >/dev/null
mininn_openblas_coretype "$build"/examples/mnist
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(nproc)}

run() { # name, command... -> runs it, keeps its output, prints its key lines
  local name=$1; shift
  echo "== $name: $*"
  "$@" --history "$out/$name.history.csv" --predictions "$out/$name.pred.csv" | tee "$out/$name.txt" |
    grep -E '^(BLAS|numpy|Final cost|Training time|Test accuracy)'
}
mnist=("$build"/examples/mnist --data "$MININN_MNIST_DIR" --iterations "$iterations")
numpy=(/usr/bin/python3 examples/bench/peers/numpy_seed_full.py --data "$MININN_MNIST_DIR" --iterations "$iterations")
# Alternating, so that a drift in the machine's speed does not favour one side.
runs=(${SEED_RUNS:-mininn-float numpy-float64 mininn-double numpy-float32})
for r in "${runs[@]}"; do
  case $r in
    mininn-float | mininn-double) run "$r" "${mnist[@]}" --dtype "${r#mininn-}" ;;
    numpy-float64 | numpy-float32) run "$r" "${numpy[@]}" --dtype "${r#numpy-}" ;;
    *) echo "seed_experiment.sh: unknown run '$r'" >&2; exit 2 ;;
  esac
done

field() { sed -n "s/^$2 *//p" "$out/$1.txt" | head -1; }
echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; OpenBLAS $(sed -n 's/^BLAS: //p' "$out/mininn-float.txt")"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $OPENBLAS_NUM_THREADS OpenBLAS threads, $iterations iterations"
echo
echo "| run | test accuracy | final cost | training time |"
echo "|---|---:|---:|---:|"
for r in "${runs[@]}"; do
  echo "| $r | $(field "$r" 'Test accuracy:') | $(field "$r" 'Final cost:') | $(field "$r" 'Training time:') |"
done
secs() { [ -f "$out/$1.txt" ] && field "$1" 'Training time:' | sed 's/ s .*//'; }
ratio() { # slower, faster -> "slower / faster: r" when both ran
  local a b; a=$(secs "$1") b=$(secs "$2")
  [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v n="$1 / $2" 'BEGIN { printf "%s: %.2fx\n", n, a / b }'
  return 0
}
echo
ratio numpy-float64 mininn-float
ratio numpy-float32 mininn-float
ratio numpy-float64 mininn-double
