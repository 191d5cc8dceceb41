// mininn: what every optimizer shares: a validated learning rate, decoupled weight decay, and
// per-parameter state kept by position (the order of Network::visit_parameters), sized on the
// first step, so a network whose parameters change afterwards is reported, never mixed up.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <string>
#include <cstddef>
#include <stdexcept>
#include <array>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../layers/spec.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// Decoupled weight decay (Loshchilov & Hutter, as in AdamW), for every optimizer: each step
/// first multiplies a parameter by (1 - lr rate), apart from and before its gradient update.
/// Parameters whose spec says they do not decay (TensorSpec::decayed false: Dense's bias) are
/// left alone unless biases is true.
struct WeightDecay {
    double rate = 0;
    bool biases = false;
};

/// An optimizer's whole state, as a checkpoint keeps it: every optimizer has
/// OptimizerState<T> checkpoint_state() const and void restore_state(OptimizerState<T>).
template <class T>
struct OptimizerState {
    std::string name;                               ///< the optimizer and its settings, e.g. "Adam(0.9, 0.999, 1e-08)"
    std::vector<std::string> slot_names;            ///< e.g. {"m", "v"}
    std::vector<std::size_t> sizes;                 ///< each parameter's size; empty before the first step
    std::vector<std::vector<std::vector<T>>> slots; ///< [slot][parameter] values
    long steps = 0;
    double learning_rate = 0;
};

namespace detail {

template <class T>
void check_rate(const char* who, const char* what, T v, T lo, T hi, bool lo_open)
{
    const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v < hi;
    if (!ok)
        throw std::invalid_argument(cat(who, ": ", what, " must be in ", lo_open ? "(" : "[", lo, ", ", hi, "), got ", v));
}

/// The learning rate and weight decay of an optimizer, checked whenever they are set.
template <class T>
class rate_and_decay {
public:
    rate_and_decay(const char* who, T lr, WeightDecay wd) : who_(who)
    {
        set_learning_rate(lr);
        set_weight_decay(wd);
    }

    T learning_rate() const noexcept { return lr_; }
    /// Throws std::invalid_argument unless lr is finite and positive.
    void set_learning_rate(T lr)
    {
        check_rate(who_, "learning rate", lr, T(0), T(INFINITY), true);
        lr_ = lr;
    }

    const WeightDecay& weight_decay() const noexcept { return wd_; }
    /// Throws std::invalid_argument unless the rate is finite and >= 0.
    void set_weight_decay(WeightDecay wd)
    {
        check_rate(who_, "weight decay", wd.rate, 0.0, double(INFINITY), false);
        wd_ = wd;
    }

    /// The factor 1 - lr rate a step first multiplies a parameter of this spec by (1: none).
    T decay_for(const TensorSpec& t) const noexcept
    {
        if (wd_.rate == 0 || (!wd_.biases && !t.decayed))
            return T(1);
        return T(1) - lr_ * static_cast<T>(wd_.rate);
    }

private:
    const char* who_;
    T lr_ = 0;
    WeightDecay wd_;
};

template <class Net, class F, class = void>
struct has_roles : std::false_type {
};
template <class Net, class F>
struct has_roles<Net, F, std::void_t<decltype(std::declval<Net&>().visit_parameter_specs(std::declval<F&>()))>>
    : std::true_type {
};

/// f(spec, p, g) for every parameter of net, in visit_parameters order: a Network gives each
/// parameter's TensorSpec; anything else with only visit_parameters(f(p, g)) has all its
/// parameters taken as weights that decay.
template <class Net, class F>
void visit_with_roles(Net& net, F&& f)
{
    if constexpr (has_roles<Net, F>::value) {
        net.visit_parameter_specs(f);
    } else {
        const TensorSpec weight{"W", true, true};
        net.visit_parameters([&](auto& p, auto& g) { f(weight, p, g); });
    }
}

/// Per-parameter state buffers (one flat vector per slot and parameter).
template <class T, std::size_t Slots>
class optimizer_state {
public:
    /// Calls f(spec, p, g, n, s0, ...) with flat pointers for every parameter of net, creating
    /// the state on the first call and checking it against the network on later ones.
    template <class Net, class F>
    void each(Net& net, const char* who, F&& f)
    {
        std::size_t k = 0;
        const bool first = sizes_.empty();
        visit_with_roles(net, [&](const TensorSpec& role, auto& p, const auto& g) {
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
    void call(F& f, std::size_t k, const TensorSpec& role, T* p, const T* g, std::size_t n, std::index_sequence<S...>)
    {
        f(role, p, g, n, state_[S][k].data()...);
    }

    std::vector<std::size_t> sizes_;
    std::array<std::vector<std::vector<T>>, Slots> state_;
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
