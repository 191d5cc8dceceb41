#include <cmath>

#include "helpers.hpp"

using namespace mininn;

namespace {
template <class Init>
std::pair<double, double> moments(const Init& init, std::size_t in, std::size_t out)
{
    Rng rng(11);
    Dense<double> d(in, out, init, rng);
    const auto& W = d.weights();
    double s = 0, s2 = 0;
    for (double w : W) {
        s += w;
        s2 += w * w;
    }
    const double n = static_cast<double>(W.size());
    return {s / n, s2 / n - (s / n) * (s / n)};
}
} // namespace

TEST_CASE("initializers have the documented variances; biases start at zero")
{
    auto [m1, v1] = moments(init::normal, 400, 300);
    CHECK(std::abs(m1) < 0.01);
    CHECK(v1 == doctest::Approx(1.0).epsilon(0.02));

    auto [m2, v2] = moments(init::xavier, 400, 300); // U(-a, a): variance a^2 / 3 = 2 / (in + out)
    CHECK(std::abs(m2) < 0.002);
    CHECK(v2 == doctest::Approx(2.0 / 700.0).epsilon(0.02));

    auto [m3, v3] = moments(init::he, 400, 300);
    CHECK(std::abs(m3) < 0.002);
    CHECK(v3 == doctest::Approx(2.0 / 400.0).epsilon(0.02));

    auto [m4, v4] = moments(init::Normal{0.1}, 400, 300);
    CHECK(v4 == doctest::Approx(0.01).epsilon(0.02));

    Rng rng(1);
    Dense<float> d(3, 2, init::normal, rng);
    CHECK(d.bias()(0) == 0.0f);
    CHECK(d.bias()(1) == 0.0f);
}

TEST_CASE("xavier weights stay inside their bound")
{
    Rng rng(2);
    Dense<double> d(50, 10, init::xavier, rng);
    const double a = std::sqrt(6.0 / 60.0);
    for (double w : d.weights()) {
        CHECK(w >= -a);
        CHECK(w < a);
    }
}

TEST_CASE("the same seed gives bit-identical weights, in float and double")
{
    Rng r1(138), r2(138);
    Dense<float> a(784, 64, init::normal, r1), b(784, 64, init::normal, r2);
    CHECK(a.weights() == b.weights());
    Rng r3(138), r4(139);
    Dense<double> c(20, 5, init::he, r3), d(20, 5, init::he, r4);
    CHECK(c.weights() != d.weights());
    // Golden values: the first standard-normal draws for seed 138, the same on every IEEE-754
    // platform and with or without FMA contraction (checked at -O0 and -O2 -march=native).
    Rng r5(138);
    Dense<double> e(2, 2, init::normal, r5);
    CHECK(e.weights()(0, 0) == 0x1.1c24ef6c5748ep-3);
    CHECK(e.weights()(0, 1) == -0x1.a6a6c439358fdp-1);
    CHECK(e.weights()(1, 0) == 0x1.0d10ce602cf6cp-1);
    CHECK(e.weights()(1, 1) == 0x1.766a06da8b08ap-1);
}
