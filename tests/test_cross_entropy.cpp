#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace mininn;

namespace {
const matrix<double> P = {{0.7, 0.1}, {0.2, 0.9}, {0.1, 0.0}}; // [K = 3, n = 2]
}

TEST_CASE("CrossEntropy value is the batch mean of -log p[label] (hand-computed)")
{
    CrossEntropy ce;
    const double expected = -(std::log(0.7) + std::log(0.9)) / 2; // 0.23101772979827937
    CHECK(ce.value(P, label_vector{0, 1}) == doctest::Approx(0.23101772979827937).epsilon(1e-14));
    CHECK(ce.value(P, xt::xtensor<int, 1>{0, 1}) == doctest::Approx(expected).epsilon(1e-14));
    const matrix<double> Y = {{1, 0}, {0, 1}, {0, 0}};
    CHECK(ce.value(P, Y) == doctest::Approx(expected).epsilon(1e-14));
}

TEST_CASE("CrossEntropy never returns inf or NaN for p = 0")
{
    CrossEntropy ce;
    const double v = ce.value(P, label_vector{2, 2});
    CHECK(std::isfinite(v));
    CHECK(v == doctest::Approx((-std::log(0.1) - std::log(std::numeric_limits<double>::min())) / 2));
    const matrix<double> Y = {{0, 0}, {0, 0}, {1, 1}};
    CHECK(std::isfinite(CrossEntropy{}.value(P, Y)));
    matrix<double> G;
    ce.gradient(P, label_vector{2, 2}, G);
    for (double g : G)
        CHECK(std::isfinite(g));

    matrix<float> Pf = {{1.0f, 0.0f}, {0.0f, 1.0f}};
    CHECK(std::isfinite(ce.value(Pf, label_vector{1, 0})));
}

TEST_CASE("CrossEntropy gradient with respect to P is -Y / (n P) (hand-computed and numeric)")
{
    CrossEntropy ce;
    matrix<double> G;
    ce.gradient(P, label_vector{0, 1}, G);
    CHECK(G(0, 0) == doctest::Approx(-1 / (2 * 0.7)));
    CHECK(G(1, 1) == doctest::Approx(-1 / (2 * 0.9)));
    CHECK(G(1, 0) == 0.0);
    CHECK(G(2, 1) == 0.0);

    // Central differences of the value, entry by entry.
    matrix<double> Pp = P;
    matrix<double> Gy;
    const matrix<double> Y = {{1, 0}, {0, 1}, {0, 0}};
    ce.gradient(P, Y, Gy);
    const double h = 1e-7;
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 2; ++j) {
            if (P(i, j) == 0.0)
                continue;
            Pp(i, j) = P(i, j) + h;
            const double up = ce.value(Pp, Y);
            Pp(i, j) = P(i, j) - h;
            const double down = ce.value(Pp, Y);
            Pp(i, j) = P(i, j);
            CHECK(Gy(i, j) == doctest::Approx((up - down) / (2 * h)).epsilon(1e-6));
        }
}

TEST_CASE("fused softmax + CE gradient (P - Y) / n equals the unfused chain")
{
    Rng rng(21);
    const auto Z = test::random_matrix<double>(10, 37, rng, 3.0);
    label_vector y = xt::zeros<std::size_t>({37});
    for (auto& v : y)
        v = rng.below(10);
    Softmax<double> s;
    const matrix<double> S = s.forward(Z);
    CrossEntropy ce;
    matrix<double> fused, dS;
    ce.softmax_gradient(S, y, fused);
    ce.gradient(S, y, dS);
    const matrix<double> unfused = s.backward(dS);
    double worst = 0;
    for (std::size_t k = 0; k < fused.size(); ++k)
        worst = std::max(worst, std::abs(fused.data()[k] - unfused.data()[k]));
    CHECK(worst < 1e-12);
    CHECK(xt::amax(xt::abs(fused))() > 1e-3); // a real gradient, not two zeros that agree
    // one-hot labels give the same fused gradient as indices
    matrix<double> fused_onehot;
    ce.softmax_gradient(S, one_hot<double>(y, 10), fused_onehot);
    CHECK(xt::allclose(fused, fused_onehot, 0.0, 1e-15));
}

TEST_CASE_TEMPLATE("the one-sweep value and gradient equal value() and softmax_gradient()", T, float, double)
{
    Rng rng(22);
    Softmax<T> s;
    const matrix<T> S = s.forward(test::random_matrix<T>(10, 37, rng, 3.0)); // 37: SIMD batches and a tail
    label_vector y = xt::zeros<std::size_t>({37});
    for (auto& v : y)
        v = rng.below(10);
    CrossEntropy ce;
    matrix<T> G1, G2, G3;
    vector<T> work;
    const T v1 = ce.softmax_value_and_gradient(S, y, G1, work);
    ce.softmax_gradient(S, y, G2);
    CHECK(v1 == doctest::Approx(ce.value(S, y)).epsilon(1e-6));
    CHECK(G1 == G2);
    const matrix<T> Y = one_hot<T>(y, 10);
    const T v2 = ce.softmax_value_and_gradient(S, Y, G3, work);
    CHECK(v2 == doctest::Approx(v1).epsilon(1e-6));
    CHECK(xt::allclose(G1, G3, 0.0, 1e-7));
    CHECK_THROWS_AS(ce.softmax_value_and_gradient(S, label_vector{1, 2}, G1, work), shape_error);
}

TEST_CASE("CrossEntropy errors: labels out of range, sample counts, one-hot shape and sums")
{
    CrossEntropy ce;
    auto msg = test::message_of<label_error>([&] { ce.value(P, label_vector{0, 3}); });
    CHECK(msg == "CrossEntropy: label 3 of sample 1 is outside [0, 3)");
    msg = test::message_of<label_error>([&] { ce.value(P, xt::xtensor<int, 1>{-1, 0}); });
    CHECK(msg == "CrossEntropy: label -1 of sample 0 is outside [0, 3)");
    msg = test::message_of<shape_error>([&] { ce.value(P, label_vector{0, 1, 2}); });
    CHECK(msg == "CrossEntropy: 3 labels for 2 samples (predictions are [3, 2], samples are columns)");
    msg = test::message_of<shape_error>([&] { ce.value(P, matrix<double>({2, 3})); });
    CHECK_MESSAGE_CONTAINS(msg, "one-hot labels [2, 3] do not match predictions [3, 2]");
    msg = test::message_of<label_error>([&] { ce.value(P, matrix<double>{{1, 0}, {0, 0}, {0, 0}}); });
    CHECK(msg == "CrossEntropy: one-hot column 1 sums to 0, expected 1");
    matrix<double> G;
    CHECK_THROWS_AS(ce.softmax_gradient(P, label_vector{0, 5}, G), label_error);
    msg = test::message_of<label_error>([] { one_hot<float>(label_vector{0, 4}, 4); });
    CHECK(msg == "one_hot: label 4 of sample 1 is outside [0, 4)");
}

TEST_CASE_TEMPLATE("a NaN anywhere in the predictions is reported by every loss path", T, float, double)
{
    Rng rng(23);
    Softmax<T> s;
    const matrix<T> S = s.forward(test::random_matrix<T>(10, 37, rng));
    label_vector y = xt::zeros<std::size_t>({37});
    for (auto& v : y)
        v = rng.below(10);
    const matrix<T> Y = one_hot<T>(y, 10);
    CrossEntropy ce;
    matrix<T> G;
    vector<T> work;
    for (std::size_t j : {std::size_t(3), std::size_t(20), std::size_t(36)}) { // SIMD lanes and the tail
        matrix<T> bad = S;
        bad(y(j), j) = std::numeric_limits<T>::quiet_NaN();
        CHECK_THROWS_AS(ce.value(bad, y), numeric_error);
        CHECK_THROWS_AS(ce.value(bad, Y), numeric_error);
        CHECK_THROWS_AS(ce.softmax_value_and_gradient(bad, y, G, work), numeric_error);
        CHECK_THROWS_AS(ce.softmax_value_and_gradient(bad, Y, G, work), numeric_error);
    }
}

TEST_CASE("CrossEntropy throws numeric_error when the predictions hold NaN")
{
    matrix<double> bad = P;
    bad(0, 0) = std::numeric_limits<double>::quiet_NaN();
    auto msg = test::message_of<numeric_error>([&] { CrossEntropy{}.value(bad, label_vector{0, 1}); });
    CHECK_MESSAGE_CONTAINS(msg, "network output or the targets contain NaN or inf");
}

TEST_CASE("CrossEntropy: a [1, n] matrix of class indices is refused with the fix named")
{
    const matrix<double> idx = {{0, 1}}; // class indices written as a [1, n] matrix
    const auto msg = test::message_of<shape_error>([&] { CrossEntropy{}.value(P, idx); });
    CHECK(msg == "CrossEntropy: targets [1, 2] for 3 classes: class indices go in a 1-D integer label_vector [n] "
                 "(label_vector(xt::cast<std::size_t>(xt::flatten(y)))), one-hot targets in a matrix [3, n]");
    CHECK(is_cross_entropy<CrossEntropy>);
    CHECK(task_of<CrossEntropy> == Task::classification);
}
