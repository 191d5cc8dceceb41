// mininn: plain gradient descent.
#pragma once

#include "detail/isa.hpp"

#include <cmath>
#include <stdexcept>

#include <xtensor/xnoalias.hpp>

#include "errors.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// Gradient descent: p <- p - lr * grad for every parameter of a network.
/// The gradients already hold the batch mean (the loss applies 1/n).
template <class T>
class GD {
public:
    /// Throws std::invalid_argument unless lr is finite and positive.
    explicit GD(T lr) : lr_(lr)
    {
        if (!(std::isfinite(lr) && lr > T(0)))
            throw std::invalid_argument(detail::cat("GD: learning rate must be finite and positive, got ", lr));
    }

    T learning_rate() const noexcept { return lr_; }

    /// One update of every parameter of net (anything with visit_parameters(f(p, g))).
    template <class Net>
    void step(Net& net) const
    {
        const T lr = lr_;
        net.visit_parameters([lr](auto& p, const auto& g) { xt::noalias(p) -= lr * g; });
    }

private:
    T lr_;
};

} // namespace MININN_ISA
} // namespace mininn
