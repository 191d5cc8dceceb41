#include <cfloat>
#include <cmath>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "helpers.hpp"

using namespace mininn;

using test::random_labels;
using test::UnfusedCrossEntropy;

namespace {
auto three_layer(std::uint64_t seed)
{
    Rng rng(seed);
    return Network{Dense<double>(6, 5, init::normal, rng), Sigmoid{}, Dense<double>(5, 4, init::xavier, rng),
                   Tanh{},        Dense<double>(4, 3, init::he, rng), Softmax{}};
}

} // namespace

TEST_CASE("a Network deduces its scalar type and rebinds untyped layers")
{
    Rng rng(0);
    Network net{Dense<double>(4, 3, init::normal, rng), Sigmoid{}, Dense<double>(3, 2, init::normal, rng), Softmax{}};
    static_assert(std::is_same_v<decltype(net)::value_type, double>);
    static_assert(std::is_same_v<std::decay_t<decltype(net.layer<1>())>, Sigmoid<double>>);
    static_assert(std::is_same_v<std::decay_t<decltype(net.layer<3>())>, Softmax<double>>);
    CHECK(net.depth == 4);
    CHECK(net.parameter_count() == 4 * 3 + 3 + 3 * 2 + 2);
    CHECK(net.summary() == "layer 0: Dense 4→3 (15 parameters: W, b)\nlayer 1: Sigmoid (0 parameters)\n"
                           "layer 2: Dense 3→2 (8 parameters: W, b)\nlayer 3: Softmax (0 parameters)\n");
}

TEST_CASE("a three-layer network passes the numeric gradient check (fused softmax + CE)")
{
    auto net = three_layer(1);
    Rng rng(2);
    const auto X = test::random_matrix<double>(6, 9, rng);
    const auto y = random_labels(9, 3, rng);
    const auto report = check_gradients(net, CrossEntropy{}, X, y);
    INFO(report.str());
    CHECK(report.passed());
    CHECK(report.checks.size() == 7); // W and b of three layers, and the input
}

TEST_CASE("the unfused path (CE gradient, then Softmax backward) passes too and agrees with the fused one")
{
    auto fused = three_layer(3);
    auto unfused = three_layer(3);
    Rng rng(4);
    const auto X = test::random_matrix<double>(6, 9, rng);
    const auto y = random_labels(9, 3, rng);
    const auto report = check_gradients(unfused, UnfusedCrossEntropy{}, X, y);
    INFO(report.str());
    CHECK(report.passed());

    const double a = fused.compute_gradients(CrossEntropy{}, X, y, true);
    const double b = unfused.compute_gradients(UnfusedCrossEntropy{}, X, y, true);
    CHECK(a == doctest::Approx(b).epsilon(1e-13));
    std::vector<xt::xarray<double>> ga, gb;
    fused.visit_parameters([&](auto&, auto& g) { ga.emplace_back(g); });
    unfused.visit_parameters([&](auto&, auto& g) { gb.emplace_back(g); });
    REQUIRE(ga.size() == 6);
    for (std::size_t k = 0; k < ga.size(); ++k)
        CHECK(xt::allclose(ga[k], gb[k], 1e-10, 1e-13));
    CHECK(xt::allclose(fused.input_grad(), unfused.input_grad(), 1e-10, 1e-13));
}

TEST_CASE("ReLU / LeakyReLU / Identity networks with one-hot labels pass the gradient check")
{
    Rng rng(5);
    Network net{Dense<double>(4, 6, init::he, rng), LeakyReLU{0.2}, Dense<double>(6, 5, init::he, rng), ReLU{},
                Dense<double>(5, 3, init::xavier, rng), Identity{}, Softmax{}};
    const auto X = test::random_matrix<double>(4, 8, rng);
    const auto Y = one_hot<double>(random_labels(8, 3, rng), 3);
    const auto report = check_gradients(net, CrossEntropy{}, X, Y);
    INFO(report.str());
    CHECK(report.passed());
}

TEST_CASE("a float network's gradients agree with central differences at float precision")
{
    Rng rng(6);
    Network net{Dense<float>(5, 4, init::xavier, rng), Sigmoid{}, Dense<float>(4, 3, init::xavier, rng), Softmax{}};
    const auto X = test::random_matrix<float>(5, 16, rng);
    const auto y = random_labels(16, 3, rng);
    GradientCheckOptions opt;
    opt.step = 1e-2;
    opt.tolerance = 2e-2;
    const auto report = check_gradients(net, CrossEntropy{}, X, y, opt);
    INFO(report.str());
    CHECK(report.passed());
}

TEST_CASE("layers that do not fit are reported at construction, naming both")
{
    Rng rng(0);
    auto msg = test::message_of<shape_error>([&] {
        Network net{Dense<float>(4, 3, init::normal, rng), Sigmoid{}, Dense<float>(5, 2, init::normal, rng)};
    });
    CHECK(msg == "layer 2 (Dense 5→2): expected input [5, n] (samples are columns), but layer 1 (Sigmoid) "
                 "outputs [3, n]");
}

TEST_CASE("input shape errors name the layer index and kind")
{
    Rng rng(0);
    Network net{Dense<float>(64, 10, init::normal, rng), Softmax{}};
    matrix<float> X = xt::ones<float>({28, 32});
    auto msg = test::message_of<shape_error>([&] { net.forward(X); });
    CHECK(msg == "layer 0 (Dense 64→10): expected input [64, n] with n >= 1 (samples are columns), got [28, 32]");
    matrix<float> ok = xt::ones<float>({64, 3});
    msg = test::message_of<label_error>([&] { net.compute_gradients(CrossEntropy{}, ok, label_vector{0, 10, 1}); });
    CHECK(msg == "CrossEntropy: label 10 of sample 1 is outside [0, 10)");
    msg = test::message_of<shape_error>([&] { net.compute_gradients(CrossEntropy{}, ok, label_vector{0, 1}); });
    CHECK_MESSAGE_CONTAINS(msg, "2 labels for 3 samples");
    CHECK_THROWS_AS(net.input_grad(), std::logic_error);
}

TEST_CASE("training reduces the loss and separates a separable problem completely")
{
    Rng rng(7);
    const std::size_t n = 300;
    const auto [X, y] = test::three_blobs(n, rng);
    Network net{Dense<double>(2, 8, init::xavier, rng), Sigmoid{}, Dense<double>(8, 3, init::xavier, rng), Softmax{}};
    GD<double> opt(1.0);
    const double first = net.compute_gradients(CrossEntropy{}, X, y);
    double last = first;
    for (int it = 0; it < 300; ++it) {
        last = net.compute_gradients(CrossEntropy{}, X, y);
        opt.step(net);
    }
    CHECK(last < 0.1 * first);
    const label_vector pred = net.predict(X);
    std::size_t correct = 0;
    for (std::size_t j = 0; j < n; ++j)
        correct += pred(j) == y(j);
    CHECK(correct == n);
}

TEST_CASE("forward accepts a column range of a larger matrix and predict returns argmax classes")
{
    matrix<double> W = {{1, 0}, {0, 1}, {-1, -1}};
    vector<double> b = {0, 0, 0};
    Network net{Dense<double>(W, b), Softmax{}};
    matrix<double> big = {{5, 0, -3, 9}, {0, 5, -3, 9}};
    const label_vector pred = net.predict(xt::view(big, xt::all(), xt::range(0, 3)));
    CHECK(pred == label_vector{0, 1, 2});
}

TEST_CASE("net.forward(net.output()) reads a copy of the output, forward and backward")
{
    Rng rng(21);
    Network net{Dense<double>(3, 3, init::normal, rng), Sigmoid{}, Dense<double>(3, 3, init::normal, rng), Sigmoid{}};
    auto copy = net;
    const auto X = test::random_matrix<double>(3, 5, rng);
    const matrix<double> first = net.forward(X);
    const matrix<double> second = net.forward(net.output());
    CHECK(xt::allclose(second, copy.forward(first), 0, 0));
    const matrix<double> g = xt::ones<double>({3, 5});
    net.backward(g, true);
    copy.backward(g, true);
    CHECK(net.input_grad() == copy.input_grad());
    CHECK(net.layer<0>().weight_grad() == copy.layer<0>().weight_grad());
    // compute_gradients with the network's own output as the input, through the fused head
    Network head{Dense<double>(4, 3, init::normal, rng), Sigmoid{}, Dense<double>(3, 4, init::normal, rng), Softmax{}};
    auto head_copy = head;
    const auto X4 = test::random_matrix<double>(4, 6, rng);
    const auto y = random_labels(6, 4, rng);
    head.forward(X4);
    const matrix<double> P = head.output();
    const double a = head.compute_gradients(CrossEntropy{}, head.output(), y);
    const double b = head_copy.compute_gradients(CrossEntropy{}, P, y);
    CHECK(a == b);
    CHECK(head.layer<0>().weight_grad() == head_copy.layer<0>().weight_grad());
}

TEST_CASE("a bad label leaves the network as it was: the fused path checks labels before it runs")
{
    Rng rng(22);
    Network net{Dense<double>(4, 3, init::normal, rng), Sigmoid{}, Dense<double>(3, 2, init::normal, rng), Softmax{}};
    const auto X = test::random_matrix<double>(4, 5, rng);
    net.forward(X);
    const matrix<double> out = net.output();
    const label_vector bad{0, 1, 2, 0, 1};
    CHECK(test::message_of<label_error>([&] { net.compute_gradients(CrossEntropy{}, X, bad); }) ==
          "CrossEntropy: label 2 of sample 2 is outside [0, 2)");
    // the earlier forward pass is intact: output() and backward() still work on it
    CHECK(net.output() == out);
    net.backward(xt::ones<double>({2, 5}));
    CHECK(xt::all(xt::isfinite(net.layer<0>().weight_grad())));
}

TEST_CASE("the fused head, the unfused path and evaluate report the same loss, even where P underflows")
{
    Rng rng(23);
    Network net{Dense<double>(3, 4, init::normal, rng), Sigmoid{}, Dense<double>(4, 3, init::normal, rng), Softmax{}};
    // huge weights: the true class's probability is far below the smallest double (loss ~ 1e4 per sample)
    net.layer<2>().weights() = 4000.0 * net.layer<2>().weights();
    // An Identity before the Softmax keeps the head from fusing: the layer-by-layer path with
    // CrossEntropy's fused softmax gradient, its loss taken from the logits too.
    Network unfused{net.layer<0>(), Sigmoid{}, net.layer<2>(), Identity{}, Softmax{}};
    const auto X = test::random_matrix<double>(3, 16, rng);
    auto y = random_labels(16, 3, rng);
    net.forward(X);
    for (std::size_t j = 0; j < 16; ++j) // pick the least likely class for every sample
        for (std::size_t k = 0; k < 3; ++k)
            if (net.output()(k, j) < net.output()(y(j), j))
                y(j) = k;
    const double fused = net.compute_gradients(CrossEntropy{}, X, y);
    const double chain = unfused.compute_gradients(CrossEntropy{}, X, y);
    const double eval = evaluate(net, CrossEntropy{}, X, y).loss;
    // A loss of one's own sees only the probabilities, clamped at DBL_MIN.
    CHECK(net.compute_gradients(UnfusedCrossEntropy{}, X, y) == doctest::Approx(-std::log(DBL_MIN)).epsilon(1e-3));
    CHECK(fused > 1000.0); // the clamped unfused loss stopped at -log(DBL_MIN) = 708
    CHECK(chain == doctest::Approx(fused).epsilon(1e-12));
    CHECK(eval == doctest::Approx(fused).epsilon(1e-12));
}

TEST_CASE("infer is forward in evaluation mode, bit for bit, on a const network that it leaves as it was")
{
    Rng rng(31);
    Network trained{Dense<double>(6, 5, init::normal, rng),
                    Sigmoid{},
                    Dropout(0.5, 3),
                    Dense<double>(5, 4, init::xavier, rng),
                    ReLU{},
                    Dense<double>(4, 3, init::he, rng),
                    Softmax{}};
    const auto X = test::random_matrix<double>(6, 9, rng);
    const auto y = random_labels(9, 3, rng);
    trained.compute_gradients(CrossEntropy{}, X, y); // training mode: Dropout acts, the caches fill
    const matrix<double> before = trained.output();
    const auto& net = trained;
    decltype(trained)::Workspace ws;
    const matrix<double> inferred = net.infer(X, ws);
    CHECK(trained.training()); // the mode is the caller's
    CHECK(trained.output() == before);
    matrix<double> plain;
    {
        const decltype(trained)::eval_scope scope(trained);
        plain = trained.forward(X);
    }
    CHECK(inferred == plain);
    CHECK(net.infer(X) == plain);
    CHECK(net.predict_proba(X) == plain);
    // a column range, and the first layer fed an expression
    const matrix<double> part = xt::view(X, xt::all(), xt::range(2, 7));
    CHECK(net.infer(xt::view(X, xt::all(), xt::range(2, 7)), ws) == net.infer(part));
    CHECK_THROWS_WITH_AS(net.infer(matrix<double>(xt::zeros<double>({5, 2})), ws),
                         "layer 0 (Dense 6→5): expected input [6, n] with n >= 1 (samples are columns), got [5, 2]",
                         shape_error);
}

namespace {
// A layer without infer(): a Network runs a copy of it through forward() in evaluation mode.
template <class T = double>
struct Shift {
    using value_type = T;
    static constexpr bool parameter_free = true;
    Shift() = default;
    template <class U>
    Shift(const Shift<U>&)
    {
    }
    std::string name() const { return "Shift"; }
    std::size_t input_rows() const { return 0; }
    std::size_t output_rows(std::size_t rows) const { return rows; }
    template <class E>
    const matrix<T>& forward(const E& x, std::size_t)
    {
        out = x + T(1);
        ++calls;
        return out;
    }
    matrix<T>& backward(const matrix<T>& g, bool, std::size_t)
    {
        dx = g;
        return dx;
    }
    std::size_t parameter_count() const { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }
    matrix<T> out, dx;
    int calls = 0;
};
} // namespace

TEST_CASE("infer of its own last result reads a copy of it")
{
    Rng rng(32);
    // One layer: the result is in the buffer that layer writes.
    const Network net{Dense<double>(3, 3, init::normal, rng)};
    const auto X = test::random_matrix<double>(3, 4, rng);
    std::decay_t<decltype(net)>::Workspace ws;
    const matrix<double> once = net.infer(X);
    CHECK(net.infer(net.infer(X, ws), ws) == net.infer(once));
}

TEST_CASE("a layer without infer is copied and run through forward, and the network's layer is not touched")
{
    matrix<double> W = {{1, 2}, {3, -4}};
    vector<double> b = {0.5, -0.5};
    const Network net{Dense<double>(W, b), Shift{}};
    const matrix<double> X = {{1, 0}, {0, 1}};
    const matrix<double> want = {{2.5, 3.5}, {3.5, -3.5}}; // W X + b + 1
    CHECK(net.infer(X) == want);
    CHECK(net.layer<1>().calls == 0);
    CHECK(net.layer<1>().out.size() == 0);
}

TEST_CASE("threads share one const network, each with its own workspace, and get the serial results")
{
    Rng rng(5);
    const Network net{Dense<float>(20, 16, init::normal, rng), Tanh{}, Dense<float>(16, 4, init::normal, rng),
                      Softmax{}};
    std::vector<matrix<float>> X;
    std::vector<matrix<float>> want;
    for (std::size_t n : {1, 3, 32, 7}) {
        X.push_back(test::random_matrix<float>(20, n, rng));
        want.push_back(net.infer(X.back()));
    }
    std::vector<int> wrong(2, 0);
    auto work = [&](int t) {
        std::decay_t<decltype(net)>::Workspace ws;
        for (int rep = 0; rep < 200; ++rep)
            for (std::size_t k = 0; k < X.size(); ++k)
                wrong[static_cast<std::size_t>(t)] += net.infer(X[(k + static_cast<std::size_t>(t)) % X.size()], ws) !=
                                                      want[(k + static_cast<std::size_t>(t)) % X.size()];
    };
    std::thread a(work, 0), b2(work, 1);
    a.join();
    b2.join();
    CHECK(wrong == std::vector<int>{0, 0});
    label_vector classes = xt::zeros<std::size_t>({32});
    for (std::size_t j = 0; j < 32; ++j)
        for (std::size_t k = 1; k < 4; ++k)
            if (want[2](k, j) > want[2](classes(j), j))
                classes(j) = k;
    CHECK(net.predict(X[2]) == classes);
}
