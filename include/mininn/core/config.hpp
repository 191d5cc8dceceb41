// mininn::detail: the instruction set mininn's SIMD kernels are compiled for, as a namespace.
//
// mininn's kernels are inline templates whose bodies depend on -march (through xsimd's default
// architecture), but many of their names do not: map<float, F> compiled for AVX-512 in one
// translation unit and for SSE2 in another would be one symbol with two bodies, of which the
// linker keeps one, so code built for SSE2 could run AVX-512 instructions, or one unit's
// kernel could run with buffers sized by the other's (a one-definition-rule violation). So the
// library lives in an inline namespace named after the instruction set: each translation unit
// links to its own mininn, and a Network (like xtensor's containers, whose alignment also
// follows -march) cannot be handed between units built for different ones; that is a link
// error, never a wrong result. Only the exception types (errors.hpp) stand outside it, so they
// are caught alike everywhere. Users never name the namespace.
#pragma once

// Every mininn header includes this one first, so an older standard stops here, with one
// message, rather than in pages of errors from xtensor. The include that cannot be found
// ends the compilation (an #error alone lets it go on).
#if __cplusplus < 201703L && !(defined(_MSVC_LANG) && _MSVC_LANG >= 201703L)
#error "mininn needs C++17 or newer: compile with -std=c++17 (in CMake, linking mininn::mininn asks for it)"
#include <mininn: stopped, C++17 is required>
#endif

#if defined(__AVX512BW__)
#define MININN_ISA isa_avx512bw
#elif defined(__AVX512F__)
#define MININN_ISA isa_avx512f
#elif defined(__AVX2__) && defined(__FMA__)
#define MININN_ISA isa_avx2_fma
#elif defined(__AVX2__)
#define MININN_ISA isa_avx2
#elif defined(__AVX__) && defined(__FMA__)
#define MININN_ISA isa_avx_fma
#elif defined(__AVX__)
#define MININN_ISA isa_avx
#elif defined(__SSE4_2__)
#define MININN_ISA isa_sse4_2
#elif defined(__SSE4_1__)
#define MININN_ISA isa_sse4_1
#elif defined(__SSSE3__)
#define MININN_ISA isa_ssse3
#elif defined(__SSE3__)
#define MININN_ISA isa_sse3
#elif defined(__SSE2__) || defined(_M_X64)
#define MININN_ISA isa_sse2
#elif defined(__aarch64__)
#define MININN_ISA isa_neon64
#elif defined(__ARM_NEON)
#define MININN_ISA isa_neon
#else
#define MININN_ISA isa_scalar
#endif

// GCC 12 reports its own AVX-512 intrinsics as reading uninitialized values ("'__Y' is used
// uninitialized", from the undefined-vector idiom in avx512fintrin.h) wherever they are
// inlined into a kernel. The headers with SIMD kernels switch those two warnings off for their
// own code only, so consumers' -Wall -Werror builds pass and their code is still checked.
#if defined(__GNUC__) && !defined(__clang__)
#define MININN_SIMD_WARNINGS_OFF                                                                                 \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")                         \
        _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define MININN_SIMD_WARNINGS_ON _Pragma("GCC diagnostic pop")
#else
#define MININN_SIMD_WARNINGS_OFF
#define MININN_SIMD_WARNINGS_ON
#endif
