// mininn_bench_distributed: one MPI job's figures for the data-parallel seed network, printed
// by rank 0 as key=value lines (examples/bench/distributed.sh runs it at several rank counts
// and feeds the figures into the scaling model):
//   step_ms         a full-batch DataParallel step (compute on the shard, the allreduce, GD)
//   compute_ms      compute_gradients on the shard alone, no communication
//   update_ms       the GD update alone (every rank updates every parameter)
//   ring_us         the step's allreduce alone (Communicator::ring_sum of the one buffer)
//   mpi_allreduce_us  MPI_Allreduce of the same buffer, for comparison
//   alpha_us, beta_GBps  latency and bandwidth between ranks 0 and 1 (ping-pong of 8 B and 4 MiB)
//   batch128_compute_ms  compute_gradients on 128 columns, for the mini-batch model
//
//   mpirun -np 2 --bind-to none build/examples/mininn_bench_distributed --data DIR
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <mininn/distributed/all.hpp>

#include "common.hpp"

using namespace mininn;
namespace dist = mininn::distributed;

namespace {

using clock_type = std::chrono::steady_clock;

using bench::median;

// The median time of f in milliseconds over reps runs, each started together on every rank.
template <class F>
double median_ms(const dist::Communicator& comm, int reps, F&& f)
{
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        comm.barrier();
        const auto t0 = clock_type::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    }
    return median(t);
}

// Half the round trip of `bytes` between ranks 0 and 1, in microseconds (0 with one rank).
double half_round_trip_us(const dist::Communicator& comm, std::size_t bytes, int reps)
{
    if (comm.size() < 2 || comm.rank() > 1)
        return comm.max(0.0);
    std::vector<char> buf(bytes);
    const int other = 1 - comm.rank();
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = clock_type::now();
        if (comm.rank() == 0) {
            MPI_Send(buf.data(), static_cast<int>(bytes), MPI_CHAR, other, 9, comm.get());
            MPI_Recv(buf.data(), static_cast<int>(bytes), MPI_CHAR, other, 9, comm.get(), MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf.data(), static_cast<int>(bytes), MPI_CHAR, other, 9, comm.get(), MPI_STATUS_IGNORE);
            MPI_Send(buf.data(), static_cast<int>(bytes), MPI_CHAR, other, 9, comm.get());
        }
        t.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() / 2);
    }
    return comm.max(median(t));
}

} // namespace

int main(int argc, char** argv)
{
    std::string data;
    bool synthetic = false;
    int steps = 15;
    std::size_t threads = 1;
    CLI::App app{"mininn_bench_distributed: the data-parallel seed network's step, its allreduce, and the transport"};
    app.add_option("--data", data, "directory with the MNIST files (default: $MININN_MNIST_DIR)");
    app.add_flag("--synthetic", synthetic, "random data of MNIST's shape instead");
    app.add_option("--steps", steps, "timed full-batch steps (median)")->check(CLI::PositiveNumber);
    app.add_option("--threads", threads, "threads of mininn's own sweeps per rank (1 or 2)");
    CLI11_PARSE(app, argc, argv);
    if (data.empty())
        if (const char* env = std::getenv("MININN_MNIST_DIR"))
            data = env;

    const dist::Communicator comm;
    try {
        const std::size_t n = 60000;
        const dist::Shard s = dist::shard(comm, n);
        matrix<float> X;
        label_vector y;
        comm.agreed([&] {
            if (synthetic) {
                Rng rng(static_cast<std::uint64_t>(comm.rank()) + 1);
                X = matrix<float>(matrix<float>::shape_type{784, s.count});
                for (auto& v : X)
                    v = static_cast<float>(rng.uniform());
                y = label_vector(label_vector::shape_type{s.count});
                for (auto& v : y)
                    v = rng.below(10);
            } else {
                const MnistData<float> d = load_mnist<float>(data, s.range(), false);
                X = d.train_images;
                y = d.train_labels;
            }
        });
        Rng rng(138);
        Network net{Dense<float>(784, 64, init::normal, rng), Sigmoid{}, Dense<float>(64, 10, init::normal, rng),
                    Softmax{}};
        net.set_threads(threads);
        dist::DataParallel dp(comm, net);
        GD<float> gd(1.0f);
        const CrossEntropy loss;
        dp.step(loss, gd, X, y);
        dp.step(loss, gd, X, y);
        const double step_ms = median_ms(comm, steps, [&] { dp.step(loss, gd, X, y); });
        const double compute_ms = median_ms(comm, steps, [&] { net.compute_gradients(loss, X, y); });
        const double update_ms = median_ms(comm, 50, [&] { gd.step(net); });
        const std::size_t buffer = net.parameter_count() + 4; // the gradients, the loss, the count, two flags
        std::vector<float> buf(buffer, 1.0f), scratch(buffer / static_cast<std::size_t>(comm.size()) + 1);
        const double ring_us = 1000 * median_ms(comm, 200, [&] { comm.ring_sum(buf.data(), buf.size(), scratch.data()); });
        const double mpi_us = 1000 * median_ms(comm, 200, [&] { comm.sum(buf.data(), buf.size()); });
        const double alpha = half_round_trip_us(comm, 8, 2000);
        const double big = half_round_trip_us(comm, std::size_t(4) << 20, 30);
        const double beta = comm.size() > 1 ? static_cast<double>(std::size_t(4) << 20) / ((big - alpha) * 1e3) : 0;
        const matrix<float> Xb = xt::view(X, xt::all(), xt::range(0, std::min<std::size_t>(128, s.count)));
        const label_vector yb = xt::view(y, xt::range(0, std::min<std::size_t>(128, s.count)));
        const double b128_ms = median_ms(comm, 50, [&] { net.compute_gradients(loss, Xb, yb); });
        // The slowest rank sets the pace.
        const double worst_step = comm.max(step_ms), worst_compute = comm.max(compute_ms);
        if (comm.root()) {
            std::printf("ranks=%d\nsamples_per_rank=%zu\nthreads_per_rank=%s\nblas=%s\n", comm.size(), s.count,
                        std::getenv("OPENBLAS_NUM_THREADS") ? std::getenv("OPENBLAS_NUM_THREADS") : "default",
                        blas_info().config.c_str());
            std::printf("step_ms=%.3f\ncompute_ms=%.3f\nupdate_ms=%.4f\n", worst_step, worst_compute, update_ms);
            std::printf("buffer_bytes=%zu\nring_us=%.2f\nmpi_allreduce_us=%.2f\n", buffer * sizeof(float), ring_us, mpi_us);
            std::printf("alpha_us=%.3f\nbeta_GBps=%.3f\nbatch128_compute_ms=%.4f\n", alpha, beta, b128_ms);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mininn_bench_distributed: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
