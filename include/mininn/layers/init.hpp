// mininn: weight initializers. Each is a function object called once per weight as
// init(rng, fan_in, fan_out) -> double; any callable with that signature works too.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>

#include "../core/random.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace init {

/// N(0, stddev^2); stddev 1 is numpy's np.random.randn, the seed experiment's choice.
struct Normal {
    double stddev = 1.0;
    double operator()(Rng& rng, std::size_t, std::size_t) const { return stddev * rng.normal(); }
};

/// Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).
struct XavierUniform {
    double operator()(Rng& rng, std::size_t fan_in, std::size_t fan_out) const
    {
        const double a = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
        return rng.uniform(-a, a);
    }
};

/// He/Kaiming normal: N(0, 2 / fan_in), for ReLU-like layers.
struct HeNormal {
    double operator()(Rng& rng, std::size_t fan_in, std::size_t) const
    {
        return std::sqrt(2.0 / static_cast<double>(fan_in)) * rng.normal();
    }
};

inline constexpr Normal normal{};
inline constexpr XavierUniform xavier{};
inline constexpr HeNormal he{};

} // namespace init
} // namespace MININN_ISA
} // namespace mininn
