// mininn::distributed: fit() and evaluate() over the ranks of a Communicator, each rank holding
// its own shard of the data.
#pragma once

#include "../core/config.hpp"

#include "data_parallel.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "../core/random.hpp"
#include "../core/sparse.hpp"
#include "../data/columns.hpp"
#include "../io/checkpoint.hpp"
#include "../train/evaluate.hpp"
#include "../train/loop.hpp"

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

template <class Net, class Loss, class XM, class Y>
Scores evaluate_shard(DataParallel<Net>& dp, const Loss& loss, const XM& X, const Y& y, std::size_t batch_size,
                      const std::vector<double>* means)
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

// The ranks' backend of train_loop (train/loop.hpp, which lists what a backend does). Every
// rank draws the same permutation of all s.total samples, as one process would, and its part
// of a batch is the batch's samples that lie in its shard; DataParallel adds the gradients up.
// The metrics, the validation and the votes are reduced; rank 0 prints and writes.
template <class Net, class XM, class Y>
class shard_backend {
public:
    using T = typename Net::value_type;
    static constexpr const char* who = "distributed::fit";
    // A batch callback's vote travels with the next batch's allreduce (that batch is then not
    // applied), or with the epoch's metrics after the last batch: no collective of its own.
    static constexpr bool votes_wait = true;

    // order: the training samples' global indices, in the order the split left them (empty:
    // all s.total samples, in order).
    shard_backend(DataParallel<Net>& dp, const XM& X, const Y& y, const Shard& s, std::vector<std::size_t> order,
                  std::vector<double> means, std::vector<double> val_means)
        : dp_(dp), X_(X), y_(y), s_(s), order_(std::move(order)), means_(std::move(means)),
          val_means_(std::move(val_means))
    {
    }

    Net& network() noexcept { return dp_.network(); }
    std::size_t samples() const noexcept { return order_.empty() ? s_.total : order_.size(); }
    bool prints() const noexcept { return comm().root(); }
    const Y& labels() const noexcept { return y_; }
    const std::vector<double>* target_means() const noexcept { return &means_; }
    void shuffle(const std::vector<std::size_t>* perm) noexcept { perm_ = perm; }

    template <class F>
    void batch(std::size_t first, std::size_t count, F&& f)
    {
        if (count == s_.total && order_.empty()) {
            f(X_, y_);
            return;
        }
        idx_.clear();
        for (std::size_t k = first; k < first + count; ++k) {
            const std::size_t p = perm_ != nullptr ? (*perm_)[k] : k, j = order_.empty() ? p : order_[p];
            if (s_.contains(j))
                idx_.push_back(j - s_.first);
        }
        gather_targets_into(y_, idx_, yb_);
        if constexpr (mininn::detail::is_sparse_v<XM>) {
            f(X_.select_columns(idx_.data(), idx_.size()), yb_);
        } else {
            gather_columns_into(X_, idx_, Xb_);
            f(Xb_, yb_);
        }
    }

    template <class Loss, class XB>
    double gradients(const Loss& loss, const XB& X, const Y& y, bool vote)
    {
        return static_cast<double>(dp_.compute_gradients(loss, X, y, vote));
    }
    bool stop_requested() const noexcept { return dp_.stop_requested(); }
    template <class Scorer>
    bool finish_epoch(Scorer& score, bool vote) const
    {
        return reduce_scores(comm(), score, {double(vote)})[0] > 0;
    }
    template <class Loss, class XV>
    Scores validate(const Loss& loss, const XV& X, const Y& y, std::size_t batch_size)
    {
        return evaluate_shard(dp_, loss, X, y, batch_size, &val_means_);
    }
    void agree(int* votes, std::size_t n) const { comm().sum(votes, n); }
    // The ranks' weights, optimizer states and generators are the same, so rank 0's
    // checkpoint is every rank's; its failure is thrown on every rank.
    template <class F>
    void write_checkpoint(F&& save) const
    {
        comm().agreed([&] {
            if (comm().root())
                save();
        });
    }
    // Every rank reads the file, since the optimizer's state has no broadcast. Ranks that read
    // different checkpoints would run different numbers of epochs and wait on each other.
    template <class F>
    FitState read_checkpoint(F&& load) const
    {
        FitState st;
        comm().agreed([&] { st = load(); });
        const auto lo = comm().min(std::uint64_t(st.epochs_done)), hi = comm().max(std::uint64_t(st.epochs_done));
        if (lo != hi)
            throw io_error(
                cat("distributed::fit: the ranks' checkpoints differ: between ", lo, " and ", hi, " epochs done"));
        return st;
    }

private:
    const Communicator& comm() const noexcept { return dp_.communicator(); }

    DataParallel<Net>& dp_;
    const XM& X_;
    const Y& y_;
    Shard s_;
    std::vector<std::size_t> order_;
    std::vector<double> means_, val_means_;
    const std::vector<std::size_t>* perm_ = nullptr;
    std::vector<std::size_t> idx_; // this rank's columns of the batch
    matrix<T> Xb_;
    Y yb_;
};

template <class Net, class Loss, class Opt, class XM, class Y>
History fit_shard(DataParallel<Net>& dp, const Loss& loss, Opt& opt, const XM& X, const Y& y, const Shard& s,
                  const FitOptions& options, const XM* X_val, const Y* y_val)
{
    const Communicator& comm = dp.communicator();
    if (X.shape()[1] != s.count || mininn::detail::target_count(y) != s.count)
        throw shape_error(cat("distributed::fit: rank ", comm.rank(), "'s shard holds ", s.count, " samples but X has ",
                              X.shape()[1], " and the targets ", mininn::detail::target_count(y)));
    if ((X_val == nullptr) != (y_val == nullptr))
        throw std::invalid_argument("distributed::fit: give both X_val and y_val, or neither");
    if (!(options.validation_split >= 0 && options.validation_split < 1))
        throw std::invalid_argument(
            cat("distributed::fit: validation_split must be in [0, 1), got ", options.validation_split));
    const std::size_t n = s.total;
    if (comm.sum(static_cast<std::uint64_t>(s.count)) != n || comm.min(std::uint64_t(n)) != comm.max(std::uint64_t(n)))
        throw shape_error(cat("distributed::fit: the ranks' shards do not add up to ", n, " samples"));
    if (n == 0)
        throw shape_error("distributed::fit: no training samples");
    if (comm.any(X_val != nullptr) != (X_val != nullptr))
        throw std::invalid_argument("distributed::fit: some ranks have a validation set and others not");
    Rng rng(options.seed);
    // A validation_split is fit()'s, of the whole set: the same permutation on every rank, whose
    // last samples validate; each rank keeps those of its shard, and trains on the others.
    std::vector<std::size_t> order;
    XM X_hold;
    Y y_hold, y_train;
    const Y* y_means = &y;
    if (X_val == nullptr && options.validation_split > 0) {
        const auto hold = static_cast<std::size_t>(std::floor(options.validation_split * static_cast<double>(n)));
        if (hold == 0 || hold == n)
            throw shape_error(cat("distributed::fit: validation_split ", options.validation_split, " of ", n,
                                  " samples leaves no ", hold == 0 ? "validation" : "training", " sample"));
        const auto perm = permutation(n, rng);
        order.assign(perm.begin(), perm.end() - static_cast<std::ptrdiff_t>(hold));
        std::vector<std::size_t> mine_train, mine_hold;
        for (std::size_t k = 0; k < n; ++k)
            if (s.contains(perm[k]))
                (k < n - hold ? mine_train : mine_hold).push_back(perm[k] - s.first);
        X_hold = mininn::take_columns(X, mine_hold);
        y_hold = mininn::detail::take_targets(y, mine_hold);
        y_train = mininn::detail::take_targets(y, mine_train);
        y_means = &y_train;
        X_val = &X_hold;
        y_val = &y_hold;
    }
    auto means = global_target_means<task_of<Loss>>(comm, *y_means);
    auto val_means = X_val != nullptr ? global_target_means<task_of<Loss>>(comm, *y_val) : std::vector<double>{};
    shard_backend<Net, XM, Y> backend(dp, X, y, s, std::move(order), std::move(means), std::move(val_means));
    return mininn::detail::train_loop(backend, loss, opt, options, rng, X_val, y_val);
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

/// distributed::evaluate() on a sparse shard X [in, m_r] (the network's first layer must be
/// Dense). Throws as the dense overload does.
template <class Net, class Loss, class Y>
Scores evaluate(DataParallel<Net>& dp, const Loss& loss, const sparse_matrix<typename Net::value_type>& X, const Y& y,
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
/// DataParallel adds them up in one allreduce per batch. The loop is fit()'s (train_loop), so
/// the result equals a single process's fit() on the whole set up to floating-point rounding,
/// and every rank ends with the same weights bit for bit. (A rank's part of a batch varies
/// around batch · s.count / s.total.)
///
/// Decisions that end training are agreed: a callback that returns false on any rank, early
/// stopping, a NaN or inf gradient (numeric_error on every rank), an exception on one rank.
/// Validation (X_val, y_val: the rank's shard of the validation set) and the epoch metrics are
/// reduced across the ranks; on_epoch_end sees the same log on every rank. Epoch lines and the
/// live progress line are printed by rank 0 only. options.checkpoint is written by rank 0, in
/// fit()'s format, after every complete epoch; options.resume_from is read by every rank, so
/// its path must name the same file on every rank (one machine, or a shared filesystem). A
/// checkpoint of fit() resumes here, and one of this fit() resumes in fit(), to rounding.
///
/// A validation_split without X_val holds out fit()'s samples of the whole set (the last of
/// the same permutation of all s.total samples), each rank those in its shard, so training,
/// validation and early stopping match one process's fit() with that split, to rounding.
///
/// Throws on every rank: shape_error when the shards do not add up, X and y do not match s, or
/// the split leaves no training or validation sample, std::invalid_argument for a
/// validation_split outside [0, 1) or a validation set on some ranks only, io_error when the checkpoint cannot be
/// written on rank 0 or read on some rank ("rank r: ..."), and what fit() throws.
template <class Net, class Loss, class Opt, class Y>
History fit(DataParallel<Net>& dp, const Loss& loss, Opt& opt, const matrix<typename Net::value_type>& X, const Y& y,
            const Shard& s, const FitOptions& options, const matrix<typename Net::value_type>* X_val = nullptr,
            const Y* y_val = nullptr)
{
    if constexpr (!mininn::detail::check_target_type<typename Net::value_type, Y>())
        return History{}; // a static_assert has said why
    else
        return detail::fit_shard(dp, loss, opt, X, y, s, options, X_val, y_val);
}

/// distributed::fit() on a sparse shard X [in, s.count] (the network's first layer must be
/// Dense), with an optional sparse validation shard. A rank's part of each batch is a list of
/// column indices into X, never a copy; the results are the dense shard's to rounding. Throws
/// as the dense overload does.
template <class Net, class Loss, class Opt, class Y>
History fit(DataParallel<Net>& dp, const Loss& loss, Opt& opt, const sparse_matrix<typename Net::value_type>& X,
            const Y& y, const Shard& s, const FitOptions& options,
            const sparse_matrix<typename Net::value_type>* X_val = nullptr, const Y* y_val = nullptr)
{
    if constexpr (!mininn::detail::check_target_type<typename Net::value_type, Y>())
        return History{};
    else
        return detail::fit_shard(dp, loss, opt, X, y, s, options, X_val, y_val);
}

} // namespace distributed
} // namespace MININN_ISA
} // namespace mininn
