// mininn::detail: W X and dZ X^T for a sparse X, the first layer's two products without BLAS.
//
// A dense GEMM does work for every zero of X; these loops do it only for the non-zeros.
// Forward: column j of Z is the sum over its non-zeros (k, v) of v * W^T[k, :], accumulated
// in registers from a transposed copy of W that stays in L2. Backward: dW^T[k, :] += v *
// dZ[:, j] into a private [in, out] accumulator per part, summed in a fixed order at the end.
// Both run over tiles of columns that are transposed through a small buffer in L1, because
// samples are columns and so Z and dZ hold a sample's outputs with a stride of n.
//
// Two threads split the samples (splitting the outputs instead halves the work per non-zero but
// not its cost, which is the latency of reaching a row of W^T in L2). Forward, each column's sum
// is the same whoever computes it. Backward, a batch of at least sparse_parallel_columns is cut
// into two halves by its width alone, each summed into its own dW^T and the two added in
// order, so one thread or two give the same bits.
#pragma once

#include "isa.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../sparse.hpp"
#include "helper_thread.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// Batches at least this wide run the sparse products in two parts (on two threads when a
/// helper is given); narrower ones in one part, where waking a thread costs more than it saves.
inline constexpr std::size_t sparse_parallel_columns = 2048;

template <class T>
using aligned_buffer = std::vector<T, xsimd::aligned_allocator<T>>;

// Columns per tile: a tile of Z or dZ of this many samples is one cache line of each row.
template <class T>
inline constexpr std::size_t sparse_tile = 64 / sizeof(T);

// acc[r] (r < R, R batches from offset c of a padded row of stride hp) = sum over the
// column's non-zeros of v * Wt[k * hp + c + r * W]. Two sets of accumulators halve the
// dependency chains through each FMA.
template <std::size_t R, class T>
inline void sparse_dot_chunk(const std::uint32_t* rows, const T* vals, std::size_t nz, const T* Wt, std::size_t hp,
                             std::size_t c, T* out)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B a[R], b[R];
    for (std::size_t r = 0; r < R; ++r)
        a[r] = b[r] = B(T(0));
    std::size_t p = 0;
    for (; p + 2 <= nz; p += 2) {
        const T* w0 = Wt + rows[p] * hp + c;
        const T* w1 = Wt + rows[p + 1] * hp + c;
        const B v0(vals[p]), v1(vals[p + 1]);
        for (std::size_t r = 0; r < R; ++r) {
            a[r] = xsimd::fma(v0, B::load_aligned(w0 + r * W), a[r]);
            b[r] = xsimd::fma(v1, B::load_aligned(w1 + r * W), b[r]);
        }
    }
    if (p < nz) {
        const T* w0 = Wt + rows[p] * hp + c;
        const B v0(vals[p]);
        for (std::size_t r = 0; r < R; ++r)
            a[r] = xsimd::fma(v0, B::load_aligned(w0 + r * W), a[r]);
    }
    for (std::size_t r = 0; r < R; ++r)
        (a[r] + b[r]).store_aligned(out + c + r * W);
}

// dWt[k * hp + c + r * W] += v * g[r] for every non-zero (k, v) of a column; g holds the
// column's dZ entries from offset c.
template <std::size_t R, class T>
inline void sparse_outer_chunk(const std::uint32_t* rows, const T* vals, std::size_t nz, const T* g, T* dWt,
                               std::size_t hp, std::size_t c)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B gr[R];
    for (std::size_t r = 0; r < R; ++r)
        gr[r] = B::load_aligned(g + c + r * W);
    for (std::size_t p = 0; p < nz; ++p) {
        T* d = dWt + rows[p] * hp + c;
        const B v(vals[p]);
        for (std::size_t r = 0; r < R; ++r)
            xsimd::fma(v, gr[r], B::load_aligned(d + r * W)).store_aligned(d + r * W);
    }
}

// The widest chunk: 8 batches where there are 32 vector registers (AVX-512), else 4.
template <class T>
inline constexpr std::size_t sparse_max_chunk = xsimd::batch<T>::size * sizeof(T) >= 64 ? 8 : 4;

// Calls f(integral_constant<R>, c) over chunks of R batches that cover lanes [c0, c1), both
// multiples of the batch size.
template <class T, class F>
inline void for_each_chunk(std::size_t c0, std::size_t c1, F&& f)
{
    constexpr std::size_t W = xsimd::batch<T>::size, M = sparse_max_chunk<T>;
    std::size_t c = c0;
    for (; c + M * W <= c1; c += M * W)
        f(std::integral_constant<std::size_t, M>{}, c);
    switch ((c1 - c) / W) {
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

/// What the sparse products of one Dense layer keep between steps, and the input of its last
/// forward. Buffers grow on first use and are reused, so a steady step does not allocate.
/// A copy starts empty: it must not point at its original's input.
template <class T>
class sparse_products {
public:
    sparse_products() = default;
    sparse_products(const sparse_products&) {}
    sparse_products& operator=(const sparse_products&)
    {
        bound_ = false;
        return *this;
    }

    /// Remembers the batch (a view) for backward; an rvalue matrix is kept here.
    void bind(const sparse_batch<T>& x, helper_thread* helper)
    {
        batch_ = x;
        bound_ = true;
        helper_ = helper;
    }
    void bind(sparse_matrix<T>&& x, helper_thread* helper)
    {
        owned_ = std::move(x);
        bind(sparse_batch<T>(owned_), helper);
    }
    void forget() noexcept { bound_ = false; }
    const sparse_batch<T>* get() const noexcept { return bound_ ? &batch_ : nullptr; }

    /// Z [out, n] = W [out, in] X for the bound batch of n columns.
    void forward(const T* W, std::size_t out, std::size_t in, T* Z)
    {
        const std::size_t hp = padded(out), n = batch_.cols();
        Wt_.resize(in * hp); // the padding lanes stay zero from the first resize
        constexpr std::size_t KB = 16; // rows of W^T per block: their lines stay in L1 while W's rows are read
        for (std::size_t k0 = 0; k0 < in; k0 += KB) {
            const std::size_t k1 = std::min(in, k0 + KB);
            for (std::size_t i = 0; i < out; ++i)
                for (std::size_t k = k0; k < k1; ++k)
                    Wt_[k * hp + i] = W[i * in + k];
        }
        for (auto& t : tile_)
            t.resize(sparse_tile<T> * hp);
        auto part = [&](std::size_t p) {
            forward_columns(hp, out, p == 0 ? 0 : n / 2, p == 0 ? n / 2 : n, Z, tile_[p].data());
        };
        if (n < sparse_parallel_columns)
            forward_columns(hp, out, 0, n, Z, tile_[0].data());
        else if (helper_ != nullptr)
            helper_->run_on_both(part);
        else
            forward_columns(hp, out, 0, n, Z, tile_[0].data()); // the same sums as two halves
    }

    /// dW [out, in] = dZ [out, n] X^T for the bound batch.
    void backward(const T* dZ, std::size_t out, std::size_t in, T* dW)
    {
        const std::size_t hp = padded(out), n = batch_.cols();
        const bool halves = n >= sparse_parallel_columns;
        for (std::size_t p = 0; p < (halves ? 2u : 1u); ++p) {
            dWt_[p].resize(in * hp);
            tile_[p].resize(sparse_tile<T> * hp);
        }
        auto part = [&](std::size_t p) {
            std::fill(dWt_[p].begin(), dWt_[p].end(), T(0));
            const std::size_t j0 = !halves || p == 0 ? 0 : n / 2, j1 = halves && p == 0 ? n / 2 : n;
            backward_columns(dZ, hp, out, j0, j1, tile_[p].data(), dWt_[p].data());
        };
        if (halves && helper_ != nullptr) {
            helper_->run_on_both(part);
        } else {
            part(0);
            if (halves)
                part(1);
        }
        const T* a = dWt_[0].data();
        const T* b = halves ? dWt_[1].data() : nullptr;
        constexpr std::size_t KB = 16; // rows of dW^T per block: their lines stay in L1 while dW's rows are written
        for (std::size_t k0 = 0; k0 < in; k0 += KB) {
            const std::size_t k1 = std::min(in, k0 + KB);
            for (std::size_t i = 0; i < out; ++i)
                for (std::size_t k = k0; k < k1; ++k)
                    dW[i * in + k] = b != nullptr ? a[k * hp + i] + b[k * hp + i] : a[k * hp + i];
        }
    }

private:
    static std::size_t padded(std::size_t out)
    {
        constexpr std::size_t W = xsimd::batch<T>::size;
        return (out + W - 1) / W * W;
    }

    // Columns [j0, j1) of Z, through tiles of TB samples.
    void forward_columns(std::size_t hp, std::size_t out, std::size_t j0, std::size_t j1, T* Z, T* tile) const
    {
        constexpr std::size_t TB = sparse_tile<T>;
        const std::size_t n = batch_.cols();
        const sparse_matrix<T>& m = batch_.source();
        const std::uint32_t* rows = m.row_indices().data();
        const T* vals = m.values().data();
        const T* Wt = Wt_.data();
        for (std::size_t jt = j0; jt < j1; jt += TB) {
            const std::size_t nb = std::min(TB, j1 - jt);
            for (std::size_t jj = 0; jj < nb; ++jj) {
                const std::size_t c = batch_.column(jt + jj), s = m.column_start(c), nz = m.column_start(c + 1) - s;
                T* o = tile + jj * hp;
                for_each_chunk<T>(0, hp, [&](auto R, std::size_t off) {
                    sparse_dot_chunk<decltype(R)::value>(rows + s, vals + s, nz, Wt, hp, off, o);
                });
            }
            for (std::size_t i = 0; i < out; ++i) {
                T* z = Z + i * n + jt;
                for (std::size_t jj = 0; jj < nb; ++jj)
                    z[jj] = tile[jj * hp + i];
            }
        }
    }

    // dWt += the products of columns [j0, j1) of dZ and X^T, through tiles of TB samples.
    void backward_columns(const T* dZ, std::size_t hp, std::size_t out, std::size_t j0, std::size_t j1, T* tile,
                          T* dWt) const
    {
        constexpr std::size_t TB = sparse_tile<T>;
        const std::size_t n = batch_.cols();
        const sparse_matrix<T>& m = batch_.source();
        const std::uint32_t* rows = m.row_indices().data();
        const T* vals = m.values().data();
        for (std::size_t jt = j0; jt < j1; jt += TB) {
            const std::size_t nb = std::min(TB, j1 - jt);
            for (std::size_t i = 0; i < out; ++i) {
                const T* g = dZ + i * n + jt;
                for (std::size_t jj = 0; jj < nb; ++jj)
                    tile[jj * hp + i] = g[jj];
            }
            for (std::size_t jj = 0; jj < nb; ++jj) {
                const std::size_t c = batch_.column(jt + jj), s = m.column_start(c), nz = m.column_start(c + 1) - s;
                const T* g = tile + jj * hp;
                for_each_chunk<T>(0, hp, [&](auto R, std::size_t off) {
                    sparse_outer_chunk<decltype(R)::value>(rows + s, vals + s, nz, g, dWt, hp, off);
                });
            }
        }
    }

    sparse_matrix<T> owned_;
    sparse_batch<T> batch_{owned_};
    bool bound_ = false;
    helper_thread* helper_ = nullptr;
    aligned_buffer<T> Wt_;
    aligned_buffer<T> tile_[2], dWt_[2];
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
