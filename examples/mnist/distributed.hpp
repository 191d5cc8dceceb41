// mnist --distributed: the seed experiment (or --epochs of mini-batches) across the ranks of
// an MPI job. Each rank reads only its shard of the training set; rank 0 alone reads the test
// set, prints, and writes the output files. Built when MPI is found (mininn::distributed).
//
//   mpirun -np 4 --bind-to none build/examples/mnist --distributed
//
// The run, a template over the scalar type and the hidden activation, is compiled in
// distributed_float.cpp and distributed_double.cpp, so that no unit compiles all six.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include <mininn/distributed/all.hpp>

#include "train.hpp"

namespace example {

template <class T, template <class> class Act>
int train_distributed(const Options& opt)
{
    using namespace mininn;
    namespace dist = mininn::distributed;
    const dist::Communicator comm;
    const bool root = comm.root();
    const auto t_load = clock_type::now();
    std::size_t n = 0;
    dist::Shard s;
    MnistData<T> data;
    comm.agreed([&] { // rank 0 alone reads the test set: a failure there must stop every rank
        n = idx_sample_count(find_mnist_file(opt.data, "train-images-idx3-ubyte"));
        s = dist::shard(comm, n);
        data = load_mnist<T>(opt.data, s.range(), root);
    });
    const matrix<T>& X = data.train_images;
    const label_vector& y = data.train_labels;
    const double load_s = seconds_since(t_load);

    // The single-process run shuffles the training set first, from the stream that then draws
    // the weights: draw the same permutation, so the weights are the same. The shuffle itself
    // is left out: a full-batch gradient is a sum over all samples in any order.
    Rng rng(opt.seed);
    static_cast<void>(permutation(n, rng));
    const std::size_t d = X.shape()[0];
    auto make = [&](auto init) {
        return Network{Dense<T>(d, opt.hidden, init, rng), Act<T>{}, Dense<T>(opt.hidden, 10, init, rng), Softmax{}};
    };
    auto net = opt.init == "xavier" ? make(init::xavier) : opt.init == "he" ? make(init::he) : make(init::normal);
    using Net = decltype(net);
    AnyOptimizer<Net> optimizer = make_optimizer<Net, T>(opt);
    dist::DataParallel dp(comm, net);
    if (!opt.load.empty()) {
        dist::load(dp, net, opt.load);
        if (root && !opt.quiet)
            std::printf("Loaded weights from %s\n", opt.load.c_str());
    }
    const CrossEntropy loss;
    const bool minibatch = opt.epochs > 0;
    if (root && !opt.quiet) {
        std::printf("Loaded MNIST from %s: %zu training images over %d ranks (rank 0 holds [%zu, %zu)), %zu test "
                    "images (%.1f s)\n",
                    opt.data.c_str(), n, comm.size(), s.first, s.first + s.count, data.test_images.shape()[1], load_s);
        std::printf("Training %zu-%zu-10 (%s, %s, init %s, %s lr %g, seed %llu) data-parallel over %d ranks ", d,
                    opt.hidden, opt.dtype.c_str(), opt.activation.c_str(), opt.init.c_str(), opt.optimizer.c_str(),
                    effective_lr(opt), static_cast<unsigned long long>(opt.seed), comm.size());
        if (minibatch)
            std::printf("for %d epochs of global batch %zu\n", opt.epochs, opt.batch_size);
        else
            std::printf("for %d full-batch iterations\n", opt.iterations);
        std::printf("BLAS: %s, %d threads per rank\n", blas_info().config.c_str(), blas_info().threads);
    }
    std::ostringstream history;
    history << std::setprecision(9); // every digit of a float cost, to compare runs
    const auto t0 = clock_type::now();
    bool stopped = false;
    if (minibatch) {
        history << "epoch,loss,accuracy,learning_rate,elapsed_s\n";
        FitOptions fo = fit_options(opt); // its batch callback's stop is agreed across the ranks by fit
        fo.on_epoch_end = [&](const EpochLog& e) {
            history << e.epoch << ',' << e.loss << ',' << e.accuracy << ',' << e.learning_rate << ','
                    << seconds_since(t0) << '\n';
            if (root && !opt.quiet)
                std::printf("Epoch %zu loss: %.5f  accuracy: %.4f  lr %.3g  (%.2f s)\n", e.epoch, e.loss, e.accuracy,
                            e.learning_rate, e.seconds);
            return true;
        };
        const History h = dist::fit(dp, loss, optimizer, X, y, s, fo);
        stopped = h.stopped_early && stop_signal != 0;
        stopped = comm.any(stopped);
    } else {
        history << "iteration,cost,elapsed_s\n";
        for (int it = 0; it < opt.iterations; ++it) {
            T cost;
            try {
                cost = dp.step(loss, optimizer, X, y, stop_signal != 0);
            } catch (const numeric_error& e) {
                throw numeric_error(detail::cat("iteration ", it, ": ", e.what(), " (try a smaller --lr)"));
            }
            if (dp.stop_requested()) {
                if (root)
                    return interrupted("iterations", it);
                return 128 + 2;
            }
            history << it << ',' << cost << ',' << seconds_since(t0) << '\n';
            if (root && opt.log_every > 0 && it % opt.log_every == 0 && !opt.quiet)
                std::printf("Epoch %d cost: %.5f\n", it, static_cast<double>(cost));
        }
    }
    const double train_s = seconds_since(t0);
    if (stopped)
        return root ? interrupted("epochs", opt.epochs, opt.checkpoint) : 130;
    const Scores final_scores = dist::evaluate(dp, loss, X, y, minibatch ? 10000 : 0);

    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    std::vector<double> rss(static_cast<std::size_t>(comm.size()), 0.0);
    rss[static_cast<std::size_t>(comm.rank())] = static_cast<double>(usage.ru_maxrss) * 1024 / 1e6; // KiB on Linux
    comm.sum(rss.data(), rss.size());
    if (!root)
        return 0;

    std::printf("Final cost: %.5f\n", final_scores.loss);
    if (minibatch)
        std::printf("Training time: %.2f s (%.3f s per epoch), training accuracy %.4f\n", train_s, train_s / opt.epochs,
                    final_scores.accuracy);
    else
        std::printf("Training time: %.1f s (%.1f ms per iteration)\n", train_s,
                    1000.0 * train_s / std::max(1, opt.iterations));
    std::printf("Peak memory per rank:");
    for (std::size_t r = 0; r < rss.size(); ++r)
        std::printf(" %.1f MB", rss[r]);
    std::printf(" (rank 0 also holds the test set)\n");
    const label_vector pred = test_report(opt, net, data);
    write_outputs(opt, history.str(), net, data.test_labels, pred);
    return 0;
}

} // namespace example
