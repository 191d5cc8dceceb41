// mininn: the squared-error loss for real-valued targets (regression).
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <string>
#include <type_traits>

#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "loss.hpp"
#include "../core/tensor.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {

/// L = (1/(2n)) sum_j ||Yhat[:, j] - Y[:, j]||^2, half the batch mean of the squared error
/// norm of each sample, for outputs Yhat [k, n] and real targets Y [k, n]. The half makes the
/// gradient (Yhat - Y) / n, the scale of the cross-entropies' (P - Y) / n, so the same learning
/// rates work; for k = 1 it is scikit-learn's MLPRegressor loss. fit() and evaluate() report
/// the mean squared error itself (mean over all k n entries, no half) beside it.
///
/// Targets are a matrix<T> [k, n] of the network's scalar type; for one output, [1, n].
/// Throws shape_error when Y does not match Yhat, numeric_error when either holds NaN or inf.
struct MeanSquaredError {
    static constexpr Task task = Task::regression;
    std::string name() const { return "MeanSquaredError"; }

    template <class T, class Y>
    T value(const matrix<T>& out, const Y& y) const
    {
        check(out, y);
        const std::size_t n = out.shape()[1];
        const T total = detail::map_reduce(out.data(), y.data(), out.size(), [](auto a, auto b) {
            const auto d = a - b;
            return d * d;
        });
        return detail::checked_mean_loss("MeanSquaredError", total / T(2), n);
    }

    /// dL/dYhat = (Yhat - Y) / n into G [k, n] (resized if needed).
    template <class T, class Y>
    void gradient(const matrix<T>& out, const Y& y, matrix<T>& G) const
    {
        check(out, y);
        detail::ensure_shape(G, out.shape()[0], out.shape()[1]);
        const T inv_n = T(1) / static_cast<T>(out.shape()[1]);
        detail::map(out.data(), y.data(), G.data(), out.size(),
                    [inv_n](auto a, auto b) { return (a - b) * inv_n; }); // d/da of (a - b)^2 / (2n)
    }

    /// Whether targets of type Y fit outputs of scalar type T; a static_assert says why not.
    template <class T, class Y>
    static constexpr bool accepts()
    {
        constexpr bool ok = std::is_same_v<Y, matrix<T>>;
        static_assert(ok, "MeanSquaredError targets are a matrix<T> [k, n] of the network's scalar type, one column "
                          "per sample (for one output, [1, n]); class labels need CrossEntropy or BinaryCrossEntropy");
        return ok;
    }

    /// Checks targets for outputs [k, n]: throws shape_error unless Y is [k, n].
    template <class T, class Y>
    static void check_targets(std::size_t k, std::size_t n, const Y& y)
    {
        if constexpr (!accepts<T, Y>())
            return;
        else if (y.shape()[0] != k || y.shape()[1] != n)
            throw shape_error(detail::cat("MeanSquaredError: targets ", detail::shape_str(y.shape()),
                                          " do not match predictions [", k, ", ", n,
                                          "] (expected [outputs, samples], samples are columns)"));
    }

private:
    template <class T, class Y>
    static void check(const matrix<T>& out, const Y& y)
    {
        check_targets<T>(out.shape()[0], out.shape()[1], y);
    }
};

} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
