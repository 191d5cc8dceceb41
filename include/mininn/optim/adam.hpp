// mininn: Adam, and AdamW with decoupled weight decay.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>

#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "optimizer.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {

/// Adam (Kingma & Ba), with optional decoupled weight decay (AdamW, Loshchilov & Hutter):
///   p <- p - lr wd p                          (AdamW: weights only, unless wd.biases)
///   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
///   p <- p - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
/// Throws std::invalid_argument for lr <= 0, betas outside [0, 1), eps <= 0 or wd < 0.
template <class T>
class Adam {
public:
    explicit Adam(T lr = T(1e-3), T beta1 = T(0.9), T beta2 = T(0.999), T eps = T(1e-8), T weight_decay = T(0))
        : Adam(lr, beta1, beta2, eps, WeightDecay{static_cast<double>(weight_decay), false})
    {
    }
    Adam(T lr, T beta1, T beta2, T eps, WeightDecay wd) : h_("Adam", lr, wd), b1_(beta1), b2_(beta2), eps_(eps)
    {
        detail::check_rate("Adam", "beta1", beta1, T(0), T(1), false);
        detail::check_rate("Adam", "beta2", beta2, T(0), T(1), false);
        detail::check_rate("Adam", "eps", eps, T(0), T(INFINITY), true);
    }

    template <class Net>
    void step(Net& net)
    {
        ++t_;
        const T lr = h_.learning_rate(), b1 = b1_, b2 = b2_, eps = eps_;
        const T c1 = T(1) - static_cast<T>(std::pow(static_cast<double>(b1), t_));
        const T c2 = T(1) - static_cast<T>(std::pow(static_cast<double>(b2), t_));
        const T lr_c1 = lr / c1, inv_c2 = T(1) / c2; // one division per entry instead of three
        const char* who = h_.weight_decay().rate > 0 ? "AdamW" : "Adam";
        state_.each(net, who, [&](const TensorSpec& role, T* p, const T* g, std::size_t n, T* m, T* v) {
            const T decay = h_.decay_for(role);
            detail::update(
                n,
                [&](auto gi, auto& pi, auto& mi, auto& vi) {
                    mi = b1 * mi + (T(1) - b1) * gi;
                    vi = b2 * vi + (T(1) - b2) * gi * gi;
                    pi = decay * pi - lr_c1 * mi / (xsimd::sqrt(vi * inv_c2) + eps);
                },
                g, p, m, v);
        });
    }

    long steps() const noexcept { return t_; }
    T learning_rate() const noexcept { return h_.learning_rate(); }
    /// Throws std::invalid_argument unless lr is finite and positive.
    void set_learning_rate(T lr) { h_.set_learning_rate(lr); }
    const WeightDecay& weight_decay() const noexcept { return h_.weight_decay(); }
    void set_weight_decay(WeightDecay wd) { h_.set_weight_decay(wd); }

    std::string name() const { return detail::cat("Adam(", b1_, ", ", b2_, ", ", eps_, ")"); }
    /// For checkpoints: the moments of each parameter, by position, and the step count.
    OptimizerState<T> checkpoint_state() const
    {
        return state_.snapshot(name(), {"m", "v"}, t_, h_.learning_rate());
    }
    void restore_state(OptimizerState<T> s)
    {
        t_ = s.steps;
        h_.set_learning_rate(static_cast<T>(s.learning_rate));
        state_.restore(std::move(s));
    }

private:
    detail::rate_and_decay<T> h_;
    T b1_, b2_, eps_;
    long t_ = 0;
    detail::optimizer_state<T, 2> state_;
};

} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
