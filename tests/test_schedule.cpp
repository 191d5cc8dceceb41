#include <cmath>
#include <vector>

#include "helpers.hpp"

using namespace mininn;

namespace {
std::vector<double> factors(const Schedule& s, std::size_t epochs)
{
    std::vector<double> f;
    for (std::size_t e = 0; e < epochs; ++e)
        f.push_back(s.factor(e));
    return f;
}
void check_close(const std::vector<double>& got, const std::vector<double>& want)
{
    REQUIRE(got.size() == want.size());
    for (std::size_t e = 0; e < got.size(); ++e) {
        INFO("epoch " << e);
        CHECK(got[e] == doctest::Approx(want[e]).epsilon(1e-14));
    }
}
} // namespace

TEST_CASE("step, exponential and constant schedules (hand-computed)")
{
    check_close(factors(Schedule::step(2, 0.5), 6), {1, 1, 0.5, 0.5, 0.25, 0.25});
    check_close(factors(Schedule::exponential(0.9), 4), {1, 0.9, 0.81, 0.729});
    check_close(factors(Schedule{}, 3), {1, 1, 1});
    CHECK(Schedule::constant().kind() == Schedule::Kind::constant);
}

TEST_CASE("cosine with warm-up: linear up to 1, then half a cosine down towards min")
{
    // warm-up 2 of 6 epochs: 1/3, 2/3, then t = 0, 1/4, 2/4, 3/4 of the cosine from 1 to 0.1
    const Schedule s = Schedule::cosine(6, 2, 0.1);
    auto c = [](double t) { return 0.1 + 0.9 * (1 + std::cos(M_PI * t)) / 2; };
    check_close(factors(s, 7), {1.0 / 3, 2.0 / 3, 1.0, c(0.25), c(0.5), c(0.75), 0.1});
    // without warm-up or floor it is PyTorch's CosineAnnealingLR(T_max = epochs): never 0 inside
    const auto f = factors(Schedule::cosine(4), 4);
    check_close(f, {1.0, (1 + std::cos(M_PI / 4)) / 2, 0.5, (1 + std::cos(3 * M_PI / 4)) / 2});
    CHECK(Schedule::cosine(4).factor(10) > 0); // past the end: the smallest positive factor
}

TEST_CASE("reduce on plateau: the factor falls after patience epochs without improvement")
{
    Schedule s = Schedule::reduce_on_plateau(0.5, 2, 0.01, 0.2);
    const double losses[] = {1.0, 0.9, 0.895, 0.9, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1};
    std::vector<double> f;
    for (double l : losses) {
        s.observe(l);
        f.push_back(s.factor(0));
    }
    // 0.895 does not beat 0.9 by 0.01: waits 1; 0.9: waits 2 -> 0.5; 0.5 improves; then
    // 0.6, 0.7 -> 0.25; 0.8, 0.9 -> 0.2 (the floor, not 0.125); 1.0, 1.1 -> stays 0.2
    check_close(f, {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2});
    const auto st = s.state();
    CHECK(st.factor == 0.2);
    CHECK(st.best == 0.5);
    Schedule t = Schedule::reduce_on_plateau(0.5, 2, 0.01, 0.2);
    t.set_state(st);
    CHECK(t.factor(0) == 0.2);
    s.observe(std::nan(""));
    CHECK(s.state().wait == 1); // NaN is no improvement
}

TEST_CASE("schedule parameters are validated")
{
    auto msg = test::message_of<std::invalid_argument>([] { Schedule::step(0, 0.5); });
    CHECK(msg == "Schedule::step: every must be at least 1 epoch");
    msg = test::message_of<std::invalid_argument>([] { Schedule::exponential(1.5); });
    CHECK(msg == "Schedule::exponential: gamma must be in (0, 1], got 1.5");
    msg = test::message_of<std::invalid_argument>([] { Schedule::cosine(5, 5); });
    CHECK(msg == "Schedule::cosine: need 0 <= warmup < epochs, got warmup 5 of 5 epochs");
    msg = test::message_of<std::invalid_argument>([] { Schedule::cosine(5, 0, -0.1); });
    CHECK(msg == "Schedule::cosine: min_factor must be in [0, 1], got -0.1");
    msg = test::message_of<std::invalid_argument>([] { Schedule::reduce_on_plateau(0.0); });
    CHECK(msg == "Schedule::reduce_on_plateau: factor must be in (0, 1], got 0");
    CHECK_THROWS_AS(Schedule::reduce_on_plateau(0.5, 3, -1.0), std::invalid_argument);
    CHECK_THROWS_AS(Schedule::reduce_on_plateau(0.5, 3, 0.0, 0.0), std::invalid_argument);
}

namespace {
test::Blobs<double> two_blobs(std::size_t n)
{
    Rng rng(5);
    return test::blobs<double>(n, rng, {{-2, 0}, {2, 0}}, 1.0);
}
// An optimizer with no learning_rate(): fit() cannot schedule it.
struct Fixed {
    template <class Net>
    void step(Net& net)
    {
        GD<double>(0.1).step(net);
    }
};
} // namespace

TEST_CASE("fit() applies the schedule to the optimizer's rate and records it in the History")
{
    const auto d = two_blobs(64);
    Rng rng(3);
    Network net{Dense<double>(2, 4, init::xavier, rng), Tanh{}, Dense<double>(4, 2, init::xavier, rng), Softmax{}};
    auto same = net;
    Momentum<double> opt(0.2, 0.9);
    FitOptions o;
    o.epochs = 5;
    o.batch_size = 16;
    o.verbose = Verbosity::silent;
    o.schedule = Schedule::step(2, 0.1);
    const History h = fit(net, CrossEntropy{}, opt, d.X, d.y, o);
    const double want[] = {0.2, 0.2, 0.02, 0.02, 0.002};
    for (std::size_t e = 0; e < 5; ++e)
        CHECK(h.epochs[e].learning_rate == doctest::Approx(want[e]).epsilon(1e-12));
    CHECK(opt.learning_rate() == doctest::Approx(0.002)); // left at the last epoch's rate

    // The constant schedule leaves the rate exactly as it was, and records it.
    Momentum<double> plain(0.2, 0.9);
    o.schedule = Schedule{};
    const History hc = fit(same, CrossEntropy{}, plain, d.X, d.y, o);
    CHECK(hc.epochs[4].learning_rate == 0.2);
    CHECK(plain.learning_rate() == 0.2);
    // Lower rates in later epochs give different weights than the constant rate.
    CHECK_FALSE(net.layer<0>().weights() == same.layer<0>().weights());

    // Reduce on plateau watches the validation loss when there is one.
    Rng r2(3);
    Network p{Dense<double>(2, 4, init::xavier, r2), Tanh{}, Dense<double>(4, 2, init::xavier, r2), Softmax{}};
    Adam<double> adam(0.01);
    o.epochs = 4;
    o.schedule = Schedule::reduce_on_plateau(0.5, 1);
    // The validation labels are the training labels flipped: as training improves, the
    // validation loss grows, so the factor halves after every epoch but the first.
    const label_vector flipped = 1 - d.y;
    const History hp = fit(p, CrossEntropy{}, adam, d.X, d.y, o, &d.X, &flipped);
    REQUIRE(hp.epochs[3].loss < hp.epochs[0].loss);
    REQUIRE(hp.epochs[3].val_loss > hp.epochs[0].val_loss);
    CHECK(hp.epochs[0].learning_rate == doctest::Approx(0.01)); // the first epoch sets the best
    CHECK(hp.epochs[1].learning_rate == doctest::Approx(0.01));
    CHECK(hp.epochs[2].learning_rate == doctest::Approx(0.005));
    CHECK(hp.epochs[3].learning_rate == doctest::Approx(0.0025));

    Fixed fixed;
    o.schedule = Schedule::exponential(0.5);
    const auto msg = test::message_of<std::invalid_argument>([&] { fit(p, CrossEntropy{}, fixed, d.X, d.y, o); });
    CHECK(msg == "fit: a learning-rate schedule needs an optimizer with learning_rate() and set_learning_rate()");
    o.schedule = Schedule{};
    CHECK(std::isnan(fit(p, CrossEntropy{}, fixed, d.X, d.y, o).epochs[0].learning_rate));
}
