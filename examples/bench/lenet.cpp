// LeNet-5 on MNIST (conv 5×5 to 6 with padding 2, max-pool 2, conv 5×5 to 16, max-pool 2, dense
// 400-120-84-10, ReLU), Adam, batch 128: seconds per epoch and test accuracy, with BatchNorm
// after each convolution when asked. Prints key=value lines (examples/bench/README.md).
//
//   mininn_lenet_bench [--data DIR] [--epochs 1] [--threads 2]
#include <mininn/mininn.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "common.hpp"

using namespace mininn;

int main(int argc, char** argv)
{
    CLI::App app{"LeNet-5 on MNIST: seconds per epoch and test accuracy"};
    std::string dir;
    std::size_t epochs = 1, batch = 128;
    app.add_option("--data", dir, "the MNIST directory (default: $MININN_MNIST_DIR)");
    app.add_option("--epochs", epochs, "epochs to train")->check(CLI::PositiveNumber);
    app.add_option("--batch-size", batch, "samples per step")->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    try {
        const auto d = load_mnist<float>(bench::mnist_dir(dir));
        Rng rng(138);
        Network net{Conv2D<float>(Shape(1, 28, 28), 6, 5, init::he, rng, Conv2DOptions{}.with_padding(2)),
                    ReLU{},
                    MaxPool2D(Shape(6, 28, 28), 2),
                    Conv2D<float>(Shape(6, 14, 14), 16, 5, init::he, rng),
                    ReLU{},
                    MaxPool2D(Shape(16, 10, 10), 2),
                    Flatten{},
                    Dense<float>(400, 120, init::he, rng),
                    ReLU{},
                    Dense<float>(120, 84, init::he, rng),
                    ReLU{},
                    Dense<float>(84, 10, init::xavier, rng),
                    Softmax{}};
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
        std::printf("blas_core=%s\nlenet_epochs=%zu\nlenet_epoch_s=%.3f\nlenet_loss=%.5f\nlenet_test_accuracy=%.4f\n",
                    blas_info().core.c_str(), epochs, s / double(epochs), h.epochs.back().loss, test.accuracy);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mininn_lenet_bench: error: %s\n", e.what());
        return 1;
    }
}
