#!/usr/bin/env bash
# Builds mininn's libFuzzer harnesses with clang (AddressSanitizer and UndefinedBehaviorSanitizer
# on), replays the reproducers of past bugs, then fuzzes each harness for a bounded time from its
# seed corpus, two at a time. Any crash, leak, timeout or out-of-memory fails the run.
# Usage: tests/fuzz/run.sh [seconds-per-harness] [build-dir]     (default: 30, build-fuzz)
# A long run: tests/fuzz/run.sh 3600  (or run a harness by hand, see the README).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30} build=${2:-build-fuzz}

cmake/install-deps.sh
cmake/install-deps.sh clang-14 libclang-rt-14-dev
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DMININN_BUILD_TESTS=OFF -DMININN_BUILD_EXAMPLES=OFF -DMININN_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
work="$build/fuzz"
rm -rf "$work" && mkdir -p "$work"
"$build/tests/fuzz/make_corpus" "$work/seeds" >/dev/null

harnesses=(idx mnist npz_bytes npz_entries csv)
if [ -x "$build/tests/fuzz/fuzz_onnx" ]; then # mininn::onnx was found: PyTorch's exports join mininn's
  harnesses+=(onnx)
  cp tests/data/onnx/*.onnx "$work/seeds/corpus/onnx/"
fi
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
opts=(-rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=10 -max_len=8192)
for h in "${harnesses[@]}"; do
  if [ -d "$work/seeds/regressions/$h" ]; then
    echo "== fuzz_$h: replaying $(ls "$work/seeds/regressions/$h" | wc -l) reproducers"
    "$build/tests/fuzz/fuzz_$h" "${opts[@]}" "$work/seeds/regressions/$h"/* >"$work/$h.replay.log" 2>&1 ||
      { tail -30 "$work/$h.replay.log"; echo "fuzz_$h: a reproducer failed"; exit 1; }
  fi
done

fuzz_one() { # harness -> fuzzes it for $seconds from a copy of its seeds
  local h=$1 dir="$work/corpus-$1"
  mkdir -p "$dir" "$work/artifacts-$1"
  cp "$work/seeds/corpus/$h"/* "$dir"/
  "$build/tests/fuzz/fuzz_$h" "${opts[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts-$h/" "$dir" >"$work/$h.log" 2>&1
}
status=0
for ((i = 0; i < ${#harnesses[@]}; i += 2)); do
  pids=()
  for h in "${harnesses[@]:i:2}"; do fuzz_one "$h" & pids+=($!); done
  for k in "${!pids[@]}"; do
    h=${harnesses[$((i + k))]}
    if wait "${pids[$k]}"; then
      echo "== fuzz_$h: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work/$h.log" | grep -o '[0-9]*$') executions in ${seconds} s, no finding"
    else
      tail -40 "$work/$h.log"; echo "fuzz_$h: FINDING (artifacts in $work/artifacts-$h)"; status=1
    fi
  done
done
exit $status
