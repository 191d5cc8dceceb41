// mininn: which BLAS the process is running, and a warning when OpenBLAS runs slow kernels.
#pragma once

#include "config.hpp"

#include <string>

#include "errors.hpp"

// OpenBLAS's own introspection functions (declared here so that OpenBLAS's <cblas.h>, which
// clashes with xtensor-blas, is not needed).
extern "C" {
char* openblas_get_config(void);
char* openblas_get_corename(void);
int openblas_get_num_threads(void);
}

namespace mininn {
inline namespace MININN_ISA {

struct BlasInfo {
    std::string config; ///< openblas_get_config(), e.g. "OpenBLAS 0.3.21 ... SkylakeX ..."
    std::string core;   ///< the kernel set OpenBLAS chose at load time, e.g. "Haswell"
    int threads = 0;
};

inline BlasInfo blas_info()
{
    return {openblas_get_config(), openblas_get_corename(), openblas_get_num_threads()};
}

/// The OPENBLAS_CORETYPE that would give this CPU fast kernels ("SkylakeX" or "Haswell")
/// when OpenBLAS fell back to its generic SSE3 kernels ("Prescott"), as OpenBLAS builds older
/// than the CPU do; empty when OpenBLAS already runs a proper kernel set.
inline std::string suggested_coretype()
{
    const BlasInfo info = blas_info();
    if (info.core != "Prescott" && info.core != "Core2" && info.core != "Nehalem")
        return {};
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return {};
}

/// A one-line advice when suggested_coretype() is not empty (GEMMs then run about 3x
/// slower than they could), else empty.
inline std::string blas_warning()
{
    const std::string better = suggested_coretype();
    if (better.empty())
        return {};
    return detail::cat("OpenBLAS uses its generic ", blas_info().core, " kernels on this CPU, which supports ", better,
                       "'s; its GEMMs run about 3x slower. Run with OPENBLAS_CORETYPE=", better, " to fix it.");
}

} // namespace MININN_ISA
} // namespace mininn
