// mininn::onnx: a network or a frozen Model written as an ONNX graph (opset 17, IR version 8:
// what onnxruntime 1.30, PyTorch 1.13's tools and ONNX 1.12's checker all accept).
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <string>
#include <vector>

#include "../core/errors.hpp"
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

/// The ONNX graph of a Model, as serialized bytes. ONNX keeps samples as rows: mininn's input
/// X [features, n] is the graph's input "x" [n, features], its output "y" [n, outputs], with
/// the batch size n a named dimension so that any batch runs. Each Dense is a Gemm with
/// transB = 1 (its W [out, in] stored as it is), each activation its ONNX op, Softmax and
/// LogSoftmax on the last axis; Dropout, the identity in inference, is left out.
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
                     "x [n, features], so each Dense is Gemm(x, W, b) with transB = 1");
    auto value_info = [&](onnx::ValueInfoProto* v, const std::string& name, std::size_t width) {
        v->set_name(name);
        onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(detail::onnx_type_of<T>());
        t->mutable_shape()->add_dim()->set_dim_param("n");
        t->mutable_shape()->add_dim()->set_dim_value(static_cast<std::int64_t>(width));
    };
    value_info(g.add_input(), "x", model.input_features());

    const std::vector<LayerSpec>& specs = model.specs();
    const auto tensors = model.tensors();
    std::string cur = "x";
    auto node = [&](const char* op, std::size_t i, std::vector<std::string> inputs) {
        onnx::NodeProto* n = g.add_node();
        n->set_op_type(op);
        n->set_name(cat("layer", i, ".", op));
        for (const auto& in : inputs)
            n->add_input(in);
        cur = cat("layer", i);
        n->add_output(cur);
        return n;
    };
    auto float_attribute = [](onnx::NodeProto* n, const char* name, double v) {
        onnx::AttributeProto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(static_cast<float>(v));
    };
    auto int_attribute = [](onnx::NodeProto* n, const char* name, std::int64_t v) {
        onnx::AttributeProto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    };
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const LayerSpec& l = specs[i];
        if (l.op == "Dense") {
            const auto in = static_cast<std::size_t>(l.attribute("in")),
                       out = static_cast<std::size_t>(l.attribute("out"));
            const std::string W = cat("layer", i, ".W"), b = cat("layer", i, ".b");
            detail::add_onnx_tensor<T>(g, W, {out, in}, tensors[i][0]);
            detail::add_onnx_tensor<T>(g, b, {out}, tensors[i][1]);
            int_attribute(node("Gemm", i, {cur, W, b}), "transB", 1);
        } else if (l.op == "Sigmoid" || l.op == "Tanh" || l.op == "Softmax" || l.op == "LogSoftmax") {
            onnx::NodeProto* n = node(l.op.c_str(), i, {cur});
            if (l.op != "Sigmoid" && l.op != "Tanh")
                int_attribute(n, "axis", -1);
        } else if (l.op == "ReLU") {
            node("Relu", i, {cur});
        } else if (l.op == "LeakyReLU") {
            float_attribute(node("LeakyRelu", i, {cur}), "alpha", l.attribute("alpha"));
        } else if (l.op != "Identity" && l.op != "Dropout") { // a Model holds no other op
            throw std::invalid_argument(cat("to_onnx: layer ", i, " (", l.op, ") has no ONNX form"));
        }
    }
    if (g.node_size() == 0) // a Model of Identity and Dropout alone
        node("Identity", 0, {cur});
    g.mutable_node(g.node_size() - 1)->set_output(0, "y");
    value_info(g.add_output(), "y", model.output_features());
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
