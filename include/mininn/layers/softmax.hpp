// mininn: the softmax layer, over the classes of each sample (each column).
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <string>

#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "spec.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {

/// Softmax over each column: S[i, j] = exp(Z[i, j] - max_i Z) / sum_i exp(Z[i, j] - max_i Z).
/// Shapes: Z [K, n] -> S [K, n]. Subtracting the column max keeps exp from overflowing.
///
/// Followed by CrossEntropy, a Network skips this layer's backward and uses the fused
/// gradient (S - Y) / n; backward() here is the general Jacobian-vector product.
template <class T = float>
class Softmax {
public:
    using value_type = T;
    static constexpr bool parameter_free = true;

    Softmax() = default;
    template <class U>
    Softmax(const Softmax<U>&)
    {
    }

    std::string name() const { return "Softmax"; }
    LayerSpec spec() const { return {"Softmax", {}, {}}; }
    std::size_t input_rows() const noexcept { return 0; }
    std::size_t output_rows(std::size_t rows) const noexcept { return rows; }

    /// Z [K, n] -> S [K, n], owned by the layer. Throws shape_error unless Z is 2-D.
    template <class E>
    const matrix<T>& forward(const E& z, std::size_t index = standalone)
    {
        detail::check_input(z, 0, index, *this);
        const matrix<T>& Z = input_.bind(z, &S_);
        logits_kept_ = false;
        const std::size_t K = Z.shape()[0], n = Z.shape()[1];
        output_for(K, n);
        detail::softmax_columns(Z.data(), S_.data(), static_cast<const T*>(nullptr), K, n, work_.data(),
                                work_.data() + n);
        return S_;
    }

    /// The forward pass of evaluation mode, keeping nothing (the layer concept's infer):
    /// out = softmax(Z) [K, n]; out may be Z itself. Throws shape_error unless Z is 2-D.
    template <class E>
    void infer(const E& z, matrix<T>& out, scratch<T>& work, std::size_t index = standalone) const
    {
        detail::check_input(z, 0, index, *this);
        const std::size_t K = z.shape()[0], n = z.shape()[1];
        const T* src = nullptr;
        if constexpr (std::is_same_v<E, matrix<T>>) {
            work.resize(2 * n);
            src = z.data(); // softmax_columns runs in place when out is z
        } else {
            work.resize(2 * n + K * n);
            std::copy(z.begin(), z.end(), work.begin() + static_cast<std::ptrdiff_t>(2 * n));
            src = work.data() + 2 * n;
        }
        detail::ensure_shape(out, K, n);
        detail::softmax_columns(src, out.data(), static_cast<const T*>(nullptr), K, n, work.data(), work.data() + n);
    }

    /// The layer's output buffer, sized [K, n], for a preceding Dense layer to write its
    /// logits into; activate_in_place() then finishes the forward pass.
    matrix<T>& output_for(std::size_t K, std::size_t n)
    {
        detail::ensure_shape(S_, K, n);
        detail::ensure_shape(work_, 2, n);
        return S_;
    }

    /// S = softmax(S + b) in place, b [K] added to every column (bias may be null). The logits
    /// S + b are kept (see logits()).
    const matrix<T>& activate_in_place(const T* bias)
    {
        const std::size_t K = S_.shape()[0], n = S_.shape()[1];
        detail::ensure_shape(Z_, K, n);
        for (std::size_t i = 0; i < K; ++i)
            detail::add_bias_row(S_.data() + i * n, Z_.data() + i * n, n, bias != nullptr ? bias[i] : T(0));
        detail::softmax_columns(Z_.data(), S_.data(), static_cast<const T*>(nullptr), K, n, work_.data(),
                                work_.data() + n);
        logits_kept_ = true;
        return S_;
    }

    /// The logits Z [K, n] of the last forward pass, from which a loss can take log S exactly
    /// where S underflows. Throws std::logic_error before any forward().
    const matrix<T>& logits() const
    {
        if (logits_kept_)
            return Z_;
        if (input_.get() == nullptr)
            throw std::logic_error("Softmax::logits(): no forward() yet");
        return *input_.get();
    }

    /// dS [K, n] -> dZ = S * (dS - sum_i S * dS) [K, n], the O(K) Jacobian-vector product
    /// (J = diag(s) - s s^T per column). Throws shape_error when dS does not match S.
    matrix<T>& backward(const matrix<T>& dS, bool = true, std::size_t index = standalone)
    {
        detail::check_gradient(dS, S_, index, *this);
        const std::size_t K = S_.shape()[0], n = S_.shape()[1];
        detail::ensure_shape(dZ_, K, n);
        T* dot = work_.data(); // dot[j] = sum_i S[i, j] dS[i, j]
        for (std::size_t j = 0; j < n; ++j)
            dot[j] = T(0);
        for (std::size_t i = 0; i < K; ++i)
            detail::map(S_.data() + i * n, dS.data() + i * n, dot, dot, n,
                        [](auto s, auto g, auto acc) { return acc + s * g; });
        for (std::size_t i = 0; i < K; ++i) // dZ = S (dS - dot)
            detail::map(S_.data() + i * n, dS.data() + i * n, dot, dZ_.data() + i * n, n,
                        [](auto s, auto g, auto d) { return s * (g - d); });
        return dZ_;
    }

    const matrix<T>& output() const noexcept { return S_; }

    std::size_t parameter_count() const noexcept { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }

private:
    matrix<T> S_, dZ_, work_, Z_;
    detail::input_binding<T> input_;
    bool logits_kept_ = false; // in Z_, else the bound input
};

} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
