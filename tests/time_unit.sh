#!/usr/bin/env bash
# A compiler launcher that times each compile as the build runs it: configure with
#   -DCMAKE_CXX_COMPILER_LAUNCHER="$PWD/tests/time_unit.sh;<log>"
# and each compile appends "<seconds>\t<source file>" to <log>; tests/compile_times.sh prints
# the example's units from it instead of compiling them again one at a time.
# Usage (by CMake): tests/time_unit.sh log compiler args...
set -uo pipefail
log=$1; shift
src=
prev=
for a in "$@"; do
  [ "$prev" = -c ] && src=$a
  prev=$a
done
t0=$(date +%s%N)
"$@"
status=$?
t1=$(date +%s%N)
[ -n "$src" ] && printf '%d.%02d\t%s\n' $(((t1 - t0) / 1000000000)) $(((t1 - t0) / 10000000 % 100)) "$src" >>"$log"
exit $status
