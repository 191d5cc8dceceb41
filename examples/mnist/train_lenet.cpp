// The mnist example's --model lenet: LeNet-5 with BatchNorm after each convolution
// (examples/common/lenet.hpp), trained in float by mini-batch epochs; the same report and
// output files as the multilayer perceptron of train.hpp.
#include "../common/lenet.hpp"
#include "train.hpp"

namespace example {

int train_lenet(const Options& opt, mininn::MnistData<float>& data)
{
    using namespace mininn;
    Rng rng(opt.seed); // the shuffle, then the weights, as train() draws them
    const auto order = permutation(data.train_labels.size(), rng);
    permute_columns_in_place(data.train_images, order);
    permute_in_place(data.train_labels, order);
    auto net = examples::lenet<float, true>(rng);
    using Net = decltype(net);
    AnyOptimizer<Net> optimizer = make_optimizer<Net, float>(opt);
    if (!opt.load.empty()) {
        load(net, opt.load);
        if (!opt.quiet)
            std::printf("Loaded weights from %s\n", opt.load.c_str());
    }
    if (!opt.quiet) {
        std::printf("Training LeNet-5 with BatchNorm (%zu parameters; float, %s lr %g, seed %llu) for %d epochs of "
                    "batch %zu%s\n",
                    net.parameter_count(), opt.optimizer.c_str(), effective_lr(opt),
                    static_cast<unsigned long long>(opt.seed), opt.epochs, opt.batch_size,
                    opt.schedule == "cosine" ? detail::cat(", cosine schedule (warm-up ", opt.warmup, ")").c_str()
                                             : "");
        std::printf("BLAS: %s, %d threads\n", blas_info().config.c_str(), blas_info().threads);
    }
    const CrossEntropy loss;
    std::ostringstream history;
    history << std::setprecision(9);
    const auto t0 = clock_type::now();
    if (const int rc = fit_epochs(opt, net, loss, optimizer, data.train_images, data.train_labels, history, t0))
        return rc;
    const double train_s = seconds_since(t0);
    const Scores final_scores = evaluate(net, loss, data.train_images, data.train_labels, 10000);
    std::printf("Final cost: %.5f\n", final_scores.loss);
    std::printf("Training time: %.2f s (%.3f s per epoch), training accuracy %.4f\n", train_s,
                train_s / std::max(1, opt.epochs), final_scores.accuracy);
    print_peak_memory(static_cast<double>((data.train_images.size() + data.test_images.size()) * sizeof(float)));
    const label_vector pred = test_report(opt, net, data);
    if (stop_signal != 0)
        return interrupted("epochs", opt.epochs, opt.checkpoint);
    write_outputs(opt, history.str(), net, data.test_labels, pred);
    return 0;
}

} // namespace example
