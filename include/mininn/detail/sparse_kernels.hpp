// mininn::detail: W X and dZ X^T for a sparse X, the first layer's two products without BLAS.
//
// A dense GEMM does work for every zero of X; these loops do it only for the non-zeros. Going
// through X by columns (one sample after another) would fetch a row of W^T from L2 for every
// non-zero, and that latency, not the FMAs, would bound the loop. So each forward first sorts
// the batch's non-zeros by input row within blocks of B samples (a counting sort, kept for the
// backward pass), and then, per block:
//   forward:  for each row k, W^T[k, :] is loaded into registers once, and v * W^T[k, :] is
//             added into the block's output tile Zt[s, :] (in L1) for each of its entries (s, v);
//   backward: for each row k, the sum over its entries of v * dZt[s, :] is accumulated in
//             registers from the block's transposed gradient tile (in L1), and added to
//             dW^T[k, :] once.
// The tiles are transposed to and from the samples-are-columns layout [out, n] per block.
//
// Two threads split the blocks. Forward, each output's sum is the same whoever computes it.
// Backward, a batch of at least sparse_parallel_columns is cut into two halves of blocks by its
// width alone, each summed into its own dW^T and the two added in order, so one thread or two
// give the same bits.
#pragma once

#include "isa.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../sparse.hpp"
#include "helper_thread.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// Batches at least this wide run the sparse products in two halves (on two threads when a
/// helper is given); narrower ones in one, where waking a thread costs more than it saves.
inline constexpr std::size_t sparse_parallel_columns = 2048;

template <class T>
using aligned_buffer = std::vector<T, xsimd::aligned_allocator<T>>;

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

// Zt[s * hp + c + r W] += v * w[c + r W] for the entries (s, v) of one input row.
template <std::size_t R, class T>
inline void row_into_tile(const std::uint16_t* smp, const T* val, std::size_t ne, const T* w, T* Zt, std::size_t hp,
                          std::size_t c)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B wr[R];
    for (std::size_t r = 0; r < R; ++r)
        wr[r] = B::load_aligned(w + c + r * W);
    for (std::size_t e = 0; e < ne; ++e) {
        T* z = Zt + smp[e] * hp + c;
        const B v(val[e]);
        for (std::size_t r = 0; r < R; ++r)
            xsimd::fma(v, wr[r], B::load_aligned(z + r * W)).store_aligned(z + r * W);
    }
}

// d[c + r W] += sum over the entries (s, v) of one input row of v * dZt[s * hp + c + r W]. Two
// sets of accumulators halve the dependency chains through each FMA.
template <std::size_t R, class T>
inline void tile_into_row(const std::uint16_t* smp, const T* val, std::size_t ne, const T* dZt, std::size_t hp,
                          std::size_t c, T* d)
{
    using B = xsimd::batch<T>;
    constexpr std::size_t W = B::size;
    B a[R], b[R];
    for (std::size_t r = 0; r < R; ++r)
        a[r] = b[r] = B(T(0));
    std::size_t e = 0;
    for (; e + 2 <= ne; e += 2) {
        const T* g0 = dZt + smp[e] * hp + c;
        const T* g1 = dZt + smp[e + 1] * hp + c;
        const B v0(val[e]), v1(val[e + 1]);
        for (std::size_t r = 0; r < R; ++r) {
            a[r] = xsimd::fma(v0, B::load_aligned(g0 + r * W), a[r]);
            b[r] = xsimd::fma(v1, B::load_aligned(g1 + r * W), b[r]);
        }
    }
    if (e < ne) {
        const T* g0 = dZt + smp[e] * hp + c;
        const B v0(val[e]);
        for (std::size_t r = 0; r < R; ++r)
            a[r] = xsimd::fma(v0, B::load_aligned(g0 + r * W), a[r]);
    }
    for (std::size_t r = 0; r < R; ++r)
        (B::load_aligned(d + c + r * W) + (a[r] + b[r])).store_aligned(d + c + r * W);
}

/// What the sparse products of one Dense layer keep between steps: the input of its last
/// forward, its non-zeros sorted by row within blocks, and the tiles. Buffers grow on first
/// use and are reused, so a steady step does not allocate. A copy starts empty: it must not
/// point at its original's input.
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
        in_ = in;
        Wt_.resize(in * hp); // the padding lanes stay zero from the first resize
        constexpr std::size_t KB = 16; // rows of W^T per block: their lines stay in L1 while W's rows are read
        for (std::size_t k0 = 0; k0 < in; k0 += KB) {
            const std::size_t k1 = std::min(in, k0 + KB);
            for (std::size_t i = 0; i < out; ++i)
                for (std::size_t k = k0; k < k1; ++k)
                    Wt_[k * hp + i] = W[i * in + k];
        }
        const std::size_t block = block_width(hp);
        const std::size_t blocks = (n + block - 1) / block;
        // A range of a matrix sorted last time is still sorted: the full batch, step after step.
        const auto& token = batch_.source().token();
        const bool sorted = token != nullptr && batch_.index_list() == nullptr && sorted_.lock() == token &&
                            sorted_first_ == batch_.first_column() && sorted_count_ == n && sorted_in_ == in &&
                            block_ == block;
        if (!sorted) {
            block_ = block;
            starts_.resize(blocks * (in + 1));
            block_first_.resize(blocks + 1);
            block_first_[0] = 0;
            for (std::size_t b = 0; b < blocks; ++b) { // each block's entries start where the last one's end
                std::size_t nz = 0;
                for (std::size_t j = b * block; j < std::min(n, (b + 1) * block); ++j)
                    nz += batch_.source().column_start(batch_.column(j) + 1) -
                          batch_.source().column_start(batch_.column(j));
                block_first_[b + 1] = block_first_[b] + nz;
            }
            sample_.resize(block_first_[blocks]);
            value_.resize(block_first_[blocks]);
            if (batch_.index_list() == nullptr) {
                sorted_ = token;
                sorted_first_ = batch_.first_column();
                sorted_count_ = n;
                sorted_in_ = in;
            } else {
                sorted_.reset();
            }
        }
        for (auto& t : tile_)
            t.resize(block * hp);
        auto part = [&](std::size_t p) {
            const std::size_t b0 = p == 0 ? 0 : blocks / 2, b1 = p == 0 ? blocks / 2 : blocks;
            for (std::size_t b = b0; b < b1; ++b) {
                if (!sorted)
                    sort_block(b, p);
                forward_block(b, hp, out, Z, tile_[p].data());
            }
        };
        if (n >= sparse_parallel_columns && helper_ != nullptr) {
            helper_->run_on_both(part);
        } else {
            part(0);
            part(1);
        }
    }

    /// dW [out, in] = dZ [out, n] X^T for the batch of the last forward.
    void backward(const T* dZ, std::size_t out, T* dW)
    {
        const std::size_t hp = padded(out), n = batch_.cols(), in = in_;
        const std::size_t blocks = (n + block_ - 1) / block_;
        const bool halves = n >= sparse_parallel_columns;
        for (std::size_t p = 0; p < (halves ? 2u : 1u); ++p)
            dWt_[p].resize(in * hp);
        auto part = [&](std::size_t p) {
            std::fill(dWt_[p].begin(), dWt_[p].end(), T(0));
            const std::size_t b0 = !halves || p == 0 ? 0 : blocks / 2, b1 = halves && p == 0 ? blocks / 2 : blocks;
            for (std::size_t b = b0; b < b1; ++b)
                backward_block(b, hp, out, dZ, tile_[p].data(), dWt_[p].data());
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

    // Samples per block: a tile of them is 32 KB, in L1, between 16 and 4096 samples.
    static std::size_t block_width(std::size_t hp)
    {
        return std::clamp<std::size_t>(32768 / (hp * sizeof(T)) / 16 * 16, 16, 4096);
    }

    // Block b's entries, sorted by input row (a counting sort; samples stay in order within a
    // row): starts_[b * (in + 1) + k] is where row k's entries begin. The columns of an index
    // list lie all over memory: they are first copied side by side (each copy is one
    // contiguous run the hardware streams), so that the two passes of the sort read them once
    // from memory.
    void sort_block(std::size_t b, std::size_t p)
    {
        const sparse_matrix<T>& m = batch_.source();
        const std::size_t j0 = b * block_, j1 = std::min(batch_.cols(), j0 + block_), in = in_;
        const std::size_t* cs = m.column_starts().data();
        const std::uint32_t* rows = m.row_indices().data();
        const T* vals = m.values().data();
        std::size_t base = cs[batch_.column(j0)];
        if (batch_.index_list() != nullptr) {
            const std::size_t nz = block_first_[b + 1] - block_first_[b];
            stage_rows_[p].resize(std::max(stage_rows_[p].size(), nz));
            stage_vals_[p].resize(std::max(stage_vals_[p].size(), nz));
            std::size_t at = 0;
            for (std::size_t j = j0; j < j1; ++j) {
                const std::size_t c = batch_.column(j), len = cs[c + 1] - cs[c];
                std::copy(rows + cs[c], rows + cs[c] + len, stage_rows_[p].data() + at);
                std::copy(vals + cs[c], vals + cs[c] + len, stage_vals_[p].data() + at);
                at += len;
            }
            rows = stage_rows_[p].data();
            vals = stage_vals_[p].data();
            base = 0;
        }
        // Entries [e, e_end) of column j in rows/vals: consecutive for a range and for the stage.
        std::size_t* st = starts_.data() + b * (in + 1);
        std::fill(st, st + in + 1, std::size_t(0));
        const std::size_t total = block_first_[b + 1] - block_first_[b];
        for (std::size_t q = base; q < base + total; ++q)
            ++st[rows[q] + 1];
        st[0] = block_first_[b];
        for (std::size_t k = 0; k < in; ++k)
            st[k + 1] += st[k];
        // Fill through the starts of the next row, then shift them back: no second array.
        std::size_t q = base;
        for (std::size_t j = j0; j < j1; ++j) {
            const std::size_t c = batch_.column(j), q_end = q + (cs[c + 1] - cs[c]);
            for (; q < q_end; ++q) {
                const std::size_t at = st[rows[q]]++;
                sample_[at] = static_cast<std::uint16_t>(j - j0);
                value_[at] = vals[q];
            }
        }
        for (std::size_t k = in; k > 0; --k)
            st[k] = st[k - 1];
        st[0] = block_first_[b];
    }

    void forward_block(std::size_t b, std::size_t hp, std::size_t out, T* Z, T* tile) const
    {
        const std::size_t n = batch_.cols(), j0 = b * block_, nb = std::min(n, j0 + block_) - j0, in = in_;
        const std::size_t* st = starts_.data() + b * (in + 1);
        std::fill(tile, tile + nb * hp, T(0));
        for (std::size_t k = 0; k < in; ++k) {
            const std::size_t e0 = st[k], ne = st[k + 1] - e0;
            if (ne == 0)
                continue;
            for_each_chunk<T>(hp, [&](auto R, std::size_t c) {
                row_into_tile<decltype(R)::value>(sample_.data() + e0, value_.data() + e0, ne, Wt_.data() + k * hp,
                                                  tile, hp, c);
            });
        }
        for (std::size_t i = 0; i < out; ++i) {
            T* z = Z + i * n + j0;
            for (std::size_t s = 0; s < nb; ++s)
                z[s] = tile[s * hp + i];
        }
    }

    void backward_block(std::size_t b, std::size_t hp, std::size_t out, const T* dZ, T* tile, T* dWt) const
    {
        const std::size_t n = batch_.cols(), j0 = b * block_, nb = std::min(n, j0 + block_) - j0, in = in_;
        const std::size_t* st = starts_.data() + b * (in + 1);
        for (std::size_t i = 0; i < out; ++i) { // lanes out..hp keep the zeros of the forward pass
            const T* g = dZ + i * n + j0;
            for (std::size_t s = 0; s < nb; ++s)
                tile[s * hp + i] = g[s];
        }
        for (std::size_t k = 0; k < in; ++k) {
            const std::size_t e0 = st[k], ne = st[k + 1] - e0;
            if (ne == 0)
                continue;
            for_each_chunk<T>(hp, [&](auto R, std::size_t c) {
                tile_into_row<decltype(R)::value>(sample_.data() + e0, value_.data() + e0, ne, tile, hp, c,
                                                  dWt + k * hp);
            });
        }
    }

    sparse_matrix<T> owned_;
    sparse_batch<T> batch_{owned_};
    bool bound_ = false;
    helper_thread* helper_ = nullptr;
    std::size_t in_ = 0, block_ = 16;
    std::weak_ptr<const char> sorted_; // the matrix whose range [first, first + count) is sorted
    std::size_t sorted_first_ = 0, sorted_count_ = 0, sorted_in_ = 0;
    aligned_buffer<T> Wt_, value_;
    std::vector<std::uint16_t> sample_;
    std::vector<std::uint32_t> stage_rows_[2];
    aligned_buffer<T> stage_vals_[2];
    std::vector<std::size_t> starts_, block_first_;
    aligned_buffer<T> tile_[2], dWt_[2];
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
