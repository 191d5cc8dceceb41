#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace mininn;

namespace {
// Binary cross-entropy written as a loss of one's own: the network runs the Sigmoid's own
// backward and the loss's dL/dP, with neither the fused gradient nor the logits.
struct UnfusedBinaryCrossEntropy {
    template <class T, class Y>
    T value(const matrix<T>& P, const Y& y) const
    {
        return BinaryCrossEntropy{}.value(P, y);
    }
    template <class T, class Y>
    void gradient(const matrix<T>& P, const Y& y, matrix<T>& G) const
    {
        BinaryCrossEntropy{}.gradient(P, y, G);
    }
};

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }
} // namespace

TEST_CASE("BinaryCrossEntropy is the batch mean of -(y log p + (1 - y) log(1 - p)) (hand-computed)")
{
    const matrix<double> P = {{0.8, 0.3}};
    const double expected = -(std::log(0.8) + std::log(0.7)) / 2; // 0.28990924...
    CHECK(BinaryCrossEntropy{}.value(P, label_vector{1, 0}) == doctest::Approx(0.2899092476264711).epsilon(1e-14));
    CHECK(BinaryCrossEntropy{}.value(P, matrix<double>{{1, 0}}) == doctest::Approx(expected).epsilon(1e-14));
    // two outputs per sample: the per-sample losses are summed over outputs, then averaged
    const matrix<double> P2 = {{0.8, 0.3}, {0.6, 0.9}};
    const matrix<double> Y2 = {{1, 0}, {0, 1}};
    CHECK(BinaryCrossEntropy{}.value(P2, Y2) ==
          doctest::Approx(-(std::log(0.8) + std::log(0.7) + std::log(0.4) + std::log(0.9)) / 2).epsilon(1e-14));
    // soft targets
    CHECK(BinaryCrossEntropy{}.value(matrix<double>{{0.8}}, matrix<double>{{0.25}}) ==
          doctest::Approx(-(0.25 * std::log(0.8) + 0.75 * std::log(0.2))).epsilon(1e-14));
    CHECK(task_of<BinaryCrossEntropy> == Task::binary);
    CHECK(is_binary_cross_entropy<UnfusedBinaryCrossEntropy> == false);
}

TEST_CASE("BinaryCrossEntropy from the logits equals it from the probabilities, and stays finite at |z| = 1000")
{
    const matrix<double> Z = {{1.5, -0.7, 3.0}, {0.2, -2.0, 0.0}};
    const matrix<double> Y = {{1, 0, 0}, {1, 1, 0}};
    matrix<double> P = Z;
    for (auto& v : P)
        v = sigmoid(v);
    const BinaryCrossEntropy bce;
    CHECK(bce.value_from_logits(Z, Y) == doctest::Approx(bce.value(P, Y)).epsilon(1e-13));
    // -log sigmoid(-1000) = 1000 exactly in double; the clamped form stops at -log(DBL_MIN) = 708
    const matrix<double> Zs = {{1000, -1000}};
    CHECK(bce.value_from_logits(Zs, label_vector{0, 1}) == 1000.0);
    const matrix<float> Zf = {{1000, -1000}};
    CHECK(bce.value_from_logits(Zf, label_vector{0, 1}) == 1000.0f);
    CHECK(std::isfinite(bce.value(matrix<float>{{1, 0}}, label_vector{0, 1})));
    matrix<double> G;
    bce.sigmoid_gradient(matrix<double>{{1.0, 0.0}}, label_vector{0, 1}, G);
    CHECK(G == matrix<double>{{0.5, -0.5}}); // (P - Y) / n
}

TEST_CASE("BinaryCrossEntropy's gradient equals central differences")
{
    Rng rng(4);
    matrix<double> P({2, 5});
    for (auto& v : P)
        v = 0.05 + 0.9 * rng.uniform();
    const matrix<double> Y = {{1, 0, 1, 1, 0}, {0, 0, 1, 0, 1}};
    CHECK(test::loss_gradient_error(BinaryCrossEntropy{}, P, Y) < 1e-7);
    const matrix<double> P1 = xt::view(P, xt::range(0, 1), xt::all());
    CHECK(test::loss_gradient_error(BinaryCrossEntropy{}, P1, label_vector{1, 0, 0, 1, 1}) < 1e-7);
    // wrong labels give a different gradient: the check sees it
    matrix<double> G1, G2;
    BinaryCrossEntropy{}.gradient(P1, label_vector{1, 0, 0, 1, 1}, G1);
    BinaryCrossEntropy{}.gradient(P1, label_vector{0, 0, 0, 1, 1}, G2);
    CHECK(G1(0, 0) != doctest::Approx(G2(0, 0)));
}

TEST_CASE("Sigmoid + BinaryCrossEntropy: the fused gradient equals the unfused chain, and passes the gradient check")
{
    Rng rng(9);
    Network fused{Dense<double>(3, 4, init::normal, rng), Tanh{}, Dense<double>(4, 2, init::normal, rng), Sigmoid{}};
    auto unfused = fused;
    const auto X = test::random_matrix<double>(3, 8, rng);
    matrix<double> Y({2, 8});
    for (auto& v : Y)
        v = static_cast<double>(rng.below(2));
    const double a = fused.compute_gradients(BinaryCrossEntropy{}, X, Y, true);
    const double b = unfused.compute_gradients(UnfusedBinaryCrossEntropy{}, X, Y, true);
    CHECK(a == doctest::Approx(b).epsilon(1e-13));
    CHECK(xt::allclose(fused.layer<2>().weight_grad(), unfused.layer<2>().weight_grad(), 1e-12, 1e-15));
    CHECK(xt::allclose(fused.layer<2>().bias_grad(), unfused.layer<2>().bias_grad(), 1e-12, 1e-15));
    CHECK(xt::allclose(fused.layer<0>().weight_grad(), unfused.layer<0>().weight_grad(), 1e-12, 1e-15));
    CHECK(xt::allclose(fused.input_grad(), unfused.input_grad(), 1e-12, 1e-15));
    CHECK(fused.output() == unfused.output());
    const auto report = check_gradients(fused, BinaryCrossEntropy{}, X, Y);
    CHECK_MESSAGE(report.passed(), report.str());
    // one output with 0/1 labels
    Network one{Dense<double>(3, 1, init::normal, rng), Sigmoid{}};
    const auto r1 = check_gradients(one, BinaryCrossEntropy{}, X, label_vector{0, 1, 1, 0, 1, 0, 0, 1});
    CHECK_MESSAGE(r1.passed(), r1.str());
    // A loss derived from BinaryCrossEntropy keeps the fused path (a trait, not the exact type).
    struct Derived : BinaryCrossEntropy {};
    auto derived = unfused;
    CHECK(derived.compute_gradients(Derived{}, X, Y) == a);
    CHECK(derived.layer<0>().weight_grad() == fused.layer<0>().weight_grad());
}

TEST_CASE("Logits of +-1000 give a finite loss and finite, correct gradients")
{
    Rng rng(2);
    Network net{Dense<double>(2, 1, init::normal, rng), Sigmoid{}};
    net.layer<0>().weights() = matrix<double>{{1000, 0}};
    net.layer<0>().bias() = vector<double>{0};
    const matrix<double> X = {{1, -1}, {0, 0}}; // logits 1000 and -1000
    const double loss = net.compute_gradients(BinaryCrossEntropy{}, X, label_vector{0, 1}, true);
    CHECK(loss == 1000.0); // both samples maximally wrong
    // dL/dz = (p - y) / n = (1 - 0) / 2 and (0 - 1) / 2; dL/dW = sum_j dz_j x_j = 0.5 + 0.5
    CHECK(net.layer<0>().weight_grad()(0, 0) == 1.0);
    CHECK(net.layer<0>().bias_grad()(0) == 0.0);
    CHECK(xt::all(xt::isfinite(net.input_grad())));
    CHECK(net.loss_value(BinaryCrossEntropy{}, X, label_vector{1, 0}) == 0.0);

    Network netf{Dense<float>(2, 1, init::normal, rng), Sigmoid{}};
    netf.layer<0>().weights() = matrix<float>{{1000, 0}};
    const float lf = netf.compute_gradients(BinaryCrossEntropy{}, matrix<float>{{1, -1}, {0, 0}}, label_vector{0, 1});
    CHECK(std::isfinite(lf));
    CHECK(xt::all(xt::isfinite(netf.layer<0>().weight_grad())));
}

TEST_CASE("BinaryCrossEntropy errors name what is wrong")
{
    const matrix<double> P = {{0.5, 0.5, 0.5}};
    auto msg = test::message_of<label_error>([&] { BinaryCrossEntropy{}.value(P, label_vector{0, 2, 1}); });
    CHECK(msg == "BinaryCrossEntropy: label 2 of sample 1 is not 0 or 1");
    msg = test::message_of<label_error>([&] { BinaryCrossEntropy{}.value(P, matrix<double>{{0, 1, 1.5}}); });
    CHECK(msg == "BinaryCrossEntropy: target 1.5 of sample 2, output 0 is outside [0, 1]");
    msg = test::message_of<label_error>(
        [&] { BinaryCrossEntropy{}.value(P, matrix<double>{{0, std::nan(""), 1}}); });
    CHECK(msg == "BinaryCrossEntropy: target nan of sample 1, output 0 is outside [0, 1]");
    msg = test::message_of<shape_error>([&] { BinaryCrossEntropy{}.value(P, label_vector{0, 1}); });
    CHECK(msg == "BinaryCrossEntropy: 2 labels for 3 samples (samples are columns)");
    const matrix<double> P2 = {{0.5, 0.5}, {0.5, 0.5}};
    msg = test::message_of<shape_error>([&] { BinaryCrossEntropy{}.value(P2, label_vector{0, 1}); });
    CHECK(msg == "BinaryCrossEntropy: integer labels [n] are for one output, but the predictions are [2, 2]; "
                 "pass a 0/1 matrix [2, n] for several outputs");
    msg = test::message_of<shape_error>([&] { BinaryCrossEntropy{}.value(P2, matrix<double>{{0, 1}}); });
    CHECK(msg == "BinaryCrossEntropy: targets [1, 2] do not match predictions [2, 2] (expected [outputs, samples], "
                 "samples are columns)");
    msg = test::message_of<numeric_error>([&] { BinaryCrossEntropy{}.value_from_logits(matrix<double>{{std::nan("")}},
                                                                                        label_vector{1}); });
    CHECK(msg == "BinaryCrossEntropy: the loss is nan: the network output or the targets contain NaN or inf");
}

TEST_CASE("fit() on a binary problem: accuracy, predict at 0.5 and predict_proba")
{
    // two Gaussian blobs in 2-D, labels 0/1
    Rng rng(12);
    const std::size_t n = 200;
    const auto [X, y] = test::blobs<float>(n, rng, {{-1.5, 1.5}, {1.5, -1.5}}, 1.0);
    Network net{Dense<float>(2, 8, init::xavier, rng), ReLU{}, Dense<float>(8, 1, init::xavier, rng), Sigmoid{}};
    Adam<float> opt(0.01f);
    FitOptions o;
    o.epochs = 30;
    o.batch_size = 20;
    o.verbose = Verbosity::silent;
    const History h = fit(net, BinaryCrossEntropy{}, opt, X, y, o);
    CHECK(h.epochs.back().accuracy > 0.95);
    CHECK(std::isnan(h.epochs.back().mse));
    const Scores s = evaluate(net, BinaryCrossEntropy{}, X, y);
    CHECK(s.accuracy > 0.95);
    const label_vector pred = net.predict(X);
    CHECK(accuracy(y, pred) == doctest::Approx(s.accuracy));
    const matrix<float> proba = net.predict_proba(X);
    REQUIRE(proba.shape()[0] == 1);
    for (std::size_t j = 0; j < n; ++j)
        CHECK(pred(j) == (proba(0, j) >= 0.5f ? 1u : 0u));
    // the same labels as a 0/1 matrix train the same model
    matrix<float> Y01({1, n});
    for (std::size_t j = 0; j < n; ++j)
        Y01(0, j) = static_cast<float>(y(j));
    Rng ra(5), rb(5);
    Network a{Dense<float>(2, 8, init::xavier, ra), ReLU{}, Dense<float>(8, 1, init::xavier, ra), Sigmoid{}};
    Network b{Dense<float>(2, 8, init::xavier, rb), ReLU{}, Dense<float>(8, 1, init::xavier, rb), Sigmoid{}};
    Adam<float> oa(0.01f), ob(0.01f);
    o.epochs = 3;
    const History ha = fit(a, BinaryCrossEntropy{}, oa, X, y, o);
    const History hb = fit(b, BinaryCrossEntropy{}, ob, X, Y01, o);
    for (std::size_t e = 0; e < 3; ++e) {
        CHECK(ha.epochs[e].loss == hb.epochs[e].loss);
        CHECK(ha.epochs[e].accuracy == hb.epochs[e].accuracy);
    }
}

TEST_CASE("predict refuses a one-output network without a final Sigmoid; Softmax probabilities sum to 1")
{
    Rng rng(1);
    Network reg{Dense<double>(2, 1, init::normal, rng)};
    const auto msg = test::message_of<std::logic_error>([&] { reg.predict(matrix<double>{{1}, {2}}); });
    CHECK(msg == "Network::predict: the network has one output and does not end in Sigmoid, so there is no class to "
                 "pick; use infer() for a real-valued output");
    Network cls{Dense<double>(2, 3, init::normal, rng), Softmax{}};
    const matrix<double> P = cls.predict_proba(matrix<double>{{1, 0}, {2, -1}});
    CHECK(P.shape()[0] == 3);
    for (std::size_t j = 0; j < 2; ++j)
        CHECK(P(0, j) + P(1, j) + P(2, j) == doctest::Approx(1.0));
}
