// mininn::detail: W X and dZ X^T for a sparse X, the first layer's two products without BLAS.
//
// A dense GEMM does work for every zero of X; these loops do it only for the non-zeros, per
// block of B samples whose output tile Zt [B, out] (and gradient tile dZt) sits in L1. The
// tiles go to and from the samples-are-columns layout [out, n] by blocked transposes.
// Forward reads the columns as stored: each sample's row of Zt is summed in registers from the
// rows W^T[k, :] of its non-zeros (in L2). Backward has two layouts of the non-zeros:
//   columns, as stored: v * dZt[s, :] is added to dW^T[k, :] for each entry (k, v) of sample
//     s. Nothing to prepare, so a batch that comes once (a shuffled mini-batch, an index list)
//     takes this way;
//   sorted by input row within each block (a counting sort): dW^T[k, :] is summed in registers
//     from the tile's rows of the row's entries, with no stores per entry. The sort costs more
//     than it saves in one step, so it is made for a range of a matrix that comes twice in a
//     row (the full batch) and kept.
// Both make the same FMAs on each output in the same order (by sample), so the layout changes
// the speed only, never the bits.
//
// Each batch is cut in two by its width alone: between halves of its blocks, or in the middle
// of a lone block. Given a helper thread, and work enough to pay for waking it, each half runs
// on its own thread. Forward, each output's sum is the same whoever computes it; backward, each
// half is summed into its own dW^T and the two are added in order. So one thread or two give
// the same bits.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "../core/sparse.hpp"
#include "helper_thread.hpp"
#include "sparse_loops.hpp"
#include "transpose.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// Given a helper, a batch runs on two threads when it holds at least this many multiply-adds
/// (non-zeros times padded outputs; a shuffled MNIST batch of 32 into 64 outputs has 300 000):
/// below, handing half of it over costs more than it saves.
inline constexpr std::size_t sparse_parallel_work = std::size_t(1) << 18;

/// The sparse loops ask for a column's entries this many samples before they reach it.
inline constexpr std::size_t prefetch_ahead = 2;

template <class T>
using aligned_buffer = scratch<T>;

/// What the sparse products of one Dense layer keep between steps: the input of its last
/// forward, the row-sorted form of a range that came twice, and the tiles. Buffers grow on first
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
        transpose(W, in, out, in, Wt_.data(), hp);
        const std::size_t block = block_width(hp);
        const std::size_t blocks = (n + block - 1) / block;
        // The same range of the same matrix twice in a row (the full batch, step after step) is
        // sorted by row the second time, for backward, and kept; a batch that comes once (a
        // mini-batch, an index list) goes back column by column, which costs less than sorting it.
        const auto& token = batch_.source().token();
        const bool range = token != nullptr && batch_.index_list() == nullptr;
        const bool again = range && seen_.lock() == token && seen_first_ == batch_.first_column() &&
                           seen_count_ == n && seen_in_ == in && block_ == block;
        if (!again) {
            seen_.reset();
            if (range)
                seen_ = token;
            seen_first_ = batch_.first_column();
            seen_count_ = n;
            seen_in_ = in;
            sorted_ = false;
            if (range) { // room for the sort the next step may make: a steady step allocates nothing
                const std::size_t first = batch_.first_column();
                const auto& m = batch_.source();
                sample_.reserve(m.column_start(first + n) - m.column_start(first));
                value_.reserve(sample_.capacity());
                starts_.reserve(blocks * (in + 1));
                block_first_.reserve(blocks + 1);
            }
        }
        block_ = block;
        const bool sort_now = again && !sorted_;
        if (sort_now) {
            starts_.resize(blocks * (in + 1));
            block_first_.resize(blocks + 1);
            block_first_[0] = 0;
            for (std::size_t b = 0; b < blocks; ++b) { // each block's entries start where the last one's end
                std::size_t nz = 0;
                for (std::size_t j = b * block; j < std::min(n, (b + 1) * block); ++j)
                    nz += column_length(j);
                block_first_[b + 1] = block_first_[b] + nz;
            }
            sample_.resize(block_first_[blocks]);
            value_.resize(block_first_[blocks]);
        }
        use_sorted_ = again;
        two_threads_ = helper_ != nullptr && batch_.nonzeros() * hp >= sparse_parallel_work;
        for (auto& t : tile_)
            t.resize(block * hp);
        // The halves backward uses; a lone block that is being sorted stays on one thread.
        const std::size_t mid = blocks == 1 && sort_now ? n : halves_at(n);
        auto part = [&](std::size_t p) {
            const std::size_t j0 = p == 0 ? 0 : mid, j1 = p == 0 ? mid : n;
            for (std::size_t j = j0; j < j1; j += block) {
                const std::size_t je = std::min(j1, j + block);
                if (sort_now)
                    sort_block(j / block);
                forward_columns(j, je, hp, tile_[p].data());
                tile_into_output(j, je, hp, out, tile_[p].data(), Z);
            }
        };
        if (two_threads_) {
            helper_->run_on_both(part);
        } else {
            part(0);
            part(1);
        }
        sorted_ = sorted_ || sort_now;
    }

    /// dW [out, in] = dZ [out, n] X^T for the batch of the last forward.
    void backward(const T* dZ, std::size_t out, T* dW)
    {
        const std::size_t hp = padded(out), n = batch_.cols(), in = in_, block = block_;
        // Two halves of the columns, as forward cut them, each summed into its own dW^T and
        // the two added in order: the width alone fixes the bits, not the thread count.
        const std::size_t mid = halves_at(n);
        for (auto& d : dWt_)
            d.resize(in * hp);
        auto part = [&](std::size_t p) {
            std::fill(dWt_[p].begin(), dWt_[p].end(), T(0));
            const std::size_t j0 = p == 0 ? 0 : mid, j1 = p == 0 ? mid : n;
            for (std::size_t b = j0 / block; b * block < j1; ++b) {
                const std::size_t s0 = std::max(j0, b * block) - b * block;
                const std::size_t s1 = std::min(j1, (b + 1) * block) - b * block;
                gradient_into_tile(b, s0, s1, hp, out, dZ, tile_[p].data());
                if (use_sorted_)
                    backward_sorted(b, s0, s1, hp, tile_[p].data(), dWt_[p].data());
                else
                    backward_columns(b, s0, s1, hp, tile_[p].data(), dWt_[p].data());
            }
        };
        if (two_threads_) {
            helper_->run_on_both(part);
        } else {
            part(0);
            part(1);
        }
        T* a = dWt_[0].data();
        const T* b = dWt_[1].data();
        for (std::size_t e = 0; e < in * hp; ++e)
            a[e] += b[e];
        transpose(dWt_[0].data(), hp, in, out, dW, in);
    }

private:
    static std::size_t padded(std::size_t out)
    {
        constexpr std::size_t W = xsimd::batch<T>::size;
        return (out + W - 1) / W * W;
    }

    // Where a batch of n columns is cut in two: between halves of its blocks, or in the middle
    // of a lone block.
    std::size_t halves_at(std::size_t n) const
    {
        const std::size_t blocks = (n + block_ - 1) / block_;
        return blocks >= 2 ? blocks / 2 * block_ : n / 2;
    }

    // Samples per block: a tile of them is 32 KB, in L1, between 16 and 4096 samples.
    static std::size_t block_width(std::size_t hp)
    {
        return std::clamp<std::size_t>(32768 / (hp * sizeof(T)) / 16 * 16, 16, 4096);
    }

    std::size_t column_length(std::size_t j) const
    {
        const std::size_t c = batch_.column(j);
        return batch_.source().column_start(c + 1) - batch_.source().column_start(c);
    }

    // Block b's entries, sorted by input row (a counting sort; samples stay in order within a
    // row): starts_[b * (in + 1) + k] is where row k's entries begin.
    void sort_block(std::size_t b)
    {
        const sparse_matrix<T>& m = batch_.source();
        const std::size_t j0 = b * block_, j1 = std::min(batch_.cols(), j0 + block_), in = in_;
        const std::size_t* cs = m.column_starts().data();
        const std::uint32_t* rows = m.row_indices().data();
        const T* vals = m.values().data();
        const std::size_t c0 = batch_.column(j0), c1 = batch_.column(j1 - 1) + 1; // a range: consecutive
        std::size_t* st = starts_.data() + b * (in + 1);
        std::fill(st, st + in + 1, std::size_t(0));
        for (std::size_t q = cs[c0]; q < cs[c1]; ++q)
            ++st[rows[q] + 1];
        st[0] = block_first_[b];
        for (std::size_t k = 0; k < in; ++k)
            st[k + 1] += st[k];
        // Fill through the starts of the next row, then shift them back: no second array.
        for (std::size_t c = c0; c < c1; ++c)
            for (std::size_t q = cs[c]; q < cs[c + 1]; ++q) {
                const std::size_t at = st[rows[q]]++;
                sample_[at] = static_cast<std::uint16_t>(c - c0);
                value_[at] = vals[q];
            }
        for (std::size_t k = in; k > 0; --k)
            st[k] = st[k - 1];
        st[0] = block_first_[b];
    }

    std::size_t block_columns(std::size_t b) const { return std::min(batch_.cols(), (b + 1) * block_) - b * block_; }

    // Asks for the entries of batch column j, soon to be read, when the batch is an index list:
    // a range's columns follow each other, and the hardware fetches them ahead by itself.
    void prefetch_column(std::size_t j) const
    {
        if (batch_.index_list() == nullptr)
            return;
        const sparse_matrix<T>& m = batch_.source();
        const std::size_t c = batch_.column(j), e0 = m.column_start(c);
        prefetch_entries(m.row_indices().data() + e0, m.values().data() + e0, m.column_start(c + 1) - e0);
    }

    // Rows [0, j1 - j0) of the tile [., hp] = (W X)^T for batch columns [j0, j1), from the
    // columns as stored: each sample's row is summed in registers from the rows of W^T its
    // entries pick.
    void forward_columns(std::size_t j0, std::size_t j1, std::size_t hp, T* tile) const
    {
        const sparse_matrix<T>& m = batch_.source();
        const std::size_t* cs = m.column_starts().data();
        const std::uint32_t* rows = m.row_indices().data();
        const T* vals = m.values().data();
        for (std::size_t j = j0; j < j1; ++j) {
            const std::size_t c = batch_.column(j), e0 = cs[c], ne = cs[c + 1] - e0;
            if (j + prefetch_ahead < j1)
                prefetch_column(j + prefetch_ahead);
            for_each_chunk<T>(0, hp, [&](auto R, std::size_t lane) {
                sum_rows<decltype(R)::value, false>(rows + e0, vals + e0, ne, Wt_.data(), hp, lane,
                                                    tile + (j - j0) * hp);
            });
        }
    }

    void tile_into_output(std::size_t j0, std::size_t j1, std::size_t hp, std::size_t out, const T* tile, T* Z) const
    {
        transpose(tile, hp, j1 - j0, out, Z + j0, batch_.cols());
    }

    // Block b's columns [s0, s1) of dZ, transposed into rows [s0, s1) of the tile; lanes
    // out..hp keep the zeros the forward pass wrote there.
    void gradient_into_tile(std::size_t b, std::size_t s0, std::size_t s1, std::size_t hp, std::size_t out, const T* dZ,
                            T* tile) const
    {
        transpose(dZ + b * block_ + s0, batch_.cols(), out, s1 - s0, tile + s0 * hp, hp);
    }

    // dW^T += the share of block b's samples [s0, s1) in dZ X^T, from the sorted entries: each
    // row of dW^T is summed in registers from the tile's rows of the samples in its entries.
    void backward_sorted(std::size_t b, std::size_t s0, std::size_t s1, std::size_t hp, const T* tile, T* dWt) const
    {
        const std::size_t in = in_;
        const std::size_t* st = starts_.data() + b * (in + 1);
        const bool whole = s0 == 0 && s1 == block_columns(b);
        for (std::size_t k = 0; k < in; ++k) {
            std::size_t e0 = st[k], e1 = st[k + 1];
            if (!whole) { // a row's entries are in sample order
                const std::uint16_t* first = sample_.data() + e0;
                const std::uint16_t* last = sample_.data() + e1;
                e0 = std::size_t(std::lower_bound(first, last, s0) - sample_.data());
                e1 = std::size_t(std::lower_bound(first, last, s1) - sample_.data());
            }
            if (e0 == e1)
                continue;
            for_each_chunk<T>(0, hp, [&](auto R, std::size_t lane) {
                sum_rows<decltype(R)::value, true>(sample_.data() + e0, value_.data() + e0, e1 - e0, tile, hp, lane,
                                                   dWt + k * hp);
            });
        }
    }

    // The same from the columns as they are stored: v * dZt[s, :] is added to the row of dW^T
    // of each entry (k, v) of sample s.
    void backward_columns(std::size_t b, std::size_t s0, std::size_t s1, std::size_t hp, const T* tile, T* dWt) const
    {
        const sparse_matrix<T>& m = batch_.source();
        const std::size_t* cs = m.column_starts().data();
        const std::uint32_t* rows = m.row_indices().data();
        const T* vals = m.values().data();
        const std::size_t j0 = b * block_;
        for (std::size_t s = s0; s < s1; ++s) {
            const std::size_t c = batch_.column(j0 + s), ne = cs[c + 1] - cs[c];
            if (s + prefetch_ahead < s1)
                prefetch_column(j0 + s + prefetch_ahead);
            for_each_chunk<T>(0, hp, [&](auto R, std::size_t lane) {
                scatter_rows<decltype(R)::value>(rows + cs[c], vals + cs[c], ne, tile + s * hp, dWt, hp, lane);
            });
        }
    }

    sparse_matrix<T> owned_;
    sparse_batch<T> batch_{owned_};
    bool bound_ = false;
    helper_thread* helper_ = nullptr;
    std::size_t in_ = 0, block_ = 16;
    std::weak_ptr<const char> seen_; // the matrix whose range [first, first + count) came last
    std::size_t seen_first_ = 0, seen_count_ = 0, seen_in_ = 0;
    bool sorted_ = false, use_sorted_ = false; // that range is sorted; the last batch's backward uses it
    bool two_threads_ = false;                 // the last batch's products run on the helper too
    aligned_buffer<T> Wt_, value_;
    std::vector<std::uint16_t> sample_;
    std::vector<std::size_t> starts_, block_first_;
    aligned_buffer<T> tile_[2], dWt_[2];
};

/// Z [out, n] = W [out, in] X for the columns of x, keeping nothing: the inference of a
/// const layer, which any number of threads may run at once, each with its own work buffer
/// (W^T padded to whole SIMD batches, then one tile). Each output is summed from the same
/// entries in the same order as sparse_products::forward sums it, so the bits are the same.
template <class T>
void sparse_infer(const sparse_batch<T>& x, const T* W, std::size_t out, std::size_t in, scratch<T>& work, T* Z)
{
    constexpr std::size_t L = xsimd::batch<T>::size;
    const std::size_t hp = (out + L - 1) / L * L, n = x.cols();
    const std::size_t block = std::clamp<std::size_t>(32768 / (hp * sizeof(T)) / 16 * 16, 16, 4096);
    work.resize(in * hp + block * hp);
    T* Wt = work.data();
    T* tile = Wt + in * hp;
    transpose(W, in, out, in, Wt, hp);
    for (std::size_t k = 0; k < in && hp != out; ++k) // the padding lanes sum to zeros no one reads
        std::fill(Wt + k * hp + out, Wt + (k + 1) * hp, T(0));
    const sparse_matrix<T>& m = x.source();
    const std::size_t* cs = m.column_starts().data();
    const std::uint32_t* rows = m.row_indices().data();
    const T* vals = m.values().data();
    for (std::size_t j0 = 0; j0 < n; j0 += block) {
        const std::size_t j1 = std::min(n, j0 + block);
        for (std::size_t j = j0; j < j1; ++j) {
            const std::size_t c = x.column(j), e0 = cs[c], ne = cs[c + 1] - e0;
            for_each_chunk<T>(0, hp, [&](auto R, std::size_t lane) {
                sum_rows<decltype(R)::value, false>(rows + e0, vals + e0, ne, Wt, hp, lane, tile + (j - j0) * hp);
            });
        }
        transpose(tile, hp, j1 - j0, out, Z + j0, n);
    }
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
