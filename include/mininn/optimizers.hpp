// mininn: stateful optimizers, SGD with momentum (plain or Nesterov) and Adam/AdamW.
//
// State is kept per parameter by position (the order of Network::visit_parameters), sized on
// the first step; a network whose parameters change afterwards is reported, never silently
// mixed up. The gradients already hold the batch mean (the loss applies 1/n).
#pragma once

#include "detail/isa.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <utility>
#include <string>
#include <vector>

#include "detail/kernels.hpp"
#include "errors.hpp"
#include "weight_decay.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// Per-parameter state buffers (one flat vector per slot and parameter).
template <class T, std::size_t Slots>
class optimizer_state {
public:
    /// Calls f(role, p, g, n, s0, ...) with flat pointers for every parameter of net, creating
    /// the state on the first call and checking it against the network on later ones.
    template <class Net, class F>
    void each(Net& net, const char* who, F&& f)
    {
        std::size_t k = 0;
        const bool first = sizes_.empty();
        visit_with_roles(net, [&](const char* role, auto& p, const auto& g) {
            const std::size_t n = p.size();
            if (first) {
                sizes_.push_back(n);
                for (auto& slot : state_)
                    slot.emplace_back(n, T(0));
            } else if (k >= sizes_.size() || sizes_[k] != n) {
                throw std::logic_error(cat(who, ": the network's parameters changed since the first step (parameter ",
                                           k, " had ", k < sizes_.size() ? sizes_[k] : 0, " elements, now ", n,
                                           "); use a new optimizer for a new network"));
            }
            call(f, k, role, p.data(), g.data(), n, std::make_index_sequence<Slots>{});
            ++k;
        });
        if (k != sizes_.size())
            throw std::logic_error(cat(who, ": the network has ", k, " parameters, the optimizer's state ",
                                       sizes_.size(), "; use a new optimizer for a new network"));
    }

    /// The state as a checkpoint keeps it.
    OptimizerState<T> snapshot(std::string name, std::vector<std::string> slot_names, long steps, T lr) const
    {
        OptimizerState<T> s{std::move(name), std::move(slot_names), sizes_, {}, steps, static_cast<double>(lr)};
        s.slots.assign(state_.begin(), state_.end());
        return s;
    }
    /// Replaces the state with a snapshot's, which the caller has checked against the network
    /// (one buffer of sizes[k] values per parameter k in each of the Slots slots).
    void restore(OptimizerState<T>&& s)
    {
        sizes_ = std::move(s.sizes);
        for (std::size_t k = 0; k < Slots; ++k)
            state_[k] = k < s.slots.size() ? std::move(s.slots[k]) : std::vector<std::vector<T>>{};
    }

private:
    template <class F, std::size_t... S>
    void call(F& f, std::size_t k, const char* role, T* p, const T* g, std::size_t n, std::index_sequence<S...>)
    {
        f(role, p, g, n, state_[S][k].data()...);
    }

    std::vector<std::size_t> sizes_;
    std::array<std::vector<std::vector<T>>, Slots> state_;
};

} // namespace detail

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
        state_.each(net, "Momentum", [&](const char* role, T* p, const T* g, std::size_t n, T* v) {
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
        state_.each(net, who, [&](const char* role, T* p, const T* g, std::size_t n, T* m, T* v) {
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
