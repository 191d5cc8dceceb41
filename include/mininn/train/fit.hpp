// mininn: fit(), the checks of its arguments and its validation split; the loop itself is
// train_loop (loop.hpp), which distributed::fit() runs too.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"
#include "../data/columns.hpp"
#include "history.hpp"
#include "loop.hpp"

namespace mininn {
inline namespace MININN_ISA {

namespace detail {

// fit(): X and y, or the part a validation_split leaves of them, go to local_backend; own_X
// and own_y (the training set handed over) let it shuffle in place. XM is matrix<T> or
// sparse_matrix<T>.
template <class Net, class Loss, class Opt, class XM, class Y>
History fit_impl(Net& net, const Loss& loss, Opt& opt, const XM& X, const Y& y, const FitOptions& options,
                 const XM* X_val, const Y* y_val, XM* own_X, Y* own_y)
{
    constexpr bool sparse = is_sparse_v<XM>;
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

    local_backend<Net, XM, Y> backend(net, *Xt, *yt, own_X, own_y);
    return train_loop(backend, loss, opt, options, rng, X_val, y_val);
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
