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

#include "common.hpp"

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

using bench::median;

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
    double step_ms, floor_ms, seed_floor_ms;
    // Medians of step/floor over adjacent runs: robust to the machine's load drifting.
    double paired_ratio, paired_seed_ratio;
    long allocs;
};

// The full-batch step (forward, loss, backward, update) and, on the same weights and input,
// with the same transpose flags:
//  - the floor: the GEMMs the step calls, Z1 = W1 X and dW1 = dZ1 X^T (the fused head
//    computes the three thin products with W2 itself);
//  - the seed's floor: all five products of the seed's backpropagation, each through BLAS.
// The step's input is X itself or the same data as a sparse_matrix; the floors use X.
template <class T, class Input>
FullBatch full_batch(const matrix<T>& X, const Input& input, const label_vector& y, int reps, std::size_t threads)
{
    Rng rng(138);
    auto net = seed_network<T>(X.shape()[0], rng);
    net.set_threads(threads);
    GD<T> gd(T(1));
    const CrossEntropy loss;
    auto step = [&] {
        net.compute_gradients(loss, input, y);
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
        xt::blas::gemm(W1, X, A1);               // Z1 = W1 X
        xt::blas::gemm(A1, X, dW1, false, true); // dW1 = dZ1 X^T
    };
    auto seed_gemms = [&] {
        xt::blas::gemm(W1, X, A1);                // Z1 = W1 X
        xt::blas::gemm(W2, A1, A2);               // Z2 = W2 A1
        xt::blas::gemm(W2, A2, dA1, true, false); // dA1 = W2^T dZ2
        xt::blas::gemm(A2, A1, dW2, false, true); // dW2 = dZ2 A1^T
        xt::blas::gemm(A1, X, dW1, false, true);  // dW1 = dZ1 X^T
    };
    seed_gemms();
    // Alternate them so that all see the same machine: its load drifts over seconds.
    std::vector<double> steps, floors, seed_floors, ratios, seed_ratios;
    for (int r = 0; r < reps; ++r) {
        steps.push_back(elapsed_ms(step));
        floors.push_back(elapsed_ms(gemms));
        seed_floors.push_back(elapsed_ms(seed_gemms));
        ratios.push_back(steps.back() / floors.back());
        seed_ratios.push_back(steps.back() / seed_floors.back());
    }
    return {median(steps), median(floors), median(seed_floors), median(ratios), median(seed_ratios), allocs / 3};
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

struct SparseMiniBatch {
    double sparse_s, dense_s, paired_ratio;
    long allocs_per_step;
};

// Shuffled mini-batch epochs with the input sparse (each batch a list of column indices, as
// fit() makes them) and dense (mini_batch()'s copies), alternating, same seed and batches.
SparseMiniBatch sparse_mini_batch(const matrix<float>& X, const sparse_matrix<float>& Xsp, const label_vector& y,
                                  std::size_t batch, int epochs)
{
    Rng rng(138);
    auto net = seed_network<float>(X.shape()[0], rng);
    GD<float> gd(0.1f);
    const CrossEntropy loss;
    label_vector ys, yb;
    const std::size_t n = X.shape()[1];
    std::vector<std::size_t> perm;
    auto sparse_epoch = [&] {
        perm = permutation(n, rng);
        permute_into(y, perm, ys);
        for (std::size_t first = 0; first < n; first += batch) {
            const std::size_t count = std::min(batch, n - first);
            copy_labels_into(ys, first, count, yb);
            net.compute_gradients(loss, Xsp.select_columns(perm.data() + first, count), yb);
            gd.step(net);
        }
    };
    sparse_epoch();
    std::vector<double> sp, de, ratios;
    for (int e = 0; e < epochs; ++e) {
        sp.push_back(elapsed_ms(sparse_epoch) / 1000.0);
        de.push_back(mini_batch(X, y, batch, 1).epoch_s);
        ratios.push_back(sp.back() / de.back());
    }
    const long allocs = alloc_counter::allocations_during([&] {
        for (std::size_t i = 0; i < 10; ++i) {
            copy_labels_into(ys, i * batch, batch, yb);
            net.compute_gradients(loss, Xsp.select_columns(perm.data() + i * batch, batch), yb);
            gd.step(net);
        }
    });
    return {median(sp), median(de), median(ratios), allocs / 10};
}

} // namespace

int main(int argc, char** argv)
{
    std::string data;
    bool synthetic = false;
    int reps = 7, epochs = 3;
    std::size_t threads = 2;
    CLI::App app{"mininn benchmark: full-batch step vs its GEMM floor, mini-batch epochs, allocations"};
    app.add_option("--data", data, "MNIST directory (default: $MININN_MNIST_DIR)");
    app.add_flag("--synthetic", synthetic, "random data of MNIST's shape instead of MNIST");
    app.add_option("--steps", reps, "timed full-batch steps per figure (median)")
        ->capture_default_str()
        ->check(CLI::Range(5, 1000));
    app.add_option("--epochs", epochs, "timed mini-batch epochs per figure (median)")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--threads", threads, "mininn's own threads (Network::set_threads): 1 or 2")
        ->capture_default_str()
        ->check(CLI::Range(1, 2));
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
            data = bench::mnist_dir(data);
            auto d = load_mnist<float>(data);
            Xf = std::move(d.train_images);
            y = std::move(d.train_labels);
        }
        const BlasInfo blas = blas_info();
        std::printf("data: %s, X [%zu, %zu]\nBLAS: %s (core %s), %d threads\n\n",
                    synthetic ? "synthetic" : data.c_str(), Xf.shape()[0], Xf.shape()[1], blas.config.c_str(),
                    blas.core.c_str(), blas.threads);

        auto report = [](const char* type, const FullBatch& r) {
            std::printf("full-batch step, %-6s %7.1f ms   its GEMMs %7.1f ms: ratio %.3f (paired %.3f)   "
                        "seed's 5 GEMMs %7.1f ms: ratio %.3f (paired %.3f)   allocations/step %ld\n",
                        type, r.step_ms, r.floor_ms, r.step_ms / r.floor_ms, r.paired_ratio, r.seed_floor_ms,
                        r.step_ms / r.seed_floor_ms, r.paired_seed_ratio, r.allocs);
        };
        const FullBatch f = full_batch(Xf, Xf, y, reps, threads);
        report("float:", f);
        const matrix<double> Xd = xt::cast<double>(Xf);
        const FullBatch g = full_batch(Xd, Xd, y, reps, threads);
        report("double:", g);
        std::printf("mininn kernels: %s (%zu float lanes)\n", detail::simd_isa(), detail::simd_lanes<float>());
        sparse_matrix<float> Sf;
        const double build_ms = elapsed_ms([&] { Sf = sparse_matrix<float>(Xf); });
        std::printf("sparse X: %zu non-zeros (density %.3f), built in %.1f ms\n", Sf.nonzeros(), Sf.density(),
                    build_ms);
        const FullBatch sf = full_batch(Xf, Sf, y, reps, threads);
        const sparse_matrix<double> Sd(Xd);
        const FullBatch sd = full_batch(Xd, Sd, y, reps, threads);
        auto sreport = [](const char* type, const FullBatch& r) {
            std::printf("sparse full-batch step, %-6s %7.1f ms   dense GEMM floor %7.1f ms: ratio %.3f (paired %.3f)"
                        "   allocations/step %ld\n",
                        type, r.step_ms, r.floor_ms, r.step_ms / r.floor_ms, r.paired_ratio, r.allocs);
        };
        sreport("float:", sf);
        sreport("double:", sd);
        const SparseMiniBatch s128 = sparse_mini_batch(Xf, Sf, y, 128, epochs);
        std::printf("sparse mini-batch epoch, float, batch 128: %.3f s   dense %.3f s: ratio %.3f (paired %.3f)   "
                    "allocations/step %ld\n",
                    s128.sparse_s, s128.dense_s, s128.sparse_s / s128.dense_s, s128.paired_ratio,
                    s128.allocs_per_step);
        const MiniBatch b128 = mini_batch(Xf, y, 128, epochs);
        std::printf("mini-batch epoch, float, batch 128: %.3f s   allocations/step %ld\n", b128.epoch_s,
                    b128.allocs_per_step);
        const MiniBatch b32 = mini_batch(Xf, y, 32, epochs);
        std::printf("mini-batch epoch, float, batch 32:  %.3f s   allocations/step %ld\n\n", b32.epoch_s,
                    b32.allocs_per_step);

        auto keys = [](const char* type, const FullBatch& r) {
            std::printf("fullbatch_%s_step_ms=%.2f\nfullbatch_%s_floor_ms=%.2f\nfullbatch_%s_ratio=%.3f\n"
                        "fullbatch_%s_ratio_paired=%.3f\nfullbatch_%s_seed_floor_ms=%.2f\n"
                        "fullbatch_%s_seed_ratio=%.3f\nfullbatch_%s_seed_ratio_paired=%.3f\n",
                        type, r.step_ms, type, r.floor_ms, type, r.step_ms / r.floor_ms, type, r.paired_ratio, type,
                        r.seed_floor_ms, type, r.step_ms / r.seed_floor_ms, type, r.paired_seed_ratio);
        };
        keys("float", f);
        keys("double", g);
        std::printf("minibatch128_epoch_s=%.3f\nminibatch32_epoch_s=%.3f\n", b128.epoch_s, b32.epoch_s);
        std::printf("sparse_fullbatch_float_step_ms=%.2f\nsparse_fullbatch_float_ratio=%.3f\n"
                    "sparse_fullbatch_double_step_ms=%.2f\nsparse_fullbatch_double_ratio=%.3f\n"
                    "sparse_minibatch128_epoch_s=%.3f\nsparse_minibatch128_ratio=%.3f\n",
                    sf.step_ms, sf.paired_ratio, sd.step_ms, sd.paired_ratio, s128.sparse_s, s128.paired_ratio);
        std::printf("allocs_per_step=%ld\n", std::max({f.allocs, g.allocs, b128.allocs_per_step, b32.allocs_per_step,
                                                       sf.allocs, sd.allocs, s128.allocs_per_step}));
        std::printf("kernels=%s\nblas_core=%s\n", detail::simd_isa(), blas.core.c_str());
        std::printf("blas=%s\nthreads=%d\nmininn_threads=%zu\n", blas.config.c_str(), blas.threads, threads);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mininn_bench: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
