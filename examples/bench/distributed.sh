#!/usr/bin/env bash
# Measures data-parallel training on this machine and puts the figures into the cost model
#   T(N) = T_compute / N + T_update + 2 (N - 1) alpha + 2 (N - 1) / N * S / beta
# (a ring allreduce of S bytes; T_update, the optimizer step every rank takes on every
# parameter, does not shrink with N). Runs mininn_bench_distributed, alternating the
# configurations over rounds so that the machine's drift touches each alike:
#   one process with 2 threads (OpenBLAS and mininn's helper), the single-machine baseline
#   1, 2 and 4 ranks with one thread each, on shared memory (4 ranks oversubscribe 2 cores)
#   2 ranks over TCP on loopback, the stand-in for separate machines
# Usage: examples/bench/distributed.sh [--synthetic] [rounds]     (default 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/../.."
. examples/setup.sh

cmake/install-deps.sh
data_args=(--data "${MININN_MNIST_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/mininn/mnist}")
if [ "${1:-}" = --synthetic ]; then data_args=(--synthetic); shift; else examples/mnist/get-mnist.sh "${data_args[1]}"; fi
rounds=${1:-3}
mininn_build build -DCMAKE_BUILD_TYPE=Release mininn_bench_distributed mnist
bench=build/examples/mininn_bench_distributed
[ -x "$bench" ] || { echo "distributed.sh: no $bench (was MPI found? install libopenmpi-dev openmpi-bin)" >&2; exit 1; }
mininn_openblas_coretype build/examples/mnist

# Open MPI as root, oversubscribed; shared memory without the single-copy mechanism, which
# fails in containers (see include/mininn/distributed/README.md).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
shm=(--mca btl self,vader --mca btl_vader_single_copy_mechanism none)
tcp=(--mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() { # name, threads, mpirun arguments...
  local name=$1 threads=$2; shift 2
  OPENBLAS_NUM_THREADS=$threads mpirun --bind-to none "$@" "$bench" "${data_args[@]}" --threads "$threads" \
    >>"$out/$name" 2>"$out/$name.err" || { cat "$out/$name.err" >&2; exit 1; }
}
for r in $(seq "$rounds"); do
  echo "round $r/$rounds"
  run single2 2 -np 1 "${shm[@]}"
  run np1 1 -np 1 "${shm[@]}"
  run np2 1 -np 2 "${shm[@]}"
  run np4 1 -np 4 "${shm[@]}"
  run tcp2 1 -np 2 "${tcp[@]}"
done

/usr/bin/python3 - "$out" <<'PY'
import os, statistics, sys
out = sys.argv[1]
def runs(name):
    rows, cur = [], {}
    for line in open(os.path.join(out, name)):
        k, _, v = line.strip().partition("=")
        if k == "ranks" and cur:
            rows.append(cur); cur = {}
        cur[k] = v
    rows.append(cur)
    return rows
def med(name, key):
    return statistics.median(float(r[key]) for r in runs(name))
names = ["single2", "np1", "np2", "np4", "tcp2"]
print("BLAS:", runs("np1")[0]["blas"])
print(f"{'configuration':<34}{'step ms':>9}{'compute ms':>12}{'ring us':>9}{'MPI_Allreduce us':>18}")
label = {"single2": "1 process, 2 threads", "np1": "1 rank, 1 thread", "np2": "2 ranks x 1 thread, shared memory",
         "np4": "4 ranks x 1 thread (2 cores), shm", "tcp2": "2 ranks x 1 thread, TCP loopback"}
for n in names:
    print(f"{label[n]:<34}{med(n,'step_ms'):>9.2f}{med(n,'compute_ms'):>12.2f}{med(n,'ring_us'):>9.1f}{med(n,'mpi_allreduce_us'):>18.1f}")
base = med("single2", "step_ms")
print(f"speed-up over one process with 2 threads: 2 ranks {base / med('np2','step_ms'):.2f}x, "
      f"4 ranks {base / med('np4','step_ms'):.2f}x, 2 ranks over TCP {base / med('tcp2','step_ms'):.2f}x")
S = float(runs("np2")[0]["buffer_bytes"])
shm_a, shm_b = med("np2", "alpha_us") * 1e-6, med("np2", "beta_GBps") * 1e9
tcp_a, tcp_b = med("tcp2", "alpha_us") * 1e-6, med("tcp2", "beta_GBps") * 1e9
print(f"transport: shared memory alpha {shm_a*1e6:.2f} us, beta {shm_b/1e9:.2f} GB/s; "
      f"TCP loopback alpha {tcp_a*1e6:.2f} us, beta {tcp_b/1e9:.2f} GB/s; S = {S:.0f} bytes")
Tc = med("np1", "compute_ms") * 1e-3          # the whole batch on one core
Tu = med("np1", "update_ms") * 1e-3
Tb = med("np1", "batch128_compute_ms") * 1e-3  # 128 columns on one core
print(f"model inputs: T_compute full batch {Tc*1e3:.1f} ms, batch 128 {Tb*1e3:.3f} ms, T_update {Tu*1e3:.3f} ms (one core)")
from math import log2
def allreduce(N, a, b, ring):
    if N == 1:
        return 0.0
    lat = 2 * (N - 1) * a if ring else 2 * log2(N) * a  # the ring, or a latency-optimal tree (MPI_Allreduce)
    return lat + 2 * (N - 1) / N * S / b
def efficiency(N, Tcomp_total, a, b, ring, weak=False):
    # strong scaling: a fixed global batch of compute Tcomp_total; weak: each rank keeps Tcomp_total
    per_rank = Tcomp_total if weak else Tcomp_total / N
    return (per_rank + Tu) / (per_rank + Tu + allreduce(N, a, b, ring)) if weak else \
           (Tcomp_total + Tu) / (N * (per_rank + Tu + allreduce(N, a, b, ring)))
nets = [("TCP loopback (measured)", tcp_a, tcp_b), ("10 GbE (assumed 25 us, 1.2 GB/s)", 25e-6, 1.2e9)]
cases = [("full batch 60000", Tc, False), ("global batch 128", Tb, False), ("128 per rank (global 128 N)", Tb, True)]
print(f"{'predicted scaling efficiency':<68}{'8 ranks':>9}{'64 ranks':>10}{'256 ranks':>11}")
for net, a, b in nets:
    for what, Tcomp, weak in cases:
        for ring in (True, False):
            cells = [f"{100 * efficiency(N, Tcomp, a, b, ring, weak):.0f} %" for N in (8, 64, 256)]
            row = f"{net}, {what}, {'ring' if ring else 'tree'}"
            print(f"{row:<68}{cells[0]:>9}{cells[1]:>10}{cells[2]:>11}")
PY
