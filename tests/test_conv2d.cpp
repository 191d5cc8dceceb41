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

namespace {
// Y, dX, dW and db of a convolution by the definition, in long double: six nested loops.
struct Reference {
    std::vector<long double> Y, dX, dW, db;
};
template <class T>
Reference plain_convolution(const Conv2D<T>& conv, const matrix<T>& X, const matrix<T>& dY)
{
    const Shape in = conv.input_shape(), out = conv.output_shape(in);
    const std::size_t n = X.shape()[1], k = conv.kernel(), s = conv.stride(), p = conv.padding();
    const std::size_t K = in.channels * k * k;
    Reference r{std::vector<long double>(out.size() * n), std::vector<long double>(in.size() * n),
                std::vector<long double>(out.channels * K), std::vector<long double>(out.channels)};
    for (std::size_t o = 0; o < out.channels; ++o)
        for (std::size_t y = 0; y < out.height; ++y)
            for (std::size_t x = 0; x < out.width; ++x)
                for (std::size_t j = 0; j < n; ++j) {
                    const std::size_t row = (o * out.height + y) * out.width + x;
                    long double acc = conv.has_bias() ? conv.bias()(o) : 0;
                    const long double g = dY(row, j);
                    r.db[o] += g;
                    for (std::size_t c = 0; c < in.channels; ++c)
                        for (std::size_t u = 0; u < k; ++u)
                            for (std::size_t v = 0; v < k; ++v) {
                                const long iy = long(y * s + u) - long(p), ix = long(x * s + v) - long(p);
                                if (iy < 0 || ix < 0 || iy >= long(in.height) || ix >= long(in.width))
                                    continue;
                                const std::size_t i = (c * in.height + std::size_t(iy)) * in.width + std::size_t(ix);
                                const std::size_t t = (c * k + u) * k + v;
                                acc += (long double)conv.weights()(o, t) * X(i, j);
                                r.dW[o * K + t] += g * X(i, j);
                                r.dX[i * n + j] += g * conv.weights()(o, t);
                            }
                    r.Y[row * n + j] = acc;
                }
    return r;
}

template <class Container>
double relative_to(const Container& got, const std::vector<long double>& want)
{
    long double err = 0, scale = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        err = std::max(err, std::abs((long double)got.data()[i] - want[i]));
        scale = std::max(scale, std::abs(want[i]));
    }
    return double(err / scale);
}

template <class T>
void check_against_plain_loops(double tol)
{
    Rng rng(21);
    struct Setting {
        Shape in;
        std::size_t filters, k;
        Conv2DOptions opt;
        std::size_t n;
    };
    // 11 and 16 filters span two register tiles; 17 and 150 samples end in a partial vector, 150
    // and 64 fill more than one chunk or exactly one; 2·3·3 and 3·5·5 taps are not whole tiles.
    for (const Setting& st : {Setting{Shape(2, 6, 7), 11, 3, {1, 1}, 150}, Setting{Shape(3, 9, 8), 16, 5, {2, 2}, 17},
                              Setting{Shape(1, 5, 5), 9, 4, Conv2DOptions{3, 2}.without_bias(), 1},
                              Setting{Shape(4, 4, 4), 3, 2, {1, 0}, 64}, Setting{Shape(6, 14, 14), 16, 5, {1, 0}, 130},
                              Setting{Shape(1, 64, 64), 20, 3, {1, 1}, 40}}) { // chunks of fewer than 64 samples
        Conv2D<T> conv(st.in, st.filters, st.k, init::he, rng, st.opt);
        if (conv.has_bias())
            for (auto& b : conv.bias())
                b = T(rng.normal());
        CAPTURE(conv.name());
        CAPTURE(st.n);
        const auto X = test::random_matrix<T>(st.in.size(), st.n, rng);
        const auto dY = test::random_matrix<T>(conv.output_rows(0), st.n, rng);
        const Reference want = plain_convolution(conv, X, dY);
        const matrix<T> Y = conv.forward(X);
        const matrix<T> dX = conv.backward(dY);
        CHECK(relative_to(Y, want.Y) < tol);
        CHECK(relative_to(dX, want.dX) < tol);
        CHECK(relative_to(conv.weight_grad(), want.dW) < tol);
        if (conv.has_bias())
            CHECK(relative_to(conv.bias_grad(), want.db) < tol);
        matrix<T> out;
        scratch<T> work;
        conv.infer(X, out, work);
        CHECK(out == Y);
    }
}
} // namespace

TEST_CASE("Conv2D equals the definition's six loops beyond its register tiles: many filters, partial vectors, "
          "several chunks")
{
    // a chunk is 64 samples, fewer when a thread's buffers would pass 4 M values
    const auto chunk = [](const Shape& in, std::size_t filters, std::size_t k, std::size_t p, auto scalar) {
        return detail::conv_chunking<decltype(scalar)>(detail::make_window("Conv2D", in, k, 1, p), filters).chunk;
    };
    CHECK(chunk(Shape(1, 28, 28), 6, 5, 2, 0.0f) == 64);
    // 2·66·66 + 20·64·64 = 90 632 values a sample: 46 samples, rounded down to whole vectors
    CHECK(chunk(Shape(1, 64, 64), 20, 3, 1, 0.0f) == 46 / xsimd::batch<float>::size * xsimd::batch<float>::size);
    CHECK(chunk(Shape(1, 64, 64), 20, 3, 1, 0.0) == 46 / xsimd::batch<double>::size * xsimd::batch<double>::size);
    CHECK(chunk(Shape(3, 224, 224), 64, 3, 1, 0.0f) == xsimd::batch<float>::size); // never below one vector
    check_against_plain_loops<double>(1e-13);
    check_against_plain_loops<float>(1e-5);
}

TEST_CASE("Conv2D on a batch in slices, and on one thread or two, gives the same values")
{
    Rng rng(9);
    // 400 samples are 7 chunks, the last of 16; slices of 100 end chunks elsewhere
    Conv2D<double> conv(Shape(3, 12, 12), 4, 3, init::he, rng, {1, 1});
    const auto X = test::random_matrix<double>(3 * 12 * 12, 400, rng);
    const auto dY = test::random_matrix<double>(4 * 12 * 12, 400, rng);
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

    // the chunks shared with a helper thread: the same bits
    detail::helper_thread helper;
    Conv2D<double> twin = conv;
    CHECK(twin.forward(X, standalone, &helper) == Y);
    CHECK(twin.backward(dY, true, standalone, &helper) == dX);
    CHECK(twin.weight_grad() == dW);
    CHECK(helper.jobs() == (test::usable_cores() >= 2 ? 2 : 0));
}

TEST_CASE("Conv2D on a few samples runs its vectors along the output rows, with the same bits as a full chunk")
{
    Rng rng(12);
    for (const std::size_t padding : {0, 2}) {
        // 20 to 26 output pixels a row: more than one vector of float or double
        Conv2D<float> conv(Shape(2, 9, 24), 11, 5, init::he, rng, {1, padding});
        Conv2D<double> conv_d(Shape(2, 9, 24), 3, 3, init::he, rng, {1, padding});
        const auto X = test::random_matrix<float>(2 * 9 * 24, 64, rng);
        const auto Xd = test::random_matrix<double>(2 * 9 * 24, 64, rng);
        const matrix<float> Y = conv.forward(X);
        const matrix<double> Yd = conv_d.forward(Xd);
        for (const std::size_t n : {1, 3}) {
            CAPTURE(n);
            const matrix<float> few = conv.forward(xt::eval(xt::view(X, xt::all(), xt::range(0, n))));
            CHECK(few == xt::eval(xt::view(Y, xt::all(), xt::range(0, n))));
            const matrix<double> few_d = conv_d.forward(xt::eval(xt::view(Xd, xt::all(), xt::range(0, n))));
            CHECK(few_d == xt::eval(xt::view(Yd, xt::all(), xt::range(0, n))));
            matrix<float> out;
            scratch<float> work;
            conv.infer(xt::eval(xt::view(X, xt::all(), xt::range(0, n))), out, work);
            CHECK(out == few);
        }
    }
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

    // batches of 100 are two chunks, which two threads share: the same training, bit for bit
    Rng r1(3), r2(3);
    auto two = cnn(r1, 1), one = cnn(r2, 1);
    one.set_threads(1);
    Adam<float> opt1(0.01f), opt2(0.01f);
    o.epochs = 2;
    o.batch_size = 100;
    fit(two, CrossEntropy{}, opt1, X, y, o);
    fit(one, CrossEntropy{}, opt2, X, y, o);
    CHECK(one.predict_proba(X) == two.predict_proba(X));
    CHECK(one.helper_sweeps() == 0);
    CHECK(two.helper_sweeps() >= (test::usable_cores() >= 2 ? 2 * 2 * 2 : 0)); // forward, backward; 2 batches, 2 epochs

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
