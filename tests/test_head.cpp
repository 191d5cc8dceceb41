// The fused classifier head (Dense, activation, Dense, Softmax + CrossEntropy in one sweep,
// detail/head.hpp) against the same network run layer by layer.
#include <cmath>
#include <cstring>
#include <vector>

#include "helpers.hpp"

using namespace mininn;

using test::random_labels;
using test::UnfusedCrossEntropy;
using test::usable_cores;

namespace {
template <class Net>
std::vector<xt::xarray<double>> gradients(Net& net)
{
    std::vector<xt::xarray<double>> g;
    net.visit_parameters([&](auto&, auto& grad) { g.emplace_back(xt::cast<double>(grad)); });
    return g;
}

// Runs both paths on copies of net and checks loss, output, every gradient and dL/dX.
template <class Net, class E, class L>
void expect_same_as_unfused(const Net& net, const E& X, const L& y, double rtol, double atol)
{
    Net fused = net, unfused = net;
    const double a = fused.compute_gradients(CrossEntropy{}, X, y, true);
    const double b = unfused.compute_gradients(UnfusedCrossEntropy{}, X, y, true);
    CHECK(a == doctest::Approx(b).epsilon(rtol));
    CHECK(xt::allclose(fused.output(), unfused.output(), rtol, atol));
    const auto ga = gradients(fused), gb = gradients(unfused);
    REQUIRE(ga.size() == gb.size());
    for (std::size_t k = 0; k < ga.size(); ++k) {
        INFO("parameter tensor " << k);
        CHECK(xt::allclose(ga[k], gb[k], rtol, atol));
    }
    CHECK(xt::allclose(fused.input_grad(), unfused.input_grad(), rtol, atol));
    // The head leaves no hidden activations behind; the layer-by-layer path does.
    CHECK_THROWS_AS(fused.backward(fused.output()), std::logic_error);
    CHECK_NOTHROW(unfused.backward(unfused.output()));
}

template <class T, class Act>
void check_shapes(Act act, double rtol, double atol)
{
    Rng rng(11);
    for (std::size_t c : {1, 2, 3, 7, 10, 16})
        for (std::size_t n : {1, 5, 37, 130, 1100}) {
            CAPTURE(c);
            CAPTURE(n);
            Network net{Dense<T>(6, 9, init::xavier, rng), act, Dense<T>(9, c, init::xavier, rng), Softmax{}};
            const auto X = test::random_matrix<T>(6, n, rng);
            expect_same_as_unfused(net, X, random_labels(n, c, rng), rtol, atol);
        }
}
} // namespace

TEST_CASE("the fused head agrees with the layer-by-layer path for 1 to 16 classes and any batch width")
{
    // Widths 1, 5, 37, 130 and 1100 exercise the scalar tail, single vector blocks, whole tiles
    // and several chunks of tiles.
    check_shapes<double>(Sigmoid{}, 1e-12, 1e-15);
    check_shapes<double>(Tanh{}, 1e-12, 1e-15);
    check_shapes<double>(ReLU{}, 1e-12, 1e-15);
    check_shapes<float>(Sigmoid{}, 1e-4, 1e-6);
    check_shapes<float>(LeakyReLU{0.1}, 1e-4, 1e-6);
}

TEST_CASE("the fused head takes one-hot and soft labels")
{
    Rng rng(12);
    Network net{Dense<double>(5, 8, init::xavier, rng), Sigmoid{}, Dense<double>(8, 4, init::xavier, rng), Softmax{}};
    const auto X = test::random_matrix<double>(5, 45, rng);
    matrix<double> Y = one_hot<double>(random_labels(45, 4, rng), 4);
    expect_same_as_unfused(net, X, Y, 1e-12, 1e-15);
    for (std::size_t j = 0; j < 45; ++j) { // soft labels: 0.7 / 0.3 over two classes
        Y(j % 4, j) = 0.7;
        Y((j + 1) % 4, j) = 0.3;
        Y((j + 2) % 4, j) = Y((j + 3) % 4, j) = 0.0;
    }
    expect_same_as_unfused(net, X, Y, 1e-12, 1e-15);
}

TEST_CASE("a deeper network fuses its last four layers and backpropagates through the rest")
{
    Rng rng(13);
    Network net{Dense<double>(7, 12, init::he, rng),    ReLU{},    Dense<double>(12, 9, init::xavier, rng), Tanh{},
                Dense<double>(9, 6, init::xavier, rng), Sigmoid{}, Dense<double>(6, 5, init::xavier, rng),  Softmax{}};
    const auto X = test::random_matrix<double>(7, 70, rng);
    const auto y = random_labels(70, 5, rng);
    expect_same_as_unfused(net, X, y, 1e-12, 1e-15);
    const auto report = check_gradients(net, CrossEntropy{}, X, y);
    INFO(report.str());
    CHECK(report.passed());
}

TEST_CASE("two threads give the same gradients as one")
{
    Rng rng(14);
    Network net{Dense<double>(6, 8, init::normal, rng), Sigmoid{}, Dense<double>(8, 10, init::normal, rng), Softmax{}};
    const std::size_t n = decltype(net)::fused_head_parallel_columns + 1001; // an odd share for each thread
    const auto X = test::random_matrix<double>(6, n, rng);
    const auto y = random_labels(n, 10, rng);
    CHECK(net.threads() == 2);
    auto one = net;
    one.set_threads(1);
    CHECK(one.threads() == 1);
    const double a = net.compute_gradients(CrossEntropy{}, X, y), b = one.compute_gradients(CrossEntropy{}, X, y);
    CHECK(a == b);
    const auto ga = gradients(net), gb = gradients(one);
    for (std::size_t k = 0; k < ga.size(); ++k)
        CHECK(ga[k] == gb[k]);
    CHECK(net.output() == one.output());
    CHECK(net.helper_sweeps() == (usable_cores() >= 2 ? 1 : 0));
    CHECK(one.helper_sweeps() == 0);
    expect_same_as_unfused(net, X, y, 1e-11, 1e-15);
    CHECK_THROWS_AS(net.set_threads(0), std::invalid_argument);
    CHECK_THROWS_AS(net.set_threads(3), std::invalid_argument);
}

TEST_CASE("the fused loss is exact where the probabilities underflow")
{
    // Identity hidden layer; logits S = [0, -200]: P = [1, e^-200], which is 0 in float.
    Network net{Dense<float>(matrix<float>{{1.0f}}, vector<float>{0.0f}), Identity{},
                Dense<float>(matrix<float>{{0.0f}, {-200.0f}}, vector<float>{0.0f, 0.0f}), Softmax{}};
    const matrix<float> X{{1.0f, 1.0f}};
    const label_vector y{1, 0};
    const float loss = net.compute_gradients(CrossEntropy{}, X, y);
    CHECK(loss == doctest::Approx(100.0)); // (200 + log(1 + e^-200) + log(1 + e^-200)) / 2
    CHECK(net.output()(1, 0) == 0.0f);     // flushed, not denormal
    CHECK(net.output()(0, 0) == 1.0f);
    // dS = (P - Y) / 2 for each sample; dW2 = dS A^T with A = [1, 1].
    const auto& dW2 = net.layer<2>().weight_grad();
    CHECK(dW2(0, 0) == doctest::Approx((1.0 - 0.0 + 1.0 - 1.0) / 2));
    CHECK(dW2(1, 0) == doctest::Approx((0.0 - 1.0 + 0.0 - 0.0) / 2));
}

TEST_CASE("wider outputs fall back to the layer-by-layer path")
{
    Rng rng(15);
    Network net{Dense<double>(4, 6, init::xavier, rng), Sigmoid{}, Dense<double>(6, 17, init::xavier, rng), Softmax{}};
    using Net17 = decltype(net);
    const auto X = test::random_matrix<double>(4, 20, rng);
    const auto y = random_labels(20, 17, rng);
    Net17 unfused = net;
    const double fused_softmax = net.compute_gradients(CrossEntropy{}, X, y, true);
    const double chain = unfused.compute_gradients(UnfusedCrossEntropy{}, X, y, true);
    CHECK(fused_softmax == doctest::Approx(chain).epsilon(1e-13));
    const auto ga = gradients(net), gb = gradients(unfused);
    for (std::size_t k = 0; k < ga.size(); ++k)
        CHECK(xt::allclose(ga[k], gb[k], 1e-11, 1e-15));
    CHECK(xt::allclose(net.input_grad(), unfused.input_grad(), 1e-11, 1e-15));
    CHECK(check_gradients(net, CrossEntropy{}, X, y).passed());
    CHECK_NOTHROW(net.backward(net.output())); // the head did not run: the forward pass is still there
}

TEST_CASE("the fused head reports bad labels, bad shapes and NaN before it trains on them")
{
    Rng rng(16);
    Network net{Dense<double>(3, 4, init::xavier, rng), Sigmoid{}, Dense<double>(4, 3, init::xavier, rng), Softmax{}};
    const auto X = test::random_matrix<double>(3, 5, rng);
    std::string msg = test::message_of<label_error>([&] {
        net.compute_gradients(CrossEntropy{}, X, label_vector{0, 1, 3, 1, 0});
    });
    CHECK(msg == "CrossEntropy: label 3 of sample 2 is outside [0, 3)");
    msg = test::message_of<shape_error>([&] { net.compute_gradients(CrossEntropy{}, X, label_vector{0, 1}); });
    CHECK(msg == "CrossEntropy: 2 labels for 5 samples (predictions are [3, 5], samples are columns)");
    msg = test::message_of<shape_error>([&] {
        net.compute_gradients(CrossEntropy{}, test::random_matrix<double>(4, 5, rng), label_vector{0, 1, 2, 1, 0});
    });
    CHECK_MESSAGE_CONTAINS(msg, "layer 0 (Dense 3→4): expected input [3, n]");
    msg = test::message_of<shape_error>([&] {
        net.compute_gradients(CrossEntropy{}, X, matrix<double>(xt::zeros<double>({2, 5})));
    });
    CHECK(msg == "CrossEntropy: one-hot labels [2, 5] do not match predictions [3, 5] "
                 "(expected [classes, samples], samples are columns)");
    auto bad = X;
    bad(1, 3) = std::nan("");
    msg = test::message_of<numeric_error>([&] {
        net.compute_gradients(CrossEntropy{}, bad, label_vector{0, 1, 2, 1, 0});
    });
    CHECK(msg == "CrossEntropy: the loss is nan: the network output or the targets contain NaN or inf");
    // After the error a forward pass starts clean again.
    net.forward(X);
    CHECK_NOTHROW(net.backward(net.output()));
}

namespace {
// n columns, 3 full-batch GD steps of a 6-16-10 float network; returns every weight and the losses.
std::vector<float> train_three_steps(std::size_t threads, std::size_t n, std::size_t* helper_sweeps = nullptr)
{
    Rng rng(31);
    Network net{Dense<float>(6, 16, init::normal, rng), Sigmoid{}, Dense<float>(16, 10, init::normal, rng), Softmax{}};
    net.set_threads(threads);
    const auto X = test::random_matrix<float>(6, n, rng);
    const auto y = random_labels(n, 10, rng);
    GD<float> gd(0.5f);
    std::vector<float> out;
    for (int step = 0; step < 3; ++step) {
        out.push_back(net.compute_gradients(CrossEntropy{}, X, y));
        gd.step(net);
    }
    net.visit_parameters([&](auto& p, auto&) { out.insert(out.end(), p.begin(), p.end()); });
    if (helper_sweeps != nullptr)
        *helper_sweeps = net.helper_sweeps();
    return out;
}
} // namespace

TEST_CASE("ten two-thread runs equal each other and the one-thread run bit for bit")
{
    const std::size_t n = 20011; // about 10 chunks of 2048 columns, plus a tail of single blocks and columns
    const auto one = train_three_steps(1, n);
    for (int run = 0; run < 10; ++run) {
        std::size_t sweeps = 0;
        const auto two = train_three_steps(2, n, &sweeps);
        REQUIRE(two.size() == one.size());
        std::size_t differ = 0;
        for (std::size_t k = 0; k < one.size(); ++k)
            differ += std::memcmp(&one[k], &two[k], sizeof(float)) != 0;
        CHECK_MESSAGE(differ == 0, "run " << run << ": " << differ << " of " << one.size() << " values differ");
        if (usable_cores() >= 2) // the helper really ran: one sweep per step
            CHECK(sweeps == 3);
        else
            CHECK(sweeps == 0);
    }
}

TEST_CASE("below fused_head_parallel_columns, or with one thread, the helper is never started")
{
    std::size_t sweeps = 1;
    train_three_steps(2, 8191, &sweeps);
    CHECK(sweeps == 0);
    train_three_steps(1, 20011, &sweeps);
    CHECK(sweeps == 0);
}

TEST_CASE("a loss derived from CrossEntropy keeps the fused head (a trait, not the exact type)")
{
    struct LabelledCrossEntropy : CrossEntropy {
        std::string name() const { return "LabelledCrossEntropy"; }
    };
    Rng rng(31);
    Network net{Dense<double>(5, 6, init::normal, rng), ReLU{}, Dense<double>(6, 4, init::normal, rng), Softmax{}};
    auto derived = net;
    const auto X = test::random_matrix<double>(5, 9, rng);
    const auto y = random_labels(9, 4, rng);
    const double a = net.compute_gradients(CrossEntropy{}, X, y);
    const double b = derived.compute_gradients(LabelledCrossEntropy{}, X, y);
    CHECK(a == b);
    CHECK(gradients(net) == gradients(derived));
    CHECK_THROWS_AS(derived.backward(derived.output()), std::logic_error); // the head ran
}
