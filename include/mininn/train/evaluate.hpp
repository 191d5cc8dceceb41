// mininn: evaluate(), the loss and the metrics that fit the loss, over a data set.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "../data/columns.hpp"
#include "../core/errors.hpp"
#include "../losses/loss.hpp"
#include "metrics.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// The loss and the metrics of one pass over a data set. Metrics that do not fit the loss's
/// Task are NaN: accuracy for classification and binary losses, mse, mae and r2 for regression.
struct Scores {
    static constexpr double none = std::numeric_limits<double>::quiet_NaN();
    double loss = none;
    double accuracy = none; ///< fraction of samples (binary: of outputs) predicted right
    double mse = none;      ///< mean squared error over all outputs (without the loss's 1/2)
    double mae = none;      ///< mean absolute error over all outputs
    double r2 = none;       ///< R^2 of each output, averaged over the outputs (scikit-learn's)
};

namespace detail {

// Counts columns of out [K, n] whose largest entry is at row y[j]; best/arg are workspaces.
template <class T>
std::size_t count_correct(const matrix<T>& out, const label_vector& y, vector<T>& best, label_vector& arg)
{
    argmax_columns(out, best, arg);
    const std::size_t n = out.shape()[1];
    std::size_t correct = 0;
    for (std::size_t j = 0; j < n; ++j)
        correct += arg(j) == y(j);
    return correct;
}

// The metrics of Task task, accumulated batch by batch: start() with all the targets of the
// set, add() each batch's outputs and targets, then finish(). Workspaces are kept, so adding
// batches of a steady size does not allocate.
template <class T, Task task>
class scorer {
public:
    // mean: the mean of each target row over the whole set, when `all` is only a part of it
    // (the shard of one process; see sums()).
    template <class Y>
    void start(const Y& all, const std::vector<double>* mean = nullptr)
    {
        right_ = count_ = 0;
        if constexpr (task == Task::regression) {
            const std::size_t k = all.shape()[0], n = all.shape()[1];
            mean_.assign(k, 0.0);
            res_.assign(k, 0.0);
            tot_.assign(k, 0.0);
            abs_ = 0;
            if (mean != nullptr) {
                mean_ = *mean;
                return;
            }
            for (std::size_t i = 0; i < k; ++i) {
                for (std::size_t j = 0; j < n; ++j)
                    mean_[i] += static_cast<double>(all(i, j));
                mean_[i] /= static_cast<double>(n);
            }
        } else {
            static_cast<void>(all);
            static_cast<void>(mean);
        }
    }

    // The sums behind the metrics (counts, absolute and squared errors), so that processes
    // that scored parts of one set can add theirs up and set them back before finish().
    std::vector<double> sums() const
    {
        std::vector<double> s{static_cast<double>(right_), static_cast<double>(count_), abs_};
        s.insert(s.end(), res_.begin(), res_.end());
        s.insert(s.end(), tot_.begin(), tot_.end());
        return s;
    }
    void set_sums(const std::vector<double>& s)
    {
        right_ = static_cast<std::size_t>(s[0]);
        count_ = static_cast<std::size_t>(s[1]);
        abs_ = s[2];
        const std::size_t k = res_.size();
        std::copy_n(s.begin() + 3, k, res_.begin());
        std::copy_n(s.begin() + 3 + static_cast<std::ptrdiff_t>(k), k, tot_.begin());
    }

    template <class Y>
    void add(const matrix<T>& out, const Y& y)
    {
        const std::size_t k = out.shape()[0], n = out.shape()[1];
        if constexpr (task == Task::classification) {
            count_ += n;
            if constexpr (is_index_vector<Y>) {
                right_ += count_correct(out, y, best_, arg_);
            } else { // one-hot targets: compare with the argmax of each target column
                ensure_shape(truth_, n);
                for (std::size_t j = 0; j < n; ++j) {
                    std::size_t a = 0;
                    for (std::size_t i = 1; i < k; ++i)
                        if (y(i, j) > y(a, j))
                            a = i;
                    truth_(j) = a;
                }
                right_ += count_correct(out, truth_, best_, arg_);
            }
        } else if constexpr (task == Task::binary) {
            count_ += k * n;
            for (std::size_t i = 0; i < k; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                    bool t;
                    if constexpr (is_index_vector<Y>)
                        t = y(j) != 0;
                    else
                        t = y(i, j) >= T(0.5);
                    right_ += (out(i, j) >= T(0.5)) == t;
                }
        } else if constexpr (task == Task::regression) {
            count_ += k * n;
            for (std::size_t i = 0; i < k; ++i)
                for (std::size_t j = 0; j < n; ++j) {
                    const double t = static_cast<double>(y(i, j));
                    const double d = static_cast<double>(out(i, j)) - t;
                    res_[i] += d * d;
                    abs_ += std::abs(d);
                    tot_[i] += (t - mean_[i]) * (t - mean_[i]);
                }
        }
    }

    void finish(Scores& s) const
    {
        if (count_ == 0)
            return;
        if constexpr (task == Task::classification || task == Task::binary)
            s.accuracy = static_cast<double>(right_) / static_cast<double>(count_);
        if constexpr (task == Task::regression) {
            double res = 0, r2 = 0;
            for (std::size_t i = 0; i < res_.size(); ++i) {
                res += res_[i];
                r2 += r2_of(res_[i], tot_[i]);
            }
            s.mse = res / static_cast<double>(count_);
            s.mae = abs_ / static_cast<double>(count_);
            s.r2 = r2 / static_cast<double>(res_.size());
        }
    }

private:
    std::size_t right_ = 0, count_ = 0;
    vector<T> best_;
    label_vector arg_, truth_;
    std::vector<double> mean_, res_, tot_;
    double abs_ = 0;
};

// Runs net over X [in, n] (dense or sparse) in chunks of batch_size columns (0: all at once),
// adding each chunk's outputs to score; returns the summed loss (each chunk's mean times its
// columns). Sparse chunks are views of X's columns, dense ones copies.
template <class Net, class Loss, class XM, class Y, class Scorer>
double score_batches(Net& net, const Loss& loss, const XM& X, const Y& y, std::size_t batch_size, Scorer& score)
{
    const std::size_t n = X.shape()[1];
    if (batch_size == 0 || batch_size >= n) {
        const double value = static_cast<double>(net.loss_value(loss, X, y));
        score.add(net.output(), y);
        return value * static_cast<double>(n);
    }
    matrix<typename Net::value_type> Xb;
    Y yb;
    double total = 0;
    for (std::size_t first = 0; first < n; first += batch_size) {
        const std::size_t count = std::min(batch_size, n - first);
        copy_targets_into(y, first, count, yb);
        double value;
        if constexpr (is_sparse_v<XM>) {
            value = static_cast<double>(net.loss_value(loss, X.columns(first, count), yb));
        } else {
            copy_columns_into(X, first, count, Xb);
            value = static_cast<double>(net.loss_value(loss, Xb, yb));
        }
        total += value * static_cast<double>(count);
        score.add(net.output(), yb);
    }
    return total;
}

template <class Net, class Loss, class XM, class Y>
Scores evaluate_impl(Net& net, const Loss& loss, const XM& X, const Y& y, std::size_t batch_size)
{
    using T = typename Net::value_type;
    if constexpr (!check_target_type<T, Y>()) {
        return Scores{}; // a static_assert has said why
    } else {
        const std::size_t n = X.shape()[1];
        if (target_count(y) != n)
            throw shape_error(cat("evaluate: targets for ", target_count(y), " samples but X has ", n,
                                  " (samples are columns)"));
        if (n == 0)
            throw shape_error(cat("evaluate: no samples (X is ", shape_str(X.shape()), ")"));
        const typename Net::eval_scope mode(net); // Dropout and the like pass their inputs through
        scorer<T, task_of<Loss>> score;
        score.start(y);
        Scores s;
        s.loss = score_batches(net, loss, X, y, batch_size, score) / static_cast<double>(n);
        score.finish(s);
        return s;
    }
}

} // namespace detail

/// The loss and the metrics that fit it (see Scores) of net, in evaluation mode, on X [in, n]
/// against targets Y, as
/// the loss takes them (class indices [n], one-hot or 0/1 [k, n], real [k, n]), evaluated in
/// chunks of batch_size columns (0: all at once). Throws shape_error when Y does not have n
/// samples or n = 0, and whatever the network and the loss throw.
template <class Net, class Loss, class Y>
Scores evaluate(Net& net, const Loss& loss, const matrix<typename Net::value_type>& X, const Y& y,
                std::size_t batch_size = 0)
{
    return detail::evaluate_impl(net, loss, X, y, batch_size);
}

/// evaluate() on a sparse X [in, n] (the network's first layer must be Dense); its chunks
/// are views of X's columns.
template <class Net, class Loss, class Y>
Scores evaluate(Net& net, const Loss& loss, const sparse_matrix<typename Net::value_type>& X, const Y& y,
                std::size_t batch_size = 0)
{
    return detail::evaluate_impl(net, loss, X, y, batch_size);
}

} // namespace MININN_ISA
} // namespace mininn
