// mininn: shuffling and selecting samples (columns).
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// A seeded random permutation of 0..n-1.
inline std::vector<std::size_t> permutation(std::size_t n, Rng& rng)
{
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), std::size_t(0));
    rng.shuffle(p.begin(), p.end());
    return p;
}

/// Sample indices for a training set and a test set.
struct SplitIndices {
    std::vector<std::size_t> train, test;
};

/// A seeded random split of n samples: the test set gets round(test_fraction * n) of them, at
/// least 1 and at most n - 1, and the training set the rest, each in shuffled order (the same
/// for the same seed). Use with take_columns and take. Throws std::invalid_argument unless
/// 0 < test_fraction < 1, and shape_error for n < 2.
inline SplitIndices train_test_split(std::size_t n, double test_fraction, Rng& rng)
{
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        throw std::invalid_argument(detail::cat("train_test_split: test_fraction must be in (0, 1), got ", test_fraction));
    if (n < 2)
        throw shape_error(detail::cat("train_test_split: ", n, " samples cannot be split in two"));
    const auto p = permutation(n, rng);
    const auto want = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
    const std::size_t n_test = std::min(n - 1, std::max<std::size_t>(1, want));
    return SplitIndices{std::vector<std::size_t>(p.begin() + static_cast<std::ptrdiff_t>(n_test), p.end()),
                        std::vector<std::size_t>(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n_test))};
}

/// Columns idx of X [d, n] -> [d, idx.size()], gathered row by row (each source row stays
/// in cache). Throws shape_error for an index >= n.
template <class T>
matrix<T> take_columns(const matrix<T>& X, const std::vector<std::size_t>& idx)
{
    const std::size_t d = X.shape()[0], n = X.shape()[1], m = idx.size();
    for (std::size_t j : idx)
        if (j >= n)
            throw shape_error(detail::cat("take_columns: column ", j, " of a matrix with ", n, " columns"));
    matrix<T> out(typename matrix<T>::shape_type{d, m});
    for (std::size_t i = 0; i < d; ++i) {
        const T* src = X.data() + i * n;
        T* dst = out.data() + i * m;
        for (std::size_t k = 0; k < m; ++k)
            dst[k] = src[idx[k]];
    }
    return out;
}

/// Entries idx of labels [n] -> [idx.size()]. Throws shape_error for an index >= n.
inline label_vector take(const label_vector& labels, const std::vector<std::size_t>& idx)
{
    label_vector out(label_vector::shape_type{idx.size()});
    for (std::size_t k = 0; k < idx.size(); ++k) {
        if (idx[k] >= labels.size())
            throw shape_error(detail::cat("take: index ", idx[k], " of ", labels.size(), " labels"));
        out(k) = labels(idx[k]);
    }
    return out;
}

namespace detail {
// Throws shape_error unless perm holds n column indices below n.
inline void check_column_order(const char* who, const std::vector<std::size_t>& perm, std::size_t n)
{
    if (perm.size() != n)
        throw shape_error(cat(who, ": ", perm.size(), " indices for ", n, " columns"));
    for (std::size_t j : perm)
        if (j >= n)
            throw shape_error(cat(who, ": column ", j, " of a matrix with ", n, " columns"));
}
} // namespace detail

/// out = X with its columns in the order perm (out[:, k] = X[:, perm[k]]), X [d, n], perm a
/// permutation of 0..n-1. out is resized only when its shape differs, so shuffling every epoch
/// into the same buffer does not allocate. Gathers row by row: each 60000-wide source row fits
/// in L2. Throws shape_error when perm has the wrong length or an index >= n.
template <class T>
void permute_columns_into(const matrix<T>& X, const std::vector<std::size_t>& perm, matrix<T>& out)
{
    const std::size_t d = X.shape()[0], n = X.shape()[1];
    detail::check_column_order("permute_columns_into", perm, n);
    detail::ensure_shape(out, d, n);
    for (std::size_t i = 0; i < d; ++i) {
        const T* src = X.data() + i * n;
        T* dst = out.data() + i * n;
        for (std::size_t k = 0; k < n; ++k)
            dst[k] = src[perm[k]];
    }
}

/// out = labels in the order perm; resized only when its length differs.
inline void permute_into(const label_vector& labels, const std::vector<std::size_t>& perm, label_vector& out)
{
    if (perm.size() != labels.size())
        throw shape_error(detail::cat("permute_into: ", perm.size(), " indices for ", labels.size(), " labels"));
    detail::ensure_shape(out, perm.size());
    for (std::size_t k = 0; k < perm.size(); ++k) {
        if (perm[k] >= labels.size())
            throw shape_error(detail::cat("permute_into: index ", perm[k], " of ", labels.size(), " labels"));
        out(k) = labels(perm[k]);
    }
}

/// X [d, n] with its columns put in the order perm (X[:, k] becomes the old X[:, perm[k]]), in
/// place: one row of scratch instead of a second copy of X. Throws shape_error when perm has
/// the wrong length or an index >= n.
template <class T>
void permute_columns_in_place(matrix<T>& X, const std::vector<std::size_t>& perm)
{
    const std::size_t d = X.shape()[0], n = X.shape()[1];
    detail::check_column_order("permute_columns_in_place", perm, n);
    std::vector<T> row(n);
    for (std::size_t i = 0; i < d; ++i) {
        T* r = X.data() + i * n;
        for (std::size_t k = 0; k < n; ++k)
            row[k] = r[perm[k]];
        std::copy(row.begin(), row.end(), r);
    }
}

/// labels in the order perm, in place. Throws shape_error as permute_into does.
inline void permute_in_place(label_vector& labels, const std::vector<std::size_t>& perm)
{
    label_vector out;
    permute_into(labels, perm, out);
    labels = std::move(out);
}

/// out = columns [first, first + count) of X [d, n], as a contiguous [d, count] matrix (a
/// mini-batch), resized only when its shape differs. Throws shape_error past the last column.
template <class T>
void copy_columns_into(const matrix<T>& X, std::size_t first, std::size_t count, matrix<T>& out)
{
    const std::size_t d = X.shape()[0], n = X.shape()[1];
    if (first > n || count > n - first)
        throw shape_error(detail::cat("copy_columns_into: columns [", first, ", ", first + count, ") of ", n));
    detail::ensure_shape(out, d, count);
    for (std::size_t i = 0; i < d; ++i)
        std::copy_n(X.data() + i * n + first, count, out.data() + i * count);
}

/// out = labels [first, first + count), resized only when its length differs.
inline void copy_labels_into(const label_vector& labels, std::size_t first, std::size_t count, label_vector& out)
{
    if (first > labels.size() || count > labels.size() - first)
        throw shape_error(detail::cat("copy_labels_into: labels [", first, ", ", first + count, ") of ",
                                      labels.size()));
    detail::ensure_shape(out, count);
    std::copy_n(labels.data() + first, count, out.data());
}

namespace detail {

// Training targets are class indices (label_vector [n]) or a matrix<T> [k, n]; these give both
// the same column operations, so fit() and evaluate() are written once.
// Whether Y is a target type; a static_assert says what to pass instead.
template <class T, class Y>
constexpr bool check_target_type()
{
    constexpr bool ok = std::is_same_v<Y, label_vector> || std::is_same_v<Y, matrix<T>>;
    constexpr bool floats = Y::rank == 1 && std::is_floating_point_v<typename Y::value_type>;
    constexpr bool ints = Y::rank == 1 && std::is_integral_v<typename Y::value_type> && !ok;
    constexpr bool scalar = Y::rank == 2 && !std::is_same_v<typename Y::value_type, T>;
    static_assert(!floats, "targets [n] of floating-point type: class labels go in a label_vector (std::size_t), "
                           "real targets in a matrix<T> [k, n] (for one output, [1, n], e.g. "
                           "matrix<T>(xt::view(y, xt::newaxis(), xt::all())))");
    static_assert(!ints, "class labels go in a label_vector (xt::xtensor<std::size_t, 1>): convert with "
                         "label_vector(xt::cast<std::size_t>(y))");
    static_assert(!scalar, "matrix targets must have the network's scalar type (matrix<float> for a float network)");
    static_assert(ok || floats || ints || scalar,
                  "targets are class indices (label_vector [n]) or a matrix<T> [k, n] of the network's scalar type");
    return ok;
}

inline std::size_t target_count(const label_vector& y) noexcept { return y.size(); }
template <class T>
std::size_t target_count(const matrix<T>& Y) noexcept
{
    return Y.shape()[1];
}
inline label_vector take_targets(const label_vector& y, const std::vector<std::size_t>& idx) { return take(y, idx); }
template <class T>
matrix<T> take_targets(const matrix<T>& Y, const std::vector<std::size_t>& idx)
{
    return take_columns(Y, idx);
}
inline void permute_targets_into(const label_vector& y, const std::vector<std::size_t>& perm, label_vector& out)
{
    permute_into(y, perm, out);
}
template <class T>
void permute_targets_into(const matrix<T>& Y, const std::vector<std::size_t>& perm, matrix<T>& out)
{
    permute_columns_into(Y, perm, out);
}
inline void permute_targets_in_place(label_vector& y, const std::vector<std::size_t>& perm)
{
    permute_in_place(y, perm);
}
template <class T>
void permute_targets_in_place(matrix<T>& Y, const std::vector<std::size_t>& perm)
{
    permute_columns_in_place(Y, perm);
}
inline void copy_targets_into(const label_vector& y, std::size_t first, std::size_t count, label_vector& out)
{
    copy_labels_into(y, first, count, out);
}
template <class T>
void copy_targets_into(const matrix<T>& Y, std::size_t first, std::size_t count, matrix<T>& out)
{
    copy_columns_into(Y, first, count, out);
}

} // namespace detail

} // namespace MININN_ISA
} // namespace mininn
