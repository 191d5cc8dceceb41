// A steady-state training step allocates nothing: every activation, gradient and workspace
// buffer is sized on the first step of a batch shape and reused after. Allocations are
// counted by replacing malloc for this program (OpenBLAS's own are not mininn's).
#include "alloc_counter.hpp"
#include "helpers.hpp"

using namespace mininn;

using test::UnfusedCrossEntropy;

namespace {

template <class Net, class Loss, class X, class Y, class T>
void expect_no_steady_allocations(Net& net, const Loss& loss, const X& x, const Y& y, T lr, bool fresh = true)
{
    GD<T> gd(lr);
    auto step = [&] {
        net.compute_gradients(loss, x, y);
        gd.step(net);
    };
    const long first = alloc_counter::allocations_during(step);
    if (fresh)
        CHECK(first > 0); // the counter sees the first step sizing its buffers
    const long steady = alloc_counter::allocations_during([&] {
        for (int i = 0; i < 5; ++i)
            step();
    });
    CHECK(steady == 0);
}
} // namespace

TEST_CASE("the allocation counter counts")
{
    const long n = alloc_counter::allocations_during([] {
        matrix<float> m({100, 100});
        m.fill(1.0f);
    });
    CHECK(n >= 1);
}

TEST_CASE("the seed network's step does not allocate after the first (float and double, fused)")
{
    Rng rng(1);
    const auto Xf = test::random_matrix<float>(784, 3000, rng);
    const auto y = test::random_labels(3000, 10, rng);
    Network netf{Dense<float>(784, 64, init::normal, rng), Sigmoid{}, Dense<float>(64, 10, init::normal, rng),
                 Softmax{}};
    expect_no_steady_allocations(netf, CrossEntropy{}, Xf, y, 1.0f);

    const auto Xd = test::random_matrix<double>(784, 3000, rng);
    Network netd{Dense<double>(784, 64, init::normal, rng), Sigmoid{}, Dense<double>(64, 10, init::normal, rng),
                 Softmax{}};
    expect_no_steady_allocations(netd, CrossEntropy{}, Xd, y, 1.0);
}

TEST_CASE("other activations, one-hot labels and the unfused path do not allocate either")
{
    Rng rng(2);
    const auto X = test::random_matrix<float>(20, 500, rng);
    const auto y = test::random_labels(500, 10, rng);
    const auto Y = one_hot<float>(y, 10);
    Network net{
        Dense<float>(20, 32, init::he, rng),     ReLU{},         Dense<float>(32, 16, init::he, rng),     Tanh{},
        Dense<float>(16, 10, init::xavier, rng), LeakyReLU{0.1}, Dense<float>(10, 10, init::xavier, rng), Softmax{}};
    expect_no_steady_allocations(net, CrossEntropy{}, X, y, 0.1f);
    expect_no_steady_allocations(net, CrossEntropy{}, X, Y, 0.1f, false);
    expect_no_steady_allocations(net, UnfusedCrossEntropy{}, X, y, 0.1f, false);
}

TEST_CASE("Dropout, BinaryCrossEntropy and MeanSquaredError steps do not allocate either")
{
    Rng rng(5);
    const auto X = test::random_matrix<float>(12, 300, rng);
    const auto y = test::random_labels(300, 4, rng);
    Network drop{Dense<float>(12, 16, init::he, rng), ReLU{}, Dropout(0.3, 1), Dense<float>(16, 4, init::he, rng),
                 Softmax{}};
    expect_no_steady_allocations(drop, CrossEntropy{}, X, y, 0.1f);
    Network bin{Dense<float>(12, 8, init::he, rng), ReLU{}, Dense<float>(8, 1, init::he, rng), Sigmoid{}};
    expect_no_steady_allocations(bin, BinaryCrossEntropy{}, X, test::random_labels(300, 2, rng), 0.1f);
    Network reg{Dense<float>(12, 8, init::he, rng), Tanh{}, Dense<float>(8, 2, init::he, rng)};
    expect_no_steady_allocations(reg, MeanSquaredError{}, X, test::random_matrix<float>(2, 300, rng), 0.1f);
}

TEST_CASE("mini-batches copied into a reused buffer do not allocate")
{
    Rng rng(3);
    const auto X = test::random_matrix<float>(784, 1280, rng);
    const auto y = test::random_labels(1280, 10, rng);
    Network net{Dense<float>(784, 64, init::normal, rng), Sigmoid{}, Dense<float>(64, 10, init::normal, rng),
                Softmax{}};
    GD<float> gd(0.1f);
    matrix<float> Xs, Xb;
    label_vector ys, yb;
    const auto perm = permutation(1280, rng);
    permute_columns_into(X, perm, Xs);
    permute_into(y, perm, ys);
    auto batch = [&](std::size_t b) {
        copy_columns_into(Xs, b * 128, 128, Xb);
        copy_labels_into(ys, b * 128, 128, yb);
        net.compute_gradients(CrossEntropy{}, Xb, yb);
        gd.step(net);
    };
    batch(0);
    const long steady = alloc_counter::allocations_during([&] {
        permute_columns_into(X, perm, Xs);
        permute_into(y, perm, ys);
        for (std::size_t b = 1; b < 10; ++b)
            batch(b);
    });
    CHECK(steady == 0);
}

TEST_CASE("a LeNet step (convolutions on two threads, BatchNorm, pools, Flatten) and its inference do not "
          "allocate after the first")
{
    Rng rng(12);
    // 130 samples: three chunks of the convolutions, shared with the helper thread, the last of 2
    const auto X = test::random_matrix<float>(784, 130, rng);
    const auto y = test::random_labels(130, 10, rng);
    Network net{Conv2D<float>(Shape(1, 28, 28), 6, 5, init::he, rng, Conv2DOptions{}.with_padding(2)),
                BatchNorm<float>(Shape(6, 28, 28)),
                ReLU{},
                MaxPool2D(Shape(6, 28, 28), 2),
                Conv2D<float>(Shape(6, 14, 14), 16, 5, init::he, rng),
                ReLU{},
                AvgPool2D(Shape(16, 10, 10), 2),
                Flatten{},
                Dense<float>(400, 120, init::he, rng),
                ReLU{},
                Dense<float>(120, 10, init::xavier, rng),
                Softmax{}};
    expect_no_steady_allocations(net, CrossEntropy{}, X, y, 0.01f);
    CHECK(net.helper_sweeps() >= (test::usable_cores() >= 2 ? 2 : 0));
    std::decay_t<decltype(net)>::Workspace ws;
    net.infer(X, ws);
    CHECK(alloc_counter::allocations_during([&] {
              for (int i = 0; i < 3; ++i)
                  net.infer(X, ws);
          }) == 0);
}

TEST_CASE("the fused head shared with a helper thread does not allocate after its first step")
{
    Rng rng(4);
    Network net{Dense<float>(30, 16, init::normal, rng), Sigmoid{}, Dense<float>(16, 10, init::normal, rng), Softmax{}};
    const std::size_t n = decltype(net)::fused_head_parallel_columns + 500;
    const auto X = test::random_matrix<float>(30, n, rng);
    const auto y = test::random_labels(n, 10, rng);
    REQUIRE(net.threads() == 2);
    expect_no_steady_allocations(net, CrossEntropy{}, X, y, 0.5f); // the first step starts the helper
}

TEST_CASE("sparse steps do not allocate after the first: full batch on two threads, and index-list batches")
{
    Rng rng(5);
    const std::size_t n = 4000; // above sparse_parallel_work: the helper thread shares the products
    matrix<float> X = xt::zeros<float>(matrix<float>::shape_type{100, n});
    for (auto& v : X)
        if (rng.uniform() < 0.2)
            v = static_cast<float>(rng.uniform());
    const sparse_matrix<float> S(X);
    const auto y = test::random_labels(n, 10, rng);
    Network net{Dense<float>(100, 64, init::normal, rng), Sigmoid{}, Dense<float>(64, 10, init::normal, rng),
                Softmax{}};
    GD<float> gd(0.1f);
    auto full = [&] {
        net.compute_gradients(CrossEntropy{}, S, y);
        gd.step(net);
    };
    full();
    CHECK(alloc_counter::allocations_during([&] {
              for (int s = 0; s < 3; ++s)
                  full();
          }) == 0);

    const auto perm = permutation(n, rng);
    label_vector ys, yb;
    permute_into(y, perm, ys);
    auto batch = [&](std::size_t b) {
        copy_labels_into(ys, b * 128, 128, yb);
        net.compute_gradients(CrossEntropy{}, S.select_columns(perm.data() + b * 128, 128), yb);
        gd.step(net);
    };
    batch(0);
    CHECK(alloc_counter::allocations_during([&] {
              for (std::size_t b = 1; b < 10; ++b)
                  batch(b);
          }) == 0);
}

TEST_CASE("infer into a kept workspace does not allocate after its first batch: dense, with Dropout, sparse")
{
    Rng rng(6);
    const Network net{Dense<float>(100, 64, init::normal, rng), Sigmoid{}, Dropout(0.2),
                      Dense<float>(64, 10, init::normal, rng), Softmax{}};
    const auto X = test::random_matrix<float>(100, 32, rng);
    matrix<float> Xs = xt::zeros<float>(matrix<float>::shape_type{100, 300});
    for (auto& v : Xs)
        if (rng.uniform() < 0.2)
            v = static_cast<float>(rng.uniform());
    const sparse_matrix<float> S(Xs);
    std::vector<std::size_t> idx(32); // batches of one width: a new width resizes the buffers
    for (std::size_t j = 0; j < 32; ++j)
        idx[j] = (j * 37 + 11) % 300;
    std::decay_t<decltype(net)>::Workspace ws;
    for (int pass = 0; pass < 2; ++pass) {
        const long calls = alloc_counter::allocations_during([&] {
            for (int i = 0; i < 5; ++i) {
                net.infer(X, ws);
                net.infer(S.select_columns(idx.data(), idx.size()), ws);
            }
        });
        if (pass == 0)
            CHECK(calls > 0); // the first call sizes the workspace
        else
            CHECK(calls == 0);
    }
}

TEST_CASE("a Model's infer into the caller's buffer does not allocate after its first call: both kernels, sparse")
{
    Rng rng(7);
    Network net{Dense<float>(100, 64, init::normal, rng), Sigmoid{}, Dense<float>(64, 10, init::normal, rng),
                Softmax{}};
    const Model<float> m = freeze(net);
    const auto X1 = test::random_matrix<float>(100, 1, rng), X32 = test::random_matrix<float>(100, 32, rng);
    const auto X100 = test::random_matrix<float>(100, 100, rng); // past small_batch_limit: BLAS
    const sparse_matrix<float> S(X32);
    matrix<float> o1, o32, o100, os;
    Model<float>::Workspace ws;
    auto calls = [&] {
        m.infer(X1, o1, ws);
        m.infer(X32, o32, ws);
        m.infer(X100, o100, ws);
        m.infer(S.columns(3, 7), os); // the thread's own workspace
        float y[10];
        m.infer_one(X1.data(), y, ws);
    };
    CHECK(alloc_counter::allocations_during(calls) > 0);
    CHECK(alloc_counter::allocations_during([&] {
              for (int i = 0; i < 5; ++i)
                  calls();
          }) == 0);
}

#ifdef MININN_TEST_MPI
#include <mininn/distributed/all.hpp>

TEST_CASE("a distributed step does not allocate after the first: its one buffer is made once")
{
    const mininn::distributed::Communicator comm;
    Rng rng(9);
    const auto s = mininn::distributed::shard(comm, 3000);
    const auto X = test::random_matrix<float>(784, s.count, rng);
    const auto y = test::random_labels(s.count, 10, rng);
    Network net{Dense<float>(784, 64, init::normal, rng), Sigmoid{}, Dense<float>(64, 10, init::normal, rng),
                Softmax{}};
    mininn::distributed::DataParallel dp(comm, net);
    GD<float> gd(1.0f);
    const CrossEntropy loss;
    const long first = alloc_counter::allocations_during([&] { dp.step(loss, gd, X, y); });
    CHECK(first > 0);
    // Step by step: Open MPI itself may allocate when a message arrives before its receive is
    // posted (a rank delayed on a loaded machine), which is not mininn's; a buffer of mininn's
    // would be made in every step.
    int allocating = 0;
    for (int i = 0; i < 10; ++i)
        allocating += alloc_counter::allocations_during([&] { dp.step(loss, gd, X, y); }) > 0;
    CHECK_MESSAGE(allocating <= 1, allocating << " of 10 steady steps allocated");
    CHECK(dp.allreduces() == 11);
}
#endif
