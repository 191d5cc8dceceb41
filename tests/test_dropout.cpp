#include <cmath>
#include <stdexcept>

#include "helpers.hpp"

using namespace mininn;

TEST_CASE("Dropout in training mode drops a fraction p and scales the rest by 1 / (1 - p)")
{
    Dropout<double> d(0.3, 7);
    const matrix<double> X = xt::ones<double>({100, 1000});
    const matrix<double>& Y = d.forward(X);
    std::size_t zeros = 0;
    double sum = 0;
    for (double v : Y) {
        zeros += v == 0.0;
        CHECK_MESSAGE((v == 0.0 || v == 1.0 / 0.7), "value " << v);
        sum += v;
    }
    // 1e5 Bernoulli(0.3) draws: standard deviation 0.00145 on the fraction
    CHECK(static_cast<double>(zeros) / 1e5 == doctest::Approx(0.3).epsilon(0.02));
    CHECK(sum / 1e5 == doctest::Approx(1.0).epsilon(0.01)); // the expected output is the input
    // backward multiplies by the same mask
    const matrix<double> G = 2.0 * xt::ones<double>({100, 1000});
    const matrix<double>& dX = d.backward(G);
    CHECK(dX == 2.0 * d.mask());
    // a new forward draws a new mask
    const matrix<double> first = Y;
    CHECK_FALSE(matrix<double>(d.forward(X)) == first);
}

TEST_CASE("Dropout is the identity in evaluation mode, and p = 0 drops nothing")
{
    Rng rng(1);
    const auto X = test::random_matrix<float>(5, 9, rng);
    Dropout<float> d(0.5, 3);
    d.set_training(false);
    CHECK(d.forward(X) == X);
    const auto G = test::random_matrix<float>(5, 9, rng);
    CHECK(d.backward(G) == G);
    Dropout<float> none(0.0);
    CHECK(none.forward(X) == X);
}

TEST_CASE("Dropout masks are bit-identical for the same seed; a frozen mask is reused")
{
    const matrix<float> X = xt::ones<float>({8, 33});
    Dropout<float> a(0.5, 42), b(0.5, 42), c(0.5, 43);
    CHECK(a.forward(X) == b.forward(X));
    CHECK_FALSE(matrix<float>(a.forward(X)) == c.forward(X));
    a.set_frozen(true);
    const matrix<float> m = a.mask();
    a.forward(X);
    CHECK(a.mask() == m);
    const auto msg = test::message_of<shape_error>([&] { a.forward(matrix<float>(xt::ones<float>({8, 2}))); });
    CHECK(msg == "Dropout(0.5): frozen mask [8, 33] does not fit input [8, 2]");
}

TEST_CASE("Dropout passes check_layer, and a network with Dropout passes the gradient check")
{
    Rng rng(4);
    const auto X = test::random_matrix<double>(6, 10, rng);
    const LayerReport r = check_layer(Dropout<double>(0.4, 5), X);
    CHECK_MESSAGE(r.passed(), r.str());
    Network net{Dense<double>(6, 8, init::normal, rng), ReLU{}, Dropout(0.5, 9), Dense<double>(8, 3, init::normal, rng),
                Softmax{}};
    const auto y = test::random_labels(10, 3, rng);
    const auto report = check_gradients(net, CrossEntropy{}, X, y);
    CHECK_MESSAGE(report.passed(), report.str());
    // The masks are thawed afterwards: the next pass draws a new one.
    const matrix<double> mask = net.layer<2>().mask();
    net.forward(X);
    CHECK_FALSE(net.layer<2>().mask() == mask);
}

TEST_CASE("Network train() and eval(): predict and evaluate run in evaluation mode and restore the mode")
{
    Rng rng(6);
    Dense<double> d1(4, 6, init::normal, rng), d2(6, 3, init::normal, rng);
    Network with{d1, ReLU{}, Dropout(0.5, 1), d2, Softmax{}};
    Network without{d1, ReLU{}, d2, Softmax{}};
    const auto X = test::random_matrix<double>(4, 20, rng);
    CHECK(with.training());
    CHECK_FALSE(matrix<double>(with.forward(X)) == without.forward(X)); // masks in training mode
    with.eval();
    CHECK_FALSE(with.training());
    CHECK(xt::allclose(with.forward(X), without.forward(X), 1e-15, 0));
    with.train();
    CHECK(with.predict(X) == without.predict(X));
    CHECK(with.training()); // restored
    CHECK(xt::allclose(with.predict_proba(X), without.predict_proba(X), 1e-15, 0));
    const auto y = test::random_labels(20, 3, rng);
    CHECK(evaluate(with, CrossEntropy{}, X, y).loss == doctest::Approx(evaluate(without, CrossEntropy{}, X, y).loss));
    CHECK(with.training());
    // A copy keeps the mode.
    with.eval();
    auto copy = with;
    CHECK_FALSE(copy.training());
}

TEST_CASE("fit() trains with Dropout in training mode and validates in evaluation mode, bit-identically on rerun")
{
    Rng data(8);
    const auto X = test::random_matrix<double>(5, 120, data);
    label_vector y = xt::zeros<std::size_t>({120});
    for (std::size_t j = 0; j < 120; ++j)
        y(j) = X(0, j) + X(1, j) > 0 ? 1 : 0;
    auto make = [] {
        Rng rng(3);
        return Network{Dense<double>(5, 16, init::he, rng), ReLU{}, Dropout(0.3, 11),
                       Dense<double>(16, 2, init::xavier, rng), Softmax{}};
    };
    auto a = make(), b = make();
    Adam<double> oa(0.01), ob(0.01);
    FitOptions o;
    o.epochs = 15;
    o.batch_size = 16;
    o.validation_split = 0.25;
    o.verbose = Verbosity::silent;
    b.eval(); // fit trains in training mode whatever the mode before, and restores that mode
    const History ha = fit(a, CrossEntropy{}, oa, X, y, o);
    const History hb = fit(b, CrossEntropy{}, ob, X, y, o);
    CHECK(a.layer<0>().weights() == b.layer<0>().weights());
    CHECK(ha.epochs.back().loss == hb.epochs.back().loss);
    CHECK(ha.epochs.back().val_accuracy > 0.85);
    CHECK(a.training());
    CHECK_FALSE(b.training());
    // The validation figures are evaluation-mode figures: evaluating the same held-out
    // columns again gives the last epoch's val_loss exactly.
    Rng split(o.seed);
    const auto perm = permutation(120, split);
    const std::vector<std::size_t> hold(perm.end() - 30, perm.end());
    const Scores v = evaluate(a, CrossEntropy{}, take_columns(X, hold), take(y, hold), 16);
    CHECK(v.loss == ha.epochs.back().val_loss);
    // A Dropout before the output layer stops the fused head: the layers run one by one, so
    // backward() after compute_gradients() works (after the fused head it throws).
    a.compute_gradients(CrossEntropy{}, X, y);
    CHECK_NOTHROW(a.backward(a.output()));
}

TEST_CASE("Dropout refuses a probability outside [0, 1) and a backward before forward")
{
    auto msg = test::message_of<std::invalid_argument>([] { Dropout<float>(1.0); });
    CHECK(msg == "Dropout: the drop probability must be in [0, 1), got 1");
    CHECK_THROWS_AS(Dropout<float>(-0.1), std::invalid_argument);
    Dropout<float> d(0.5);
    msg = test::message_of<std::logic_error>([&] { d.backward(matrix<float>(xt::ones<float>({2, 2}))); });
    CHECK(msg == "Dropout(0.5): backward() called before forward()");
}

TEST_CASE("Dropout infer passes its input through in either mode, and a network's infer ignores the network's mode")
{
    Rng rng(9);
    const auto X = test::random_matrix<double>(4, 6, rng);
    const Dropout<double> d(0.5, 1);
    CHECK(d.training());
    matrix<double> out;
    scratch<double> work;
    d.infer(X, out, work);
    CHECK(out == X);
    Dense<double> d1(4, 6, init::normal, rng), d2(6, 3, init::normal, rng);
    Network with{d1, ReLU{}, Dropout(0.5, 1), d2, Softmax{}};
    const Network without{d1, ReLU{}, d2, Softmax{}};
    CHECK(with.training());
    CHECK(with.infer(X) == without.infer(X));
    CHECK(with.training());
}
