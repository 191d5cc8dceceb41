// mininn: the one epoch and batch loop behind fit() and distributed::fit(). What differs
// between one process and the ranks of an MPI job (where a batch's columns are, how gradients,
// metrics and votes are added up, who prints and writes) is a backend; local_backend below is
// one process's, distributed/fit.hpp has the ranks'.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"
#include "../data/columns.hpp"
#include "../io/checkpoint.hpp"
#include "../io/output.hpp"
#include "../optim/schedule.hpp"
#include "callbacks.hpp"
#include "evaluate.hpp"
#include "history.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// One process's backend: the batches are columns of the training set X [in, n] in the epoch's
// order, and every collective is the identity. With own_X and own_y (the training set handed
// over, or the part fit split off itself), each epoch's shuffle permutes them in place instead
// of into a copy beside them. XM is matrix<T> or sparse_matrix<T>; a sparse set is never
// copied per epoch: its batches are lists of column indices into it, in the order the dense
// path would copy them.
//
// A backend's members, as train_loop calls them:
//   who                      the name errors begin with
//   votes_wait               false: a batch callback's vote stops at once; true: it travels
//                            with the next gradients() (or finish_epoch()), which then stop
//   network(), samples()     the network; the size n of the whole training set
//   prints()                 whether this process prints the lines and the live progress
//   shuffle(perm)            the epoch's permutation of all n samples, or nullptr (in order)
//   labels(), target_means() the targets score.start() takes after shuffle(), and R^2's means
//   batch(first, count, f)   f(X, y) with this process's columns of the batch [first, first +
//                            count) of the epoch's order (count == n: the whole set, in order)
//   gradients(loss, X, y, vote), stop_requested(), finish_epoch(score, vote), validate(...),
//   agree(votes, n), write_checkpoint(f), read_checkpoint(f)   as their comments say
template <class Net, class XM, class Y>
class local_backend {
public:
    using T = typename Net::value_type;
    static constexpr const char* who = "fit";
    static constexpr bool votes_wait = false;

    local_backend(Net& net, const XM& X, const Y& y, XM* own_X, Y* own_y)
        : net_(net), X_(X), y_(y), own_X_(own_X), own_y_(own_y), labels_(&y)
    {
        if constexpr (!is_sparse_v<XM>)
            source_ = &X;
        if (own_X != nullptr) {
            where_.resize(X.shape()[1]);
            std::iota(where_.begin(), where_.end(), std::size_t(0));
        }
    }

    Net& network() noexcept { return net_; }
    std::size_t samples() const noexcept { return X_.shape()[1]; }
    static constexpr bool prints() noexcept { return true; }
    const Y& labels() const noexcept { return *labels_; }
    static constexpr const std::vector<double>* target_means() noexcept { return nullptr; }

    void shuffle(const std::vector<std::size_t>* perm)
    {
        order_ = perm;
        if (perm == nullptr) // in order: the given one, or where an in-place shuffle left it
            return;
        const std::size_t n = perm->size();
        if constexpr (is_sparse_v<XM>) {
            permute_targets_into(y_, *perm, ys_);
            labels_ = &ys_;
        } else if (own_X_ != nullptr) {
            // Each permutation is drawn as for the copying path, so it is applied relative to
            // where the last one left each sample, and the batches are the same.
            relative_.resize(n);
            for (std::size_t k = 0; k < n; ++k)
                relative_[k] = where_[(*perm)[k]];
            permute_columns_in_place(*own_X_, relative_);
            permute_targets_in_place(*own_y_, relative_);
            for (std::size_t k = 0; k < n; ++k)
                where_[(*perm)[k]] = k;
        } else {
            permute_columns_into(X_, *perm, Xs_);
            permute_targets_into(y_, *perm, ys_);
            source_ = &Xs_;
            labels_ = &ys_;
        }
    }

    template <class F>
    void batch(std::size_t first, std::size_t count, F&& f)
    {
        if (count == samples()) {
            if constexpr (is_sparse_v<XM>)
                f(X_, *labels_);
            else
                f(*source_, *labels_);
            return;
        }
        copy_targets_into(*labels_, first, count, yb_);
        if constexpr (is_sparse_v<XM>) {
            if (order_ != nullptr)
                f(X_.select_columns(order_->data() + first, count), yb_);
            else
                f(X_.columns(first, count), yb_);
        } else {
            copy_columns_into(*source_, first, count, Xb_);
            f(Xb_, yb_);
        }
    }

    // The batch's mean loss, its gradients left in the network. votes_wait is false, so vote
    // is never true here and stop_requested() never is.
    template <class Loss, class XB>
    double gradients(const Loss& loss, const XB& X, const Y& y, bool)
    {
        return static_cast<double>(net_.compute_gradients(loss, X, y));
    }
    static constexpr bool stop_requested() noexcept { return false; }
    // The epoch's metrics complete in score; returns whether vote (a batch callback's after the
    // last batch, not yet acted on) stops training.
    template <class Scorer>
    static bool finish_epoch(Scorer&, bool vote) noexcept
    {
        return vote;
    }
    template <class Loss, class XV>
    Scores validate(const Loss& loss, const XV& X, const Y& y, std::size_t batch_size)
    {
        return evaluate_impl(net_, loss, X, y, batch_size);
    }
    // votes[0, n) summed over the processes, in place.
    static void agree(int*, std::size_t) noexcept {}
    template <class F>
    static void write_checkpoint(F&& save)
    {
        save();
    }
    template <class F>
    static FitState read_checkpoint(F&& load)
    {
        return load();
    }

private:
    Net& net_;
    const XM& X_;
    const Y& y_;
    XM* own_X_;
    Y* own_y_;
    const matrix<T>* source_ = nullptr; // the dense columns in the epoch's order
    const Y* labels_;                   // the targets in the epoch's order
    const std::vector<std::size_t>* order_ = nullptr;
    matrix<T> Xs_, Xb_;
    Y ys_, yb_;
    // With the training set owned: where each sample (in the order fit was given them) stands now.
    std::vector<std::size_t> where_, relative_;
};

// The training loop: options.epochs epochs (from a checkpoint's on with resume_from) of
// batches, each epoch's order drawn from rng (which fit may have drawn a validation split from
// already), validation on X_val and y_val (both nullptr: none), callbacks, the schedule, early
// stopping and a checkpoint after every options.checkpoint_every complete epochs and the last. Throws
// std::invalid_argument for checkpoints with an optimizer that cannot save its state or a schedule with one that has no
// rate, numeric_error naming the epoch and batch, and what the backend and the checkpoint
// reader and writer throw.
template <class Backend, class Loss, class Opt, class XV, class Y>
History train_loop(Backend& backend, const Loss& loss, Opt& opt, const FitOptions& options, Rng& rng, const XV* X_val,
                   const Y* y_val)
{
    using T = typename std::decay_t<decltype(backend.network())>::value_type;
    using clock = std::chrono::steady_clock;
    auto& net = backend.network();
    const std::size_t n = backend.samples();
    const std::size_t batch = options.batch_size == 0 || options.batch_size >= n ? n : options.batch_size;
    const std::size_t batches = (n + batch - 1) / batch;
    const bool full = batch == n;
    const bool show = backend.prints() &&
                      (options.verbose == Verbosity::progress || options.verbose == Verbosity::automatic) &&
                      interactive_stdout();
    const bool lines =
        backend.prints() && (options.verbose == Verbosity::epochs || options.verbose == Verbosity::automatic);

    std::vector<std::size_t> perm;
    scorer<T, task_of<Loss>> score;
    History history;
    early_stopping<T> early;
    Schedule schedule = options.schedule; // reduce_on_plateau keeps state
    double base_rate = base_learning_rate(opt, schedule, Backend::who);
    const mode_restore<std::decay_t<decltype(net)>> restore{net, net.training()};
    std::size_t first_epoch = 0;
    constexpr bool checkpoints = has_checkpoint_state<Opt>::value;
    if (options.checkpoint_every == 0)
        throw std::invalid_argument(cat(Backend::who, ": checkpoint_every must be at least 1"));
    if (!checkpoints && (!options.resume_from.empty() || !options.checkpoint.empty()))
        throw std::invalid_argument(
            cat(Backend::who, ": checkpoints need an optimizer with checkpoint_state() and restore_state()"));
    if constexpr (checkpoints) {
        if (!options.resume_from.empty()) {
            const FitState st = backend.read_checkpoint([&] { return load_checkpoint(options.resume_from, net, opt); });
            first_epoch = st.epochs_done;
            rng.set_state(st.rng);
            base_rate = st.base_rate;
            schedule.set_state(st.schedule);
            early.best = st.best;
            early.since_best = st.since_best;
            history.best_epoch = st.best_epoch;
            std::size_t k = 0;
            if (!st.best_weights.empty())
                net.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) {
                    early.best_params.emplace_back(xt::adapt(st.best_weights[k++], p.shape()));
                });
        }
    }
    auto checkpoint = [&](std::size_t done) {
        if constexpr (checkpoints) {
            FitState st;
            st.epochs_done = done;
            st.rng = rng.state();
            st.base_rate = base_rate;
            st.schedule = schedule.state();
            st.best = early.best;
            st.since_best = early.since_best;
            st.best_epoch = history.best_epoch;
            for (const auto& p : early.best_params)
                st.best_weights.emplace_back(p.begin(), p.end());
            backend.write_checkpoint([&] { save_checkpoint(options.checkpoint, net, opt, st); });
        } else {
            static_cast<void>(done);
        }
    };
    auto stop_at = [&](std::size_t epoch, std::size_t b) {
        history.stopped_early = true;
        history.stop_reason = cat("stopped by the batch callback in epoch ", epoch, ", batch ", b);
    };
    const auto t_start = clock::now();

    for (std::size_t epoch = first_epoch; epoch < options.epochs; ++epoch) {
        const auto t0 = clock::now();
        const double rate = scheduled_rate(opt, schedule, base_rate, epoch);
        net.train(); // the batches in training mode; validation switches to evaluation mode itself
        if (options.shuffle && !full) {
            perm = permutation(n, rng);
            backend.shuffle(&perm);
        } else {
            backend.shuffle(nullptr);
        }
        double total = 0;
        score.start(backend.labels(), backend.target_means());
        bool vote = false, stop = false;
        for (std::size_t b = 0; b < batches && !stop; ++b) {
            const std::size_t first = b * batch, count = std::min(batch, n - first);
            double l = 0;
            backend.batch(first, count, [&](const auto& xb, const Y& yb) {
                try {
                    l = backend.gradients(loss, xb, yb, vote);
                } catch (const numeric_error& e) {
                    throw numeric_error(cat("epoch ", epoch, ", batch ", b, ": ", e.what()));
                }
                if (backend.stop_requested()) // the last batch's vote: this batch is not applied
                    return;
                check_gradients_finite(net, epoch, b);
                if (xb.shape()[1] > 0)
                    score.add(net.output(), yb);
                opt.step(net);
                total += l * static_cast<double>(count);
            });
            if (backend.stop_requested()) {
                stop = true;
                stop_at(epoch, b - 1);
                break;
            }
            vote = options.on_batch_end && !options.on_batch_end(BatchLog{epoch, b, batches, l});
            if (vote && !Backend::votes_wait) {
                stop = true;
                stop_at(epoch, b);
            }
            if (show) {
                const double el = std::chrono::duration<double>(clock::now() - t_start).count();
                const double done = static_cast<double>(epoch * batches + b + 1);
                const double eta = el / done * (static_cast<double>(options.epochs * batches) - done);
                std::printf("\r\033[Kepoch %zu/%zu  batch %zu/%zu  loss %.4f  ETA %.1f s", epoch + 1, options.epochs,
                            b + 1, batches, l, eta);
                std::fflush(stdout);
            }
        }
        if (show)
            std::printf("\r\033[K");
        // The epoch's metrics, and a waiting vote of the last batch, in one collective.
        if (backend.finish_epoch(score, vote && !stop)) {
            stop = true;
            stop_at(epoch, batches - 1);
        }

        Scores train, val;
        score.finish(train);
        if (X_val != nullptr)
            val = backend.validate(loss, *X_val, *y_val, full ? 0 : batch);
        EpochLog log = epoch_log(epoch, total / static_cast<double>(n), train, X_val != nullptr ? &val : nullptr, rate);
        schedule.observe(X_val != nullptr ? log.val_loss : log.loss);
        log.seconds = std::chrono::duration<double>(clock::now() - t0).count();
        history.epochs.push_back(log);
        if (lines)
            print_epoch(log, options.epochs);
        if (stop) // a partial epoch: no checkpoint of it
            break;
        const bool patience_out =
            early.observe(net, X_val != nullptr ? log.val_loss : log.loss, epoch, options, history);
        if (!options.checkpoint.empty() && ((epoch + 1) % options.checkpoint_every == 0 || epoch + 1 == options.epochs))
            checkpoint(epoch + 1);
        // The logs are the same everywhere, but the callbacks need not be.
        int votes[2] = {options.on_epoch_end && !options.on_epoch_end(log), patience_out};
        backend.agree(votes, 2);
        if (votes[0] > 0 || votes[1] > 0) {
            history.stopped_early = true;
            history.stop_reason = votes[0] > 0 ? cat("stopped by the epoch callback after epoch ", epoch)
                                               : cat("early stopping after epoch ", epoch, ": no improvement for ",
                                                     options.patience, " epochs; best epoch ", history.best_epoch);
            break;
        }
    }
    early.restore(net, options);
    return history;
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
