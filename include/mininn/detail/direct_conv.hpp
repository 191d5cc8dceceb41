// mininn::detail: direct convolution over batches whose samples are the fastest index.
//
// A batch of images [C·H·W, n] holds each pixel of every image as one run of n values, so L
// samples of one pixel are one vector load. The kernels keep a tile of filters' sums for one or
// two such vectors in registers and run over the window's taps, broadcasting one weight per
// multiply-add: the convolution's GEMM with its right-hand side read in place, and no patch
// matrix. The batch runs in chunks of up to conv_chunk samples: each is copied, zero-padded and with
// its width rounded up to whole vectors, into a buffer that stays in cache through the passes,
// so no kernel tests a bound or handles a scalar tail. Every sum runs in one fixed order (taps
// in order; weight gradients per chunk, then over chunks in order), so no result depends on
// which thread ran which chunk.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <xsimd/xsimd.hpp>

#include "window.hpp"

MININN_SIMD_WARNINGS_OFF

// The loops over a register tile must be unrolled for its sums to stay in registers; GCC does
// not unroll them at -O2 by itself.
#if defined(__clang__)
#define MININN_UNROLL _Pragma("unroll")
#elif defined(__GNUC__)
#define MININN_UNROLL _Pragma("GCC unroll 16")
#else
#define MININN_UNROLL
#endif

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// Samples per chunk at most: a chunk's padded images and gradients stay in cache through every
/// pass. Large images take fewer, so that a thread's buffers stay within conv_budget values.
inline constexpr std::size_t conv_chunk = 64;
inline constexpr std::size_t conv_budget = std::size_t(1) << 22;
// Filters per register tile, and taps per tile of the weight gradient.
inline constexpr std::size_t conv_filters = 8, conv_taps = 3;
// Positions per block of the weight gradient: a block's dY for a tile of filters stays in L1.
inline constexpr std::size_t conv_positions = 8;

// The geometry the kernels see: a window with stride s over a padded image C × Hp × Wp.
struct conv_plan {
    std::size_t C, Hp, Wp, k, s, Ho, Wo;

    explicit conv_plan(const window2d& g) noexcept
        : C(g.in.channels), Hp(g.in.height + 2 * g.ph), Wp(g.in.width + 2 * g.pw), k(g.kh), s(g.sh), Ho(g.out_h()),
          Wo(g.out_w())
    {
    }
    std::size_t taps() const noexcept { return C * k * k; }
    std::size_t positions() const noexcept { return Ho * Wo; }
    std::size_t image() const noexcept { return C * Hp * Wp; }
    // The pixel of tap t = (c, u, v), counted from the window's top-left pixel.
    std::size_t tap_offset(std::size_t t) const noexcept { return (t / (k * k) * Hp + t / k % k) * Wp + t % k; }
    // The top-left pixel of output position p's window.
    std::size_t origin(std::size_t p) const noexcept { return p / Wo * s * Wp + p % Wo * s; }
};

template <class T>
constexpr std::size_t round_to_vectors(std::size_t m) noexcept
{
    constexpr std::size_t L = xsimd::batch<T>::size;
    return (m + L - 1) / L * L;
}

// f(std::integral_constant<std::size_t, N>{}, i) for tiles [i, i + N) covering [0, count): tiles
// of Max, then one of the rest.
template <std::size_t Max, class F, std::size_t... N>
void each_tile(std::size_t count, F&& f, std::index_sequence<N...>)
{
    std::size_t i = 0;
    for (; i + Max <= count; i += Max)
        f(std::integral_constant<std::size_t, Max>{}, i);
    const std::size_t r = count - i;
    ((r == N + 1 ? f(std::integral_constant<std::size_t, N + 1>{}, i) : void()), ...);
}
template <std::size_t Max, class F>
void each_tile(std::size_t count, F&& f)
{
    each_tile<Max>(count, std::forward<F>(f), std::make_index_sequence<Max - 1>{});
}

// Xp [C·Hp·Wp, ld] = columns j0 .. j0 + m of X [C·H·W, n], zero-padded around each image and
// zero in columns m .. ld.
template <class T>
void pack_chunk(const window2d& g, const T* X, std::size_t n, std::size_t j0, std::size_t m, std::size_t ld, T* Xp)
{
    const conv_plan pl(g);
    const std::size_t H = g.in.height, W = g.in.width;
    std::fill(Xp, Xp + pl.image() * ld, T(0));
    if (n == 1 && ld == 1) { // one image: its rows are contiguous
        for (std::size_t c = 0; c < pl.C; ++c)
            for (std::size_t y = 0; y < H; ++y)
                std::copy_n(X + (c * H + y) * W, W, Xp + (c * pl.Hp + y + g.ph) * pl.Wp + g.pw);
        return;
    }
    for (std::size_t c = 0; c < pl.C; ++c)
        for (std::size_t y = 0; y < H; ++y)
            for (std::size_t x = 0; x < W; ++x)
                std::copy_n(X + ((c * H + y) * W + x) * n + j0, m,
                            Xp + ((c * pl.Hp + y + g.ph) * pl.Wp + x + g.pw) * ld);
}

// Y[(o·P + p)·ldy + j + i] for filters o0 .. o0 + NO, every position p, and the first `valid`
// of samples j .. j + NJ·L: b[o] (0 when b is null) + sum over taps t of
// Wt[t·O + o] Xp[(origin(p) + offset(t))·ld + j + i].
template <std::size_t NO, std::size_t NJ, class T>
void forward_tile(const conv_plan& g, const T* Xp, std::size_t ld, const T* Wt, std::size_t O, std::size_t o0,
                  const T* b, T* Y, std::size_t ldy, std::size_t j, std::size_t valid)
{
    using V = xsimd::batch<T>;
    constexpr std::size_t L = V::size;
    const std::size_t P = g.positions(), k = g.k;
    for (std::size_t p = 0; p < P; ++p) {
        V acc[NO][NJ];
        MININN_UNROLL
        for (std::size_t o = 0; o < NO; ++o) {
            MININN_UNROLL
            for (std::size_t q = 0; q < NJ; ++q)
                acc[o][q] = V(b != nullptr ? b[o0 + o] : T(0));
        }
        const T* w = Wt + o0;
        const T* window = Xp + g.origin(p) * ld + j;
        for (std::size_t c = 0; c < g.C; ++c)
            for (std::size_t u = 0; u < k; ++u) {
                const T* row = window + (c * g.Hp + u) * g.Wp * ld;
                for (std::size_t v = 0; v < k; ++v, w += O) {
                    V x[NJ];
                    MININN_UNROLL
                    for (std::size_t q = 0; q < NJ; ++q)
                        x[q] = V::load_unaligned(row + v * ld + q * L);
                    MININN_UNROLL
                    for (std::size_t o = 0; o < NO; ++o) {
                        const V wo(w[o]);
                        MININN_UNROLL
                        for (std::size_t q = 0; q < NJ; ++q)
                            acc[o][q] = xsimd::fma(wo, x[q], acc[o][q]);
                    }
                }
            }
        MININN_UNROLL
        for (std::size_t o = 0; o < NO; ++o) {
            MININN_UNROLL
            for (std::size_t q = 0; q < NJ; ++q) {
                T* y = Y + ((o0 + o) * P + p) * ldy + j + q * L;
                if (valid >= (q + 1) * L) {
                    acc[o][q].store_unaligned(y);
                } else if (valid > q * L) { // the batch's last, partial vector
                    alignas(64) T part[L];
                    acc[o][q].store_aligned(part);
                    std::copy_n(part, valid - q * L, y);
                }
            }
        }
    }
}

// dXp[(origin(p) + offset(t))·ld + j + i] += sum over filters o0 .. o0 + NO of
// Wt[t·O + o] dY[(o·P + p)·ldy + j + i], for every position p and tap t, samples j .. j + NJ·L.
template <std::size_t NO, std::size_t NJ, class T>
void input_grad_tile(const conv_plan& g, const T* dY, std::size_t ldy, const T* Wt, std::size_t O, std::size_t o0,
                     T* dXp, std::size_t ld, std::size_t j)
{
    using V = xsimd::batch<T>;
    constexpr std::size_t L = V::size;
    const std::size_t P = g.positions(), k = g.k;
    for (std::size_t p = 0; p < P; ++p) {
        V dy[NO][NJ];
        MININN_UNROLL
        for (std::size_t o = 0; o < NO; ++o) {
            MININN_UNROLL
            for (std::size_t q = 0; q < NJ; ++q)
                dy[o][q] = V::load_unaligned(dY + ((o0 + o) * P + p) * ldy + j + q * L);
        }
        const T* w = Wt + o0;
        T* window = dXp + g.origin(p) * ld + j;
        for (std::size_t c = 0; c < g.C; ++c)
            for (std::size_t u = 0; u < k; ++u) {
                T* row = window + (c * g.Hp + u) * g.Wp * ld;
                for (std::size_t v = 0; v < k; ++v, w += O) {
                    MININN_UNROLL
                    for (std::size_t q = 0; q < NJ; ++q) {
                        T* d = row + v * ld + q * L;
                        V s = V::load_unaligned(d);
                        MININN_UNROLL
                        for (std::size_t o = 0; o < NO; ++o)
                            s = xsimd::fma(V(w[o]), dy[o][q], s);
                        s.store_unaligned(d);
                    }
                }
            }
    }
}

// acc[(o0 + o)·K + t0 + t] += sum over positions p0 .. p1 and samples j < m (whole vectors) of
// dY[((o0 + o)·P + p)·ldy + j] Xp[(origin(p) + offset(t0 + t))·ld + j], as vectors of partial
// sums. The caller runs the positions in blocks, so that their dY stays in L1 across the taps.
template <std::size_t NO, std::size_t NT, class T>
void weight_grad_tile(const conv_plan& g, const T* dY, std::size_t ldy, const T* Xp, std::size_t ld, std::size_t m,
                      std::size_t o0, std::size_t t0, std::size_t p0, std::size_t p1, T* acc)
{
    using V = xsimd::batch<T>;
    constexpr std::size_t L = V::size;
    const std::size_t P = g.positions(), K = g.taps();
    std::size_t off[NT];
    V a[NO][NT];
    MININN_UNROLL
    for (std::size_t t = 0; t < NT; ++t)
        off[t] = g.tap_offset(t0 + t) * ld;
    MININN_UNROLL
    for (std::size_t o = 0; o < NO; ++o) {
        MININN_UNROLL
        for (std::size_t t = 0; t < NT; ++t)
            a[o][t] = V::load_aligned(acc + ((o0 + o) * K + t0 + t) * L);
    }
    for (std::size_t p = p0; p < p1; ++p) {
        const T* window = Xp + g.origin(p) * ld;
        const T* dyp = dY + (o0 * P + p) * ldy;
        for (std::size_t j = 0; j < m; j += L) {
            V x[NT];
            MININN_UNROLL
            for (std::size_t t = 0; t < NT; ++t)
                x[t] = V::load_unaligned(window + off[t] + j);
            MININN_UNROLL
            for (std::size_t o = 0; o < NO; ++o) {
                const V d = V::load_unaligned(dyp + o * P * ldy + j);
                MININN_UNROLL
                for (std::size_t t = 0; t < NT; ++t)
                    a[o][t] = xsimd::fma(d, x[t], a[o][t]);
            }
        }
    }
    MININN_UNROLL
    for (std::size_t o = 0; o < NO; ++o) {
        MININN_UNROLL
        for (std::size_t t = 0; t < NT; ++t)
            a[o][t].store_aligned(acc + ((o0 + o) * K + t0 + t) * L);
    }
}

// How a batch of one geometry runs in chunks, and the buffers one thread needs for a chunk: the
// padded images (x), their gradient (dx), dY's columns when the chunk does not fill whole
// vectors (dy; in the forward pass, one image's output), and the weight gradient's partial sums
// (acc: [O·K] vectors, aligned). A chunk is conv_chunk samples, fewer (down to one vector) when
// its buffers would pass conv_budget values; it depends on the geometry alone, so on no thread
// count.
template <class T>
struct conv_chunking {
    std::size_t chunk, x, dy, acc;

    conv_chunking(const window2d& g, std::size_t O) noexcept
    {
        constexpr std::size_t L = xsimd::batch<T>::size;
        const conv_plan pl(g);
        const std::size_t per_sample = 2 * pl.image() + O * pl.positions();
        chunk = std::max(L, std::min(round_to_vectors<T>(conv_chunk), conv_budget / per_sample / L * L));
        x = chunk * pl.image();
        dy = chunk * O * pl.positions();
        acc = O * pl.taps() * L;
    }
    // Values a thread needs for a forward pass, and for a backward one.
    std::size_t forward_values() const noexcept { return x + dy; }
    std::size_t backward_values() const noexcept { return 2 * x + dy + acc; }
};
template <class T>
struct conv_chunk_buffers {
    T* x;
    T* dx;
    T* dy;
    T* acc;
};
// The buffers of one thread, laid out from at (SIMD-aligned) as backward_values() of c counts
// them; a forward pass uses x and dy only, at the offsets forward_values() counts.
template <class T>
conv_chunk_buffers<T> split_chunk_buffers(const conv_chunking<T>& c, T* at, bool backward) noexcept
{
    if (!backward)
        return {at, nullptr, at + c.x, nullptr};
    return {at, at + c.x, at + 2 * c.x, at + 2 * c.x + c.dy};
}

// Wt [K, O] = W [O, K] transposed: a tap's weights for every filter side by side.
template <class T>
void transpose_filters(const T* W, std::size_t O, std::size_t K, T* Wt)
{
    for (std::size_t o = 0; o < O; ++o)
        for (std::size_t t = 0; t < K; ++t)
            Wt[t * O + o] = W[o * K + t];
}

// Column j of Y [O·P, n] for column j of X [C·H·W, n], with a stride of 1, its vectors running
// along each output row: the image is packed alone (ld 1), the plan sees each output row as one
// position and its pixels as the samples of forward_tile, whose loads read whole rows.
template <class T>
void conv_forward_rows(const window2d& g, const T* X, std::size_t n, std::size_t j, const T* Wt, std::size_t O,
                       const T* b, T* Y, const conv_chunk_buffers<T>& buf)
{
    constexpr std::size_t L = xsimd::batch<T>::size;
    conv_plan rows(g);
    const std::size_t Wo = rows.Wo, P = rows.positions();
    rows.Wo = 1;
    pack_chunk(g, X, n, j, 1, 1, buf.x);
    // the last vectors of the last rows read past the image, into lanes that are never stored
    std::fill(buf.x + rows.image(), buf.x + rows.image() + 2 * L, T(0));
    T* out = n == 1 ? Y : buf.dy;
    std::size_t x = 0;
    for (; x + L < Wo; x += 2 * L)
        each_tile<conv_filters>(O, [&](auto no, std::size_t o0) {
            forward_tile<decltype(no)::value, 2>(rows, buf.x, 1, Wt, O, o0, b, out, Wo, x, Wo - x);
        });
    for (; x < Wo; x += L)
        each_tile<conv_filters>(O, [&](auto no, std::size_t o0) {
            forward_tile<decltype(no)::value, 1>(rows, buf.x, 1, Wt, O, o0, b, out, Wo, x, Wo - x);
        });
    if (n != 1)
        for (std::size_t r = 0; r < O * P; ++r)
            Y[r * n + j] = out[r];
}

// Columns j0 .. j0 + m (m at most the chunk) of Y [O·P, n] = the convolution of those of
// X [C·H·W, n] by the filters Wt [K, O], plus b [O] unless b is null.
template <class T>
void conv_forward_chunk(const window2d& g, const T* X, std::size_t n, std::size_t j0, std::size_t m, const T* Wt,
                        std::size_t O, const T* b, T* Y, const conv_chunk_buffers<T>& buf)
{
    constexpr std::size_t L = xsimd::batch<T>::size;
    const conv_plan pl(g);
    // A few samples fill few lanes of a vector over samples; a vector over an output row's
    // pixels then does more, with the same sums in the same order.
    if (pl.s == 1 && m * round_to_vectors<T>(pl.Wo) < pl.Wo * round_to_vectors<T>(m)) {
        for (std::size_t j = j0; j < j0 + m; ++j)
            conv_forward_rows(g, X, n, j, Wt, O, b, Y, buf);
        return;
    }
    const std::size_t ld = round_to_vectors<T>(m);
    pack_chunk(g, X, n, j0, m, ld, buf.x);
    T* y = Y + j0;
    std::size_t j = 0;
    for (; j + 2 * L <= ld; j += 2 * L)
        each_tile<conv_filters>(O, [&](auto no, std::size_t o0) {
            forward_tile<decltype(no)::value, 2>(pl, buf.x, ld, Wt, O, o0, b, y, n, j, m - j);
        });
    if (j < ld)
        each_tile<conv_filters>(O, [&](auto no, std::size_t o0) {
            forward_tile<decltype(no)::value, 1>(pl, buf.x, ld, Wt, O, o0, b, y, n, j, m - j);
        });
}

// For columns j0 .. j0 + m (m at most the chunk) of X [C·H·W, n] and dY [O·P, n]: dW [O, K] = this
// chunk's weight gradient, dY times X's patches summed over positions and samples; and,
// unless dX is null, the same columns of dX [C·H·W, n] = Wt dY summed back onto the pixels.
template <class T>
void conv_backward_chunk(const window2d& g, const T* X, std::size_t n, std::size_t j0, std::size_t m, const T* dY,
                         const T* Wt, std::size_t O, T* dW, T* dX, const conv_chunk_buffers<T>& buf)
{
    constexpr std::size_t L = xsimd::batch<T>::size;
    const conv_plan pl(g);
    const std::size_t ld = round_to_vectors<T>(m), P = pl.positions();
    pack_chunk(g, X, n, j0, m, ld, buf.x);
    const T* dy = dY + j0;
    std::size_t ldy = n;
    if (ld != m) { // zero-extended to whole vectors, so that the tail's products are 0
        for (std::size_t r = 0; r < O * P; ++r) {
            std::copy_n(dY + r * n + j0, m, buf.dy + r * ld);
            std::fill(buf.dy + r * ld + m, buf.dy + (r + 1) * ld, T(0));
        }
        dy = buf.dy;
        ldy = ld;
    }
    const std::size_t K = pl.taps();
    std::fill(buf.acc, buf.acc + O * K * L, T(0));
    for (std::size_t p0 = 0; p0 < P; p0 += conv_positions) {
        const std::size_t p1 = std::min(P, p0 + conv_positions);
        each_tile<conv_filters>(O, [&](auto no, std::size_t o0) {
            each_tile<conv_taps>(K, [&](auto nt, std::size_t t0) {
                weight_grad_tile<decltype(no)::value, decltype(nt)::value>(pl, dy, ldy, buf.x, ld, ld, o0, t0, p0, p1,
                                                                           buf.acc);
            });
        });
    }
    for (std::size_t i = 0; i < O * K; ++i)
        dW[i] = xsimd::hadd(xsimd::batch<T>::load_aligned(buf.acc + i * L));
    if (dX == nullptr)
        return;
    std::fill(buf.dx, buf.dx + pl.image() * ld, T(0));
    std::size_t j = 0;
    for (; j + 2 * L <= ld; j += 2 * L)
        each_tile<conv_filters>(O, [&](auto no, std::size_t o0) {
            input_grad_tile<decltype(no)::value, 2>(pl, dy, ldy, Wt, O, o0, buf.dx, ld, j);
        });
    if (j < ld)
        each_tile<conv_filters>(O, [&](auto no, std::size_t o0) {
            input_grad_tile<decltype(no)::value, 1>(pl, dy, ldy, Wt, O, o0, buf.dx, ld, j);
        });
    const std::size_t H = g.in.height, W = g.in.width;
    for (std::size_t c = 0; c < pl.C; ++c)
        for (std::size_t y = 0; y < H; ++y)
            for (std::size_t x = 0; x < W; ++x)
                std::copy_n(buf.dx + ((c * pl.Hp + y + g.ph) * pl.Wp + x + g.pw) * ld, m,
                            dX + ((c * H + y) * W + x) * n + j0);
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

#undef MININN_UNROLL

MININN_SIMD_WARNINGS_ON
