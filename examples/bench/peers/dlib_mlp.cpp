// The peer in dlib 19.24 (Debian libdlib-dev): 784-64-10 with fc, sig and
// loss_multiclass_log, trained with plain SGD (no momentum, no weight decay) on shuffled
// mini-batches; prints the median epoch time and the test accuracy, as key=value lines.
// dlib has no sparse input for its fc layer, so it is fed dense images. The MNIST files are
// read with mininn's IDX reader (they are gzipped; dlib's loader takes raw files only).
//
//   dlib_mlp DATA_DIR [epochs=5] [batch=128] [lr=0.1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <dlib/dnn.h>
#include <mininn/data/mnist.hpp>

namespace {

std::vector<dlib::matrix<float>> images(const mininn::matrix<float>& X)
{
    std::vector<dlib::matrix<float>> out(X.shape()[1], dlib::matrix<float>(784, 1));
    for (std::size_t j = 0; j < X.shape()[1]; ++j)
        for (std::size_t i = 0; i < 784; ++i)
            out[j](static_cast<long>(i), 0) = X(i, j);
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: dlib_mlp DATA_DIR [epochs] [batch] [lr]\n");
        return 2;
    }
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::size_t batch = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 128;
    const double lr = argc > 4 ? std::atof(argv[4]) : 0.1;
    const auto data = mininn::load_mnist<float>(argv[1]);
    const auto train = images(data.train_images), test = images(data.test_images);
    std::vector<unsigned long> labels(data.train_labels.begin(), data.train_labels.end());

    using net_type = dlib::loss_multiclass_log<dlib::fc<10, dlib::sig<dlib::fc<64, dlib::input<dlib::matrix<float>>>>>>;
    net_type net;
    dlib::dnn_trainer<net_type> trainer(net, dlib::sgd(0, 0)); // weight decay 0, momentum 0
    trainer.set_learning_rate(lr);
    trainer.set_min_learning_rate(lr / 2); // the rate never shrinks: no plateau detection
    trainer.set_iterations_without_progress_threshold(1000000000);
    trainer.set_mini_batch_size(batch);
    trainer.be_quiet();

    std::mt19937_64 rng(138);
    std::vector<std::size_t> perm(train.size());
    std::iota(perm.begin(), perm.end(), std::size_t(0));
    std::vector<dlib::matrix<float>> xb;
    std::vector<unsigned long> yb;
    std::vector<double> times;
    for (int e = 0; e < epochs; ++e) {
        const auto t0 = std::chrono::steady_clock::now();
        std::shuffle(perm.begin(), perm.end(), rng);
        for (std::size_t first = 0; first < perm.size(); first += batch) {
            xb.clear();
            yb.clear();
            for (std::size_t j = first; j < std::min(perm.size(), first + batch); ++j) {
                xb.push_back(train[perm[j]]);
                yb.push_back(labels[perm[j]]);
            }
            trainer.train_one_step(xb, yb);
        }
        trainer.get_net(); // waits for the trainer's thread to finish the epoch
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    net.clean();
    const std::vector<unsigned long> pred = net(test);
    std::size_t right = 0;
    for (std::size_t j = 0; j < pred.size(); ++j)
        right += pred[j] == data.test_labels(j);
    std::sort(times.begin(), times.end());
    const double acc = 100.0 * static_cast<double>(right) / static_cast<double>(pred.size());
    std::printf("dlib dense input: epoch %.3f s (median of %d), test accuracy %.2f %%\n", times[times.size() / 2],
                epochs, acc);
    std::printf("dlib_epoch%zu_s=%.3f\ndlib_test_accuracy=%.2f\n", batch, times[times.size() / 2], acc);
    return 0;
}
