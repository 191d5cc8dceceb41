// mininn_bench: the seed network's training step against its GEMM floor, mini-batch epochs,
// and heap allocations per step, all measured in one process. Prints one line per figure,
// then machine-readable key=value lines.
//
//   mininn_bench --data DIR      # real MNIST (default: $MININN_MNIST_DIR)
//   mininn_bench --synthetic     # random data of the same shape
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <mininn/mininn.hpp>

#include "alloc_counter.hpp"

using namespace mininn;

namespace {

using clock_type = std::chrono::steady_clock;

template <class F>
double elapsed_ms(F&& f)
{
    const auto t0 = clock_type::now();
    f();
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double median(std::vector<double> t)
{
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

template <class F>
double median_ms(int reps, F&& f)
{
    std::vector<double> t;
    for (int r = 0; r < reps; ++r)
        t.push_back(elapsed_ms(f));
    return median(t);
}

template <class T>
auto seed_network(std::size_t d, Rng& rng)
{
    return Network{Dense<T>(d, 64, init::normal, rng), Sigmoid{}, Dense<T>(64, 10, init::normal, rng), Softmax{}};
}

struct FullBatch {
    double step_ms, floor_ms;
    double paired_ratio; // median of step/floor over adjacent pairs: robust to load drift
    long allocs;
};

// The full-batch step (forward, loss, backward, update) and, on the same weights and input,
// the five GEMMs it contains with the same transpose flags: the floor no step can beat.
template <class T>
FullBatch full_batch(const matrix<T>& X, const label_vector& y, int reps)
{
    Rng rng(138);
    auto net = seed_network<T>(X.shape()[0], rng);
    GD<T> gd(T(1));
    const CrossEntropy loss;
    auto step = [&] {
        net.compute_gradients(loss, X, y);
        gd.step(net);
    };
    step(); // sizes every buffer
    step();
    const long allocs = alloc_counter::allocations_during([&] {
        for (int i = 0; i < 3; ++i)
            step();
    });

    const std::size_t m = X.shape()[1];
    const auto& W1 = net.template layer<0>().weights();
    const auto& W2 = net.template layer<2>().weights();
    matrix<T> A1({64, m}), A2({10, m}), dA1({64, m}), dW1({64, X.shape()[0]}), dW2({10, 64});
    A1.fill(T(0.5));
    A2.fill(T(0.1));
    auto gemms = [&] {
        xt::blas::gemm(W1, X, A1);                // Z1 = W1 X
        xt::blas::gemm(W2, A1, A2);               // Z2 = W2 A1
        xt::blas::gemm(W2, A2, dA1, true, false); // dA1 = W2^T dZ2
        xt::blas::gemm(A2, A1, dW2, false, true); // dW2 = dZ2 A1^T
        xt::blas::gemm(A1, X, dW1, false, true);  // dW1 = dZ1 X^T
    };
    gemms();
    // Alternate the two so that both see the same machine: its load drifts over seconds.
    std::vector<double> steps, floors, ratios;
    for (int r = 0; r < reps; ++r) {
        steps.push_back(elapsed_ms(step));
        floors.push_back(elapsed_ms(gemms));
        ratios.push_back(steps.back() / floors.back());
    }
    const double step_ms = median(steps), floor_ms = median(floors);
    return {step_ms, floor_ms, median(ratios), allocs / 3};
}

struct MiniBatch {
    double epoch_s;
    long allocs_per_step;
};

// One shuffled epoch of mini-batch gradient descent: permute the columns once (row by row),
// then copy contiguous blocks into a batch buffer.
MiniBatch mini_batch(const matrix<float>& X, const label_vector& y, std::size_t batch, int epochs)
{
    Rng rng(138);
    auto net = seed_network<float>(X.shape()[0], rng);
    GD<float> gd(0.1f);
    const CrossEntropy loss;
    matrix<float> Xs, Xb;
    label_vector ys, yb;
    const std::size_t n = X.shape()[1];
    auto epoch = [&] {
        const auto perm = permutation(n, rng);
        permute_columns_into(X, perm, Xs);
        permute_into(y, perm, ys);
        for (std::size_t first = 0; first < n; first += batch) {
            const std::size_t count = std::min(batch, n - first);
            copy_columns_into(Xs, first, count, Xb);
            copy_labels_into(ys, first, count, yb);
            net.compute_gradients(loss, Xb, yb);
            gd.step(net);
        }
    };
    epoch();
    const double ms = median_ms(epochs, epoch);
    copy_columns_into(Xs, 0, batch, Xb);
    copy_labels_into(ys, 0, batch, yb);
    net.compute_gradients(loss, Xb, yb);
    const long allocs = alloc_counter::allocations_during([&] {
        for (int i = 0; i < 10; ++i) {
            copy_columns_into(Xs, i * batch, batch, Xb);
            copy_labels_into(ys, i * batch, batch, yb);
            net.compute_gradients(loss, Xb, yb);
            gd.step(net);
        }
    });
    return {ms / 1000.0, allocs / 10};
}

} // namespace

int main(int argc, char** argv)
{
    std::string data;
    bool synthetic = false;
    int reps = 7, epochs = 3;
    CLI::App app{"mininn benchmark: full-batch step vs its GEMM floor, mini-batch epochs, allocations"};
    app.add_option("--data", data, "MNIST directory (default: $MININN_MNIST_DIR)");
    app.add_flag("--synthetic", synthetic, "random data of MNIST's shape instead of MNIST");
    app.add_option("--steps", reps, "timed full-batch steps per figure (median)")->capture_default_str()
        ->check(CLI::Range(5, 1000));
    app.add_option("--epochs", epochs, "timed mini-batch epochs per figure (median)")->capture_default_str()
        ->check(CLI::Range(1, 100));
    CLI11_PARSE(app, argc, argv);

    try {
        if (const std::string w = blas_warning(); !w.empty())
            std::fprintf(stderr, "mininn_bench: warning: %s\n", w.c_str());
        matrix<float> Xf;
        label_vector y;
        if (synthetic) {
            Rng rng(1);
            Xf = matrix<float>({784, 60000});
            for (auto& v : Xf)
                v = static_cast<float>(rng.uniform());
            y = xt::zeros<std::size_t>({60000});
            for (auto& v : y)
                v = rng.below(10);
        } else {
            if (data.empty()) {
                const char* env = std::getenv("MININN_MNIST_DIR");
                if (env == nullptr)
                    throw std::runtime_error("no data: pass --data DIR, set MININN_MNIST_DIR, or use --synthetic");
                data = env;
            }
            auto d = load_mnist<float>(data);
            Xf = std::move(d.train_images);
            y = std::move(d.train_labels);
        }
        const BlasInfo blas = blas_info();
        std::printf("data: %s, X [%zu, %zu]\nBLAS: %s (core %s), %d threads\n\n",
                    synthetic ? "synthetic" : data.c_str(), Xf.shape()[0], Xf.shape()[1], blas.config.c_str(),
                    blas.core.c_str(), blas.threads);

        const FullBatch f = full_batch(Xf, y, reps);
        std::printf("full-batch step, float:  %8.1f ms   GEMM floor %8.1f ms   ratio %.3f (paired %.3f)   "
                    "allocations/step %ld\n",
                    f.step_ms, f.floor_ms, f.step_ms / f.floor_ms, f.paired_ratio, f.allocs);
        const matrix<double> Xd = xt::cast<double>(Xf);
        const FullBatch g = full_batch(Xd, y, reps);
        std::printf("full-batch step, double: %8.1f ms   GEMM floor %8.1f ms   ratio %.3f (paired %.3f)   "
                    "allocations/step %ld\n",
                    g.step_ms, g.floor_ms, g.step_ms / g.floor_ms, g.paired_ratio, g.allocs);
        const MiniBatch b128 = mini_batch(Xf, y, 128, epochs);
        std::printf("mini-batch epoch, float, batch 128: %.3f s   allocations/step %ld\n", b128.epoch_s,
                    b128.allocs_per_step);
        const MiniBatch b32 = mini_batch(Xf, y, 32, epochs);
        std::printf("mini-batch epoch, float, batch 32:  %.3f s   allocations/step %ld\n\n", b32.epoch_s,
                    b32.allocs_per_step);

        std::printf("fullbatch_float_step_ms=%.2f\nfullbatch_float_floor_ms=%.2f\nfullbatch_float_ratio=%.3f\n"
                    "fullbatch_float_ratio_paired=%.3f\n",
                    f.step_ms, f.floor_ms, f.step_ms / f.floor_ms, f.paired_ratio);
        std::printf("fullbatch_double_step_ms=%.2f\nfullbatch_double_floor_ms=%.2f\nfullbatch_double_ratio=%.3f\n"
                    "fullbatch_double_ratio_paired=%.3f\n",
                    g.step_ms, g.floor_ms, g.step_ms / g.floor_ms, g.paired_ratio);
        std::printf("minibatch128_epoch_s=%.3f\nminibatch32_epoch_s=%.3f\n", b128.epoch_s, b32.epoch_s);
        std::printf("allocs_per_step=%ld\n", std::max({f.allocs, g.allocs, b128.allocs_per_step, b32.allocs_per_step}));
        std::printf("blas=%s\nthreads=%d\n", blas.config.c_str(), blas.threads);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mininn_bench: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
