// Standardizer: hand-computed statistics, the transform of other data, and its errors.
#include <cmath>

#include "helpers.hpp"

using namespace mininn;

TEST_CASE("Standardizer learns each feature's mean and population deviation, and applies them to other data")
{
    const matrix<double> X = {{1, 2, 3}, {5, 5, 5}, {-10, 0, 10}};
    Standardizer<double> s;
    const matrix<double> Z = s.fit_transform(X);
    CHECK(s.mean() == std::vector<double>{2, 5, 0});
    CHECK(s.scale()[0] == doctest::Approx(std::sqrt(2.0 / 3.0)).epsilon(1e-15));
    CHECK(s.scale()[1] == 1.0); // a constant feature is left at scale 1, as scikit-learn does
    CHECK(s.scale()[2] == doctest::Approx(std::sqrt(200.0 / 3.0)).epsilon(1e-15));
    CHECK(Z(0, 0) == doctest::Approx(-1 / std::sqrt(2.0 / 3.0)).epsilon(1e-15));
    CHECK(Z(1, 2) == 0.0);
    // Other data uses the training statistics, not its own.
    const matrix<double> T = s.transform(matrix<double>{{2, 4}, {6, 5}, {0, -10}});
    CHECK(T(0, 0) == 0.0);
    CHECK(T(0, 1) == doctest::Approx(2 / std::sqrt(2.0 / 3.0)).epsilon(1e-15));
    CHECK(T(1, 0) == 1.0);
    CHECK(T(2, 1) == doctest::Approx(-10 / std::sqrt(200.0 / 3.0)).epsilon(1e-15));
    // Features far from zero keep their precision (two passes, not E[x^2] - E[x]^2).
    Standardizer<float> f;
    f.fit(matrix<float>{{1e6f + 1, 1e6f + 2, 1e6f + 3}});
    CHECK(f.scale()[0] == doctest::Approx(std::sqrt(2.0 / 3.0)).epsilon(1e-6));
}

TEST_CASE("Standardizer errors")
{
    Standardizer<double> s;
    CHECK(test::message_of<std::logic_error>([&] { s.transform(matrix<double>({2, 3})); }) ==
          "Standardizer::transform called before fit");
    CHECK(test::message_of<shape_error>([&] { s.fit(matrix<double>({2, 0})); }) ==
          "Standardizer::fit: [2, 0] has no samples");
    s.fit(matrix<double>{{1, 2}, {3, 4}});
    CHECK(test::message_of<shape_error>([&] { s.transform(matrix<double>({3, 2})); }) ==
          "Standardizer::transform: expected [2, n] (samples are columns), got [3, 2]");
    CHECK_MESSAGE_CONTAINS(test::message_of<numeric_error>([&] { s.fit(matrix<double>{{1, NAN}}); }),
                           "feature 0 is not finite");
}
