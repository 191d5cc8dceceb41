// mininn: the binary cross-entropy loss over independent sigmoid outputs.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <type_traits>

#include "../core/errors.hpp"
#include "loss.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// L = -(1/n) sum_j sum_i [Y log P + (1 - Y) log(1 - P)], the batch mean over samples of the
/// summed per-output loss, for P = sigmoid(Z) [k, n] (k independent yes/no outputs).
///
/// Targets are a matrix<T> [k, n] of values in [0, 1] (0/1 labels, or probabilities), or, for
/// one output, integer labels [n] that are 0 or 1. In a Network it needs a final Sigmoid (a
/// static_assert says so); the network then takes the loss from the logits Z and the gradient
/// dL/dZ = (P - Y) / n directly, so saturated outputs (|Z| of 1000) give finite values.
/// On its own, value() takes log max(P, tiny) and log max(1 - P, tiny), so it is finite too.
///
/// Throws shape_error when the targets do not match P, label_error for a target outside
/// [0, 1] (or an integer label other than 0 and 1), numeric_error when P holds NaN or inf.
struct BinaryCrossEntropy {
    static constexpr Task task = Task::binary;
    std::string name() const { return "BinaryCrossEntropy"; }

    /// The loss value from probabilities P [k, n].
    template <class T, class Y>
    T value(const matrix<T>& P, const Y& y) const
    {
        check(P, y);
        constexpr T tiny = std::numeric_limits<T>::min();
        const std::size_t k = P.shape()[0], n = P.shape()[1];
        T total = 0;
        for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const T p = P(i, j), t = at<T>(y, i, j);
                total -= t * std::log(std::max(p, tiny)) + (T(1) - t) * std::log(std::max(T(1) - p, tiny));
            }
        return detail::checked_mean_loss("BinaryCrossEntropy", total, n);
    }

    /// dL/dP into G [k, n] (resized if needed).
    template <class T, class Y>
    void gradient(const matrix<T>& P, const Y& y, matrix<T>& G) const
    {
        check(P, y);
        constexpr T tiny = std::numeric_limits<T>::min();
        const std::size_t k = P.shape()[0], n = P.shape()[1];
        detail::ensure_shape(G, k, n);
        const T inv_n = T(1) / static_cast<T>(n);
        for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const T p = P(i, j);
                // d/dp of -(t log p + (1 - t) log(1 - p)) / n = (p - t) / (n p (1 - p))
                G(i, j) = inv_n * (p - at<T>(y, i, j)) / std::max(p * (T(1) - p), tiny);
            }
    }

    /// The loss of P = sigmoid(Z) taken from the logits Z [k, n], exact where P rounds to 0 or 1:
    ///   -(t log p + (1 - t) log(1 - p)) = max(z, 0) - t z + log(1 + e^-|z|).
    template <class T, class Y>
    T value_from_logits(const matrix<T>& Z, const Y& y) const
    {
        check(Z, y);
        const std::size_t k = Z.shape()[0], n = Z.shape()[1];
        T total = 0;
        for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const T z = Z(i, j);
                total += std::max(z, T(0)) - at<T>(y, i, j) * z + std::log1p(std::exp(-std::abs(z)));
            }
        return detail::checked_mean_loss("BinaryCrossEntropy", total, n);
    }

    /// The gradient with respect to the logits when P = sigmoid(Z): (P - Y) / n into G.
    template <class T, class Y>
    void sigmoid_gradient(const matrix<T>& P, const Y& y, matrix<T>& G) const
    {
        check(P, y);
        const std::size_t k = P.shape()[0], n = P.shape()[1];
        detail::ensure_shape(G, k, n);
        const T inv_n = T(1) / static_cast<T>(n);
        for (std::size_t i = 0; i < k; ++i)
            for (std::size_t j = 0; j < n; ++j)
                G(i, j) = (P(i, j) - at<T>(y, i, j)) * inv_n; // dL/dz = (sigmoid(z) - t) / n
    }

    /// Whether targets of type Y fit outputs of scalar type T; a static_assert says why not.
    template <class T, class Y>
    static constexpr bool accepts()
    {
        constexpr bool ok = detail::is_index_vector<Y> || std::is_same_v<Y, matrix<T>>;
        static_assert(ok, "BinaryCrossEntropy targets are a matrix<T> [k, n] of 0/1 values of the network's scalar "
                          "type (for one output, [1, n]), or integer 0/1 labels [n] (label_vector)");
        return ok;
    }

    /// Checks targets for outputs [k, n] of scalar type T: throws shape_error or label_error
    /// naming the first bad target.
    template <class T, class Y>
    static void check_targets(std::size_t k, std::size_t n, const Y& y)
    {
        if constexpr (!accepts<T, Y>())
            return;
        const std::array<std::size_t, 2> shape{k, n};
        if constexpr (detail::is_index_vector<Y>) {
            if (k != 1)
                throw shape_error(detail::cat("BinaryCrossEntropy: integer labels [n] are for one output, but the "
                                              "predictions are ", detail::shape_str(shape),
                                              "; pass a 0/1 matrix [", k, ", n] for several outputs"));
            if (y.shape()[0] != n)
                throw shape_error(detail::cat("BinaryCrossEntropy: ", y.shape()[0], " labels for ", n,
                                              " samples (samples are columns)"));
            for (std::size_t j = 0; j < n; ++j)
                if (y(j) != 0 && y(j) != 1)
                    throw label_error(detail::cat("BinaryCrossEntropy: label ", +y(j), " of sample ", j,
                                                  " is not 0 or 1"));
        } else {
            if (y.shape()[0] != k || y.shape()[1] != n)
                throw shape_error(detail::cat("BinaryCrossEntropy: targets ", detail::shape_str(y.shape()),
                                              " do not match predictions ", detail::shape_str(shape),
                                              " (expected [outputs, samples], samples are columns)"));
            for (std::size_t i = 0; i < k; ++i)
                for (std::size_t j = 0; j < n; ++j)
                    if (!(y(i, j) >= T(0) && y(i, j) <= T(1)))
                        throw label_error(detail::cat("BinaryCrossEntropy: target ", y(i, j), " of sample ", j,
                                                      ", output ", i, " is outside [0, 1]"));
        }
    }

private:
    template <class T, class Y>
    static T at(const Y& y, std::size_t i, std::size_t j)
    {
        if constexpr (detail::is_index_vector<Y>) {
            (void)i;
            return static_cast<T>(y(j));
        } else {
            return y(i, j);
        }
    }

    template <class T, class Y>
    static void check(const matrix<T>& P, const Y& y)
    {
        check_targets<T>(P.shape()[0], P.shape()[1], y);
    }
};

} // namespace MININN_ISA
} // namespace mininn
