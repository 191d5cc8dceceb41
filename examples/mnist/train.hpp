// The mnist example's training run, a template over the scalar type and the hidden
// activation. Each train_<type>_<activation>.cpp instantiates it once, so the six network
// types (each with three optimizers) compile in six units side by side instead of one unit
// holding them all.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <sys/resource.h>

#include <mininn/mininn.hpp>

#include "example.hpp"

namespace example {

using clock_type = std::chrono::steady_clock;
inline double seconds_since(clock_type::time_point t0)
{
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// A one-line live status, only on an interactive terminal (not a pipe, not an MPI rank),
// the same test fit() makes for its live line.
class Progress {
public:
    explicit Progress(bool enabled) : enabled_(enabled && mininn::interactive_stdout()) {}
    void update(int it, int total, double cost, double elapsed)
    {
        if (!enabled_ || elapsed - last_ < 0.25)
            return;
        last_ = elapsed;
        const double eta = it > 0 ? elapsed / it * (total - it) : 0.0;
        std::printf("\r\033[Kiteration %d/%d  cost %.5f  elapsed %.1f s  ETA %.1f s", it, total, cost, elapsed, eta);
        std::fflush(stdout);
    }
    void clear()
    {
        if (enabled_)
            std::printf("\r\033[K");
    }

private:
    bool enabled_;
    double last_ = -1;
};

inline std::string confusion_text(const xt::xtensor<std::size_t, 2>& C)
{
    std::ostringstream os;
    os << "Confusion matrix (rows: true label, columns: predicted label)\n      ";
    for (std::size_t k = 0; k < C.shape()[1]; ++k)
        os << std::string(6 - std::to_string(k).size(), ' ') << k;
    os << '\n';
    for (std::size_t i = 0; i < C.shape()[0]; ++i) {
        os << std::string(6 - std::to_string(i).size(), ' ') << i;
        for (std::size_t k = 0; k < C.shape()[1]; ++k)
            os << std::string(6 - std::min<std::size_t>(6, std::to_string(C(i, k)).size()), ' ') << C(i, k);
        os << '\n';
    }
    return os.str();
}

inline double effective_lr(const Options& opt)
{
    return opt.lr > 0 ? opt.lr : default_lr(opt.optimizer);
}

// Steps any optimizer through one type, so each network type is compiled once; its learning
// rate can be read and set, so that fit() can schedule it.
template <class Net>
struct AnyOptimizer {
    using T = typename Net::value_type;
    std::function<void(Net&)> fn;
    std::function<double()> get_rate;
    std::function<void(double)> set_rate;
    std::function<mininn::OptimizerState<T>()> get_state;
    std::function<void(mininn::OptimizerState<T>)> set_state;
    void step(Net& net) { fn(net); }
    double learning_rate() const { return get_rate(); }
    void set_learning_rate(double lr) { set_rate(lr); }
    mininn::OptimizerState<T> checkpoint_state() const { return get_state(); }
    void restore_state(mininn::OptimizerState<T> s) { set_state(std::move(s)); }
};

template <class Net, class T, class Opt>
AnyOptimizer<Net> wrap_optimizer(Opt o)
{
    auto p = std::make_shared<Opt>(std::move(o));
    return {[p](Net& n) { p->step(n); }, [p] { return static_cast<double>(p->learning_rate()); },
            [p](double lr) { p->set_learning_rate(static_cast<T>(lr)); }, [p] { return p->checkpoint_state(); },
            [p](mininn::OptimizerState<T> s) { p->restore_state(std::move(s)); }};
}

template <class Net, class T>
AnyOptimizer<Net> make_optimizer(const Options& opt)
{
    const T lr = static_cast<T>(effective_lr(opt));
    if (opt.optimizer == "momentum")
        return wrap_optimizer<Net, T>(mininn::Momentum<T>(lr, T(0.9)));
    if (opt.optimizer == "adam")
        return wrap_optimizer<Net, T>(mininn::Adam<T>(lr));
    return wrap_optimizer<Net, T>(mininn::GD<T>(lr));
}

// fit()'s options from the command line's: epochs, batch size, seed, schedule, and a batch
// callback that stops at SIGINT or SIGTERM. Nothing is printed by fit itself.
inline mininn::FitOptions fit_options(const Options& opt)
{
    mininn::FitOptions fo;
    fo.epochs = static_cast<std::size_t>(opt.epochs);
    fo.batch_size = opt.batch_size;
    fo.seed = opt.seed;
    fo.verbose = mininn::Verbosity::silent;
    fo.on_batch_end = [](const mininn::BatchLog&) { return stop_signal == 0; };
    fo.checkpoint = opt.checkpoint;
    fo.checkpoint_every = static_cast<std::size_t>(opt.checkpoint_every);
    fo.resume_from = opt.resume;
    if (opt.schedule == "cosine")
        fo.schedule =
            mininn::Schedule::cosine(static_cast<std::size_t>(opt.epochs), static_cast<std::size_t>(opt.warmup));
    return fo;
}

// Predicts the test set and prints its accuracy, confusion matrix and classification report;
// returns the predictions.
template <class Net, class T>
mininn::label_vector test_report(const Options& opt, Net& net, const mininn::MnistData<T>& data)
{
    const mininn::label_vector pred = net.predict(data.test_images);
    std::printf("\nTest accuracy: %.2f %%\n\n", 100.0 * mininn::accuracy(data.test_labels, pred));
    std::cout << confusion_text(mininn::confusion_matrix(data.test_labels, pred)) << '\n';
    std::cout << mininn::classification_report(data.test_labels, pred, opt.digits);
    return pred;
}

// Writes the files the options ask for (--history, --save, --predictions), each atomically.
template <class Net>
void write_outputs(const Options& opt, const std::string& history, Net& net, const mininn::label_vector& truth,
                   const mininn::label_vector& pred)
{
    if (!opt.history.empty())
        mininn::write_file_atomic(opt.history, history);
    if (!opt.save.empty()) {
        mininn::save(net, opt.save);
        if (!opt.quiet)
            std::printf("Saved the trained weights to %s\n", opt.save.c_str());
    }
    if (!opt.predictions.empty()) {
        std::ostringstream csv;
        csv << "index,true,predicted\n";
        for (std::size_t j = 0; j < pred.size(); ++j)
            csv << j << ',' << truth(j) << ',' << pred(j) << '\n';
        mininn::write_file_atomic(opt.predictions, csv.str());
    }
}

// --epochs: fit()'s mini-batch epochs, each printed and added to history as a CSV line.
// Returns the exit code when a signal stopped the run, else 0.
template <class Net, class Loss, class Opt, class Input>
int fit_epochs(const Options& opt, Net& net, const Loss& loss, Opt& optimizer, const Input& X,
               const mininn::label_vector& y, std::ostringstream& history, clock_type::time_point t0)
{
    using namespace mininn;
    history << "epoch,loss,accuracy,learning_rate,elapsed_s\n";
    FitOptions fo = fit_options(opt);
    fo.verbose = opt.quiet ? Verbosity::silent : Verbosity::progress; // the epoch lines are printed below
    fo.on_epoch_end = [&](const EpochLog& e) {
        history << e.epoch << ',' << e.loss << ',' << e.accuracy << ',' << e.learning_rate << ',' << seconds_since(t0)
                << '\n';
        if (!opt.quiet)
            std::printf("Epoch %zu loss: %.5f  accuracy: %.4f  lr %.3g  (%.2f s)\n", e.epoch, e.loss, e.accuracy,
                        e.learning_rate, e.seconds);
        return true;
    };
    const History h = fit(net, loss, optimizer, X, y, fo);
    if (stop_signal == 0)
        return 0;
    const long done = h.epochs.empty() ? 0 : static_cast<long>(h.epochs.back().epoch) + (h.stopped_early ? 0 : 1);
    return interrupted("epochs", done, opt.checkpoint);
}

// "Peak memory: ... MB (data ... MB)", from getrusage.
inline void print_peak_memory(double data_bytes)
{
    struct rusage usage {};
    if (::getrusage(RUSAGE_SELF, &usage) == 0) // ru_maxrss is in KiB on Linux
        std::printf("Peak memory: %.1f MB (data %.1f MB)\n", static_cast<double>(usage.ru_maxrss) * 1024 / 1e6,
                    data_bytes / 1e6);
}

// The bytes of the training input, dense or sparse.
template <class T>
std::size_t input_bytes(const mininn::matrix<T>& X, const mininn::sparse_matrix<T>& S)
{
    return X.size() * sizeof(T) + S.nonzeros() * (sizeof(T) + sizeof(std::uint32_t)) +
           S.column_starts().size() * sizeof(std::size_t);
}

template <class T, template <class> class Act, bool WithDropout>
int train(const Options& opt, mininn::MnistData<T>& data)
{
    using namespace mininn;
    // The seed shuffles the training set, then draws the weights; both come from one seeded
    // stream. The shuffle is done in place: a second copy of the training set would cost 188 MB.
    Rng rng(opt.seed);
    const auto order = permutation(data.train_labels.size(), rng);
    // The input: --input dense, or the images read sparse (main.cpp left train_images empty)
    // and kept sparse when asked, or (auto) when at most half the pixels are non-zero.
    sparse_matrix<T> S;
    const bool from_file = data.train_images.shape()[1] == 0;
    if (from_file) {
        S = read_idx_images_sparse<T>(find_mnist_file(opt.data, "train-images-idx3-ubyte"), order);
        if (S.cols() != data.train_labels.size())
            throw io_error(detail::cat(opt.data, ": ", S.cols(), " training images but ", data.train_labels.size(),
                                       " labels"));
    } else {
        permute_columns_in_place(data.train_images, order);
    }
    permute_in_place(data.train_labels, order);
    const bool sparse = opt.input == "sparse" || (opt.input == "auto" && S.density() <= 0.5);
    if (from_file && !sparse) {
        data.train_images = S.to_dense();
        S = sparse_matrix<T>();
    }
    const label_vector& y = data.train_labels;
    const std::size_t d = sparse ? S.rows() : data.train_images.shape()[0];
    if (!opt.quiet) {
        if (from_file)
            std::printf("Input: %s (%.1f %% of the training pixels are non-zero%s)\n", sparse ? "sparse" : "dense",
                        100 * S.density(), opt.input == "auto" ? "; --input auto picks sparse at 50 % or less" : "");
        else
            std::printf("Input: dense (--input dense)\n");
    }
    const matrix<T>& X = data.train_images;

    auto make = [&](auto init) {
        if constexpr (WithDropout) // its masks come from a stream of their own, seeded from --seed
            return Network{Dense<T>(d, opt.hidden, init, rng), Act<T>{}, Dropout<T>(opt.dropout, opt.seed + 1),
                           Dense<T>(opt.hidden, 10, init, rng), Softmax{}};
        else
            return Network{Dense<T>(d, opt.hidden, init, rng), Act<T>{}, Dense<T>(opt.hidden, 10, init, rng),
                           Softmax{}};
    };
    auto net = [&] {
        if (opt.init == "xavier")
            return make(init::xavier);
        if (opt.init == "he")
            return make(init::he);
        return make(init::normal);
    }();
    using Net = decltype(net);
    AnyOptimizer<Net> optimizer = make_optimizer<Net, T>(opt);
    if (!opt.load.empty()) {
        load(net, opt.load);
        if (!opt.quiet)
            std::printf("Loaded weights from %s\n", opt.load.c_str());
    }
    const CrossEntropy loss;

    const bool minibatch = opt.epochs > 0;
    if (!opt.quiet) {
        std::printf("Training %zu-%zu-10 (%s, %s, init %s, %s lr %g, seed %llu) ", d, opt.hidden, opt.dtype.c_str(),
                    opt.activation.c_str(), opt.init.c_str(), opt.optimizer.c_str(), effective_lr(opt),
                    static_cast<unsigned long long>(opt.seed));
        if (WithDropout)
            std::printf("with dropout %g ", opt.dropout);
        if (minibatch)
            std::printf("for %d epochs of batch %zu%s\n", opt.epochs, opt.batch_size,
                        opt.schedule == "cosine" ? detail::cat(", cosine schedule (warm-up ", opt.warmup, ")").c_str()
                                                 : "");
        else
            std::printf("for %d full-batch iterations\n", opt.iterations);
        std::printf("BLAS: %s, %d threads\n", blas_info().config.c_str(), blas_info().threads);
    }
    std::ostringstream history;
    history << std::setprecision(9); // every digit of a float cost, to compare runs
    const auto t0 = clock_type::now();
    if (minibatch) {
        const int rc = sparse ? fit_epochs(opt, net, loss, optimizer, S, y, history, t0)
                              : fit_epochs(opt, net, loss, optimizer, X, y, history, t0);
        if (rc != 0)
            return rc;
    } else {
        history << "iteration,cost,elapsed_s\n";
        Progress progress(!opt.quiet);
        for (int it = 0; it < opt.iterations; ++it) {
            if (stop_signal != 0) {
                progress.clear();
                return interrupted("iterations", it);
            }
            T cost;
            try {
                cost = sparse ? net.compute_gradients(loss, S, y) : net.compute_gradients(loss, X, y);
            } catch (const numeric_error& e) {
                progress.clear();
                throw numeric_error(detail::cat("iteration ", it, ": ", e.what(), " (try a smaller --lr)"));
            }
            const double elapsed = seconds_since(t0);
            history << it << ',' << cost << ',' << elapsed << '\n';
            if (opt.log_every > 0 && it % opt.log_every == 0 && !opt.quiet) {
                progress.clear();
                std::printf("Epoch %d cost: %.5f\n", it, static_cast<double>(cost));
            }
            progress.update(it + 1, opt.iterations, cost, elapsed);
            optimizer.step(net);
        }
        progress.clear();
    }
    const double train_s = seconds_since(t0);
    const std::size_t eval_batch = minibatch ? 10000 : 0;
    const Scores final_scores = sparse ? evaluate(net, loss, S, y, eval_batch) : evaluate(net, loss, X, y, eval_batch);
    const double final_cost = final_scores.loss, train_acc = final_scores.accuracy;
    std::printf("Final cost: %.5f\n", final_cost);
    if (minibatch)
        std::printf("Training time: %.2f s (%.3f s per epoch), training accuracy %.4f\n", train_s,
                    train_s / opt.epochs, train_acc);
    else
        std::printf("Training time: %.1f s (%.1f ms per iteration)\n", train_s,
                    1000.0 * train_s / std::max(1, opt.iterations));

    // Full batch, the sparse first layer keeps its input sorted by row (a value and a 16-bit
    // sample index per non-zero), a second copy of the data counted with it.
    const std::size_t sorted_copy = sparse && !minibatch ? S.nonzeros() * (sizeof(T) + sizeof(std::uint16_t)) : 0;
    if (sorted_copy > 0 && !opt.quiet)
        std::printf("The first layer's row-sorted copy of the sparse input: %.1f MB\n",
                    static_cast<double>(sorted_copy) / 1e6);
    print_peak_memory(static_cast<double>(input_bytes(X, S) + sorted_copy + data.test_images.size() * sizeof(T)));
    const label_vector pred = test_report(opt, net, data);
    if (stop_signal != 0)
        return interrupted(minibatch ? "epochs" : "iterations", minibatch ? opt.epochs : opt.iterations);
    write_outputs(opt, history.str(), net, data.test_labels, pred);
    return 0;
}

} // namespace example
