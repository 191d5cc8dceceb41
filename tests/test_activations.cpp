#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

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

namespace {
// Distance in units in the last place between a and b (0 when equal).
template <class T>
double ulps(T a, T b)
{
    if (a == b)
        return 0;
    const T scale = std::max(std::abs(a), std::abs(b));
    const T ulp = std::nextafter(scale, std::numeric_limits<T>::infinity()) - scale;
    return static_cast<double>(std::abs(a - b) / ulp);
}

template <class T, class F>
double worst_ulps_over(std::size_t n, T lo, T hi, F vector_fn, T (*reference)(T))
{
    std::vector<T> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i)
        x[i] = lo + (hi - lo) * static_cast<T>(i) / static_cast<T>(n - 1);
    detail::map(x.data(), y.data(), n, vector_fn);
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i)
        worst = std::max(worst, ulps(y[i], reference(x[i])));
    return worst;
}

// exp_nonpositive over 9 values laid out so that each one lands in every SIMD lane (9 is
// coprime with the batch widths) and in the scalar tail: 0 below flush, NaN for NaN, within
// two ulps of std::exp otherwise, never a denormal.
template <class T>
void check_exp_edges(const std::vector<T>& values, T flush, bool custom = false)
{
    std::vector<T> x(values.size() * 16 + 5), y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = values[i % values.size()];
    auto fn = [&](auto v) { return custom ? detail::exp_nonpositive(v, flush) : detail::exp_nonpositive(v); };
    detail::map(x.data(), y.data(), x.size(), fn);
    for (std::size_t i = 0; i < x.size(); ++i) {
        CAPTURE(i);
        CAPTURE(x[i]);
        if (std::isnan(x[i]))
            CHECK(std::isnan(y[i]));
        else if (x[i] < flush)
            CHECK(y[i] == T(0));
        else
            CHECK(ulps(y[i], std::exp(x[i])) <= 2.0);
        CHECK(std::fpclassify(y[i]) != FP_SUBNORMAL);
    }
}
} // namespace

TEST_CASE("the vector exp and reciprocal are accurate to an ulp or two")
{
    // These replace divides in the hot loops; a wrong overload (xsimd's 14-bit estimate) or a
    // short polynomial shows up here as hundreds of ulps.
    auto exp_ref_d = [](double v) { return std::exp(v); };
    auto exp_ref_f = [](float v) { return std::exp(v); };
    auto exp_fn = [](auto v) { return detail::exp_nonpositive(v); };
    CHECK(worst_ulps_over<double>(100003, -708.0, 0.0, exp_fn, +exp_ref_d) <= 2.0);
    CHECK(worst_ulps_over<double>(100003, -1.0, 0.0, exp_fn, +exp_ref_d) <= 2.0);
    CHECK(worst_ulps_over<float>(100003, -87.0f, 0.0f, exp_fn, +exp_ref_f) <= 2.0);
    auto inv_ref_d = [](double v) { return 1.0 / v; };
    auto inv_ref_f = [](float v) { return 1.0f / v; };
    auto inv_fn = [](auto v) { return detail::recip(v); };
    CHECK(worst_ulps_over<double>(100003, 1.0, 2.0, inv_fn, +inv_ref_d) <= 1.0);
    CHECK(worst_ulps_over<double>(100003, 1e-3, 1e6, inv_fn, +inv_ref_d) <= 1.0);
    CHECK(worst_ulps_over<float>(100003, 1.0f, 2.0f, inv_fn, +inv_ref_f) <= 1.0);

    // Below the flush point (e^-708 in double, e^-87 in float, or the caller's) the result is 0,
    // never a denormal; NaN stays NaN.
    const double inf = std::numeric_limits<double>::infinity();
    check_exp_edges<double>({std::nan(""), -709.0, -1e9, -inf, 0.0, -0.0, -1e-300, -708.0, -20.0}, -708.0);
    check_exp_edges<float>({std::nanf(""), -88.0f, -1e30f, -float(inf), 0.0f, -87.0f, -0.5f, -20.0f, -86.9f}, -87.0f);
    // A caller's own flush point (the fused head flushes probabilities at e^-65 in float).
    check_exp_edges<double>({-9.0, -10.0, -10.5, -3.0, -11.0, -1.0, std::nan(""), -12.0, -9.5}, -10.0, true);
}

namespace {
// The worst ulps of log_normal against std::log over n points spaced evenly in log x from lo to hi.
template <class T>
double worst_log_ulps(std::size_t n, T lo, T hi)
{
    std::vector<T> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i)
        x[i] = std::exp(std::log(lo) + (std::log(hi) - std::log(lo)) * static_cast<T>(i) / static_cast<T>(n - 1));
    detail::map(x.data(), y.data(), n, [](auto v) { return detail::log_normal(v); });
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i)
        worst = std::max(worst, ulps(y[i], std::log(x[i])));
    return worst;
}

// log_normal over 9 values laid out so that each lands in every SIMD lane and in the scalar
// tail: NaN for NaN, exactly 0 for 1, within an ulp of std::log otherwise (inf included).
template <class T>
void check_log_edges(const std::vector<T>& values)
{
    std::vector<T> x(values.size() * 16 + 5), y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = values[i % values.size()];
    detail::map(x.data(), y.data(), x.size(), [](auto v) { return detail::log_normal(v); });
    for (std::size_t i = 0; i < x.size(); ++i) {
        CAPTURE(x[i]);
        if (std::isnan(x[i]))
            CHECK(std::isnan(y[i]));
        else if (x[i] == T(1))
            CHECK(y[i] == T(0));
        else
            CHECK(ulps(y[i], std::log(x[i])) <= 1.0);
    }
}
} // namespace

TEST_CASE("the vector log is accurate to an ulp over every positive normal, and keeps inf and NaN")
{
    // The losses take it of sums of exponentials (in [1, c]) and of floored probabilities.
    CHECK(worst_log_ulps<double>(100003, 1.0, 16.0) <= 1.0);
    CHECK(worst_log_ulps<double>(100003, std::numeric_limits<double>::min(), std::numeric_limits<double>::max()) <= 1.0);
    CHECK(worst_log_ulps<double>(100003, 0.5, 2.0) <= 1.0);
    CHECK(worst_log_ulps<float>(100003, 1.0f, 16.0f) <= 1.0);
    CHECK(worst_log_ulps<float>(100003, std::numeric_limits<float>::min(), std::numeric_limits<float>::max()) <= 1.0);
    CHECK(worst_log_ulps<float>(100003, 0.5f, 2.0f) <= 1.0);

    // Edges in every lane and in the scalar tail.
    const double inf = std::numeric_limits<double>::infinity();
    check_log_edges<double>({1.0, inf, std::nan(""), std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::max(), 2.0, std::sqrt(0.5), std::sqrt(2.0), 0.75});
    check_log_edges<float>({1.0f, float(inf), std::nanf(""), std::numeric_limits<float>::min(),
                            std::numeric_limits<float>::max(), 2.0f, 0.70710677f, 1.4142135f, 0.75f});
}

TEST_CASE("the vector tanh is accurate to two ulps, odd, and keeps NaN")
{
    auto fn = [](auto v) { return detail::tanh_kernel(v); };
    auto ref_d = [](double v) { return std::tanh(v); };
    auto ref_f = [](float v) { return std::tanh(v); };
    CHECK(worst_ulps_over<double>(1000003, -20.0, 20.0, fn, +ref_d) <= 2.0);
    CHECK(worst_ulps_over<double>(100003, -1e-6, 1e-6, fn, +ref_d) <= 1.0);
    CHECK(worst_ulps_over<float>(1000003, -20.0f, 20.0f, fn, +ref_f) <= 2.0);
    CHECK(worst_ulps_over<float>(100003, -1e-6f, 1e-6f, fn, +ref_f) <= 1.0);
    // Both branches at the switch point, the signs of zero and infinity, and NaN, in every lane.
    const double inf = std::numeric_limits<double>::infinity();
    const std::vector<double> edges = {0.625, -0.625, 0.0, -0.0, inf, -inf, std::nan(""), 400.0, -0.6249999};
    std::vector<double> x(edges.size() * 16 + 5), y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = edges[i % edges.size()];
    detail::map(x.data(), y.data(), x.size(), fn);
    for (std::size_t i = 0; i < x.size(); ++i) {
        CAPTURE(x[i]);
        if (std::isnan(x[i])) {
            CHECK(std::isnan(y[i]));
        } else {
            CHECK(ulps(y[i], std::tanh(x[i])) <= 2.0);
            CHECK(std::signbit(y[i]) == std::signbit(x[i]));
        }
    }
}

TEST_CASE("Sigmoid matches 1 / (1 + e^-z) on the vector path too")
{
    // 1001 columns: whole batches and a tail, in both scalar types.
    matrix<double> Z({1, 1001});
    for (std::size_t j = 0; j < 1001; ++j)
        Z(0, j) = -40.0 + 80.0 * static_cast<double>(j) / 1000.0;
    Sigmoid<double> s;
    const auto& A = s.forward(Z);
    double worst = 0;
    for (std::size_t j = 0; j < 1001; ++j)
        worst = std::max(worst, ulps(A(0, j), 1.0 / (1.0 + std::exp(-Z(0, j)))));
    CHECK(worst <= 4.0);
    Sigmoid<float> sf;
    const matrix<float> Zf = xt::cast<float>(Z);
    const auto& Af = sf.forward(Zf);
    double worst_f = 0;
    for (std::size_t j = 0; j < 1001; ++j)
        worst_f = std::max(worst_f, ulps(Af(0, j), static_cast<float>(1.0 / (1.0 + std::exp(-double(Zf(0, j)))))));
    CHECK(worst_f <= 4.0);
}

TEST_CASE_TEMPLATE("an activation's infer is its forward, into another buffer, in place, or from an expression", Act,
                   Sigmoid<double>, Tanh<double>, ReLU<double>, LeakyReLU<double>, Identity<double>)
{
    Rng rng(4);
    const auto Z = test::random_matrix<double>(3, 7, rng);
    Act a;
    const matrix<double> want = a.forward(Z);
    const Act& c = a;
    test::check_infer_forms(c, Z, want);
    matrix<double> out;
    scratch<double> work;
    CHECK_THROWS_WITH_AS(c.infer(vector<double>{1, 2}, out, work),
                         doctest::Contains("expected input [k, n] with n >= 1 (samples are columns), got [2]"),
                         shape_error);
}
