// mininn: inverted dropout, the first layer whose forward depends on training or evaluation mode.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "spec.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// Inverted dropout: in training mode each entry is kept with probability 1 - p and scaled by
/// 1 / (1 - p), so the expected output is the input; in evaluation mode it is the identity.
/// Shapes: [k, n] -> [k, n]. The mask comes from the layer's own generator, seeded at
/// construction, so the same seed gives the same masks bit for bit; a copy continues the
/// stream of its original. frozen: forward reuses the last mask (the gradient checkers freeze
/// it, so that central differences see one function).
///
/// In a Network, Dropout after an activation keeps the fused Dense + activation passes, but a
/// Dropout between the last hidden activation and the output Dense layer stops the fused
/// classifier head (network.hpp), which cannot apply a mask: those layers then run one by one.
/// Throws std::invalid_argument unless 0 <= p < 1.
template <class T = float>
class Dropout {
public:
    using value_type = T;
    static constexpr bool parameter_free = true;

    explicit Dropout(double p = 0.5, std::uint64_t seed = 0) : p_(check(p)), rng_(seed) {}
    template <class U>
    Dropout(const Dropout<U>& other) : p_(other.rate()), rng_(other.generator()), training_(other.training())
    {
    }

    double rate() const noexcept { return p_; }
    const Rng& generator() const noexcept { return rng_; }
    Rng& generator() noexcept { return rng_; } ///< checkpoints save and restore it
    std::string name() const { return detail::cat("Dropout(", p_, ")"); }
    /// op "Dropout", attribute rate (its generator is in checkpoints, not in the spec).
    LayerSpec spec() const { return {"Dropout", {{"rate", p_}}, {}}; }
    std::size_t input_rows() const noexcept { return 0; }
    std::size_t output_rows(std::size_t rows) const noexcept { return rows; }
    std::size_t parameter_count() const noexcept { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }

    /// Training (true) or evaluation (false) mode; a Network sets it with train() / eval().
    void set_training(bool on) noexcept { training_ = on; }
    bool training() const noexcept { return training_; }
    void set_frozen(bool on) noexcept { frozen_ = on; }

    /// X [k, n] -> X * mask in training mode, X in evaluation mode; owned by the layer.
    /// Throws shape_error unless X is 2-D, or when frozen with a mask of another shape.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, 0, index, *this);
        const matrix<T>& X = input_.bind(std::forward<E>(x), &Y_);
        const std::size_t k = X.shape()[0], n = X.shape()[1];
        active_ = training_ && p_ > 0;
        detail::ensure_shape(Y_, k, n);
        if (!active_) {
            xt::noalias(Y_) = X;
            return Y_;
        }
        if (frozen_ && M_.shape() != X.shape())
            throw shape_error(detail::cat(detail::layer_label(index, name()), ": frozen mask ",
                                          detail::shape_str(M_.shape()), " does not fit input ",
                                          detail::shape_str(X.shape())));
        if (!frozen_)
            draw_mask(k, n);
        for (std::size_t e = 0; e < X.size(); ++e)
            Y_.data()[e] = X.data()[e] * M_.data()[e];
        return Y_;
    }

    /// The forward pass of evaluation mode, keeping nothing (the layer concept's infer):
    /// out = X, whatever the layer's mode; out may be X itself. Throws shape_error unless X is 2-D.
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>&, std::size_t index = standalone) const
    {
        detail::check_input(x, 0, index, *this);
        if constexpr (std::is_same_v<E, matrix<T>>) {
            if (&x == &out)
                return;
        }
        detail::ensure_shape(out, x.shape()[0], x.shape()[1]);
        xt::noalias(out) = x;
    }

    /// dY [k, n] -> dX = dY * mask (the identity in evaluation mode), owned by the layer.
    /// Throws shape_error when dY does not match the last forward, std::logic_error before one.
    matrix<T>& backward(const matrix<T>& dY, bool = true, std::size_t index = standalone)
    {
        detail::check_gradient(dY, Y_, index, *this);
        detail::ensure_shape(dX_, dY.shape()[0], dY.shape()[1]);
        if (!active_) {
            xt::noalias(dX_) = dY;
            return dX_;
        }
        for (std::size_t e = 0; e < dY.size(); ++e)
            dX_.data()[e] = dY.data()[e] * M_.data()[e]; // d(x m)/dx = m
        return dX_;
    }

    /// The mask of the last training forward [k, n]: 0 or 1 / (1 - p).
    const matrix<T>& mask() const noexcept { return M_; }

private:
    static double check(double p)
    {
        if (!(p >= 0 && p < 1))
            throw std::invalid_argument(detail::cat("Dropout: the drop probability must be in [0, 1), got ", p));
        return p;
    }

    // Two 32-bit draws per 64 random bits; an entry is dropped when its draw is below p 2^32.
    void draw_mask(std::size_t k, std::size_t n)
    {
        detail::ensure_shape(M_, k, n);
        const auto threshold = static_cast<std::uint64_t>(std::ldexp(p_, 32));
        const T keep = static_cast<T>(1.0 / (1.0 - p_));
        T* m = M_.data();
        const std::size_t size = M_.size();
        for (std::size_t e = 0; e < size; e += 2) {
            const std::uint64_t bits = rng_.next();
            m[e] = (bits & 0xffffffffu) < threshold ? T(0) : keep;
            if (e + 1 < size)
                m[e + 1] = (bits >> 32) < threshold ? T(0) : keep;
        }
    }

    double p_;
    Rng rng_;
    bool training_ = true, frozen_ = false, active_ = false;
    matrix<T> M_, Y_, dX_;
    detail::input_binding<T> input_;
};

} // namespace MININN_ISA
} // namespace mininn
