#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "helpers.hpp"

using mininn::Rng;

TEST_CASE("xoshiro256** matches the published algorithm (golden values)")
{
    // Computed independently from the reference splitmix64 / xoshiro256** definitions.
    Rng a(0);
    CHECK(a.next() == 0x99ec5f36cb75f2b4ull);
    CHECK(a.next() == 0xbf6e1f784956452aull);
    CHECK(a.next() == 0x1a5f849d4933e6e0ull);
    Rng b(138);
    CHECK(b.next() == 0x91ce7f0992e4bb1full);
    CHECK(b.next() == 0x160dcb160c038da4ull);
    CHECK(b.next() == 0xbcfd6da3e0b5923bull);
}

TEST_CASE("the same seed gives the same stream; another seed a different one")
{
    Rng a(42), b(42), c(43);
    for (int i = 0; i < 1000; ++i) {
        const double x = a.normal();
        const double y = b.normal();
        CHECK(std::memcmp(&x, &y, sizeof x) == 0);
    }
    Rng d(42);
    int same = 0;
    for (int i = 0; i < 100; ++i)
        same += d.next() == c.next();
    CHECK(same == 0);
}

TEST_CASE("portable_log agrees with std::log to within a few ulp")
{
    Rng rng(1);
    double worst = 0;
    for (int i = 0; i < 100000; ++i) {
        const double x = std::ldexp(0.5 + rng.uniform(), static_cast<int>(rng.below(120)) - 60);
        const double ref = std::log(x);
        const double got = mininn::detail::portable_log(x);
        const double err = ref == 0 ? std::abs(got) : std::abs(got - ref) / std::abs(ref);
        worst = std::max(worst, err);
    }
    CHECK(worst < 1e-15);
    CHECK(mininn::detail::portable_log(1.0) == 0.0);
    CHECK(mininn::detail::portable_log(std::exp(1.0)) == doctest::Approx(1.0).epsilon(1e-15));
    CHECK(mininn::detail::portable_log(1e-300) == doctest::Approx(std::log(1e-300)).epsilon(1e-15));
}

TEST_CASE("normal() has mean 0 and variance 1")
{
    Rng rng(3);
    const int n = 400000;
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; ++i) {
        const double x = rng.normal();
        s += x;
        s2 += x * x;
        s4 += x * x * x * x;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    CHECK(std::abs(mean) < 0.01);
    CHECK(std::abs(var - 1.0) < 0.01);
    CHECK(std::abs(s4 / n - 3.0) < 0.05); // kurtosis of a Gaussian
}

TEST_CASE("uniform() is in [0, 1) and below(k) in [0, k), evenly")
{
    Rng rng(5);
    std::vector<int> counts(7, 0);
    for (int i = 0; i < 70000; ++i) {
        const double u = rng.uniform();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
        const auto k = rng.below(7);
        REQUIRE(k < 7);
        ++counts[k];
    }
    for (int c : counts)
        CHECK(std::abs(c - 10000) < 500);
    CHECK(rng.below(1) == 0);
    const double v = rng.uniform(-2.0, 3.0);
    CHECK(v >= -2.0);
    CHECK(v < 3.0);
}

TEST_CASE("shuffle is a seeded permutation")
{
    std::vector<int> a(1000), b(1000);
    std::iota(a.begin(), a.end(), 0);
    std::iota(b.begin(), b.end(), 0);
    Rng r1(138), r2(138);
    r1.shuffle(a.begin(), a.end());
    r2.shuffle(b.begin(), b.end());
    CHECK(a == b);
    int fixed = 0;
    for (int i = 0; i < 1000; ++i)
        fixed += a[static_cast<std::size_t>(i)] == i;
    CHECK(fixed < 10);
    std::vector<int> sorted = a;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 1000; ++i)
        CHECK(sorted[static_cast<std::size_t>(i)] == i);
}
