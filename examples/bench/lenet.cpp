// LeNet-5 on MNIST (conv 5×5 to 6 with padding 2, max-pool 2, conv 5×5 to 16, max-pool 2, dense
// 400-120-84-10, ReLU), Adam, batch 128: seconds per epoch and test accuracy, with BatchNorm
// after each convolution with --batchnorm (examples/common/lenet.hpp). Prints key=value lines
// (examples/bench/README.md), prefixed lenet_bn_ with --batchnorm. With --infer-dir, the trained
// network is then frozen into a Model (its BatchNorms folded into the convolutions) and timed on
// one thread at batch 1 (a different test image each call) and 32 (test images 1000-1031), and
// DIR gets what examples/bench/lenet.sh gives onnxruntime to run the same: DIR/lenet.npz, the
// first 3000 test images (DIR/lenet_images.f32, [3000, 784] float32) and the Model's outputs
// for the batch of 32 (DIR/lenet_b32.f32, [32, 10]).
//
//   mininn_lenet_bench [--data DIR] [--epochs 1] [--batch-size 128] [--batchnorm] [--infer-dir DIR]
#include <mininn/mininn.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "../common/lenet.hpp"
#include "common.hpp"

using namespace mininn;

namespace {
// Microseconds a call of f takes: the median of 15 rounds of calls, each at least 20 ms.
template <class F>
double us_per_call(F&& f)
{
    using clock = std::chrono::steady_clock;
    std::size_t calls = 1;
    for (auto t0 = clock::now(); (f(), clock::now() - t0) < std::chrono::milliseconds(20); ++calls) {
    }
    std::vector<double> t;
    for (int r = 0; r < 15; ++r) {
        const auto t0 = clock::now();
        for (std::size_t c = 0; c < calls; ++c)
            f();
        t.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count() / double(calls));
    }
    std::sort(t.begin(), t.end());
    return t[7];
}

template <class T>
void write_rows(const std::string& path, const matrix<T>& M, std::size_t j0, std::size_t n) // [n, rows] row-major
{
    std::vector<float> v;
    for (std::size_t j = j0; j < j0 + n; ++j)
        for (std::size_t i = 0; i < M.shape()[0]; ++i)
            v.push_back(static_cast<float>(M(i, j)));
    write_file_atomic(path, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
}

template <class Net>
void time_inference(Net& net, const MnistData<float>& d, const std::string& dir, const char* tag)
{
    const Model<float> model = freeze(net);
    const matrix<float>& X = d.test_images;
    std::vector<matrix<float>> one;
    for (std::size_t j = 0; j < 256; ++j)
        one.push_back(xt::view(X, xt::all(), xt::range(j * 37 % 3000, j * 37 % 3000 + 1)));
    const matrix<float> b32 = xt::view(X, xt::all(), xt::range(1000, 1032));
    Model<float>::Workspace ws;
    matrix<float> out;
    std::size_t k = 0;
    const double b1 = us_per_call([&] { model.infer(one[k++ % one.size()], out, ws); });
    const double t32 = us_per_call([&] { model.infer(b32, out, ws); });
    std::printf("%s_infer_b1_us=%.3f\n%s_infer_b32_us=%.3f\n", tag, b1, tag, t32);
    save(net, dir + "/lenet.npz");
    write_rows(dir + "/lenet_images.f32", X, 0, 3000);
    write_rows(dir + "/lenet_b32.f32", model.infer(b32), 0, 32);
}

template <class Net>
int run(Net net, const MnistData<float>& d, std::size_t epochs, std::size_t batch, const char* tag,
        const std::string& infer_dir)
{
    Adam<float> opt(1e-3f);
    FitOptions o;
    o.epochs = epochs;
    o.batch_size = batch;
    o.seed = 138;
    o.verbose = Verbosity::silent;
    const auto t0 = std::chrono::steady_clock::now();
    const History h = fit(net, CrossEntropy{}, opt, d.train_images, d.train_labels, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Scores test = evaluate(net, CrossEntropy{}, d.test_images, d.test_labels, 1000);
    std::printf("blas_core=%s\n%s_epochs=%zu\n%s_epoch_s=%.3f\n%s_loss=%.5f\n%s_test_accuracy=%.4f\n",
                blas_info().core.c_str(), tag, epochs, tag, s / double(epochs), tag, h.epochs.back().loss, tag,
                test.accuracy);
    if (!infer_dir.empty())
        time_inference(net, d, infer_dir, tag);
    return 0;
}
} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"LeNet-5 on MNIST: seconds per epoch and test accuracy"};
    std::string dir;
    std::size_t epochs = 1, batch = 128;
    app.add_option("--data", dir, "the MNIST directory (default: $MININN_MNIST_DIR)");
    app.add_option("--epochs", epochs, "epochs to train")->check(CLI::PositiveNumber);
    app.add_option("--batch-size", batch, "samples per step")->check(CLI::PositiveNumber);
    bool batchnorm = false;
    app.add_flag("--batchnorm", batchnorm, "BatchNorm after each convolution");
    std::string infer_dir;
    app.add_option("--infer-dir", infer_dir, "then time the frozen model and write it and its outputs here");
    CLI11_PARSE(app, argc, argv);
    try {
        const auto d = load_mnist<float>(bench::mnist_dir(dir));
        Rng rng(138);
        return batchnorm ? run(examples::lenet<float, true>(rng), d, epochs, batch, "lenet_bn", infer_dir)
                         : run(examples::lenet<float, false>(rng), d, epochs, batch, "lenet", infer_dir);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mininn_lenet_bench: error: %s\n", e.what());
        return 1;
    }
}
