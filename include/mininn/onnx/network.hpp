// mininn::onnx: an ONNX graph's weights read into a compile-time Network of the same
// architecture, to train on from there.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../inference/load.hpp"
#include "../layers/spec.hpp"
#include "import.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// A layer as a message names it: "Dense 4→3", "LeakyReLU(0.2)", "Softmax", or as its spec
// shows it, "MaxPool2D(channels=6, height=28, width=28, kernel=2, stride=2, padding=0)".
inline std::string onnx_layer_name(const LayerSpec& l)
{
    if (l.op == "Dense")
        return cat("Dense ", l.attribute("in"), "→", l.attribute("out"));
    if (l.op == "LeakyReLU")
        return cat("LeakyReLU(", l.attribute("alpha"), ")");
    return l.str();
}

// The layers that compute something: Dropout and Identity are the identity in inference, and
// Flatten a new view of the same values; an ONNX graph has none of them as layers.
inline std::vector<std::size_t> computing_layers(const std::vector<LayerSpec>& specs)
{
    std::vector<std::size_t> k;
    for (std::size_t i = 0; i < specs.size(); ++i)
        if (specs[i].op != "Dropout" && specs[i].op != "Identity" && specs[i].op != "Flatten")
            k.push_back(i);
    return k;
}

// The same op with the same attributes, those ONNX holds as floats (alpha, eps) compared as
// floats; a BatchNorm's momentum, which only training uses, aside.
inline bool same_layer(const LayerSpec& net, const LayerSpec& graph)
{
    if (net.op != graph.op || net.attributes.size() != graph.attributes.size())
        return false;
    for (const auto& attribute : net.attributes) { // (C++17: a lambda cannot capture a structured binding)
        const std::string& key = attribute.first;
        const double v = attribute.second;
        if (key == "momentum")
            continue;
        const bool real = key == "alpha" || key == "eps";
        const auto w = std::find_if(graph.attributes.begin(), graph.attributes.end(),
                                    [&](const auto& a) { return a.first == key; });
        if (w == graph.attributes.end() ||
            (real ? static_cast<float>(v) != static_cast<float>(w->second) : v != w->second))
            return false;
    }
    return true;
}

} // namespace detail

/// Reads the weights of an ONNX graph held in memory (as load_onnx_bytes() reads it) into
/// net, a Network of the same architecture, Dropout, Identity and Flatten layers aside (an ONNX
/// graph has none as layers); where names it in messages. Throws io_error naming the first layer that differs (its
/// index in the network, what the network has there and what the graph has), or the file's
/// problem as load_onnx_bytes() does; net is unchanged when it throws.
template <class Net, class = typename Net::value_type>
void load_onnx_bytes(Net& net, const std::string& bytes, const std::string& where)
{
    using T = typename Net::value_type;
    using detail::cat;
    const Model<T> model = load_onnx_bytes<T>(bytes, where);
    const std::vector<LayerSpec> mine = net.specs(), theirs = model.specs();
    const std::vector<std::size_t> a = detail::computing_layers(mine), b = detail::computing_layers(theirs);
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        const bool both = i < a.size() && i < b.size();
        if (both && detail::same_layer(mine[a[i]], theirs[b[i]]))
            continue;
        const std::string here = i < a.size()
                                     ? cat("layer ", a[i], " of the network is ", detail::onnx_layer_name(mine[a[i]]))
                                     : cat("the network ends after ", a.size(), " layers");
        const std::string there = i < b.size() ? cat("the graph has ", detail::onnx_layer_name(theirs[b[i]]))
                                               : "the graph has no more layers";
        throw io_error(cat(where, ": does not fit the network: ", here, ", but ", there,
                           " there (Dropout, Identity and Flatten aside)"));
    }
    const auto tensors = model.tensors();
    std::vector<std::size_t> source(mine.size(), 0); // the graph's layer for each of the network's
    for (std::size_t i = 0; i < a.size(); ++i)
        source[a[i]] = b[i];
    net.visit_tensors([&](std::size_t layer, const TensorSpec& t, auto& tensor) {
        const std::vector<TensorSpec>& in_graph = theirs[source[layer]].tensors;
        for (std::size_t i = 0; i < in_graph.size(); ++i)
            if (in_graph[i].name == t.name) { // row-major both: W [out, in], Conv2D's [filters, C·k·k]
                const std::vector<T>& v = tensors[source[layer]][i];
                std::copy(v.begin(), v.end(), tensor.begin());
            }
    });
}

/// load_onnx_bytes(net, ...) of the file at path, which must not exceed max_bytes. Throws
/// io_error naming path when it cannot be read or is larger, and as load_onnx_bytes().
template <class Net, class = typename Net::value_type>
void load_onnx(Net& net, const std::string& path, std::size_t max_bytes = default_model_bytes_limit)
{
    load_onnx_bytes(net, detail::read_onnx_file(path, max_bytes), path);
}

} // namespace MININN_ISA
} // namespace mininn
