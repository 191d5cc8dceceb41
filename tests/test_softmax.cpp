#include <cmath>

#include "helpers.hpp"

using namespace mininn;

TEST_CASE("Softmax normalises each column (hand-computed) and is shift-safe")
{
    Softmax<double> s;
    matrix<double> Z = {{1, 1000, -1000}, {2, 1000, 0}, {3, 1000, 1000}};
    const auto& S = s.forward(Z);
    CHECK(S(0, 0) == doctest::Approx(0.09003057317038046).epsilon(1e-14));
    CHECK(S(1, 0) == doctest::Approx(0.24472847105479767).epsilon(1e-14));
    CHECK(S(2, 0) == doctest::Approx(0.6652409557748219).epsilon(1e-14));
    for (int i = 0; i < 3; ++i)
        CHECK(S(i, 1) == doctest::Approx(1.0 / 3).epsilon(1e-14));
    CHECK(S(0, 2) == 0.0);
    CHECK(S(2, 2) == 1.0);

    Softmax<float> sf;
    matrix<float> Zf({10, 37});
    for (std::size_t i = 0; i < 10; ++i)
        for (std::size_t j = 0; j < 37; ++j)
            Zf(i, j) = static_cast<float>(i) * 0.5f - static_cast<float>(j) * 3.0f;
    const auto& Sf = sf.forward(Zf);
    for (std::size_t j = 0; j < 37; ++j) {
        float col = 0;
        for (std::size_t i = 0; i < 10; ++i)
            col += Sf(i, j);
        CHECK(col == doctest::Approx(1.0f).epsilon(1e-6));
    }
}

TEST_CASE("Softmax backward is the Jacobian-vector product s * (g - sum(s * g))")
{
    Softmax<double> s;
    matrix<double> Z = {{1}, {2}, {3}};
    const matrix<double> S = s.forward(Z);
    matrix<double> g = {{1}, {0}, {-1}};
    const auto& dZ = s.backward(g);
    const double dot = S(0, 0) - S(2, 0);
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(dZ(i, 0) == doctest::Approx(S(i, 0) * (g(i, 0) - dot)).epsilon(1e-14));
}

TEST_CASE("Softmax passes the numeric gradient check")
{
    Rng rng(9);
    Softmax<double> s;
    auto X = test::random_matrix<double>(10, 13, rng, 3.0);
    auto R = test::random_matrix<double>(10, 13, rng);
    const auto report = check_layer_gradients(s, X, R);
    INFO(report.str());
    CHECK(report.passed());
}

TEST_CASE("Softmax errors")
{
    Softmax<double> s;
    CHECK_THROWS_AS(s.backward(matrix<double>({2, 2})), std::logic_error);
    s.forward(matrix<double>({3, 2}));
    auto msg = test::message_of<shape_error>([&] { s.backward(matrix<double>({2, 3})); });
    CHECK(msg == "Softmax: expected gradient [3, 2] (samples are columns), got [2, 3]");
}

TEST_CASE("Softmax infer is its forward, into another buffer, in place, or from an expression")
{
    const matrix<double> Z = {{1, -2, 1000, 0.5}, {2, -2, 0, 0.25}, {3, 7, -1000, 0}};
    Softmax<double> s;
    const matrix<double> want = s.forward(Z);
    const Softmax<double>& c = s;
    const matrix<double> out = test::check_infer_forms(c, Z, want);
    CHECK(out(0, 2) == 1.0); // hand-computed: e^0 / (e^0 + e^-1000 + e^-2000)
    CHECK(out(1, 1) == doctest::Approx(std::exp(-9.0) / (2 * std::exp(-9.0) + 1)).epsilon(1e-15));
}
