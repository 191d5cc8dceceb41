// LeNet-5 on MNIST (conv 5×5 to 6 with padding 2, max-pool 2, conv 5×5 to 16, max-pool 2, dense
// 400-120-84-10, ReLU), Adam, batch 128: seconds per epoch and test accuracy, with BatchNorm
// after each convolution with --batchnorm (examples/common/lenet.hpp). Prints key=value lines
// (examples/bench/README.md), prefixed lenet_bn_ with --batchnorm.
//
//   mininn_lenet_bench [--data DIR] [--epochs 1] [--batch-size 128] [--batchnorm]
#include <mininn/mininn.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "../common/lenet.hpp"
#include "common.hpp"

using namespace mininn;

namespace {
template <class Net>
int run(Net net, const MnistData<float>& d, std::size_t epochs, std::size_t batch, const char* tag)
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
    CLI11_PARSE(app, argc, argv);
    try {
        const auto d = load_mnist<float>(bench::mnist_dir(dir));
        Rng rng(138);
        return batchnorm ? run(examples::lenet<float, true>(rng), d, epochs, batch, "lenet_bn")
                         : run(examples::lenet<float, false>(rng), d, epochs, batch, "lenet");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mininn_lenet_bench: error: %s\n", e.what());
        return 1;
    }
}
