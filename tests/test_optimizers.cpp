// Each optimizer's update against steps computed by hand on a one-layer network whose
// gradients are set directly: dW = dOut X^T = s [1, 2], db = s, for dOut = [[s]].
#include <cmath>

#include "helpers.hpp"

using namespace mininn;

namespace {
auto one_layer()
{
    return Network{Dense<double>(matrix<double>{{1, 2}}, vector<double>{0.5})};
}
template <class Net>
void set_gradient(Net& net, double s)
{
    const matrix<double> X = {{1}, {2}};
    net.forward(X);
    net.backward(matrix<double>{{s}});
}
template <class Net>
void check_params(Net& net, double w0, double w1, double b)
{
    const auto& d = net.template layer<0>();
    CHECK(d.weights()(0, 0) == doctest::Approx(w0).epsilon(1e-12));
    CHECK(d.weights()(0, 1) == doctest::Approx(w1).epsilon(1e-12));
    CHECK(d.bias()(0) == doctest::Approx(b).epsilon(1e-12));
}
} // namespace

TEST_CASE("Momentum: v = mu v + g, p -= lr v")
{
    auto net = one_layer();
    Momentum<double> opt(0.1, 0.9);
    set_gradient(net, 1);
    opt.step(net); // v = g
    check_params(net, 1 - 0.1, 2 - 0.2, 0.5 - 0.1);
    set_gradient(net, 1);
    opt.step(net); // v = 1.9 g
    check_params(net, 0.9 - 0.19, 1.8 - 0.38, 0.4 - 0.19);
}

TEST_CASE("Nesterov momentum: p -= lr (g + mu v)")
{
    auto net = one_layer();
    Momentum<double> opt(0.1, 0.9, true);
    set_gradient(net, 1);
    opt.step(net); // v = g, step 0.1 * 1.9 g
    check_params(net, 1 - 0.19, 2 - 0.38, 0.5 - 0.19);
    set_gradient(net, 1);
    opt.step(net); // v = 1.9 g, step 0.1 * (1 + 0.9 * 1.9) g = 0.271 g
    check_params(net, 0.81 - 0.271, 1.62 - 0.542, 0.31 - 0.271);
}

TEST_CASE("Adam: bias-corrected moments")
{
    auto net = one_layer();
    Adam<double> opt(0.1); // b1 0.9, b2 0.999, eps 1e-8
    set_gradient(net, 1);
    opt.step(net); // m_hat = g, v_hat = g^2: a step of lr * g / (|g| + eps)
    const double s1w0 = 0.1 * 1 / (1 + 1e-8), s1w1 = 0.1 * 2 / (2 + 1e-8);
    check_params(net, 1 - s1w0, 2 - s1w1, 0.5 - s1w0);
    set_gradient(net, 2); // g2 = 2 g1
    opt.step(net);
    // m = 0.9 * 0.1 g + 0.1 * 2 g = 0.29 g, m_hat = 0.29 g / 0.19
    // v = 0.999 * 0.001 g^2 + 0.001 * 4 g^2 = 0.004999 g^2, v_hat = 0.004999 g^2 / 0.001999
    const double c1 = 1 - 0.9 * 0.9, c2 = 1 - 0.999 * 0.999;
    auto step2 = [&](double g) { return 0.1 * (0.29 * g / c1) / (std::sqrt(0.004999 * g * g / c2) + 1e-8); };
    check_params(net, 1 - s1w0 - step2(1), 2 - s1w1 - step2(2), 0.5 - s1w0 - step2(1));
    CHECK(opt.steps() == 2);
}

TEST_CASE("AdamW decays the weights, not the biases, before the Adam step")
{
    auto net = one_layer();
    Adam<double> opt(0.1, 0.9, 0.999, 1e-8, 0.01);
    set_gradient(net, 1);
    opt.step(net);
    // first step: m_hat = g, v_hat = g^2, so the Adam step is lr g / (|g| + eps)
    check_params(net, 1 * (1 - 0.001) - 0.1 / (1 + 1e-8), 2 * (1 - 0.001) - 0.2 / (2 + 1e-8), 0.5 - 0.1 / (1 + 1e-8));
    CHECK(opt.weight_decay().rate == 0.01);
    CHECK_FALSE(opt.weight_decay().biases);

    auto all = one_layer();
    Adam<double> with_biases(0.1, 0.9, 0.999, 1e-8, WeightDecay{0.01, true});
    set_gradient(all, 1);
    with_biases.step(all);
    check_params(all, 1 * (1 - 0.001) - 0.1 / (1 + 1e-8), 2 * (1 - 0.001) - 0.2 / (2 + 1e-8),
                 0.5 * (1 - 0.001) - 0.1 / (1 + 1e-8));
}

TEST_CASE("GD and Momentum with decoupled weight decay (hand-computed)")
{
    // GD: p <- (1 - lr wd) p - lr g, with lr 0.1, wd 0.5: factor 0.95; g = [1, 2], db = 1
    auto net = one_layer();
    GD<double> gd(0.1, WeightDecay{0.5});
    set_gradient(net, 1);
    gd.step(net);
    check_params(net, 0.95 * 1 - 0.1 * 1, 0.95 * 2 - 0.1 * 2, 0.5 - 0.1 * 1);
    GD<double> gd_b(0.1, WeightDecay{0.5, true});
    set_gradient(net, 1);
    gd_b.step(net);
    check_params(net, 0.95 * 0.85 - 0.1 * 1, 0.95 * 1.7 - 0.1 * 2, 0.95 * 0.4 - 0.1 * 1);

    // Momentum: v1 = g, p1 = 0.95 p0 - lr g; v2 = 0.9 g + g, p2 = 0.95 p1 - lr v2 (gradient held at s = 1)
    auto m = one_layer();
    Momentum<double> mom(0.1, 0.9, false, WeightDecay{0.5});
    set_gradient(m, 1);
    mom.step(m);
    check_params(m, 0.95 - 0.1, 1.9 - 0.2, 0.5 - 0.1);
    set_gradient(m, 1);
    mom.step(m);
    check_params(m, 0.95 * 0.85 - 0.1 * 1.9, 0.95 * 1.7 - 0.1 * 3.8, 0.4 - 0.1 * 1.9);

    // No decay is exactly the old update, bit for bit.
    auto a = one_layer(), b = one_layer();
    GD<double> plain(0.1), zero(0.1, WeightDecay{0.0, true});
    set_gradient(a, 0.3);
    set_gradient(b, 0.3);
    plain.step(a);
    zero.step(b);
    CHECK(a.layer<0>().weights() == b.layer<0>().weights());
}

TEST_CASE("every optimizer's learning rate and weight decay can be changed, and are validated")
{
    GD<float> gd(0.1f);
    Momentum<float> mom(0.1f);
    Adam<float> adam;
    gd.set_learning_rate(0.5f);
    mom.set_learning_rate(0.25f);
    adam.set_learning_rate(0.125f);
    CHECK(gd.learning_rate() == 0.5f);
    CHECK(mom.learning_rate() == 0.25f);
    CHECK(adam.learning_rate() == 0.125f);
    auto msg = test::message_of<std::invalid_argument>([&] { gd.set_learning_rate(0.0f); });
    CHECK(msg == "GD: learning rate must be in (0, inf), got 0");
    msg = test::message_of<std::invalid_argument>([&] { mom.set_learning_rate(std::nanf("")); });
    CHECK(msg == "Momentum: learning rate must be in (0, inf), got nan");
    msg = test::message_of<std::invalid_argument>([&] { adam.set_learning_rate(-1.0f); });
    CHECK(msg == "Adam: learning rate must be in (0, inf), got -1");
    CHECK(adam.learning_rate() == 0.125f); // a refused rate changes nothing
    msg = test::message_of<std::invalid_argument>([&] { mom.set_weight_decay(WeightDecay{-0.1}); });
    CHECK(msg == "Momentum: weight decay must be in [0, inf), got -0.1");
    gd.set_weight_decay(WeightDecay{0.01, true});
    CHECK(gd.weight_decay().biases);
    CHECK_THROWS_AS(GD<double>(0.1, WeightDecay{std::nan("")}), std::invalid_argument);
}

TEST_CASE("optimizers refuse bad hyper-parameters and a network that changed")
{
    CHECK_THROWS_AS(Momentum<float>(0.1f, 1.0f), std::invalid_argument);
    CHECK_THROWS_AS(Momentum<float>(-0.1f), std::invalid_argument);
    CHECK_THROWS_AS(Adam<float>(0.1f, 1.0f), std::invalid_argument);
    CHECK_THROWS_AS(Adam<float>(0.1f, 0.9f, 0.999f, 0.0f), std::invalid_argument);
    CHECK_THROWS_AS(Adam<float>(0.1f, 0.9f, 0.999f, 1e-8f, -1.0f), std::invalid_argument);

    auto net = one_layer();
    Adam<double> opt(0.1);
    set_gradient(net, 1);
    opt.step(net);
    Rng rng(1);
    Network other{Dense<double>(3, 2, init::normal, rng)};
    other.forward(matrix<double>(xt::zeros<double>({3, 1})));
    other.backward(matrix<double>(xt::zeros<double>({2, 1})));
    const auto msg = test::message_of<std::logic_error>([&] { opt.step(other); });
    CHECK(msg == "Adam: the network's parameters changed since the first step (parameter 0 had 2 elements, "
                 "now 6); use a new optimizer for a new network");
    Network bigger{Dense<double>(matrix<double>{{1, 2}}, vector<double>{0.5}), Dense<double>(1, 1, init::normal, rng)};
    bigger.forward(matrix<double>{{1}, {2}});
    bigger.backward(matrix<double>{{1}});
    CHECK_THROWS_AS(opt.step(bigger), std::logic_error);
}
