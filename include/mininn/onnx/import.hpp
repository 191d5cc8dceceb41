// mininn::onnx: an ONNX graph of a multilayer perceptron (as torch.onnx.export writes) into a Model.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../inference/load.hpp"
#include "../inference/model.hpp"
#include "../io/npz.hpp"
#include "proto.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// The layers read so far: a Dense (W [out, in] row-major, b [out]) or an op without tensors.
struct onnx_layer {
    std::string op;
    double alpha = 0;
    std::size_t in = 0, out = 0;
    std::vector<double> W, b;
};

class onnx_reader {
public:
    onnx_reader(const onnx::ModelProto& m, const std::string& where) : g_(m.graph()), where_(where)
    {
        for (const auto& o : m.opset_import())
            if (o.domain().empty() || o.domain() == "ai.onnx")
                opset_ = o.version();
        for (const auto& t : g_.initializer())
            weights_[t.name()] = &t;
        for (int k = 0; k < g_.node_size(); ++k) // Constant nodes are weights too
            if (g_.node(k).op_type() == "Constant") {
                const onnx::NodeProto& n = g_.node(k);
                if (n.output_size() != 1 || n.attribute_size() != 1 || n.attribute(0).name() != "value" ||
                    !n.attribute(0).has_t())
                    throw io_error(cat(at(k), ": only a Constant with one tensor 'value' is supported"));
                weights_[n.output(0)] = &n.attribute(0).t();
            } else if (g_.node(k).op_type() == "Transpose" && g_.node(k).input_size() == 1 &&
                       weights_.count(g_.node(k).input(0)) != 0) {
                transpose_weight(k); // torch writes a Linear without bias so, unfolded
            }
    }

    std::vector<onnx_layer> read()
    {
        input();
        for (int k = 0; k < g_.node_size(); ++k)
            if (g_.node(k).op_type() != "Constant" && folded_.count(k) == 0)
                node(k);
        if (g_.output_size() != 1 || g_.output(0).name() != cur_)
            throw io_error(cat(where_, ": the graph's output must be the last node's ('", cur_, "'); it has ",
                               g_.output_size(), " outputs"));
        return std::move(layers_);
    }

    /// The width of the data input's sample, known after read().
    std::size_t input_features() const { return element_count(input_shape_); }
    /// Whether the graph takes its input as [features, n] (a first Gemm with transA = 1).
    bool input_as_columns() const { return columns_; }

private:
    // A Transpose of a rank-2 weight, a weight itself.
    void transpose_weight(int k)
    {
        const onnx::NodeProto& n = g_.node(k);
        std::vector<std::size_t> d;
        const std::vector<double> v = weight(k, 0, &d);
        const auto* perm = attribute(k, "perm");
        if (d.size() != 2 || n.output_size() != 1 ||
            (perm != nullptr && (perm->ints_size() != 2 || perm->ints(0) != 1 || perm->ints(1) != 0)))
            throw io_error(cat(at(k), ": only a Transpose of a rank-2 weight, with one output, is supported"));
        onnx::TensorProto& t = owned_.emplace_back();
        t.set_data_type(onnx::TensorProto::DOUBLE);
        t.add_dims(static_cast<std::int64_t>(d[1]));
        t.add_dims(static_cast<std::int64_t>(d[0]));
        for (std::size_t c = 0; c < d[1]; ++c)
            for (std::size_t r = 0; r < d[0]; ++r)
                t.add_double_data(v[r * d[1] + c]);
        weights_[n.output(0)] = &t;
        folded_.insert(k);
    }

    std::string at(int k) const
    {
        const onnx::NodeProto& n = g_.node(k);
        return cat(where_, ": node ", k, n.name().empty() ? "" : " '" + n.name() + "'", " (", n.op_type(), ")");
    }

    void input()
    {
        std::vector<const onnx::ValueInfoProto*> data;
        for (const auto& v : g_.input())
            if (weights_.count(v.name()) == 0)
                data.push_back(&v);
        if (data.size() != 1)
            throw io_error(cat(where_, ": the graph has ", data.size(),
                               " inputs that are not weights; a chain of layers "
                               "has one"));
        const onnx::ValueInfoProto& v = *data[0];
        const auto& t = v.type().tensor_type();
        if (t.elem_type() != onnx::TensorProto::FLOAT && t.elem_type() != onnx::TensorProto::DOUBLE)
            throw io_error(cat(where_, ": input '", v.name(), "' is of type ",
                               onnx::TensorProto::DataType_Name(t.elem_type()), ", not float or double"));
        const auto& dims = t.shape().dim();
        if (dims.size() < 2)
            throw io_error(cat(where_, ": input '", v.name(), "' has rank ", dims.size(), "; expected [n, features]"));
        // A first Gemm with transA = 1 takes the data as [features, n], samples as columns.
        for (int k = 0; k < g_.node_size() && columns_ == false; ++k)
            if (g_.node(k).op_type() != "Constant" && folded_.count(k) == 0) {
                columns_ = g_.node(k).op_type() == "Gemm" && g_.node(k).input_size() > 0 &&
                           g_.node(k).input(0) == v.name() && int_attr(k, "transA", 0) != 0 && dims.size() == 2;
                break;
            }
        shape_.clear();
        double features = 1;
        for (int d = columns_ ? 0 : 1; d < (columns_ ? 1 : dims.size()); ++d) {
            if (!dims[d].has_dim_value() || dims[d].dim_value() <= 0)
                throw io_error(
                    cat(where_, ": input '", v.name(), "' dimension ", d, " is not a fixed size",
                        columns_ ? " (the features: a first Gemm with transA = 1 takes [features, n])" : ""));
            shape_.push_back(static_cast<std::size_t>(dims[d].dim_value()));
            features *= static_cast<double>(dims[d].dim_value());
        }
        if (features > 4294967295.0) // as Model's kernels index them
            throw io_error(cat(where_, ": input '", v.name(), "' of shape [n, ", shape_str(shape_).substr(1),
                               " has more than 2^32 features a sample"));
        features_ = element_count(shape_);
        input_shape_ = shape_;
        cur_ = input_name_ = v.name();
    }

    // The weight named by input i of node k: an initializer or a Constant.
    std::vector<double> weight(int k, int i, std::vector<std::size_t>* dims = nullptr) const
    {
        const onnx::NodeProto& n = g_.node(k);
        const auto w = n.input_size() > i ? weights_.find(n.input(i)) : weights_.end();
        if (w == weights_.end())
            throw io_error(cat(at(k), ": input ", i, " must be a weight (an initializer or a Constant)",
                               n.input_size() > i ? " but '" + n.input(i) + "' is not one" : ", and there is none"));
        return onnx_values(*w->second, cat(at(k), ": tensor '", n.input(i), "'"), dims);
    }

    const onnx::AttributeProto* attribute(int k, const char* name) const
    {
        for (const auto& a : g_.node(k).attribute())
            if (a.name() == name)
                return &a;
        return nullptr;
    }
    // A float attribute's value; the default is ONNX's, a float too.
    double float_attr(int k, const char* name, float fallback) const
    {
        const auto* a = attribute(k, name);
        return a == nullptr ? double(fallback) : a->f();
    }
    std::int64_t int_attr(int k, const char* name, std::int64_t fallback) const
    {
        const auto* a = attribute(k, name);
        return a == nullptr ? fallback : a->i();
    }

    // The attributes each op may carry, with their types: any other is refused, not ignored.
    void check_attributes(int k) const
    {
        using A = onnx::AttributeProto;
        static const std::map<std::string, std::map<std::string, A::AttributeType>> known = {
            {"Gemm", {{"alpha", A::FLOAT}, {"beta", A::FLOAT}, {"transA", A::INT}, {"transB", A::INT}}},
            {"LeakyRelu", {{"alpha", A::FLOAT}}},
            {"Softmax", {{"axis", A::INT}}},
            {"LogSoftmax", {{"axis", A::INT}}},
            {"Flatten", {{"axis", A::INT}}},
            {"Dropout", {{"ratio", A::FLOAT}, {"seed", A::INT}, {"is_test", A::INT}}},
            {"BatchNormalization",
             {{"epsilon", A::FLOAT},
              {"momentum", A::FLOAT},
              {"training_mode", A::INT},
              {"spatial", A::INT},
              {"is_test", A::INT},
              {"consumed_inputs", A::INTS}}},
            {"MatMul", {}},
            {"Add", {}},
            {"Relu", {}},
            {"Sigmoid", {}},
            {"Tanh", {}},
            {"Identity", {}}};
        const auto op = known.find(g_.node(k).op_type());
        if (op == known.end())
            return; // an op not supported, refused as such
        for (const auto& a : g_.node(k).attribute()) {
            const auto it = op->second.find(a.name());
            if (it == op->second.end())
                throw io_error(cat(at(k), ": attribute '", a.name(), "' is not supported"));
            if (a.type() != it->second)
                throw io_error(cat(at(k), ": attribute '", a.name(), "' is of type ", A::AttributeType_Name(a.type()),
                                   ", not ", A::AttributeType_Name(it->second)));
        }
        // Before opset 7, Dropout and BatchNormalization ran in training mode unless is_test = 1.
        if (opset_ < 7 && op->second.count("is_test") != 0 && int_attr(k, "is_test", 0) != 1)
            throw io_error(cat(at(k), ": is_test = 0, training mode, is not supported (inference only)"));
        if (int_attr(k, "spatial", 1) != 1)
            throw io_error(cat(at(k), ": spatial = 0 (statistics per element) is not supported"));
    }

    // Whether Dropout's training_mode input (a bool weight) is true, or anything but false.
    bool training(int k) const
    {
        const auto w = weights_.find(g_.node(k).input(2));
        if (w == weights_.end())
            return true; // computed at run time: cannot be known to be off
        const onnx::TensorProto& t = *w->second;
        if (t.data_type() != onnx::TensorProto::BOOL)
            return true;
        return t.has_raw_data() ? t.raw_data().size() != 1 || t.raw_data()[0] != 0
                                : t.int32_data_size() != 1 || t.int32_data(0) != 0;
    }

    // An axis of the data, counted from the end when negative, as ONNX counts them.
    std::int64_t axis_of(std::int64_t axis) const
    {
        return axis < 0 ? axis + static_cast<std::int64_t>(shape_.size()) + 1 : axis;
    }

    void need_flat(int k) const
    {
        if (shape_.size() != 1)
            throw io_error(cat(at(k), ": takes [n, features], but its input has rank ", shape_.size() + 1,
                               "; a Flatten must come first"));
    }

    // The bias c (one value, or one per output) added to the Dense just read.
    void add_bias(int k, const std::vector<double>& c, double scale)
    {
        onnx_layer& d = layers_.back();
        if (c.size() != 1 && c.size() != d.out)
            throw io_error(cat(at(k), ": a bias of ", c.size(), " values for ", d.out,
                               " outputs (a bias per sample is not supported)"));
        for (std::size_t r = 0; r < d.out; ++r)
            d.b[r] += scale * c[c.size() == 1 ? 0 : r];
    }

    bool after_dense() const { return !layers_.empty() && layers_.back().op == "Dense"; }

    void dense(int k, std::vector<double> W, std::size_t out)
    {
        need_flat(k);
        layers_.push_back({"Dense", 0, features_, out, std::move(W), std::vector<double>(out, 0.0)});
        features_ = out;
        shape_ = {out};
    }

    void node(int k)
    {
        const onnx::NodeProto& n = g_.node(k);
        const std::string& op = n.op_type();
        // An Add may take the data second: torch puts MatMul's bias first.
        const int data = op == "Add" && n.input_size() == 2 && n.input(1) == cur_ ? 1 : 0;
        if (n.input_size() == 0 || n.input(data) != cur_)
            throw io_error(cat(at(k), ": its first input is not '", cur_,
                               "', the output of the node before; mininn "
                               "imports chains of layers"));
        for (int i = 0; i < n.input_size(); ++i)
            if (i != data && !n.input(i).empty() && weights_.count(n.input(i)) == 0)
                throw io_error(cat(at(k), ": input '", n.input(i), "' is neither a weight nor the previous output"));
        if (n.output_size() == 0)
            throw io_error(cat(at(k), ": has no output"));
        check_attributes(k);
        if (op == "Gemm" || op == "MatMul") {
            need_flat(k);
            if (int_attr(k, "transA", 0) != 0 && !(columns_ && layers_.empty() && n.input(0) == input_name_))
                throw io_error(cat(at(k), ": transA = 1 is supported only on the graph's input, not on [n, features] "
                                          "data from a layer"));
            std::vector<std::size_t> d;
            const std::vector<double> B = weight(k, 1, &d);
            const bool transB = op == "Gemm" && int_attr(k, "transB", 0) != 0;
            if (d.size() != 2 || d[transB ? 1 : 0] != features_)
                throw io_error(cat(at(k), ": a weight of shape ", shape_str(d), " for ", features_, " features"));
            const std::size_t out = d[transB ? 0 : 1];
            const double alpha = op == "Gemm" ? float_attr(k, "alpha", 1.0f) : 1.0;
            std::vector<double> W(out * features_);
            for (std::size_t r = 0; r < out; ++r)
                for (std::size_t c = 0; c < features_; ++c)
                    W[r * features_ + c] = alpha * (transB ? B[r * features_ + c] : B[c * out + r]);
            dense(k, std::move(W), out);
            if (op == "Gemm" && n.input_size() > 2 && !n.input(2).empty())
                add_bias(k, weight(k, 2), float_attr(k, "beta", 1.0f));
        } else if (op == "Add") {
            if (!after_dense())
                throw io_error(cat(at(k), ": an Add is supported only as the bias of the Gemm or MatMul before it"));
            add_bias(k, weight(k, 1 - data), 1.0);
        } else if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu") {
            const double alpha = op == "LeakyRelu" ? float_attr(k, "alpha", 0.01f) : 0;
            if (op == "LeakyRelu" && !(alpha > 0 && alpha < 1))
                throw io_error(cat(at(k), ": alpha ", alpha, " is not supported (mininn's LeakyReLU takes (0, 1))"));
            layers_.push_back({op == "Relu" ? "ReLU" : op == "LeakyRelu" ? "LeakyReLU" : op, alpha, 0, 0, {}, {}});
        } else if (op == "Softmax" || op == "LogSoftmax") {
            const std::int64_t axis = int_attr(k, "axis", opset_ >= 13 ? -1 : 1);
            if (axis_of(axis) != 1 || shape_.size() != 1)
                throw io_error(cat(at(k), ": axis ", axis, " of data of rank ", shape_.size() + 1,
                                   " is not supported (only the features' axis of [n, features]: 1 or -1)"));
            layers_.push_back({op, 0, 0, 0, {}, {}});
        } else if (op == "Flatten") {
            if (axis_of(int_attr(k, "axis", 1)) != 1)
                throw io_error(cat(at(k), ": axis ", int_attr(k, "axis", 1), " of data of rank ", shape_.size() + 1,
                                   " is not supported (only the axis after the batch's, which gives [n, features])"));
            shape_ = {features_};
        } else if (op == "Dropout") {
            if (n.input_size() > 2 && !n.input(2).empty() && training(k))
                throw io_error(cat(at(k), ": training_mode is not supported (inference only)"));
        } else if (op == "BatchNormalization") {
            batch_norm(k);
        } else if (op != "Identity") {
            throw io_error(
                cat(at(k), ": the op is not supported; mininn imports Gemm, MatMul, Add (a bias), Relu, "
                           "LeakyRelu, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten, BatchNormalization (inference), "
                           "Dropout (inference), Identity and Constant"));
        }
        for (int o = 1; o < n.output_size(); ++o)
            used_.push_back(n.output(o)); // only the first output may be used
        for (const auto& u : used_)
            for (int i = 0; i < n.input_size(); ++i)
                if (n.input(i) == u && !u.empty())
                    throw io_error(cat(at(k), ": uses '", u, "', an output other than the first of a node before"));
        cur_ = n.output(0);
    }

    // y = scale (x - mean) / sqrt(var + epsilon) + B per channel (dimension 1 of the data),
    // folded into the Dense before when there is one: W' = s W, b' = s (b - mean) + B.
    void batch_norm(int k)
    {
        if (int_attr(k, "training_mode", 0) != 0)
            throw io_error(cat(at(k), ": training_mode is not supported (inference only)"));
        const double eps = float_attr(k, "epsilon", 1e-5f);
        const std::size_t channels = shape_[0], per = features_ / channels;
        std::vector<double> p[4];
        for (int i = 0; i < 4; ++i) {
            p[i] = weight(k, i + 1);
            if (p[i].size() != channels)
                throw io_error(
                    cat(at(k), ": input ", i + 1, " holds ", p[i].size(), " values for ", channels, " channels"));
        }
        std::vector<double> s(features_), shift(features_);
        for (std::size_t f = 0; f < features_; ++f) {
            const std::size_t c = f / per;
            if (!(p[3][c] + eps > 0))
                throw io_error(cat(at(k), ": variance ", p[3][c], " + epsilon is not positive at channel ", c));
            s[f] = p[0][c] / std::sqrt(p[3][c] + eps);
            shift[f] = p[1][c] - s[f] * p[2][c];
        }
        if (!after_dense()) { // standalone: a Dense with a diagonal W, the data's shape kept
            std::vector<double> W(features_ * features_, 0.0);
            for (std::size_t f = 0; f < features_; ++f)
                W[f * features_ + f] = 1.0;
            layers_.push_back({"Dense", 0, features_, features_, std::move(W), std::vector<double>(features_, 0.0)});
        }
        onnx_layer& d = layers_.back();
        for (std::size_t r = 0; r < d.out; ++r) {
            for (std::size_t c = 0; c < d.in; ++c)
                d.W[r * d.in + c] *= s[r];
            d.b[r] = s[r] * d.b[r] + shift[r];
        }
    }

    const onnx::GraphProto& g_;
    std::string where_, cur_;
    std::map<std::string, const onnx::TensorProto*> weights_;
    std::vector<std::string> used_;
    std::deque<onnx::TensorProto> owned_; // weights computed here (stable addresses)
    std::set<int> folded_;                // nodes already read as weights
    std::vector<std::size_t> shape_;      // the data's dimensions after the batch
    std::vector<std::size_t> input_shape_;
    std::string input_name_;
    bool columns_ = false; // the input is [features, n]
    std::size_t features_ = 0;
    std::int64_t opset_ = 0;
    std::vector<onnx_layer> layers_;
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
        if (l.op == "Dense") {
            specs.push_back(
                {"Dense", {{"in", double(l.in)}, {"out", double(l.out)}}, {{"W", true, true}, {"b", true, false}}});
            tensors.push_back({std::vector<T>(l.W.begin(), l.W.end()), std::vector<T>(l.b.begin(), l.b.end())});
        } else {
            specs.push_back(l.op == "LeakyReLU" ? LayerSpec{l.op, {{"alpha", l.alpha}}, {}} : LayerSpec{l.op, {}, {}});
            tensors.emplace_back();
        }
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
