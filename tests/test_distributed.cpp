// mininn::distributed under mpiexec with 1, 2 and 4 ranks (and over TCP): every rank also
// trains a single-process reference on the whole data set, so each test compares the
// distributed result with one process's on the same data, and the ranks with each other.
#define DOCTEST_CONFIG_IMPLEMENT
#include <mininn/distributed/all.hpp>

#include <cstdio>
#include <filesystem>

#include "helpers.hpp"

using namespace mininn;
namespace dist = mininn::distributed;

namespace {

dist::Communicator* world = nullptr;

long allreduce_calls = 0, sendrecv_calls = 0, bcast_calls = 0;

} // namespace

// Counts this program's collectives and exchanges through MPI's profiling interface.
extern "C" int MPI_Allreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype type, MPI_Op op,
                             MPI_Comm comm)
{
    ++allreduce_calls;
    return PMPI_Allreduce(sendbuf, recvbuf, count, type, op, comm);
}
extern "C" int MPI_Bcast(void* buf, int count, MPI_Datatype type, int root, MPI_Comm comm)
{
    ++bcast_calls;
    return PMPI_Bcast(buf, count, type, root, comm);
}
extern "C" int MPI_Sendrecv(const void* sbuf, int scount, MPI_Datatype stype, int dest, int stag, void* rbuf,
                            int rcount, MPI_Datatype rtype, int source, int rtag, MPI_Comm comm, MPI_Status* status)
{
    ++sendrecv_calls;
    return PMPI_Sendrecv(sbuf, scount, stype, dest, stag, rbuf, rcount, rtype, source, rtag, comm, status);
}

namespace {

template <class T>
auto make_net(std::size_t d, std::size_t h, std::size_t K, std::uint64_t seed)
{
    Rng rng(seed);
    return Network{Dense<T>(d, h, init::xavier, rng), Tanh<T>{}, Dense<T>(h, K, init::xavier, rng), Softmax{}};
}

template <class Net>
std::vector<double> weights_of(Net& net)
{
    std::vector<double> w;
    net.visit_parameters([&](auto& p, auto&) { w.insert(w.end(), p.begin(), p.end()); });
    return w;
}

double relative_l2(const std::vector<double>& a, const std::vector<double>& b)
{
    double d = 0, n = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        n += b[i] * b[i];
    }
    return std::sqrt(d / n);
}

// True on every rank when every rank holds rank 0's parameters bit for bit.
template <class Net>
bool same_on_every_rank(Net& net)
{
    std::vector<double> mine = weights_of(net), root = mine;
    world->broadcast(root.data(), root.size(), 0);
    return !world->any(mine != root);
}

template <class T>
struct Data {
    matrix<T> X, Xs; // all, and this rank's shard
    label_vector y, ys;
    dist::Shard s;
};

template <class T>
Data<T> make_data(std::size_t d, std::size_t n, std::size_t K, std::uint64_t seed)
{
    Rng rng(seed);
    Data<T> data;
    data.X = test::random_matrix<T>(d, n, rng);
    data.y = test::random_labels(n, K, rng);
    data.s = dist::shard(*world, n);
    std::vector<std::size_t> idx(data.s.count);
    for (std::size_t k = 0; k < idx.size(); ++k)
        idx[k] = data.s.first + k;
    data.Xs = take_columns(data.X, idx);
    data.ys = take(data.y, idx);
    return data;
}

// Full-batch GD steps on this rank's shard against the same steps on the whole set.
template <class T>
double full_batch_difference(std::size_t n, int steps)
{
    const auto data = make_data<T>(12, n, 3, 7);
    auto net = make_net<T>(12, 6, 3, 1 + static_cast<std::uint64_t>(world->rank())); // rank 0's weights win
    auto ref = make_net<T>(12, 6, 3, 1);
    dist::DataParallel dp(*world, net);
    GD<T> gd(T(0.5)), gd_ref(T(0.5));
    const CrossEntropy loss;
    for (int i = 0; i < steps; ++i) {
        const T l = dp.step(loss, gd, data.Xs, data.ys);
        const T l_ref = ref.compute_gradients(loss, data.X, data.y);
        gd_ref.step(ref);
        CHECK(static_cast<double>(l) == doctest::Approx(static_cast<double>(l_ref)).epsilon(1e-5));
        CHECK(dp.samples() == n);
    }
    CHECK(same_on_every_rank(net));
    return relative_l2(weights_of(net), weights_of(ref));
}

// One path for every rank: rank 0's name in the temporary directory.
std::string shared_temp(const std::string& name)
{
    const std::string mine =
        (std::filesystem::temp_directory_path() / ("mininn_dist_" + std::to_string(::getpid()) + "_" + name)).string();
    return world->broadcast(mine, 0);
}

void remove_on_root(const std::string& path)
{
    world->barrier(); // every rank has read it
    if (world->root())
        std::filesystem::remove(path);
}

// Data<T> with about two entries in three set to zero, and its sparse shard.
template <class T>
struct SparseData : Data<T> {
    sparse_matrix<T> S;
};
template <class T>
SparseData<T> make_sparse_data(std::size_t d, std::size_t n, std::size_t K, std::uint64_t seed)
{
    SparseData<T> data{make_data<T>(d, n, K, seed), {}};
    for (matrix<T>* M : {&data.X, &data.Xs})
        for (std::size_t i = 0; i < d; ++i)
            for (std::size_t j = 0; j < M->shape()[1]; ++j)
                if ((i + j + (M == &data.Xs ? data.s.first : 0)) % 3 != 0)
                    (*M)(i, j) = 0;
    data.S = sparse_matrix<T>(data.Xs);
    return data;
}

// Options whose whole state a checkpoint must carry: a plateau schedule that cuts the rate
// (no epoch improves by 10) and early stopping's best loss; batches of 16.
FitOptions resumable(std::size_t epochs)
{
    FitOptions fo;
    fo.epochs = epochs;
    fo.batch_size = 16;
    fo.seed = 8;
    fo.patience = 10;
    fo.schedule = Schedule::reduce_on_plateau(0.5, 1, 10.0);
    fo.verbose = Verbosity::silent;
    return fo;
}

// Trains 3 of 6 epochs with a checkpoint.
FitOptions first_half(const std::string& checkpoint)
{
    FitOptions fo = resumable(6);
    fo.checkpoint = checkpoint;
    fo.on_epoch_end = [](const EpochLog& e) { return e.epoch < 2; };
    return fo;
}

FitOptions second_half(const std::string& resume_from)
{
    FitOptions fo = resumable(6);
    fo.resume_from = resume_from;
    return fo;
}

} // namespace

TEST_CASE("shards are contiguous, in rank order, cover every sample once, and may be empty")
{
    for (const int size : {1, 2, 3, 4, 7})
        for (const std::size_t total : {std::size_t(0), std::size_t(3), std::size_t(103), std::size_t(60000)}) {
            std::size_t next = 0;
            for (int r = 0; r < size; ++r) {
                const auto s = dist::shard(total, r, size);
                CHECK(s.first == next);
                CHECK(s.total == total);
                CHECK(s.count + 1 >= total / static_cast<std::size_t>(size)); // balanced within one sample
                CHECK(s.count <= total / static_cast<std::size_t>(size) + 1);
                next += s.count;
            }
            CHECK(next == total);
        }
    CHECK(dist::shard(103, 0, 4).count == 26);
    CHECK(dist::shard(103, 3, 4).count == 25);
    CHECK(dist::shard(3, 3, 4).count == 0);
    CHECK(test::message_of<std::invalid_argument>([] { dist::shard(10, 4, 4); }) ==
          "distributed::shard: rank 4 of 4");
}

TEST_CASE("the communicator: rank, size, sums, votes and broadcasts")
{
    const int r = world->rank(), n = world->size();
    CHECK(world->sum(r + 1) == n * (n + 1) / 2);
    CHECK(world->any(r == n - 1));
    CHECK_FALSE(world->any(false));
    CHECK(world->min(r) == 0);
    CHECK(world->max(r) == n - 1);
    CHECK(world->broadcast(r == n - 1 ? std::string("from the last rank") : std::string(), n - 1) ==
          "from the last rank");
    // The caller's communicator: a duplicate is used, MPI is left initialised.
    const dist::Communicator borrowed(MPI_COMM_WORLD);
    CHECK_FALSE(borrowed.owns_mpi());
    CHECK(borrowed.size() == n);
}

TEST_CASE("DataParallel starts every rank from rank 0's weights")
{
    auto net = make_net<double>(5, 4, 3, 100 + static_cast<std::uint64_t>(world->rank()));
    auto ref = make_net<double>(5, 4, 3, 100);
    dist::DataParallel dp(*world, net);
    CHECK(weights_of(net) == weights_of(ref));

    auto other = make_net<double>(5, world->rank() == 0 ? 4 : 5, 3, 1);
    if (world->size() > 1)
        CHECK(test::message_of<std::invalid_argument>([&] { dist::DataParallel bad(*world, other); }) ==
              "distributed: the ranks' networks differ: between 39 and 48 values in their tensors");
}

TEST_CASE("full-batch steps equal one process's: double to 1e-12, float to 1e-5, uneven and empty shards")
{
    CHECK(full_batch_difference<double>(103, 30) < 1e-12); // 4 ranks: 26, 26, 26, 25 columns
    CHECK(full_batch_difference<float>(103, 30) < 1e-5);
    CHECK(full_batch_difference<double>(3, 10) < 1e-12); // 4 ranks: one holds nothing
    CHECK(full_batch_difference<double>(20000, 3) < 1e-12); // the fused head's parallel sweep
}

TEST_CASE("one allreduce per step, whatever the number of parameters: the ring's 2 (N - 1) exchanges, nothing else")
{
    const auto data = make_data<float>(30, 64, 10, 3);
    auto net = make_net<float>(30, 40, 10, 5);
    dist::DataParallel dp(*world, net);
    GD<float> gd(0.1f);
    const long a = allreduce_calls, b = bcast_calls, s = sendrecv_calls;
    for (int i = 0; i < 7; ++i)
        dp.step(CrossEntropy{}, gd, data.Xs, data.ys);
    CHECK(allreduce_calls - a == 0);
    CHECK(bcast_calls - b == 0);
    CHECK(sendrecv_calls - s == 7 * 2 * (world->size() - 1));
    CHECK(dp.allreduces() == 7);
    CHECK(dp.steps() == 7);
}

TEST_CASE("Reduction::mpi: one MPI_Allreduce per step, the same result as the ring to rounding")
{
    const auto data = make_data<double>(30, 101, 10, 4);
    auto a = make_net<double>(30, 20, 10, 6), b = make_net<double>(30, 20, 10, 6);
    dist::DataParallel ring(*world, a), mpi(*world, b, dist::Reduction::mpi);
    GD<double> ga(0.2), gb(0.2);
    const long calls = allreduce_calls, s = sendrecv_calls;
    for (int i = 0; i < 5; ++i) {
        ring.step(CrossEntropy{}, ga, data.Xs, data.ys);
        mpi.step(CrossEntropy{}, gb, data.Xs, data.ys);
    }
    CHECK(allreduce_calls - calls == 5);
    CHECK(sendrecv_calls - s == 5 * 2 * (world->size() - 1));
    CHECK(relative_l2(weights_of(b), weights_of(a)) < 1e-13);
    CHECK(same_on_every_rank(b));
}

TEST_CASE("the ring allreduce sums like MPI_Allreduce, for any length, and gives every rank the same bits")
{
    const int N = world->size();
    for (const std::size_t n : {std::size_t(1), std::size_t(3), std::size_t(5), std::size_t(1000), std::size_t(50894)}) {
        std::vector<double> x(n), scratch(n / static_cast<std::size_t>(N) + 1);
        for (std::size_t i = 0; i < n; ++i)
            x[i] = static_cast<double>((i + 1) * static_cast<std::size_t>(world->rank() + 1)); // exact in double
        world->ring_sum(x.data(), n, scratch.data());
        bool ok = true;
        for (std::size_t i = 0; i < n; ++i)
            ok = ok && x[i] == static_cast<double>((i + 1) * static_cast<std::size_t>(N * (N + 1) / 2));
        CHECK(ok);
        std::vector<float> f(n), fs(n / static_cast<std::size_t>(N) + 1);
        Rng rng(static_cast<std::uint64_t>(world->rank()));
        for (auto& v : f)
            v = static_cast<float>(rng.normal());
        std::vector<float> g = f;
        world->ring_sum(f.data(), n, fs.data());
        world->sum(g.data(), n);
        double worst = 0;
        for (std::size_t i = 0; i < n; ++i)
            worst = std::max(worst, std::abs(static_cast<double>(f[i]) - g[i]));
        CHECK(worst < 1e-5);
        std::vector<float> root = f;
        world->broadcast(root.data(), n, 0);
        CHECK_FALSE(world->any(root != f));
    }
}

TEST_CASE("distributed fit with Adam equals fit in one process, batches split across the ranks")
{
    const auto data = make_data<double>(10, 103, 4, 11);
    auto net = make_net<double>(10, 8, 4, 2);
    auto ref = make_net<double>(10, 8, 4, 2);
    dist::DataParallel dp(*world, net);
    Adam<double> adam(1e-2), adam_ref(1e-2);
    FitOptions fo;
    fo.epochs = 4;
    fo.batch_size = 16; // 7 batches, the last of 7 samples
    fo.seed = 5;
    fo.verbose = Verbosity::silent;
    fo.schedule = Schedule::cosine(4);
    const History h = dist::fit(dp, CrossEntropy{}, adam, data.Xs, data.ys, data.s, fo);
    const History h_ref = fit(ref, CrossEntropy{}, adam_ref, data.X, data.y, fo);
    REQUIRE(h.epochs.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
        CHECK(h.epochs[e].loss == doctest::Approx(h_ref.epochs[e].loss).epsilon(1e-12));
        CHECK(h.epochs[e].accuracy == h_ref.epochs[e].accuracy);
        CHECK(h.epochs[e].learning_rate == h_ref.epochs[e].learning_rate);
    }
    CHECK(relative_l2(weights_of(net), weights_of(ref)) < 1e-12);
    CHECK(same_on_every_rank(net));

    // Validation on each rank's shard of a validation set, reduced: equal to evaluate() on all of it.
    const auto val = make_data<double>(10, 37, 4, 12);
    const Scores v = dist::evaluate(dp, CrossEntropy{}, val.Xs, val.ys);
    const Scores v_ref = evaluate(ref, CrossEntropy{}, val.X, val.y);
    CHECK(v.loss == doctest::Approx(v_ref.loss).epsilon(1e-12));
    CHECK(v.accuracy == v_ref.accuracy);
}

TEST_CASE("distributed fit of a regression with validation and early stopping equals one process's")
{
    Rng rng(21);
    const std::size_t n = 90;
    matrix<float> X = test::random_matrix<float>(3, n, rng), Y({1, n});
    for (std::size_t j = 0; j < n; ++j)
        Y(0, j) = 2 * X(0, j) - X(1, j) + 0.5f * X(2, j) * X(2, j) + 3;
    const auto s = dist::shard(*world, n);
    const auto part = [&](const matrix<float>& M, std::size_t a, std::size_t b) {
        return matrix<float>(xt::view(M, xt::all(), xt::range(a, b)));
    };
    // The first 60 samples train, the last 30 validate; each rank holds its part of both.
    const auto st = dist::shard(*world, 60), sv = dist::shard(*world, 30);
    const matrix<float> Xt = part(X, st.first, st.first + st.count), Yt = part(Y, st.first, st.first + st.count);
    const matrix<float> Xv = part(X, 60 + sv.first, 60 + sv.first + sv.count),
                        Yv = part(Y, 60 + sv.first, 60 + sv.first + sv.count);
    const matrix<float> Xt_all = part(X, 0, 60), Yt_all = part(Y, 0, 60), Xv_all = part(X, 60, 90),
                        Yv_all = part(Y, 60, 90);
    static_cast<void>(s);
    auto build = [] {
        Rng r(4);
        return Network{Dense<float>(3, 16, init::he, r), ReLU{}, Dense<float>(16, 1, init::xavier, r)};
    };
    auto net = build(), ref = build();
    dist::DataParallel dp(*world, net);
    Adam<float> a(0.05f), a_ref(0.05f);
    FitOptions fo;
    fo.epochs = 60;
    fo.batch_size = 8;
    fo.patience = 3;
    fo.verbose = Verbosity::silent;
    const History h = dist::fit(dp, MeanSquaredError{}, a, Xt, Yt, st, fo, &Xv, &Yv);
    const History h_ref = fit(ref, MeanSquaredError{}, a_ref, Xt_all, Yt_all, fo, &Xv_all, &Yv_all);
    CHECK(h.epochs.size() == h_ref.epochs.size());
    CHECK(h.stopped_early == h_ref.stopped_early);
    CHECK(h.best_epoch == h_ref.best_epoch);
    CHECK(h.epochs.back().val_r2 == doctest::Approx(h_ref.epochs.back().val_r2).epsilon(1e-4));
    CHECK(h.epochs.back().val_r2 > 0.9);
    CHECK(relative_l2(weights_of(net), weights_of(ref)) < 1e-5);
    CHECK(same_on_every_rank(net));
}

TEST_CASE("a validation_split under MPI is fit()'s: the same held-out samples, scores, early stop and weights")
{
    // Classification: labels that a network can learn a little, so that validation moves.
    auto data = make_data<double>(6, 131, 3, 17);
    for (std::size_t j = 0; j < 131; ++j)
        data.y(j) = data.X(0, j) + data.X(1, j) > 0.3 ? 2 : data.X(2, j) > 0 ? 1 : 0;
    std::vector<std::size_t> idx(data.s.count);
    for (std::size_t k = 0; k < idx.size(); ++k)
        idx[k] = data.s.first + k;
    data.ys = take(data.y, idx);
    auto net = make_net<double>(6, 8, 3, 3);
    auto ref = make_net<double>(6, 8, 3, 3);
    dist::DataParallel dp(*world, net);
    Adam<double> adam(3e-2), adam_ref(3e-2);
    FitOptions fo;
    fo.epochs = 40;
    fo.batch_size = 16;
    fo.seed = 8;
    fo.validation_split = 0.3; // 39 samples held out of 131, from every rank's shard
    fo.patience = 3;
    fo.verbose = Verbosity::silent;
    const History h = dist::fit(dp, CrossEntropy{}, adam, data.Xs, data.ys, data.s, fo);
    const History h_ref = fit(ref, CrossEntropy{}, adam_ref, data.X, data.y, fo);
    REQUIRE(h.epochs.size() == h_ref.epochs.size());
    CHECK(h_ref.stopped_early); // the case tests early stopping, not only the scores
    CHECK(h.stopped_early == h_ref.stopped_early);
    CHECK(h.best_epoch == h_ref.best_epoch);
    for (std::size_t e = 0; e < h.epochs.size(); ++e) {
        CAPTURE(e);
        CHECK(h.epochs[e].loss == doctest::Approx(h_ref.epochs[e].loss).epsilon(1e-12));
        CHECK(h.epochs[e].val_loss == doctest::Approx(h_ref.epochs[e].val_loss).epsilon(1e-12));
        CHECK(h.epochs[e].val_accuracy == h_ref.epochs[e].val_accuracy);
    }
    CHECK(relative_l2(weights_of(net), weights_of(ref)) < 1e-12);
    CHECK(same_on_every_rank(net));

    // Regression: R² uses the training and the held-out targets' global means.
    Rng rng(2);
    const std::size_t n = 70;
    const matrix<double> X = test::random_matrix<double>(2, n, rng);
    matrix<double> Y({1, n});
    for (std::size_t j = 0; j < n; ++j)
        Y(0, j) = 3 * X(0, j) - X(1, j) + 1;
    const auto s = dist::shard(*world, n);
    const matrix<double> Xs = xt::view(X, xt::all(), xt::range(s.first, s.first + s.count)),
                         Ys = xt::view(Y, xt::all(), xt::range(s.first, s.first + s.count));
    auto build = [] {
        Rng r(4);
        return Network{Dense<double>(2, 1, init::xavier, r)};
    };
    auto lin = build(), lin_ref = build();
    dist::DataParallel dl(*world, lin);
    GD<double> gd(0.1), gd_ref(0.1);
    FitOptions fr;
    fr.epochs = 5;
    fr.batch_size = 10;
    fr.validation_split = 0.2;
    fr.verbose = Verbosity::silent;
    const History r = dist::fit(dl, MeanSquaredError{}, gd, Xs, Ys, s, fr);
    const History r_ref = fit(lin_ref, MeanSquaredError{}, gd_ref, X, Y, fr);
    REQUIRE(r.epochs.size() == 5);
    for (std::size_t e = 0; e < 5; ++e) {
        CHECK(r.epochs[e].r2 == doctest::Approx(r_ref.epochs[e].r2).epsilon(1e-10));
        CHECK(r.epochs[e].val_r2 == doctest::Approx(r_ref.epochs[e].val_r2).epsilon(1e-10));
    }

    fr.validation_split = 0.01; // 0 of 70
    CHECK_THROWS_WITH_AS(dist::fit(dl, MeanSquaredError{}, gd, Xs, Ys, s, fr),
                         "distributed::fit: validation_split 0.01 of 70 samples leaves no validation sample",
                         shape_error);
    fr.validation_split = 1.5;
    CHECK_THROWS_WITH_AS(dist::fit(dl, MeanSquaredError{}, gd, Xs, Ys, s, fr),
                         "distributed::fit: validation_split must be in [0, 1), got 1.5", std::invalid_argument);
}

TEST_CASE("a callback that stops on one rank stops every rank after the same batch")
{
    const auto data = make_data<double>(6, 80, 3, 13);
    const int last = world->size() - 1;
    for (const std::size_t stop_after : {std::size_t(2), std::size_t(9)}) { // mid-epoch, and an epoch's last batch
        auto net = make_net<double>(6, 5, 3, 3), ref = make_net<double>(6, 5, 3, 3);
        dist::DataParallel dp(*world, net);
        GD<double> gd(0.1), gd_ref(0.1);
        FitOptions fo;
        fo.epochs = 3;
        fo.batch_size = 8; // 10 batches an epoch
        fo.verbose = Verbosity::silent;
        FitOptions fo_ref = fo;
        fo.on_batch_end = [&](const BatchLog& b) { return !(world->rank() == last && b.batch == stop_after); };
        fo_ref.on_batch_end = [&](const BatchLog& b) { return b.batch != stop_after; };
        const History h = dist::fit(dp, CrossEntropy{}, gd, data.Xs, data.ys, data.s, fo);
        const History h_ref = fit(ref, CrossEntropy{}, gd_ref, data.X, data.y, fo_ref);
        CHECK(h.stopped_early);
        CHECK(h.epochs.size() == 1);
        CHECK(h.stop_reason == h_ref.stop_reason);
        CHECK(h.epochs[0].loss == doctest::Approx(h_ref.epochs[0].loss).epsilon(1e-12));
        CHECK(relative_l2(weights_of(net), weights_of(ref)) < 1e-12);
        CHECK(same_on_every_rank(net));
    }
    // The epoch callback too.
    auto net = make_net<double>(6, 5, 3, 3);
    dist::DataParallel dp(*world, net);
    GD<double> gd(0.1);
    FitOptions fo;
    fo.epochs = 5;
    fo.batch_size = 16;
    fo.verbose = Verbosity::silent;
    fo.on_epoch_end = [&](const EpochLog& e) { return !(world->rank() == last && e.epoch == 1); };
    const History h = dist::fit(dp, CrossEntropy{}, gd, data.Xs, data.ys, data.s, fo);
    CHECK(h.epochs.size() == 2);
    CHECK(h.stop_reason == "stopped by the epoch callback after epoch 1");
}

TEST_CASE("a NaN or a bad shape on one rank is the same error on every rank")
{
    const auto data = make_data<float>(6, 40, 3, 17);
    const int last = world->size() - 1;
    auto net = make_net<float>(6, 5, 3, 3);
    dist::DataParallel dp(*world, net);
    GD<float> gd(0.1f);
    matrix<float> X = data.Xs;
    if (world->rank() == last && X.size() > 0)
        X(0, 0) = std::numeric_limits<float>::quiet_NaN();
    const std::string msg = test::message_of<numeric_error>([&] { dp.step(CrossEntropy{}, gd, X, data.ys); });
    CHECK_MESSAGE_CONTAINS(msg, "rank " + std::to_string(last) + ": CrossEntropy");
    CHECK_MESSAGE_CONTAINS(msg, "NaN");
    CHECK(same_on_every_rank(net)); // no step was taken anywhere

    // Inside fit: the epoch and batch are named too.
    FitOptions fo;
    fo.epochs = 2;
    fo.batch_size = 40;
    fo.verbose = Verbosity::silent;
    CHECK_MESSAGE_CONTAINS(
        test::message_of<numeric_error>([&] { dist::fit(dp, CrossEntropy{}, gd, X, data.ys, data.s, fo); }),
        "epoch 0, batch 0: rank " + std::to_string(last));

    // A rank whose inputs have the wrong number of rows.
    const matrix<float> wrong = world->rank() == last ? matrix<float>(xt::zeros<float>({5, 2})) : data.Xs;
    const label_vector wy = world->rank() == last ? label_vector{0, 1} : data.ys;
    CHECK_MESSAGE_CONTAINS(test::message_of<shape_error>([&] { dp.step(CrossEntropy{}, gd, wrong, wy); }),
                           "rank " + std::to_string(last) + ": layer 0 (Dense 6→5): expected input [6, n]");
}

TEST_CASE("save writes on rank 0 only; load reads there and broadcasts")
{
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("mininn_dist_" + std::to_string(::getpid()) + ".npz")).string();
    std::string shared = world->broadcast(path, 0); // one file for every rank: rank 0's name
    auto net = make_net<double>(4, 3, 2, 8);
    dist::DataParallel dp(*world, net);
    dist::save(*world, net, shared);
    auto back = make_net<double>(4, 3, 2, 9 + static_cast<std::uint64_t>(world->rank()));
    dist::DataParallel dp_back(*world, back);
    dist::load(dp_back, back, shared);
    CHECK(weights_of(back) == weights_of(net));
    if (world->root())
        std::filesystem::remove(shared);
    world->barrier();
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { dist::load(dp_back, back, shared); }), shared);
    CHECK(weights_of(back) == weights_of(net));
}

TEST_CASE("distributed checkpoints: 3 epochs, then a resume in fresh objects, equal 6 straight bit for bit")
{
    const auto data = make_data<double>(10, 103, 4, 31), val = make_data<double>(10, 37, 4, 32);
    const std::string ck = shared_temp("resume.npz");
    auto straight = make_net<double>(10, 8, 4, 2);
    dist::DataParallel dp_straight(*world, straight);
    Adam<double> opt_straight(1e-2);
    const History all =
        dist::fit(dp_straight, CrossEntropy{}, opt_straight, data.Xs, data.ys, data.s, resumable(6), &val.Xs, &val.ys);
    REQUIRE(all.epochs.size() == 6);
    REQUIRE(all.epochs[5].learning_rate < all.epochs[1].learning_rate); // the schedule's state matters
    {
        auto first = make_net<double>(10, 8, 4, 2);
        dist::DataParallel dp(*world, first);
        Adam<double> opt(1e-2);
        const History h =
            dist::fit(dp, CrossEntropy{}, opt, data.Xs, data.ys, data.s, first_half(ck), &val.Xs, &val.ys);
        CHECK(h.epochs.size() == 3);
    }
    auto resumed = make_net<double>(10, 8, 4, 50 + static_cast<std::uint64_t>(world->rank()));
    dist::DataParallel dp(*world, resumed);
    Adam<double> opt(1e-2);
    const History rest =
        dist::fit(dp, CrossEntropy{}, opt, data.Xs, data.ys, data.s, second_half(ck), &val.Xs, &val.ys);
    remove_on_root(ck);
    REQUIRE(rest.epochs.size() == 3);
    CHECK(rest.epochs.front().epoch == 3);
    CHECK(weights_of(resumed) == weights_of(straight));
    for (std::size_t e = 0; e < 3; ++e) {
        CHECK(rest.epochs[e].loss == all.epochs[e + 3].loss);
        CHECK(rest.epochs[e].accuracy == all.epochs[e + 3].accuracy);
        CHECK(rest.epochs[e].val_loss == all.epochs[e + 3].val_loss);
        CHECK(rest.epochs[e].val_accuracy == all.epochs[e + 3].val_accuracy);
        CHECK(rest.epochs[e].learning_rate == all.epochs[e + 3].learning_rate);
    }
    CHECK(rest.best_epoch == all.best_epoch);
    CHECK(opt.steps() == opt_straight.steps());
    CHECK(same_on_every_rank(resumed));
}

TEST_CASE("a checkpoint of fit() resumes in distributed fit, and one of distributed fit in fit(), to rounding")
{
    const auto data = make_data<double>(10, 103, 4, 33), val = make_data<double>(10, 37, 4, 34);
    auto straight = make_net<double>(10, 8, 4, 3);
    Adam<double> opt_straight(1e-2);
    const History all = fit(straight, CrossEntropy{}, opt_straight, data.X, data.y, resumable(6), &val.X, &val.y);
    const auto check_rest = [&](auto& net, const History& rest) {
        REQUIRE(rest.epochs.size() == 3);
        CHECK(relative_l2(weights_of(net), weights_of(straight)) < 1e-12);
        for (std::size_t e = 0; e < 3; ++e) {
            CHECK(rest.epochs[e].loss == doctest::Approx(all.epochs[e + 3].loss).epsilon(1e-12));
            CHECK(rest.epochs[e].val_loss == doctest::Approx(all.epochs[e + 3].val_loss).epsilon(1e-12));
            CHECK(rest.epochs[e].learning_rate == all.epochs[e + 3].learning_rate);
        }
    };
    // fit() writes (on rank 0: the file is the same everywhere), distributed fit resumes.
    const std::string one = shared_temp("from_fit.npz");
    if (world->root()) {
        auto net = make_net<double>(10, 8, 4, 3);
        Adam<double> opt(1e-2);
        fit(net, CrossEntropy{}, opt, data.X, data.y, first_half(one), &val.X, &val.y);
    }
    world->barrier();
    auto net = make_net<double>(10, 8, 4, 60);
    dist::DataParallel dp(*world, net);
    Adam<double> opt(1e-2);
    check_rest(net, dist::fit(dp, CrossEntropy{}, opt, data.Xs, data.ys, data.s, second_half(one), &val.Xs, &val.ys));
    CHECK(same_on_every_rank(net));
    remove_on_root(one);

    // Distributed fit writes, fit() resumes on every rank.
    const std::string many = shared_temp("from_dist.npz");
    {
        auto first = make_net<double>(10, 8, 4, 3);
        dist::DataParallel dp_first(*world, first);
        Adam<double> opt_first(1e-2);
        dist::fit(dp_first, CrossEntropy{}, opt_first, data.Xs, data.ys, data.s, first_half(many), &val.Xs, &val.ys);
    }
    auto back = make_net<double>(10, 8, 4, 61);
    Adam<double> opt_back(1e-2);
    check_rest(back, fit(back, CrossEntropy{}, opt_back, data.X, data.y, second_half(many), &val.X, &val.y));
    remove_on_root(many);
}

TEST_CASE("distributed checkpoints fail on every rank: unwritable on rank 0, unreadable on one rank")
{
    const auto data = make_data<double>(6, 40, 3, 35);
    auto net = make_net<double>(6, 5, 3, 4);
    dist::DataParallel dp(*world, net);
    Adam<double> opt(1e-2);
    FitOptions fo = resumable(2);
    fo.checkpoint = "/nonexistent-mininn-dir/ck.npz";
    CHECK_MESSAGE_CONTAINS(
        test::message_of<io_error>([&] { dist::fit(dp, CrossEntropy{}, opt, data.Xs, data.ys, data.s, fo); }),
        "rank 0: ");

    // The file exists on rank 0 only (each rank names its own): the others' failure reaches rank 0.
    const std::string ck = shared_temp("one_rank.npz");
    fo.checkpoint = ck;
    fo.epochs = 1;
    dist::fit(dp, CrossEntropy{}, opt, data.Xs, data.ys, data.s, fo);
    FitOptions back = resumable(2);
    const bool alone = world->size() == 1; // then rank 0 misses it
    back.resume_from = world->root() && !alone ? ck : ck + ".missing";
    const std::string msg =
        test::message_of<io_error>([&] { dist::fit(dp, CrossEntropy{}, opt, data.Xs, data.ys, data.s, back); });
    CHECK_MESSAGE_CONTAINS(msg, alone ? "rank 0: " : "rank 1: ");
    CHECK_MESSAGE_CONTAINS(msg, ck + ".missing");
    remove_on_root(ck);
}

TEST_CASE("a sparse shard trains as the dense one, and as fit() on the whole sparse set")
{
    const auto data = make_sparse_data<double>(12, 103, 4, 36), val = make_sparse_data<double>(12, 37, 4, 37);
    FitOptions fo = resumable(4);
    auto dense = make_net<double>(12, 8, 4, 6), sparse = make_net<double>(12, 8, 4, 6),
         ref = make_net<double>(12, 8, 4, 6);
    dist::DataParallel dp_dense(*world, dense), dp_sparse(*world, sparse);
    Adam<double> a_dense(1e-2), a_sparse(1e-2), a_ref(1e-2);
    const History hd = dist::fit(dp_dense, CrossEntropy{}, a_dense, data.Xs, data.ys, data.s, fo, &val.Xs, &val.ys);
    const History hs = dist::fit(dp_sparse, CrossEntropy{}, a_sparse, data.S, data.ys, data.s, fo, &val.S, &val.ys);
    const sparse_matrix<double> S_all(data.X), V_all(val.X);
    const History hr = fit(ref, CrossEntropy{}, a_ref, S_all, data.y, fo, &V_all, &val.y);
    REQUIRE(hs.epochs.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
        CHECK(hs.epochs[e].loss == doctest::Approx(hd.epochs[e].loss).epsilon(1e-12));
        CHECK(hs.epochs[e].val_loss == doctest::Approx(hd.epochs[e].val_loss).epsilon(1e-12));
        CHECK(hs.epochs[e].accuracy == hd.epochs[e].accuracy);
        CHECK(hs.epochs[e].loss == doctest::Approx(hr.epochs[e].loss).epsilon(1e-12));
    }
    CHECK(relative_l2(weights_of(sparse), weights_of(dense)) < 1e-12);
    CHECK(relative_l2(weights_of(sparse), weights_of(ref)) < 1e-12);
    CHECK(same_on_every_rank(sparse));
    const Scores v = dist::evaluate(dp_sparse, CrossEntropy{}, val.S, val.ys, 10);
    CHECK(v.loss == doctest::Approx(evaluate(ref, CrossEntropy{}, V_all, val.y).loss).epsilon(1e-12));

    // Full batches: each rank's whole shard at once.
    fo.batch_size = 0;
    const History full = dist::fit(dp_sparse, CrossEntropy{}, a_sparse, data.S, data.ys, data.s, fo);
    const History full_ref = fit(ref, CrossEntropy{}, a_ref, S_all, data.y, fo);
    CHECK(full.epochs.back().loss == doctest::Approx(full_ref.epochs.back().loss).epsilon(1e-12));
    CHECK(relative_l2(weights_of(sparse), weights_of(ref)) < 1e-12);
}

int main(int argc, char** argv)
{
    dist::Communicator comm;
    world = &comm;
    doctest::Context context(argc, argv);
    if (!comm.root()) // one report, from rank 0; every rank still fails the test when its checks fail
        context.setOption("out", "/dev/null");
    const int failed = context.run();
    const bool any = comm.any(failed != 0);
    world = nullptr;
    return any ? 1 : 0;
}
