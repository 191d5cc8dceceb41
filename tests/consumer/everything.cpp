// Instantiates every public component in both scalar types, so that the consumer builds
// (Debug and Release, with and without -march=native, under -Wall -Wextra -Werror) compile
// every kernel a user can reach; then checks that each configuration trains and round-trips.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include <mininn/mininn.hpp>

namespace {

using namespace mininn;

int failures = 0;
void expect(bool ok, const std::string& what)
{
    if (!ok) {
        std::printf("everything: FAILED: %s\n", what.c_str());
        ++failures;
    }
}

// Three classes around three centres in 4 dimensions.
template <class T>
void blobs(std::size_t n, Rng& rng, matrix<T>& X, label_vector& y)
{
    X = matrix<T>({4, n});
    y = xt::zeros<std::size_t>({n});
    for (std::size_t j = 0; j < n; ++j) {
        y(j) = j % 3;
        for (std::size_t i = 0; i < 4; ++i)
            X(i, j) = static_cast<T>((i % 3 == y(j) ? 2.0 : 0.0) + rng.normal() * 0.5);
    }
}

template <class T, class Hidden, class Opt>
void train_one(const char* name, Hidden hidden, Opt opt, const matrix<T>& X, const label_vector& y, Rng& rng)
{
    Network net{Dense<T>(4, 12, init::xavier, rng), hidden, Dense<T>(12, 3, init::xavier, rng), Softmax{}};
    net.set_threads(2);
    FitOptions o;
    o.epochs = 30;
    o.batch_size = 16;
    o.seed = 3;
    o.validation_split = 0.2;
    o.verbose = Verbosity::silent;
    const History h = fit(net, CrossEntropy{}, opt, X, y, o);
    const double acc = evaluate(net, CrossEntropy{}, X, y).accuracy;
    expect(h.epochs.size() == 30 && acc > 0.9, std::string(name) + " trains (accuracy " + std::to_string(acc) + ")");

    // Full-batch steps through the fused head, one-hot labels, and the gradient check.
    matrix<T> Y = xt::zeros<T>({std::size_t(3), X.shape()[1]});
    for (std::size_t j = 0; j < y.size(); ++j)
        Y(y(j), j) = T(1);
    const T c0 = net.compute_gradients(CrossEntropy{}, X, Y);
    opt.step(net);
    expect(std::isfinite(static_cast<double>(c0)), std::string(name) + " one-hot step");
    const GradientReport report = check_gradients(net, CrossEntropy{}, matrix<T>(xt::view(X, xt::all(), xt::range(0, 8))),
                                                  label_vector(xt::view(y, xt::range(0, 8))));
    static_cast<void>(report);

    // Save, load into a fresh network, and predict the same classes.
    const std::string path = "/tmp/mininn-everything-" + std::to_string(::getpid()) + "-" + name + ".npz";
    save(net, path);
    Network copy{Dense<T>(4, 12, init::normal, rng), hidden, Dense<T>(12, 3, init::normal, rng), Softmax{}};
    load(copy, path);
    // The same file as a Model, with no network type, and the network frozen: the same classes,
    // through the one-sample kernel and through BLAS.
    Model<T> model = load_model<T>(path);
    std::remove(path.c_str());
    const label_vector p1 = net.predict(X), p2 = copy.predict(X);
    expect(accuracy(p1, p2) == 1.0, std::string(name) + " save/load");
    model.set_small_batch_limit(0);
    const label_vector p3 = model.predict(X);
    model.set_small_batch_limit(X.shape()[1] + 1);
    const label_vector p4 = freeze(net).predict(sparse_matrix<T>(X)), p5 = model.predict(X);
    expect(accuracy(p1, p3) > 0.99 && accuracy(p1, p4) > 0.99 && accuracy(p1, p5) > 0.99, std::string(name) + " Model");
    if (failures == 0 && std::string(name) == "float-sigmoid-gd")
        std::printf("%s", classification_report(y, p1).c_str());
    static_cast<void>(confusion_matrix(y, p1));
    static_cast<void>(net.summary());
}

template <class T>
void all_of(const char* dtype)
{
    Rng rng(7);
    matrix<T> X;
    label_vector y;
    blobs<T>(600, rng, X, y);
    const std::string d = dtype;
    train_one<T>((d + "-sigmoid-gd").c_str(), Sigmoid<T>{}, GD<T>(T(0.5)), X, y, rng);
    train_one<T>((d + "-tanh-momentum").c_str(), Tanh<T>{}, Momentum<T>(T(0.05), T(0.9), true), X, y, rng);
    train_one<T>((d + "-relu-adam").c_str(), ReLU<T>{}, Adam<T>(T(1e-2)), X, y, rng);
    train_one<T>((d + "-leaky-adamw").c_str(), LeakyReLU<T>(0.1), Adam<T>(T(1e-2), T(0.9), T(0.999), T(1e-8), T(1e-3)), X,
                 y, rng);
    train_one<T>((d + "-identity-gd").c_str(), Identity<T>{}, GD<T>(T(0.1)), X, y, rng);

    // The plain (unfused) path: Softmax on its own, the loss on probabilities.
    Softmax<T> s;
    const matrix<T>& P = s.forward(xt::view(X, xt::range(0, 3), xt::all()));
    const T v = CrossEntropy{}.value(P, y);
    expect(std::isfinite(static_cast<double>(v)), d + " Softmax + CrossEntropy::value");

    // Binary classification (Sigmoid + BinaryCrossEntropy) and regression (MeanSquaredError),
    // with label and matrix targets, metrics and predict_proba.
    label_vector yb(y.shape());
    matrix<T> Yr({std::size_t(1), X.shape()[1]});
    for (std::size_t j = 0; j < y.size(); ++j) {
        yb(j) = y(j) == 0 ? 1 : 0;
        Yr(0, j) = X(0, j) - T(0.5) * X(1, j);
    }
    FitOptions o;
    o.epochs = 20;
    o.batch_size = 32;
    o.verbose = Verbosity::silent;
    Network bin{Dense<T>(4, 8, init::xavier, rng), ReLU<T>{}, Dense<T>(8, 1, init::xavier, rng), Sigmoid<T>{}};
    Adam<T> ab(T(1e-2));
    fit(bin, BinaryCrossEntropy{}, ab, X, yb, o);
    const Scores sb = evaluate(bin, BinaryCrossEntropy{}, X, yb);
    expect(sb.accuracy > 0.9 && accuracy(yb, bin.predict(X)) == sb.accuracy, d + " binary (accuracy " +
                                                                                 std::to_string(sb.accuracy) + ")");
    expect(bin.predict_proba(X).shape()[0] == 1, d + " predict_proba");
    Network reg{Dense<T>(4, 8, init::xavier, rng), Tanh<T>{}, Dense<T>(8, 1, init::xavier, rng)};
    Adam<T> ar(T(1e-2));
    fit(reg, MeanSquaredError{}, ar, X, Yr, o);
    const Scores sr = evaluate(reg, MeanSquaredError{}, X, Yr, 100);
    expect(sr.r2 > 0.9 && std::abs(sr.r2 - r2_score(Yr, matrix<T>(reg.forward(X)))) < 1e-4,
           d + " regression (r2 " + std::to_string(sr.r2) + ")");
    expect(check_gradients(reg, MeanSquaredError{}, X, Yr).checks.size() > 0, d + " regression gradient check");

    // check_layer, weight decay and a schedule.
    LayerCheckOptions lo;
    lo.step = sizeof(T) == 4 ? 1e-2 : 1e-6;
    lo.tolerance = sizeof(T) == 4 ? 2e-2 : 1e-6;
    const LayerReport lr = check_layer(Dense<T>(4, 3, init::xavier, rng), matrix<T>(xt::view(X, xt::all(), xt::range(0, 6))), lo);
    expect(lr.passed(), d + " check_layer(Dense): " + lr.str());
    expect(check_layer(Tanh<T>{}, matrix<T>(xt::view(X, xt::all(), xt::range(0, 6))), lo).passed(), d + " check_layer(Tanh)");
    Momentum<T> decayed(T(0.05), T(0.9), false, WeightDecay{1e-3});
    o.schedule = Schedule::cosine(20, 2);
    const History hs = fit(reg, MeanSquaredError{}, decayed, X, Yr, o);
    expect(hs.epochs.back().learning_rate < hs.epochs[2].learning_rate, d + " cosine schedule");

    // Shuffling helpers.
    const auto order = permutation(X.shape()[1], rng);
    permute_columns_in_place(X, order);
    permute_in_place(y, order);
}

} // namespace

int main()
{
    all_of<float>("float");
    all_of<double>("double");
    std::printf("everything: %s (%s, %s)\n", failures == 0 ? "ok" : "FAILED", detail::simd_isa(), blas_info().config.c_str());
    return failures == 0 ? 0 : 1;
}
