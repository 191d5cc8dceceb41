// The LeNet-5 peer in tiny-dnn (Debian tiny-dnn 1.0.0a3, header-only), trained as
// torch_lenet.py and mininn_lenet_bench train it: convolutional_layer 5x5 to 6 with
// padding::same (2 on each side at 28x28), ReLU, max_pooling_layer 2, convolution 5x5 to 16
// (padding::valid), ReLU, max-pool 2, fully_connected_layer 400-120-84-10 with ReLU, softmax and
// cross_entropy_multiclass, adam (alpha 1e-3) on shuffled mini-batches of 128. Prints the mean
// training seconds per epoch and the test accuracy after the last epoch, as key=value lines.
// The MNIST files are read with mininn's IDX reader, scaled as every peer sees them.
//
// Threads: without CNN_USE_OMP or CNN_USE_TBB (Debian's config.h sets neither) tiny-dnn
// parallelises each layer over the samples of a batch with std::async, one task per
// std::thread::hardware_concurrency() (2 here); there is no setting for the count, and train()'s
// n_threads argument is ignored. No BLAS: the kernels are tiny-dnn's own, with the AVX ones
// (including a dedicated 5x5 convolution) enabled below as tiny-dnn's own CMake build enables
// them by default.
//
// --batchnorm puts batch_normalization_layer after each convolution, before the ReLU. This tiny-dnn
// has no activation layer of its own, so there the ReLU is the pooling layer's activation instead:
// max-pool and ReLU commute. Its batch normalisation differs from PyTorch's in one way that matters:
// it has no learnable scale and shift (y = (x - mean) / sqrt(var + eps) only). Its running statistics
// get momentum 0.9 (PyTorch's 0.1 the other way round): the default 0.999, starting from zero, would
// still be far from the data's statistics after one epoch of 469 steps.
//
// tiny-dnn's adam advances its bias-correction powers b1^t and b2^t once per parameter vector updated
// rather than once per step (10 times per step here), so past its first few steps its updates are
// larger than PyTorch's: up to about 3 times, still about 1.6 times after one epoch. This peer keeps
// that, as it is the library's optimiser. What it does change: train() clears the optimiser's moments
// at every call, and this peer calls it once per epoch to shuffle in between, so the moments are kept
// across the calls as one PyTorch run keeps them.
//
// An epoch takes under a minute on two cores, so it always trains on all 60 000 images.
//
//   tiny_dnn_lenet DATA_DIR [epochs=1] [--batchnorm]
#if defined(__AVX__) && !defined(CNN_USE_AVX)
#define CNN_USE_SSE
#define CNN_USE_AVX
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <mininn/data/mnist.hpp>
#include <tiny_dnn/tiny_dnn.h>

namespace {

std::vector<tiny_dnn::vec_t> images(const mininn::matrix<float>& X)
{
    std::vector<tiny_dnn::vec_t> out(X.shape()[1], tiny_dnn::vec_t(X.shape()[0]));
    for (std::size_t j = 0; j < X.shape()[1]; ++j)
        for (std::size_t i = 0; i < X.shape()[0]; ++i)
            out[j][i] = X(i, j);
    return out;
}

// tiny-dnn's adam, with its moments kept when train() resets it after the first time.
struct adam_kept : tiny_dnn::adam {
    void reset() override
    {
        if (!started)
            tiny_dnn::adam::reset();
        started = true;
    }
    bool started = false;
};

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    const auto bn = std::find(args.begin(), args.end(), "--batchnorm");
    const bool batchnorm = bn != args.end();
    if (batchnorm)
        args.erase(bn);
    const int epochs = args.size() > 1 ? std::atoi(args[1].c_str()) : 1;
    if (args.empty() || args.size() > 2 || epochs < 1) {
        std::fprintf(stderr, "usage: tiny_dnn_lenet DATA_DIR [epochs=1] [--batchnorm]\n");
        return 2;
    }
    using namespace tiny_dnn;
    try {
        const auto data = mininn::load_mnist<float>(args[0]);
        const auto train = images(data.train_images), test = images(data.test_images);

        network<sequential> net;
        if (batchnorm) {
            net << convolutional_layer<activation::identity>(28, 28, 5, 1, 6, padding::same)
                << batch_normalization_layer(28 * 28, 6, 1e-5f, 0.9f)
                << max_pooling_layer<activation::relu>(28, 28, 6, 2)
                << convolutional_layer<activation::identity>(14, 14, 5, 6, 16)
                << batch_normalization_layer(10 * 10, 16, 1e-5f, 0.9f)
                << max_pooling_layer<activation::relu>(10, 10, 16, 2);
        } else {
            net << convolutional_layer<activation::relu>(28, 28, 5, 1, 6, padding::same)
                << max_pooling_layer<activation::identity>(28, 28, 6, 2)
                << convolutional_layer<activation::relu>(14, 14, 5, 6, 16)
                << max_pooling_layer<activation::identity>(10, 10, 16, 2);
        }
        net << fully_connected_layer<activation::relu>(400, 120) << fully_connected_layer<activation::relu>(120, 84)
            << fully_connected_layer<activation::softmax>(84, 10);
        adam_kept opt;
        opt.alpha = 1e-3f;

        std::mt19937_64 rng(138);
        std::vector<std::size_t> perm(train.size());
        std::iota(perm.begin(), perm.end(), std::size_t(0));
        std::vector<vec_t> xs(train.size());
        std::vector<label_t> ys(train.size());
        double seconds = 0;
        for (int e = 0; e < epochs; ++e) {
            std::shuffle(perm.begin(), perm.end(), rng);
            for (std::size_t j = 0; j < perm.size(); ++j) {
                xs[j] = train[perm[j]];
                ys[j] = static_cast<label_t>(data.train_labels(perm[j]));
            }
            const auto t0 = std::chrono::steady_clock::now();
            net.train<cross_entropy_multiclass>(opt, xs, ys, 128, 1);
            seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        seconds /= epochs;

        std::size_t right = 0; // train() leaves the network in its test phase: batch norm uses running statistics
        for (std::size_t j = 0; j < test.size(); ++j)
            right += net.predict_label(test[j]) == data.test_labels(j);
        const char* tag = batchnorm ? "tiny_dnn_lenet_bn" : "tiny_dnn_lenet";
        std::printf("%s_epoch_s=%.3f\n%s_test_accuracy=%.4f\n", tag, seconds, tag,
                    static_cast<double>(right) / static_cast<double>(test.size()));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tiny_dnn_lenet: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
