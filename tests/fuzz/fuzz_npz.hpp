// The network the .npz harnesses load into, and the invariants of a load.
#pragma once

#include <cstring>

#include <mininn/mininn.hpp>

#include "fuzz_common.hpp"

namespace fuzz {

inline auto npz_network()
{
    mininn::Rng rng(1);
    return mininn::Network{mininn::Dense<float>(3, 4, mininn::init::normal, rng), mininn::Sigmoid{},
                           mininn::Dense<float>(4, 2, mininn::init::normal, rng), mininn::Softmax{}};
}

template <class Net>
std::vector<float> parameters(Net& net)
{
    std::vector<float> out;
    net.visit_parameters([&](auto& p, auto&) { out.insert(out.end(), p.begin(), p.end()); });
    return out;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// load_npz of bytes: a refused archive is an io_error and leaves the network unchanged; an
/// accepted one loads the same way twice, and what save() then writes loads back to the same.
inline void check_load(const std::string& bytes)
{
    try { // any architecture the bytes describe: a Model, or an io_error, never a crash
        const auto m = mininn::load_model_npz<float>(bytes, "fuzz");
        const mininn::matrix<float> x = xt::zeros<float>({m.input_features(), std::size_t(2)});
        require(m.infer(x).shape()[0] == m.output_features(), "a loaded Model runs");
    } catch (const mininn::io_error&) {
    }
    static const auto fresh = npz_network();
    auto net = fresh;
    const auto before = parameters(net);
    try {
        mininn::load_npz(net, bytes, "fuzz");
    } catch (const mininn::io_error&) {
        require(same_bits(parameters(net), before), "a refused archive leaves the network unchanged");
        return;
    }
    auto again = fresh;
    mininn::load_npz(again, bytes, "fuzz");
    require(same_bits(parameters(net), parameters(again)), "the same archive loads the same way");
    auto third = fresh;
    mininn::load_npz(third, mininn::detail::npz_archive(net, "fuzz"), "saved");
    require(same_bits(parameters(net), parameters(third)), "save() of a loaded network loads back");
}

} // namespace fuzz
