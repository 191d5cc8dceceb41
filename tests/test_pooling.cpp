#include <doctest/doctest.h>
#include <mininn/mininn.hpp>

#include <xtensor/xview.hpp>

#include <cmath>
#include <limits>

#include "helpers.hpp"
#include "torch_oracle.hpp"

using namespace mininn;

namespace {
// One 4×4 image, 1..16 row by row, as a column.
matrix<double> ramp(std::size_t h = 4, std::size_t w = 4)
{
    matrix<double> X = xt::zeros<double>({h * w, std::size_t(1)});
    for (std::size_t i = 0; i < h * w; ++i)
        X(i, 0) = double(i + 1);
    return X;
}

template <class Pool, class T>
void check_oracle(Pool pool, const test::OracleCase& c, double tol)
{
    CAPTURE(c.name);
    CAPTURE(c.dtype);
    const matrix<T> X = c.matrix<T>("x");
    const matrix<T>& Y = pool.forward(X);
    REQUIRE(Y.shape() == c.matrix<T>("y").shape());
    CHECK(test::relative_error(Y, c.matrix<T>("y")) < tol);
    CHECK(test::relative_error(pool.backward(c.matrix<T>("g")), c.matrix<T>("dx")) < tol);
    matrix<T> out;
    scratch<T> work;
    pool.infer(X, out, work);
    CHECK(out == pool.forward(X));
    // one image at a time (a served request's path): the same values, column by column
    for (std::size_t j = 0; j < X.shape()[1]; ++j) {
        matrix<T> one;
        pool.infer(xt::eval(xt::view(X, xt::all(), xt::range(j, j + 1))), one, work);
        CHECK(one == xt::eval(xt::view(out, xt::all(), xt::range(j, j + 1))));
    }
}

template <class T>
void check_oracles(double tol)
{
    for (const auto& c : test::oracle_cases("maxpool_"))
        if (c.dtype == (std::is_same_v<T, float> ? "float" : "double"))
            check_oracle<MaxPool2D<T>, T>(MaxPool2D<T>(Shape(c.attr("channels"), c.attr("height"), c.attr("width")),
                                                       c.attr("k"), c.attr("s"), c.attr("p")),
                                          c, tol);
    for (const auto& c : test::oracle_cases("avgpool_"))
        if (c.dtype == (std::is_same_v<T, float> ? "float" : "double"))
            check_oracle<AvgPool2D<T>, T>(AvgPool2D<T>(Shape(c.attr("channels"), c.attr("height"), c.attr("width")),
                                                       c.attr("k"), c.attr("s"), c.attr("p"), c.attr("include") == 1),
                                          c, tol);
}
} // namespace

TEST_CASE("MaxPool2D takes each window's maximum and routes the gradient to it (hand-computed)")
{
    MaxPool2D<double> pool(Shape(1, 4, 4), 2);
    CHECK(pool.name() == "MaxPool2D 1×4×4→1×2×2 (2×2, stride 2)");
    CHECK(pool.forward(ramp()) == matrix<double>{{6}, {8}, {14}, {16}});
    const matrix<double> dX = pool.backward(matrix<double>{{1}, {2}, {3}, {4}});
    matrix<double> want = xt::zeros<double>({16, 1});
    want(5, 0) = 1, want(7, 0) = 2, want(13, 0) = 3, want(15, 0) = 4;
    CHECK(dX == want);

    // overlapping windows (3×3, stride 1) that share a maximum add their gradients there
    MaxPool2D<double> overlap(Shape(1, 4, 4), 3, 1);
    CHECK(overlap.forward(ramp()) == matrix<double>{{11}, {12}, {15}, {16}});
    matrix<double> center = xt::zeros<double>({16, 1});
    center(5, 0) = 100; // the top-left 3×3 block's centre: the maximum of all four windows
    CHECK(overlap.forward(center) == matrix<double>{{100}, {100}, {100}, {100}});
    CHECK(overlap.backward(matrix<double>{{1}, {2}, {3}, {4}})(5, 0) == 10);

    // padding 1 never wins: a window of negatives over the padding still takes a real pixel
    MaxPool2D<double> padded(Shape(1, 2, 2), 2, 2, 1);
    CHECK(padded.forward(matrix<double>{{-1}, {-2}, {-3}, {-4}}) == matrix<double>{{-1}, {-2}, {-3}, {-4}});
}

TEST_CASE("MaxPool2D: the first of equal maxima takes the gradient, and a NaN is a window's maximum")
{
    MaxPool2D<double> pool(Shape(1, 2, 2), 2);
    pool.forward(matrix<double>{{1}, {3}, {3}, {0}});
    CHECK(pool.backward(matrix<double>{{1}}) == matrix<double>{{0}, {1}, {0}, {0}});
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(std::isnan(pool.forward(matrix<double>{{1}, {nan}, {5}, {0}})(0, 0)));
    matrix<double> out;
    scratch<double> work;
    pool.infer(matrix<double>{{1}, {nan}, {5}, {0}}, out, work);
    CHECK(std::isnan(out(0, 0)));
    const double inf = std::numeric_limits<double>::infinity();
    pool.infer(matrix<double>{{-inf}, {-inf}, {-inf}, {-inf}}, out, work);
    CHECK(out(0, 0) == -inf);
}

TEST_CASE("AvgPool2D: the mean of each window, padding counted or not (hand-computed)")
{
    AvgPool2D<double> pool(Shape(1, 4, 4), 2);
    CHECK(pool.forward(ramp()) == matrix<double>{{3.5}, {5.5}, {11.5}, {13.5}});
    CHECK(pool.backward(matrix<double>{{4}, {0}, {0}, {8}})(0, 0) == 1); // dy / 4
    // 3×3 windows, stride 2, padding 1 over 1..16: the corner window holds 1, 2, 5, 6
    AvgPool2D<double> counted(Shape(1, 4, 4), 3, 2, 1, true), real(Shape(1, 4, 4), 3, 2, 1, false);
    CHECK(counted.forward(ramp())(0, 0) == doctest::Approx(14.0 / 9));
    CHECK(real.forward(ramp())(0, 0) == doctest::Approx(14.0 / 4));
    CHECK(real.name() == "AvgPool2D 1×4×4→1×2×2 (3×3, stride 2, padding 1, padding not counted)");
}

TEST_CASE("MaxPool2D and AvgPool2D equal PyTorch 1.13's MaxPool2d and AvgPool2d, float and double")
{
    check_oracles<float>(1e-5);
    check_oracles<double>(1e-10);
}

TEST_CASE("the pools and Flatten pass check_layer, and a Network rebinds them to its scalar type")
{
    Rng rng(6);
    const auto X = test::random_matrix<double>(3 * 7 * 6, 4, rng);
    for (const LayerReport& r :
         {check_layer(MaxPool2D<double>(Shape(3, 7, 6), 3, 2, 1), X),
          check_layer(MaxPool2D<double>(Shape(3, 7, 6), 2), X),
          check_layer(AvgPool2D<double>(Shape(3, 7, 6), 3, 2, 1, false), X),
          check_layer(AvgPool2D<double>(Shape(3, 7, 6), 2, 1), X), check_layer(Flatten<double>(), X)})
        CHECK_MESSAGE(r.passed(), r.str());

    Network net{MaxPool2D(Shape(2, 4, 4), 2), Flatten{}, Dense<double>(8, 3, init::xavier, rng)};
    static_assert(std::is_same_v<std::decay_t<decltype(net.layer<0>())>, MaxPool2D<double>>);
    static_assert(std::is_same_v<std::decay_t<decltype(net.layer<1>())>, Flatten<double>>);
    CHECK(net.output_shape() == Shape(3));
    Network images{AvgPool2D(Shape(2, 4, 4), 2), Flatten{}};
    CHECK(images.output_shape(Shape(2, 4, 4)) == Shape(8)); // after Flatten, a feature count
    // Flatten gives back its input's values, and its gradient is the output's
    Flatten<double> f;
    CHECK(f.forward(X) == X);
    CHECK(f.backward(X) == X);
}

TEST_CASE("the pools and Flatten refuse a wrong input, gradient or window, naming what was wrong")
{
    MaxPool2D<float> pool(Shape(2, 4, 4), 2);
    CHECK_THROWS_WITH_AS(pool.forward(xt::zeros<float>({16, 2})),
                         "MaxPool2D 2×4×4→2×2×2 (2×2, stride 2): expected input [32, n] with n >= 1 (samples are "
                         "columns), got [16, 2]",
                         shape_error);
    CHECK_THROWS_WITH_AS(pool.backward(xt::zeros<float>({8, 2})),
                         "MaxPool2D 2×4×4→2×2×2 (2×2, stride 2): backward() called before forward()", std::logic_error);
    pool.forward(xt::zeros<float>({32, 2}));
    CHECK_THROWS_WITH_AS(pool.backward(xt::zeros<float>({8, 3})),
                         "MaxPool2D 2×4×4→2×2×2 (2×2, stride 2): expected gradient [2×2×2 = 8, n] with n = 2, got "
                         "[8, 3]",
                         shape_error);
    CHECK_THROWS_WITH_AS(MaxPool2D<float>(Shape(1, 4, 4), 2, 2, 2),
                         "MaxPool2D: padding 2 is more than half the kernel 2", std::invalid_argument);
    CHECK_THROWS_WITH_AS(AvgPool2D<float>(Shape(1, 4, 4), 5),
                         "AvgPool2D: a 5×5 window does not fit the image 1×4×4 padded by 0", std::invalid_argument);
    CHECK_THROWS_WITH_AS(AvgPool2D<float>(Shape(0, 4, 4), 2),
                         "AvgPool2D: the input image must be channels × height × width, all positive, got 0×4×4",
                         std::invalid_argument);
    AvgPool2D<float> avg(Shape(1, 2, 2), 2);
    CHECK_THROWS_WITH_AS(avg.backward(xt::zeros<float>({1, 1})),
                         "AvgPool2D 1×2×2→1 (2×2, stride 2): backward() called before forward()", std::logic_error);
    Flatten<float> f;
    CHECK_THROWS_WITH_AS(f.backward(xt::zeros<float>({1, 1})), "Flatten: backward() called before forward()",
                         std::logic_error);
    f.forward(xt::zeros<float>({4, 2}));
    CHECK_THROWS_WITH_AS(f.backward(xt::zeros<float>({4, 1})),
                         "Flatten: expected gradient [4, 2] (samples are columns), got [4, 1]", shape_error);
}
