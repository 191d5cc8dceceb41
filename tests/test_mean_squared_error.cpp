#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace mininn;

TEST_CASE("MeanSquaredError is half the batch mean of the squared error norm (hand-computed)")
{
    const matrix<double> out = {{1, 2}, {3, 5}}; // [k = 2, n = 2]
    const matrix<double> Y = {{0, 2}, {1, 1}};
    // errors {1, 0}, {2, 4}: squared sum 21, over 2 n = 4
    CHECK(MeanSquaredError{}.value(out, Y) == doctest::Approx(5.25).epsilon(1e-15));
    matrix<double> G;
    MeanSquaredError{}.gradient(out, Y, G);
    const matrix<double> expected = {{0.5, 0}, {1, 2}}; // (out - Y) / n
    CHECK(G == expected);
    CHECK(task_of<MeanSquaredError> == Task::regression);
}

TEST_CASE("MeanSquaredError's gradient equals central differences, and a wrong one would not")
{
    Rng rng(3);
    const auto out = test::random_matrix<double>(3, 7, rng);
    const auto Y = test::random_matrix<double>(3, 7, rng);
    CHECK(test::loss_gradient_error(MeanSquaredError{}, out, Y) < 1e-8);
    // The check is not vacuous: the gradient of the un-halved loss is off by a factor of 2.
    struct Doubled {
        double value(const matrix<double>& P, const matrix<double>& y) const { return 2 * MeanSquaredError{}.value(P, y); }
        void gradient(const matrix<double>& P, const matrix<double>& y, matrix<double>& G) const
        {
            MeanSquaredError{}.gradient(P, y, G);
        }
    };
    CHECK(test::loss_gradient_error(Doubled{}, out, Y) > 0.3);
}

TEST_CASE("MeanSquaredError through a network passes the gradient check, float and double")
{
    Rng rng(5);
    Network net{Dense<double>(3, 5, init::normal, rng), Tanh{}, Dense<double>(5, 2, init::normal, rng)};
    const auto X = test::random_matrix<double>(3, 6, rng);
    const auto Y = test::random_matrix<double>(2, 6, rng);
    const auto report = check_gradients(net, MeanSquaredError{}, X, Y);
    CHECK_MESSAGE(report.passed(), report.str());
    // Dense layers alone: the loss is the whole gradient path.
    Network lin{Dense<double>(3, 1, init::normal, rng)};
    const matrix<double> y1 = xt::view(Y, xt::range(0, 1), xt::all());
    CHECK(check_gradients(lin, MeanSquaredError{}, X, y1).passed());

    Network netf{Dense<float>(3, 4, init::xavier, rng), ReLU{}, Dense<float>(4, 2, init::xavier, rng)};
    GradientCheckOptions o;
    o.step = 1e-2;
    o.tolerance = 2e-2;
    const auto rf = check_gradients(netf, MeanSquaredError{}, matrix<float>(xt::cast<float>(X)),
                                    matrix<float>(xt::cast<float>(Y)), o);
    CHECK_MESSAGE(rf.passed(), rf.str());
}

TEST_CASE("MeanSquaredError errors name what is wrong")
{
    const matrix<double> out = {{1, 2, 3}};
    auto msg = test::message_of<shape_error>([&] { MeanSquaredError{}.value(out, matrix<double>{{1, 2}}); });
    CHECK(msg == "MeanSquaredError: targets [1, 2] do not match predictions [1, 3] (expected [outputs, samples], "
                 "samples are columns)");
    msg = test::message_of<shape_error>([&] {
        matrix<double> G;
        MeanSquaredError{}.gradient(out, matrix<double>{{1}, {2}, {3}}, G);
    });
    CHECK_MESSAGE_CONTAINS(msg, "targets [3, 1] do not match predictions [1, 3]");
    msg = test::message_of<numeric_error>(
        [&] { MeanSquaredError{}.value(out, matrix<double>{{1, std::nan(""), 3}}); });
    CHECK(msg == "MeanSquaredError: the loss is nan: the network output or the targets contain NaN or inf");
    Rng rng(1);
    Network net{Dense<double>(2, 1, init::normal, rng)};
    msg = test::message_of<shape_error>(
        [&] { net.compute_gradients(MeanSquaredError{}, matrix<double>{{1, 2}, {3, 4}}, matrix<double>{{1, 2, 3}}); });
    CHECK_MESSAGE_CONTAINS(msg, "MeanSquaredError: targets [1, 3] do not match predictions [1, 2]");
}

TEST_CASE("fit() with MeanSquaredError fits y = sin(x) on [-pi, pi] to MSE < 1e-3")
{
    const std::size_t n = 256;
    matrix<double> X({1, n}), Y({1, n});
    for (std::size_t j = 0; j < n; ++j) {
        X(0, j) = -M_PI + 2 * M_PI * static_cast<double>(j) / static_cast<double>(n - 1);
        Y(0, j) = std::sin(X(0, j));
    }
    Rng rng(42);
    Network net{Dense<double>(1, 32, init::xavier, rng), Tanh{}, Dense<double>(32, 1, init::xavier, rng)};
    Adam<double> opt(0.01);
    FitOptions o;
    o.epochs = 300;
    o.batch_size = 32;
    o.verbose = Verbosity::silent;
    const History h = fit(net, MeanSquaredError{}, opt, X, Y, o);
    const Scores s = evaluate(net, MeanSquaredError{}, X, Y);
    MESSAGE("sin(x): mse " << s.mse << ", r2 " << s.r2 << " after " << h.epochs.size() << " epochs");
    CHECK(s.mse < 1e-3);
    CHECK(s.r2 > 0.998);
    CHECK(s.loss == doctest::Approx(s.mse / 2).epsilon(1e-12)); // the loss is half the MSE for one output
    CHECK(std::isnan(s.accuracy));
    // The history's regression metrics, and the same figures as the metric functions.
    const EpochLog& last = h.epochs.back();
    CHECK(std::isnan(last.accuracy));
    CHECK(last.mse < 2e-3);
    CHECK(last.r2 > 0.99);
    CHECK(last.mae > 0);
    const matrix<double> pred = net.forward(X);
    CHECK(s.mse == doctest::Approx(mean_squared_error(Y, pred)).epsilon(1e-12));
    CHECK(s.mae == doctest::Approx(mean_absolute_error(Y, pred)).epsilon(1e-12));
    CHECK(s.r2 == doctest::Approx(r2_score(Y, pred)).epsilon(1e-12));
    // evaluate in chunks gives the same figures
    const Scores c = evaluate(net, MeanSquaredError{}, X, Y, 50);
    CHECK(c.mse == doctest::Approx(s.mse).epsilon(1e-12));
    CHECK(c.r2 == doctest::Approx(s.r2).epsilon(1e-12));
    CHECK(c.loss == doctest::Approx(s.loss).epsilon(1e-12));
}

TEST_CASE("fit() with several real targets reports validation metrics, and handed-over targets train the same")
{
    Rng rng(8);
    const auto X = test::random_matrix<float>(4, 200, rng);
    const matrix<float> W = {{1, -2, 0.5, 0}, {0, 1, 1, -1}};
    matrix<float> Y = xt::zeros<float>({2, 200});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t c = 0; c < 4; ++c)
            for (std::size_t j = 0; j < 200; ++j)
                Y(i, j) += W(i, c) * X(c, j);
    for (std::size_t j = 0; j < 200; ++j)
        Y(0, j) += 5; // targets whose mean is far from 0: R^2 must centre them
    Network a{Dense<float>(4, 2, init::xavier, rng)};
    auto b = a;
    GD<float> ga(0.05f), gb(0.05f);
    FitOptions o;
    o.epochs = 60;
    o.batch_size = 16;
    o.validation_split = 0.25;
    o.verbose = Verbosity::silent;
    const History ha = fit(a, MeanSquaredError{}, ga, X, Y, o);
    auto Xc = X;
    auto Yc = Y;
    const History hb = fit(b, MeanSquaredError{}, gb, std::move(Xc), std::move(Yc), o);
    REQUIRE(ha.epochs.size() == 60);
    const EpochLog& e = ha.epochs.back();
    CHECK(e.val_mse < 1e-3); // a linear map, learnt
    CHECK(e.val_r2 > 0.999);
    CHECK(std::isnan(e.val_accuracy));
    for (std::size_t k = 0; k < 60; ++k)
        CHECK(ha.epochs[k].loss == hb.epochs[k].loss);
    CHECK(a.layer<0>().weights() == b.layer<0>().weights());
    // An untrained network, whose R^2 is far from 1, so each metric's formula shows.
    Network c{Dense<float>(4, 2, init::xavier, rng)};
    const Scores sa = evaluate(c, MeanSquaredError{}, X, Y, 64);
    const matrix<float> pred = c.forward(X);
    CHECK(sa.r2 < 0.5);
    CHECK(sa.r2 == doctest::Approx(r2_score(Y, pred)).epsilon(1e-6));
    CHECK(sa.mse == doctest::Approx(mean_squared_error(Y, pred)).epsilon(1e-6));
    CHECK(sa.mae == doctest::Approx(mean_absolute_error(Y, pred)).epsilon(1e-6));
}
