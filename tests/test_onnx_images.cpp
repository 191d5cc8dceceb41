// ONNX import of image ops (mininn/onnx/image_import.hpp): Conv, the pools, Pad, Reshape,
// BatchNormalization over channels and LayerNormalization, on hand-built graphs with
// hand-computed outputs; every refusal with its message; CNNs through ONNX into a Network.
// PyTorch's CNN exports are checked with its MLPs in test_onnx.cpp.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <mininn/mininn.hpp>
#include <mininn/onnx/all.hpp>

#include "helpers.hpp"
#include "onnx_helpers.hpp"

using namespace mininn;
using namespace test::onnx_graphs;

namespace {

const std::vector<float> nine{1, 2, 3, 4, 5, 6, 7, 8, 9}; // a 1×3×3 image, row by row

std::string ops_of(const Model<float>& m)
{
    std::string s;
    for (const auto& l : m.specs())
        s += (s.empty() ? "" : " ") + l.op;
    return s;
}

// A graph of one node over x [n, dims...] (weights added by `add`), read as a Model.
template <class F>
Model<float> one_node(std::vector<std::int64_t> dims, const std::string& op, F&& add)
{
    Graph g(std::move(dims));
    add(g, g.node(op, {"x"}, "y"));
    return load_onnx_bytes<float>(g.bytes("y"), "g");
}

template <class F>
std::string refused(std::vector<std::int64_t> dims, const std::string& op, F&& add)
{
    return refusal([&] { one_node(std::move(dims), op, std::forward<F>(add)); });
}

} // namespace

TEST_CASE("hand-computed: Conv with and without padding and stride, its bias, and a BatchNormalization folded in")
{
    // W = [1 2; 3 4] over 1..9: (0, 0) is 1·1 + 2·2 + 3·4 + 4·5 = 37, then 47, 67, 77; b = 0.5.
    const Model<float> a = one_node({1, 3, 3}, "Conv", [](Graph& g, onnx::NodeProto& n) {
        n.add_input("W");
        n.add_input("B");
        g.weight("W", {1, 1, 2, 2}, {1, 2, 3, 4});
        g.weight("B", {1}, {0.5f});
        attr(n, "kernel_shape", std::vector<std::int64_t>{2, 2});
    });
    CHECK(ops_of(a) == "Conv2D");
    CHECK(a.output_features() == 4);
    check_close(run(a, nine), {37.5, 47.5, 67.5, 77.5}, 1e-6);
    // Padding 1 and stride 2, no kernel_shape (the weight's): windows at rows and columns -1 and 1.
    // (0, 0) sees only x(0, 0) = 1 under W(1, 1) = 4; (0, 1) sees 2·3 + 3·4; (1, 0) 4·2 + 7·4.
    const Model<float> b = one_node({1, 3, 3}, "Conv", [](Graph& g, onnx::NodeProto& n) {
        n.add_input("W");
        g.weight("W", {1, 1, 2, 2}, {1, 2, 3, 4});
        attr(n, "pads", std::vector<std::int64_t>{1, 1, 1, 1});
        attr(n, "strides", std::vector<std::int64_t>{2, 2});
    });
    check_close(run(b, nine), {4, 18, 36, 77}, 1e-6);
    // auto_pad SAME_UPPER on 3×3 with a 3×3 kernel and stride 1 pads one all round.
    const Model<float> same = one_node({1, 3, 3}, "Conv", [](Graph& g, onnx::NodeProto& n) {
        n.add_input("W");
        g.weight("W", {1, 1, 3, 3}, {0, 0, 0, 0, 1, 0, 0, 0, 0}); // the identity
        attr(n, "auto_pad", std::string("SAME_UPPER"));
    });
    check_close(run(same, nine), {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1e-6);
    // A BatchNormalization after a Conv without a bias folds into it, which gains one. Filter 1
    // picks x(i + 1, j + 1); eps 0 (which a BatchNorm does not take) moves into the scale.
    // Filter 0: (z - 37) 2 / sqrt(4) + 1; filter 1: (z - 5) 3 / sqrt(1).
    Graph g({1, 3, 3});
    g.weight("W", {2, 1, 2, 2}, {1, 2, 3, 4, 0, 0, 0, 1});
    g.node("Conv", {"x", "W"}, "z");
    g.weight("scale", {2}, {2, 3});
    g.weight("B", {2}, {1, 0});
    g.weight("mean", {2}, {37, 5});
    g.weight("var", {2}, {4, 1});
    attr(g.node("BatchNormalization", {"z", "scale", "B", "mean", "var"}, "y"), "epsilon", 0.0f);
    const Model<float> folded = load_onnx_bytes<float>(g.bytes("y"), "g");
    CHECK(ops_of(folded) == "Conv2D");
    CHECK(folded.specs()[0].attribute("bias") == 1);
    check_close(run(folded, nine), {1, 11, 31, 41, 0, 3, 9, 12}, 1e-6);
}

TEST_CASE("hand-computed: MaxPool, AveragePool with and without its padding counted, a Pad before it, the global "
          "pools")
{
    const auto pool = [](const std::string& op, std::vector<std::int64_t> kernel, std::vector<std::int64_t> pads,
                         std::int64_t include) {
        return one_node({1, 3, 3}, op, [&](Graph&, onnx::NodeProto& n) {
            attr(n, "kernel_shape", kernel);
            attr(n, "pads", pads);
            if (include >= 0)
                attr(n, "count_include_pad", include);
        });
    };
    check_close(run(pool("MaxPool", {2, 2}, {0, 0, 0, 0}, -1), nine), {5, 6, 8, 9}, 1e-6);
    // 3×3 windows padded by one: a corner averages 1, 2, 4, 5 (or those and five zeros).
    check_close(run(pool("AveragePool", {3, 3}, {1, 1, 1, 1}, 0), nine), {3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7}, 1e-6);
    check_close(run(pool("AveragePool", {3, 3}, {1, 1, 1, 1}, 1), nine),
                {12 / 9., 21 / 9., 16 / 9., 27 / 9., 45 / 9., 33 / 9., 24 / 9., 39 / 9., 28 / 9.}, 1e-6);
    // PyTorch writes an AvgPool2d that counts its padding as a Pad of zeros, then the pool.
    Graph g({1, 3, 3});
    g.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1});
    g.node("Pad", {"x", "pads"}, "p");
    attr(g.node("AveragePool", {"p"}, "y"), "kernel_shape", std::vector<std::int64_t>{3, 3});
    const Model<float> padded = load_onnx_bytes<float>(g.bytes("y"), "g");
    CHECK(padded.specs()[0].attribute("count_include_pad") == 1);
    check_close(run(padded, nine), {12 / 9., 21 / 9., 16 / 9., 27 / 9., 45 / 9., 33 / 9., 24 / 9., 39 / 9., 28 / 9.},
                1e-6);
    // Global pools over 2 channels of 2×2.
    const std::vector<float> two{1, -2, 7, 4, -1, -3, -8, -5};
    check_close(run(one_node({2, 2, 2}, "GlobalMaxPool", [](Graph&, onnx::NodeProto&) {}), two), {7, -1}, 1e-6);
    check_close(run(one_node({2, 2, 2}, "GlobalAveragePool", [](Graph&, onnx::NodeProto&) {}), two), {2.5, -4.25},
                1e-6);
}

TEST_CASE("hand-computed: Reshape from rows to an image and back, BatchNormalization over channels, "
          "LayerNormalization")
{
    // Gemm (the identity on 8 features) → Reshape [-1, 2, 2, 2] → GlobalMaxPool: the max of each half.
    for (const std::vector<std::int64_t>& shape :
         {std::vector<std::int64_t>{-1, 2, 2, 2}, {0, 2, -1, 2}, {3, 2, 2, 2}}) {
        CAPTURE(shape[0]);
        Graph g({8});
        g.fix_batch(3); // a fixed batch of 3 may stand as dimension 0
        std::vector<float> I(64, 0);
        for (int i = 0; i < 8; ++i)
            I[i * 9] = 1;
        g.weight("W", {8, 8}, I);
        g.node("MatMul", {"x", "W"}, "z");
        g.ints("shape", shape);
        g.node("Reshape", {"z", "shape"}, "r");
        g.node("GlobalMaxPool", {"r"}, "y");
        const Model<float> m = load_onnx_bytes<float>(g.bytes("y"), "g");
        check_close(run(m, {1, 5, -2, 0, -7, -3, -9, -4}), {5, -3}, 1e-6);
    }
    // Over 2 channels of 1×2 after a pool (so on its own): channel c is (x - mean) scale / sqrt(var + eps) + B.
    Graph g({2, 1, 2});
    attr(g.node("MaxPool", {"x"}, "p"), "kernel_shape", std::vector<std::int64_t>{1, 1});
    g.weight("scale", {2}, {2, 1});
    g.weight("B", {2}, {0, 10});
    g.weight("mean", {2}, {1, 3});
    g.weight("var", {2}, {3, 0.25f});
    attr(g.node("BatchNormalization", {"p", "scale", "B", "mean", "var"}, "y"), "epsilon", 1.0f);
    const Model<float> bn = load_onnx_bytes<float>(g.bytes("y"), "g");
    CHECK(ops_of(bn) == "MaxPool2D BatchNorm");
    // channel 0: (3 - 1) 2 / 2, (5 - 1) 2 / 2; channel 1: (4 - 3) / sqrt(1.25) + 10, (2 - 3) / sqrt(1.25) + 10.
    check_close(run(bn, {3, 5, 4, 2}), {2, 4, 10 + 1 / std::sqrt(1.25), 10 - 1 / std::sqrt(1.25)}, 1e-6);
    // LayerNormalization of (1, 2, 3, 4): mean 2.5, variance 1.25, with epsilon 0.75 a deviation of sqrt(2).
    const Model<float> ln = one_node({4}, "LayerNormalization", [](Graph& g, onnx::NodeProto& n) {
        n.add_input("scale");
        n.add_input("B");
        g.weight("scale", {4}, {1, 1, 2, 2});
        g.weight("B", {4}, {0, 0, 0, 1});
        attr(n, "epsilon", 0.75f);
    });
    CHECK(ops_of(ln) == "LayerNorm");
    const double r = std::sqrt(2.0);
    check_close(run(ln, {1, 2, 3, 4}), {-1.5 / r, -0.5 / r, 1 / r, 3 / r + 1}, 1e-6);
}

TEST_CASE("an image op mininn cannot run is refused, naming the node, its op and what is wrong")
{
    const auto conv = [](std::vector<std::int64_t> wdims, auto&& more) {
        return [wdims, more](Graph& g, onnx::NodeProto& n) {
            n.add_input("W");
            std::size_t count = 1;
            for (auto d : wdims)
                count *= std::size_t(d);
            g.weight("W", wdims, std::vector<float>(count, 1));
            more(g, n);
        };
    };
    const auto none = [](Graph&, onnx::NodeProto&) {};
    const std::string at = "g: node 0 'y_node' ";
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 2, 2}, [](Graph&, onnx::NodeProto& n) {
                      attr(n, "group", std::int64_t(2));
                  })) == at + "(Conv): group 2 is not supported (only 1)");
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 2, 3}, none)) ==
          at + "(Conv): a kernel of 2×3 is not supported (mininn's are square)");
    CHECK(refused({2, 3, 3}, "Conv", conv({1, 1, 2, 2}, none)) ==
          at + "(Conv): a weight of shape [1, 1, 2, 2] for an image of 2×3×3");
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 2, 2}, [](Graph&, onnx::NodeProto& n) {
                      attr(n, "kernel_shape", std::vector<std::int64_t>{3, 3});
                  })) == at + "(Conv): kernel_shape [3, 3] but a weight of kernel 2");
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 2, 2}, [](Graph&, onnx::NodeProto& n) {
                      attr(n, "dilations", std::vector<std::int64_t>{2, 2});
                  })) == at + "(Conv): dilations [2, 2] are not supported (only [1, 1])");
    CHECK(
        refused({1, 3, 3}, "Conv", conv({1, 1, 2, 2}, [](Graph&, onnx::NodeProto& n) {
                    attr(n, "strides", std::vector<std::int64_t>{1, 2});
                })) == at + "(Conv): strides [1, 2] is not supported (mininn's windows are square, of positive sizes)");
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 2, 2}, [](Graph&, onnx::NodeProto& n) {
                      attr(n, "pads", std::vector<std::int64_t>{1, 0, 1, 0});
                  })) == at + "(Conv): pads [1, 0, 1, 0] are not supported (mininn pads all four sides alike)");
    CHECK(refused(
              {1, 3, 3}, "Conv",
              conv({1, 1, 2, 2}, [](Graph&, onnx::NodeProto& n) { attr(n, "auto_pad", std::string("SAME_UPPER")); })) ==
          at + "(Conv): auto_pad SAME_UPPER pads this image by 1 rows and 1 columns, which mininn cannot "
               "split alike on all four sides");
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 2, 2}, [](Graph&, onnx::NodeProto& n) {
                      attr(n, "auto_pad", std::string("EVEN"));
                  })) == at + "(Conv): auto_pad 'EVEN' is not supported");
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 4, 4}, none)) ==
          at + "(Conv): a kernel of 4 is larger than the padded image 1×3×3");
    CHECK(refused({1, 3, 3}, "Conv", conv({1, 1, 2, 2}, [](Graph& g, onnx::NodeProto& n) {
                      n.add_input("B");
                      g.weight("B", {2}, {1, 2});
                  })) == at + "(Conv): a bias of 2 values for 1 filters");
    CHECK(refused({9}, "Conv", conv({1, 1, 2, 2}, none)) ==
          at + "(Conv): takes an image [n, C, H, W], but its input has rank 2; a Reshape must come first");
    CHECK(refused({1, 9}, "MaxPool", [](Graph&, onnx::NodeProto& n) {
              attr(n, "kernel_shape", std::vector<std::int64_t>{2});
          }) == at + "(MaxPool): takes an image [n, C, H, W], but its input has rank 3 (mininn's windows are 2-D)");
    CHECK(refused({1, 3, 3}, "MaxPool", none) == at + "(MaxPool): has no kernel_shape");
    CHECK(refused({1, 4, 4}, "MaxPool", [](Graph&, onnx::NodeProto& n) {
              attr(n, "kernel_shape", std::vector<std::int64_t>{3, 3});
              attr(n, "strides", std::vector<std::int64_t>{2, 2});
              attr(n, "ceil_mode", std::int64_t(1));
          }) == at + "(MaxPool): ceil_mode = 1 is not supported where it adds a window (as it does here)");
    CHECK(refused({1, 5, 5}, "AveragePool",
                  [](Graph&, onnx::NodeProto& n) {
                      attr(n, "kernel_shape", std::vector<std::int64_t>{3, 3});
                      attr(n, "pads", std::vector<std::int64_t>{2, 2, 2, 2});
                  }) ==
          at + "(AveragePool): padding 2 is more than half the kernel 3 (mininn's pools, as PyTorch's, take at "
               "most half)");
    CHECK(refused({1, 2, 3}, "GlobalMaxPool", none) ==
          at + "(GlobalMaxPool): a global pool of an image of 1×2×3 is not supported (mininn's windows are square)");
    CHECK(refused({1, 3, 3}, "Pad", [](Graph& g, onnx::NodeProto& n) {
              n.add_input("pads");
              g.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1});
              attr(n, "mode", std::string("reflect"));
          }) == at + "(Pad): mode 'reflect' is not supported (only zeros: 'constant')");
    CHECK(refused({1, 3, 3}, "Pad",
                  [](Graph& g, onnx::NodeProto& n) {
                      n.add_input("pads");
                      g.ints("pads", {0, 0, 1, 0, 0, 0, 1, 0});
                  }) ==
          at + "(Pad): pads [0, 0, 1, 0, 0, 0, 1, 0] are not supported (only the same positive padding on all "
               "four sides of the image)");
    CHECK(refused({1, 3, 3}, "Pad",
                  [](Graph& g, onnx::NodeProto& n) {
                      n.add_input("pads");
                      g.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1});
                  }) ==
          "g: the graph ends in a Pad, which is supported only before a Conv or an AveragePool (it becomes "
          "their padding)");
    {
        Graph g({1, 3, 3});
        g.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1});
        g.node("Pad", {"x", "pads"}, "p");
        attr(g.node("MaxPool", {"p"}, "y"), "kernel_shape", std::vector<std::int64_t>{2, 2});
        CHECK(refusal([&] { load_onnx_bytes<float>(g.bytes("y"), "g"); }) ==
              "g: node 1 'y_node' (MaxPool): follows a Pad, which is supported only before a Conv or an AveragePool "
              "(it becomes their padding)");
    }
    const auto reshape = [](std::vector<std::int64_t> shape, std::int64_t allowzero = 0) {
        return [shape, allowzero](Graph& g, onnx::NodeProto& n) {
            n.add_input("shape");
            g.ints("shape", shape);
            if (allowzero != 0)
                attr(n, "allowzero", allowzero);
        };
    };
    CHECK(refused({2, 3}, "Reshape", reshape({6})) ==
          at + "(Reshape): to [6]: across the samples (mininn keeps the batch as dimension 0)");
    CHECK(refused({2, 3}, "Reshape", reshape({2, 3})) ==
          at + "(Reshape): to [2, 3]: dimension 0 is not the batch (0, -1 or the input's fixed batch size)");
    CHECK(refused({2, 3}, "Reshape", reshape({-1, -1, 3})) ==
          at + "(Reshape): to [-1, -1, 3]: not a shape (two dimensions of -1)");
    CHECK(refused({2, 3}, "Reshape", reshape({0, -1, -1})) ==
          at + "(Reshape): to [0, -1, -1]: not a shape (a dimension below -1, or two of -1)");
    CHECK(refused({2, 3}, "Reshape", reshape({-1, 3})) ==
          at + "(Reshape): to [-1, 3]: changes the batch (a reshape across the samples)");
    CHECK(refused({2, 3}, "Reshape", reshape({0, 4})) ==
          at + "(Reshape): to [0, 4]: does not hold the 6 values of a sample");
    CHECK(refused({2, 3}, "Reshape", reshape({0, 0, 0, 0})) ==
          at + "(Reshape): to [0, 0, 0, 0]: copies dimension 3, which the data [n, 2, 3] does not have");
    CHECK(refused({2, 3}, "Reshape", reshape({0, 6, 0}, 1)) ==
          at + "(Reshape): to [0, 6, 0]: dimension 0 is not the batch (0, -1 or the input's fixed batch size)");
    CHECK(refused({2, 3}, "Reshape", reshape({-1, 6, 0}, 1)) ==
          at + "(Reshape): to [-1, 6, 0]: a dimension of 0 with allowzero = 1 (an empty tensor)");
    CHECK(refused({2, 3}, "Shape", none)
              .rfind(at + "(Shape): the op is not supported: a Reshape must take a "
                          "constant shape",
                     0) == 0);
    const auto layer_norm = [](std::int64_t axis, float eps, std::size_t scale) {
        return [=](Graph& g, onnx::NodeProto& n) {
            n.add_input("scale");
            g.weight("scale", {std::int64_t(scale)}, std::vector<float>(scale, 1));
            attr(n, "axis", axis);
            attr(n, "epsilon", eps);
        };
    };
    CHECK(refused({2, 3}, "LayerNormalization", layer_norm(-1, 1e-5f, 3)) ==
          at + "(LayerNormalization): axis -1 of data of rank 3 is not supported (mininn's LayerNorm is over the "
               "whole sample: axis 1)");
    CHECK(refused({2, 3}, "LayerNormalization", layer_norm(1, 0, 6)) ==
          at + "(LayerNormalization): epsilon 0 is not supported (mininn's LayerNorm takes a positive one)");
    CHECK(refused({2, 3}, "LayerNormalization", layer_norm(1, 1e-5f, 3)) ==
          at + "(LayerNormalization): input 1 holds 3 values for 6 a sample (mininn's LayerNorm does not broadcast "
               "them)");
    CHECK(refused({2, 2}, "BatchNormalization", [](Graph& g, onnx::NodeProto& n) {
              for (const char* w : {"scale", "B", "mean", "var"}) {
                  n.add_input(w);
                  g.weight(w, {2}, {1, -1});
              }
              attr(n, "epsilon", 0.5f);
          }) == at + "(BatchNormalization): variance -1 + epsilon is not positive at channel 1");
}

TEST_CASE("a CNN through ONNX into a Network of its architecture: the same outputs, in float and double; the first "
          "mismatch named")
{
    Rng rng(9);
    // ONNX holds epsilon as a float: 2^-16 is one exactly, where 1e-5 would move double outputs
    // by about 1e-11.
    const double eps = 1.0 / 65536;
    auto make = [&](auto scalar, std::size_t filters) {
        using T = decltype(scalar);
        Network n{Conv2D<T>(Shape(2, 6, 6), filters, 3, init::he, rng, Conv2DOptions{}.with_padding(1)),
                  ReLU{},
                  MaxPool2D(Shape(filters, 6, 6), 2),
                  BatchNorm<T>(Shape(filters, 3, 3), BatchNormOptions{eps, 0.1}),
                  AvgPool2D(Shape(filters, 3, 3), 3, 1, 1, true),
                  LayerNorm<T>(Shape(filters, 3, 3), eps),
                  Flatten{},
                  Dense<T>(filters * 9, 3, init::he, rng)};
        n.eval();
        return n;
    };
    auto trained = make(float{}, 4);
    trained.layer<3>().running_mean() = xt::linspace<float>(-1, 1, 4);
    trained.layer<3>().running_var() = xt::linspace<float>(0.5, 2, 4);
    auto fresh = make(float{}, 4);
    const matrix<float> X = test::random_matrix<float>(72, 5, rng);
    REQUIRE(max_diff(fresh.infer(X), trained.infer(X)) > 0.01);
    load_onnx_bytes(fresh, to_onnx(trained), "cnn");
    CHECK(max_diff(fresh.infer(X), trained.infer(X)) <= 1e-6);

    auto wide = make(double{}, 4), other = make(double{}, 4);
    const matrix<double> Xd = test::random_matrix<double>(72, 5, rng);
    load_onnx_bytes(other, to_onnx(wide), "cnn64");
    CHECK(max_diff(other.infer(Xd), wide.infer(Xd)) <= 1e-12);
    CHECK(max_diff(load_onnx_bytes<double>(to_onnx(wide), "cnn64").infer(Xd), wide.infer(Xd)) <= 1e-12);

    auto five = make(float{}, 5);
    const auto before = five.infer(test::random_matrix<float>(72, 2, rng));
    CHECK(refusal([&] { load_onnx_bytes(five, to_onnx(trained), "cnn"); }) ==
          "cnn: does not fit the network: layer 0 of the network is Conv2D(channels=2, height=6, width=6, filters=5, "
          "kernel=3, stride=1, padding=1, bias=1), but the graph has Conv2D(channels=2, height=6, width=6, filters=4, "
          "kernel=3, stride=1, padding=1, bias=1) there (Dropout, Identity and Flatten aside)");
}
