// mininn: standardizing features with statistics learned on the training set.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// Scales each feature (row) to zero mean and unit variance: z = (x - mean) / scale, with the
/// mean and the population standard deviation of the rows of the training set, as
/// scikit-learn's StandardScaler; a constant feature gets scale 1. fit() learns them once,
/// transform() applies them to the training set and to any other (test, new data).
template <class T>
class Standardizer {
public:
    /// Learns from X [d, n], n >= 1. Throws shape_error for n = 0 and numeric_error for a
    /// feature that is NaN or infinite.
    void fit(const matrix<T>& X)
    {
        const std::size_t d = X.shape()[0], n = X.shape()[1];
        if (n == 0)
            throw shape_error(detail::cat("Standardizer::fit: ", detail::shape_str(X.shape()), " has no samples"));
        mean_.assign(d, T(0));
        scale_.assign(d, T(1));
        for (std::size_t i = 0; i < d; ++i) {
            const T* x = X.data() + i * n;
            double sum = 0;
            for (std::size_t j = 0; j < n; ++j)
                sum += static_cast<double>(x[j]);
            const double mean = sum / static_cast<double>(n);
            double sq = 0; // two passes: no cancellation for features far from zero
            for (std::size_t j = 0; j < n; ++j)
                sq += (static_cast<double>(x[j]) - mean) * (static_cast<double>(x[j]) - mean);
            const double sd = std::sqrt(sq / static_cast<double>(n));
            if (!std::isfinite(mean) || !std::isfinite(sd))
                throw numeric_error(detail::cat("Standardizer::fit: feature ", i, " is not finite"));
            mean_[i] = static_cast<T>(mean);
            scale_[i] = sd > 0 ? static_cast<T>(sd) : T(1);
        }
    }

    /// (X - mean) / scale for X [d, m] with the fitted d. Throws std::logic_error before fit()
    /// and shape_error for another row count.
    matrix<T> transform(const matrix<T>& X) const
    {
        if (mean_.empty())
            throw std::logic_error("Standardizer::transform called before fit");
        const std::size_t d = X.shape()[0], n = X.shape()[1];
        if (d != mean_.size())
            throw shape_error(detail::cat("Standardizer::transform: expected [", mean_.size(),
                                          ", n] (samples are columns), got ", detail::shape_str(X.shape())));
        matrix<T> out(X.shape());
        for (std::size_t i = 0; i < d; ++i) {
            const T* x = X.data() + i * n;
            T* z = out.data() + i * n;
            const T m = mean_[i], s = scale_[i];
            for (std::size_t j = 0; j < n; ++j)
                z[j] = (x[j] - m) / s;
        }
        return out;
    }

    matrix<T> fit_transform(const matrix<T>& X)
    {
        fit(X);
        return transform(X);
    }

    const std::vector<T>& mean() const noexcept { return mean_; }
    const std::vector<T>& scale() const noexcept { return scale_; }

private:
    std::vector<T> mean_, scale_;
};

} // namespace MININN_ISA
} // namespace mininn
