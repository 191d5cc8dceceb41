#include <cmath>
#include <limits>
#include <vector>

#include "helpers.hpp"

using namespace mininn;

namespace {

// [rows, cols] with about `density` of its entries non-zero (normal values), else exact zeros.
template <class T>
matrix<T> sparse_dense(std::size_t rows, std::size_t cols, double density, Rng& rng)
{
    matrix<T> X = xt::zeros<T>({rows, cols});
    for (auto& v : X)
        if (rng.uniform() < density)
            v = static_cast<T>(rng.normal());
    return X;
}

template <class A, class B>
double max_rel_diff(const A& a, const B& b)
{
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        const double x = static_cast<double>(a.data()[k]), y = static_cast<double>(b.data()[k]);
        worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
    }
    return worst;
}

template <class T>
auto small_net(std::size_t in, std::size_t hidden, std::size_t classes, std::uint64_t seed)
{
    Rng rng(seed);
    return Network{Dense<T>(in, hidden, init::normal, rng), Sigmoid{}, Dense<T>(hidden, classes, init::normal, rng),
                   Softmax{}};
}

} // namespace

TEST_CASE("sparse_matrix from a dense matrix keeps the non-zeros by column, rows increasing (hand-made)")
{
    const matrix<double> X = {{0, 2, 0, 0}, {1, 0, 0, 5}, {0, 3, 0, 6}}; // column 2 is empty
    const sparse_matrix<double> S(X);
    CHECK(S.rows() == 3);
    CHECK(S.cols() == 4);
    CHECK(S.nonzeros() == 5);
    CHECK(S.density() == doctest::Approx(5.0 / 12));
    CHECK(S.column_starts() == std::vector<std::size_t>{0, 1, 3, 3, 5});
    CHECK(S.row_indices() == std::vector<std::uint32_t>{1, 0, 2, 1, 2});
    CHECK(S.values() == std::vector<double>{1, 2, 3, 5, 6});
    CHECK(S.to_dense() == X);
    CHECK(S.shape() == std::array<std::size_t, 2>{3, 4});
    // From an expression, too.
    CHECK(sparse_matrix<double>(2.0 * X).values() == std::vector<double>{2, 4, 6, 10, 12});
}

TEST_CASE("sparse_matrix from triplets sorts them, sums duplicates, and refuses bad ones by name")
{
    const auto S = sparse_matrix<float>::from_triplets(3, 2, {2, 0, 2, 1}, {1, 0, 1, 1}, {1.5f, 4, 2, -1});
    const matrix<float> expected = {{4, 0}, {0, -1}, {0, 3.5f}};
    CHECK(S.to_dense() == expected);
    CHECK(S.nonzeros() == 3);
    CHECK(S.column_starts() == std::vector<std::size_t>{0, 1, 3});

    CHECK_THROWS_WITH_AS(sparse_matrix<float>::from_triplets(3, 2, {0, 1}, {0}, {1, 2}),
                         "sparse_matrix::from_triplets: 2 rows, 1 columns and 2 values; the three lists must have "
                         "one entry per triplet",
                         shape_error);
    CHECK_THROWS_WITH_AS(sparse_matrix<float>::from_triplets(3, 2, {0, 3}, {0, 1}, {1, 2}),
                         "sparse_matrix::from_triplets: triplet 1 (3, 1) is outside the [3, 2] matrix", shape_error);
    CHECK_THROWS_WITH_AS(sparse_matrix<float>::from_triplets(3, 2, {0, 1}, {0, 2}, {1, 2}),
                         "sparse_matrix::from_triplets: triplet 1 (1, 2) is outside the [3, 2] matrix", shape_error);
    CHECK_THROWS_WITH_AS(sparse_matrix<double>::from_triplets(3, 2, {0, 1}, {0, 1},
                                                              {1, std::numeric_limits<double>::quiet_NaN()}),
                         "sparse_matrix::from_triplets: triplet 1 (1, 1) has the value nan", numeric_error);
    // No triplets: an all-zero matrix of the given shape.
    const auto Z = sparse_matrix<double>::from_triplets(4, 3, {}, {}, {});
    CHECK(Z.to_dense() == matrix<double>(xt::zeros<double>({4, 3})));
}

TEST_CASE("sparse_matrix from compressed parts checks them")
{
    CHECK(sparse_matrix<double>(2, 2, {0, 1, 2}, {1, 0}, {3, 4}).to_dense() == matrix<double>{{0, 4}, {3, 0}});
    CHECK_THROWS_WITH_AS(sparse_matrix<double>(2, 2, {0, 1}, {1}, {3}),
                         "sparse_matrix: 2 columns need 3 column starts from 0 to the non-zero count; got 2 starts, 1 "
                         "row indices and 1 values",
                         shape_error);
    CHECK_THROWS_WITH_AS(sparse_matrix<double>(2, 2, {0, 1, 2}, {2, 0}, {3, 4}),
                         "sparse_matrix: column 0 has row 2 outside [0, 2)", shape_error);
    CHECK_THROWS_WITH_AS(sparse_matrix<double>(2, 1, {0, 2}, {1, 0}, {3, 4}),
                         "sparse_matrix: column 0 has row 0 out of increasing order", shape_error);
    CHECK_THROWS_WITH_AS(sparse_matrix<double>(2, 2, {0, 2, 1}, {0, 1}, {3, 4}),
                         "sparse_matrix: 2 columns need 3 column starts from 0 to the non-zero count; got 3 starts, 2 "
                         "row indices and 2 values",
                         shape_error);
}

TEST_CASE("columns, batches of indices and take_columns refer to the right columns")
{
    const matrix<double> X = {{0, 2, 0, 7}, {1, 0, 0, 5}, {0, 3, 0, 6}};
    const sparse_matrix<double> S(X);
    const matrix<double> mid = S.columns(1, 2).to_dense();
    CHECK(mid == matrix<double>{{2, 0}, {0, 0}, {3, 0}});
    const std::vector<std::size_t> idx{3, 0, 3};
    const auto b = S.select_columns(idx.data(), idx.size());
    CHECK(b.to_dense() == matrix<double>{{7, 0, 7}, {5, 1, 5}, {6, 0, 6}});
    CHECK(b.nonzeros() == 7);
    CHECK(b.shape() == std::array<std::size_t, 2>{3, 3});
    CHECK(take_columns(S, idx).to_dense() == b.to_dense());
    CHECK_THROWS_WITH_AS(S.columns(3, 2), "sparse_matrix::columns: columns [3, 5) of 4", shape_error);
    const std::vector<std::size_t> bad{1, 4};
    CHECK_THROWS_WITH_AS(S.select_columns(bad.data(), bad.size()),
                         "sparse_matrix::select_columns: column 4 of a matrix with 4 columns", shape_error);
    CHECK_THROWS_WITH_AS(take_columns(S, bad), "take_columns: column 4 of a matrix with 4 columns", shape_error);
}

TEST_CASE("Dense with a sparse input computes W X + b and dW = dZ X^T exactly as with a dense one (hand-made)")
{
    const matrix<double> W = {{1, 2, 3}, {-1, 0, 4}};
    const vector<double> b = {0.5, -2};
    Dense<double> d(W, b);
    const matrix<double> X = {{1, 0, 0}, {0, 0, 2}, {3, 0, -1}}; // column 1 is empty
    const sparse_matrix<double> S(X);
    const matrix<double> Z = d.forward(S);
    CHECK(Z == matrix<double>{{10.5, 0.5, 1.5}, {9, -2, -6}});
    const matrix<double> dZ = {{1, 2, -1}, {0, 1, 3}};
    CHECK(d.backward(dZ, false).size() == 0);
    CHECK(d.weight_grad() == matrix<double>{{1, -2, 4}, {0, 6, -3}}); // dZ X^T
    CHECK(d.bias_grad() == vector<double>{2, 4});

    // The input gradient is refused, naming the layer; shapes are checked as for dense inputs.
    d.forward(S);
    CHECK_THROWS_WITH_AS(d.backward(dZ, true),
                         "Dense 3→2: no input gradient for a sparse input (a first layer needs none; pass a dense "
                         "input to get dL/dX)",
                         std::logic_error);
    Dense<double> e(W, b);
    const matrix<double> X4 = xt::zeros<double>({4, 3});
    std::string dense_msg, sparse_msg;
    try {
        e.forward(X4);
    } catch (const shape_error& err) {
        dense_msg = err.what();
    }
    try {
        e.forward(sparse_matrix<double>(X4));
    } catch (const shape_error& err) {
        sparse_msg = err.what();
    }
    CHECK(dense_msg == "Dense 3→2: expected input [3, n] with n >= 1 (samples are columns), got [4, 3]");
    CHECK(sparse_msg == dense_msg);
}

// Each sparse matrix goes through the layer three times: the first forward reads it by columns,
// the second sorts it by row, the third reuses the sorted form. All three must give the dense
// results, and the same bits as each other.
namespace {

template <class T>
void check_products(const matrix<double>& X64, const matrix<double>& W64, const matrix<double>& dZ64, double tol)
{
    const matrix<T> X = xt::cast<T>(X64), W = xt::cast<T>(W64), dZ = xt::cast<T>(dZ64);
    const vector<T> b = xt::zeros<T>({W.shape()[0]});
    Dense<T> dense(W, b), layer(W, b);
    const matrix<T> Zd = dense.forward(X);
    dense.backward(dZ, false);
    const sparse_matrix<T> S(X);
    matrix<T> Z0, dW0;
    for (int pass = 0; pass < 3; ++pass) {
        CAPTURE(pass);
        const matrix<T> Zs = layer.forward(S);
        layer.backward(dZ, false);
        CHECK(max_rel_diff(Zs, Zd) < tol);
        CHECK(max_rel_diff(layer.weight_grad(), dense.weight_grad()) < tol);
        CHECK(max_rel_diff(layer.bias_grad(), dense.bias_grad()) < tol);
        if (pass == 0) {
            Z0 = Zs;
            dW0 = layer.weight_grad();
        } else {
            CHECK(Zs == Z0);
            CHECK(layer.weight_grad() == dW0);
        }
    }
}

} // namespace

TEST_CASE("sparse products equal dense ones for every width, padding and batch size, float and double")
{
    Rng rng(7);
    for (const std::size_t in : {50, 51}) {
        for (const std::size_t out : {1, 3, 10, 16, 17, 64, 100, 150}) {
            for (const std::size_t n : {1, 5, 8, 33, 300}) {
                CAPTURE(in);
                CAPTURE(out);
                CAPTURE(n);
                const matrix<double> X = sparse_dense<double>(in, n, 0.2, rng);
                const matrix<double> W = test::random_matrix<double>(out, in, rng);
                const matrix<double> dZ = test::random_matrix<double>(out, n, rng);
                check_products<double>(X, W, dZ, 1e-13);
                check_products<float>(X, W, dZ, 1e-5);
            }
        }
    }
}

TEST_CASE("empty columns, an all-zero batch and a column with every entry non-zero")
{
    Rng rng(3);
    matrix<double> X = xt::zeros<double>({20, 6});
    for (std::size_t i = 0; i < 20; ++i)
        X(i, 4) = rng.normal(); // column 4 full, the rest empty
    const matrix<double> W = test::random_matrix<double>(9, 20, rng);
    const vector<double> b = xt::view(test::random_matrix<double>(1, 9, rng), 0, xt::all());
    Dense<double> dd(W, b), ds(W, b);
    const sparse_matrix<double> S(X);
    CHECK(S.nonzeros() == 20);
    CHECK(max_rel_diff(ds.forward(S), dd.forward(X)) < 1e-14);
    const matrix<double> dZ = test::random_matrix<double>(9, 6, rng);
    dd.backward(dZ, false);
    ds.backward(dZ, false);
    CHECK(max_rel_diff(ds.weight_grad(), dd.weight_grad()) < 1e-14);
    // A batch of empty columns gives Z = b in every column and dW = 0.
    const std::vector<std::size_t> empty{0, 5, 1};
    const matrix<double> Z = ds.forward(S.select_columns(empty.data(), empty.size()));
    for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t i = 0; i < 9; ++i)
            CHECK(Z(i, j) == b(i));
    ds.backward(xt::ones<double>({9, 3}), false);
    CHECK(xt::amax(xt::abs(ds.weight_grad()))() == 0.0);
}

TEST_CASE("a network trained on a sparse input follows the dense one: gradients, 50 steps, predictions")
{
    Rng rng(11);
    const std::size_t n = 3000; // enough work for the two-thread split (sparse_parallel_work)
    const matrix<float> X = sparse_dense<float>(100, n, 0.15, rng);
    const label_vector y = test::random_labels(n, 10, rng);
    const sparse_matrix<float> S(X);
    auto dense = small_net<float>(100, 64, 10, 5), sparse = dense;
    const CrossEntropy loss;
    const float ld = dense.compute_gradients(loss, X, y), ls = sparse.compute_gradients(loss, S, y);
    CHECK(std::abs(ld - ls) < 1e-6f * std::abs(ld));
    CHECK(max_rel_diff(sparse.layer<0>().weight_grad(), dense.layer<0>().weight_grad()) < 1e-5);
    CHECK(max_rel_diff(sparse.layer<0>().bias_grad(), dense.layer<0>().bias_grad()) < 1e-5);
    CHECK(max_rel_diff(sparse.layer<2>().weight_grad(), dense.layer<2>().weight_grad()) < 1e-5);

    GD<float> gd(0.5f);
    float last_d = 0, last_s = 0;
    for (int s = 0; s < 50; ++s) {
        last_d = dense.compute_gradients(loss, X, y);
        gd.step(dense);
        last_s = sparse.compute_gradients(loss, S, y);
        gd.step(sparse);
    }
    CHECK(std::abs(last_d - last_s) < 1e-4f * std::abs(last_d));
    CHECK(max_rel_diff(sparse.layer<0>().weights(), dense.layer<0>().weights()) < 1e-4);
    CHECK(max_rel_diff(sparse.layer<2>().weights(), dense.layer<2>().weights()) < 1e-4);
    CHECK(last_s < 0.95f * ld); // it did train
    const label_vector pd = dense.predict(X), ps = sparse.predict(S);
    std::size_t same = 0;
    for (std::size_t j = 0; j < n; ++j)
        same += pd(j) == ps(j);
    CHECK(same >= n - 3); // only near-ties may differ in float
    CHECK(max_rel_diff(sparse.predict_proba(S), dense.predict_proba(X)) < 1e-4);

    // The input gradient of a sparse input is refused before anything runs.
    CHECK_THROWS_WITH_AS(sparse.compute_gradients(loss, S, y, true),
                         "Network::compute_gradients: no input gradient for a sparse input; pass a dense input to get "
                         "dL/dX",
                         std::logic_error);
}

TEST_CASE("sparse results are the same bit for bit with one thread or two, and from run to run")
{
    // Full batches of many blocks, shuffled index-list batches of one block (cut in the middle),
    // and a one-block range that comes again and again (row-sorted, cut in the middle).
    Rng rng(2);
    const std::size_t n = 5000, batch = 500, narrow = 50;
    const matrix<double> X = sparse_dense<double>(80, n, 0.2, rng);
    const label_vector y = test::random_labels(n, 10, rng);
    const sparse_matrix<double> S(X);
    const auto perm = permutation(n, rng);
    label_vector ys, yb;
    permute_into(y, perm, ys);
    REQUIRE(S.select_columns(perm.data(), batch).nonzeros() * 64 >= detail::sparse_parallel_work);
    REQUIRE(S.columns(0, narrow).nonzeros() * 64 < detail::sparse_parallel_work);
    auto run = [&](std::size_t threads) {
        auto net = small_net<double>(80, 64, 10, 9);
        net.set_threads(threads);
        GD<double> gd(1.0);
        for (int s = 0; s < 5; ++s) {
            net.compute_gradients(CrossEntropy{}, S, y);
            gd.step(net);
        }
        for (std::size_t first = 0; first < n; first += batch) {
            copy_labels_into(ys, first, batch, yb);
            net.compute_gradients(CrossEntropy{}, S.select_columns(perm.data() + first, batch), yb);
            gd.step(net);
        }
        const label_vector yn = xt::view(y, xt::range(0, narrow));
        for (int s = 0; s < 4; ++s) {
            net.compute_gradients(CrossEntropy{}, S.columns(0, narrow), yn);
            gd.step(net);
        }
        // The helper runs on two threads only, and only where the process has a second core.
        CHECK((net.helper_sweeps() > 0) == (threads == 2 && test::usable_cores() >= 2));
        return std::make_pair(matrix<double>(net.layer<0>().weights()), matrix<double>(net.layer<0>().weight_grad()));
    };
    const auto one = run(1), two = run(2), again = run(2);
    CHECK(one.first == two.first);
    CHECK(one.second == two.second);
    CHECK(two.first == again.first);
}

TEST_CASE("gradient checks through a sparse first layer: fused head, unfused loss, regression")
{
    Rng rng(21);
    const std::size_t n = 12;
    const matrix<double> X = sparse_dense<double>(30, n, 0.25, rng);
    const sparse_matrix<double> S(X);
    const label_vector y = test::random_labels(n, 4, rng);
    GradientCheckOptions opt;
    opt.tolerance = 1e-6;
    {
        auto net = small_net<double>(30, 8, 4, 3);
        const GradientReport r = check_gradients(net, CrossEntropy{}, S, y, opt);
        CHECK(r.checks.size() == 4); // W1, b1, W2, b2 and no input
        CHECK(r.passed());
        double worst = 0;
        for (const auto& c : r.checks) {
            CHECK(c.analytic_norm > 0); // not vacuous: every tensor has a gradient
            worst = std::max(worst, c.relative_error);
        }
        CHECK(worst < 1e-7);
    }
    {
        auto net = small_net<double>(30, 8, 4, 3);
        const GradientReport r = check_gradients(net, test::UnfusedCrossEntropy{}, S, y, opt);
        CHECK(r.checks.size() == 4);
        CHECK(r.passed());
    }
    {
        Rng r2(4);
        Network net{Dense<double>(30, 6, init::normal, r2), Tanh{}, Dense<double>(6, 2, init::normal, r2)};
        const matrix<double> Y = test::random_matrix<double>(2, n, r2);
        const GradientReport r = check_gradients(net, MeanSquaredError{}, S.columns(2, 10),
                                                 matrix<double>(xt::view(Y, xt::all(), xt::range(2, 12))), opt);
        CHECK(r.checks.size() == 4);
        CHECK(r.passed());
    }
}

TEST_CASE("fit and evaluate on a sparse input follow the dense ones, with shuffled batches and a split")
{
    Rng rng(31);
    const std::size_t n = 700;
    const matrix<float> X = sparse_dense<float>(40, n, 0.3, rng);
    label_vector y = xt::zeros<std::size_t>({n});
    for (std::size_t j = 0; j < n; ++j) // a learnable rule: which of two feature sums is larger
        y(j) = xt::sum(xt::view(X, xt::range(0, 20), j))() > xt::sum(xt::view(X, xt::range(20, 40), j))() ? 1 : 0;
    const sparse_matrix<float> S(X);
    FitOptions o;
    o.epochs = 4;
    o.batch_size = 32;
    o.validation_split = 0.2;
    o.verbose = Verbosity::silent;
    auto dense = small_net<float>(40, 16, 2, 8), sparse = dense;
    Adam<float> a1(0.01f), a2(0.01f);
    const History hd = fit(dense, CrossEntropy{}, a1, X, y, o);
    const History hs = fit(sparse, CrossEntropy{}, a2, S, y, o);
    REQUIRE(hs.epochs.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
        CHECK(hs.epochs[e].loss == doctest::Approx(hd.epochs[e].loss).epsilon(1e-4));
        CHECK(hs.epochs[e].val_loss == doctest::Approx(hd.epochs[e].val_loss).epsilon(1e-4));
    }
    CHECK(hs.epochs.back().val_accuracy > 0.7); // chance is about 0.5
    CHECK(max_rel_diff(sparse.layer<0>().weights(), dense.layer<0>().weights()) < 1e-3);

    const Scores sd = evaluate(dense, CrossEntropy{}, X, y, 64), ss = evaluate(sparse, CrossEntropy{}, S, y, 64);
    CHECK(ss.loss == doctest::Approx(sd.loss).epsilon(1e-4));
    CHECK(ss.accuracy == doctest::Approx(sd.accuracy).epsilon(0.01));
    CHECK(evaluate(sparse, CrossEntropy{}, S, y).loss == doctest::Approx(ss.loss).epsilon(1e-5));

    // A sparse validation set given explicitly, and its errors.
    const sparse_matrix<float> Sv = take_columns(S, {0, 1, 2, 3});
    const label_vector yv = {y(0), y(1), y(2), y(3)};
    o.validation_split = 0;
    o.epochs = 1;
    CHECK(fit(sparse, CrossEntropy{}, a2, S, y, o, &Sv, &yv).epochs.size() == 1);
    const label_vector short_y = {0, 1};
    CHECK_THROWS_WITH_AS(fit(sparse, CrossEntropy{}, a2, S, short_y, o),
                         "fit: targets for 2 samples but X has 700 (samples are columns)", shape_error);
    CHECK_THROWS_WITH_AS(evaluate(sparse, CrossEntropy{}, S, short_y),
                         "evaluate: targets for 2 samples but X has 700 (samples are columns)", shape_error);
}

TEST_CASE("the row-sorted form of a range is reused only for the same contents and range")
{
    Rng rng(41);
    const std::size_t n = 300;
    const matrix<double> X1 = sparse_dense<double>(30, n, 0.2, rng), X2 = sparse_dense<double>(30, n, 0.2, rng);
    const matrix<double> W = test::random_matrix<double>(20, 30, rng);
    const vector<double> b = xt::zeros<double>({20});
    Dense<double> dense(W, b), layer(W, b);
    auto same = [&](const auto& input, const matrix<double>& X) { // twice: the second forward of a range sorts it
        const matrix<double> Zd = dense.forward(X), Z1 = layer.forward(input), Z2 = layer.forward(input);
        return max_rel_diff(Z1, Zd) < 1e-13 && max_rel_diff(Z2, Zd) < 1e-13;
    };
    sparse_matrix<double> S(X1);
    const sparse_matrix<double> S2(X2);
    CHECK(same(S, X1));
    CHECK(same(S, X1)); // the sorted form reused
    CHECK(same(S2, X2)); // another matrix of the same shape
    S = sparse_matrix<double>(X2); // the same object with new contents
    CHECK(same(S, X2));
    S = sparse_matrix<double>(X1);
    CHECK(same(S, X1));
    S = S2; // a copy: the contents of S2
    CHECK(same(S, X2));
    CHECK(same(S.columns(0, n / 2), matrix<double>(xt::view(X2, xt::all(), xt::range(0, n / 2)))));
    std::vector<std::size_t> idx(n / 2);
    for (std::size_t j = 0; j < n / 2; ++j)
        idx[j] = n / 2 + j; // the same columns as the last range, as a list, then changed in place
    CHECK(same(S.select_columns(idx.data(), idx.size()), matrix<double>(xt::view(X2, xt::all(), xt::range(n / 2, n)))));
    CHECK(same(S.columns(n / 2, n / 2), matrix<double>(xt::view(X2, xt::all(), xt::range(n / 2, n)))));
    for (std::size_t j = 0; j < n / 2; ++j)
        idx[j] = j;
    CHECK(same(S.select_columns(idx.data(), idx.size()), matrix<double>(xt::view(X2, xt::all(), xt::range(0, n / 2)))));
}

TEST_CASE("infer on a sparse input gives forward's bits: whole, a range, an index list; float and double")
{
    Rng rng(12);
    auto check = [&](auto zero, std::size_t in, std::size_t out, std::size_t n, scratch<decltype(zero)>& work) {
        using T = decltype(zero);
        CAPTURE(in);
        CAPTURE(out);
        CAPTURE(n);
        const matrix<T> X = sparse_dense<T>(in, n, 0.2, rng);
        const sparse_matrix<T> S(X);
        Dense<T> d(test::random_matrix<T>(out, in, rng), xt::view(test::random_matrix<T>(1, out, rng), 0, xt::all()));
        matrix<T> z;
        d.infer(S, z, work);
        CHECK(z == d.forward(S));
        CHECK(max_rel_diff(z, d.forward(X)) < (sizeof(T) == 4 ? 1e-5 : 1e-13));
        std::vector<std::size_t> idx(n);
        for (std::size_t j = 0; j < n; ++j)
            idx[j] = (j * 7 + 3) % n;
        d.infer(S.select_columns(idx.data(), n), z, work);
        CHECK(z == d.forward(S.select_columns(idx.data(), n)));
        d.infer(S.columns(n / 2, n - n / 2), z, work);
        CHECK(z == d.forward(S.columns(n / 2, n - n / 2)));
    };
    scratch<float> wf;
    scratch<double> wd;
    // One work buffer for all: what a wider layer left in it must not leak into the next.
    for (const std::size_t out : {17, 3, 64, 1, 150})
        for (const std::size_t n : {1, 9, 300}) {
            check(0.0f, 51, out, n, wf);
            check(0.0, 50, out, n, wd);
        }
    auto net = small_net<double>(80, 64, 10, 9);
    const matrix<double> X = sparse_dense<double>(80, 40, 0.2, rng);
    const sparse_matrix<double> S(X);
    decltype(net)::Workspace ws;
    CHECK(net.infer(S, ws) == net.forward(S));
    CHECK(net.predict(S) == net.predict(X));
}
