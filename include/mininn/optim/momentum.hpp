// mininn: stochastic gradient descent with momentum, plain or Nesterov.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <string>
#include <utility>

#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "optimizer.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {

/// Stochastic gradient descent with momentum mu (PyTorch's convention), after the decoupled
/// weight decay p <- (1 - lr wd) p when one is set (weights only, unless wd.biases):
///   v <- mu v + g;  p <- p - lr v              (classical)
///   v <- mu v + g;  p <- p - lr (g + mu v)     (Nesterov)
/// Throws std::invalid_argument for lr <= 0, mu outside [0, 1) or a decay rate < 0.
template <class T>
class Momentum {
public:
    explicit Momentum(T lr, T momentum = T(0.9), bool nesterov = false, WeightDecay wd = {})
        : h_("Momentum", lr, wd), mu_(momentum), nesterov_(nesterov)
    {
        detail::check_rate("Momentum", "momentum", momentum, T(0), T(1), false);
    }

    template <class Net>
    void step(Net& net)
    {
        const T lr = h_.learning_rate(), mu = mu_;
        const bool nesterov = nesterov_;
        state_.each(net, "Momentum", [&](const TensorSpec& role, T* p, const T* g, std::size_t n, T* v) {
            const T decay = h_.decay_for(role);
            detail::update(
                n,
                [&](auto gi, auto& pi, auto& vi) {
                    vi = mu * vi + gi;
                    pi = decay * pi - lr * (nesterov ? gi + mu * vi : vi);
                },
                g, p, v);
        });
    }

    T learning_rate() const noexcept { return h_.learning_rate(); }
    /// Throws std::invalid_argument unless lr is finite and positive.
    void set_learning_rate(T lr) { h_.set_learning_rate(lr); }
    const WeightDecay& weight_decay() const noexcept { return h_.weight_decay(); }
    void set_weight_decay(WeightDecay wd) { h_.set_weight_decay(wd); }

    std::string name() const { return detail::cat("Momentum(", mu_, nesterov_ ? ", nesterov" : "", ")"); }
    /// For checkpoints: the velocity of each parameter, by position.
    OptimizerState<T> checkpoint_state() const { return state_.snapshot(name(), {"v"}, 0, h_.learning_rate()); }
    void restore_state(OptimizerState<T> s)
    {
        h_.set_learning_rate(static_cast<T>(s.learning_rate));
        state_.restore(std::move(s));
    }

private:
    detail::rate_and_decay<T> h_;
    T mu_;
    bool nesterov_;
    detail::optimizer_state<T, 1> state_;
};

} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
