# shellcheck shell=bash
# The set-up the example and benchmark scripts share, sourced by them from the repository's root
# (each cds there first): examples/mnist/run.sh, examples/bench/run.sh, seed_experiment.sh,
# sparse_peers.sh and distributed.sh. Sourcing it only defines these functions.

# MININN_MNIST_DIR, exported: where MNIST is kept (default: ~/.local/share/mininn/mnist).
mininn_mnist_dir() {
  export MININN_MNIST_DIR=${MININN_MNIST_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mininn/mnist}
}

# mininn_build DIR [-DVAR=VALUE]... TARGET...: configures DIR with the examples on (a build
# directory configured earlier without them, by an install step, would have no 'mnist' target;
# a new one is a Release build, CMakeLists.txt) and the given definitions, then builds the
# targets with $MININN_JOBS parallel jobs (default: one per core).
mininn_build() {
  local dir=$1 arg defs=() targets=()
  shift
  for arg; do
    case $arg in
      -D*) defs+=("$arg") ;;
      *) targets+=("$arg") ;;
    esac
  done
  cmake -S . -B "$dir" "${defs[@]}" -DMININN_BUILD_EXAMPLES=ON >/dev/null
  cmake --build "$dir" -j "${MININN_JOBS:-$(nproc)}" --target "${targets[@]}"
}

# mininn_openblas_coretype MNIST-BINARY [MESSAGE]: OpenBLAS 0.3.21 does not recognise CPUs newer
# than itself and falls back to generic SSE3 kernels; the example knows which kernel set this CPU
# can run instead. Unless OPENBLAS_CORETYPE is set already, exports that one, and then prints
# MESSAGE followed by OPENBLAS_CORETYPE=<kernel set> when a MESSAGE is given.
mininn_openblas_coretype() {
  local core
  [ -z "${OPENBLAS_CORETYPE:-}" ] || return 0
  core=$("$1" --blas-advice)
  [ -n "$core" ] || return 0
  [ $# -lt 2 ] || echo "$2OPENBLAS_CORETYPE=$core"
  export OPENBLAS_CORETYPE=$core
}
