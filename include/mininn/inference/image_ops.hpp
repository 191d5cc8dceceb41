// mininn: the layers a frozen Model runs through their own kernels (Conv2D, the pools,
// BatchNorm, LayerNorm), rebuilt from their specs, and the shapes of the tensors their specs
// call for.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/normalization.hpp"
#include "../layers/pooling.hpp"
#include "../layers/spec.hpp"
#include "ops.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// The attribute key of l as a count, at least `least`. Throws std::invalid_argument naming
// at when it is missing or not an integer in [least, 2^32].
inline std::size_t count_attribute(const LayerSpec& l, const char* key, const std::string& at, double least = 1)
{
    for (const auto& [k, v] : l.attributes)
        if (k == key) {
            if (!(v >= least && v <= 4294967296.0 && v == std::floor(v)))
                throw std::invalid_argument(cat(at, ": ", key, " ", v, " is not an integer of at least ", least));
            return static_cast<std::size_t>(v);
        }
    throw std::invalid_argument(cat(at, ": no attribute '", key, "'"));
}

inline Shape image_attributes(const LayerSpec& l, const std::string& at)
{
    return Shape(count_attribute(l, "channels", at), count_attribute(l, "height", at), count_attribute(l, "width", at));
}

// A Conv2D spec's filters, the values of one filter (C·k·k) and whether it has a bias: W is
// [filters, patch], b [filters] or none. Throws std::invalid_argument as count_attribute, or
// for more weights than memory holds.
struct conv_sizes {
    std::size_t filters, patch;
    bool bias;
};
inline conv_sizes conv_sizes_of(const LayerSpec& l, const std::string& at)
{
    const Shape in = image_attributes(l, at);
    const std::size_t k = count_attribute(l, "kernel", at), filters = count_attribute(l, "filters", at);
    const bool bias = count_attribute(l, "bias", at, 0) != 0;
    if (!(double(in.channels) * double(k) * double(k) * double(filters) < 9.0e15))
        throw std::invalid_argument(cat(at, ": ", filters, " filters of ", k, "×", k, "×", in.channels,
                                        " make more weights than memory holds"));
    return {filters, in.channels * k * k, bias};
}

template <class T>
Conv2D<T> frozen_conv(const LayerSpec& l, const std::vector<std::vector<T>>& tensors, const std::string& at)
{
    const conv_sizes s = conv_sizes_of(l, at);
    if (tensors.size() != (s.bias ? 2u : 1u) || tensors[0].size() != s.filters * s.patch ||
        (s.bias && tensors[1].size() != s.filters))
        throw shape_error(cat(at, ": expected tensors W [", s.filters, ", ", s.patch, "]",
                              s.bias ? cat(" and b [", s.filters, "]") : std::string()));
    check_finite(tensors, at, l);
    matrix<T> W = xt::adapt(tensors[0], std::array<std::size_t, 2>{s.filters, s.patch});
    vector<T> b = s.bias ? vector<T>(xt::adapt(tensors[1], std::array<std::size_t, 1>{s.filters})) : vector<T>();
    Conv2DOptions opt{count_attribute(l, "stride", at), count_attribute(l, "padding", at, 0), s.bias};
    try {
        return Conv2D<T>(image_attributes(l, at), std::move(W), std::move(b), count_attribute(l, "kernel", at), opt);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(cat(at, ": ", e.what()));
    }
}

template <class Pool>
Pool frozen_pool(const LayerSpec& l, const std::string& at)
{
    const Shape in = image_attributes(l, at);
    const std::size_t k = count_attribute(l, "kernel", at), s = count_attribute(l, "stride", at),
                      p = count_attribute(l, "padding", at, 0);
    try {
        if constexpr (std::is_same_v<Pool, AvgPool2D<typename Pool::value_type>>)
            return Pool(in, k, s, p, count_attribute(l, "count_include_pad", at, 0) != 0);
        else
            return Pool(in, k, s, p);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(cat(at, ": ", e.what()));
    }
}

// A BatchNorm or LayerNorm spec's sample shape and eps, and the length of each of its
// tensors: BatchNorm's gamma, beta, running_mean and running_var [channels], LayerNorm's gamma
// and beta [C·H·W]. Throws std::invalid_argument naming at for a missing or bad attribute.
struct norm_sizes {
    Shape in;
    double eps;
    std::size_t tensors, length;
};
inline norm_sizes norm_sizes_of(const LayerSpec& l, const std::string& at)
{
    const Shape in = image_attributes(l, at);
    if (!(in.size() < (std::size_t(1) << 40)))
        throw std::invalid_argument(cat(at, ": a sample of ", in.str(), " is larger than memory holds"));
    double eps = 0;
    for (const auto& [k, v] : l.attributes)
        if (k == "eps")
            eps = v;
    if (!(eps > 0 && std::isfinite(eps)))
        throw std::invalid_argument(cat(at, ": eps must be positive and finite, got ", eps));
    const bool batch = l.op == "BatchNorm";
    return {in, eps, batch ? 4u : 2u, batch ? in.channels : in.size()};
}

// The layer of a BatchNorm or LayerNorm spec with its tensors, as they run in evaluation mode.
// Throws shape_error for tensors of other sizes, std::invalid_argument as norm_sizes_of or for
// a value that is not finite (a running variance below zero too).
template <class Layer>
Layer frozen_norm(const LayerSpec& l, const std::vector<std::vector<typename Layer::value_type>>& tensors,
                  const std::string& at)
{
    using T = typename Layer::value_type;
    const norm_sizes s = norm_sizes_of(l, at);
    bool fits = tensors.size() == s.tensors;
    for (const auto& t : tensors)
        fits = fits && t.size() == s.length;
    if (!fits)
        throw shape_error(cat(at, ": expected ", s.tensors, " tensors of ", s.length, " values (",
                              s.tensors == 4 ? "gamma, beta, running_mean, running_var" : "gamma, beta", ")"));
    check_finite(tensors, at, l);
    auto set = [](auto view, const std::vector<T>& v) { std::copy(v.begin(), v.end(), view.begin()); };
    if constexpr (std::is_same_v<Layer, BatchNorm<T>>) {
        for (const T v : tensors[3])
            if (v < 0)
                throw std::invalid_argument(cat(at, ": a running variance is negative (", v, ")"));
        Layer b(s.in, BatchNormOptions{s.eps, 0.1});
        b.set_training(false);
        set(b.gamma(), tensors[0]);
        set(b.beta(), tensors[1]);
        set(b.running_mean(), tensors[2]);
        set(b.running_var(), tensors[3]);
        return b;
    } else {
        Layer n(s.in, s.eps);
        set(n.gamma(), tensors[0]);
        set(n.beta(), tensors[1]);
        return n;
    }
}

// The tensors of a Model's layer op in its spec's order.
template <class T>
std::vector<std::vector<T>> tensors_of(const Conv2D<T>& f)
{
    std::vector<std::vector<T>> t{{f.weights().begin(), f.weights().end()}};
    if (f.has_bias())
        t.emplace_back(f.bias().begin(), f.bias().end());
    return t;
}
template <class T>
std::vector<std::vector<T>> tensors_of(const BatchNorm<T>& b)
{
    return {{b.gamma().begin(), b.gamma().end()},
            {b.beta().begin(), b.beta().end()},
            {b.running_mean().begin(), b.running_mean().end()},
            {b.running_var().begin(), b.running_var().end()}};
}
template <class T>
std::vector<std::vector<T>> tensors_of(const LayerNorm<T>& n)
{
    return {{n.gamma().begin(), n.gamma().end()}, {n.beta().begin(), n.beta().end()}};
}
template <class Pool>
std::vector<std::vector<typename Pool::value_type>> tensors_of(const Pool&)
{
    return {};
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
