// BatchNorm (over features and over channels) and LayerNorm: hand-computed values, PyTorch
// 1.13 as an oracle (outputs, gradients and running statistics over several steps), numeric
// gradients, errors, and the layers inside a Network: training, save and load, checkpoints.
#include <doctest/doctest.h>
#include <mininn/mininn.hpp>

#include <cmath>
#include <cstdio>
#include <string>

#include "helpers.hpp"
#include "torch_oracle.hpp"

using namespace mininn;

namespace {
template <class T>
void check_step(BatchNorm<T>& bn, const test::OracleCase& c, const std::string& s, double tol)
{
    CAPTURE(s);
    const matrix<T>& Y = bn.forward(c.matrix<T>("x" + s));
    REQUIRE(Y.shape() == c.matrix<T>("y" + s).shape());
    CHECK(test::relative_error(Y, c.matrix<T>("y" + s)) < tol);
    const matrix<T> dX = bn.backward(c.matrix<T>("g" + s));
    CHECK(test::relative_error(dX, c.matrix<T>("dx" + s)) < tol);
    CHECK(test::relative_error(bn.gamma_grad(), c.vector<T>("dgamma" + s)) < tol);
    CHECK(test::relative_error(bn.beta_grad(), c.vector<T>("dbeta" + s)) < tol);
}

template <class T>
void check_oracles(double tol)
{
    for (const auto& c : test::oracle_cases("batchnorm")) {
        if (c.dtype != (std::is_same_v<T, float> ? "float" : "double"))
            continue;
        CAPTURE(c.name);
        BatchNorm<T> bn(Shape(c.attr("channels"), c.attr("height"), c.attr("width")),
                        {c.real("eps"), c.real("momentum")});
        bn.gamma() = c.vector<T>("gamma");
        bn.beta() = c.vector<T>("beta");
        for (const char* s : {"0", "1", "2"})
            check_step(bn, c, s, tol);
        CHECK(test::relative_error(bn.running_mean(), c.vector<T>("running_mean")) < tol);
        CHECK(test::relative_error(bn.running_var(), c.vector<T>("running_var")) < tol);
        bn.set_training(false);
        check_step(bn, c, "e", tol);
        CHECK(test::relative_error(bn.running_var(), c.vector<T>("running_var")) < tol); // not updated in eval
    }
    for (const auto& c : test::oracle_cases("layernorm")) {
        if (c.dtype != (std::is_same_v<T, float> ? "float" : "double"))
            continue;
        CAPTURE(c.name);
        LayerNorm<T> ln(Shape(c.attr("channels"), c.attr("height"), c.attr("width")), c.real("eps"));
        ln.gamma() = c.vector<T>("gamma");
        ln.beta() = c.vector<T>("beta");
        const matrix<T> X = c.matrix<T>("x");
        const matrix<T>& Y = ln.forward(X);
        CHECK(test::relative_error(Y, c.matrix<T>("y")) < tol);
        CHECK(test::relative_error(ln.backward(c.matrix<T>("g")), c.matrix<T>("dx")) < tol);
        CHECK(test::relative_error(ln.gamma_grad(), c.vector<T>("dgamma")) < tol);
        CHECK(test::relative_error(ln.beta_grad(), c.vector<T>("dbeta")) < tol);
        matrix<T> out;
        scratch<T> work;
        ln.infer(X, out, work);
        CHECK(out == ln.forward(X));
    }
}

// Two features over 4 samples: feature 0 is 1, 2, 3, 6 (mean 3, biased variance 3.5).
matrix<double> two_features()
{
    return {{1, 2, 3, 6}, {-1, -1, 1, 1}};
}
} // namespace

TEST_CASE("BatchNorm over features: batch statistics, running statistics and evaluation mode (hand-computed)")
{
    BatchNorm<double> bn(Shape(2));
    bn.gamma() = vector<double>{2, 1};
    bn.beta() = vector<double>{1, 0};
    const matrix<double>& Y = bn.forward(two_features());
    const double s = std::sqrt(3.5 + 1e-5);
    CHECK(Y(0, 0) == doctest::Approx(2 * (1 - 3) / s + 1).epsilon(1e-14));
    CHECK(Y(0, 3) == doctest::Approx(2 * (6 - 3) / s + 1).epsilon(1e-14));
    CHECK(Y(1, 0) == doctest::Approx(-1 / std::sqrt(1 + 1e-5)).epsilon(1e-14));
    // running_mean = 0.9 · 0 + 0.1 · 3; running_var = 0.9 · 1 + 0.1 · 3.5 · 4/3 (unbiased)
    CHECK(bn.running_mean()(0) == doctest::Approx(0.3).epsilon(1e-14));
    CHECK(bn.running_var()(0) == doctest::Approx(0.9 + 0.1 * 3.5 * 4 / 3).epsilon(1e-14));
    CHECK(bn.running_mean()(1) == doctest::Approx(0).epsilon(1e-14));
    CHECK(bn.running_var()(1) == doctest::Approx(0.9 + 0.1 * 4.0 / 3).epsilon(1e-14));
    // the gradient of sum(Y): dbeta = 4, dgamma = sum xhat = 0, and dX = 0 (a shift of all
    // of a channel's inputs changes nothing)
    const matrix<double> dX = bn.backward(xt::ones<double>({2, 4}));
    CHECK(bn.beta_grad()(0) == 4);
    CHECK(std::abs(bn.gamma_grad()(0)) < 1e-14);
    CHECK(xt::amax(xt::abs(dX))() < 1e-14);

    bn.set_training(false); // y = gamma (x - 0.3) / sqrt(var + eps) + beta
    const double rv = 0.9 + 0.1 * 3.5 * 4 / 3;
    const matrix<double>& E = bn.forward(two_features());
    CHECK(E(0, 1) == doctest::Approx(2 * (2 - 0.3) / std::sqrt(rv + 1e-5) + 1).epsilon(1e-14));
    CHECK(bn.running_mean()(0) == doctest::Approx(0.3).epsilon(1e-14));
    const matrix<double> dE = bn.backward(xt::ones<double>({2, 4})); // dX = gamma / sqrt(var + eps)
    CHECK(dE(0, 2) == doctest::Approx(2 / std::sqrt(rv + 1e-5)).epsilon(1e-14));
    matrix<double> out;
    scratch<double> work;
    bn.infer(two_features(), out, work);
    CHECK(out == E);
}

TEST_CASE("LayerNorm normalizes each sample (hand-computed)")
{
    LayerNorm<double> ln(Shape(2), 1e-5);
    ln.gamma() = vector<double>{3, 1};
    ln.beta() = vector<double>{0, 0.5};
    // column 0 is (1, -1): mean 0, variance 1; column 2 is (3, 1): mean 2, variance 1
    const matrix<double>& Y = ln.forward(two_features());
    const double s = std::sqrt(1 + 1e-5);
    CHECK(Y(0, 0) == doctest::Approx(3 / s).epsilon(1e-14));
    CHECK(Y(1, 0) == doctest::Approx(-1 / s + 0.5).epsilon(1e-14));
    CHECK(Y(0, 2) == doctest::Approx(3 / s).epsilon(1e-14));
    CHECK(Y(1, 3) == doctest::Approx((1 - 3.5) / std::sqrt(6.25 + 1e-5) + 0.5).epsilon(1e-14)); // (6, 1): sd 2.5
}

TEST_CASE("BatchNorm and LayerNorm equal PyTorch 1.13: outputs, gradients and running statistics, float and double")
{
    check_oracles<float>(1e-5);
    check_oracles<double>(1e-10);
}

TEST_CASE("BatchNorm and LayerNorm pass check_layer, in training and in evaluation mode")
{
    Rng rng(3);
    for (const Shape& in : {Shape(5), Shape(3, 4, 5), Shape(1, 2, 3)}) {
        BatchNorm<double> bn(in, {1e-3, 0.2});
        bn.gamma() = xt::flatten(test::random_matrix<double>(in.channels, 1, rng)) + 1.0; // not 1: gamma enters dX
        CAPTURE(bn.name());
        const auto X = test::random_matrix<double>(in.size(), 4, rng, 2.0);
        const LayerReport train = check_layer(bn, X);
        CHECK_MESSAGE(train.passed(), train.str());
        bn.forward(X);
        bn.set_training(false);
        const LayerReport eval = check_layer(bn, X);
        CHECK_MESSAGE(eval.passed(), eval.str());

        LayerNorm<double> ln(in, 1e-3);
        ln.gamma() = xt::flatten(test::random_matrix<double>(in.size(), 1, rng)) + 1.0;
        CAPTURE(ln.name());
        const LayerReport l = check_layer(ln, X);
        CHECK_MESSAGE(l.passed(), l.str());
    }
}

TEST_CASE("BatchNorm and LayerNorm refuse wrong shapes and settings, naming what was wrong")
{
    BatchNorm<float> bn(Shape(3, 2, 2));
    CHECK(bn.name() == "BatchNorm 3×2×2");
    CHECK_THROWS_WITH_AS(bn.forward(xt::zeros<float>({11, 2})),
                         "BatchNorm 3×2×2: expected input [12, n] with n >= 1 (samples are columns), got [11, 2]",
                         shape_error);
    CHECK_THROWS_WITH_AS(bn.backward(xt::zeros<float>({12, 2})), "BatchNorm 3×2×2: backward() called before forward()",
                         std::logic_error);
    bn.forward(xt::zeros<float>({12, 1})); // four values a channel: a variance
    CHECK_THROWS_WITH_AS(bn.backward(xt::zeros<float>({12, 2})),
                         "BatchNorm 3×2×2: expected gradient [12, 1] (samples are columns), got [12, 2]", shape_error);
    BatchNorm<float> flat(Shape(4));
    CHECK_THROWS_WITH_AS(flat.forward(xt::zeros<float>({4, 1}), 2),
                         "layer 2 (BatchNorm 4): training needs more than one value per channel, got a batch of 1",
                         shape_error);
    flat.set_training(false);
    CHECK(flat.forward(xt::zeros<float>({4, 1})).shape()[1] == 1); // evaluation: any batch
    CHECK_THROWS_WITH_AS(BatchNorm<float>(Shape(4), {0, 0.1}), "BatchNorm: eps must be positive and finite, got 0",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(BatchNorm<float>(Shape(4), {1e-5, 1.5}), "BatchNorm: momentum must be in [0, 1], got 1.5",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(BatchNorm<float>(Shape{}),
                         "BatchNorm: the shape of a sample must be known (features, or C×H×W), got 0",
                         std::invalid_argument);
    LayerNorm<float> ln(Shape(6));
    CHECK_THROWS_WITH_AS(ln.forward(xt::zeros<float>({5, 2})),
                         "LayerNorm 6: expected input [6, n] with n >= 1 (samples are columns), got [5, 2]",
                         shape_error);
    CHECK_THROWS_WITH_AS(ln.backward(xt::zeros<float>({6, 2})), "LayerNorm 6: backward() called before forward()",
                         std::logic_error);
    CHECK_THROWS_WITH_AS(LayerNorm<float>(Shape(6), -1.0), "LayerNorm: eps must be positive and finite, got -1",
                         std::invalid_argument);
}

TEST_CASE("BatchNorm in a Network: it trains, predicts with the running statistics, saves, loads and resumes exactly")
{
    Rng data(8);
    const auto blobs = test::three_blobs(300, data);
    const matrix<float> X = xt::cast<float>(blobs.X) * 3.0f + 5.0f; // far from zero mean, unit scale
    auto make = [](std::uint64_t seed) {
        Rng r(seed);
        return Network{Dense<float>(2, 16, init::he, r),     BatchNorm<float>(Shape(16)), ReLU{},
                       Dense<float>(16, 3, init::xavier, r), LayerNorm<float>(Shape(3)),  Softmax{}};
    };
    auto net = make(1);
    CHECK(net.specs()[1].str() == "BatchNorm(channels=16, height=1, width=1, eps=1e-05, momentum=0.1)");
    CHECK(net.parameter_count() == 2 * 16 + 16 + 32 + 16 * 3 + 3 + 6);
    Adam<float> opt(0.01f);
    FitOptions o;
    o.epochs = 8;
    o.batch_size = 32;
    o.seed = 5;
    o.validation_split = 0.2;
    o.verbose = Verbosity::silent;
    const History h = fit(net, CrossEntropy{}, opt, X, blobs.y, o);
    CHECK(h.epochs.back().accuracy > 0.95);
    CHECK(h.epochs.back().val_accuracy > 0.95);
    // the running mean followed the batches' means of Dense 0's output (an average over the
    // last batches, while the weights still moved: not the final mean itself)
    const auto& bn = net.layer<1>();
    const matrix<float> Z = net.layer<0>().forward(X);
    const float mean0 = xt::mean(xt::view(Z, 0, xt::all()))();
    CHECK(std::abs(bn.running_mean()(0) - mean0) < 0.25f * std::abs(mean0));
    CHECK(std::abs(mean0) > 2);

    // predictions are in evaluation mode: the running statistics, the same for one sample or all
    const matrix<float> P = net.predict_proba(X);
    const matrix<float> first = xt::view(X, xt::all(), xt::range(0, 1));
    CHECK(test::relative_error(net.predict_proba(first), matrix<float>(xt::view(P, xt::all(), xt::range(0, 1)))) <
          1e-6);

    const std::string path = "test_normalization_net.npz";
    save(net, path);
    auto back = make(77);
    load(back, path);
    CHECK(back.layer<1>().running_mean() == bn.running_mean());
    CHECK(back.layer<1>().running_var() == bn.running_var());
    CHECK(back.predict_proba(X) == P);
    std::remove(path.c_str());

    // 8 epochs straight against 4, a checkpoint, and 4 more in fresh objects
    const std::string ck = "test_normalization_ck.npz";
    {
        auto first_half = make(1);
        Adam<float> o1(0.01f);
        FitOptions c = o;
        c.checkpoint = ck;
        c.on_epoch_end = [](const EpochLog& e) { return e.epoch < 3; };
        fit(first_half, CrossEntropy{}, o1, X, blobs.y, c);
    }
    auto resumed = make(99);
    Adam<float> o2(0.01f);
    FitOptions r = o;
    r.resume_from = ck;
    fit(resumed, CrossEntropy{}, o2, X, blobs.y, r);
    std::remove(ck.c_str());
    CHECK(resumed.layer<1>().running_mean() == bn.running_mean());
    CHECK(resumed.layer<1>().running_var() == bn.running_var());
    CHECK(resumed.layer<1>().gamma() == bn.gamma());
    CHECK(resumed.layer<4>().gamma() == net.layer<4>().gamma());
    CHECK(resumed.predict_proba(X) == P);
}
