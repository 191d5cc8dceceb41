// The LeNet-5 peer in dlib 19.24 (Debian libdlib-dev), trained as torch_lenet.py and
// mininn_lenet_bench train it: conv 5x5 to 6 with padding 2, ReLU, max-pool 2, conv 5x5 to 16
// (no padding), ReLU, max-pool 2, fc 400-120-84-10 with ReLU, loss_multiclass_log (softmax
// cross-entropy), Adam (learning rate 1e-3, betas 0.9 and 0.999, no weight decay) on shuffled
// mini-batches of 128; with --batchnorm, bn_con after each convolution, before its ReLU. Prints
// the mean training seconds per epoch and the test accuracy after the last epoch, as key=value
// lines (dlib_lenet_... or dlib_lenet_bn_...), and which OpenBLAS kernel set dlib ran on.
// Debian's dlib is built without CUDA, so everything runs on its CPU path. That path lowers each
// convolution to im2col and one matrix product per sample, which dlib hands to cblas_sgemm:
// Debian links it to libblas.so.3, OpenBLAS here (OPENBLAS_NUM_THREADS threads, all cores by
// default); pooling, ReLU and batch norm are dlib's own single-threaded loops. The MNIST files
// are read with mininn's IDX reader, scaled as every peer sees them.
//
//   dlib_lenet DATA_DIR [epochs=1] [--batchnorm]
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <dlib/dnn.h>
#include <mininn/data/mnist.hpp>

namespace {

// con's own default pads by half the kernel whenever the stride is 1, which is right for the first
// convolution and wrong for the second, so both spell their padding out.
template <typename SUBNET>
using conv6 = dlib::add_layer<dlib::con_<6, 5, 5, 1, 1, 2, 2>, SUBNET>;
template <typename SUBNET>
using conv16 = dlib::add_layer<dlib::con_<16, 5, 5, 1, 1, 0, 0>, SUBNET>;
template <typename SUBNET>
using no_norm = SUBNET;

template <template <typename> class NORM>
using lenet = dlib::loss_multiclass_log<dlib::fc<
    10, dlib::relu<dlib::fc<
            84, dlib::relu<dlib::fc<
                    120,
                    dlib::max_pool<2, 2, 2, 2,
                                   dlib::relu<NORM<conv16<dlib::max_pool<
                                       2, 2, 2, 2, dlib::relu<NORM<conv6<dlib::input<dlib::matrix<float>>>>>>>>>>>>>>>>;

std::vector<dlib::matrix<float>> images(const mininn::matrix<float>& X)
{
    std::vector<dlib::matrix<float>> out(X.shape()[1], dlib::matrix<float>(28, 28));
    for (std::size_t j = 0; j < X.shape()[1]; ++j)
        for (long r = 0; r < 28; ++r)
            for (long c = 0; c < 28; ++c)
                out[j](r, c) = X(static_cast<std::size_t>(r * 28 + c), j);
    return out;
}

// Looked up at run time because libblas.so.3 is whichever BLAS Debian's alternatives select.
void print_blas()
{
    using name_fn = char* (*)();
    using count_fn = int (*)();
    const auto name = reinterpret_cast<name_fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const auto count = reinterpret_cast<count_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (name && count)
        std::printf("dlib_blas_core=%s\ndlib_blas_threads=%d\n", name(), count());
    else
        std::printf("dlib_blas_core=not OpenBLAS\n");
}

template <template <typename> class NORM, template <typename> class TEST_NORM>
int run(const mininn::MnistData<float>& data, int epochs, const char* tag)
{
    const auto train = images(data.train_images), test = images(data.test_images);
    const std::vector<unsigned long> labels(data.train_labels.begin(), data.train_labels.end());
    constexpr std::size_t batch = 128;
    constexpr double lr = 1e-3;

    lenet<NORM> net;
    dlib::dnn_trainer<lenet<NORM>, dlib::adam> trainer(net, dlib::adam(0, 0.9, 0.999));
    trainer.set_learning_rate(lr);
    trainer.set_min_learning_rate(lr / 2); // with the threshold below, the rate never shrinks
    trainer.set_iterations_without_progress_threshold(1000000000);
    trainer.set_mini_batch_size(batch);
    trainer.be_quiet();

    std::mt19937_64 rng(138);
    std::vector<std::size_t> perm(train.size());
    std::iota(perm.begin(), perm.end(), std::size_t(0));
    std::vector<dlib::matrix<float>> xb;
    std::vector<unsigned long> yb;
    const auto t0 = std::chrono::steady_clock::now();
    for (int e = 0; e < epochs; ++e) {
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
    }
    trainer.get_net(); // train_one_step only queues the step for the trainer's thread: wait for the last
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / epochs;

    // bn_ normalises any batch of more than one sample with the batch's own statistics, so the test
    // runs on a copy where each bn_con is the affine layer of its running statistics.
    net.clean();
    lenet<TEST_NORM> tested = net;
    const std::vector<unsigned long> pred = tested(test);
    std::size_t right = 0;
    for (std::size_t j = 0; j < pred.size(); ++j)
        right += pred[j] == data.test_labels(j);
    print_blas();
    std::printf("%s_epoch_s=%.3f\n%s_test_accuracy=%.4f\n", tag, seconds, tag,
                static_cast<double>(right) / static_cast<double>(pred.size()));
    return 0;
}

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
        std::fprintf(stderr, "usage: dlib_lenet DATA_DIR [epochs=1] [--batchnorm]\n");
        return 2;
    }
    try {
        const auto data = mininn::load_mnist<float>(args[0]);
        return batchnorm ? run<dlib::bn_con, dlib::affine>(data, epochs, "dlib_lenet_bn")
                         : run<no_norm, no_norm>(data, epochs, "dlib_lenet");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dlib_lenet: error: %s\n", e.what());
        return 1;
    }
}
