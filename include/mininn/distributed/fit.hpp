// mininn::distributed: fit() and evaluate() over the ranks of a Communicator, each rank holding
// its own shard of the data.
#pragma once

#include "../core/config.hpp"

#include "data_parallel.hpp"

#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

#include "../data/columns.hpp"
#include "../train/evaluate.hpp"
#include "../core/random.hpp"
#include "../optim/schedule.hpp"
#include "../train/fit.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace distributed {
namespace detail {

using mininn::detail::cat;

// out = the columns idx of X [d, n] (out[:, k] = X[:, idx[k]]); resized only when its shape differs.
template <class T>
void gather_columns_into(const matrix<T>& X, const std::vector<std::size_t>& idx, matrix<T>& out)
{
    const std::size_t d = X.shape()[0], n = X.shape()[1];
    mininn::detail::ensure_shape(out, d, idx.size());
    for (std::size_t i = 0; i < d; ++i) {
        const T* src = X.data() + i * n;
        T* dst = out.data() + i * idx.size();
        for (std::size_t k = 0; k < idx.size(); ++k)
            dst[k] = src[idx[k]];
    }
}
inline void gather_targets_into(const label_vector& y, const std::vector<std::size_t>& idx, label_vector& out)
{
    mininn::detail::ensure_shape(out, idx.size());
    for (std::size_t k = 0; k < idx.size(); ++k)
        out(k) = y(idx[k]);
}
template <class T>
void gather_targets_into(const matrix<T>& Y, const std::vector<std::size_t>& idx, matrix<T>& out)
{
    gather_columns_into(Y, idx, out);
}

// The mean of each target row over every rank's targets, for R^2 (regression only).
template <Task task, class Y>
std::vector<double> global_target_means(const Communicator& comm, const Y& y)
{
    if constexpr (task != Task::regression) {
        static_cast<void>(comm);
        static_cast<void>(y);
        return {};
    } else {
        const std::size_t k = y.shape()[0], n = y.shape()[1];
        std::vector<double> s(k + 1, 0.0);
        for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < n; ++j)
                s[i] += static_cast<double>(y(i, j));
        s[k] = static_cast<double>(n);
        comm.sum(s.data(), s.size());
        for (std::size_t i = 0; i < k; ++i)
            s[i] /= s[k];
        s.pop_back();
        return s;
    }
}

// Adds the ranks' scorer sums and extra values (appended to them) in one collective.
template <class Scorer>
std::vector<double> reduce_scores(const Communicator& comm, Scorer& score, std::vector<double> extra)
{
    std::vector<double> s = score.sums();
    const std::size_t base = s.size();
    s.insert(s.end(), extra.begin(), extra.end());
    comm.sum(s.data(), s.size());
    score.set_sums(std::vector<double>(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(base)));
    return std::vector<double>(s.begin() + static_cast<std::ptrdiff_t>(base), s.end());
}

template <class Net, class Loss, class Y>
Scores evaluate_shard(DataParallel<Net>& dp, const Loss& loss, const matrix<typename Net::value_type>& X, const Y& y,
                      std::size_t batch_size, const std::vector<double>* means)
{
    using T = typename Net::value_type;
    Net& net = dp.network();
    const std::size_t n = X.shape()[1];
    if (mininn::detail::target_count(y) != n)
        throw shape_error(cat("distributed::evaluate: targets for ", mininn::detail::target_count(y),
                              " samples but X has ", n, " (samples are columns)"));
    const typename Net::eval_scope mode(net);
    mininn::detail::scorer<T, task_of<Loss>> score;
    score.start(y, means);
    double total = 0;
    std::string what;
    const int kind = n == 0 ? 0 : Communicator::run_catching(
        [&] { total = mininn::detail::score_batches(net, loss, X, y, batch_size, score); }, what);
    const std::vector<double> r = reduce_scores(dp.communicator(), score, {total, double(n), double(kind != 0)});
    if (r[2] > 0)
        dp.communicator().raise_agreed(kind, what);
    if (!(r[1] > 0))
        throw shape_error("distributed::evaluate: no rank has a sample");
    Scores s;
    s.loss = r[0] / r[1];
    score.finish(s);
    return s;
}

} // namespace detail

/// The loss and metrics (see mininn::evaluate) of the network over the union of every rank's
/// X [in, m_r] and targets y (m_r may be 0), reduced across the ranks, the same on each.
/// Every rank must call it. Throws on every rank what one rank threw ("rank r: ..."), and
/// shape_error for mismatched targets or when no rank has a sample.
template <class Net, class Loss, class Y>
Scores evaluate(DataParallel<Net>& dp, const Loss& loss, const matrix<typename Net::value_type>& X, const Y& y,
                std::size_t batch_size = 0)
{
    const auto means = detail::global_target_means<task_of<Loss>>(dp.communicator(), y);
    return detail::evaluate_shard(dp, loss, X, y, batch_size, &means);
}

/// fit() across the ranks. Each rank passes its shard of the training set: X [in, s.count]
/// and y, the columns [s.first, s.first + s.count) of a set of s.total samples (shard()
/// gives s). Every rank draws the same permutation of all s.total samples from options.seed,
/// as a single process's fit() does, so the global batches are the same samples; each rank
/// computes the gradients of those samples of the batch that lie in its shard, and
/// DataParallel adds them up in one allreduce per batch. The result equals a single process's
/// fit() on the whole set up to floating-point rounding, and every rank ends with the same
/// weights bit for bit. (A rank's part of a batch varies around batch · s.count / s.total.)
///
/// Decisions that end training are agreed: a callback that returns false on any rank, early
/// stopping, a NaN or inf gradient (numeric_error on every rank), an exception on one rank.
/// Validation (X_val, y_val: the rank's shard of the validation set) and the epoch metrics are
/// reduced across the ranks; on_epoch_end sees the same log on every rank. Epoch lines are
/// printed by rank 0 only. validation_split and checkpoints are refused
/// (std::invalid_argument): pass a validation shard, and save with distributed::save.
template <class Net, class Loss, class Opt, class Y>
History fit(DataParallel<Net>& dp, const Loss& loss, Opt& opt, const matrix<typename Net::value_type>& X, const Y& y,
            const Shard& s, const FitOptions& options, const matrix<typename Net::value_type>* X_val = nullptr,
            const Y* y_val = nullptr)
{
    using T = typename Net::value_type;
    using clock = std::chrono::steady_clock;
    using mininn::detail::cat;
    const Communicator& comm = dp.communicator();
    Net& net = dp.network();
    if constexpr (!mininn::detail::check_target_type<T, Y>()) {
        return History{};
    } else {
        if (X.shape()[1] != s.count || mininn::detail::target_count(y) != s.count)
            throw shape_error(cat("distributed::fit: rank ", comm.rank(), "'s shard holds ", s.count, " samples but X has ",
                                  X.shape()[1], " and the targets ", mininn::detail::target_count(y)));
        if (options.validation_split > 0)
            throw std::invalid_argument("distributed::fit: validation_split is not supported; pass each rank's shard "
                                        "of a validation set");
        if (!options.checkpoint.empty() || !options.resume_from.empty())
            throw std::invalid_argument("distributed::fit: checkpoints are not supported; save the weights with "
                                        "distributed::save");
        if ((X_val == nullptr) != (y_val == nullptr))
            throw std::invalid_argument("distributed::fit: give both X_val and y_val, or neither");
        const std::size_t n = s.total;
        if (comm.sum(static_cast<std::uint64_t>(s.count)) != n || comm.min(std::uint64_t(n)) != comm.max(std::uint64_t(n)))
            throw shape_error(cat("distributed::fit: the ranks' shards do not add up to ", n, " samples"));
        if (n == 0)
            throw shape_error("distributed::fit: no training samples");
        if (comm.any(X_val != nullptr) != (X_val != nullptr))
            throw std::invalid_argument("distributed::fit: some ranks have a validation set and others not");

        const std::size_t batch = options.batch_size == 0 || options.batch_size >= n ? n : options.batch_size;
        const std::size_t batches = (n + batch - 1) / batch;
        const bool full = batch == n;
        const bool lines =
            comm.root() && (options.verbose == Verbosity::epochs || options.verbose == Verbosity::automatic);
        const auto means = detail::global_target_means<task_of<Loss>>(comm, y);
        const auto val_means =
            X_val != nullptr ? detail::global_target_means<task_of<Loss>>(comm, *y_val) : std::vector<double>{};

        Rng rng(options.seed);
        Schedule schedule = options.schedule; // reduce_on_plateau keeps state
        const double base_rate = mininn::detail::base_learning_rate(opt, schedule, "distributed::fit");
        const mininn::detail::mode_restore<Net> restore{net, net.training()};
        mininn::detail::scorer<T, task_of<Loss>> score;
        History history;
        mininn::detail::early_stopping<T> early;
        std::vector<std::size_t> perm, idx;
        idx.reserve(batch);
        matrix<T> Xb;
        Y yb;

        for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
            const auto t0 = clock::now();
            const double rate = mininn::detail::scheduled_rate(opt, schedule, base_rate, epoch);
            net.train();
            const bool shuffled = options.shuffle && !full;
            if (shuffled)
                perm = permutation(n, rng); // the same on every rank, and the same as fit()'s
            score.start(y, &means);
            double total = 0;
            bool vote = false, stop = false;
            for (std::size_t b = 0; b < batches; ++b) {
                const std::size_t first = b * batch, count = std::min(batch, n - first);
                const matrix<T>* xb = &X;
                const Y* ybp = &y;
                if (!full) {
                    idx.clear();
                    for (std::size_t k = first; k < first + count; ++k) {
                        const std::size_t j = shuffled ? perm[k] : k;
                        if (s.contains(j))
                            idx.push_back(j - s.first);
                    }
                    detail::gather_columns_into(X, idx, Xb);
                    detail::gather_targets_into(y, idx, yb);
                    xb = &Xb;
                    ybp = &yb;
                }
                double l;
                try {
                    l = static_cast<double>(dp.compute_gradients(loss, *xb, *ybp, vote));
                } catch (const numeric_error& e) {
                    throw numeric_error(cat("epoch ", epoch, ", batch ", b, ": ", e.what()));
                }
                if (dp.stop_requested()) { // a callback asked after the last batch: this one is not applied
                    stop = true;
                    history.stop_reason = cat("stopped by the batch callback in epoch ", epoch, ", batch ", b - 1);
                    break;
                }
                mininn::detail::check_gradients_finite(net, epoch, b);
                if (xb->shape()[1] > 0)
                    score.add(net.output(), *ybp);
                opt.step(net);
                total += l * static_cast<double>(count);
                vote = options.on_batch_end && !options.on_batch_end(BatchLog{epoch, b, batches, l});
            }
            // The epoch's metrics and a batch callback's vote after the last batch, in one collective.
            if (detail::reduce_scores(comm, score, {double(vote && !stop)})[0] > 0) {
                stop = true;
                history.stop_reason = cat("stopped by the batch callback in epoch ", epoch, ", batch ", batches - 1);
            }
            history.stopped_early = history.stopped_early || stop;

            Scores train, val;
            score.finish(train);
            if (X_val != nullptr)
                val = detail::evaluate_shard(dp, loss, *X_val, *y_val, full ? 0 : batch, &val_means);
            EpochLog log = mininn::detail::epoch_log(epoch, total / static_cast<double>(n), train,
                                                     X_val != nullptr ? &val : nullptr, rate);
            schedule.observe(X_val != nullptr ? log.val_loss : log.loss);
            log.seconds = std::chrono::duration<double>(clock::now() - t0).count();
            history.epochs.push_back(log);
            if (lines)
                mininn::detail::print_epoch(log, options.epochs);
            if (stop)
                break;
            const bool patience_out =
                early.observe(net, X_val != nullptr ? log.val_loss : log.loss, epoch, options, history);
            const bool cb = options.on_epoch_end && !options.on_epoch_end(log);
            std::vector<int> votes{int(cb), int(patience_out)};
            comm.sum(votes.data(), votes.size()); // the ranks' logs are equal; their callbacks need not be
            if (votes[0] > 0 || votes[1] > 0) {
                history.stopped_early = true;
                history.stop_reason = votes[0] > 0
                                          ? cat("stopped by the epoch callback after epoch ", epoch)
                                          : cat("early stopping after epoch ", epoch, ": no improvement for ",
                                                options.patience, " epochs; best epoch ", history.best_epoch);
                break;
            }
        }
        early.restore(net, options);
        return history;
    }
}

} // namespace distributed
} // namespace MININN_ISA
} // namespace mininn
