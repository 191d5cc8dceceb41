#include <cmath>

#include "helpers.hpp"

using namespace mininn;

TEST_CASE("Sigmoid forward values (hand-computed) and overflow safety")
{
    Sigmoid<double> s;
    matrix<double> Z = {{0, 2, -2}, {1000, -1000, 36}};
    const auto& A = s.forward(Z);
    CHECK(A(0, 0) == 0.5);
    CHECK(A(0, 1) == doctest::Approx(0.8807970779778823).epsilon(1e-15));
    CHECK(A(0, 2) == doctest::Approx(0.11920292202211755).epsilon(1e-15));
    CHECK(A(1, 0) == 1.0);
    CHECK(A(1, 1) >= 0.0);
    CHECK(A(1, 1) < 1e-300);
    CHECK(std::isfinite(A(1, 2)));

    Sigmoid<float> sf;
    matrix<float> Zf = {{-1000.f, 1000.f, -88.f, 88.f, 0.f, 1.f, -1.f, 3.f, -3.f}};
    const auto& Af = sf.forward(Zf); // 9 columns: a full 8-wide batch and a scalar tail
    for (float a : Af)
        CHECK(std::isfinite(a));
    CHECK(Af(0, 0) == 0.0f);
    CHECK(Af(0, 1) == 1.0f);
    CHECK(Af(0, 5) == doctest::Approx(0.7310585786300049).epsilon(1e-6));
    CHECK(Af(0, 8) == doctest::Approx(0.04742587317756678).epsilon(1e-6));
}

TEST_CASE("Sigmoid backward is g * a * (1 - a)")
{
    Sigmoid<double> s;
    matrix<double> Z = {{0, 2}};
    s.forward(Z);
    const auto& dZ = s.backward(matrix<double>{{1, 2}});
    CHECK(dZ(0, 0) == 0.25);
    const double a = 0.8807970779778823;
    CHECK(dZ(0, 1) == doctest::Approx(2 * a * (1 - a)).epsilon(1e-14));
}

TEST_CASE("ReLU, LeakyReLU, Tanh and Identity forward values")
{
    matrix<double> Z = {{-2, -0.5, 0.5, 3}};
    ReLU<double> r;
    CHECK(r.forward(Z) == matrix<double>{{0, 0, 0.5, 3}});
    LeakyReLU<double> l(0.1);
    const auto& L = l.forward(Z);
    CHECK(L(0, 0) == doctest::Approx(-0.2));
    CHECK(L(0, 1) == doctest::Approx(-0.05));
    CHECK(L(0, 3) == 3);
    Tanh<double> t;
    CHECK(t.forward(Z)(0, 2) == doctest::Approx(std::tanh(0.5)).epsilon(1e-14));
    Identity<double> id;
    CHECK(id.forward(Z) == Z);
    CHECK(l.name() == "LeakyReLU(0.1)");
    CHECK(r.name() == "ReLU");
    CHECK_THROWS_AS(LeakyReLU<double>(1.5), std::invalid_argument);
    CHECK_THROWS_AS(LeakyReLU<double>(0.0), std::invalid_argument);
}

TEST_CASE_TEMPLATE("activations pass the numeric gradient check", Act, Sigmoid<double>, Tanh<double>, ReLU<double>,
                   LeakyReLU<double>, Identity<double>)
{
    Rng rng(4);
    Act act;
    // Keep inputs away from ReLU's kink at 0, where the derivative is undefined.
    auto X = test::random_matrix<double>(6, 11, rng, 2.0);
    for (auto& x : X)
        if (std::abs(x) < 1e-3)
            x = 0.5;
    auto R = test::random_matrix<double>(6, 11, rng);
    const auto report = check_layer_gradients(act, X, R);
    INFO(report.str());
    CHECK(report.passed());
}

TEST_CASE("activation errors name the layer and both shapes")
{
    Sigmoid<double> s;
    auto msg = test::message_of<std::logic_error>([&] { s.backward(matrix<double>({2, 2})); });
    CHECK_MESSAGE_CONTAINS(msg, "Sigmoid: backward() called before forward()");
    s.forward(matrix<double>({2, 3}));
    msg = test::message_of<shape_error>([&] { s.backward(matrix<double>({3, 2}), true, 1); });
    CHECK(msg == "layer 1 (Sigmoid): expected gradient [2, 3] (samples are columns), got [3, 2]");
    msg = test::message_of<shape_error>([&] { s.forward(matrix<double>({2, 0})); });
    CHECK_MESSAGE_CONTAINS(msg, "expected input [k, n] with n >= 1");
}
