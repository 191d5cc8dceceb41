// mininn: the cross-entropy loss over class probabilities.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <type_traits>

#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "loss.hpp"
#include "../core/tensor.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {
template <class I>
bool label_in_range(I y, std::size_t K)
{
    if constexpr (std::is_signed_v<I>)
        if (y < 0)
            return false;
    return static_cast<std::size_t>(y) < K;
}
} // namespace detail

/// L = -(1/n) sum_j sum_i Y[i, j] log P[i, j], the batch mean of the per-sample loss.
///
/// P [K, n] holds probabilities, one column per sample (the output of Softmax). Labels are
/// either class indices (an integer xtensor [n], each in [0, K)) or one-hot columns
/// (matrix<T> [K, n], each column summing to 1). log is taken of max(P, smallest normal
/// T), so P = 0 gives a large finite loss, never inf or NaN. This is the one place where
/// the 1/n batch mean is applied.
///
/// Throws shape_error when P and the labels disagree in shape or sample count, label_error
/// for an index outside [0, K) or a column that is not a distribution, numeric_error when P
/// itself contains NaN or inf. Floating-point labels [n] and integer matrices are refused at
/// compile time. In a Network it needs a final Softmax (a static_assert says so).
struct CrossEntropy {
    static constexpr Task task = Task::classification;
    std::string name() const { return "CrossEntropy"; }

    /// The loss value (a scalar).
    template <class T, class L>
    T value(const matrix<T>& P, const L& Y) const
    {
        check(P, Y);
        const std::size_t n = P.shape()[1];
        constexpr T tiny = std::numeric_limits<T>::min();
        T total = 0;
        if constexpr (is_indices<L>) {
            for (std::size_t j = 0; j < n; ++j)
                total -= std::log(std::max(P(static_cast<std::size_t>(Y(j)), j), tiny));
        } else {
            total = -onehot_log_likelihood(P, Y);
        }
        return mean_loss(total, n);
    }

    /// dL/dP = -Y / (n max(P, tiny)) into G [K, n] (resized if needed).
    template <class T, class L>
    void gradient(const matrix<T>& P, const L& Y, matrix<T>& G) const
    {
        check(P, Y);
        const std::size_t K = P.shape()[0], n = P.shape()[1];
        detail::ensure_shape(G, K, n);
        constexpr T tiny = std::numeric_limits<T>::min();
        const T inv_n = T(1) / static_cast<T>(n);
        if constexpr (is_indices<L>) {
            std::fill(G.begin(), G.end(), T(0));
            for (std::size_t j = 0; j < n; ++j) {
                const auto c = static_cast<std::size_t>(Y(j));
                G(c, j) = -inv_n / std::max(P(c, j), tiny); // d/dp of -log p / n
            }
        } else {
            detail::map(Y.data(), P.data(), G.data(), K * n, [inv_n](auto y, auto p) {
                return -inv_n * y / floor_at_tiny(p); // d/dp of -y log p / n
            });
        }
    }

    /// The gradient with respect to the logits Z when P = softmax(Z): (P - Y) / n into G.
    /// Exact for labels whose columns sum to 1, which check() enforces.
    template <class T, class L>
    void softmax_gradient(const matrix<T>& P, const L& Y, matrix<T>& G) const
    {
        check(P, Y);
        write_softmax_gradient(P, Y, G, static_cast<T*>(nullptr));
    }

    /// value() and softmax_gradient() in one sweep, checking the labels once: returns the
    /// loss and writes (P - Y) / n into G. work is a length-n scratch vector (resized if needed).
    template <class T, class L>
    T softmax_value_and_gradient(const matrix<T>& P, const L& Y, matrix<T>& G, vector<T>& work) const
    {
        check(P, Y);
        const std::size_t n = P.shape()[1];
        T total = 0;
        if constexpr (is_indices<L>) {
            detail::ensure_shape(work, n);
            write_softmax_gradient(P, Y, G, work.data()); // gathers P[y_j, j] so the logs run vectorised
            total = -detail::map_reduce(work.data(), work.data(), n,
                                        [](auto p, auto) { return detail::log_normal(floor_at_tiny(p)); });
        } else {
            write_softmax_gradient(P, Y, G, static_cast<T*>(nullptr));
            total = -onehot_log_likelihood(P, Y);
        }
        return mean_loss(total, n);
    }

    /// The loss of P = softmax(Z) taken from the logits Z [K, n] themselves, exact where P
    /// underflows (and so equal to the fused head's):
    ///   -log P[k, j] = m_j + log sum_i e^(Z[i, j] - m_j) - Z[k, j],  m_j = max_i Z[i, j].
    /// work is scratch, resized to [2, n]. Throws as value() does.
    template <class T, class L>
    T value_from_logits(const matrix<T>& Z, const L& Y, matrix<T>& work) const
    {
        check(Z, Y);
        const std::size_t K = Z.shape()[0], n = Z.shape()[1];
        detail::ensure_shape(work, 2, n);
        T* lse = work.data();
        T* sum = lse + n;
        std::copy_n(Z.data(), n, lse);
        for (std::size_t i = 1; i < K; ++i)
            detail::map(Z.data() + i * n, lse, lse, n, [](auto z, auto m) { return xsimd::max(z, m); });
        std::fill_n(sum, n, T(0));
        for (std::size_t i = 0; i < K; ++i)
            detail::map(Z.data() + i * n, lse, sum, sum, n,
                        [](auto z, auto m, auto acc) { return acc + detail::exp_nonpositive(z - m); });
        detail::map(sum, lse, lse, n, [](auto s, auto m) { return m + detail::log_normal(s); });
        T total = 0;
        if constexpr (is_indices<L>) {
            for (std::size_t j = 0; j < n; ++j)
                total += lse[j] - Z(static_cast<std::size_t>(Y(j)), j);
        } else {
            // sum_j (sum_k Y[k, j]) lse_j - sum_kj Y[k, j] Z[k, j]
            T yz = 0;
            std::fill_n(sum, n, T(0));
            for (std::size_t i = 0; i < K; ++i) {
                yz += detail::map_reduce(Y.data() + i * n, Z.data() + i * n, n, [](auto y, auto z) { return y * z; });
                detail::map(Y.data() + i * n, sum, sum, n, [](auto y, auto acc) { return acc + y; });
            }
            total = detail::map_reduce(sum, lse, n, [](auto ys, auto l) { return ys * l; }) - yz;
        }
        return mean_loss(total, n);
    }

    /// Whether labels of type L fit predictions of scalar type T; a static_assert says why not
    /// (one message per mistake, so a Network or fit() stops at it).
    template <class T, class L>
    static constexpr bool accepts()
    {
        constexpr bool floats = L::rank == 1 && std::is_floating_point_v<typename L::value_type>;
        constexpr bool int_matrix = L::rank == 2 && std::is_integral_v<typename L::value_type>;
        constexpr bool ok = is_indices<L> || std::is_same_v<L, matrix<T>>;
        static_assert(!floats, "CrossEntropy: class labels are integers (label_vector, [n]); floating-point labels "
                               "would be truncated. Convert them with label_vector(xt::cast<std::size_t>(y)) once "
                               "you know they are whole numbers, or use MeanSquaredError for real targets");
        static_assert(!int_matrix, "CrossEntropy: an integer matrix is neither class indices nor one-hot targets. "
                                   "Pass class indices as a 1-D label_vector [n] (label_vector(xt::flatten(y))), or "
                                   "one-hot targets as a matrix<T> [K, n] of the network's scalar type");
        static_assert(ok || floats || int_matrix,
                      "CrossEntropy labels are an integer xt::xtensor<I, 1> of class indices "
                      "or a one-hot matrix<T> [K, n] of the network's scalar type");
        return ok;
    }

    /// Checks labels for predictions [K, n] of scalar type T, as value() does, without the
    /// predictions: throws shape_error or label_error naming the first bad label.
    template <class T, class L>
    static void check_labels(std::size_t K, std::size_t n, const L& Y)
    {
        if constexpr (!accepts<T, L>())
            return;
        const std::array<std::size_t, 2> shape{K, n};
        if constexpr (is_indices<L>) {
            if (Y.shape()[0] != n)
                throw shape_error(detail::cat("CrossEntropy: ", Y.shape()[0], " labels for ", n,
                                              " samples (predictions are ", detail::shape_str(shape),
                                              ", samples are columns)"));
            for (std::size_t j = 0; j < n; ++j) {
                const auto y = Y(j);
                if (!detail::label_in_range(y, K))
                    throw label_error(
                        detail::cat("CrossEntropy: label ", +y, " of sample ", j, " is outside [0, ", K, ")"));
            }
        } else {
            if (Y.shape()[0] == 1 && K > 1 && Y.shape()[1] == n)
                throw shape_error(detail::cat("CrossEntropy: targets [1, ", n, "] for ", K,
                                              " classes: class indices go in a 1-D integer label_vector [n] "
                                              "(label_vector(xt::cast<std::size_t>(xt::flatten(y)))), "
                                              "one-hot targets in a matrix [", K, ", n]"));
            if (Y.shape()[0] != K || Y.shape()[1] != n)
                throw shape_error(detail::cat("CrossEntropy: one-hot labels ", detail::shape_str(Y.shape()),
                                              " do not match predictions ", detail::shape_str(shape),
                                              " (expected [classes, samples], samples are columns)"));
            for (std::size_t j = 0; j < n; ++j) {
                T s = 0;
                for (std::size_t i = 0; i < K; ++i)
                    s += Y(i, j);
                if (!(std::abs(s - T(1)) <= T(1e-3)))
                    throw label_error(detail::cat("CrossEntropy: one-hot column ", j, " sums to ", s, ", expected 1"));
            }
        }
    }

    /// The batch mean total / n of a summed loss. Throws numeric_error when it is NaN or inf.
    template <class T>
    static T mean_loss(T total, std::size_t n)
    {
        return detail::checked_mean_loss("CrossEntropy", total, n);
    }

private:
    // (P - Y) / n into G, resized if needed. With class indices and gathered non-null, also
    // stores P[y_j, j] in gathered[j]. The labels must have passed check().
    template <class T, class L>
    static void write_softmax_gradient(const matrix<T>& P, const L& Y, matrix<T>& G, T* gathered)
    {
        const std::size_t K = P.shape()[0], n = P.shape()[1];
        detail::ensure_shape(G, K, n);
        const T inv_n = T(1) / static_cast<T>(n);
        if constexpr (is_indices<L>) {
            detail::map(P.data(), G.data(), K * n, [inv_n](auto p) { return p * inv_n; });
            for (std::size_t j = 0; j < n; ++j) {
                const auto c = static_cast<std::size_t>(Y(j));
                if (gathered != nullptr)
                    gathered[j] = P(c, j);
                G(c, j) -= inv_n;
            }
        } else {
            detail::map(P.data(), Y.data(), G.data(), K * n, [inv_n](auto p, auto y) { return (p - y) * inv_n; });
        }
    }

    // sum_ij Y[i, j] log max(P[i, j], tiny) for one-hot (or soft) label columns.
    template <class T>
    static T onehot_log_likelihood(const matrix<T>& P, const matrix<T>& Y)
    {
        const std::size_t K = P.shape()[0], n = P.shape()[1];
        T total = 0;
        for (std::size_t i = 0; i < K; ++i)
            total += detail::map_reduce(Y.data() + i * n, P.data() + i * n, n,
                                        [](auto y, auto p) { return y * detail::log_normal(floor_at_tiny(p)); });
        return total;
    }

    // max(p, smallest normal) that keeps a NaN (p < tiny is false for NaN), so it reaches the
    // loss and is reported; min/max instructions would silently replace it.
    template <class V>
    static V floor_at_tiny(V p)
    {
        using detail::select;
        const V tiny(std::numeric_limits<detail::scalar_of_t<V>>::min());
        return select(p < tiny, tiny, p);
    }

    template <class L>
    static constexpr bool is_indices = detail::is_index_vector<L>;

    template <class T, class L>
    static void check(const matrix<T>& P, const L& Y)
    {
        check_labels<T>(P.shape()[0], P.shape()[1], Y);
    }
};

/// One-hot columns [K, n] from class indices [n]. Throws label_error for an index outside [0, K).
template <class T, class I>
matrix<T> one_hot(const xt::xtensor<I, 1>& labels, std::size_t K)
{
    const std::size_t n = labels.shape()[0];
    matrix<T> Y = xt::zeros<T>({K, n});
    for (std::size_t j = 0; j < n; ++j) {
        const auto y = labels(j);
        if (!detail::label_in_range(y, K))
            throw label_error(detail::cat("one_hot: label ", +y, " of sample ", j, " is outside [0, ", K, ")"));
        Y(static_cast<std::size_t>(y), j) = T(1);
    }
    return Y;
}

} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
