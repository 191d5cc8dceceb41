// mininn::detail: the inner loops of the sparse products (sparse_kernels.hpp), over one chunk of
// up to sparse_chunk vector registers of outputs: [c, c + R W) of a padded row of hp lanes.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// Outputs per pass, in batches: 8 sums (or 8 loaded rows) with a broadcast and a temporary fit
// in the 16 vector registers of SSE2 and AVX2. A 64-wide layer thus reads each entry's index
// and value once on AVX2, where two passes of 4 cost more than the shorter chains save.
inline constexpr std::size_t sparse_chunk = 8;

// Calls f(integral_constant<R>, c) over chunks of R <= sparse_chunk batches that cover lanes
// [lo, hi), both multiples of the batch size.
template <class T, class F>
inline void for_each_chunk(std::size_t lo, std::size_t hi, F&& f)
{
    constexpr std::size_t W = xsimd::batch<T>::size, M = sparse_chunk;
    std::size_t c = lo;
    for (; c + M * W <= hi; c += M * W)
        f(std::integral_constant<std::size_t, M>{}, c);
    switch ((hi - c) / W) {
    case 7: f(std::integral_constant<std::size_t, 7>{}, c); break;
    case 6: f(std::integral_constant<std::size_t, 6>{}, c); break;
    case 5: f(std::integral_constant<std::size_t, 5>{}, c); break;
    case 4: f(std::integral_constant<std::size_t, 4>{}, c); break;
    case 3: f(std::integral_constant<std::size_t, 3>{}, c); break;
    case 2: f(std::integral_constant<std::size_t, 2>{}, c); break;
    case 1: f(std::integral_constant<std::size_t, 1>{}, c); break;
    default: break;
    }
}

// Asks for the entries of a column that is soon summed to be brought into cache: the columns
// of a shuffled batch lie far apart, and without this their reads from memory, not the sums,
// set the forward pass's pace.
template <class T, class I>
inline void prefetch_entries(const I* idx, const T* val, std::size_t ne)
{
#if defined(__GNUC__)
    constexpr std::size_t line = 64;
    for (std::size_t e = 0; e < ne; e += line / sizeof(I))
        __builtin_prefetch(idx + e);
    for (std::size_t e = 0; e < ne; e += line / sizeof(T))
        __builtin_prefetch(val + e);
#else
    (void)idx, (void)val, (void)ne;
#endif
}

// z[c + r W] = (Add ? z[c + r W] : 0) + v * P[i * hp + c + r W], for the entries (i, v) of a
// list one after another, the sums held in registers: forward, a sample's row of the output
// tile from the rows of W^T its entries pick; backward, a row of dW^T from the rows of the
// gradient tile of the samples its row-sorted entries name.
template <std::size_t R, bool Add, class T, class I>
inline void sum_rows(const I* idx, const T* val, std::size_t ne, const T* P, std::size_t hp, std::size_t c, T* z)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B a[R];
    for (std::size_t r = 0; r < R; ++r)
        a[r] = Add ? B::load_aligned(z + c + r * W) : B(T(0));
    for (std::size_t e = 0; e < ne; ++e) {
        const T* p = P + idx[e] * hp + c;
        const B v(val[e]);
        for (std::size_t r = 0; r < R; ++r)
            a[r] = xsimd::fma(v, B::load_aligned(p + r * W), a[r]);
    }
    for (std::size_t r = 0; r < R; ++r)
        a[r].store_aligned(z + c + r * W);
}

// P[i * hp + c + r W] += v * x[c + r W] for the entries (i, v) of a list, one after another:
// backward from the columns as stored, a sample's row of the gradient tile (x) into the rows of
// dW^T its entries name. Each output gets the FMAs sum_rows makes from the sorted entries, in
// the same order (by sample), so the layout never changes the bits.
template <std::size_t R, class T, class I>
inline void scatter_rows(const I* idx, const T* val, std::size_t ne, const T* x, T* P, std::size_t hp, std::size_t c)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B xr[R];
    for (std::size_t r = 0; r < R; ++r)
        xr[r] = B::load_aligned(x + c + r * W);
    for (std::size_t e = 0; e < ne; ++e) {
        T* p = P + idx[e] * hp + c;
        const B v(val[e]);
        for (std::size_t r = 0; r < R; ++r)
            xsimd::fma(v, xr[r], B::load_aligned(p + r * W)).store_aligned(p + r * W);
    }
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
