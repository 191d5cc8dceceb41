// mininn: a layer described as data. Its operation, its attributes with their exact values and
// its named tensors, each with a role. Saved files and checkpoints (the architecture they carry
// and the tensors they hold), weight decay, the best-weights restore and the MPI broadcast all
// derive from it, so that none of them parses a display string such as name().
#pragma once

#include "../core/config.hpp"

#include <charconv>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// One tensor a layer holds, as its visit_parameters (or visit_state) names it.
struct TensorSpec {
    std::string name;    ///< "W", "b", "running_mean", ...
    bool trained = true; ///< a parameter the optimizer updates; false: state it never touches
    bool decayed = true; ///< weight decay applies (Dense's bias: false)
};

inline bool operator==(const TensorSpec& a, const TensorSpec& b)
{
    return a.name == b.name && a.trained == b.trained && a.decayed == b.decayed;
}
inline bool operator!=(const TensorSpec& a, const TensorSpec& b)
{
    return !(a == b);
}

/// A layer as data: what a saved file records of it, what a frozen model or an exporter needs.
struct LayerSpec {
    std::string op; ///< "Dense", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Identity", "Softmax", "Dropout", ...
    std::vector<std::pair<std::string, double>> attributes; ///< exact values: Dense's in and out, alpha, rate
    std::vector<TensorSpec> tensors; ///< the trained tensors in visit_parameters order, then the state

    /// The attribute named key. Throws std::out_of_range naming the op and the key.
    double attribute(const std::string& key) const
    {
        for (const auto& [k, v] : attributes)
            if (k == key)
                return v;
        throw std::out_of_range(detail::cat(op, " has no attribute '", key, "'"));
    }
    /// "Dense(in=784, out=64)", "LeakyReLU(alpha=0.1)", "Sigmoid".
    std::string str() const
    {
        std::string s = op;
        for (std::size_t k = 0; k < attributes.size(); ++k) {
            char v[32]; // the shortest text that reads back exactly, so that two values differ in print
            const auto r = std::to_chars(v, v + sizeof v, attributes[k].second);
            s += detail::cat(k == 0 ? "(" : ", ", attributes[k].first, "=", std::string(v, r.ptr));
        }
        return attributes.empty() ? s : s + ")";
    }
};

inline bool operator==(const LayerSpec& a, const LayerSpec& b)
{
    return a.op == b.op && a.attributes == b.attributes && a.tensors == b.tensors;
}
inline bool operator!=(const LayerSpec& a, const LayerSpec& b)
{
    return !(a == b);
}

namespace detail {

template <class L, class = void>
struct layer_has_spec : std::false_type {
};
template <class L>
struct layer_has_spec<L, std::void_t<decltype(LayerSpec(std::declval<const L&>().spec()))>> : std::true_type {
};

// visit_state(f) with f(name, tensor): tensors a layer keeps that no optimizer updates.
struct state_probe {
    template <class P>
    void operator()(const char*, P&) const
    {
    }
};
template <class L, class = void>
struct layer_has_visit_state : std::false_type {
};
template <class L>
struct layer_has_visit_state<L, std::void_t<decltype(std::declval<L&>().visit_state(std::declval<state_probe&>()))>>
    : std::true_type {
};

// The names visit_parameters and visit_state give, in order, with trained set for the former;
// a spec must list the same (a Network compares them when it is built). visit_parameters is
// not const in the concept; it is only asked for the names here.
template <class L>
std::vector<std::pair<std::string, bool>> visited_tensors(const L& layer)
{
    std::vector<std::pair<std::string, bool>> v;
    const_cast<L&>(layer).visit_parameters([&](const char* role, auto&, auto&) { v.emplace_back(role, true); });
    if constexpr (layer_has_visit_state<L>::value)
        const_cast<L&>(layer).visit_state([&](const char* name, auto&) { v.emplace_back(name, false); });
    return v;
}

// The layer's spec(), or for a layer without one: its name() as the op, no attributes, every
// parameter trained and decayed, and its state neither.
template <class L>
LayerSpec spec_of(const L& layer)
{
    if constexpr (layer_has_spec<L>::value) {
        return layer.spec();
    } else {
        LayerSpec s{layer.name(), {}, {}};
        for (const auto& [name, trained] : visited_tensors(layer))
            s.tensors.push_back(TensorSpec{name, trained, trained});
        return s;
    }
}

// "" when spec lists exactly the visited tensors, else what differs first.
template <class L>
std::string spec_mismatch(const L& layer, const LayerSpec& spec)
{
    const auto visited = visited_tensors(layer);
    for (std::size_t k = 0; k < visited.size() || k < spec.tensors.size(); ++k) {
        if (k >= spec.tensors.size())
            return cat("spec() does not list tensor ", k, " '", visited[k].first, "'");
        if (k >= visited.size())
            return cat("spec() lists tensor ", k, " '", spec.tensors[k].name,
                       "', which no visit_parameters or visit_state gives");
        const TensorSpec& t = spec.tensors[k];
        if (t.name != visited[k].first || t.trained != visited[k].second)
            return cat("spec() lists tensor ", k, " as '", t.name, "' (", t.trained ? "trained" : "state",
                       "), the visit gives '", visited[k].first, "' (", visited[k].second ? "trained" : "state", ")");
    }
    return {};
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
