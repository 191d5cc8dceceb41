// mininn: folding a BatchNorm into the Dense or Conv2D before it, for a frozen Model. In
// evaluation mode a BatchNorm is y = s x + t per channel, with s = gamma / sqrt(running_var +
// eps) and t = beta - running_mean s, so after Z = W X + b it is the layer W' = s W, b' = s b + t.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "../layers/spec.hpp"
#include "image_ops.hpp"
#include "ops.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

template <class T>
struct folded_layers {
    std::vector<LayerSpec> specs;
    std::vector<std::vector<std::vector<T>>> tensors;
};

// What folding needs of a Dense or Conv2D spec: its weight rows (Dense: out, Conv2D: filters),
// the values of one (in, or C·k·k), the output rows each makes (1, or the output positions)
// and whether it has a bias; weight rows 0 for any other op. Throws std::invalid_argument as
// dense_sizes and conv_sizes_of.
struct affine_rows {
    std::size_t weight_rows = 0, per_row = 0, outputs_per_row = 1;
    bool bias = true;
};
inline affine_rows affine_rows_of(const LayerSpec& l, const std::string& at)
{
    if (l.op == "Dense") {
        const auto [in, out] = dense_sizes(l, at);
        return {out, in, 1, true};
    }
    if (l.op != "Conv2D")
        return {};
    const conv_sizes c = conv_sizes_of(l, at);
    const window2d g = make_window("Conv2D", image_attributes(l, at), count_attribute(l, "kernel", at),
                                   count_attribute(l, "stride", at), count_attribute(l, "padding", at, 0));
    return {c.filters, c.patch, g.positions(), c.bias};
}

// Whether a BatchNorm over `bn` takes the output of a with its tensors t: of the same size,
// and for a Conv2D one channel a filter.
template <class T>
bool folds_into(const affine_rows& a, const std::vector<std::vector<T>>& t, const Shape& bn)
{
    const std::size_t rows = a.weight_rows * a.outputs_per_row, S = bn.height * bn.width;
    return a.weight_rows != 0 && bn.size() == rows && (a.outputs_per_row == 1 || S == a.outputs_per_row) &&
           t.size() == (a.bias ? 2u : 1u) && t[0].size() == a.weight_rows * a.per_row &&
           (!a.bias || t[1].size() == a.weight_rows);
}

// layers and tensors (in spec order, as Model takes them, as many of each) with each BatchNorm
// that follows a Dense, or a Conv2D with one channel a filter, folded into that layer; a
// Conv2D without a bias gains one. Other BatchNorms are left as they are, for the Model to run
// or refuse. Throws std::invalid_argument as affine_rows_of, and as frozen_norm for a
// BatchNorm that folds.
template <class T>
folded_layers<T> fold_batch_norms(const std::vector<LayerSpec>& layers,
                                  const std::vector<std::vector<std::vector<T>>>& tensors)
{
    folded_layers<T> f;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const std::string at = cat("Model: layer ", i, " (", layers[i].op, ")");
        affine_rows a;
        if (i > 0 && layers[i].op == "BatchNorm")
            a = affine_rows_of(f.specs.back(), cat("Model: layer ", i - 1, " (", f.specs.back().op, ")"));
        if (a.weight_rows == 0 || !folds_into(a, f.tensors.back(), norm_sizes_of(layers[i], at).in)) {
            f.specs.push_back(layers[i]);
            f.tensors.push_back(tensors[i]);
            continue;
        }
        const BatchNorm<T> bn = frozen_norm<BatchNorm<T>>(layers[i], tensors[i], at);
        auto& t = f.tensors.back();
        if (!a.bias) { // a Conv2D without a bias gains one
            LayerSpec& spec = f.specs.back();
            for (auto& [key, v] : spec.attributes)
                if (key == "bias")
                    v = 1;
            spec.tensors.push_back({"b", true, false});
            t.emplace_back(a.weight_rows, T(0));
        }
        const std::size_t S = bn.input_shape().height * bn.input_shape().width;
        for (std::size_t r = 0; r < a.weight_rows; ++r) {
            const std::size_t c = r * a.outputs_per_row / S; // the channel weight row r feeds
            const double s = double(bn.gamma()(c)) / std::sqrt(double(bn.running_var()(c)) + bn.eps());
            for (std::size_t e = 0; e < a.per_row; ++e) // W' = s W
                t[0][r * a.per_row + e] = T(s * double(t[0][r * a.per_row + e]));
            // b' = s (b - running_mean) + beta
            t[1][r] = T(s * (double(t[1][r]) - double(bn.running_mean()(c))) + double(bn.beta()(c)));
        }
    }
    return f;
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
