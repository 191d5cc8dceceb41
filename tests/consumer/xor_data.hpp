// The consumers' data: XOR-like classes, the label is whether x0 and x1 have the same sign.
#pragma once

#include <mininn/mininn.hpp>

struct XorData {
    mininn::matrix<float> X;
    mininn::label_vector y;
};

inline XorData xor_data(std::size_t n, mininn::Rng& rng)
{
    XorData d{mininn::matrix<float>({2, n}), xt::zeros<std::size_t>({n})};
    for (std::size_t j = 0; j < n; ++j) {
        d.X(0, j) = static_cast<float>(rng.uniform(-1, 1));
        d.X(1, j) = static_cast<float>(rng.uniform(-1, 1));
        d.y(j) = (d.X(0, j) > 0) == (d.X(1, j) > 0) ? 1 : 0;
    }
    return d;
}
