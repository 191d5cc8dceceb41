// mininn::onnx internals: an ONNX graph as the importer walks it, its weights (initializers,
// Constant nodes, the Transpose of a weight), its nodes' attributes, checked by name and type,
// and the layers read from it so far.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../layers/spec.hpp"
#include "proto.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// A layer read so far: its spec, as Model takes it, and its tensors in the spec's order
// (row-major, as doubles until the Model's type is known).
struct onnx_layer {
    LayerSpec spec;
    std::vector<std::vector<double>> tensors;
};

// The data as it flows along the chain: its dimensions after the batch's (ONNX's view: [F],
// or [C, H, W] for an image), their product, and the layers read so far.
struct onnx_data {
    std::vector<std::size_t> shape;
    std::size_t features = 0;
    std::size_t batch = 0; // the input's fixed batch size, 0 when it is a named dimension
    std::size_t pad = 0;   // a Pad's zeros on all four sides, for the Conv or AveragePool after it
    std::vector<onnx_layer> layers;

    void set_shape(std::vector<std::size_t> s)
    {
        shape = std::move(s);
        features = element_count(shape);
    }
};

class onnx_graph {
public:
    onnx_graph(const onnx::ModelProto& m, const std::string& where) : g_(m.graph()), where_(where)
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
                read_.insert(k);
            } else if (g_.node(k).op_type() == "Transpose" && g_.node(k).input_size() == 1 &&
                       weights_.count(g_.node(k).input(0)) != 0) {
                transpose_weight(k); // torch writes a Linear without bias so, unfolded
            }
    }

    const onnx::GraphProto& graph() const noexcept { return g_; }
    const onnx::NodeProto& node(int k) const { return g_.node(k); }
    const std::string& where() const noexcept { return where_; }
    std::int64_t opset() const noexcept { return opset_; }
    bool is_weight(const std::string& name) const { return weights_.count(name) != 0; }
    // Whether node k was read as a weight (a Constant, a Transpose of one) rather than a layer.
    bool is_weight_node(int k) const { return read_.count(k) != 0; }

    // "where: node k 'name' (Op)", as messages begin.
    std::string at(int k) const
    {
        const onnx::NodeProto& n = g_.node(k);
        return cat(where_, ": node ", k, n.name().empty() ? "" : " '" + n.name() + "'", " (", n.op_type(), ")");
    }

    // The weight named by input i of node k: an initializer or a Constant, as doubles.
    std::vector<double> weight(int k, int i, std::vector<std::size_t>* dims = nullptr) const
    {
        return onnx_values(tensor(k, i), cat(at(k), ": tensor '", g_.node(k).input(i), "'"), dims);
    }
    // Whether node k has input i, not left empty (an optional input).
    bool has_input(int k, int i) const { return g_.node(k).input_size() > i && !g_.node(k).input(i).empty(); }

    // The values of an INT64 weight of rank 1 (a Reshape's shape), input i of node k.
    std::vector<std::int64_t> int64_weight(int k, int i) const
    {
        const onnx::TensorProto& t = tensor(k, i);
        const std::string what = cat(at(k), ": tensor '", g_.node(k).input(i), "'");
        if (t.data_location() == onnx::TensorProto::EXTERNAL)
            throw io_error(cat(what, ": its data is in an external file, which mininn does not read"));
        if (t.data_type() != onnx::TensorProto::INT64 || t.dims_size() != 1)
            throw io_error(cat(what, ": expected INT64 values of rank 1, got ",
                               onnx::TensorProto::DataType_Name(t.data_type()), " of rank ", t.dims_size()));
        const std::size_t n = onnx_dims(t, what)[0];
        const std::size_t stored = t.has_raw_data() ? t.raw_data().size() / 8 : std::size_t(t.int64_data_size());
        if (stored != n || (t.has_raw_data() && t.raw_data().size() % 8 != 0))
            throw io_error(cat(what, ": its shape holds ", n, " values but ", stored, " are stored"));
        std::vector<std::int64_t> v(n);
        for (std::size_t j = 0; j < n; ++j)
            if (t.has_raw_data())
                std::memcpy(&v[j], t.raw_data().data() + 8 * j, 8); // little-endian, as x86 and ARM keep them
            else
                v[j] = t.int64_data(static_cast<int>(j));
        return v;
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
    std::vector<std::int64_t> ints_attr(int k, const char* name, std::vector<std::int64_t> fallback) const
    {
        const auto* a = attribute(k, name);
        return a == nullptr ? fallback : std::vector<std::int64_t>(a->ints().begin(), a->ints().end());
    }
    std::string string_attr(int k, const char* name, const char* fallback) const
    {
        const auto* a = attribute(k, name);
        return a == nullptr ? std::string(fallback) : a->s();
    }

    // The attributes each op may carry, with their types: any other is refused, not ignored.
    void check_attributes(int k) const
    {
        using A = onnx::AttributeProto;
        static const std::map<std::string, A::AttributeType> window = {
            {"auto_pad", A::STRING}, {"kernel_shape", A::INTS}, {"pads", A::INTS}, {"strides", A::INTS}};
        auto with = [](std::map<std::string, A::AttributeType> m, std::map<std::string, A::AttributeType> more) {
            m.insert(more.begin(), more.end());
            return m;
        };
        static const std::map<std::string, std::map<std::string, A::AttributeType>> known = {
            {"Gemm", {{"alpha", A::FLOAT}, {"beta", A::FLOAT}, {"transA", A::INT}, {"transB", A::INT}}},
            {"LeakyRelu", {{"alpha", A::FLOAT}}},
            {"Softmax", {{"axis", A::INT}}},
            {"LogSoftmax", {{"axis", A::INT}}},
            {"Flatten", {{"axis", A::INT}}},
            {"Reshape", {{"allowzero", A::INT}}},
            {"Pad", {{"mode", A::STRING}, {"pads", A::INTS}, {"value", A::FLOAT}}},
            {"Dropout", {{"ratio", A::FLOAT}, {"seed", A::INT}, {"is_test", A::INT}}},
            {"BatchNormalization",
             {{"epsilon", A::FLOAT},
              {"momentum", A::FLOAT},
              {"training_mode", A::INT},
              {"spatial", A::INT},
              {"is_test", A::INT},
              {"consumed_inputs", A::INTS}}},
            {"LayerNormalization", {{"axis", A::INT}, {"epsilon", A::FLOAT}, {"stash_type", A::INT}}},
            {"Conv", with(window, {{"dilations", A::INTS}, {"group", A::INT}})},
            {"MaxPool", with(window, {{"dilations", A::INTS}, {"ceil_mode", A::INT}, {"storage_order", A::INT}})},
            {"AveragePool", with(window, {{"ceil_mode", A::INT}, {"count_include_pad", A::INT}})},
            {"GlobalAveragePool", {}},
            {"GlobalMaxPool", {}},
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

private:
    const onnx::TensorProto& tensor(int k, int i) const
    {
        const onnx::NodeProto& n = g_.node(k);
        const auto w = n.input_size() > i ? weights_.find(n.input(i)) : weights_.end();
        if (w == weights_.end())
            throw io_error(cat(at(k), ": input ", i, " must be a weight (an initializer or a Constant)",
                               n.input_size() > i ? " but '" + n.input(i) + "' is not one" : ", and there is none"));
        return *w->second;
    }

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
        read_.insert(k);
    }

    const onnx::GraphProto& g_;
    std::string where_;
    std::map<std::string, const onnx::TensorProto*> weights_;
    std::deque<onnx::TensorProto> owned_; // weights computed here (stable addresses)
    std::set<int> read_;                  // nodes read as weights
    std::int64_t opset_ = 0;
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
