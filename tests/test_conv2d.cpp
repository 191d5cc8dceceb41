#include <doctest/doctest.h>
#include <mininn/mininn.hpp>

#include <xtensor/xview.hpp>

#include "helpers.hpp"
#include "torch_oracle.hpp"

using namespace mininn;

namespace {
// One 3×3 image 1..9, a 2×2 filter [[1, 2], [3, 4]], bias 0.5.
Conv2D<double> hand_layer(Conv2DOptions opt = {})
{
    matrix<double> W = {{1, 2, 3, 4}};
    vector<double> b = {0.5};
    return Conv2D<double>(Shape(1, 3, 3), W, b, 2, opt);
}
matrix<double> hand_image()
{
    matrix<double> X = xt::zeros<double>({9, 1});
    for (std::size_t i = 0; i < 9; ++i)
        X(i, 0) = double(i + 1);
    return X;
}

template <class T>
void check_oracle(const test::OracleCase& c, double tol)
{
    CAPTURE(c.name);
    CAPTURE(c.dtype);
    Conv2DOptions opt{c.attr("s"), c.attr("p"), c.attr("bias") == 1};
    const Shape in(c.attr("channels"), c.attr("height"), c.attr("width"));
    Conv2D<T> conv(in, c.matrix<T>("W"), c.has("b") ? c.vector<T>("b") : vector<T>(), c.attr("k"), opt);
    const matrix<T> X = c.matrix<T>("x");
    const matrix<T>& Y = conv.forward(X);
    REQUIRE(Y.shape() == c.matrix<T>("y").shape());
    CHECK(test::relative_error(Y, c.matrix<T>("y")) < tol);
    const matrix<T> dX = conv.backward(c.matrix<T>("g"));
    CHECK(test::relative_error(dX, c.matrix<T>("dx")) < tol);
    CHECK(test::relative_error(conv.weight_grad(), c.matrix<T>("dW")) < tol);
    if (c.has("b")) {
        CHECK(test::relative_error(conv.bias_grad(), c.vector<T>("db")) < tol);
    } else {
        CHECK(conv.bias_grad().size() == 0);
        CHECK(conv.parameter_count() == conv.weights().size());
    }
    // infer gives forward's bits
    matrix<T> out;
    scratch<T> work;
    conv.infer(X, out, work);
    CHECK(out == conv.forward(X));
}
} // namespace

TEST_CASE("Conv2D forward: a 2×2 filter over a 3×3 image, with and without padding and stride (hand-computed)")
{
    auto conv = hand_layer();
    CHECK(conv.output_shape(Shape(1, 3, 3)) == Shape(1, 2, 2));
    const matrix<double> want = {{37.5}, {47.5}, {67.5}, {77.5}}; // e.g. 1·1 + 2·2 + 4·3 + 5·4 + 0.5
    CHECK(conv.forward(hand_image()) == want);
    CHECK(conv.name() == "Conv2D 1×3×3→1×2×2 (2×2, stride 1, padding 0)");
    CHECK(conv.parameter_count() == 5);

    // padding 1, stride 2: the corners see 1, 2 + 3, 4 + 7 and 5 + 6 + 8 + 9 of the image
    auto padded = hand_layer(Conv2DOptions{}.with_stride(2).with_padding(1));
    const matrix<double> want_padded = {{0.5 + 4}, {0.5 + 2 * 3 + 3 * 4}, {0.5 + 4 * 2 + 7 * 4}, {77.5}};
    CHECK(padded.forward(hand_image()) == want_padded);
    CHECK(padded.output_shape(Shape(1, 3, 3)) == Shape(1, 2, 2));
}

TEST_CASE("Conv2D backward: dW, db and dX of a 2×2 filter over a 3×3 image (hand-computed)")
{
    auto conv = hand_layer();
    conv.forward(hand_image());
    const matrix<double> dX = conv.backward(xt::ones<double>({4, 1}));
    CHECK(conv.bias_grad()(0) == 4);                                           // db = sum of dY
    CHECK(conv.weight_grad() == matrix<double>{{12, 16, 24, 28}});             // dW[u, v] = sum of the x it met
    CHECK(dX == matrix<double>{{1}, {3}, {2}, {4}, {10}, {6}, {3}, {7}, {4}}); // dX = the weights over x
    // no input gradient: only the parameters' (a first layer)
    CHECK(conv.backward(xt::ones<double>({4, 1}), false).size() == 0);
    CHECK(conv.weight_grad() == matrix<double>{{12, 16, 24, 28}});
}

TEST_CASE("Conv2D equals PyTorch 1.13's Conv2d: output, input gradient, dW and db, float and double")
{
    for (const auto& c : test::oracle_cases("conv_")) {
        if (c.dtype == "float")
            check_oracle<float>(c, 1e-5);
        else
            check_oracle<double>(c, 1e-10);
    }
}

TEST_CASE("Conv2D passes check_layer: numeric gradients of the input and every parameter, odd shapes")
{
    Rng rng(4);
    struct Setting {
        Shape in;
        std::size_t filters, k;
        Conv2DOptions opt;
    };
    for (const Setting& s : {Setting{Shape(1, 5, 5), 2, 3, {}}, Setting{Shape(3, 7, 6), 4, 3, {2, 1}},
                             Setting{Shape(2, 4, 5), 3, 2, Conv2DOptions{}.with_padding(2).without_bias()},
                             Setting{Shape(2, 6, 6), 1, 6, {1, 0}}}) {
        Conv2D<double> conv(s.in, s.filters, s.k, init::he, rng, s.opt);
        CAPTURE(conv.name());
        const LayerReport r = check_layer(conv, test::random_matrix<double>(s.in.size(), 3, rng));
        CHECK_MESSAGE(r.passed(), r.str());
    }
}

TEST_CASE("Conv2D on a batch wider than its patch buffer gives the values of the same batch in slices")
{
    Rng rng(9);
    // 27 · 1024 patch values a sample: blocks of 151 samples, so 400 samples run in three blocks
    Conv2D<double> conv(Shape(3, 32, 32), 4, 3, init::he, rng, {1, 1});
    const auto X = test::random_matrix<double>(3 * 32 * 32, 400, rng);
    const auto dY = test::random_matrix<double>(4 * 32 * 32, 400, rng);
    const matrix<double> Y = conv.forward(X);
    const matrix<double> dX = conv.backward(dY);
    const matrix<double> dW = conv.weight_grad();
    const vector<double> db = conv.bias_grad();
    matrix<double> dW_sum = xt::zeros<double>(dW.shape());
    vector<double> db_sum = xt::zeros<double>(db.shape());
    for (std::size_t j0 = 0; j0 < 400; j0 += 100) {
        const matrix<double> Xs = xt::view(X, xt::all(), xt::range(j0, j0 + 100));
        const matrix<double> Ys = conv.forward(Xs);
        CHECK(test::relative_error(xt::eval(xt::view(Y, xt::all(), xt::range(j0, j0 + 100))), Ys) < 1e-14);
        const matrix<double> dXs = conv.backward(xt::eval(xt::view(dY, xt::all(), xt::range(j0, j0 + 100))));
        CHECK(test::relative_error(xt::eval(xt::view(dX, xt::all(), xt::range(j0, j0 + 100))), dXs) < 1e-14);
        dW_sum += conv.weight_grad();
        db_sum += conv.bias_grad();
    }
    CHECK(test::relative_error(dW, dW_sum) < 1e-12);
    CHECK(test::relative_error(db, db_sum) < 1e-12);
    matrix<double> out;
    scratch<double> work;
    conv.infer(X, out, work);
    CHECK(out == Y);
}

TEST_CASE("Conv2D refuses a wrong input, gradient or construction, naming what was wrong")
{
    Rng rng(1);
    Conv2D<float> conv(Shape(2, 5, 5), 3, 3, init::he, rng);
    CHECK_THROWS_WITH_AS(conv.forward(xt::zeros<float>({49, 2})),
                         "Conv2D 2×5×5→3×3×3 (3×3, stride 1, padding 0): expected input [50, n] with n >= 1 "
                         "(samples are columns), got [49, 2]",
                         shape_error);
    CHECK_THROWS_WITH_AS(conv.backward(xt::zeros<float>({27, 2})),
                         "Conv2D 2×5×5→3×3×3 (3×3, stride 1, padding 0): backward() called before forward()",
                         std::logic_error);
    conv.forward(xt::zeros<float>({50, 2}));
    CHECK_THROWS_WITH_AS(conv.backward(xt::zeros<float>({27, 3})),
                         "Conv2D 2×5×5→3×3×3 (3×3, stride 1, padding 0): expected gradient [27, 2] (samples are "
                         "columns), got [27, 3]",
                         shape_error);
    CHECK_THROWS_WITH_AS(Conv2D<float>(Shape(1, 4, 4), 2, 5, init::he, rng),
                         "Conv2D: a 5×5 window does not fit the image 1×4×4 padded by 0", std::invalid_argument);
    CHECK_THROWS_WITH_AS(Conv2D<float>(Shape(1, 4, 4), 0, 3, init::he, rng),
                         "Conv2D: the number of filters must be positive, got 0", std::invalid_argument);
    CHECK_THROWS_WITH_AS(Conv2D<float>(Shape(1, 4, 4), 2, 3, init::he, rng, {0, 0}),
                         "Conv2D: kernel and stride must be positive, got kernel 3, stride 0", std::invalid_argument);
    CHECK_THROWS_WITH_AS(Conv2D<float>(Shape(16), 2, 3, init::he, rng),
                         "Conv2D: a 3×3 window does not fit the image 16 padded by 0", std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        Conv2D<float>(Shape(2, 4, 4), matrix<float>(xt::zeros<float>({3, 9})), vector<float>(xt::zeros<float>({3})), 3),
        "Conv2D: weights [3, 9] and bias [3] do not fit 3 filters of 3×3 over 2×4×4: expected W "
        "[3, 18] and b [3]",
        shape_error);
}

TEST_CASE("Conv2D in a Network: the image shapes chain, a CNN learns to tell bars apart, save and load")
{
    // 8×8 images holding one horizontal (class 0) or vertical (class 1) bar, with noise
    Rng data(5);
    const std::size_t n = 200;
    matrix<float> X = xt::zeros<float>({std::size_t(64), n});
    label_vector y = xt::zeros<std::size_t>({n});
    for (std::size_t j = 0; j < n; ++j) {
        y(j) = j % 2;
        const std::size_t at = static_cast<std::size_t>(data.uniform(0, 8)) % 8;
        for (std::size_t i = 0; i < 64; ++i) {
            const std::size_t r = i / 8, col = i % 8;
            X(i, j) = float(0.3 * data.normal() + ((y(j) == 0 ? r : col) == at ? 1.0 : 0.0));
        }
    }
    // padding p makes the 4 feature maps (8 + 2p - 2)² pixels, pooled by 2
    auto cnn = [](Rng& r, std::size_t p) {
        const std::size_t side = 8 + 2 * p - 2;
        return Network{Conv2D<float>(Shape(1, 8, 8), 4, 3, init::he, r, {1, p}),
                       ReLU{},
                       MaxPool2D(Shape(4, side, side), 2),
                       Flatten{},
                       Dense<float>(4 * (side / 2) * (side / 2), 2, init::xavier, r),
                       Softmax{}};
    };
    Rng rng(2);
    auto net = cnn(rng, 1);
    CHECK(net.output_shape() == Shape(2));
    Adam<float> opt(0.01f);
    FitOptions o;
    o.epochs = 20;
    o.batch_size = 20;
    o.verbose = Verbosity::silent;
    const History h = fit(net, CrossEntropy{}, opt, X, y, o);
    CHECK(h.epochs.back().accuracy == 1.0);
    CHECK(h.epochs.back().loss < 0.1 * h.epochs.front().loss);
    CHECK(net.summary().find("Conv2D 1×8×8→4×8×8 (3×3, stride 1, padding 1)") != std::string::npos);

    const std::string path = "test_conv2d_net.npz";
    save(net, path);
    Rng other(99);
    auto back = cnn(other, 1);
    load(back, path);
    CHECK(back.predict_proba(X) == net.predict_proba(X));
    // another padding is another architecture
    auto padded = cnn(other, 2);
    CHECK_THROWS_AS(load(padded, path), io_error);
    std::remove(path.c_str());

    CHECK_THROWS_WITH_AS((Network{Conv2D<float>(Shape(1, 8, 8), 4, 3, init::he, rng), MaxPool2D(Shape(4, 8, 8), 2)}),
                         "layer 1 (MaxPool2D 4×8×8→4×4×4 (2×2, stride 2)): expected input [4×8×8 = 256, n] (samples "
                         "are columns), but layer 0 (Conv2D 1×8×8→4×6×6 (3×3, stride 1, padding 0)) outputs [4×6×6 "
                         "= 144, n]",
                         shape_error);
}
