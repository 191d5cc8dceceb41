#include "helpers.hpp"

using namespace mininn;

TEST_CASE("GD updates every parameter as p - lr * grad (hand-computed)")
{
    matrix<double> W = {{1, 2}, {3, 4}};
    vector<double> b = {0.5, -0.5};
    Network net{Dense<double>(W, b)};
    matrix<double> X = {{1}, {2}};
    // Loss L = sum(output * R) through a plain backward: dW = R X^T, db = R.
    net.forward(X);
    net.backward(matrix<double>{{1}, {-1}});
    GD<double> opt(0.1);
    opt.step(net);
    const auto& d = net.layer<0>();
    CHECK(d.weights()(0, 0) == doctest::Approx(1 - 0.1 * 1));
    CHECK(d.weights()(0, 1) == doctest::Approx(2 - 0.1 * 2));
    CHECK(d.weights()(1, 0) == doctest::Approx(3 + 0.1 * 1));
    CHECK(d.weights()(1, 1) == doctest::Approx(4 + 0.1 * 2));
    CHECK(d.bias()(0) == doctest::Approx(0.4));
    CHECK(d.bias()(1) == doctest::Approx(-0.4));
    CHECK(opt.learning_rate() == 0.1);
}

TEST_CASE("GD rejects a learning rate that is not finite and positive")
{
    CHECK_THROWS_AS(GD<float>(0.0f), std::invalid_argument);
    CHECK_THROWS_AS(GD<float>(-1.0f), std::invalid_argument);
    CHECK_THROWS_AS(GD<double>{std::numeric_limits<double>::quiet_NaN()}, std::invalid_argument);
}
