// mininn: fit(), a training loop with mini-batches, validation, callbacks and early stopping.
#pragma once

#include "../core/config.hpp"

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "../io/checkpoint.hpp"
#include "../data/columns.hpp"
#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "callbacks.hpp"
#include "evaluate.hpp"
#include "history.hpp"
#include "../io/output.hpp"
#include "../core/random.hpp"
#include "../optim/schedule.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

namespace detail {

// fit(). With own_X and own_y (the training set handed over, or the part fit split off
// itself), each epoch's shuffle permutes them in place instead of into a copy beside them.
// XM is matrix<T> or sparse_matrix<T>. A sparse set is never copied per epoch: its batches are
// lists of column indices into it, in the order the dense path would copy them.
template <class Net, class Loss, class Opt, class XM, class Y>
History fit_impl(Net& net, const Loss& loss, Opt& opt, const XM& X, const Y& y, const FitOptions& options,
                 const XM* X_val, const Y* y_val, XM* own_X, Y* own_y)
{
    constexpr bool sparse = is_sparse_v<XM>;
    using T = typename Net::value_type;
    using clock = std::chrono::steady_clock;
    if (target_count(y) != X.shape()[1])
        throw shape_error(detail::cat("fit: targets for ", target_count(y), " samples but X has ", X.shape()[1],
                                      " (samples are columns)"));
    if (X.shape()[1] == 0)
        throw shape_error(detail::cat("fit: no training samples (X is ", detail::shape_str(X.shape()), ")"));
    if ((X_val == nullptr) != (y_val == nullptr))
        throw std::invalid_argument("fit: give both X_val and y_val, or neither");
    if (!(options.validation_split >= 0 && options.validation_split < 1))
        throw std::invalid_argument(detail::cat("fit: validation_split must be in [0, 1), got ", options.validation_split));

    Rng rng(options.seed);
    // The training and validation sets: views of the caller's data where possible.
    XM X_train_own, X_hold;
    Y y_train_own, y_hold;
    const XM* Xt = &X;
    const Y* yt = &y;
    if (X_val == nullptr && options.validation_split > 0) {
        const std::size_t n = X.shape()[1];
        const auto hold = static_cast<std::size_t>(std::floor(options.validation_split * static_cast<double>(n)));
        if (hold == 0 || hold == n)
            throw shape_error(detail::cat("fit: validation_split ", options.validation_split, " of ", n,
                                          " samples leaves no ", hold == 0 ? "validation" : "training", " sample"));
        const auto perm = permutation(n, rng);
        const std::vector<std::size_t> train_idx(perm.begin(), perm.end() - static_cast<std::ptrdiff_t>(hold));
        const std::vector<std::size_t> hold_idx(perm.end() - static_cast<std::ptrdiff_t>(hold), perm.end());
        X_train_own = take_columns(X, train_idx);
        y_train_own = take_targets(y, train_idx);
        X_hold = take_columns(X, hold_idx);
        y_hold = take_targets(y, hold_idx);
        Xt = &X_train_own;
        if constexpr (!sparse)
            own_X = &X_train_own;
        yt = own_y = &y_train_own;
        X_val = &X_hold;
        y_val = &y_hold;
    }
    if (X_val != nullptr && (X_val->shape()[0] != X.shape()[0] || target_count(*y_val) != X_val->shape()[1]))
        throw shape_error(detail::cat("fit: validation set ", detail::shape_str(X_val->shape()), " with targets for ",
                                      target_count(*y_val), " samples does not match training inputs ",
                                      detail::shape_str(X.shape())));

    const std::size_t n = Xt->shape()[1];
    const std::size_t batch = options.batch_size == 0 || options.batch_size >= n ? n : options.batch_size;
    const std::size_t batches = (n + batch - 1) / batch;
    const bool full = batch == n;
    const bool show = (options.verbose == Verbosity::progress || options.verbose == Verbosity::automatic) &&
                      interactive_stdout();
    const bool lines = options.verbose == Verbosity::epochs || options.verbose == Verbosity::automatic;

    matrix<T> Xs, Xb;
    Y ys, yb;
    std::vector<std::size_t> order; // a sparse epoch's permutation: its batches index into it
    scorer<T, task_of<Loss>> score;
    // With the training set owned: where each sample (in the order fit was given them) stands
    // now, so that each epoch's permutation, drawn as for the copying path, is applied
    // relative to the last one and the batches are the same.
    std::vector<std::size_t> where, relative;
    if (own_X != nullptr) {
        where.resize(n);
        std::iota(where.begin(), where.end(), std::size_t(0));
    }
    History history;
    early_stopping<T> early;
    Schedule schedule = options.schedule;
    double base_rate = base_learning_rate(opt, schedule, "fit");
    const mode_restore<Net> restore{net, net.training()};
    std::size_t first_epoch = 0;
    constexpr bool checkpoints = has_checkpoint_state<Opt>::value;
    if (!checkpoints && (!options.resume_from.empty() || !options.checkpoint.empty()))
        throw std::invalid_argument("fit: checkpoints need an optimizer with checkpoint_state() and restore_state()");
    if constexpr (checkpoints) {
        if (!options.resume_from.empty()) {
            const FitState st = load_checkpoint(options.resume_from, net, opt);
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
            save_checkpoint(options.checkpoint, net, opt, st);
        } else {
            static_cast<void>(done);
        }
    };
    const auto t_start = clock::now();

    for (std::size_t epoch = first_epoch; epoch < options.epochs; ++epoch) {
        const auto t0 = clock::now();
        const double rate = scheduled_rate(opt, schedule, base_rate, epoch);
        net.train(); // the batches in training mode; evaluate() switches to evaluation mode itself
        const matrix<T>* source = nullptr;
        if constexpr (!sparse)
            source = Xt;
        const Y* labels = yt;
        bool shuffled = false;
        if (options.shuffle && !full) {
            const auto perm = permutation(n, rng);
            shuffled = true;
            if constexpr (sparse) {
                order = perm;
                permute_targets_into(*yt, perm, ys);
                labels = &ys;
            } else if (own_X != nullptr) {
                relative.resize(n);
                for (std::size_t k = 0; k < n; ++k)
                    relative[k] = where[perm[k]];
                permute_columns_in_place(*own_X, relative);
                permute_targets_in_place(*own_y, relative);
                for (std::size_t k = 0; k < n; ++k)
                    where[perm[k]] = k;
            } else {
                permute_columns_into(*Xt, perm, Xs);
                permute_targets_into(*yt, perm, ys);
                source = &Xs;
                labels = &ys;
            }
        }
        double total = 0;
        score.start(*labels);
        bool stop = false;
        for (std::size_t b = 0; b < batches && !stop; ++b) {
            const std::size_t first = b * batch, count = std::min(batch, n - first);
            const Y* ybp = labels;
            if (!full) {
                copy_targets_into(*labels, first, count, yb);
                ybp = &yb;
            }
            double l;
            try {
                if constexpr (sparse) {
                    if (full)
                        l = static_cast<double>(net.compute_gradients(loss, *Xt, *ybp));
                    else if (shuffled)
                        l = static_cast<double>(net.compute_gradients(loss, Xt->select_columns(order.data() + first, count), *ybp));
                    else
                        l = static_cast<double>(net.compute_gradients(loss, Xt->columns(first, count), *ybp));
                } else {
                    const matrix<T>* xb = source;
                    if (!full) {
                        copy_columns_into(*source, first, count, Xb);
                        xb = &Xb;
                    }
                    l = static_cast<double>(net.compute_gradients(loss, *xb, *ybp));
                }
            } catch (const numeric_error& e) {
                throw numeric_error(detail::cat("epoch ", epoch, ", batch ", b, ": ", e.what()));
            }
            detail::check_gradients_finite(net, epoch, b);
            score.add(net.output(), *ybp);
            opt.step(net);
            total += l * static_cast<double>(count);
            if (options.on_batch_end && !options.on_batch_end(BatchLog{epoch, b, batches, l})) {
                stop = true;
                history.stopped_early = true;
                history.stop_reason = detail::cat("stopped by the batch callback in epoch ", epoch, ", batch ", b);
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

        Scores train, val;
        score.finish(train);
        if (X_val != nullptr)
            val = evaluate(net, loss, *X_val, *y_val, full ? 0 : batch);
        EpochLog log = epoch_log(epoch, total / static_cast<double>(n), train, X_val != nullptr ? &val : nullptr, rate);
        schedule.observe(X_val != nullptr ? log.val_loss : log.loss);
        log.seconds = std::chrono::duration<double>(clock::now() - t0).count();
        history.epochs.push_back(log);
        if (lines)
            detail::print_epoch(log, options.epochs);
        if (stop) // a partial epoch: no checkpoint of it
            break;
        const bool patience_out =
            early.observe(net, X_val != nullptr ? log.val_loss : log.loss, epoch, options, history);
        if (!options.checkpoint.empty())
            checkpoint(epoch + 1);
        if (options.on_epoch_end && !options.on_epoch_end(log)) {
            history.stopped_early = true;
            history.stop_reason = detail::cat("stopped by the epoch callback after epoch ", epoch);
            break;
        }
        if (patience_out) {
            history.stopped_early = true;
            history.stop_reason = detail::cat("early stopping after epoch ", epoch, ": no improvement for ",
                                              options.patience, " epochs; best epoch ", history.best_epoch);
            break;
        }
    }
    early.restore(net, options);
    return history;
}

} // namespace detail

/// Trains net on X [in, n] against targets y, as the loss takes them (class indices
/// label_vector [n], one-hot or 0/1 matrix<T> [k, n], real matrix<T> [k, n]), for
/// options.epochs epochs of shuffled mini-batches, one optimizer step per batch, and returns
/// the history with the metrics that fit the loss (EpochLog). With a validation set (X_val
/// [in, n_val], y_val) or a validation_split, each epoch is also evaluated on it, and early
/// stopping (patience > 0) watches the validation loss (else the training loss).
///
/// Throws shape_error for mismatched sizes or a split that leaves no training or validation
/// sample, numeric_error naming the epoch, batch and tensor when a loss or gradient becomes
/// NaN or inf, and whatever the network and loss throw. Targets of a type no loss takes
/// (floating-point labels [n], say) are refused at compile time.
template <class Net, class Loss, class Opt, class Y>
History fit(Net& net, const Loss& loss, Opt& opt, const matrix<typename Net::value_type>& X, const Y& y,
            const FitOptions& options, const matrix<typename Net::value_type>* X_val = nullptr,
            const Y* y_val = nullptr)
{
    if constexpr (!detail::check_target_type<typename Net::value_type, Y>())
        return History{}; // a static_assert has said why
    else
        return detail::fit_impl(net, loss, opt, X, y, options, X_val, y_val, static_cast<matrix<typename Net::value_type>*>(nullptr), static_cast<Y*>(nullptr));
}

/// fit() on a sparse X [in, n] (the network's first layer must be Dense), with an optional
/// sparse validation set. Each batch is a list of column indices into X, so no column is ever
/// copied; the batches are those of the dense fit() with the same options, and so are the
/// results, to rounding. Throws as the dense fit() does.
template <class Net, class Loss, class Opt, class Y>
History fit(Net& net, const Loss& loss, Opt& opt, const sparse_matrix<typename Net::value_type>& X, const Y& y,
            const FitOptions& options, const sparse_matrix<typename Net::value_type>* X_val = nullptr,
            const Y* y_val = nullptr)
{
    if constexpr (!detail::check_target_type<typename Net::value_type, Y>())
        return History{};
    else
        return detail::fit_impl(net, loss, opt, X, y, options, X_val, y_val,
                                static_cast<sparse_matrix<typename Net::value_type>*>(nullptr), static_cast<Y*>(nullptr));
}

/// fit() that takes the training set, handed over with std::move: each epoch's shuffle then
/// permutes it in place (one row of scratch) instead of into a second copy kept beside it for
/// the whole run. The batches, and so the results, are the same bit for bit.
template <class Net, class Loss, class Opt, class Y, class = std::enable_if_t<!std::is_lvalue_reference_v<Y>>>
History fit(Net& net, const Loss& loss, Opt& opt, matrix<typename Net::value_type>&& X, Y&& y,
            const FitOptions& options, const matrix<typename Net::value_type>* X_val = nullptr,
            const Y* y_val = nullptr)
{
    if constexpr (!detail::check_target_type<typename Net::value_type, Y>())
        return History{};
    else
        return detail::fit_impl(net, loss, opt, X, y, options, X_val, y_val, &X, &y);
}

} // namespace MININN_ISA
} // namespace mininn
