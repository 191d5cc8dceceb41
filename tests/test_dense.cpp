#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include "helpers.hpp"

using namespace mininn;

namespace {
Dense<double> hand_layer()
{
    matrix<double> W = {{1, 2}, {3, 4}, {5, 6}}; // [out = 3, in = 2]
    vector<double> b = {0.5, -1, 0};
    return Dense<double>(W, b);
}
} // namespace

TEST_CASE("Dense forward computes W X + b per column (hand-computed)")
{
    auto d = hand_layer();
    matrix<double> X = {{1, 0}, {2, -1}}; // samples (1, 2) and (0, -1)
    const auto& Z = d.forward(X);
    const matrix<double> expected = {{5.5, -1.5}, {10, -5}, {17, -6}};
    CHECK(Z == expected);
    CHECK(d.name() == "Dense 2→3");
    CHECK(d.parameter_count() == 9);
}

TEST_CASE("Dense backward gives dW = dZ X^T, db = row sums, dX = W^T dZ (hand-computed)")
{
    auto d = hand_layer();
    matrix<double> X = {{1, 0}, {2, -1}};
    d.forward(X);
    matrix<double> dZ = {{1, 0}, {0, 1}, {1, 1}};
    const auto& dX = d.backward(dZ);
    CHECK(d.weight_grad() == matrix<double>{{1, 2}, {0, -1}, {1, 1}});
    CHECK(d.bias_grad() == vector<double>{1, 1, 2});
    CHECK(dX == matrix<double>{{6, 8}, {8, 10}});
    CHECK(d.backward(dZ, false).size() == 0); // no input gradient requested
}

TEST_CASE("Dense passes check_layer: the numeric gradients of input, W and b, in double and float")
{
    Rng rng(1);
    Dense<double> d(5, 4, init::normal, rng);
    d.bias() = xt::xtensor<double, 1>{0.1, -0.2, 0.3, 0.05};
    const auto X = test::random_matrix<double>(5, 7, rng);
    const LayerReport r = check_layer(d, X);
    CHECK_MESSAGE(r.passed(), r.str());
    std::size_t gradients = 0;
    for (const auto& c : r.checks)
        gradients += c.what.rfind("gradient of ", 0) == 0;
    CHECK(gradients == 3);
    CHECK_MESSAGE_CONTAINS(r.str(), "Dense 5→4: gradient of W: ok");
    CHECK_MESSAGE_CONTAINS(r.str(), "Dense 5→4: gradient of b: ok");
    CHECK_MESSAGE_CONTAINS(r.str(), "Dense 5→4: gradient of input: ok");
    // float, with a float-sized step
    LayerCheckOptions o;
    o.step = 1e-2;
    o.tolerance = 1e-2;
    const LayerReport f = check_layer(Dense<float>(5, 4, init::xavier, rng), matrix<float>(xt::cast<float>(X)), o);
    CHECK_MESSAGE(f.passed(), f.str());
}

TEST_CASE("the gradient checker fails when both gradients are zero")
{
    Rng rng(1);
    Dense<double> d(3, 2, init::normal, rng);
    auto X = test::random_matrix<double>(3, 4, rng);
    matrix<double> R = xt::zeros<double>({2, 4}); // a loss that does not depend on anything
    const auto report = check_layer_gradients(d, X, R);
    CHECK_FALSE(report.passed());
    CHECK_MESSAGE_CONTAINS(report.str(), "FAILED (both zero)");
}

TEST_CASE("Dense accepts any 2-D expression, e.g. a column range of a larger matrix")
{
    auto d = hand_layer();
    matrix<double> big = {{1, 0, 7}, {2, -1, 8}};
    const matrix<double> from_view = d.forward(xt::view(big, xt::all(), xt::range(0, 2)));
    matrix<double> X = {{1, 0}, {2, -1}};
    CHECK(from_view == d.forward(X));
    // backward after a view forward uses the layer's own copy of the input
    d.forward(xt::view(big, xt::all(), xt::range(0, 2)));
    d.backward(matrix<double>{{1, 0}, {0, 1}, {1, 1}});
    CHECK(d.weight_grad() == matrix<double>{{1, 2}, {0, -1}, {1, 1}});
}

TEST_CASE("Dense reports shape errors with both shapes and the convention")
{
    auto d = hand_layer();
    matrix<double> X = xt::ones<double>({28, 32});
    auto msg = test::message_of<shape_error>([&] { d.forward(X); });
    CHECK(msg == "Dense 2→3: expected input [2, n] with n >= 1 (samples are columns), got [28, 32]");
    msg = test::message_of<shape_error>([&] { d.forward(X, 2); });
    CHECK(msg == "layer 2 (Dense 2→3): expected input [2, n] with n >= 1 (samples are columns), got [28, 32]");
    xt::xtensor<double, 1> v = {1, 2};
    msg = test::message_of<shape_error>([&] { d.forward(v); });
    CHECK_MESSAGE_CONTAINS(msg, "got [2]");

    msg = test::message_of<std::logic_error>([&] { d.backward(matrix<double>({3, 2})); });
    CHECK_MESSAGE_CONTAINS(msg, "backward() called before forward()");
    matrix<double> X2 = {{1, 0}, {2, -1}};
    d.forward(X2);
    msg = test::message_of<shape_error>([&] { d.backward(matrix<double>({3, 5})); });
    CHECK(msg == "Dense 2→3: expected gradient [3, 2] (samples are columns), got [3, 5]");

    msg = test::message_of<shape_error>([] { Dense<double>(matrix<double>({3, 2}), vector<double>(vector<double>::shape_type{2})); });
    CHECK_MESSAGE_CONTAINS(msg, "weights [3, 2] and bias [2] do not match");
    Rng rng(0);
    CHECK_THROWS_AS(Dense<float>(0, 3, init::normal, rng), std::invalid_argument);
}

TEST_CASE("a copied Dense forgets its input binding")
{
    auto d = hand_layer();
    matrix<double> X = {{1, 0}, {2, -1}};
    d.forward(X);
    Dense<double> copy = d;
    CHECK_THROWS_AS(copy.backward(matrix<double>({3, 2})), std::logic_error);
}

TEST_CASE("a Dense layer's parameters cannot change shape through its accessors")
{
    Rng rng(3);
    Dense<double> d(3, 2, init::normal, rng);
    d.weights() = xt::xtensor<double, 2>{{1, 2, 3}, {4, 5, 6}}; // same shape: assigned
    d.bias()(1) = 0.5;
    CHECK(d.weights()(1, 2) == 6.0);
    CHECK(d.bias()(1) == 0.5);
    // another shape is refused by xtensor's broadcasting, and the layer keeps its own
    const matrix<double> wide = xt::zeros<double>({10, 10});
    const vector<double> longer = xt::zeros<double>({7});
    CHECK_THROWS_AS(d.weights() = wide, xt::broadcast_error);
    CHECK_THROWS_AS(d.bias() = longer, xt::broadcast_error);
    CHECK(d.weights().shape()[0] == 2);
    CHECK(d.weights().shape()[1] == 3);
    static_assert(std::is_const_v<std::remove_reference_t<decltype(d.weight_grad())>>,
                  "gradients are read-only outside the layer");
}

TEST_CASE("parameters resized through visit_parameters are reported before any pass uses them")
{
    Rng rng(4);
    Network net{Dense<double>(3, 4, init::normal, rng), Sigmoid{}, Dense<double>(4, 2, init::normal, rng), Softmax{}};
    const auto X = test::random_matrix<double>(3, 8, rng);
    const auto y = test::random_labels(8, 2, rng);
    net.compute_gradients(CrossEntropy{}, X, y);
    std::size_t k = 0;
    net.visit_parameters([&](auto& p, auto&) {
        if constexpr (std::decay_t<decltype(p)>::rank == 2)
            if (k == 2) // the second layer's weights, which the fused head reads raw
                p.resize({10, 10});
        ++k;
    });
    const auto msg = test::message_of<shape_error>([&] { net.compute_gradients(CrossEntropy{}, X, y); });
    CHECK(msg == "layer 2 (Dense 4→2): parameters were resized (W [10, 10], b [2], dW [2, 4], db [2]); a layer's "
                 "shape is fixed when it is built");
    CHECK(test::message_of<shape_error>([&] { net.forward(X); }) == msg);
}

TEST_CASE("a square Dense layer fed its own output computes from a copy, not from what it overwrites")
{
    Dense<double> d(matrix<double>{{2, 0}, {1, 1}}, vector<double>{0, 1});
    const matrix<double> X{{1, 2}, {3, 4}};
    const matrix<double> once = d.forward(X); // [[2, 4], [5, 7]]
    const matrix<double>& twice = d.forward(d.forward(X));
    CHECK(once == matrix<double>{{2, 4}, {5, 7}});
    CHECK(twice == matrix<double>{{4, 8}, {8, 12}}); // W·once + b; the aliased GEMM gave zeros
    // and backward uses that copy: dW = dZ · once^T
    d.backward(xt::ones<double>({2, 2}));
    CHECK(d.weight_grad() == matrix<double>{{6, 12}, {6, 12}});
}

TEST_CASE("Dense::infer gives forward's bits on a const layer, refuses to write over its input, and checks shapes")
{
    Rng rng(8);
    const Dense<double> d(test::random_matrix<double>(3, 5, rng), vector<double>{0.5, -1.25, 2});
    const auto X = test::random_matrix<double>(5, 4, rng);
    Dense<double> copy = d;
    matrix<double> out;
    scratch<double> work;
    d.infer(X, out, work);
    CHECK(out == copy.forward(X));
    const matrix<double> want = xt::linalg::dot(d.weights(), X) + xt::view(d.bias(), xt::all(), xt::newaxis());
    CHECK(xt::allclose(out, want, 1e-14, 1e-14));
    d.infer(xt::view(X, xt::all(), xt::range(1, 3)), out, work); // an expression, and a narrower batch
    CHECK(out == xt::view(copy.forward(X), xt::all(), xt::range(1, 3)));
    matrix<double> square = test::random_matrix<double>(3, 3, rng);
    const Dense<double> s(3, 3, init::normal, rng);
    CHECK_THROWS_WITH_AS(s.infer(square, square, work), "Dense 3→3: infer() cannot write its output over its input",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(d.infer(square, out, work),
                         "Dense 5→3: expected input [5, n] with n >= 1 (samples are columns), got [3, 3]", shape_error);
}
