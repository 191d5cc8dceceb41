// check_layer on every layer, on a layer written from the concept alone (the README's), and on
// deliberately broken layers, each of which it must catch.
#include <cmath>
#include <string>

#include "helpers.hpp"

using namespace mininn;

namespace {

// The README's custom layer: y = s * tanh(x), with a learnable scale s [k] per row.
template <class T = double>
class ScaledTanh {
public:
    using value_type = T;
    explicit ScaledTanh(std::size_t k) : s_(xt::ones<T>({k})), ds_(xt::zeros<T>({k})) {}
    std::string name() const { return "ScaledTanh"; }
    std::size_t input_rows() const { return s_.size(); }
    std::size_t output_rows(std::size_t) const { return s_.size(); }
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, input_rows(), index, *this);
        t_ = x;
        for (auto& v : t_)
            v = std::tanh(v);
        y_ = xt::view(s_, xt::all(), xt::newaxis()) * t_;
        return y_;
    }
    matrix<T>& backward(const matrix<T>& dy, bool = true, std::size_t = standalone)
    {
        ds_ = xt::sum(dy * t_, {1});                                          // dL/ds = sum_j dy * tanh(x)
        dx_ = dy * xt::view(s_, xt::all(), xt::newaxis()) * (1 - t_ * t_); // dL/dx = dy s (1 - tanh^2)
        return dx_;
    }
    std::size_t parameter_count() const { return s_.size(); }
    template <class F>
    void visit_parameters(F&& f)
    {
        f("s", s_, ds_);
    }

private:
    vector<T> s_, ds_;
    matrix<T> t_, y_, dx_;
};

// Broken on purpose, each in one way.
struct WrongBackward : ScaledTanh<double> {
    using ScaledTanh::ScaledTanh;
    matrix<double>& backward(const matrix<double>& dy, bool b = true, std::size_t i = standalone)
    {
        matrix<double>& dx = ScaledTanh::backward(dy, b, i);
        dx *= 2.0; // a factor lost in the derivation
        return dx;
    }
};
struct Accumulates : ScaledTanh<double> {
    using ScaledTanh::ScaledTanh;
    matrix<double>& backward(const matrix<double>& dy, bool b = true, std::size_t i = standalone)
    {
        vector<double> before;
        visit_parameters([&](const char*, auto&, auto& g) { before = g; });
        matrix<double>& dx = ScaledTanh::backward(dy, b, i);
        visit_parameters([&](const char*, auto&, auto& g) { g += before; }); // += instead of =
        return dx;
    }
};
struct Drifts : ScaledTanh<double> {
    using ScaledTanh::ScaledTanh;
    template <class E>
    const matrix<double>& forward(E&& x, std::size_t index = standalone)
    {
        out_ = ScaledTanh::forward(std::forward<E>(x), index) + 1e-3 * static_cast<double>(calls_++);
        return out_;
    }
    matrix<double> out_;
    int calls_ = 0;
};
// A fused forward hook that forgets the bias.
struct BadFusedSigmoid : Sigmoid<double> {
    const matrix<double>& activate_in_place(const double*) { return Sigmoid<double>::activate_in_place(nullptr); }
};

// An infer() that forgets the activation.
struct BadInferSigmoid : Sigmoid<double> {
    template <class E>
    void infer(const E& x, matrix<double>& out, scratch<double>&, std::size_t) const
    {
        out = x;
    }
};
// A spec() that names a tensor the layer does not visit.
struct MisdescribedTanh : ScaledTanh<double> {
    using ScaledTanh::ScaledTanh;
    LayerSpec spec() const { return {"ScaledTanh", {}, {{"scale", true, false}, {"extra", false, false}}}; }
};

// A layer of one's own with both fusion hooks, written exactly as the concept states them (no
// default arguments): Tanh by composition, counting the calls Network makes into each hook.
struct CountingTanh {
    using value_type = double;
    std::string name() const { return "CountingTanh"; }
    std::size_t input_rows() const { return 0; }
    std::size_t output_rows(std::size_t in) const { return in; }
    template <class E>
    const matrix<double>& forward(E&& x, std::size_t index = standalone)
    {
        ++plain_forward;
        return t.forward(std::forward<E>(x), index);
    }
    matrix<double>& backward(const matrix<double>& dA, bool input_grad = true, std::size_t index = standalone)
    {
        ++plain_backward;
        return t.backward(dA, input_grad, index);
    }
    std::size_t parameter_count() const { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }
    matrix<double>& output_for(std::size_t rows, std::size_t n) { return t.output_for(rows, n); }
    const matrix<double>& activate_in_place(const double* bias)
    {
        ++fused_forward;
        return t.activate_in_place(bias);
    }
    matrix<double>& backward_bias_sum(matrix<double>& dOut, vector<double>& db, std::size_t index)
    {
        ++fused_backward;
        return t.backward_bias_sum(dOut, db, index);
    }
    Tanh<double> t;
    int plain_forward = 0, plain_backward = 0, fused_forward = 0, fused_backward = 0;
};
// A policy() of its own does not make a layer one of mininn's elementwise activations.
struct TanhWithPolicy : CountingTanh {
    detail::tanh_policy policy() const { return {}; }
};

template <class L>
void expect_passes(const L& layer, const matrix<double>& X)
{
    const LayerReport r = check_layer(layer, X);
    CHECK_MESSAGE(r.passed(), r.str());
}

std::string failed_checks(const LayerReport& r)
{
    std::string s;
    for (const auto& c : r.checks)
        if (!c.passed)
            s += c.what + ";";
    return s;
}

} // namespace

// Dense is checked in test_dense.cpp, in double and float.
TEST_CASE("every other layer passes check_layer, with its fused hooks checked against the plain path")
{
    Rng rng(1);
    const auto X = test::random_matrix<double>(4, 6, rng);
    expect_passes(Sigmoid<double>{}, X);
    expect_passes(Tanh<double>{}, X);
    expect_passes(ReLU<double>{}, X);
    expect_passes(LeakyReLU<double>(0.1), X);
    expect_passes(Identity<double>{}, X);
    expect_passes(Softmax<double>{}, X);
    const LayerReport sig = check_layer(Sigmoid<double>{}, X);
    CHECK_MESSAGE_CONTAINS(sig.str(), "Sigmoid: fused bias + forward (activate_in_place): ok");
    CHECK_MESSAGE_CONTAINS(sig.str(), "Sigmoid: fused backward + bias sum (backward_bias_sum): ok");
    CHECK_MESSAGE_CONTAINS(sig.str(), "Sigmoid: infer equals forward in evaluation mode: ok");
    // Dropout is checked in training mode, its infer against forward in evaluation mode.
    const LayerReport drop = check_layer(Dropout<double>(0.4, 2), X);
    CHECK_MESSAGE(drop.passed(), drop.str());
    CHECK_MESSAGE_CONTAINS(drop.str(), "Dropout(0.4): infer equals forward in evaluation mode: ok");
}

TEST_CASE("a layer written from the concept alone passes check_layer and trains in a Network")
{
    Rng rng(2);
    const auto X = test::random_matrix<double>(3, 5, rng);
    expect_passes(ScaledTanh<double>(3), X);
    Network net{Dense<double>(3, 4, init::xavier, rng), ScaledTanh<double>(4), Dense<double>(4, 2, init::xavier, rng),
                Softmax{}};
    CHECK(net.parameter_count() == 3 * 4 + 4 + 4 + 4 * 2 + 2);
    const auto report = check_gradients(net, CrossEntropy{}, X, label_vector{0, 1, 1, 0, 1});
    CHECK_MESSAGE(report.passed(), report.str());
    Adam<double> opt(0.05);
    FitOptions fo;
    fo.epochs = 60;
    fo.batch_size = 0;
    fo.verbose = Verbosity::silent;
    const History h = fit(net, CrossEntropy{}, opt, X, label_vector{0, 1, 1, 0, 1}, fo);
    CHECK(h.epochs.back().loss < 0.2 * h.epochs.front().loss);
    CHECK(h.epochs.back().accuracy == 1.0);
}

TEST_CASE("check_layer catches a wrong backward, accumulating gradients, a drifting forward and a bad fused hook")
{
    Rng rng(3);
    const auto X = test::random_matrix<double>(3, 5, rng);
    const LayerReport wrong = check_layer(WrongBackward(3), X);
    CHECK_FALSE(wrong.passed());
    CHECK(failed_checks(wrong) == "gradient of input;");
    CHECK_MESSAGE_CONTAINS(wrong.str(), "ScaledTanh: gradient of input: FAILED (rel error 0.33");

    const LayerReport acc = check_layer(Accumulates(3), X);
    CHECK(failed_checks(acc) == "backward overwrites gradients;gradient of s;");

    const LayerReport drift = check_layer(Drifts(3), X);
    CHECK_MESSAGE_CONTAINS(failed_checks(drift), "forward repeatable;");

    const LayerReport fused = check_layer(BadFusedSigmoid{}, X);
    CHECK(failed_checks(fused) == "fused bias + forward (activate_in_place);");

    const LayerReport infer = check_layer(BadInferSigmoid{}, X);
    CHECK(failed_checks(infer) == "infer equals forward in evaluation mode;");
    CHECK_MESSAGE_CONTAINS(infer.str(), "Sigmoid: infer equals forward in evaluation mode: FAILED (max difference");

    const LayerReport spec = check_layer(MisdescribedTanh(3), X);
    CHECK(failed_checks(spec) == "spec lists the tensors the layer visits;");
    CHECK_MESSAGE_CONTAINS(spec.str(), "spec lists the tensors the layer visits: FAILED (");

    const LayerReport rows = check_layer(ScaledTanh<double>(4), X);
    CHECK(failed_checks(rows) == "input rows;");
    CHECK_MESSAGE_CONTAINS(rows.str(), "input rows: FAILED (input_rows() is 4, X has 3)");
}

TEST_CASE("a layer's own fusion hooks, as the concept writes them, are found, used by Network and checked")
{
    static_assert(detail::takes_bias<CountingTanh>::value && detail::sums_bias_grad<CountingTanh>::value,
                  "the hooks as documented must be detected");
    static_assert(!detail::is_elementwise<CountingTanh>::value && !detail::is_elementwise<TanhWithPolicy>::value,
                  "only mininn's activations run inside the fused head");
    static_assert(detail::is_elementwise<Tanh<double>>::value && detail::is_elementwise<LeakyReLU<float>>::value);
    static_assert(!detail::takes_bias<ScaledTanh<double>>::value && !detail::sums_bias_grad<ScaledTanh<double>>::value);

    Rng rng(4);
    const auto X = test::random_matrix<double>(3, 7, rng);
    const label_vector y{0, 1, 2, 1, 0, 2, 1};
    const LayerReport r = check_layer(CountingTanh{}, X);
    CHECK_MESSAGE(r.passed(), r.str());
    CHECK_MESSAGE_CONTAINS(r.str(), "CountingTanh: fused bias + forward (activate_in_place): ok");
    CHECK_MESSAGE_CONTAINS(r.str(), "CountingTanh: fused backward + bias sum (backward_bias_sum): ok");

    Dense<double> d1(3, 5, init::xavier, rng), d2(5, 3, init::xavier, rng);
    Network mine{d1, TanhWithPolicy{}, d2, Softmax{}};
    Network ref{d1, Tanh<double>{}, d2, Softmax{}};
    const double l_mine = mine.compute_gradients(CrossEntropy{}, X, y);
    const double l_ref = ref.compute_gradients(CrossEntropy{}, X, y);
    CHECK(l_mine == doctest::Approx(l_ref).epsilon(1e-13));
    const auto& hooks = mine.layer<1>();
    CHECK(hooks.fused_forward == 1);  // Dense writes W X into its buffer, then bias + tanh in one pass
    CHECK(hooks.fused_backward == 1); // tanh' and the Dense bias gradient in one pass
    CHECK(hooks.plain_forward == 0);
    CHECK(hooks.plain_backward == 0);
    std::vector<double> g_mine, g_ref;
    mine.visit_parameters([&](auto&, auto& g) { g_mine.insert(g_mine.end(), g.begin(), g.end()); });
    ref.visit_parameters([&](auto&, auto& g) { g_ref.insert(g_ref.end(), g.begin(), g.end()); });
    REQUIRE(g_mine.size() == g_ref.size());
    double worst = 0;
    for (std::size_t i = 0; i < g_mine.size(); ++i)
        worst = std::max(worst, std::abs(g_mine[i] - g_ref[i]));
    CHECK(worst < 1e-14);
    CHECK(worst > -1); // a NaN fails the line above
    // Not in the fused head, so the layers still hold the forward pass and backward() may run;
    // the same network with mininn's Tanh ran the fused head, which consumes it.
    CHECK_NOTHROW(mine.backward(matrix<double>(mine.output() - one_hot<double>(y, 3)) / 7.0));
    CHECK_THROWS_WITH_AS(ref.backward(matrix<double>(xt::zeros<double>({3, 7}))), doctest::Contains("consumed"),
                         std::logic_error);
    const auto report = check_gradients(mine, CrossEntropy{}, X, y);
    CHECK_MESSAGE(report.passed(), report.str());
}
