// mininn: freeze(net) and load_model<T>(path), the two ways to a Model.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../io/architecture.hpp"
#include "../io/npz.hpp"
#include "model.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// The network frozen for inference: its specs and a copy of its weights. Dense or sparse
/// inputs alike (a Model takes either). Throws std::invalid_argument naming the first layer
/// that has no frozen form (a layer of your own; see Model).
template <class Net>
Model<typename Net::value_type> freeze(const Net& net)
{
    using T = typename Net::value_type;
    std::vector<std::vector<std::vector<T>>> tensors(Net::depth);
    // Layers hand out their tensors through non-const visitors; this one only reads them.
    const_cast<Net&>(net).visit_tensors(
        [&](std::size_t layer, const TensorSpec&, const auto& p) { tensors[layer].emplace_back(p.begin(), p.end()); });
    return Model<T>(net.specs(), tensors);
}

/// Files larger than this are refused by load_model() unless it is given a larger limit.
inline constexpr std::size_t default_model_bytes_limit = std::size_t(1) << 31;

namespace detail {
inline SavedArchitecture architecture_of(const npz_reader& r)
{
    if (!r.has("architecture"))
        throw io_error(cat(r.where(), ": no 'architecture' entry: not a model saved by mininn"));
    return parse_architecture(r.text("architecture"), r.where());
}
} // namespace detail

/// What a file mininn saved says of the network that wrote it (its layers and scalar type),
/// without its weights: which Model<T> to load it as, say. Throws io_error as load_model does.
inline SavedArchitecture read_architecture(const std::string& path, std::size_t max_bytes = default_model_bytes_limit)
{
    const std::string bytes = detail::read_archive_file(path, max_bytes);
    if (bytes.size() > max_bytes)
        throw io_error(detail::cat(path, ": larger than the ", max_bytes, " bytes read_architecture reads"));
    return detail::architecture_of(detail::npz_reader(bytes, path));
}

/// load_model() from the bytes of a file held in memory; where names it in messages.
template <class T>
Model<T> load_model_npz(const std::string& bytes, const std::string& where)
{
    using detail::cat;
    const std::string& path = where;
    const detail::npz_reader r(bytes, path);
    const SavedArchitecture a = detail::architecture_of(r);
    if (a.version < 2)
        throw io_error(cat(path, ": written by mininn's architecture format 1, which records layer names but not "
                                 "their sizes; load it into its Network with load() and save() it again"));
    if (a.scalar != detail::scalar_name<T>())
        throw io_error(cat(path, ": holds ", a.scalar, " weights; load it as Model<",
                           a.scalar == "float32" ? "float" : "double", ">"));
    std::vector<std::vector<std::vector<T>>> tensors(a.layers.size());
    double claimed = 0; // bytes of weights the layers so far claim: all of them must be in the file
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
        const LayerSpec& l = a.layers[i];
        if (l.tensors.empty())
            continue;
        // Only Dense, Conv2D, BatchNorm and LayerNorm hold tensors a Model uses; they must fit in the file, all layers'
        // together (save() stores them uncompressed), before any memory is set aside for them.
        std::vector<std::pair<std::string, std::size_t>> shapes; // each tensor's npy shape and size
        try {
            const std::string at = cat("layer ", i, " (", l.op, ")");
            if (l.op == "Dense" && l.tensors.size() == 2) {
                const auto [ni, no] = detail::dense_sizes(l, at);
                shapes = {{cat(no, ",", ni), no * ni}, {cat(no, ","), no}};
            } else if (l.op == "Conv2D" && !l.tensors.empty()) {
                const detail::conv_sizes c = detail::conv_sizes_of(l, at);
                shapes = {{cat(c.filters, ",", c.patch), c.filters * c.patch}};
                if (c.bias)
                    shapes.push_back({cat(c.filters, ","), c.filters});
            } else if (l.op == "BatchNorm" || l.op == "LayerNorm") {
                const detail::norm_sizes z = detail::norm_sizes_of(l, at);
                shapes.assign(z.tensors, {cat(z.length, ","), z.length});
            }
        } catch (const std::invalid_argument& e) {
            throw io_error(cat(path, ": ", e.what()));
        }
        for (const auto& sh : shapes)
            claimed += static_cast<double>(sh.second) * sizeof(T);
        if (shapes.empty() || shapes.size() != l.tensors.size() || claimed > static_cast<double>(bytes.size()))
            throw io_error(cat(path, ": layer ", i, " (", l.op, ") has tensors that a Model cannot hold or that the ",
                               bytes.size(), "-byte file cannot"));
        for (std::size_t k = 0; k < shapes.size(); ++k) {
            const std::string data = r.data(cat("layer", i, ".", l.tensors[k].name), detail::npy_descr<T>(),
                                            shapes[k].first, shapes[k].second * sizeof(T));
            std::vector<T> v(shapes[k].second);
            std::memcpy(v.data(), data.data(), data.size());
            tensors[i].push_back(std::move(v));
        }
    }
    try {
        return Model<T>(a.layers, tensors);
    } catch (const std::invalid_argument& e) { // shape_error too
        throw io_error(cat(path, ": ", e.what()));
    }
}

/// A Model from any file mininn saves (save(), save_checkpoint(), fit's checkpoints), with no
/// network type in the caller's code. Reads no more than max_bytes, and checks every array's
/// dtype and shape against the saved architecture before it copies anything. Throws io_error
/// naming path for a missing, oversized, corrupt or truncated file, one written before
/// architectures were recorded as data (format 1: load it into its Network and save it again),
/// a newer format, weights of the other scalar type, a layer with no frozen form, or an array
/// that does not fit its layer.
template <class T>
Model<T> load_model(const std::string& path, std::size_t max_bytes = default_model_bytes_limit)
{
    const std::string bytes = detail::read_archive_file(path, max_bytes);
    if (bytes.size() > max_bytes)
        throw io_error(
            detail::cat(path, ": larger than the ", max_bytes, " bytes load_model reads (pass a larger max_bytes)"));
    return load_model_npz<T>(bytes, path);
}

} // namespace MININN_ISA
} // namespace mininn
