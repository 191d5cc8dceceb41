// mininn::onnx internals: the importer's image ops (Conv, MaxPool, AveragePool and their
// global forms, BatchNormalization, LayerNormalization, Reshape) read into layer specs.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "graph.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// The data's dimensions after the batch's as mininn's Shape: [F] is F×1×1, [C, L] C×1×L.
inline Shape onnx_image_of(const onnx_graph& g, int k, const onnx_data& d)
{
    const auto& s = d.shape;
    if (s.empty() || s.size() > 3)
        throw io_error(cat(g.at(k), ": data of rank ", s.size() + 1, " is not supported (rank 2 to 4)"));
    return s.size() == 1 ? Shape(s[0], 1, 1) : s.size() == 2 ? Shape(s[0], 1, s[1]) : Shape(s[0], s[1], s[2]);
}

inline Shape onnx_need_image(const onnx_graph& g, int k, const onnx_data& d)
{
    if (d.shape.size() != 3)
        throw io_error(cat(g.at(k), ": takes an image [n, C, H, W], but its input has rank ", d.shape.size() + 1,
                           d.shape.size() == 1 ? "; a Reshape must come first" : " (mininn's windows are 2-D)"));
    return Shape(d.shape[0], d.shape[1], d.shape[2]);
}

// A Conv's or pool's window, from its attributes, over the image in.
struct onnx_window {
    std::size_t kernel = 0, stride = 1, padding = 0;
    Shape out;
};

// Two equal positive entries, or throws naming the attribute.
inline std::size_t onnx_square(const onnx_graph& g, int k, const char* name, const std::vector<std::int64_t>& v)
{
    if (v.size() != 2)
        throw io_error(
            cat(g.at(k), ": ", name, " ", shape_str(v), " has ", v.size(), " dimensions (mininn's windows are 2-D)"));
    if (v[0] != v[1] || v[0] <= 0)
        throw io_error(cat(g.at(k), ": ", name, " ", shape_str(v),
                           " is not supported (mininn's windows are square, of positive sizes)"));
    return static_cast<std::size_t>(v[0]);
}

// kernel is the Conv weight's (0 for a pool, whose kernel_shape is required); pad a Pad's before
// it, which must then be all the padding there is.
inline onnx_window onnx_window_of(const onnx_graph& g, int k, const Shape& in, std::int64_t kernel, std::size_t pad = 0)
{
    const bool pool = kernel == 0;
    std::vector<std::int64_t> ks = g.ints_attr(k, "kernel_shape", {});
    if (ks.empty() && pool)
        throw io_error(cat(g.at(k), ": has no kernel_shape"));
    if (ks.empty())
        ks = {kernel, kernel};
    onnx_window w;
    w.kernel = onnx_square(g, k, "kernel_shape", ks);
    if (!pool && ks[0] != kernel)
        throw io_error(cat(g.at(k), ": kernel_shape ", shape_str(ks), " but a weight of kernel ", kernel));
    w.stride = onnx_square(g, k, "strides", g.ints_attr(k, "strides", {1, 1}));
    const std::vector<std::int64_t> dil = g.ints_attr(k, "dilations", {1, 1});
    if (dil != std::vector<std::int64_t>{1, 1})
        throw io_error(cat(g.at(k), ": dilations ", shape_str(dil), " are not supported (only [1, 1])"));
    const std::size_t side[2] = {in.height, in.width}, ker = w.kernel, s = w.stride;
    const std::string auto_pad = g.string_attr(k, "auto_pad", "NOTSET");
    const std::vector<std::int64_t> p = g.ints_attr(k, "pads", {0, 0, 0, 0});
    if (pad != 0 && ((auto_pad != "NOTSET" && auto_pad != "VALID") || p != std::vector<std::int64_t>(4, 0)))
        throw io_error(cat(g.at(k), ": pads as well as the Pad before it are not supported (only one of them)"));
    if (auto_pad == "NOTSET") {
        if (p.size() != 4 || p[0] < 0 || p[1] != p[0] || p[2] != p[0] || p[3] != p[0])
            throw io_error(
                cat(g.at(k), ": pads ", shape_str(p), " are not supported (mininn pads all four sides alike)"));
        w.padding = pad != 0 ? pad : static_cast<std::size_t>(p[0]);
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        std::size_t total[2];
        for (int a = 0; a < 2; ++a) { // the output keeps ceil(side / stride) positions
            const std::size_t out = (side[a] + s - 1) / s, need = (out - 1) * s + ker;
            total[a] = need > side[a] ? need - side[a] : 0;
        }
        if (total[0] % 2 != 0 || total[0] != total[1])
            throw io_error(cat(g.at(k), ": auto_pad ", auto_pad, " pads this image by ", total[0], " rows and ",
                               total[1], " columns, which mininn cannot split alike on all four sides"));
        w.padding = total[0] / 2;
    } else if (auto_pad != "VALID") {
        throw io_error(cat(g.at(k), ": auto_pad '", auto_pad, "' is not supported"));
    } else {
        w.padding = pad;
    }
    if (pool && 2 * w.padding > w.kernel)
        throw io_error(cat(g.at(k), ": padding ", w.padding, " is more than half the kernel ", w.kernel,
                           " (mininn's pools, as PyTorch's, take at most half)"));
    std::size_t out[2];
    for (int a = 0; a < 2; ++a) {
        const std::size_t padded = side[a] + 2 * w.padding;
        if (padded < ker)
            throw io_error(cat(g.at(k), ": a kernel of ", ker, " is larger than the padded image ", in.str()));
        out[a] = (padded - ker) / s + 1;
        if (pool && g.int_attr(k, "ceil_mode", 0) != 0 && (padded - ker) % s != 0)
            throw io_error(cat(g.at(k), ": ceil_mode = 1 is not supported where it adds a window (as it does here)"));
    }
    w.out = Shape(pool ? in.channels : 0, out[0], out[1]);
    return w;
}

// Conv: a Conv2D of W [M, C, k, k] (mininn's [filters, C·k·k] as it is) and B [M] or none.
inline void read_conv(const onnx_graph& g, int k, onnx_data& d)
{
    const Shape in = onnx_need_image(g, k, d);
    if (g.int_attr(k, "group", 1) != 1)
        throw io_error(cat(g.at(k), ": group ", g.int_attr(k, "group", 1), " is not supported (only 1)"));
    std::vector<std::size_t> wd;
    std::vector<double> W = g.weight(k, 1, &wd);
    if (wd.size() != 4 || wd[1] != in.channels || wd[0] == 0)
        throw io_error(cat(g.at(k), ": a weight of shape ", shape_str(wd), " for an image of ", in.str()));
    if (wd[2] != wd[3])
        throw io_error(cat(g.at(k), ": a kernel of ", wd[2], "×", wd[3], " is not supported (mininn's are square)"));
    const onnx_window w = onnx_window_of(g, k, in, static_cast<std::int64_t>(wd[2]), d.pad);
    d.pad = 0;
    const bool bias = g.has_input(k, 2);
    LayerSpec spec{"Conv2D",
                   {{"channels", double(in.channels)},
                    {"height", double(in.height)},
                    {"width", double(in.width)},
                    {"filters", double(wd[0])},
                    {"kernel", double(w.kernel)},
                    {"stride", double(w.stride)},
                    {"padding", double(w.padding)},
                    {"bias", bias ? 1.0 : 0.0}},
                   {{"W", true, true}}};
    std::vector<std::vector<double>> t{std::move(W)};
    if (bias) {
        t.push_back(g.weight(k, 2));
        if (t[1].size() != wd[0])
            throw io_error(cat(g.at(k), ": a bias of ", t[1].size(), " values for ", wd[0], " filters"));
        spec.tensors.push_back({"b", true, false});
    }
    d.layers.push_back({std::move(spec), std::move(t)});
    d.set_shape({wd[0], w.out.height, w.out.width});
}

// MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool: MaxPool2D or AvgPool2D.
inline void read_pool(const onnx_graph& g, int k, onnx_data& d)
{
    const Shape in = onnx_need_image(g, k, d);
    const std::string& op = g.node(k).op_type();
    const bool global = op.rfind("Global", 0) == 0, max = op == "MaxPool" || op == "GlobalMaxPool";
    onnx_window w;
    if (global) {
        if (in.height != in.width)
            throw io_error(cat(g.at(k), ": a global pool of an image of ", in.str(),
                               " is not supported (mininn's windows are square)"));
        w = {in.height, 1, 0, Shape(in.channels, 1, 1)};
    } else {
        w = onnx_window_of(g, k, in, 0, d.pad);
    }
    const bool padded = d.pad != 0; // an AveragePool after a Pad counts its zeros
    d.pad = 0;
    LayerSpec spec{max ? "MaxPool2D" : "AvgPool2D",
                   {{"channels", double(in.channels)},
                    {"height", double(in.height)},
                    {"width", double(in.width)},
                    {"kernel", double(w.kernel)},
                    {"stride", double(w.stride)},
                    {"padding", double(w.padding)}},
                   {}};
    if (!max)
        spec.attributes.emplace_back("count_include_pad",
                                     padded || g.int_attr(k, "count_include_pad", 0) != 0 ? 1.0 : 0.0);
    d.layers.push_back({std::move(spec), {}});
    d.set_shape({in.channels, w.out.height, w.out.width});
}

// Pad with zeros, alike on the four sides of an image, before a Conv or an AveragePool (as
// PyTorch writes an AvgPool2d that counts its padding): their padding. pads is an attribute
// before opset 11, an INT64 weight after, [N, C, H, W begins, then ends].
inline void read_pad(const onnx_graph& g, int k, onnx_data& d)
{
    onnx_need_image(g, k, d);
    const std::string mode = g.string_attr(k, "mode", "constant");
    if (mode != "constant")
        throw io_error(cat(g.at(k), ": mode '", mode, "' is not supported (only zeros: 'constant')"));
    const std::vector<std::int64_t> p = g.opset() < 11 ? g.ints_attr(k, "pads", {}) : g.int64_weight(k, 1);
    const std::vector<double> value = g.opset() < 11      ? std::vector<double>{g.float_attr(k, "value", 0.0f)}
                                      : g.has_input(k, 2) ? g.weight(k, 2)
                                                          : std::vector<double>{0.0};
    if (g.has_input(k, 3))
        throw io_error(cat(g.at(k), ": axes are not supported"));
    if (value.size() != 1)
        throw io_error(cat(g.at(k), ": a constant_value of ", value.size(), " values (one is a Pad's value)"));
    if (value[0] != 0)
        throw io_error(cat(g.at(k), ": a value of ", value[0], " is not supported (only zeros)"));
    const std::vector<std::int64_t> alike{0, 0, p.size() == 8 ? p[2] : -1, p.size() == 8 ? p[2] : -1};
    if (p.size() != 8 || p[2] <= 0 || std::vector<std::int64_t>(p.begin(), p.begin() + 4) != alike ||
        std::vector<std::int64_t>(p.begin() + 4, p.end()) != alike)
        throw io_error(cat(g.at(k), ": pads ", shape_str(p),
                           " are not supported (only the same positive padding on all four sides of the image)"));
    d.pad = static_cast<std::size_t>(p[2]);
}

// y = s (x - mean) + B per channel (dimension 1 of the data), s = scale / sqrt(var + epsilon):
// a BatchNorm.
inline void read_batch_norm(const onnx_graph& g, int k, onnx_data& d)
{
    if (g.int_attr(k, "training_mode", 0) != 0)
        throw io_error(cat(g.at(k), ": training_mode is not supported (inference only)"));
    const double eps = g.float_attr(k, "epsilon", 1e-5f);
    const Shape in = onnx_image_of(g, k, d);
    const std::size_t C = in.channels;
    std::vector<std::vector<double>> p(4); // scale, B, mean, var
    for (int i = 0; i < 4; ++i) {
        p[i] = g.weight(k, i + 1);
        if (p[i].size() != C)
            throw io_error(cat(g.at(k), ": input ", i + 1, " holds ", p[i].size(), " values for ", C, " channels"));
    }
    std::vector<double> s(C);
    for (std::size_t c = 0; c < C; ++c) {
        if (!(p[3][c] + eps > 0))
            throw io_error(cat(g.at(k), ": variance ", p[3][c], " + epsilon is not positive at channel ", c));
        s[c] = p[0][c] / std::sqrt(p[3][c] + eps);
    }
    // A BatchNorm, which the Model folds into a Dense or Conv2D before it. Where eps is not
    // positive, or a variance negative, which a BatchNorm does not take, its scale absorbs the
    // square root instead (variance 1).
    const double own_eps = eps > 0 ? eps : double(1e-5f); // a float, as an export keeps it
    for (std::size_t c = 0; c < C; ++c)
        if (!(eps > 0) || p[3][c] < 0) {
            p[0][c] = s[c] * std::sqrt(1 + own_eps);
            p[3][c] = 1;
        }
    LayerSpec spec{
        "BatchNorm",
        {{"channels", double(C)},
         {"height", double(in.height)},
         {"width", double(in.width)},
         {"eps", own_eps},
         {"momentum", 1 - g.float_attr(k, "momentum", 0.9f)}},
        {{"gamma", true, false}, {"beta", true, false}, {"running_mean", false, false}, {"running_var", false, false}}};
    d.layers.push_back({std::move(spec), std::move(p)});
}

// LayerNormalization over the whole sample (axis 1): a LayerNorm of Scale and B, or zeros.
inline void read_layer_norm(const onnx_graph& g, int k, onnx_data& d)
{
    const std::int64_t axis = g.int_attr(k, "axis", -1), rank = static_cast<std::int64_t>(d.shape.size()) + 1;
    if ((axis < 0 ? axis + rank : axis) != 1)
        throw io_error(cat(g.at(k), ": axis ", axis, " of data of rank ", rank,
                           " is not supported (mininn's LayerNorm is over the whole sample: axis 1)"));
    const double eps = g.float_attr(k, "epsilon", 1e-5f);
    if (!(eps > 0))
        throw io_error(cat(g.at(k), ": epsilon ", eps, " is not supported (mininn's LayerNorm takes a positive one)"));
    const Shape in = onnx_image_of(g, k, d);
    std::vector<std::vector<double>> t{g.weight(k, 1),
                                       g.has_input(k, 2) ? g.weight(k, 2) : std::vector<double>(d.features, 0.0)};
    for (int i = 0; i < 2; ++i)
        if (t[i].size() != d.features)
            throw io_error(cat(g.at(k), ": input ", i + 1, " holds ", t[i].size(), " values for ", d.features,
                               " a sample (mininn's LayerNorm does not broadcast them)"));
    LayerSpec spec{
        "LayerNorm",
        {{"channels", double(in.channels)}, {"height", double(in.height)}, {"width", double(in.width)}, {"eps", eps}},
        {{"gamma", true, false}, {"beta", true, false}}};
    d.layers.push_back({std::move(spec), std::move(t)});
}

// Reshape by a constant shape that keeps the batch as dimension 0 (0, -1 or the input's fixed
// batch size): a new view of each sample's values, which mininn keeps as they are.
inline void read_reshape(const onnx_graph& g, int k, onnx_data& d)
{
    const std::vector<std::int64_t> t = g.int64_weight(k, 1);
    const bool allowzero = g.int_attr(k, "allowzero", 0) != 0;
    const std::string to = cat(g.at(k), ": to ", shape_str(t));
    if (t.size() < 2)
        throw io_error(cat(to, ": across the samples (mininn keeps the batch as dimension 0)"));
    if (!(t[0] == -1 || (t[0] == 0 && !allowzero) || (d.batch != 0 && t[0] == std::int64_t(d.batch))))
        throw io_error(cat(to, ": dimension 0 is not the batch (0, -1 or the input's fixed batch size",
                           d.batch != 0 ? cat(" ", d.batch) : std::string(), ")"));
    std::vector<std::size_t> out;
    std::size_t known = 1, unknown = t.size();
    for (std::size_t i = 1; i < t.size(); ++i) {
        std::int64_t v = t[i];
        if (v == 0 && allowzero)
            throw io_error(cat(to, ": a dimension of 0 with allowzero = 1 (an empty tensor)"));
        if (v == 0 && i - 1 >= d.shape.size())
            throw io_error(cat(to, ": copies dimension ", i, ", which the data [n, ", shape_str(d.shape).substr(1),
                               " does not have"));
        if (v == 0)
            v = static_cast<std::int64_t>(d.shape[i - 1]);
        if (v < -1 || (v == -1 && unknown != t.size()))
            throw io_error(cat(to, ": not a shape (a dimension below -1, or two of -1)"));
        if (v == -1)
            unknown = i;
        out.push_back(v == -1 ? 0 : static_cast<std::size_t>(v));
        known *= v == -1 ? 1 : static_cast<std::size_t>(v);
    }
    if (t[0] == -1 && unknown != t.size())
        throw io_error(cat(to, ": not a shape (two dimensions of -1)"));
    if (unknown != t.size() && known != 0 && d.features % known == 0)
        out[unknown - 1] = d.features / known, known = d.features;
    if (known != d.features)
        throw io_error(cat(to, ": ",
                           t[0] == -1 ? "changes the batch (a reshape across the samples)"
                                      : cat("does not hold the ", d.features, " values of a sample")));
    d.set_shape(out);
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
