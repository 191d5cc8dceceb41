// mininn::detail: a blocked out-of-place transpose, for the sparse products' changes of layout
// (W into W^T, the output and gradient tiles to and from samples-are-columns, dW^T into dW).
//
// One element at a time, a transpose reads or writes with a stride on every element and costs
// as much as a sparse product's whole block. With AVX, square blocks of one register's width
// (8 floats, 4 doubles) are transposed in registers: whole vectors in, whole vectors out.
// Elsewhere, and at the edges, the elements are moved one by one.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

#if defined(__AVX__)
inline void transpose_square(const float* s, std::size_t ls, float* d, std::size_t ld) noexcept
{
    const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ls), r2 = _mm256_loadu_ps(s + 2 * ls),
                 r3 = _mm256_loadu_ps(s + 3 * ls), r4 = _mm256_loadu_ps(s + 4 * ls), r5 = _mm256_loadu_ps(s + 5 * ls),
                 r6 = _mm256_loadu_ps(s + 6 * ls), r7 = _mm256_loadu_ps(s + 7 * ls);
    // Pairs of rows interleaved, then pairs of pairs, within each 128-bit half...
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    // ...and the halves of rows 0-3 and 4-7 joined.
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + ld, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

inline void transpose_square(const double* s, std::size_t ls, double* d, std::size_t ld) noexcept
{
    const __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + ls), r2 = _mm256_loadu_pd(s + 2 * ls),
                  r3 = _mm256_loadu_pd(s + 3 * ls);
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1), t2 = _mm256_unpacklo_pd(r2, r3),
                  t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d + ld, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d + 2 * ld, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d + 3 * ld, _mm256_permute2f128_pd(t1, t3, 0x31));
}

template <class T>
inline constexpr std::size_t transpose_square_width = 32 / sizeof(T);
#else
template <class T>
inline constexpr std::size_t transpose_square_width = 0; // none: element by element
#endif

/// d[j * ld + i] = s[i * ls + j] for i < rows, j < cols: the [rows, cols] matrix at s (rows
/// ls apart) into the [cols, rows] one at d (rows ld apart). T is float or double.
template <class T>
inline void transpose(const T* s, std::size_t ls, std::size_t rows, std::size_t cols, T* d, std::size_t ld) noexcept
{
    constexpr std::size_t K = transpose_square_width<T>;
    std::size_t i0 = 0;
    if constexpr (K > 0) {
        for (; i0 + K <= rows; i0 += K) {
            std::size_t j = 0;
            for (; j + K <= cols; j += K)
                transpose_square(s + i0 * ls + j, ls, d + j * ld + i0, ld);
            for (; j < cols; ++j)
                for (std::size_t i = i0; i < i0 + K; ++i)
                    d[j * ld + i] = s[i * ls + j];
        }
    }
    // The rest by strips of 16 columns, so the 16 rows of d they write stay in L1.
    for (std::size_t j0 = 0; j0 < cols; j0 += 16)
        for (std::size_t i = i0; i < rows; ++i)
            for (std::size_t j = j0; j < std::min(cols, j0 + 16); ++j)
                d[j * ld + i] = s[i * ls + j];
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
