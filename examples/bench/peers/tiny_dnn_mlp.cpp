// The peer in tiny-dnn (Debian tiny-dnn, header-only): 784-64-10 with fully_connected_layer
// (sigmoid, then softmax) and cross_entropy_multiclass, trained with plain gradient
// descent on mini-batches (tiny-dnn's train() visits the samples in the order given, so each
// epoch is shuffled here first); prints the median epoch time and the test accuracy, as
// key=value lines. tiny-dnn has no sparse input either. The MNIST files are read with mininn's
// IDX reader.
//
//   tiny_dnn_mlp DATA_DIR [epochs=5] [batch=128] [lr=0.1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
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

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: tiny_dnn_mlp DATA_DIR [epochs] [batch] [lr]\n");
        return 2;
    }
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::size_t batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 128;
    const float lr = argc > 4 ? static_cast<float>(std::atof(argv[4])) : 0.1f;
    const auto data = mininn::load_mnist<float>(argv[1]);
    const auto train = images(data.train_images), test = images(data.test_images);

    using namespace tiny_dnn;
    network<sequential> net;
    // Debian's tiny-dnn is the release where a layer takes its activation as a template argument.
    net << fully_connected_layer<activation::sigmoid>(784, 64) << fully_connected_layer<activation::softmax>(64, 10);
    gradient_descent opt;
    opt.alpha = lr;

    std::mt19937_64 rng(138);
    std::vector<std::size_t> perm(train.size());
    std::iota(perm.begin(), perm.end(), std::size_t(0));
    std::vector<vec_t> xs(train.size());
    std::vector<label_t> ys(train.size());
    std::vector<double> times;
    for (int e = 0; e < epochs; ++e) {
        const auto t0 = std::chrono::steady_clock::now();
        std::shuffle(perm.begin(), perm.end(), rng);
        for (std::size_t j = 0; j < perm.size(); ++j) {
            xs[j] = train[perm[j]];
            ys[j] = static_cast<label_t>(data.train_labels(perm[j]));
        }
        net.train<cross_entropy_multiclass>(opt, xs, ys, batch, 1);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::size_t right = 0;
    for (std::size_t j = 0; j < test.size(); ++j)
        right += net.predict_label(test[j]) == data.test_labels(j);
    std::sort(times.begin(), times.end());
    const double acc = 100.0 * static_cast<double>(right) / static_cast<double>(test.size());
    std::printf("tiny-dnn dense input: epoch %.3f s (median of %d), test accuracy %.2f %%\n", times[times.size() / 2],
                epochs, acc);
    std::printf("tiny_dnn_epoch%zu_s=%.3f\ntiny_dnn_test_accuracy=%.2f\n", batch, times[times.size() / 2], acc);
    return 0;
}
