// mininn: plain gradient descent, the seed experiment's optimizer.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "../core/errors.hpp"
#include "../detail/kernels.hpp"
#include "optimizer.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// Gradient descent: p <- p - lr * grad for every parameter of a network, after the decoupled
/// weight decay p <- (1 - lr wd) p when one is set (weights only, unless wd.biases).
/// The gradients already hold the batch mean (the loss applies 1/n).
template <class T>
class GD {
public:
    /// Throws std::invalid_argument unless lr is finite and positive and the decay rate >= 0.
    explicit GD(T lr, WeightDecay wd = {}) : h_("GD", lr, wd) {}

    T learning_rate() const noexcept { return h_.learning_rate(); }
    /// Throws std::invalid_argument unless lr is finite and positive.
    void set_learning_rate(T lr) { h_.set_learning_rate(lr); }
    const WeightDecay& weight_decay() const noexcept { return h_.weight_decay(); }
    void set_weight_decay(WeightDecay wd) { h_.set_weight_decay(wd); }
    std::string name() const { return "GD"; }
    /// For checkpoints: GD keeps no state between steps but its rate.
    OptimizerState<T> checkpoint_state() const { return {name(), {}, {}, {}, 0, static_cast<double>(learning_rate())}; }
    void restore_state(const OptimizerState<T>& s) { set_learning_rate(static_cast<T>(s.learning_rate)); }

    /// One update of every parameter of net (a Network, or anything with visit_parameters(f(p, g))).
    template <class Net>
    void step(Net& net) const
    {
        const T lr = h_.learning_rate();
        detail::visit_with_roles(net, [&](const TensorSpec& role, auto& p, const auto& g) {
            // A loop of mininn's own rather than an xtensor expression: the same operations,
            // without an expression assigner for every parameter shape in every program.
            const T decay = h_.decay_for(role);
            T* pp = p.data();
            if (decay == T(1))
                detail::map(pp, g.data(), pp, p.size(), [lr](auto pv, auto gv) { return pv - lr * gv; });
            else
                detail::map(pp, g.data(), pp, p.size(), [lr, decay](auto pv, auto gv) { return decay * pv - lr * gv; });
        });
    }

private:
    detail::rate_and_decay<T> h_;
};

} // namespace MININN_ISA
} // namespace mininn
