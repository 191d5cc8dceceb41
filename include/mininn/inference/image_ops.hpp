// mininn: the image layers of a frozen Model (Conv2D, MaxPool2D, AvgPool2D), rebuilt from
// their specs, and the shapes of the tensors a Conv2D's spec calls for.
#pragma once

#include "../core/config.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "../layers/conv2d.hpp"
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
    check_finite(tensors, at);
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

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
