#!/usr/bin/env bash
# Prints how long each translation unit of the mnist example takes to compile, one at a time,
# with the build's own flags (Release, -march=native), and how long a small user program
# (tests/compile_time/: once with only the headers it uses, once with the umbrella) takes at -O2,
# without and with -march=native, against a file that only includes xtensor and xtensor-blas.
# If the build directory holds unit-times.tsv (its build ran with tests/time_unit.sh as the
# compiler launcher, as CI's does), the example's units are printed from it, timed as the
# parallel build compiled them, rather than compiled again.
# Usage: tests/compile_times.sh [build-dir]   (default: build; configured here if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

seconds() { # command... -> runs it, prints its wall time in seconds
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  printf '%d.%02d' $(((t1 - t0) / 1000000000)) $(((t1 - t0) / 10000000 % 100))
}

if [ -s "$build/unit-times.tsv" ]; then
  echo "compile times on $(nproc) cores, $(g++ --version | head -1), the example's units as its build compiled them ($(nproc) at a time):"
  awk -F'\t' '/\/examples\/mnist\// { t[$2] = $1 } END { for (f in t) print t[f] "\t" f }' "$build/unit-times.tsv" |
    sort -t$'\t' -k2 | while IFS=$'\t' read -r t file; do
    printf '  %-42s %6s s\n' "examples/mnist/$(basename "$file")" "$t"
  done
  echo "and one at a time:"
else
  echo "compile times on $(nproc) cores, $(g++ --version | head -1), one unit at a time:"
  python3 - "$build/compile_commands.json" >"$tmp/units" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1])):
    if "/examples/mnist/" in e["file"]:
        print(e["directory"] + "\t" + e["file"] + "\t" + e["command"])
PY
  while IFS=$'\t' read -r dir file cmd; do
    printf '  %-42s %6s s\n' "examples/mnist/$(basename "$file")" "$(cd "$dir" && seconds bash -c "$cmd")"
  done <"$tmp/units"
fi
flags=(-std=c++17 -O2 -DXTENSOR_USE_XSIMD -Iinclude -c -o "$tmp/out.o")
printf '#include <xtensor/xtensor.hpp>\n#include <xtensor-blas/xlinalg.hpp>\nint main() {}\n' >"$tmp/includes.cpp"
# Rounds (three unless told), each compiling the three files one after the other, so that the ratios pair
# programs compiled within seconds of each other on a machine whose speed drifts.
rounds=${MININN_COMPILE_ROUNDS:-3} # CI takes 1: the figures are printed, not checked
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for extra in "" "-march=native"; do
  : >"$tmp/inc" && : >"$tmp/sel" && : >"$tmp/umb"
  for ((r = 0; r < rounds; ++r)); do
    seconds g++ "${flags[@]}" $extra "$tmp/includes.cpp" >>"$tmp/inc" && echo >>"$tmp/inc"
    seconds g++ "${flags[@]}" $extra tests/compile_time/selective.cpp >>"$tmp/sel" && echo >>"$tmp/sel"
    seconds g++ "${flags[@]}" $extra tests/compile_time/umbrella.cpp >>"$tmp/umb" && echo >>"$tmp/umb"
  done
  inc=$(median <"$tmp/inc") sel=$(median <"$tmp/sel") umb=$(median <"$tmp/umb")
  label=${extra:-"(a consumer's default flags)"}
  echo "a small program (tests/compile_time/, XOR by 2-16-2 with GD), -O2 $label, median of $rounds paired rounds:"
  printf '  %-58s %6s s\n' "only <xtensor.hpp> and <xlinalg.hpp>" "$inc"
  printf '  %-58s %6s s  %s x  (target <= 2.5 x)\n' "selective.cpp, only the headers it uses" "$sel" \
    "$(awk -v a="$sel" -v b="$inc" 'BEGIN { printf "%.2f", a / b }')"
  printf '  %-58s %6s s  %s x  (target <= 3 x)\n' "umbrella.cpp, <mininn/mininn.hpp>" "$umb" \
    "$(awk -v a="$umb" -v b="$inc" 'BEGIN { printf "%.2f", a / b }')"
done
# The program runs and learns, so the figures are those of a real one.
g++ -std=c++17 -O2 -DXTENSOR_USE_XSIMD -Iinclude tests/compile_time/selective.cpp -o "$tmp/xor" -lopenblas -lzip -lz -pthread
"$tmp/xor"
