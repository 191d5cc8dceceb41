// Model: a network frozen for inference, from freeze() and from files, shared by threads.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "helpers.hpp"

using namespace mininn;

namespace {

template <class A, class B>
double max_rel(const A& a, const B& b)
{
    REQUIRE(a.shape() == b.shape());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = static_cast<double>(a.data()[i]), y = static_cast<double>(b.data()[i]);
        worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(x) + std::abs(y)));
    }
    return worst;
}

// X [d, n] with about 70 % zeros, as images have.
template <class T>
matrix<T> images(std::size_t d, std::size_t n, Rng& rng)
{
    matrix<T> X = xt::zeros<T>({d, n});
    for (auto& v : X)
        if (rng.uniform() < 0.3)
            v = static_cast<T>(rng.normal());
    return X;
}

// The model's outputs against the network's on X, through the one-sample kernel and through BLAS.
template <class Net, class T>
void expect_matches(const Net& net, const matrix<T>& X, double tol)
{
    Model<T> m = freeze(net);
    const matrix<T> want = net.infer(X);
    m.set_small_batch_limit(X.shape()[1] + 1);
    CHECK(max_rel(m.infer(X), want) <= tol);
    m.set_small_batch_limit(0);
    CHECK(max_rel(m.infer(X), want) <= tol);
    const sparse_matrix<T> S(X);
    CHECK(max_rel(m.infer(S), want) <= tol);
}

std::string temp_path(const char* name)
{
    return std::string("/tmp/mininn_test_model_") + name;
}

} // namespace

TEST_CASE("a frozen model gives the network's outputs: every activation, Dropout, odd widths, float and double")
{
    Rng rng(1);
    const auto Xd = images<double>(13, 37, rng);
    const matrix<float> Xf = xt::cast<float>(Xd);
    Network a{Dense<double>(13, 17, init::normal, rng),
              Sigmoid{},
              Dropout(0.5, 2),
              Dense<double>(17, 5, init::he, rng),
              Tanh{},
              Dense<double>(5, 3, init::xavier, rng),
              Softmax{}};
    expect_matches(a, Xd, 1e-12);
    Network b{Dense<float>(13, 9, init::he, rng),     ReLU{},   Dense<float>(9, 33, init::he, rng), LeakyReLU(0.1),
              Dense<float>(33, 1, init::xavier, rng), Sigmoid{}};
    expect_matches(b, Xf, 1e-6);
    Network c{Dense<double>(13, 4, init::xavier, rng), Dense<double>(4, 2, init::xavier, rng), Identity{}};
    expect_matches(c, Xd, 1e-12);
    Network d{Dense<float>(13, 16, init::normal, rng), Sigmoid{}, Tanh{}, Dense<float>(16, 10, init::normal, rng)};
    expect_matches(d, Xf, 1e-6); // an activation of its own, and a linear end
    CHECK(freeze(a).summary() ==
          "op 0: Dense 13→17 + Sigmoid\nop 1: Dense 17→5 + Tanh\nop 2: Dense 5→3\nop 3: Softmax\n");
    CHECK(freeze(d).summary() == "op 0: Dense 13→16 + Sigmoid\nop 1: Tanh\nop 2: Dense 16→10\n");
    CHECK(freeze(b).input_features() == 13);
    CHECK(freeze(b).output_features() == 1);
}

TEST_CASE("a frozen CNN gives the network's outputs and classes, from freeze and from a saved file")
{
    Rng rng(21);
    Network net{Conv2D<float>(Shape(2, 9, 8), 5, 3, init::he, rng, {1, 1}),
                ReLU{},
                MaxPool2D(Shape(5, 9, 8), 3, 2, 1),
                Conv2D<float>(Shape(5, 5, 4), 4, 2, init::he, rng, Conv2DOptions{}.without_bias()),
                Tanh{},
                AvgPool2D(Shape(4, 4, 3), 2, 1, 1, false),
                Flatten{},
                Dropout(0.3),
                Dense<float>(4 * 5 * 4, 3, init::xavier, rng),
                Softmax{}};
    const auto X = test::random_matrix<float>(2 * 9 * 8, 150, rng); // wider than the one-sample kernel's limit
    const matrix<float> want = net.predict_proba(X);
    const Model<float> m = freeze(net);
    CHECK(m.input_features() == 144);
    CHECK(m.output_features() == 3);
    CHECK(max_rel(m.infer(X), want) <= 1e-6); // the Dense and Softmax kernels are the Model's own
    CHECK(m.predict(X) == net.predict(X));
    const matrix<float> one = xt::view(X, xt::all(), xt::range(0, 1));
    CHECK(max_rel(m.infer(one), net.predict_proba(one)) <= 1e-6);
    CHECK(m.summary() == "op 0: Conv2D 2×9×8→5×9×8 (3×3, stride 1, padding 1)\nop 1: ReLU\n"
                         "op 2: MaxPool2D 5×9×8→5×5×4 (3×3, stride 2, padding 1)\n"
                         "op 3: Conv2D 5×5×4→4×4×3 (2×2, stride 1, padding 0, no bias)\nop 4: Tanh\n"
                         "op 5: AvgPool2D 4×4×3→4×5×4 (2×2, stride 1, padding 1, padding not counted)\n"
                         "op 6: Dense 80→3\nop 7: Softmax\n");
    const std::string path = "test_model_cnn.npz";
    save(net, path);
    const Model<float> loaded = load_model<float>(path);
    CHECK(loaded.infer(X) == m.infer(X));
    CHECK(loaded.tensors() == m.tensors());
    std::remove(path.c_str());

    using Tensors = std::vector<std::vector<std::vector<float>>>;
    const LayerSpec conv = net.layer<0>().spec();
    CHECK(test::message_of<shape_error>([&] {
              Model<float>({conv}, Tensors{{std::vector<float>(90), std::vector<float>(4)}});
          }) == "Model: layer 0 (Conv2D): expected tensors W [5, 18] and b [5]");
    LayerSpec bad = conv;
    bad.attributes[4].second = 1.5; // the kernel
    CHECK(test::message_of<std::invalid_argument>([&] { Model<float>({bad}, Tensors{{}}); }) ==
          "Model: layer 0 (Conv2D): kernel 1.5 is not an integer of at least 1");
    bad.attributes[4].second = 12;
    CHECK(test::message_of<std::invalid_argument>([&] {
              Model<float>({bad}, Tensors{{std::vector<float>(5 * 288), std::vector<float>(5)}});
          }) == "Model: layer 0 (Conv2D): Conv2D: a 12×12 window does not fit the image 2×9×8 padded by 1");
    CHECK(test::message_of<shape_error>([&] { Model<float>({net.layer<2>().spec()}, Tensors{{}}, 100); }) ==
          "Model: layer 0 (MaxPool2D): takes 360 values a sample but the input has 100");
}

TEST_CASE("a frozen network folds each BatchNorm after a Dense or Conv2D into it and runs the other norms")
{
    Rng rng(31);
    Network net{Conv2D<float>(Shape(1, 6, 6), 3, 3, init::he, rng, Conv2DOptions{}.without_bias()),
                BatchNorm<float>(Shape(3, 4, 4)),
                ReLU{},
                MaxPool2D(Shape(3, 4, 4), 2),
                Flatten{},
                BatchNorm<float>(Shape(12)), // after a pool: it stays
                Dense<float>(12, 8, init::he, rng),
                BatchNorm<float>(Shape(8)),
                Tanh{},
                LayerNorm<float>(Shape(8)),
                Dense<float>(8, 3, init::xavier, rng),
                Softmax{}};
    // statistics and scales far from their initial 0 and 1, as after training
    auto randomize = [&](auto& bn) {
        for (auto& v : bn.gamma())
            v = float(1 + 0.5 * rng.normal());
        for (auto& v : bn.beta())
            v = float(0.5 * rng.normal());
        for (auto& v : bn.running_mean())
            v = float(rng.normal());
        for (auto& v : bn.running_var())
            v = float(0.2 + rng.uniform(0, 2));
    };
    randomize(net.layer<1>());
    randomize(net.layer<5>());
    randomize(net.layer<7>());
    for (auto& v : net.layer<9>().gamma())
        v = float(1 + 0.5 * rng.normal());
    const auto X = test::random_matrix<float>(36, 100, rng);
    const matrix<float> want = net.predict_proba(X);
    const Model<float> m = freeze(net);
    CHECK(m.summary() == "op 0: Conv2D 1×6×6→3×4×4 (3×3, stride 1, padding 0)\nop 1: ReLU\n"
                         "op 2: MaxPool2D 3×4×4→3×2×2 (2×2, stride 2)\nop 3: BatchNorm 12\n"
                         "op 4: Dense 12→8 + Tanh\nop 5: LayerNorm 8\nop 6: Dense 8→3\nop 7: Softmax\n");
    CHECK(max_rel(m.infer(X), want) <= 1e-5);
    CHECK(m.predict(X) == net.predict(X));
    const matrix<float> one = xt::view(X, xt::all(), xt::range(0, 1)); // the one-sample kernel
    CHECK(max_rel(m.infer(one), net.predict_proba(one)) <= 1e-5);
    // specs() describe what runs: the folded BatchNorms are gone, the Conv2D gained a bias
    REQUIRE(m.specs().size() == 10);
    CHECK(m.specs()[0].attribute("bias") == 1);
    CHECK(m.specs()[1].op == "ReLU");
    const Model<float> again(m.specs(), m.tensors());
    CHECK(again.infer(X) == m.infer(X));

    const std::string path = "test_model_norms.npz";
    save(net, path);
    const Model<float> loaded = load_model<float>(path);
    CHECK(loaded.infer(X) == m.infer(X));
    std::remove(path.c_str());

    using Tensors = std::vector<std::vector<std::vector<float>>>;
    const LayerSpec dense = net.layer<6>().spec(), bn = net.layer<7>().spec();
    const std::vector<std::vector<float>> dense_tensors = {std::vector<float>(96, 0.5f), std::vector<float>(8)};
    std::vector<float> ones(8, 1.f), negative(8, 1.f);
    negative[3] = -1;
    CHECK(test::message_of<std::invalid_argument>([&] {
              Model<float>({dense, bn}, Tensors{dense_tensors, {ones, ones, ones, negative}});
          }) == "Model: layer 1 (BatchNorm): a running variance is negative (-1)");
    CHECK(test::message_of<shape_error>([&] {
              Model<float>({bn}, Tensors{{ones, ones, ones}});
          }) == "Model: layer 0 (BatchNorm): expected 4 tensors of 8 values (gamma, beta, running_mean, running_var)");
    std::vector<float> nan(8, 1.f);
    nan[2] = NAN;
    CHECK(test::message_of<std::invalid_argument>([&] {
              Model<float>({bn}, Tensors{{ones, ones, nan, ones}});
          }) == "Model: layer 0 (BatchNorm): running_mean holds nan at element 2");
    CHECK(test::message_of<shape_error>([&] {
              Model<float>({bn}, Tensors{{ones, ones, ones, ones}}, 9);
          }) == "Model: layer 0 (BatchNorm): takes 8 values a sample but the input has 9");
}

TEST_CASE("hand-computed: a Model skips zero inputs and adds the bias and the activation")
{
    const matrix<double> W = {{1, -2, 0.5}, {0, 3, -1}};
    const vector<double> bias = {0.25, -4};
    Network net{Dense<double>(W, bias), ReLU{}};
    const Model<double> m = freeze(net);
    const matrix<double> X = {{2, 0}, {0, 1}, {4, 0}};
    const matrix<double> want = {{4.25, 0},
                                 {0, 0}}; // relu(W X + b): [2 + 2 + 0.25, -4 - 4 -> 0], [-2 + 0.25 -> 0, 3 - 4 -> 0]
    CHECK(m.infer(X) == want);
    double y[2];
    const double x[3] = {0, 0, 0};
    m.infer_one(x, y);
    CHECK(y[0] == 0.25);
    CHECK(y[1] == 0);
}

TEST_CASE("Model inputs: expressions, one sample by pointer, sparse batches, its own output, and shape errors")
{
    Rng rng(2);
    Network net{Dense<float>(6, 6, init::normal, rng), Tanh{}, Dense<float>(6, 6, init::normal, rng), Softmax{}};
    const Model<float> m = freeze(net);
    const auto X = images<float>(6, 40, rng);
    const matrix<float> want = m.infer(X);
    // A sample's last bits may depend on where its column falls in softmax's SIMD sweep.
    const matrix<float> part = xt::view(want, xt::all(), xt::range(3, 9));
    CHECK(max_rel(m.infer(xt::view(X, xt::all(), xt::range(3, 9))), part) < 1e-6);
    CHECK(m.infer(xt::view(X, xt::all(), xt::range(3, 9))) ==
          m.infer(matrix<float>(xt::view(X, xt::all(), xt::range(3, 9)))));
    std::vector<float> x(6), y(6);
    for (std::size_t i = 0; i < 6; ++i)
        x[i] = X(i, 7);
    m.infer_one(x.data(), y.data());
    for (std::size_t i = 0; i < 6; ++i)
        CHECK(y[i] == doctest::Approx(want(i, 7)).epsilon(1e-6));
    const sparse_matrix<float> S(X);
    const std::vector<std::size_t> idx{9, 2, 39};
    const matrix<float> picked = m.infer(S.select_columns(idx.data(), idx.size()));
    for (std::size_t k = 0; k < 3; ++k)
        for (std::size_t i = 0; i < 6; ++i)
            CHECK(picked(i, k) == doctest::Approx(want(i, idx[k])).epsilon(1e-6));
    matrix<float> inout = X; // [6, n] in and out: the model reads a copy
    m.infer(inout, inout);
    CHECK(inout == want);
    CHECK(test::message_of<shape_error>([&] {
              m.infer(matrix<float>(xt::zeros<float>({5, 2})));
          }) == "Model: expected input [6, n] with n >= 1 (samples are columns), got [5, 2]");
    CHECK(test::message_of<shape_error>([&] {
              m.infer(matrix<float>(xt::zeros<float>({6, 0})));
          }) == "Model: expected input [6, n] with n >= 1 (samples are columns), got [6, 0]");
}

TEST_CASE("predict and predict_proba agree with the network's; a regression has neither")
{
    Rng rng(3);
    const auto X = images<double>(8, 50, rng);
    Network cls{Dense<double>(8, 7, init::normal, rng), Sigmoid{}, Dense<double>(7, 4, init::normal, rng), Softmax{}};
    CHECK(freeze(cls).predict(X) == cls.predict(X));
    CHECK(max_rel(freeze(cls).predict_proba(X), cls.predict_proba(X)) < 1e-12);
    Network bin{Dense<double>(8, 1, init::normal, rng), Sigmoid{}};
    CHECK(freeze(bin).predict(X) == bin.predict(X));
    Network reg{Dense<double>(8, 1, init::normal, rng)};
    CHECK(test::message_of<std::logic_error>([&] { freeze(reg).predict(X); }) ==
          "Model::predict: the model has one output and does not end in Sigmoid, so there is no class to pick; use "
          "infer() for a real-valued output");
    CHECK(test::message_of<std::logic_error>([&] { freeze(reg).predict_proba(X); }) ==
          "Model::predict_proba: the model does not end in Softmax or Sigmoid, so its outputs are not "
          "probabilities; use infer()");
    // What a tool may ask before it calls either (examples/predict and examples/serve do).
    Network multi{Dense<double>(8, 3, init::normal, rng), Tanh{}}; // classes by the largest, not probabilities
    CHECK(freeze(cls).predicts_classes());
    CHECK(freeze(cls).outputs_probabilities());
    CHECK(freeze(bin).predicts_classes());
    CHECK(freeze(bin).outputs_probabilities());
    CHECK_FALSE(freeze(reg).predicts_classes());
    CHECK_FALSE(freeze(reg).outputs_probabilities());
    CHECK(freeze(multi).predicts_classes());
    CHECK_FALSE(freeze(multi).outputs_probabilities());
}

TEST_CASE("a Model refuses specs it cannot run, naming the layer")
{
    using Tensors = std::vector<std::vector<std::vector<double>>>;
    const LayerSpec dense{"Dense", {{"in", 2}, {"out", 3}}, {{"W", true, true}, {"b", true, false}}};
    const std::vector<std::vector<double>> wb{std::vector<double>(6, 1.0), std::vector<double>(3, 0.0)};
    CHECK(test::message_of<std::invalid_argument>([&] {
              Model<double>({dense, LayerSpec{"Centre", {}, {}}}, Tensors{wb, {}});
          }) == "Model: layer 1 (Centre): has no frozen form; a Model holds Dense, Conv2D, MaxPool2D, AvgPool2D, "
                "BatchNorm, LayerNorm, Flatten, Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softmax, LogSoftmax and "
                "Dropout");
    CHECK(test::message_of<shape_error>([&] {
              Model<double>({dense, dense}, Tensors{wb, wb});
          }) == "Model: layer 1 (Dense): takes 2 features but the layer before gives 3");
    CHECK(test::message_of<shape_error>([&] { Model<double>({dense}, Tensors{{wb[0]}}); }) ==
          "Model: layer 0 (Dense): expected tensors W [3, 2] and b [3]");
    const LayerSpec half{"Dense", {{"in", 2.5}, {"out", 3}}, dense.tensors};
    CHECK(test::message_of<std::invalid_argument>([&] { Model<double>({half}, Tensors{wb}); }) ==
          "Model: layer 0 (Dense): sizes in 2.5 and out 3 are not positive integers");
    const std::vector<std::vector<double>> inf_w{{1, 2, 3, HUGE_VAL, 5, 6}, std::vector<double>(3, 0.0)};
    CHECK(test::message_of<std::invalid_argument>([&] { Model<double>({dense}, Tensors{inf_w}); }) ==
          "Model: layer 0 (Dense): W holds inf at element 3");
    const LayerSpec leaky{"LeakyReLU", {{"alpha", 1.5}}, {}};
    CHECK(test::message_of<std::invalid_argument>([&] {
              Model<double>({dense, leaky}, Tensors{wb, {}});
          }) == "Model: layer 1 (LeakyReLU): alpha must be in (0, 1), got 1.5");
    const LayerSpec relu_alpha{"ReLU", {{"alpha", 0.5}}, {}}; // an alpha on ReLU leaks nothing
    const Model<double> relu({dense, relu_alpha}, Tensors{{std::vector<double>{1, -1, -1, 1, 2, -2}, {0, 0, 0}}, {}});
    CHECK(relu.infer(matrix<double>{{1}, {2}}) == matrix<double>{{0}, {1}, {0}});
    CHECK(test::message_of<std::invalid_argument>([&] {
              Model<double>({LayerSpec{"Softmax", {}, {}}}, Tensors{{}});
          }) == "Model: no Dense, image or normalization layer and no input_features, so nothing fixes the input size");
    CHECK(test::message_of<shape_error>([&] { Model<double>({dense}, Tensors{wb}, 3); }) ==
          "Model: layer 0 (Dense): takes 2 features but the input has 3");
}

TEST_CASE("hand-computed: LogSoftmax, and models of activations alone given their input width")
{
    using Tensors = std::vector<std::vector<std::vector<double>>>;
    const LayerSpec log_softmax{"LogSoftmax", {}, {}};
    // log softmax(z) = z - log(sum exp z): for z = (0, ln 3) the sum is 4, so (-ln 4, ln 3 - ln 4);
    // for z = (1000, 0) the naive log(exp(-1000) / ...) would be log(0), the true value is -1000.
    const Model<double> ls({log_softmax}, Tensors{{}}, 2);
    const matrix<double> Z = {{0, 1000}, {std::log(3.0), 0}};
    const matrix<double> Y = ls.infer(Z);
    CHECK(Y(0, 0) == doctest::Approx(-std::log(4.0)).epsilon(1e-15));
    CHECK(Y(1, 0) == doctest::Approx(std::log(3.0) - std::log(4.0)).epsilon(1e-15));
    CHECK(Y(0, 1) == 0);
    CHECK(Y(1, 1) == -1000);
    CHECK(ls.predicts_classes());
    CHECK_FALSE(ls.outputs_probabilities()); // log-probabilities
    CHECK(ls.predict(Z) == label_vector{1, 0});
    CHECK(ls.summary() == "op 0: LogSoftmax\n");
    // after a Dense, float: the exponent of the softmax's outputs, to rounding
    const LayerSpec dense{"Dense", {{"in", 3}, {"out", 4}}, {{"W", true, true}, {"b", true, false}}};
    Rng rng(9);
    const auto Wb = test::random_matrix<float>(4, 4, rng);
    const std::vector<std::vector<float>> wb{std::vector<float>(Wb.begin(), Wb.begin() + 12),
                                             std::vector<float>(Wb.begin() + 12, Wb.end())};
    const Model<float> with_log({dense, log_softmax}, {wb, {}});
    const Model<float> with_softmax({dense, LayerSpec{"Softmax", {}, {}}}, {wb, {}});
    for (std::size_t n : {1, 70}) { // both kernels
        const auto X = test::random_matrix<float>(3, n, rng);
        const matrix<float> logp = with_log.infer(X), p = with_softmax.infer(X);
        for (std::size_t i = 0; i < logp.size(); ++i)
            CHECK(std::exp(logp.flat(i)) == doctest::Approx(p.flat(i)).epsilon(1e-6));
    }
    // activations alone, and the identity alone
    const Model<double> relu({LayerSpec{"ReLU", {}, {}}}, Tensors{{}}, 3);
    CHECK(relu.input_features() == 3);
    CHECK(relu.output_features() == 3);
    CHECK(relu.infer(matrix<double>{{-1}, {2}, {0.5}}) == matrix<double>{{0}, {2}, {0.5}});
    const Model<double> nothing({LayerSpec{"Dropout", {{"rate", 0.5}}, {}}}, Tensors{{}}, 2);
    CHECK(nothing.infer(matrix<double>{{-1, 4}, {2, 3}}) == matrix<double>{{-1, 4}, {2, 3}});
    CHECK(test::message_of<shape_error>([&] {
              relu.infer(matrix<double>{{1}, {2}});
          }).find("[3, n]") != std::string::npos);
}

TEST_CASE("load_model reads what save and checkpoints write, without the network's type, and refuses the rest")
{
    Rng rng(4);
    Network net{Dense<float>(10, 8, init::normal, rng), LeakyReLU(0.2), Dropout(0.1, 5),
                Dense<float>(8, 3, init::normal, rng), Softmax{}};
    const auto X = images<float>(10, 20, rng);
    const std::string path = temp_path("saved.npz"), ck = temp_path("checkpoint.npz");
    save(net, path);
    CHECK(max_rel(load_model<float>(path).infer(X), net.infer(X)) < 1e-6);
    Adam<float> opt(0.01f);
    net.compute_gradients(CrossEntropy{}, X, test::random_labels(20, 3, rng));
    opt.step(net);
    save_checkpoint(ck, net, opt);
    const Model<float> m = load_model<float>(ck);
    CHECK(max_rel(m.infer(X), net.infer(X)) < 1e-6);
    CHECK(m.predict(X) == net.predict(X));

    CHECK(test::message_of<io_error>([&] { load_model<double>(path); }) ==
          path + ": holds float32 weights; load it as Model<float>");
    CHECK(test::message_of<io_error>([&] {
              load_model<float>(temp_path("missing.npz"));
          }).rfind(temp_path("missing.npz") + ": cannot open the archive", 0) == 0);
    CHECK(test::message_of<io_error>([&] { load_model<float>(path, 100); }) ==
          path + ": larger than the 100 bytes load_model reads (pass a larger max_bytes)");
    {
        std::ifstream in(path, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(temp_path("cut.npz"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { load_model<float>(temp_path("cut.npz")); }),
                           "cut.npz: cannot open the archive");
    Network own{Dense<double>(10, 3, init::normal, rng), test::Centre(3)};
    save(own, temp_path("own.npz"));
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { load_model<double>(temp_path("own.npz")); }),
                           "own.npz: layer 1 (Centre) has tensors that a Model cannot hold");
    // Layers that together claim more weights than the file holds, each alone less: refused
    // before anything is set aside for the second.
    std::vector<std::pair<std::string, std::string>> entries;
    const std::vector<LayerSpec> two{{"Dense", {{"in", 60}, {"out", 50}}, {{"W", true, true}, {"b", true, false}}},
                                     {"Dense", {{"in", 50}, {"out", 60}}, {{"W", true, true}, {"b", true, false}}}};
    entries.emplace_back("architecture", detail::npy_bytes(detail::architecture_json(two, "float32")));
    entries.emplace_back("layer0.W", detail::npy_array(matrix<float>(xt::zeros<float>({50, 60}))));
    entries.emplace_back("layer0.b", detail::npy_array(vector<float>(xt::zeros<float>({50}))));
    entries.emplace_back("padding", detail::npy_array(vector<float>(xt::zeros<float>({1000}))));
    const std::string claims = detail::npz_build(entries, "claims");
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { load_model_npz<float>(claims, "claims.npz"); }),
                           "claims.npz: layer 1 (Dense) has tensors that a Model cannot hold or that the");
    for (const char* f : {"saved.npz", "checkpoint.npz", "cut.npz", "own.npz"})
        std::remove(temp_path(f).c_str());
}

TEST_CASE("the format corpus loads as Models (format 2) or says what it lacks (format 1)")
{
    const std::string dir = std::string(MININN_TEST_DIR) + "/data/";
    // The networks tests/data/format2/gen.cpp saved, built again from the same seeds.
    Rng rng(2026);
    Network a{Dense<float>(4, 3, init::xavier, rng), Sigmoid{}, Dense<float>(3, 2, init::xavier, rng), Softmax{}};
    Rng rng2(7);
    Network b{Dense<double>(3, 5, init::he, rng2), LeakyReLU<double>(0.2), Dropout<double>(0.25, 11),
              Dense<double>(5, 1, init::xavier, rng2), Identity{}};
    const matrix<double> X{{1, 2}, {3, 4}, {5, 6}};
    const matrix<float> Xa{{1, 0}, {0.5, 2}, {-1, 0}, {0, 3}};
    CHECK(load_model<float>(dir + "format2/format2_float_sigmoid.npz").infer(Xa) == freeze(a).infer(Xa));
    CHECK(load_model<double>(dir + "format2/format2_double_leaky_dropout.npz").infer(X) == freeze(b).infer(X));
    Adam<double> opt(0.01);
    b.compute_gradients(MeanSquaredError{}, X, matrix<double>{{0.5, -1}});
    opt.step(b);
    CHECK(load_model<double>(dir + "format2/format2_double_checkpoint.npz").infer(X) == freeze(b).infer(X));
    CHECK(test::message_of<io_error>([&] { load_model<float>(dir + "format1/format1_float_sigmoid.npz"); }) ==
          dir + "format1/format1_float_sigmoid.npz: written by mininn's architecture format 1, which records layer "
                "names but not their sizes; load it into its Network with load() and save() it again");
}

TEST_CASE("8 threads x 10^5 calls share one Model, each result the same bits as one thread's")
{
    Rng rng(5);
    Network net{Dense<float>(50, 32, init::normal, rng), Sigmoid{}, Dense<float>(32, 10, init::normal, rng), Softmax{}};
    const Model<float> m = freeze(net);
    std::vector<matrix<float>> X;
    std::vector<matrix<float>> want;
    for (std::size_t n : {1, 2, 5, 31, 64, 100}) { // both kernels
        X.push_back(images<float>(50, n, rng));
        want.push_back(m.infer(X.back()));
    }
    constexpr int threads = 8, calls = 100000;
    std::vector<int> wrong(threads, 0);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            matrix<float> out;
            for (int c = 0; c < calls; ++c) {
                const std::size_t k = static_cast<std::size_t>(c + t) % 4; // the narrow ones, mostly
                const std::size_t w = c % 50 == 0 ? 4 + static_cast<std::size_t>(c / 50) % 2 : k;
                m.infer(X[w], out); // the thread's own workspace
                wrong[static_cast<std::size_t>(t)] += out != want[w];
            }
        });
    for (auto& th : pool)
        th.join();
    CHECK(wrong == std::vector<int>(threads, 0));
}
