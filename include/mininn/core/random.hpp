// mininn: a small, fully specified random number generator.
//
// std::normal_distribution and friends are implementation-defined, so the same seed gives
// different weights under libstdc++, libc++ and MSVC. mininn draws everything from
// xoshiro256** (seeded by splitmix64) and derives uniforms, normals and shuffles with
// its own arithmetic, so a seed means the same numbers on every IEEE-754 platform.
#pragma once

#include "config.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

namespace mininn {
inline namespace MININN_ISA {

namespace detail {

/// Natural log of x > 0, evaluated with only exactly-rounded IEEE operations (frexp, +, /,
/// and explicit fma), so its result does not depend on the platform's libm or on whether
/// the compiler contracts a*b+c. Accurate to about 1 ulp; used for Gaussian sampling.
inline double portable_log(double x)
{
    int e = 0;
    double m = std::frexp(x, &e); // x = m * 2^e, m in [0.5, 1)
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    const double f = m - 1.0;     // exact (Sterbenz), f in [-0.293, 0.414]
    const double s = f / (2.0 + f);
    const double z = s * s;       // log(1+f) = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...)
    double r = 1.0 / 25.0;
    for (int k = 11; k >= 1; --k)
        r = std::fma(r, z, 1.0 / (2.0 * k + 1.0));
    r = std::fma(r, z, 1.0);
    const double ln2_hi = 6.93147180369123816490e-01; // ln 2 split so e * ln2_hi is exact
    const double ln2_lo = 1.90821492927058770002e-10;
    const double ed = static_cast<double>(e);
    return std::fma(ed, ln2_hi, std::fma(2.0 * s, r, ed * ln2_lo));
}

} // namespace detail

/// xoshiro256** seeded through splitmix64. A value type: copy it to fork a stream.
class Rng {
public:
    explicit Rng(std::uint64_t seed = 0) noexcept
    {
        for (auto& word : s_) {
            seed += 0x9E3779B97F4A7C15ull;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            word = z ^ (z >> 31);
        }
    }

    /// Next 64 random bits.
    std::uint64_t next() noexcept
    {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform double in [0, 1), 53 random bits.
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    /// Uniform double in [lo, hi).
    double uniform(double lo, double hi) noexcept { return std::fma(hi - lo, uniform(), lo); }

    /// Uniform integer in [0, bound), unbiased (rejection on the top of the range).
    std::uint64_t below(std::uint64_t bound) noexcept
    {
        if (bound <= 1)
            return 0;
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max()
                                    - std::numeric_limits<std::uint64_t>::max() % bound;
        std::uint64_t r = next();
        while (r >= limit)
            r = next();
        return r % bound;
    }

    /// Standard normal N(0, 1), Marsaglia's polar method with a portable log.
    double normal() noexcept
    {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u = 0, v = 0, s = 0;
        do {
            u = uniform(-1.0, 1.0);
            v = uniform(-1.0, 1.0);
            s = std::fma(u, u, v * v);
        } while (s >= 1.0 || s == 0.0);
        const double k = std::sqrt(-2.0 * detail::portable_log(s) / s);
        spare_ = v * k;
        has_spare_ = true;
        return u * k;
    }

    /// Shuffles [first, last) in place (Fisher-Yates).
    template <class RandomIt>
    void shuffle(RandomIt first, RandomIt last) noexcept
    {
        const auto n = static_cast<std::uint64_t>(last - first);
        for (std::uint64_t i = n; i > 1; --i) {
            const auto j = below(i);
            using std::swap;
            swap(first[static_cast<std::ptrdiff_t>(i - 1)], first[static_cast<std::ptrdiff_t>(j)]);
        }
    }

    /// The whole state (the four xoshiro words, the cached normal deviate and whether there is
    /// one), so that a checkpoint can resume the stream exactly.
    std::array<std::uint64_t, 6> state() const noexcept
    {
        std::uint64_t spare = 0;
        std::memcpy(&spare, &spare_, sizeof spare);
        return {s_[0], s_[1], s_[2], s_[3], spare, has_spare_ ? 1u : 0u};
    }
    void set_state(const std::array<std::uint64_t, 6>& s) noexcept
    {
        for (int k = 0; k < 4; ++k)
            s_[k] = s[static_cast<std::size_t>(k)];
        std::memcpy(&spare_, &s[4], sizeof spare_);
        has_spare_ = s[5] != 0;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

    std::uint64_t s_[4] = {};
    double spare_ = 0;
    bool has_spare_ = false;
};

} // namespace MININN_ISA
} // namespace mininn
