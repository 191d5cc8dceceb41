// mininn::onnx: a network or a frozen Model written as an ONNX graph (opset 17, IR version 8:
// what onnxruntime 1.30, PyTorch 1.13's tools and ONNX 1.12's checker all accept).
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "../inference/load.hpp"
#include "../inference/model.hpp"
#include "../io/output.hpp"
#include "../version.hpp"
#include "proto.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// The opset and IR version save_onnx writes.
inline constexpr int onnx_opset = 17;
inline constexpr int onnx_ir_version = 8;

namespace detail {

// The ONNX graph of a Model being written: its nodes in order, and the rank of the tensor the
// last one gives (an image [n, C, H, W] or a batch of rows [n, features]).
template <class T>
class onnx_writer {
public:
    explicit onnx_writer(onnx::GraphProto& g) : g_(g) {}

    const std::string& current() const noexcept { return cur_; }
    bool image() const noexcept { return image_on_; }
    void set_input(const Shape& image) { set_image(image); }

    onnx::NodeProto* node(const char* op, std::size_t i, std::vector<std::string> inputs, const char* suffix = "")
    {
        onnx::NodeProto* n = g_.add_node();
        n->set_op_type(op);
        n->set_name(cat("layer", i, suffix, ".", op));
        for (const auto& in : inputs)
            n->add_input(in);
        cur_ = cat("layer", i, suffix);
        n->add_output(cur_);
        return n;
    }
    std::string tensor(std::size_t i, const char* role, const std::vector<std::size_t>& dims,
                       const std::vector<T>& values)
    {
        const std::string name = cat("layer", i, ".", role);
        add_onnx_tensor<T>(g_, name, dims, values);
        return name;
    }
    static void ints(onnx::NodeProto* n, const char* name, std::vector<std::int64_t> v)
    {
        onnx::AttributeProto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(v.size() == 1 ? onnx::AttributeProto::INT : onnx::AttributeProto::INTS);
        if (v.size() == 1)
            a->set_i(v[0]);
        else
            for (const std::int64_t x : v)
                a->add_ints(x);
    }
    static void real(onnx::NodeProto* n, const char* name, double v)
    {
        onnx::AttributeProto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(static_cast<float>(v));
    }

    // Rows [n, C·H·W] become the image [n, C, H, W] (a Reshape), before an image op.
    void to_image(std::size_t i, const Shape& in)
    {
        if (image())
            return;
        onnx::TensorProto* t = g_.add_initializer();
        t->set_name(cat("layer", i, ".shape"));
        t->set_data_type(onnx::TensorProto::INT64);
        t->add_dims(4);
        for (const std::int64_t d :
             {std::int64_t(-1), std::int64_t(in.channels), std::int64_t(in.height), std::int64_t(in.width)})
            t->add_int64_data(d);
        node("Reshape", i, {cur_, t->name()}, ".image");
        set_image(in);
    }
    // An image becomes rows (a Flatten), before an op on rows and at the end.
    void to_rows(std::size_t i)
    {
        if (!image())
            return;
        ints(node("Flatten", i, {cur_}, ".rows"), "axis", {1});
        image_on_ = false;
    }
    void set_image(const Shape& out) { image_ = out, image_on_ = true; }
    const Shape& image_shape() const noexcept { return image_; }

private:
    onnx::GraphProto& g_;
    std::string cur_ = "x";
    Shape image_;
    bool image_on_ = false; // the current tensor is image_, not rows
};

inline Shape spec_image(const LayerSpec& l)
{
    return Shape(static_cast<std::size_t>(l.attribute("channels")), static_cast<std::size_t>(l.attribute("height")),
                 static_cast<std::size_t>(l.attribute("width")));
}
inline bool is_image_op(const LayerSpec& l)
{
    if (l.op == "Conv2D" || l.op == "MaxPool2D" || l.op == "AvgPool2D")
        return true;
    return l.op == "BatchNorm" && l.attribute("height") * l.attribute("width") > 1;
}

// BatchNormalization of w's current tensor, rows [n, C] or an image [n, C, H, W].
template <class T>
void write_batch_norm(onnx_writer<T>& w, std::size_t i, const LayerSpec& l, const std::vector<std::vector<T>>& t)
{
    const std::vector<std::size_t> c{static_cast<std::size_t>(l.attribute("channels"))};
    onnx::NodeProto* n = w.node("BatchNormalization", i,
                                {w.current(), w.tensor(i, "gamma", c, t[0]), w.tensor(i, "beta", c, t[1]),
                                 w.tensor(i, "running_mean", c, t[2]), w.tensor(i, "running_var", c, t[3])});
    w.real(n, "epsilon", l.attribute("eps"));
    w.real(n, "momentum", 1 - l.attribute("momentum")); // ONNX's is the old statistics' share
}

// The nodes of one image layer (Conv2D, the pools, BatchNorm over channels) after w's
// current tensor, made an image first.
template <class T>
void write_image_layer(onnx_writer<T>& w, std::size_t i, const LayerSpec& l, const std::vector<std::vector<T>>& t)
{
    const Shape in = spec_image(l);
    w.to_image(i, in);
    if (l.op == "BatchNorm")
        return write_batch_norm(w, i, l, t);
    const auto k = static_cast<std::int64_t>(l.attribute("kernel"));
    const auto s = static_cast<std::int64_t>(l.attribute("stride")),
               p = static_cast<std::int64_t>(l.attribute("padding"));
    std::size_t out_c = in.channels;
    onnx::NodeProto* n = nullptr;
    if (l.op == "Conv2D") {
        out_c = static_cast<std::size_t>(l.attribute("filters"));
        std::vector<std::string> inputs{w.current(),
                                        w.tensor(i, "W", {out_c, in.channels, std::size_t(k), std::size_t(k)}, t[0])};
        if (t.size() > 1)
            inputs.push_back(w.tensor(i, "b", {out_c}, t[1]));
        n = w.node("Conv", i, inputs);
    } else {
        n = w.node(l.op == "MaxPool2D" ? "MaxPool" : "AveragePool", i, {w.current()});
        if (l.op == "AvgPool2D")
            w.ints(n, "count_include_pad", {static_cast<std::int64_t>(l.attribute("count_include_pad"))});
    }
    w.ints(n, "kernel_shape", {k, k});
    w.ints(n, "strides", {s, s});
    w.ints(n, "pads", {p, p, p, p});
    const auto side = [&](std::size_t x) { return (x + 2 * std::size_t(p) - std::size_t(k)) / std::size_t(s) + 1; };
    w.set_image(Shape(out_c, side(in.height), side(in.width)));
}

} // namespace detail

/// The ONNX graph of a Model, as serialized bytes. ONNX keeps samples as rows: mininn's input
/// X [features, n] is the graph's input "x" [n, features], or [n, C, H, W] when the first layer
/// takes an image; its output "y" is [n, outputs]. The batch size n is a named dimension, so
/// any batch runs. Each Dense is a Gemm with transB = 1 (its W [out, in] stored as it is), each
/// activation its ONNX op, Softmax and LogSoftmax on the last axis; Conv2D is Conv (W as
/// PyTorch's [out, C, k, k]), the pools MaxPool and AveragePool, a BatchNorm that was not folded
/// BatchNormalization, LayerNorm LayerNormalization over the whole sample; a Flatten goes where
/// an image meets an op on rows, a Reshape where rows meet an image op. Dropout, the identity
/// in inference, is left out. Throws std::invalid_argument for a layer ONNX has no form for.
template <class T>
std::string to_onnx(const Model<T>& model)
{
    using detail::cat;
    onnx::ModelProto m;
    m.set_ir_version(onnx_ir_version);
    m.set_producer_name("mininn");
    m.set_producer_version(MININN_VERSION_STRING);
    onnx::OperatorSetIdProto* opset = m.add_opset_import();
    opset->set_domain("");
    opset->set_version(onnx_opset);
    onnx::GraphProto& g = *m.mutable_graph();
    g.set_name("mininn");
    g.set_doc_string("mininn keeps samples as columns (X [features, n], W [out, in]); this graph keeps them as rows, "
                     "x [n, features] or [n, C, H, W], so each Dense is Gemm(x, W, b) with transB = 1");
    auto value_info = [&](onnx::ValueInfoProto* v, const std::string& name, std::vector<std::size_t> dims) {
        v->set_name(name);
        onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(detail::onnx_type_of<T>());
        t->mutable_shape()->add_dim()->set_dim_param("n");
        for (const std::size_t d : dims)
            t->mutable_shape()->add_dim()->set_dim_value(static_cast<std::int64_t>(d));
    };
    const std::vector<LayerSpec>& specs = model.specs();
    const auto tensors = model.tensors();
    detail::onnx_writer<T> w(g);
    if (!specs.empty() && detail::is_image_op(specs[0])) {
        const Shape in = detail::spec_image(specs[0]);
        value_info(g.add_input(), "x", {in.channels, in.height, in.width});
        w.set_input(in);
    } else {
        value_info(g.add_input(), "x", {model.input_features()});
    }
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const LayerSpec& l = specs[i];
        if (detail::is_image_op(l)) {
            detail::write_image_layer(w, i, l, tensors[i]);
        } else if (l.op == "Dense") {
            w.to_rows(i);
            const auto in = static_cast<std::size_t>(l.attribute("in")),
                       out = static_cast<std::size_t>(l.attribute("out"));
            const std::string W = w.tensor(i, "W", {out, in}, tensors[i][0]),
                              b = w.tensor(i, "b", {out}, tensors[i][1]);
            w.ints(w.node("Gemm", i, {w.current(), W, b}), "transB", {1});
        } else if (l.op == "BatchNorm") { // over features
            w.to_rows(i);
            detail::write_batch_norm(w, i, l, tensors[i]);
        } else if (l.op == "LayerNorm") { // over the whole sample, image or rows
            std::vector<std::size_t> dims{static_cast<std::size_t>(detail::spec_image(l).size())};
            if (w.image())
                dims = {w.image_shape().channels, w.image_shape().height, w.image_shape().width};
            onnx::NodeProto* n = w.node(
                "LayerNormalization", i,
                {w.current(), w.tensor(i, "gamma", dims, tensors[i][0]), w.tensor(i, "beta", dims, tensors[i][1])});
            w.ints(n, "axis", {1});
            w.real(n, "epsilon", l.attribute("eps"));
        } else if (l.op == "Flatten") {
            w.to_rows(i);
        } else if (l.op == "Softmax" || l.op == "LogSoftmax") { // over the whole sample
            w.to_rows(i);
            w.ints(w.node(l.op.c_str(), i, {w.current()}), "axis", {-1});
        } else if (l.op == "Sigmoid" || l.op == "Tanh") {
            w.node(l.op.c_str(), i, {w.current()});
        } else if (l.op == "ReLU") {
            w.node("Relu", i, {w.current()});
        } else if (l.op == "LeakyReLU") {
            w.real(w.node("LeakyRelu", i, {w.current()}), "alpha", l.attribute("alpha"));
        } else if (l.op != "Identity" && l.op != "Dropout") { // a Model holds no other op
            throw std::invalid_argument(cat("to_onnx: layer ", i, " (", l.op, ") has no ONNX form"));
        }
    }
    w.to_rows(specs.size());
    if (g.node_size() == 0) // a Model of Identity and Dropout alone
        w.node("Identity", 0, {w.current()});
    g.mutable_node(g.node_size() - 1)->set_output(0, "y");
    value_info(g.add_output(), "y", {model.output_features()});
    std::string bytes;
    if (!m.SerializeToString(&bytes))
        throw io_error("to_onnx: the graph does not serialize (larger than protobuf's 2 GB)");
    return bytes;
}

/// The ONNX graph of a network (any Network, through freeze()); as to_onnx(Model).
template <class Net, class = typename Net::value_type>
std::string to_onnx(const Net& net)
{
    return to_onnx(freeze(net));
}

/// to_onnx(model) written to path whole or not at all (write_file_atomic). Throws io_error
/// naming path when it cannot be written, before any work.
template <class M>
void save_onnx(const M& model, const std::string& path)
{
    check_output_path(path);
    write_file_atomic(path, to_onnx(model));
}

} // namespace MININN_ISA
} // namespace mininn
