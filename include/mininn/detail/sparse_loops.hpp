// mininn::detail: the inner loops of the sparse products (sparse_kernels.hpp), over one chunk of
// up to 8 vector registers of outputs: [c, c + R W) of a padded row of hp lanes. Each makes the
// same FMAs on an output, in the same order, as its twin for the other layout, so that the
// layout never changes the bits.
#pragma once

#include "isa.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// The widest chunk of outputs kept in registers: 8 batches where there are 32 vector
// registers (AVX-512), else 4.
template <class T>
inline constexpr std::size_t sparse_max_chunk = xsimd::batch<T>::size * sizeof(T) >= 64 ? 8 : 4;

// Calls f(integral_constant<R>, c) over chunks of R batches that cover lanes [0, hp), a
// multiple of the batch size.
template <class T, class F>
inline void for_each_chunk(std::size_t hp, F&& f)
{
    constexpr std::size_t W = xsimd::batch<T>::size, M = sparse_max_chunk<T>;
    std::size_t c = 0;
    for (; c + M * W <= hp; c += M * W)
        f(std::integral_constant<std::size_t, M>{}, c);
    switch ((hp - c) / W) {
    case 7: if constexpr (M > 7) f(std::integral_constant<std::size_t, 7>{}, c); break;
    case 6: if constexpr (M > 6) f(std::integral_constant<std::size_t, 6>{}, c); break;
    case 5: if constexpr (M > 5) f(std::integral_constant<std::size_t, 5>{}, c); break;
    case 4: if constexpr (M > 4) f(std::integral_constant<std::size_t, 4>{}, c); break;
    case 3: f(std::integral_constant<std::size_t, 3>{}, c); break;
    case 2: f(std::integral_constant<std::size_t, 2>{}, c); break;
    case 1: f(std::integral_constant<std::size_t, 1>{}, c); break;
    default: break;
    }
}

// P[i * hp + c + r W] += v * x[c + r W] for the entries (i, v) of a list: forward, the samples
// of one input row into the output tile (x a row of W^T); backward, the input rows of one
// column into dW^T (x the column's row of the gradient tile).
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

// a[r] = fma(v, P[i * hp + c + r W], a[r]) for the entries (i, v) of list a, one after
// another (one FMA chain per lane), and the same for list b into b[r]: two lists at once give
// the FMAs two independent chains.
template <std::size_t R, class T, class I>
inline void two_chains(const I* ia, const T* va, std::size_t na, const I* ib, const T* vb, std::size_t nb, const T* P,
                       std::size_t hp, std::size_t c, xsimd::batch<T>* a, xsimd::batch<T>* b)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    const std::size_t both = std::min(na, nb);
    for (std::size_t e = 0; e < both; ++e) {
        const T* pa = P + ia[e] * hp + c;
        const T* pb = P + ib[e] * hp + c;
        const B x(va[e]), y(vb[e]);
        for (std::size_t r = 0; r < R; ++r) {
            a[r] = xsimd::fma(x, B::load_aligned(pa + r * W), a[r]);
            b[r] = xsimd::fma(y, B::load_aligned(pb + r * W), b[r]);
        }
    }
    for (std::size_t e = both; e < na; ++e) {
        const T* pa = P + ia[e] * hp + c;
        const B x(va[e]);
        for (std::size_t r = 0; r < R; ++r)
            a[r] = xsimd::fma(x, B::load_aligned(pa + r * W), a[r]);
    }
    for (std::size_t e = both; e < nb; ++e) {
        const T* pb = P + ib[e] * hp + c;
        const B y(vb[e]);
        for (std::size_t r = 0; r < R; ++r)
            b[r] = xsimd::fma(y, B::load_aligned(pb + r * W), b[r]);
    }
}

// za[c + r W] = sum over the entries (k, v) of column a of v * Wt[k * hp + c + r W], and the
// same for column b (none when nb = 0): by input row, exactly the sums scatter_rows builds into the tile.
template <std::size_t R, class T>
inline void columns_into_tile(const std::uint32_t* ra, const T* va, std::size_t na, const std::uint32_t* rb,
                              const T* vb, std::size_t nb, const T* Wt, std::size_t hp, std::size_t c, T* za, T* zb)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B a[R], b[R];
    for (std::size_t r = 0; r < R; ++r)
        a[r] = b[r] = B(T(0));
    two_chains<R>(ra, va, na, rb, vb, nb, Wt, hp, c, a, b);
    for (std::size_t r = 0; r < R; ++r) {
        a[r].store_aligned(za + c + r * W);
        if (zb != nullptr)
            b[r].store_aligned(zb + c + r * W);
    }
}

// da[c + r W] += v * dZt[s * hp + c + r W] for the entries (s, v) of input row a, one after
// another, and the same for row b into db: the very FMAs scatter_rows makes into dW^T, in the same
// order, so both layouts give the same bits.
template <std::size_t R, class T>
inline void tile_into_rows(const std::uint16_t* sa, const T* va, std::size_t na, const std::uint16_t* sb,
                           const T* vb, std::size_t nb, const T* dZt, std::size_t hp, std::size_t c, T* da, T* db)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B a[R], b[R];
    for (std::size_t r = 0; r < R; ++r) {
        a[r] = B::load_aligned(da + c + r * W);
        b[r] = B::load_aligned(db + c + r * W);
    }
    two_chains<R>(sa, va, na, sb, vb, nb, dZt, hp, c, a, b);
    for (std::size_t r = 0; r < R; ++r) {
        a[r].store_aligned(da + c + r * W);
        if (nb != 0) // db may be da (the last row of an odd count)
            b[r].store_aligned(db + c + r * W);
    }
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
