#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "helpers.hpp"

using namespace mininn;

using test::three_blobs;

namespace {
auto small_net(std::uint64_t seed)
{
    Rng rng(seed);
    return Network{Dense<double>(2, 8, init::xavier, rng), Tanh{}, Dense<double>(8, 3, init::xavier, rng), Softmax{}};
}
FitOptions quiet(std::size_t epochs, std::size_t batch)
{
    FitOptions o;
    o.epochs = epochs;
    o.batch_size = batch;
    o.verbose = Verbosity::silent;
    o.seed = 5;
    return o;
}
} // namespace

TEST_CASE("fit with shuffled mini-batches learns a separable problem")
{
    const auto d = three_blobs(300, 1);
    auto net = small_net(2);
    Momentum<double> opt(0.05, 0.9);
    const History h = fit(net, CrossEntropy{}, opt, d.X, d.y, quiet(20, 16));
    REQUIRE(h.epochs.size() == 20);
    CHECK(h.epochs.back().loss < 0.2 * h.epochs.front().loss);
    CHECK(h.epochs.back().accuracy == 1.0);
    CHECK(std::isnan(h.epochs.back().val_loss));
    CHECK_FALSE(h.stopped_early);
    const Scores s = evaluate(net, CrossEntropy{}, d.X, d.y);
    CHECK(s.accuracy == 1.0);
    CHECK(s.loss < 0.1);
    CHECK(std::isnan(s.mse));
    CHECK(std::isnan(s.r2));
}

TEST_CASE("an epoch's seconds lie between the time its batches took and the wall clock between epoch ends")
{
    using clock = std::chrono::steady_clock;
    auto seconds = [](clock::duration t) { return std::chrono::duration<double>(t).count(); };
    const auto d = three_blobs(90, 1);
    auto net = small_net(2);
    GD<double> opt(0.1);
    FitOptions o = quiet(3, 30); // 3 batches an epoch
    std::vector<double> in_batches(3, 0.0), between_ends;
    o.on_batch_end = [&](const BatchLog& b) {
        const auto t0 = clock::now();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        in_batches.at(b.epoch) += seconds(clock::now() - t0);
        return true;
    };
    auto last = clock::now();
    o.on_epoch_end = [&](const EpochLog&) {
        const auto now = clock::now();
        between_ends.push_back(seconds(now - last));
        last = now;
        return true;
    };
    const History h = fit(net, CrossEntropy{}, opt, d.X, d.y, o);
    REQUIRE(h.epochs.size() == 3);
    REQUIRE(between_ends.size() == 3);
    for (std::size_t e = 0; e < 3; ++e) {
        CAPTURE(e);
        CHECK(in_batches[e] >= 0.06);
        CHECK(h.epochs[e].seconds >= in_batches[e]);
        CHECK(h.epochs[e].seconds <= between_ends[e]);
    }
}

TEST_CASE("full batch (batch_size 0) equals plain gradient descent steps")
{
    const auto d = three_blobs(90, 3);
    auto a = small_net(4), b = small_net(4);
    GD<double> ga(0.5), gb(0.5);
    fit(a, CrossEntropy{}, ga, d.X, d.y, quiet(5, 0));
    for (int i = 0; i < 5; ++i) {
        b.compute_gradients(CrossEntropy{}, d.X, d.y);
        gb.step(b);
    }
    CHECK(a.layer<0>().weights() == b.layer<0>().weights());
    CHECK(a.layer<2>().bias() == b.layer<2>().bias());
}

namespace {
// An epoch callback that checks the epoch's validation scores against the network's scores on
// (Xv, yv) at that point: the loss from evaluate(), the accuracy counted by hand.
template <class Net>
std::function<bool(const EpochLog&)> expect_validation_on(Net& net, const matrix<double>& Xv, const label_vector& yv,
                                                          std::size_t& seen)
{
    return [&net, &Xv, &yv, &seen](const EpochLog& e) {
        CAPTURE(e.epoch);
        const label_vector pred = net.predict(Xv);
        std::size_t correct = 0;
        for (std::size_t j = 0; j < yv.size(); ++j)
            correct += pred(j) == yv(j);
        CHECK(e.val_accuracy == static_cast<double>(correct) / static_cast<double>(yv.size()));
        CHECK(e.val_loss == doctest::Approx(evaluate(net, CrossEntropy{}, Xv, yv).loss).epsilon(1e-12));
        ++seen;
        return true;
    };
}
} // namespace

TEST_CASE("validation split and separate validation sets are evaluated every epoch")
{
    const auto d = three_blobs(300, 5);
    auto net = small_net(6);
    Adam<double> opt(0.01);
    FitOptions o = quiet(5, 32);
    o.validation_split = 0.2;
    // fit holds out the last 60 samples of a permutation drawn from its seed
    Rng split(o.seed);
    const auto perm = permutation(300, split);
    const std::vector<std::size_t> hold(perm.end() - 60, perm.end());
    const matrix<double> Xh = take_columns(d.X, hold);
    const label_vector yh = take(d.y, hold);
    std::size_t seen = 0;
    o.on_epoch_end = expect_validation_on(net, Xh, yh, seen);
    const History h = fit(net, CrossEntropy{}, opt, d.X, d.y, o);
    CHECK(seen == 5);
    CHECK(h.epochs.back().val_accuracy > 0.9);

    const auto v = three_blobs(60, 7);
    auto net2 = small_net(6);
    Adam<double> opt2(0.01);
    FitOptions o2 = quiet(3, 32);
    seen = 0;
    o2.on_epoch_end = expect_validation_on(net2, v.X, v.y, seen);
    const History h2 = fit(net2, CrossEntropy{}, opt2, d.X, d.y, o2, &v.X, &v.y);
    CHECK(seen == 3);
    CHECK(h2.epochs.back().val_accuracy > 0.9);
}

TEST_CASE("early stopping stops after `patience` epochs and restores the best weights")
{
    const auto d = three_blobs(120, 8);
    auto net = small_net(9);
    GD<double> opt(0.1);
    FitOptions o = quiet(50, 16);
    o.patience = 2;
    o.min_delta = 1e9; // nothing after the first epoch counts as an improvement
    xt::xarray<double> after_first;
    o.on_epoch_end = [&](const EpochLog& e) {
        if (e.epoch == 0)
            after_first = net.layer<0>().weights();
        return true;
    };
    const History h = fit(net, CrossEntropy{}, opt, d.X, d.y, o);
    CHECK(h.epochs.size() == 3);
    CHECK(h.stopped_early);
    CHECK(h.best_epoch == 0);
    CHECK_MESSAGE_CONTAINS(h.stop_reason, "early stopping after epoch 2");
    CHECK(xt::xarray<double>(net.layer<0>().weights()) == after_first);
}

TEST_CASE("callbacks can stop training")
{
    const auto d = three_blobs(120, 10);
    auto net = small_net(11);
    GD<double> opt(0.1);
    FitOptions o = quiet(10, 16);
    std::size_t seen = 0;
    o.on_batch_end = [&](const BatchLog& b) {
        ++seen;
        CHECK(b.batches == 8);
        CHECK(std::isfinite(b.loss));
        return b.batch < 3;
    };
    const History h = fit(net, CrossEntropy{}, opt, d.X, d.y, o);
    CHECK(seen == 4);
    CHECK(h.epochs.size() == 1);
    CHECK(h.stopped_early);

    auto net2 = small_net(11);
    FitOptions o2 = quiet(10, 16);
    o2.on_epoch_end = [](const EpochLog& e) { return e.epoch < 1; };
    CHECK(fit(net2, CrossEntropy{}, opt, d.X, d.y, o2).epochs.size() == 2);
}

namespace {
bool same_bits(double a, double b)
{
    return std::memcmp(&a, &b, sizeof a) == 0;
}
} // namespace

TEST_CASE("the same seeds give the same history and bit-identical weights; another seed other weights")
{
    const auto d = three_blobs(150, 12);
    struct Run {
        History h;
        std::vector<double> weights;
    };
    // net_seed initializes the weights, fit_seed draws the validation split and the shuffles.
    auto run = [&](std::uint64_t net_seed, std::uint64_t fit_seed) {
        auto net = small_net(net_seed);
        Adam<double> opt(0.01);
        FitOptions o = quiet(4, 10);
        o.seed = fit_seed;
        o.validation_split = 0.2;
        Run r{fit(net, CrossEntropy{}, opt, d.X, d.y, o), {}};
        net.visit_parameters([&](auto& p, auto&) { r.weights.insert(r.weights.end(), p.begin(), p.end()); });
        return r;
    };
    const Run a = run(13, 5), b = run(13, 5);
    REQUIRE(a.h.epochs.size() == 4);
    REQUIRE(b.h.epochs.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
        CAPTURE(e);
        CHECK(same_bits(a.h.epochs[e].loss, b.h.epochs[e].loss));
        CHECK(same_bits(a.h.epochs[e].accuracy, b.h.epochs[e].accuracy));
        CHECK(same_bits(a.h.epochs[e].val_loss, b.h.epochs[e].val_loss));
        CHECK(same_bits(a.h.epochs[e].val_accuracy, b.h.epochs[e].val_accuracy));
    }
    REQUIRE(a.weights.size() == 2 * 8 + 8 + 8 * 3 + 3);
    REQUIRE(b.weights.size() == a.weights.size());
    CHECK(std::memcmp(a.weights.data(), b.weights.data(), a.weights.size() * sizeof(double)) == 0);
    // Each seed is used: another one trains to other weights.
    for (const Run& c : {run(13, 6), run(14, 5)}) {
        REQUIRE(c.weights.size() == a.weights.size());
        CHECK(std::memcmp(a.weights.data(), c.weights.data(), a.weights.size() * sizeof(double)) != 0);
    }
}

TEST_CASE("NaN guard names the epoch, the batch and the tensor")
{
    auto d = three_blobs(64, 14);
    d.X(0, 5) = std::numeric_limits<double>::quiet_NaN();
    auto net = small_net(15);
    GD<double> opt(0.1);
    const auto msg = test::message_of<numeric_error>([&] { fit(net, CrossEntropy{}, opt, d.X, d.y, quiet(1, 16)); });
    CHECK_MESSAGE_CONTAINS(msg, "epoch 0, batch ");
    CHECK_MESSAGE_CONTAINS(msg, "CrossEntropy: the loss is nan");

    auto net2 = small_net(16);
    const auto clean = three_blobs(64, 14);
    net2.compute_gradients(CrossEntropy{}, clean.X, clean.y);
    net2.visit_named_parameters([](std::size_t layer, const std::string&, const char* role, auto&, auto& g) {
        if (layer == 2 && std::string(role) == "b")
            g(1) = std::numeric_limits<double>::infinity();
    });
    const auto msg2 = test::message_of<numeric_error>([&] { detail::check_gradients_finite(net2, 3, 7); });
    CHECK(msg2 == "epoch 3, batch 7: the gradient of b in layer 2 (Dense 8→3) contains NaN or inf; try a smaller "
                  "learning rate");
}

TEST_CASE("fit reports mismatched inputs")
{
    const auto d = three_blobs(30, 17);
    auto net = small_net(18);
    GD<double> opt(0.1);
    auto msg = test::message_of<shape_error>(
        [&] { fit(net, CrossEntropy{}, opt, d.X, label_vector{0, 1}, quiet(1, 8)); });
    CHECK(msg == "fit: targets for 2 samples but X has 30 (samples are columns)");
    FitOptions o = quiet(1, 8);
    o.validation_split = 0.01;
    msg = test::message_of<shape_error>([&] { fit(net, CrossEntropy{}, opt, d.X, d.y, o); });
    CHECK(msg == "fit: validation_split 0.01 of 30 samples leaves no validation sample");
    o.validation_split = 1.5;
    CHECK_THROWS_AS(fit(net, CrossEntropy{}, opt, d.X, d.y, o), std::invalid_argument);
}

TEST_CASE("fit and evaluate refuse zero samples instead of dividing by zero")
{
    auto net = small_net(19);
    GD<double> opt(0.1);
    const matrix<double> none(std::array<std::size_t, 2>{2, 0});
    const label_vector no_labels(std::array<std::size_t, 1>{0});
    CHECK(test::message_of<shape_error>([&] { fit(net, CrossEntropy{}, opt, none, no_labels, quiet(1, 8)); }) ==
          "fit: no training samples (X is [2, 0])");
    FitOptions full = quiet(1, 0);
    CHECK(test::message_of<shape_error>([&] { fit(net, CrossEntropy{}, opt, none, no_labels, full); }) ==
          "fit: no training samples (X is [2, 0])");
    CHECK(test::message_of<shape_error>([&] { evaluate(net, CrossEntropy{}, none, no_labels); }) ==
          "evaluate: no samples (X is [2, 0])");
}

TEST_CASE("fit with the training set moved in shuffles it in place and trains exactly as the copying fit")
{
    const auto d = three_blobs(203, 21);
    auto a = small_net(22), b = small_net(22);
    GD<double> ga(0.3), gb(0.3);
    FitOptions o = quiet(4, 16); // 13 batches, the last short, a new permutation each epoch
    const History ha = fit(a, CrossEntropy{}, ga, d.X, d.y, o);
    matrix<double> X = d.X;
    label_vector y = d.y;
    const History hb = fit(b, CrossEntropy{}, gb, std::move(X), std::move(y), o);
    REQUIRE(ha.epochs.size() == 4);
    REQUIRE(hb.epochs.size() == 4);
    for (std::size_t e = 0; e < 4; ++e) {
        CHECK(ha.epochs[e].loss == hb.epochs[e].loss);
        CHECK(ha.epochs[e].accuracy == hb.epochs[e].accuracy);
    }
    CHECK(a.layer<0>().weights() == b.layer<0>().weights());
    CHECK(a.layer<2>().bias() == b.layer<2>().bias());
}

namespace {
std::string fit_output_to_file(Verbosity v)
{
    const auto d = three_blobs(90, 1);
    auto net = small_net(2);
    GD<double> opt(0.1);
    FitOptions o = quiet(3, 16);
    o.verbose = v;
    o.validation_split = 0.2;
    return test::stdout_of([&] { fit(net, CrossEntropy{}, opt, d.X, d.y, o); });
}
} // namespace

TEST_CASE("fit prints one flushed line per epoch when stdout is not a terminal, and no escape codes")
{
    for (Verbosity v : {Verbosity::epochs, Verbosity::automatic}) {
        const std::string out = fit_output_to_file(v);
        CAPTURE(out);
        CHECK(out.find('\r') == std::string::npos);
        CHECK(out.find('\033') == std::string::npos);
        std::istringstream lines(out);
        std::string line;
        std::size_t count = 0;
        while (std::getline(lines, line)) {
            CAPTURE(line);
            ++count;
            CHECK(line.rfind(detail::cat("epoch ", count, "/3  loss "), 0) == 0);
            CHECK(line.find("  accuracy ") != std::string::npos);
            CHECK(line.find("  val_loss ") != std::string::npos);
            CHECK(line.find("  val_accuracy ") != std::string::npos);
            CHECK(line.size() > 3);
            CHECK(line.compare(line.size() - 2, 2, " s") == 0);
        }
        CHECK(count == 3);
    }
    // A live line is for terminals only, and silent is silent.
    CHECK(fit_output_to_file(Verbosity::progress).empty());
    CHECK(fit_output_to_file(Verbosity::silent).empty());
}

namespace {
// Sets an environment variable for the scope and restores what was there before when the scope
// ends, also when an assertion throws out of it: a failed REQUIRE must not leave the process
// looking like an MPI rank to every test after it.
class scoped_env {
public:
    scoped_env(std::string name, const char* value) : name_(std::move(name))
    {
        if (const char* before = std::getenv(name_.c_str()))
            before_ = before;
        ::setenv(name_.c_str(), value, 1);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;
    ~scoped_env()
    {
        if (before_)
            ::setenv(name_.c_str(), before_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }

private:
    std::string name_;
    std::optional<std::string> before_;
};
} // namespace

TEST_CASE("scoped_env restores the variable, also when the scope is left by an exception")
{
    const char* name = "MININN_TEST_SCOPED_ENV";
    REQUIRE(std::getenv(name) == nullptr);
    try {
        const scoped_env set(name, "1");
        CHECK(std::string(std::getenv(name)) == "1");
        throw std::runtime_error("as a failed REQUIRE throws");
    } catch (const std::runtime_error&) {
    }
    CHECK(std::getenv(name) == nullptr);
    const scoped_env outer(name, "before");
    {
        const scoped_env inner(name, "2");
        CHECK(std::string(std::getenv(name)) == "2");
    }
    CHECK(std::string(std::getenv(name)) == "before");
}

TEST_CASE("on a terminal fit draws a live line between its epoch lines, except under mpirun")
{
    const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
    REQUIRE(slave >= 0);
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    const auto d = three_blobs(90, 1);
    auto run = [&](Verbosity v) {
        auto net = small_net(2);
        GD<double> opt(0.1);
        FitOptions o = quiet(2, 16);
        o.verbose = v;
        bool interactive = false;
        const std::string out = test::stdout_of(slave, master, [&] {
            interactive = interactive_stdout();
            fit(net, CrossEntropy{}, opt, d.X, d.y, o);
        });
        return std::make_pair(interactive, out);
    };
    const auto [tty, live] = run(Verbosity::automatic);
    CHECK(tty);
    CHECK(live.find("\r\033[Kepoch 1/2  batch 1/6  loss ") != std::string::npos);
    CHECK(live.find("epoch 2/2  loss ") != std::string::npos);
    const auto [tty2, progress] = run(Verbosity::progress);
    CHECK(progress.find("\r\033[K") != std::string::npos);
    CHECK(progress.find("epoch 2/2  loss ") == std::string::npos);
    // An MPI rank's stdout is never treated as a terminal, whatever mpirun gave it.
    {
        const scoped_env rank("OMPI_COMM_WORLD_SIZE", "2");
        const auto [tty3, under_mpi] = run(Verbosity::automatic);
        CHECK_FALSE(tty3);
        CHECK(under_mpi.find('\033') == std::string::npos);
        CHECK(under_mpi.find("epoch 2/2  loss ") != std::string::npos);
    }
    CHECK(run(Verbosity::automatic).first); // a terminal again once the rank's variable is gone
    ::close(slave);
    ::close(master);
}

namespace {
// A loss of one's own that declares its task: cross-entropy on the probabilities.
struct OwnCrossEntropy : test::UnfusedCrossEntropy {
    static constexpr Task task = Task::classification;
};
} // namespace

TEST_CASE("fit() and evaluate() with losses of one's own: the loss alone, or the metrics of the declared task")
{
    const auto d = three_blobs(120, 3);
    auto a = small_net(4), b = small_net(4), c = small_net(4);
    Adam<double> oa(0.01), ob(0.01), oc(0.01);
    const History ha = fit(a, test::UnfusedCrossEntropy{}, oa, d.X, d.y, quiet(8, 16));
    const History hb = fit(b, OwnCrossEntropy{}, ob, d.X, d.y, quiet(8, 16));
    const History hc = fit(c, CrossEntropy{}, oc, d.X, d.y, quiet(8, 16));
    CHECK(task_of<test::UnfusedCrossEntropy> == Task::other);
    CHECK(std::isnan(ha.epochs.back().accuracy)); // no task declared: the loss alone
    CHECK(std::isnan(ha.epochs.back().mse));
    CHECK(hb.epochs.back().accuracy > 0.9);
    // The same math through the fused paths and through the loss's own value and gradient.
    for (std::size_t e = 0; e < 8; ++e) {
        CHECK(ha.epochs[e].loss == doctest::Approx(hc.epochs[e].loss).epsilon(1e-10));
        CHECK(hb.epochs[e].accuracy == hc.epochs[e].accuracy);
    }
    const Scores s = evaluate(a, test::UnfusedCrossEntropy{}, d.X, d.y);
    CHECK(s.loss == doctest::Approx(evaluate(c, CrossEntropy{}, d.X, d.y).loss).epsilon(1e-8));
    CHECK(std::isnan(s.accuracy));
    CHECK(evaluate(b, OwnCrossEntropy{}, d.X, d.y).accuracy > 0.9);
}

TEST_CASE("fit() with one-hot matrix targets reports the accuracy of their argmax")
{
    const auto d = three_blobs(90, 8);
    const matrix<double> Y = one_hot<double>(d.y, 3);
    auto a = small_net(2), b = small_net(2);
    GD<double> ga(0.5), gb(0.5);
    const History ha = fit(a, CrossEntropy{}, ga, d.X, d.y, quiet(5, 10));
    const History hb = fit(b, CrossEntropy{}, gb, d.X, Y, quiet(5, 10));
    for (std::size_t e = 0; e < 5; ++e) {
        CHECK(ha.epochs[e].loss == doctest::Approx(hb.epochs[e].loss).epsilon(1e-12));
        CHECK(ha.epochs[e].accuracy == hb.epochs[e].accuracy);
    }
    CHECK(evaluate(b, CrossEntropy{}, d.X, Y, 7).accuracy == evaluate(a, CrossEntropy{}, d.X, d.y).accuracy);
    CHECK(hb.epochs.back().accuracy > 0.9);
}

TEST_CASE("the epoch line shows the metrics of the loss's task")
{
    EpochLog e;
    e.epoch = 2;
    e.loss = 0.5;
    e.mse = 1;
    e.mae = 0.75;
    e.r2 = 0.25;
    CHECK(test::stdout_of([&] { detail::print_epoch(e, 5); }) ==
          "epoch 3/5  loss 0.5000  mse 1.0000  mae 0.7500  r2 0.2500  0.00 s\n");
}
