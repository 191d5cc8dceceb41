// The portable half of test_isa_mix: compiled with -march=x86-64 (SSE2) and -O0.
#include "isa_mix.hpp"

namespace test {
std::vector<double> isa_mix_portable(std::size_t n)
{
    return isa_mix_run(n);
}
const char* isa_mix_portable_isa()
{
    return mininn::detail::simd_isa();
}
std::size_t isa_mix_portable_lanes()
{
    return mininn::detail::simd_lanes<double>();
}
void isa_mix_portable_throw()
{
    mininn::Rng rng(1);
    mininn::Dense<float> d(3, 2, mininn::init::normal, rng);
    d.forward(mininn::matrix<float>(std::array<std::size_t, 2>{4, 1}));
}
} // namespace test
