// One training run, compiled into two translation units with different instruction sets
// (tests/test_isa_mix.cpp and tests/isa_mix_portable.cpp).
#pragma once

#include <vector>

#include <mininn/mininn.hpp>

namespace test {

/// The losses of 3 full-batch GD steps of a 7-24-10 double network on n random columns
/// (the fused head, two threads), then every weight; the same numbers in either unit.
inline std::vector<double> isa_mix_run(std::size_t n)
{
    using namespace mininn;
    Rng rng(77);
    Network net{Dense<double>(7, 24, init::normal, rng), Sigmoid{}, Dense<double>(24, 10, init::normal, rng), Softmax{}};
    matrix<double> X(std::array<std::size_t, 2>{7, n});
    for (auto& v : X)
        v = rng.normal();
    label_vector y(std::array<std::size_t, 1>{n});
    for (auto& v : y)
        v = rng.below(10);
    GD<double> gd(0.5);
    std::vector<double> out;
    for (int step = 0; step < 3; ++step) {
        out.push_back(net.compute_gradients(CrossEntropy{}, X, y));
        gd.step(net);
    }
    net.visit_parameters([&](auto& p, auto&) { out.insert(out.end(), p.begin(), p.end()); });
    return out;
}

// The same, and what detail::simd_isa() and simd_lanes<double>() say, from the unit built
// without -march.
std::vector<double> isa_mix_portable(std::size_t n);
const char* isa_mix_portable_isa();
std::size_t isa_mix_portable_lanes();
void isa_mix_portable_throw(); // a Dense layer given the wrong input: throws mininn::shape_error

} // namespace test
