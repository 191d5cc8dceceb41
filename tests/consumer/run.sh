#!/usr/bin/env bash
# Builds and runs tests/consumer, an outside project, through every way of consuming mininn:
#   1. find_package from an install prefix: Debug and Release, each with and without
#      -march=native, under -Wall -Wextra -Werror, with a program that instantiates every
#      component (everything.cpp) beside the small one (main.cpp); none of them looks for MPI
#   1b. find_package(... COMPONENTS distributed), and its MPI program run on 2 ranks
#   2. add_subdirectory, and 3. FetchContent from a path: as a subproject mininn installs
#      nothing, unless MININN_INSTALL=ON
#   4. pkg-config (mininn.pc), with a plain g++ command line
#   5. the Debian package from `cpack -G DEB`, installed with dpkg -i and found by
#      find_package with no prefix (removed again afterwards unless it was installed before)
# and checks that a pre-C++17 compile stops with mininn's one message. Prints the compile
# time of the small program.
# Usage: tests/consumer/run.sh [quick|ci]   (quick: path 1 in Release with -march=native only;
#   ci: path 1 in Debug only, with and without -march=native, and the rest)
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)
quick=${1:-}

cmake/install-deps.sh
cmake/install-deps.sh pkg-config dpkg-dev
work=$(mktemp -d)
deb_installed_by_us=0
cleanup() {
  [ "$deb_installed_by_us" = 1 ] && dpkg -r libmininn-dev >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
jobs=$(nproc)
strict="-Wall -Wextra -Werror"

echo "== install into a prefix"
cmake -S . -B "$work/build" -DMININN_BUILD_TESTS=OFF -DMININN_BUILD_EXAMPLES=OFF \
      -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --install "$work/build" >/dev/null

consumer() { # name, then cmake arguments: configures, builds and runs the consumer
  local name=$1; shift
  cmake -S tests/consumer -B "$work/$name" "$@" >"$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
  cmake --build "$work/$name" -j "$jobs" >>"$work/$name.log" 2>&1 || { cat "$work/$name.log"; exit 1; }
  "$work/$name/consumer" | tail -1
  if [ -x "$work/$name/everything" ]; then "$work/$name/everything" | tail -1; fi
}

# CI builds the suite in Release with -march=native and the portable-kernel tests without it, both
# under -Werror, so it passes "ci" for Debug alone here: each configuration built once.
builds=("Release:-march=native")
[ "$quick" = quick ] || builds=("Debug:" "Debug:-march=native" "Release:" "Release:-march=native")
[ "$quick" = ci ] && builds=("Debug:" "Debug:-march=native")
for b in "${builds[@]}"; do
  type=${b%%:*} arch=${b#*:}
  echo "== 1. find_package, $type, CXXFLAGS: $strict $arch"
  consumer "pkg-$type${arch:+-native}" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE="$type" \
           -DCMAKE_CXX_FLAGS="$strict $arch" -DCONSUMER_EVERYTHING=ON
done
[ "$quick" = quick ] && exit 0

echo "== 1b. find_package(mininn CONFIG REQUIRED COMPONENTS distributed), run on 2 ranks"
consumer pkg-distributed -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
         -DCMAKE_CXX_FLAGS="$strict" -DCONSUMER_DISTRIBUTED=ON
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
  OMPI_MCA_btl_vader_single_copy_mechanism=none mpiexec -n 2 "$work/pkg-distributed/consumer_distributed"

for via in subdirectory fetchcontent; do
  n=$([ $via = subdirectory ] && echo 2 || echo 3)
  echo "== $n. $via"
  consumer "$via" -DMININN_VIA=$via -DMININN_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=Release \
           -DCMAKE_CXX_FLAGS="$strict" -DCMAKE_INSTALL_PREFIX="$work/$via-prefix"
  cmake --install "$work/$via" >/dev/null
  if [ -e "$work/$via-prefix/include/mininn" ] || [ -e "$work/$via-prefix/share/cmake/mininn" ]; then
    echo "$via: mininn installed its files into the parent project's prefix"; exit 1
  fi
  [ -x "$work/$via-prefix/bin/consumer" ] || { echo "$via: the parent's own install did not run"; exit 1; }
  echo "$via: the parent's install holds its program and none of mininn's files"
done
echo "== 2b. add_subdirectory with MININN_INSTALL=ON installs mininn too"
consumer subdir-install -DMININN_VIA=subdirectory -DMININN_SOURCE_DIR="$src" -DMININN_INSTALL=ON \
         -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$work/subdir-install-prefix" >/dev/null
cmake --install "$work/subdir-install" >/dev/null
[ -f "$work/subdir-install-prefix/include/mininn/mininn.hpp" ] || { echo "MININN_INSTALL=ON installed no headers"; exit 1; }
echo "MININN_INSTALL=ON: headers installed"

echo "== 4. pkg-config"
export PKG_CONFIG_PATH="$work/prefix/share/pkgconfig"
echo "pkg-config --cflags --libs mininn: $(pkg-config --cflags --libs mininn)"
start=$(date +%s%N)
# shellcheck disable=SC2046  # pkg-config's output is meant to be split into words
g++ -std=c++17 -O2 $strict tests/consumer/main.cpp -o "$work/pc-consumer" $(pkg-config --cflags --libs mininn)
compile_ms=$(( ($(date +%s%N) - start) / 1000000 ))
"$work/pc-consumer" | tail -1
unset PKG_CONFIG_PATH

echo "== 5. the Debian package (cpack -G DEB, dpkg -i, find_package with no prefix)"
if dpkg -s libmininn-dev >/dev/null 2>&1; then
  echo "libmininn-dev is already installed on this machine; not replacing it"
else
  (cd "$work/build" && cpack -G DEB >/dev/null)
  deb=$(ls "$work"/build/libmininn-dev_*.deb)
  echo "built $(basename "$deb"): $(dpkg-deb -c "$deb" | wc -l) entries, depends: $(dpkg-deb -f "$deb" Depends)"
  dpkg -i "$deb" >/dev/null
  deb_installed_by_us=1
  consumer deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$strict"
  grep -q "mininn_DIR:PATH=/usr/share/cmake/mininn" "$work/deb/CMakeCache.txt" ||
    { echo "the consumer did not find the packaged mininn in /usr"; exit 1; }
  echo "found in /usr/share/cmake/mininn"
fi

echo "== a pre-C++17 compiler gets one message"
if g++ -std=c++14 -fsyntax-only -I"$work/prefix/include" tests/consumer/main.cpp >"$work/cxx14.log" 2>&1; then
  echo "a C++14 compile of mininn succeeded"; exit 1
fi
errors=$(grep -c ': error:\|fatal error:' "$work/cxx14.log")
grep -q 'mininn needs C++17 or newer' "$work/cxx14.log" && [ "$errors" -le 2 ] ||
  { cat "$work/cxx14.log"; echo "expected mininn's C++17 message alone"; exit 1; }
grep -m1 '#error' "$work/cxx14.log" | sed 's/^.*#error/#error/'

echo "== compile time of tests/consumer/main.cpp (g++ -O2, no -march): $((compile_ms / 1000)).$(printf %03d $((compile_ms % 1000))) s"
