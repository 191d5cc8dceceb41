// Checkpoints: resuming is bit-identical to training straight through, numpy opens them, and a
// checkpoint that does not fit the network or the optimizer changes nothing.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "helpers.hpp"

using namespace mininn;
namespace fs = std::filesystem;

namespace {
std::string temp_path(const std::string& name)
{
    return (fs::temp_directory_path() / ("mininn_ck_" + std::to_string(::getpid()) + "_" + name)).string();
}
struct Data {
    matrix<float> X;
    label_vector y;
};
Data data()
{
    Rng rng(21);
    Data d{test::random_matrix<float>(6, 200, rng), label_vector(xt::zeros<std::size_t>({200}))};
    for (std::size_t j = 0; j < 200; ++j)
        d.y(j) = d.X(0, j) + 0.5f * d.X(1, j) > 0 ? (d.X(2, j) > 0 ? 2 : 1) : 0;
    return d;
}
// A network with everything that has state: Dropout's generator, Adam's moments.
auto make_net(std::uint64_t seed)
{
    Rng rng(seed);
    return Network{Dense<float>(6, 16, init::he, rng), ReLU{}, Dropout<float>(0.2, seed + 7),
                   Dense<float>(16, 3, init::xavier, rng), Softmax{}};
}
FitOptions options(std::size_t epochs)
{
    FitOptions o;
    o.epochs = epochs;
    o.batch_size = 16;
    o.seed = 4;
    o.validation_split = 0.2;
    o.patience = 10; // early stopping's state travels too
    o.schedule = Schedule::cosine(6, 1);
    o.verbose = Verbosity::silent;
    return o;
}
template <class Net>
std::vector<xt::xarray<float>> weights(Net& net)
{
    std::vector<xt::xarray<float>> w;
    net.visit_parameters([&](auto& p, auto&) { w.emplace_back(p); });
    return w;
}
} // namespace

TEST_CASE("6 epochs straight, or 3 then a checkpoint and 3 more in fresh objects: bit-identical weights")
{
    const Data d = data();
    auto straight = make_net(1);
    Adam<float> opt_straight(0.01f);
    const History all = fit(straight, CrossEntropy{}, opt_straight, d.X, d.y, options(6));

    const std::string ck = temp_path("resume.npz");
    {
        auto first = make_net(1);
        Adam<float> opt(0.01f);
        FitOptions o = options(6);
        o.checkpoint = ck;
        o.on_epoch_end = [](const EpochLog& e) { return e.epoch < 2; }; // interrupted after epoch 2
        fit(first, CrossEntropy{}, opt, d.X, d.y, o);
    }
    // Fresh network (other initial weights, other Dropout seed) and a fresh optimizer.
    auto resumed = make_net(99);
    Adam<float> opt(0.01f);
    FitOptions o = options(6);
    o.resume_from = ck;
    const History rest = fit(resumed, CrossEntropy{}, opt, d.X, d.y, o);
    std::remove(ck.c_str());
    REQUIRE(rest.epochs.size() == 3);
    CHECK(rest.epochs.front().epoch == 3);
    const auto a = weights(straight), b = weights(resumed);
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k)
        CHECK(a[k] == b[k]);
    for (std::size_t e = 0; e < 3; ++e) {
        CHECK(rest.epochs[e].loss == all.epochs[e + 3].loss);
        CHECK(rest.epochs[e].val_loss == all.epochs[e + 3].val_loss);
        CHECK(rest.epochs[e].learning_rate == all.epochs[e + 3].learning_rate);
    }
    CHECK(opt.steps() == opt_straight.steps());
    // The generators went on from where they were: the next masks agree too.
    CHECK(resumed.layer<2>().generator().state() == straight.layer<2>().generator().state());
}

TEST_CASE("checkpoint_every k writes after every k-th epoch and after the last, and must be at least 1")
{
    const Data d = data();
    const std::string ck = temp_path("every.npz");
    std::remove(ck.c_str());
    auto net = make_net(1);
    Adam<float> opt(0.01f);
    FitOptions o = options(5);
    o.checkpoint = ck;
    o.checkpoint_every = 2;
    std::vector<long> seen; // the checkpoint's epochs after each epoch, -1 while there is none
    o.on_epoch_end = [&](const EpochLog&) {
        auto scratch = make_net(2);
        Adam<float> scratch_opt(0.01f);
        seen.push_back(std::ifstream(ck) ? long(load_checkpoint(ck, scratch, scratch_opt).epochs_done) : -1);
        return true;
    };
    fit(net, CrossEntropy{}, opt, d.X, d.y, o);
    std::remove(ck.c_str());
    CHECK(seen == std::vector<long>{-1, 2, 2, 4, 5});
    o.checkpoint_every = 0;
    CHECK_THROWS_WITH_AS(fit(net, CrossEntropy{}, opt, d.X, d.y, o), "fit: checkpoint_every must be at least 1",
                         std::invalid_argument);
}

TEST_CASE("resuming is exact with Momentum and with the training set handed over")
{
    const Data d = data();
    auto straight = make_net(2);
    Momentum<float> m1(0.05f, 0.9f, true, WeightDecay{1e-3});
    FitOptions o = options(5);
    o.validation_split = 0;
    o.schedule = Schedule::reduce_on_plateau(0.5, 1, 10.0); // no epoch improves by 10: the state matters
    const History h = fit(straight, CrossEntropy{}, m1, d.X, d.y, o);
    REQUIRE(h.epochs[4].learning_rate < h.epochs[2].learning_rate);

    const std::string ck = temp_path("momentum.npz");
    auto part = make_net(2);
    Momentum<float> m2(0.05f, 0.9f, true, WeightDecay{1e-3});
    FitOptions o2 = o;
    o2.epochs = 2;
    o2.checkpoint = ck;
    fit(part, CrossEntropy{}, m2, matrix<float>(d.X), label_vector(d.y), o2); // handed over, shuffled in place
    auto resumed = make_net(3);
    Momentum<float> m3(0.05f, 0.9f, true, WeightDecay{1e-3});
    FitOptions o3 = o;
    o3.resume_from = ck;
    fit(resumed, CrossEntropy{}, m3, matrix<float>(d.X), label_vector(d.y), o3);
    std::remove(ck.c_str());
    const auto a = weights(straight), b = weights(resumed);
    for (std::size_t k = 0; k < a.size(); ++k)
        CHECK(a[k] == b[k]);
}

TEST_CASE("numpy opens a checkpoint; load() reads its weights as a model")
{
    const Data d = data();
    auto net = make_net(5);
    Adam<float> opt(0.01f);
    FitOptions o = options(2);
    const std::string ck = temp_path("numpy.npz"), out = temp_path("numpy.txt");
    o.checkpoint = ck;
    fit(net, CrossEntropy{}, opt, d.X, d.y, o);
    const std::string cmd =
        "/usr/bin/python3 " + std::string(MININN_TEST_DIR) + "/npz_dump.py " + ck + " > " + out + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    std::remove(out.c_str());
    REQUIRE_MESSAGE(rc == 0, text.str());
    const std::string t = text.str();
    CHECK_MESSAGE_CONTAINS(t, "optimizer bytes Adam(0.9, 0.999, 1e-08)");
    CHECK_MESSAGE_CONTAINS(t, "optimizer.m.0 float32 96 ");
    CHECK_MESSAGE_CONTAINS(t, "optimizer.v.3 float32 3 ");
    CHECK_MESSAGE_CONTAINS(t, "layer2.rng uint64 6 ");
    CHECK_MESSAGE_CONTAINS(t, "fit.state uint64 10 2.0 ");        // two epochs done
    CHECK_MESSAGE_CONTAINS(t, "optimizer.steps uint64 2 20.0 4.0"); // 10 batches per epoch, 4 parameters
    auto model = make_net(6);
    load(model, ck);
    const auto a = weights(net), b = weights(model);
    for (std::size_t k = 0; k < a.size(); ++k)
        CHECK(a[k] == b[k]);
    std::remove(ck.c_str());
}

TEST_CASE("a checkpoint that does not fit the network or the optimizer changes nothing and says what differs")
{
    const Data d = data();
    auto net = make_net(7);
    Adam<float> opt(0.01f);
    const std::string ck = temp_path("refuse.npz");
    FitOptions o = options(1);
    o.checkpoint = ck;
    fit(net, CrossEntropy{}, opt, d.X, d.y, o);

    auto other = make_net(8);
    const auto before = weights(other);
    Momentum<float> mom(0.1f);
    auto msg = test::message_of<io_error>([&] { load_checkpoint(ck, other, mom); });
    CHECK(msg == ck + ": written by the optimizer Adam(0.9, 0.999, 1e-08), not Momentum(0.9)");
    Adam<float> betas(0.01f, 0.8f);
    msg = test::message_of<io_error>([&] { load_checkpoint(ck, other, betas); });
    CHECK(msg == ck + ": written by the optimizer Adam(0.9, 0.999, 1e-08), not Adam(0.8, 0.999, 1e-08)");
    CHECK(betas.steps() == 0);
    Rng rng(1);
    Network wide{Dense<float>(6, 17, init::he, rng), ReLU{}, Dropout<float>(0.2), Dense<float>(17, 3, init::xavier, rng),
                 Softmax{}};
    Adam<float> a2(0.01f);
    msg = test::message_of<io_error>([&] { load_checkpoint(ck, wide, a2); });
    CHECK_MESSAGE_CONTAINS(msg, ": layer 0 is Dense(in=6, out=16) in the file, Dense(in=6, out=17) in the network");
    const auto after = weights(other);
    for (std::size_t k = 0; k < before.size(); ++k)
        CHECK(before[k] == after[k]);
    CHECK(mom.learning_rate() == 0.1f);

    // Truncated, missing, and an unwritable path.
    std::ifstream in(ck, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string cut = temp_path("cut.npz");
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    Adam<float> a3(0.01f);
    msg = test::message_of<io_error>([&] { load_checkpoint(cut, other, a3); });
    CHECK_MESSAGE_CONTAINS(msg, cut + ": cannot open the archive");
    msg = test::message_of<io_error>([&] { load_checkpoint(temp_path("none.npz"), other, a3); });
    CHECK_MESSAGE_CONTAINS(msg, "cannot open the archive (No such file or directory)");
    msg = test::message_of<io_error>([&] { save_checkpoint(fs::temp_directory_path().string(), net, opt); });
    CHECK_MESSAGE_CONTAINS(msg, "is a directory");
    FitOptions r = options(2);
    r.resume_from = cut;
    CHECK_THROWS_AS(fit(other, CrossEntropy{}, a3, d.X, d.y, r), io_error);
    std::remove(ck.c_str());
    std::remove(cut.c_str());
}

namespace {
// An optimizer without checkpoint_state(): fit() cannot checkpoint it.
struct Stateless {
    template <class Net>
    void step(Net& net)
    {
        GD<float>(0.1f).step(net);
    }
};
} // namespace

TEST_CASE("fit() refuses to checkpoint an optimizer that cannot save its state")
{
    const Data d = data();
    auto net = make_net(9);
    Stateless opt;
    FitOptions o = options(1);
    o.schedule = Schedule{};
    o.checkpoint = temp_path("never.npz");
    const auto msg = test::message_of<std::invalid_argument>([&] { fit(net, CrossEntropy{}, opt, d.X, d.y, o); });
    CHECK(msg == "fit: checkpoints need an optimizer with checkpoint_state() and restore_state()");
    CHECK_FALSE(fs::exists(o.checkpoint));
}
