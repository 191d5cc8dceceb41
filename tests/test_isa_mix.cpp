// One program, two instruction sets: this unit is built with -march=haswell (AVX2 + FMA),
// tests/isa_mix_portable.cpp with -march=x86-64 (SSE2), both at -O0 so the linker sees
// every kernel as an out-of-line symbol. Without the ISA-named inline namespace the two units'
// kernels shared names, the linker kept one body per name, and the fused head of one unit ran
// with buffers laid out for the other.
#include <cmath>
#include <cstring>
#include <string>

#include "helpers.hpp"
#include "isa_mix.hpp"

TEST_CASE("two translation units built for different instruction sets train the same network alike")
{
    const std::size_t n = 20011; // wide enough for the helper thread and every tail path
    const auto here = test::isa_mix_run(n);
    const auto portable = test::isa_mix_portable(n);
    // Each unit runs its own kernels: one mininn per instruction set, not one body per name.
    CHECK(std::string(mininn::detail::simd_isa()) == "isa_avx2_fma");
    CHECK(mininn::detail::simd_lanes<double>() == 4);
    CHECK(std::string(test::isa_mix_portable_isa()) == "isa_sse2");
    CHECK(test::isa_mix_portable_lanes() == 2);
    REQUIRE(here.size() == portable.size());
    REQUIRE(here.size() == 3 + 24 * 7 + 24 + 10 * 24 + 10);
    double worst = 0;
    for (std::size_t k = 0; k < here.size(); ++k) {
        REQUIRE(std::isfinite(here[k]));
        REQUIRE(std::isfinite(portable[k]));
        worst = std::max(worst, std::abs(here[k] - portable[k]) / std::max(1.0, std::abs(here[k])));
    }
    // Kernels of different widths sum in different orders; nothing else may differ.
    CHECK(worst < 1e-12);
    CHECK(here[2] < here[0]); // and they train
}

TEST_CASE("mininn's exceptions are one type whatever instruction set threw them")
{
    CHECK_THROWS_AS(test::isa_mix_portable_throw(), mininn::shape_error);
}
