// ONNX export and import (mininn/onnx/all.hpp): round trips, hand-built graphs with
// hand-computed outputs, PyTorch 1.13's exports against PyTorch's outputs, and every refusal.
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include <mininn/onnx/all.hpp>
#include <nlohmann/json.hpp>
#include <onnx/checker.h>

#include <map>

#include "helpers.hpp"
#include "onnx_helpers.hpp"

using namespace mininn;

namespace {

const std::string dir = MININN_TEST_DIR "/data/onnx/";
using namespace test::onnx_graphs;

} // namespace

TEST_CASE("a network through ONNX and back gives the same outputs, in a graph ONNX's checker accepts")
{
    Rng rng(4);
    Network net{Dense<float>(6, 5, init::normal, rng),
                LeakyReLU(0.25),
                Dropout(0.5),
                Dense<float>(5, 4, init::normal, rng),
                Tanh{},
                Dense<float>(4, 3, init::normal, rng),
                Softmax{}};
    const std::string bytes = to_onnx(net);
    onnx::ModelProto m = detail::parse_onnx(bytes, "net");
    CHECK_NOTHROW(onnx::checker::check_model(m));
    CHECK(m.opset_import(0).version() == 17);
    CHECK(m.ir_version() == 8);
    std::vector<std::string> ops;
    for (const auto& n : m.graph().node())
        ops.push_back(n.op_type());
    CHECK(ops == std::vector<std::string>{"Gemm", "LeakyRelu", "Gemm", "Tanh", "Gemm", "Softmax"});
    CHECK(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param() == "n");
    CHECK(m.graph().input(0).type().tensor_type().shape().dim(1).dim_value() == 6);
    CHECK(m.graph().output(0).name() == "y");

    const Model<float> back = load_onnx_bytes<float>(bytes, "net");
    const auto X = test::random_matrix<float>(6, 70, rng); // both kernels: 1 and 70 samples
    CHECK(back.infer(X) == freeze(net).infer(X));
    CHECK(back.summary() == freeze(net).summary());
    const matrix<float> Y = back.infer(X); // ONNX -> mininn -> ONNX -> mininn: the same outputs
    CHECK(load_onnx_bytes<float>(to_onnx(back), "again").infer(X) == Y);
    Network plain{Dense<float>(6, 2, init::normal, rng), ReLU{}}; // and with no Dropout to leave out, the same bytes
    CHECK(to_onnx(load_onnx_bytes<float>(to_onnx(plain), "plain")) == to_onnx(plain));

    Network dbl{Dense<double>(3, 2, init::normal, rng), Sigmoid{}};
    const auto Xd = test::random_matrix<double>(3, 9, rng);
    CHECK(load_onnx_bytes<double>(to_onnx(dbl), "dbl").infer(Xd) == freeze(dbl).infer(Xd));

    const std::string path = std::string("/tmp/mininn_test_onnx_net.onnx");
    save_onnx(net, path);
    CHECK(load_onnx<float>(path).infer(X) == freeze(net).infer(X));
    CHECK(refusal([&] { save_onnx(net, "/nonexistent/dir/net.onnx"); }).find("/nonexistent/dir") != std::string::npos);
}

TEST_CASE("hand-computed: Gemm's alpha, beta and transB, MatMul with Add, Constant weights, Flatten, Dropout")
{
    // Gemm alpha 2, beta 0.5, B [in 2, out 2] untransposed: y = 2 x B + 0.5 c, then Relu.
    Graph a({2});
    a.weight("B", {2, 2}, {1, -1, 0.5f, 2});
    a.weight("c", {2}, {1, -4});
    auto& gemm = a.node("Gemm", {"x", "B", "c"}, "z");
    attr(gemm, "alpha", 2.0f);
    attr(gemm, "beta", 0.5f);
    a.node("Relu", {"z"}, "y");
    const Model<float> ma = load_onnx_bytes<float>(a.bytes("y"), "a");
    // x = (1, 3): 2 (1*1 + 3*0.5) + 0.5 = 5.5; 2 (1*-1 + 3*2) - 2 = 8.
    check_close(run(ma, {1, 3}), {5.5, 8}, 1e-6);
    check_close(run(ma, {-1, 0}), {0, 0}, 1e-6); // -2 + 0.5 and 2 - 2 -> Relu
    // MatMul then Add with the bias first (as torch writes it), the weight from a Constant.
    Graph b({1, 2, 1}); // [n, 1, 2, 1]: a Flatten must come first
    b.node("Flatten", {"x"}, "f");
    auto& k = b.node("Constant", {}, "W");
    auto* t = k.add_attribute();
    t->set_name("value");
    t->set_type(onnx::AttributeProto::TENSOR);
    t->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    t->mutable_t()->add_dims(2);
    t->mutable_t()->add_dims(1);
    t->mutable_t()->add_float_data(3);
    t->mutable_t()->add_float_data(-1);
    b.weight("bias", {1}, {0.25f});
    b.node("MatMul", {"f", "W"}, "m");
    b.node("Add", {"bias", "m"}, "s");
    b.node("Dropout", {"s"}, "d");
    b.node("Identity", {"d"}, "y");
    check_close(run(load_onnx_bytes<float>(b.bytes("y"), "b"), {2, 1}), {5.25}, 1e-6); // 3*2 - 1 + 0.25
}

namespace {
// scale (2, 1), B (0, 10), mean (1, 3), var (4, 0.25): the BatchNormalization cases' weights.
void batch_norm_weights(Graph& g)
{
    g.weight("scale", {2}, {2, 1});
    g.weight("B", {2}, {0, 10});
    g.weight("mean", {2}, {1, 3});
    g.weight("var", {2}, {4, 0.25f});
}
} // namespace

TEST_CASE("hand-computed: a first Gemm with transA = 1 takes its input as [features, n], mininn's own layout")
{
    Graph g({}); // x [3, n]
    auto* dims = g.g.mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
    dims->mutable_dim(0)->set_dim_value(3);
    dims->add_dim()->set_dim_param("n");
    g.weight("B", {3, 2}, {1, 0, 0, 1, 1, 1}); // y = x^T B: (x0 + x2, x1 + x2) per sample
    attr(g.node("Gemm", {"x", "B"}, "y"), "transA", std::int64_t(1));
    const Model<float> m = load_onnx_bytes<float>(g.bytes("y"), "f");
    CHECK(m.input_features() == 3);
    check_close(run(m, {1, 2, 4}), {5, 6}, 0);
}

TEST_CASE("hand-computed: BatchNormalization folded into the Gemm before it, and on its own")
{
    // After a Gemm (W = identity, b = (1, 1)): (z - mean) * scale / sqrt(var + eps) + B.
    Graph a({2});
    a.weight("W", {2, 2}, {1, 0, 0, 1});
    a.weight("b", {2}, {1, 1});
    batch_norm_weights(a);
    attr(a.node("Gemm", {"x", "W", "b"}, "z"), "transB", std::int64_t(1));
    attr(a.node("BatchNormalization", {"z", "scale", "B", "mean", "var"}, "y"), "epsilon", 0.0f);
    const Model<float> m = load_onnx_bytes<float>(a.bytes("y"), "a");
    CHECK(m.summary() == "op 0: Dense 2→2\n"); // folded: one operation
    // x = (3, 4): z = (4, 5); (4 - 1) 2 / 2 + 0 = 3; (5 - 3) 1 / 0.5 + 10 = 14.
    check_close(run(m, {3, 4}), {3, 14}, 1e-6);
    // On its own, after a Relu: a BatchNorm of its own (epsilon 0, which a BatchNorm does not
    // take, moved into its scale).
    Graph c({2});
    c.weight("W", {2, 2}, {1, 0, 0, 1});
    batch_norm_weights(c);
    c.node("MatMul", {"x", "W"}, "z");
    c.node("Relu", {"z"}, "r");
    attr(c.node("BatchNormalization", {"r", "scale", "B", "mean", "var"}, "y"), "epsilon", 0.0f);
    const Model<float> mc = load_onnx_bytes<float>(c.bytes("y"), "c");
    CHECK(mc.summary() == "op 0: Dense 2→2 + ReLU\nop 1: BatchNorm 2\n");
    check_close(run(mc, {-3, 4}), {-1, 12}, 1e-6); // (0 - 1) 2 / 2; (4 - 3) / 0.5 + 10
}

TEST_CASE("PyTorch 1.13's exports import and give PyTorch's outputs")
{
    std::ifstream f(dir + "torch_outputs.json");
    REQUIRE(f);
    const nlohmann::json want = nlohmann::json::parse(f);
    int files = 0;
    for (const auto& [name, io] : want.items()) {
        const auto shape = io["x_shape"].get<std::vector<std::size_t>>();
        const auto x = io["x"].get<std::vector<float>>();
        const auto y = io["y"].get<std::vector<double>>();
        const std::size_t n = shape[0], d = x.size() / n, k = y.size() / n;
        matrix<float> X({d, n}); // torch's rows are mininn's columns
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t i = 0; i < d; ++i)
                X(i, j) = x[j * d + i];
        const auto opsets = io.value("opsets", std::vector<int>{13, 17});
        for (const std::string variant : {"", "_nofold"})
            for (const int opset : opsets) {
                const std::string path = dir + "torch_" + name + "_op" + std::to_string(opset) + variant + ".onnx";
                CAPTURE(path);
                const matrix<float> Y = load_onnx<float>(path).infer(X);
                REQUIRE(Y.shape()[0] == k);
                for (std::size_t j = 0; j < n; ++j)
                    for (std::size_t i = 0; i < k; ++i)
                        CHECK(std::abs(Y(i, j) - y[j * k + i]) <= 1e-5 * std::max(1.0, std::abs(y[j * k + i])));
                ++files;
            }
    }
    CHECK(files == 50);
}

TEST_CASE("an ONNX graph into a Network of its architecture: the same outputs, to train on; the first mismatch named")
{
    Rng rng(6);
    Network trained{Dense<float>(4, 6, init::normal, rng), LeakyReLU(0.2), Dense<float>(6, 3, init::normal, rng),
                    Softmax{}};
    const std::string bytes = to_onnx(trained);
    // another initialisation, and a Dropout the graph does not have
    Network net{Dense<float>(4, 6, init::normal, rng), LeakyReLU(0.2), Dropout(0.5),
                Dense<float>(6, 3, init::normal, rng), Softmax{}};
    load_onnx_bytes(net, bytes, "g");
    net.eval();
    const auto X = test::random_matrix<float>(4, 9, rng);
    CHECK(net.forward(X) == trained.forward(X));
    net.train(); // and it trains from there
    Adam<float> adam(1e-2f);
    const label_vector y = {0, 1, 2, 0, 1, 2, 0, 1, 2};
    const float before = net.compute_gradients(CrossEntropy{}, X, y);
    adam.step(net);
    net.eval();
    CHECK(CrossEntropy{}.value(net.forward(X), y) < before);

    // PyTorch's export into the network it was: PyTorch's outputs
    std::ifstream f(dir + "torch_outputs.json");
    const nlohmann::json torch = nlohmann::json::parse(f)["mlp"];
    Network mlp{Dense<float>(4, 3, init::normal, rng), ReLU{}, Dense<float>(3, 2, init::normal, rng), Softmax{}};
    load_onnx(mlp, dir + "torch_mlp_op17.onnx");
    const auto x = torch["x"].get<std::vector<float>>();
    const auto want = torch["y"].get<std::vector<double>>();
    matrix<float> Xt({4, 5});
    for (std::size_t j = 0; j < 5; ++j)
        for (std::size_t i = 0; i < 4; ++i)
            Xt(i, j) = x[j * 4 + i];
    const matrix<float> Y = mlp.forward(Xt);
    for (std::size_t j = 0; j < 5; ++j)
        for (std::size_t i = 0; i < 2; ++i)
            CHECK(std::abs(Y(i, j) - want[j * 2 + i]) <= 1e-5);

    // a network that differs: the first difference named, and the network left as it was
    Network wide{Dense<float>(4, 7, init::normal, rng), LeakyReLU(0.2), Dense<float>(7, 3, init::normal, rng),
                 Softmax{}};
    const matrix<float> W0 = wide.layer<0>().weights();
    CHECK(refusal([&] { load_onnx_bytes(wide, bytes, "g"); }) ==
          "g: does not fit the network: layer 0 of the network is Dense 4→7, but the graph has Dense 4→6 there "
          "(Dropout, Identity and Flatten aside)");
    CHECK(wide.layer<0>().weights() == W0);
    Network other{Dense<float>(4, 6, init::normal, rng), Sigmoid{}, Dense<float>(6, 3, init::normal, rng), Softmax{}};
    CHECK(refusal([&] { load_onnx_bytes(other, bytes, "g"); }) ==
          "g: does not fit the network: layer 1 of the network is Sigmoid, but the graph has LeakyReLU(0.2) there "
          "(Dropout, Identity and Flatten aside)");
    Network leaky{Dense<float>(4, 6, init::normal, rng), LeakyReLU(0.3), Dense<float>(6, 3, init::normal, rng),
                  Softmax{}};
    CHECK(refusal([&] { load_onnx_bytes(leaky, bytes, "g"); }) ==
          "g: does not fit the network: layer 1 of the network is LeakyReLU(0.3), but the graph has LeakyReLU(0.2) "
          "there (Dropout, Identity and Flatten aside)");
    Network shorter{Dense<float>(4, 6, init::normal, rng), LeakyReLU(0.2), Dropout(0.1)};
    CHECK(refusal([&] { load_onnx_bytes(shorter, bytes, "g"); }) ==
          "g: does not fit the network: the network ends after 2 layers, but the graph has Dense 6→3 there "
          "(Dropout, Identity and Flatten aside)");
    Network longer{Dense<float>(4, 6, init::normal, rng),
                   LeakyReLU(0.2),
                   Dense<float>(6, 3, init::normal, rng),
                   Softmax{},
                   Identity<float>{},
                   Dense<float>(3, 1, init::normal, rng)};
    CHECK(refusal([&] { load_onnx_bytes(longer, bytes, "g"); }) ==
          "g: does not fit the network: layer 5 of the network is Dense 3→1, but the graph has no more layers there "
          "(Dropout, Identity and Flatten aside)");
    Network dbl{Dense<double>(4, 6, init::normal, rng), Tanh{}};
    CHECK(refusal([&] { load_onnx(dbl, dir + "missing.onnx"); }).find("missing.onnx") != std::string::npos);
}

TEST_CASE("hand-computed: LogSoftmax, Flatten's negative axis, and graphs of activations alone, in and out")
{
    {
        Graph g({2, 2}); // Flatten with axis -2 of rank 3 is axis 1; then W [4 -> 2] and LogSoftmax
        attr(g.node("Flatten", {"x"}, "f"), "axis", std::int64_t(-2));
        g.weight("W", {4, 2}, {1, 0, 0, 1, 0, 0, 0, 0});
        g.node("MatMul", {"f", "W"}, "z");
        g.node("LogSoftmax", {"z"}, "y");
        const Model<float> m = load_onnx_bytes<float>(g.bytes("y"), "f");
        CHECK(m.input_features() == 4);
        // z = (x0, x1) = (0, ln 3): log softmax = (-ln 4, ln 3 - ln 4)
        check_close(run(m, {0, std::log(3.0f), 7, 8}), {-std::log(4.0), std::log(3.0) - std::log(4.0)}, 1e-6);
        CHECK(m.summary() == "op 0: Dense 4→2\nop 1: LogSoftmax\n");
        const std::string out = to_onnx(m); // and out again: Gemm, LogSoftmax on the last axis
        const onnx::ModelProto back = detail::parse_onnx(out, "out");
        CHECK_NOTHROW(onnx::checker::check_model(back));
        CHECK(back.graph().node(1).op_type() == "LogSoftmax");
        CHECK(back.graph().node(1).attribute(0).i() == -1);
        check_close(run(load_onnx_bytes<float>(out, "out"), {0, std::log(3.0f), 7, 8}),
                    {-std::log(4.0), std::log(3.0) - std::log(4.0)}, 1e-6);
    }
    {
        Graph g({3}); // no Dense: the input's width is the model's
        g.node("Relu", {"x"}, "y");
        const Model<float> m = load_onnx_bytes<float>(g.bytes("y"), "relu");
        CHECK(m.input_features() == 3);
        check_close(run(m, {-1, 2, 0.5}), {0, 2, 0.5}, 0);
        const onnx::ModelProto out = detail::parse_onnx(to_onnx(m), "out");
        CHECK_NOTHROW(onnx::checker::check_model(out));
        CHECK(out.graph().input(0).type().tensor_type().shape().dim(1).dim_value() == 3);
    }
    {
        Graph g({2}); // nothing but the identity
        g.node("Identity", {"x"}, "y");
        const Model<float> m = load_onnx_bytes<float>(g.bytes("y"), "id");
        check_close(run(m, {-1, 2}), {-1, 2}, 0);
        const onnx::ModelProto out = detail::parse_onnx(to_onnx(m), "out");
        CHECK_NOTHROW(onnx::checker::check_model(out));
        CHECK(out.graph().node_size() == 1);
        CHECK(out.graph().node(0).op_type() == "Identity");
    }
}

TEST_CASE("a CNN exports as Conv, BatchNormalization, the pools, LayerNormalization, Flatten and Gemm, for ONNX's "
          "checker; rows meeting an image op are reshaped")
{
    Rng rng(6);
    Network cnn{Conv2D<float>(Shape(1, 8, 8), 4, 3, init::he, rng, Conv2DOptions{}.with_padding(1).without_bias()),
                BatchNorm<float>(Shape(4, 8, 8)), // folded into the Conv before it
                ReLU{},
                MaxPool2D(Shape(4, 8, 8), 2),
                BatchNorm<float>(Shape(4, 4, 4)), // after a pool: its own node
                AvgPool2D(Shape(4, 4, 4), 3, 1, 1, false),
                Conv2D<float>(Shape(4, 4, 4), 3, 2, init::he, rng, Conv2DOptions{2, 1}),
                LayerNorm<float>(Shape(3, 3, 3)),
                Flatten{},
                Dense<float>(27, 5, init::he, rng),
                Softmax{}};
    cnn.eval();
    const std::string bytes = to_onnx(cnn);
    onnx::ModelProto m = detail::parse_onnx(bytes, "cnn");
    CHECK_NOTHROW(onnx::checker::check_model(m));
    std::vector<std::string> ops;
    for (const auto& n : m.graph().node())
        ops.push_back(n.op_type());
    CHECK(ops == std::vector<std::string>{"Conv", "Relu", "MaxPool", "BatchNormalization", "AveragePool", "Conv",
                                          "LayerNormalization", "Flatten", "Gemm", "Softmax"});
    const auto& in = m.graph().input(0).type().tensor_type().shape();
    REQUIRE(in.dim_size() == 4);
    CHECK(in.dim(0).dim_param() == "n");
    CHECK((in.dim(1).dim_value() == 1 && in.dim(2).dim_value() == 8 && in.dim(3).dim_value() == 8));
    const auto attribute = [&](std::size_t node, const char* name) {
        for (const auto& a : m.graph().node(int(node)).attribute())
            if (a.name() == name)
                return a;
        FAIL("no attribute ", name);
        return onnx::AttributeProto();
    };
    CHECK(attribute(0, "pads").ints_size() == 4);
    CHECK(attribute(0, "pads").ints(0) == 1);
    CHECK(attribute(4, "count_include_pad").i() == 0);
    CHECK(attribute(5, "strides").ints(1) == 2);
    CHECK(attribute(3, "momentum").f() == doctest::Approx(0.9));
    CHECK(attribute(6, "axis").i() == 1);
    std::map<std::string, std::vector<std::int64_t>> dims;
    for (const auto& t : m.graph().initializer())
        dims[t.name()] = std::vector<std::int64_t>(t.dims().begin(), t.dims().end());
    CHECK(dims["layer0.W"] == std::vector<std::int64_t>{4, 1, 3, 3}); // PyTorch's layout
    CHECK(dims.count("layer0.b") == 1);                               // the folded BatchNorm's shift
    CHECK(dims["layer6.gamma"] == std::vector<std::int64_t>{3, 3, 3});
    // and reads back as the same layers, with the same outputs
    const Model<float> back = load_onnx_bytes<float>(bytes, "cnn"), frozen = freeze(cnn);
    CHECK(same_layers(back, frozen));
    const matrix<float> X = test::random_matrix<float>(64, 7, rng);
    CHECK(max_diff(back.infer(X), frozen.infer(X)) <= 1e-6);

    Network rows{Dense<float>(6, 18, init::he, rng), ReLU{}, Conv2D<float>(Shape(2, 3, 3), 2, 2, init::he, rng)};
    onnx::ModelProto r = detail::parse_onnx(to_onnx(rows), "rows");
    CHECK_NOTHROW(onnx::checker::check_model(r));
    ops.clear();
    for (const auto& n : r.graph().node())
        ops.push_back(n.op_type());
    CHECK(ops == std::vector<std::string>{"Gemm", "Relu", "Reshape", "Conv", "Flatten"});
    CHECK(r.graph().output(0).type().tensor_type().shape().dim(1).dim_value() == 8);
    const Model<float> rows_back = load_onnx_bytes<float>(to_onnx(rows), "rows");
    CHECK(same_layers(rows_back, freeze(rows)));
    const matrix<float> R = test::random_matrix<float>(6, 5, rng);
    CHECK(max_diff(rows_back.infer(R), freeze(rows).infer(R)) <= 1e-6);
}

TEST_CASE("an ONNX file mininn cannot run is refused, naming the node, its op and what is wrong")
{
    auto gemm = [](Graph& g, const std::string& in, const std::string& out) {
        g.weight(out + ".W", {2, 2}, {1, 2, 3, 4});
        return std::ref(g.node("Gemm", {in, out + ".W"}, out));
    };
    {
        Graph g({2});
        gemm(g, "x", "z");
        g.node("Erf", {"z"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 1 'y_node' (Erf): the op is not supported; mininn imports Gemm, MatMul, Add (a bias), Relu, "
              "LeakyRelu, Sigmoid, Tanh, Softmax, LogSoftmax, Conv, MaxPool, AveragePool, GlobalMaxPool, "
              "GlobalAveragePool, Pad (before Conv or AveragePool), BatchNormalization (inference), "
              "LayerNormalization, Flatten, Reshape, Dropout (inference), Identity and Constant");
    }
    {
        Graph g({2});
        g.node("Relu", {"x"}, "r");
        attr(gemm(g, "r", "y").get(), "transA", std::int64_t(1));
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 1 'y_node' (Gemm): transA = 1 is supported only on the graph's input, not on [n, features] "
              "data from a layer");
    }
    {
        Graph g({2}); // x [n, 2] read as [features, n]: its features are n, not a fixed size
        attr(gemm(g, "x", "y").get(), "transA", std::int64_t(1));
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: input 'x' dimension 0 is not a fixed size (the features: a first Gemm with transA = 1 takes "
              "[features, n])");
    }
    {
        Graph g({2}); // y = Relu(x) and z = Gemm(x): x feeds two nodes
        g.node("Relu", {"x"}, "r");
        gemm(g, "x", "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 1 'y_node' (Gemm): its first input is not 'r', the output of the node before; mininn imports "
              "chains of layers");
    }
    {
        Graph g({2});
        g.weight("W", {2, 2}, {1, 2, 3}); // 3 values for [2, 2]
        g.node("MatMul", {"x", "W"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (MatMul): tensor 'W': its shape holds 4 values but 3 values are stored");
    }
    {
        Graph g({2});
        g.weight("W", {2, 2}, {}).set_data_type(onnx::TensorProto::INT64);
        g.node("MatMul", {"x", "W"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (MatMul): tensor 'W': data type INT64 is not supported (float or double)");
    }
    {
        Graph g({2});
        gemm(g, "x", "z");
        attr(g.node("Softmax", {"z"}, "y"), "axis", std::int64_t(0));
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 1 'y_node' (Softmax): axis 0 of data of rank 2 is not supported (only the features' axis of "
              "[n, features]: 1 or -1)");
    }
    {
        Graph g({2}); // a Transpose of a weight with no output (found by the fuzzer: it read output 0)
        g.weight("W", {2, 2}, {1, 2, 3, 4});
        g.node("Transpose", {"W"}, "Wt").clear_output();
        g.node("MatMul", {"x", "W"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'Wt_node' (Transpose): only a Transpose of a rank-2 weight, with one output, is supported");
    }
    {
        Graph g({2}); // a misspelt attribute would otherwise leave the default in its place
        gemm(g, "x", "z");
        attr(g.node("LeakyRelu", {"z"}, "y"), "altha", 0.5f);
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 1 'y_node' (LeakyRelu): attribute 'altha' is not supported");
    }
    {
        Graph g({2}); // transB as a float: read as an int it would be 0
        attr(gemm(g, "x", "y").get(), "transB", 1.0f);
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (Gemm): attribute 'transB' is of type FLOAT, not INT");
    }
    {
        Graph g({2}, 6); // before opset 7, a Dropout without is_test = 1 runs in training mode
        gemm(g, "x", "z");
        g.node("Dropout", {"z"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 1 'y_node' (Dropout): is_test = 0, training mode, is not supported (inference only)");
    }
    {
        Graph g({3, 2}); // over the last axis, but of [n, 3, 2]: mininn's would be over all 6
        g.node("LogSoftmax", {"x"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (LogSoftmax): axis -1 of data of rank 3 is not supported (only the features' axis "
              "of [n, features]: 1 or -1)");
    }
    {
        Graph g({3, 2});
        attr(g.node("Flatten", {"x"}, "y"), "axis", std::int64_t(-1));
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (Flatten): axis -1 of data of rank 3 is not supported (only the axis after the "
              "batch's, which gives [n, features])");
    }
    {
        Graph g({2, 2});
        g.weight("W", {2, 2}, {1, 2, 3, 4});
        g.node("MatMul", {"x", "W"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (MatMul): takes [n, features], but its input has rank 3; a Flatten must come first");
    }
    {
        Graph g({2});
        gemm(g, "x", "z");
        attr(g.node("LeakyRelu", {"z"}, "y"), "alpha", 1.5f);
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 1 'y_node' (LeakyRelu): alpha 1.5 is not supported (mininn's LeakyReLU takes (0, 1))");
    }
    {
        Graph g({3});
        gemm(g, "x", "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (Gemm): a weight of shape [2, 2] for 3 features");
    }
    {
        Graph g({2});
        gemm(g, "x", "z");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("q"), "f"); }) ==
              "f: the graph's output must be the last node's ('z'); it has 1 outputs");
    }
    {
        Graph g({2});
        g.weight("W", {2, 2}, {1, 2, 3, 4}).set_data_location(onnx::TensorProto::EXTERNAL);
        g.node("MatMul", {"x", "W"}, "y");
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "f"); }) ==
              "f: node 0 'y_node' (MatMul): tensor 'W': its data is in an external file, which mininn does not read");
    }
    Rng rng(2);
    CHECK(refusal([&] { load_onnx_bytes<float>("PK\x03\x04 not protobuf at all", "junk"); }) ==
          "junk: not an ONNX model (its 24 bytes do not parse as a ModelProto)");
    const std::string bytes = to_onnx(Network{Dense<float>(2, 2, init::normal, rng)});
    CHECK(refusal([&] {
              load_onnx_bytes<float>(bytes.substr(0, bytes.size() - 9), "cut");
          }).find("cut: not an ONNX model") == 0);
    CHECK(refusal([&] {
              load_onnx<float>(dir + "torch_mlp_op17.onnx", 100);
          }).find("larger than the 100 bytes load_onnx reads") != std::string::npos);
    CHECK(refusal([&] { load_onnx<float>(dir + "missing.onnx"); }).find("missing.onnx") != std::string::npos);
}
