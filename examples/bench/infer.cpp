// mininn_infer_bench: inference of the seed network (784-64-10, sigmoid, softmax, float) frozen
// into a Model, against Network::infer, at batch 1, 32 and 1024, one thread unless stated, on
// MNIST test images (default: $MININN_MNIST_DIR) or random ones of the same shape. Prints one
// line per figure, then key=value lines. Every figure is the median of paired runs in this one
// process.
//
//   mininn_infer_bench [--data DIR | --synthetic] [--reps N] [--save-dir DIR]
//
// --save-dir writes the benchmarked network (DIR/seed.npz) and its outputs for test images
// 1000-1031 (DIR/mininn_b32.f32, [10, 32] float32), which examples/bench/infer_peers.sh gives
// the peers so that they run the same weights and check the same results.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <mininn/mininn.hpp>

#include "common.hpp"

#include "alloc_counter.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace mininn;

namespace {

using clock_type = std::chrono::steady_clock;

using bench::median;

// Microseconds a call of f takes: the median over reps rounds of calls, each round long enough
// (at least 2 ms) for the clock.
template <class F>
double us_per_call(int reps, F&& f)
{
    std::size_t calls = 1;
    for (;;) { // calls per round
        const auto t0 = clock_type::now();
        for (std::size_t c = 0; c < calls; ++c)
            f();
        if (std::chrono::duration<double>(clock_type::now() - t0).count() > 2e-3)
            break;
        calls *= 2;
    }
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = clock_type::now();
        for (std::size_t c = 0; c < calls; ++c)
            f();
        t.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count() /
                    static_cast<double>(calls));
    }
    return median(t);
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"mininn_infer_bench: a frozen Model against Network::infer"};
    std::string data;
    bool synthetic = false;
    int reps = 15;
    std::string save_to;
    app.add_option("--data", data, "directory with MNIST's t10k files (default: $MININN_MNIST_DIR)");
    app.add_flag("--synthetic", synthetic, "random images of MNIST's shape and density");
    app.add_option("--reps", reps, "rounds per figure (the median is reported)")->check(CLI::PositiveNumber);
    app.add_option("--save-dir", save_to, "write the network and reference outputs here, for the peers");
    CLI11_PARSE(app, argc, argv);
    try {
        matrix<float> X;
        Rng rng(138);
        if (synthetic) {
            X = xt::zeros<float>({784, 10000});
            for (auto& v : X)
                if (rng.uniform() < 0.19)
                    v = static_cast<float>(rng.uniform());
        } else {
            data = bench::mnist_dir(data);
            X = load_mnist<float>(data).test_images;
        }
        openblas_set_num_threads(1);
        Network net{Dense<float>(784, 64, init::normal, rng), Sigmoid{}, Dense<float>(64, 10, init::normal, rng),
                    Softmax{}};
        net.set_threads(1);
        const Model<float> model = freeze(net);
        const BlasInfo blas = blas_info();
        std::printf("data: %s, %zu images\nBLAS: %s (core %s), 1 thread\nmininn kernels: %s\n\n",
                    synthetic ? "synthetic" : data.c_str(), X.shape()[1], blas.config.c_str(), blas.core.c_str(),
                    detail::simd_isa());

        const std::size_t n_all = X.shape()[1];
        auto columns = [&](std::size_t first, std::size_t n) {
            return matrix<float>(xt::view(X, xt::all(), xt::range(first, first + n)));
        };
        // A different image each call, as a server sees them.
        std::vector<matrix<float>> one;
        for (std::size_t j = 0; j < 256; ++j)
            one.push_back(columns(j * 37 % n_all, 1));
        matrix<float> dense_one({784, 1});
        for (auto& v : dense_one)
            v = static_cast<float>(rng.normal());
        const matrix<float> b32 = columns(1000, 32), b1024 = columns(2000, 1024);
        const sparse_matrix<float> S(columns(0, 256));
        if (!save_to.empty()) {
            save(net, save_to + "/seed.npz");
            const matrix<float> ref = model.infer(b32);
            write_file_atomic(save_to + "/mininn_b32.f32",
                              std::string(reinterpret_cast<const char*>(ref.data()), ref.size() * sizeof(float)));
        }

        Model<float>::Workspace ws;
        decltype(net)::Workspace nws;
        matrix<float> out, out32, out1024, out_sparse; // each batch size its own: a new shape reallocates
        std::size_t k = 0;
        auto model_b1 = [&] { model.infer(one[k++ % one.size()], out, ws); };
        auto network_b1 = [&] { net.infer(one[k++ % one.size()], nws); };
        auto model_dense_b1 = [&] { model.infer(dense_one, out, ws); };
        auto model_sparse_b1 = [&] {
            const std::size_t j = k++ % 256;
            model.infer(S.columns(j, 1), out_sparse, ws);
        };
        auto model_b32 = [&] { model.infer(b32, out32, ws); };
        auto network_b32 = [&] { net.infer(b32, nws); };
        auto model_b1024 = [&] { model.infer(b1024, out1024, ws); };
        auto network_b1024 = [&] { net.infer(b1024, nws); };

        // Paired: each round times the model and the network back to back.
        std::vector<double> m1, n1, m32, n32, ratio1, ratio32;
        for (int r = 0; r < reps; ++r) {
            m1.push_back(us_per_call(1, model_b1));
            n1.push_back(us_per_call(1, network_b1));
            m32.push_back(us_per_call(1, model_b32));
            n32.push_back(us_per_call(1, network_b32));
            ratio1.push_back(m1.back() / n1.back());
            ratio32.push_back(m32.back() / n32.back());
        }
        const double dense_b1 = us_per_call(reps, model_dense_b1), sparse_b1 = us_per_call(reps, model_sparse_b1);
        const double m1024 = us_per_call(reps, model_b1024), n1024 = us_per_call(reps, network_b1024);
        // The other kernel at each size: BLAS at batch 32, the one-sample kernel at batch 1024,
        // on these images and on inputs with no zeros.
        Model<float> other = model;
        matrix<float> o;
        other.set_small_batch_limit(0);
        const double blas_b32 = us_per_call(reps, [&] { other.infer(b32, o, ws); });
        matrix<float> dense32({784, 32});
        for (auto& v : dense32)
            v = static_cast<float>(rng.normal());
        const double blas_dense_b32 = us_per_call(reps, [&] { other.infer(dense32, o, ws); });
        other.set_small_batch_limit(100000);
        const double small_b1024 = us_per_call(reps, [&] { other.infer(b1024, o, ws); });
        const double small_dense_b32 = us_per_call(reps, [&] { other.infer(dense32, o, ws); });

        // Samples a second at batch 1: one thread, then two sharing the model.
        auto per_second = [&](int threads) {
            std::atomic<bool> go{false};
            std::vector<double> rate(static_cast<std::size_t>(threads));
            std::vector<std::thread> pool;
            for (int t = 0; t < threads; ++t)
                pool.emplace_back([&, t] {
                    matrix<float> o;
                    Model<float>::Workspace w;
                    while (!go.load()) {
                    }
                    std::size_t c = 0;
                    const auto t0 = clock_type::now();
                    while (std::chrono::duration<double>(clock_type::now() - t0).count() < 0.5)
                        for (int i = 0; i < 64; ++i, ++c)
                            model.infer(one[(c + static_cast<std::size_t>(t) * 97) % one.size()], o, w);
                    rate[static_cast<std::size_t>(t)] =
                        static_cast<double>(c) / std::chrono::duration<double>(clock_type::now() - t0).count();
                });
            go = true;
            for (auto& th : pool)
                th.join();
            double sum = 0;
            for (double v : rate)
                sum += v;
            return sum;
        };
        const double rate1 = per_second(1), rate2 = per_second(2);

        model_b1();
        model_b32();
        const long allocs = alloc_counter::allocations_during([&] {
            for (int i = 0; i < 100; ++i) {
                model_b1();
                model_b32();
                model_sparse_b1();
            }
        });

        std::printf("batch 1:    Model %7.2f us  Network %7.2f us  ratio %.3f (paired)\n", median(m1), median(n1),
                    median(ratio1));
        std::printf("batch 32:   Model %7.2f us  Network %7.2f us  ratio %.3f (paired)\n", median(m32), median(n32),
                    median(ratio32));
        std::printf("batch 1024: Model %7.1f us  Network %7.1f us\n", m1024, n1024);
        std::printf("batch 1, an input with no zeros: %.2f us; a sparse_matrix column: %.2f us\n", dense_b1, sparse_b1);
        std::printf("kernels swapped: batch 32 through BLAS %.2f us (inputs with no zeros: %.2f us, one-sample kernel "
                    "%.2f us); batch 1024 through the one-sample kernel %.1f us\n",
                    blas_b32, blas_dense_b32, small_dense_b32, small_b1024);
        std::printf("batch 1 samples a second: 1 thread %.0f, 2 threads %.0f (%.2fx)\n", rate1, rate2, rate2 / rate1);
        std::printf("heap allocations in 300 calls after the first: %ld\n\n", allocs);
        std::printf("kernels=%s\nblas_core=%s\nsmall_batch_limit=%zu\n", detail::simd_isa(), blas.core.c_str(),
                    model.small_batch_limit());
        std::printf("infer_b1_us=%.3f\ninfer_b32_us=%.3f\ninfer_b1024_us=%.3f\ninfer_b1_nozero_us=%.3f\n"
                    "infer_sparse_b1_us=%.3f\nnetwork_b1_us=%.3f\nnetwork_b32_us=%.3f\nnetwork_b1024_us=%.3f\n"
                    "infer_b1_vs_network=%.3f\ninfer_b32_vs_network=%.3f\ninfer_threads1_per_s=%.0f\n"
                    "infer_threads2_per_s=%.0f\ninfer_threads2_vs_1=%.3f\nallocs_per_call=%.3f\n"
                    "blas_b32_us=%.3f\nblas_nozero_b32_us=%.3f\nsmall_nozero_b32_us=%.3f\nsmall_b1024_us=%.3f\n",
                    median(m1), median(m32), m1024, dense_b1, sparse_b1, median(n1), median(n32), n1024, median(ratio1),
                    median(ratio32), rate1, rate2, rate2 / rate1, static_cast<double>(allocs) / 300.0, blas_b32,
                    blas_dense_b32, small_dense_b32, small_b1024);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mininn_infer_bench: %s\n", e.what());
        return 1;
    }
}
