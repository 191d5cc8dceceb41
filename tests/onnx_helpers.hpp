// The ONNX tests' helpers: graphs built by hand (samples as rows), a Model run on one sample,
// and comparisons.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <mininn/onnx/all.hpp>

#include "helpers.hpp"

namespace test::onnx_graphs {

using namespace mininn;

// A graph built by hand: samples as rows, x [n, dims...].
struct Graph {
    onnx::ModelProto m;
    onnx::GraphProto& g = *m.mutable_graph();

    explicit Graph(std::vector<std::int64_t> dims, int opset = 17)
    {
        m.set_ir_version(8);
        m.add_opset_import()->set_version(opset);
        onnx::ValueInfoProto* v = g.add_input();
        v->set_name("x");
        auto* t = v->mutable_type()->mutable_tensor_type();
        t->set_elem_type(onnx::TensorProto::FLOAT);
        t->mutable_shape()->add_dim()->set_dim_param("n");
        for (auto d : dims)
            t->mutable_shape()->add_dim()->set_dim_value(d);
    }
    onnx::TensorProto& weight(const std::string& name, std::vector<std::int64_t> dims, std::vector<float> v)
    {
        onnx::TensorProto* t = g.add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        for (auto d : dims)
            t->add_dims(d);
        for (float f : v)
            t->add_float_data(f);
        return *t;
    }
    // An INT64 weight of rank 1, as a Reshape's shape or a Pad's pads.
    void ints(const std::string& name, std::vector<std::int64_t> v)
    {
        onnx::TensorProto* t = g.add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::INT64);
        t->add_dims(static_cast<std::int64_t>(v.size()));
        for (auto i : v)
            t->add_int64_data(i);
    }
    // The input's batch size fixed at n, as PyTorch writes it without dynamic axes.
    void fix_batch(std::int64_t n)
    {
        g.mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_value(n);
    }
    onnx::NodeProto& node(const std::string& op, std::vector<std::string> in, const std::string& out)
    {
        onnx::NodeProto* n = g.add_node();
        n->set_op_type(op);
        n->set_name(out + "_node");
        for (auto& i : in)
            n->add_input(i);
        n->add_output(out);
        return *n;
    }
    std::string bytes(const std::string& output)
    {
        g.add_output()->set_name(output);
        return m.SerializeAsString();
    }
};

inline void attr(onnx::NodeProto& n, const char* name, float f)
{
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(f);
}
inline void attr(onnx::NodeProto& n, const char* name, std::int64_t i)
{
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(i);
}

inline void attr(onnx::NodeProto& n, const char* name, std::vector<std::int64_t> v)
{
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto i : v)
        a->add_ints(i);
}
inline void attr(onnx::NodeProto& n, const char* name, const std::string& s)
{
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(s);
}

// One sample x through a Model: its outputs.
inline std::vector<float> run(const Model<float>& m, std::vector<float> x)
{
    matrix<float> X = xt::adapt(x, std::array<std::size_t, 2>{x.size(), 1});
    const matrix<float> Y = m.infer(X);
    return std::vector<float>(Y.begin(), Y.end());
}

inline void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol)
{
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        CHECK(std::abs(got[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i])));
}

template <class T>
double max_diff(const matrix<T>& a, const matrix<T>& b)
{
    REQUIRE(a.shape() == b.shape());
    return double(xt::amax(xt::abs(a - b))());
}

// The same layers, Flatten aside, eps as a float (as ONNX holds it).
template <class T>
bool same_layers(const Model<T>& a, const Model<T>& b)
{
    const auto x = a.specs(), y = b.specs();
    const auto i = detail::computing_layers(x), j = detail::computing_layers(y);
    bool same = i.size() == j.size();
    for (std::size_t k = 0; same && k < i.size(); ++k)
        same = detail::same_layer(x[i[k]], y[j[k]]);
    return same;
}

template <class F>
std::string refusal(F&& f)
{
    return test::message_of<io_error>(std::forward<F>(f));
}

} // namespace test::onnx_graphs
