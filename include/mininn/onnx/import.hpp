// mininn::onnx: an ONNX graph of a chain of layers (as torch.onnx.export writes one) into a Model.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../inference/load.hpp"
#include "../inference/model.hpp"
#include "../io/npz.hpp"
#include "graph.hpp"
#include "image_import.hpp"
#include "proto.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// The chain of layers an ONNX graph holds, read node by node.
class onnx_reader {
public:
    onnx_reader(const onnx::ModelProto& m, const std::string& where) : g_(m, where), where_(where) {}

    std::vector<onnx_layer> read()
    {
        input();
        for (int k = 0; k < g_.graph().node_size(); ++k)
            if (!g_.is_weight_node(k))
                node(k);
        const onnx::GraphProto& graph = g_.graph();
        if (d_.pad != 0)
            throw io_error(cat(where_, ": the graph ends in a Pad, which is supported only before a Conv or an "
                                       "AveragePool (it becomes their padding)"));
        if (graph.output_size() != 1 || graph.output(0).name() != cur_)
            throw io_error(cat(where_, ": the graph's output must be the last node's ('", cur_, "'); it has ",
                               graph.output_size(), " outputs"));
        return std::move(d_.layers);
    }

    /// The width of the data input's sample, known after read().
    std::size_t input_features() const { return element_count(input_shape_); }
    /// Whether the graph takes its input as [features, n] (a first Gemm with transA = 1).
    bool input_as_columns() const { return columns_; }

private:
    std::string at(int k) const { return g_.at(k); }

    void input()
    {
        const onnx::GraphProto& graph = g_.graph();
        std::vector<const onnx::ValueInfoProto*> data;
        for (const auto& v : graph.input())
            if (!g_.is_weight(v.name()))
                data.push_back(&v);
        if (data.size() != 1)
            throw io_error(cat(where_, ": the graph has ", data.size(),
                               " inputs that are not weights; a chain of layers has one"));
        const onnx::ValueInfoProto& v = *data[0];
        const auto& t = v.type().tensor_type();
        if (t.elem_type() != onnx::TensorProto::FLOAT && t.elem_type() != onnx::TensorProto::DOUBLE)
            throw io_error(cat(where_, ": input '", v.name(), "' is of type ",
                               onnx::TensorProto::DataType_Name(t.elem_type()), ", not float or double"));
        const auto& dims = t.shape().dim();
        if (dims.size() < 2)
            throw io_error(cat(where_, ": input '", v.name(), "' has rank ", dims.size(), "; expected [n, features]"));
        // A first Gemm with transA = 1 takes the data as [features, n], samples as columns.
        for (int k = 0; k < graph.node_size() && columns_ == false; ++k)
            if (!g_.is_weight_node(k)) {
                columns_ = graph.node(k).op_type() == "Gemm" && graph.node(k).input_size() > 0 &&
                           graph.node(k).input(0) == v.name() && g_.int_attr(k, "transA", 0) != 0 && dims.size() == 2;
                break;
            }
        std::vector<std::size_t> shape;
        double features = 1;
        for (int d = columns_ ? 0 : 1; d < (columns_ ? 1 : dims.size()); ++d) {
            if (!dims[d].has_dim_value() || dims[d].dim_value() <= 0)
                throw io_error(
                    cat(where_, ": input '", v.name(), "' dimension ", d, " is not a fixed size",
                        columns_ ? " (the features: a first Gemm with transA = 1 takes [features, n])" : ""));
            shape.push_back(static_cast<std::size_t>(dims[d].dim_value()));
            features *= static_cast<double>(dims[d].dim_value());
        }
        if (features > 4294967295.0) // as Model's kernels index them
            throw io_error(cat(where_, ": input '", v.name(), "' of shape [n, ", shape_str(shape).substr(1),
                               " has more than 2^32 features a sample"));
        const int batch = columns_ ? 1 : 0;
        d_.batch = dims[batch].has_dim_value() && dims[batch].dim_value() > 0
                       ? static_cast<std::size_t>(dims[batch].dim_value())
                       : 0;
        d_.set_shape(shape);
        input_shape_ = shape;
        cur_ = input_name_ = v.name();
    }

    // An axis of the data, counted from the end when negative, as ONNX counts them.
    std::int64_t axis_of(std::int64_t axis) const
    {
        return axis < 0 ? axis + static_cast<std::int64_t>(d_.shape.size()) + 1 : axis;
    }

    void need_flat(int k) const
    {
        if (d_.shape.size() != 1)
            throw io_error(cat(at(k), ": takes [n, features], but its input has rank ", d_.shape.size() + 1,
                               "; a Flatten must come first"));
    }

    // The bias c (one value, or one per output) added to the Dense just read.
    void add_bias(int k, const std::vector<double>& c, double scale)
    {
        std::vector<double>& b = d_.layers.back().tensors[1];
        if (c.size() != 1 && c.size() != b.size())
            throw io_error(cat(at(k), ": a bias of ", c.size(), " values for ", b.size(),
                               " outputs (a bias per sample is not supported)"));
        for (std::size_t r = 0; r < b.size(); ++r)
            b[r] += scale * c[c.size() == 1 ? 0 : r];
    }

    bool after_dense() const { return !d_.layers.empty() && d_.layers.back().spec.op == "Dense"; }

    void dense(int k, std::vector<double> W, std::size_t out)
    {
        need_flat(k);
        d_.layers.push_back(
            {{"Dense", {{"in", double(d_.features)}, {"out", double(out)}}, {{"W", true, true}, {"b", true, false}}},
             {std::move(W), std::vector<double>(out, 0.0)}});
        d_.set_shape({out});
    }

    void affine(int k)
    {
        const onnx::NodeProto& n = g_.node(k);
        const std::string& op = n.op_type();
        const std::size_t features = d_.features;
        need_flat(k);
        if (g_.int_attr(k, "transA", 0) != 0 && !(columns_ && d_.layers.empty() && n.input(0) == input_name_))
            throw io_error(cat(at(k), ": transA = 1 is supported only on the graph's input, not on [n, features] "
                                      "data from a layer"));
        std::vector<std::size_t> d;
        const std::vector<double> B = g_.weight(k, 1, &d);
        const bool transB = op == "Gemm" && g_.int_attr(k, "transB", 0) != 0;
        if (d.size() != 2 || d[transB ? 1 : 0] != features)
            throw io_error(cat(at(k), ": a weight of shape ", shape_str(d), " for ", features, " features"));
        const std::size_t out = d[transB ? 0 : 1];
        const double alpha = op == "Gemm" ? g_.float_attr(k, "alpha", 1.0f) : 1.0;
        std::vector<double> W(out * features);
        for (std::size_t r = 0; r < out; ++r)
            for (std::size_t c = 0; c < features; ++c)
                W[r * features + c] = alpha * (transB ? B[r * features + c] : B[c * out + r]);
        dense(k, std::move(W), out);
        if (op == "Gemm" && g_.has_input(k, 2))
            add_bias(k, g_.weight(k, 2), g_.float_attr(k, "beta", 1.0f));
    }

    void node(int k)
    {
        const onnx::NodeProto& n = g_.node(k);
        const std::string& op = n.op_type();
        // An Add may take the data second: torch puts MatMul's bias first.
        const int data = op == "Add" && n.input_size() == 2 && n.input(1) == cur_ ? 1 : 0;
        if (n.input_size() == 0 || n.input(data) != cur_)
            throw io_error(cat(at(k), ": its first input is not '", cur_,
                               "', the output of the node before; mininn imports chains of layers"));
        for (int i = 0; i < n.input_size(); ++i)
            if (i != data && !n.input(i).empty() && !g_.is_weight(n.input(i)))
                throw io_error(cat(at(k), ": input '", n.input(i), "' is neither a weight nor the previous output"));
        if (n.output_size() == 0)
            throw io_error(cat(at(k), ": has no output"));
        g_.check_attributes(k);
        if (d_.pad != 0 && op != "Conv" && op != "AveragePool")
            throw io_error(cat(at(k), ": follows a Pad, which is supported only before a Conv or an AveragePool "
                                      "(it becomes their padding)"));
        if (op == "Gemm" || op == "MatMul") {
            affine(k);
        } else if (op == "Add") {
            if (!after_dense())
                throw io_error(cat(at(k), ": an Add is supported only as the bias of the Gemm or MatMul before it"));
            add_bias(k, g_.weight(k, 1 - data), 1.0);
        } else if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu") {
            const double alpha = op == "LeakyRelu" ? g_.float_attr(k, "alpha", 0.01f) : 0;
            if (op == "LeakyRelu" && !(alpha > 0 && alpha < 1))
                throw io_error(cat(at(k), ": alpha ", alpha, " is not supported (mininn's LeakyReLU takes (0, 1))"));
            d_.layers.push_back({op == "LeakyRelu" ? LayerSpec{"LeakyReLU", {{"alpha", alpha}}, {}}
                                                   : LayerSpec{op == "Relu" ? "ReLU" : op, {}, {}},
                                 {}});
        } else if (op == "Softmax" || op == "LogSoftmax") {
            const std::int64_t axis = g_.int_attr(k, "axis", g_.opset() >= 13 ? -1 : 1);
            if (axis_of(axis) != 1 || d_.shape.size() != 1)
                throw io_error(cat(at(k), ": axis ", axis, " of data of rank ", d_.shape.size() + 1,
                                   " is not supported (only the features' axis of [n, features]: 1 or -1)"));
            d_.layers.push_back({LayerSpec{op, {}, {}}, {}});
        } else if (op == "Flatten") {
            if (axis_of(g_.int_attr(k, "axis", 1)) != 1)
                throw io_error(cat(at(k), ": axis ", g_.int_attr(k, "axis", 1), " of data of rank ",
                                   d_.shape.size() + 1,
                                   " is not supported (only the axis after the batch's, which gives [n, features])"));
            d_.set_shape({d_.features});
        } else if (op == "Pad") {
            read_pad(g_, k, d_);
        } else if (op == "Reshape") {
            read_reshape(g_, k, d_);
        } else if (op == "Dropout") {
            if (g_.has_input(k, 2) && g_.training(k))
                throw io_error(cat(at(k), ": training_mode is not supported (inference only)"));
        } else if (op == "BatchNormalization") {
            read_batch_norm(g_, k, d_);
        } else if (op == "LayerNormalization") {
            read_layer_norm(g_, k, d_);
        } else if (op == "Conv") {
            read_conv(g_, k, d_);
        } else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalMaxPool" || op == "GlobalAveragePool") {
            read_pool(g_, k, d_);
        } else if (op == "Shape") {
            throw io_error(cat(at(k), ": the op is not supported: a Reshape must take a constant shape (in PyTorch, "
                                      "x.flatten(1) exports as a Flatten, where x.view(x.size(0), -1) computes one)"));
        } else if (op != "Identity") {
            throw io_error(cat(at(k), ": the op is not supported; mininn imports ", imported_ops));
        }
        for (int o = 1; o < n.output_size(); ++o)
            used_.push_back(n.output(o)); // only the first output may be used
        for (const auto& u : used_)
            for (int i = 0; i < n.input_size(); ++i)
                if (n.input(i) == u && !u.empty())
                    throw io_error(cat(at(k), ": uses '", u, "', an output other than the first of a node before"));
        cur_ = n.output(0);
    }

    static constexpr const char* imported_ops =
        "Gemm, MatMul, Add (a bias), Relu, LeakyRelu, Sigmoid, Tanh, Softmax, LogSoftmax, Conv, MaxPool, "
        "AveragePool, GlobalMaxPool, GlobalAveragePool, Pad (before Conv or AveragePool), BatchNormalization "
        "(inference), LayerNormalization, "
        "Flatten, Reshape, Dropout (inference), Identity and Constant";

    onnx_graph g_;
    std::string where_, cur_;
    std::vector<std::string> used_;
    onnx_data d_;
    std::vector<std::size_t> input_shape_;
    std::string input_name_;
    bool columns_ = false; // the input is [features, n]
};

} // namespace detail

/// A Model from an ONNX file's bytes held in memory; where names it in messages. Throws
/// io_error naming the node, its op and what is not supported: an op outside those listed in
/// onnx/README.md, an attribute value it does not take, a data type other than float and
/// double, a graph that is not a chain, or a tensor whose stored size does not match its shape;
/// std::invalid_argument or shape_error as Model's constructor does.
template <class T>
Model<T> load_onnx_bytes(const std::string& bytes, const std::string& where)
{
    const onnx::ModelProto m = detail::parse_onnx(bytes, where);
    detail::onnx_reader reader(m, where);
    std::vector<detail::onnx_layer> layers = reader.read();
    std::vector<LayerSpec> specs;
    std::vector<std::vector<std::vector<T>>> tensors;
    for (auto& l : layers) {
        specs.push_back(std::move(l.spec));
        auto& t = tensors.emplace_back();
        for (const auto& v : l.tensors)
            t.emplace_back(v.begin(), v.end());
    }
    return Model<T>(specs, tensors, reader.input_features());
}

/// load_onnx_bytes() of the file at path, which must not exceed max_bytes. Throws io_error
/// naming path when it cannot be read or is larger.
template <class T>
Model<T> load_onnx(const std::string& path, std::size_t max_bytes = default_model_bytes_limit)
{
    return load_onnx_bytes<T>(detail::read_onnx_file(path, max_bytes), path);
}

/// "float32" or "float64": the type of an ONNX file's data input, for a caller that picks
/// load_onnx<float> or load_onnx<double> by it (as read_architecture's scalar does for saved
/// files). Throws io_error naming path when it cannot be read, is larger than max_bytes or
/// cannot be parsed, or has no data input or one of another type.
inline std::string onnx_scalar(const std::string& path, std::size_t max_bytes = default_model_bytes_limit)
{
    const onnx::ModelProto m = detail::parse_onnx(detail::read_onnx_file(path, max_bytes), path);
    for (const auto& v : m.graph().input())
        if (std::none_of(m.graph().initializer().begin(), m.graph().initializer().end(),
                         [&](const onnx::TensorProto& t) { return t.name() == v.name(); })) {
            const auto type = v.type().tensor_type().elem_type();
            if (type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE)
                return type == onnx::TensorProto::FLOAT ? "float32" : "float64";
            throw io_error(detail::cat(path, ": input '", v.name(), "' is of type ",
                                       onnx::TensorProto::DataType_Name(type), ", not float or double"));
        }
    throw io_error(detail::cat(path, ": the graph has no input that is not a weight"));
}

} // namespace MININN_ISA
} // namespace mininn
