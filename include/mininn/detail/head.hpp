// mininn::detail: the fused classifier head of a training step.
//
// For  A = f(Z + b1),  S = W2 A + b2,  P = softmax(S),  L = -(1/n) sum Y log P  with few
// classes, the products with W2 are too thin for BLAS to run near its peak: each one streams
// the whole [h, n] hidden matrix through memory for a handful of flops per element. This
// kernel does everything between the two big GEMMs in one sweep over column blocks, with
// the block's hidden activations held in L1:
//
//   forward   A = f(Z + b1), S = W2 A + b2, P = softmax(S), the loss
//   backward  dS = (P - Y) / n, dW2 = dS A^T, db2 = sum dS,
//             dZ = (W2^T dS) * f'(A), db1 = sum dZ, written over Z
//
// so the hidden matrix is read once and written once, and A is never written out: dW2 is
// taken once per chunk of tiles from a buffer that stays in cache.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "kernels.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// Scratch space of the fused head, sized on first use and reused while shapes stay the same:
/// the padded W2^T and b2, one set of accumulators per chunk of columns, and each thread's
/// chunk buffers.
template <class T>
struct head_workspace {
    std::vector<T, xsimd::aligned_allocator<T>> w2t, b2, partial, scratch;
};


/// The largest class count the fused head handles; wider outputs go through BLAS.
inline constexpr std::size_t fused_head_max_classes = 16;

template <class V>
V load_lanes(const scalar_of_t<V>* p)
{
    if constexpr (std::is_arithmetic_v<V>)
        return *p;
    else
        return V::load_unaligned(p);
}

template <class V>
void store_lanes(scalar_of_t<V>* p, V v)
{
    if constexpr (std::is_arithmetic_v<V>)
        *p = v;
    else
        v.store_unaligned(p);
}


// The labels of a column block, class by class as 0/1 values. P is const I* for class indices
// [n] (I integral) or const T* for one-hot columns [c, n].
template <class V, class P>
class block_labels {
    using T = scalar_of_t<V>;
    static constexpr bool indices = std::is_integral_v<std::remove_cv_t<std::remove_pointer_t<P>>>;

public:
    block_labels() = default;
    block_labels(P labels, std::size_t n, std::size_t j) : labels_(labels), n_(n), j_(j)
    {
        if constexpr (indices && std::is_arithmetic_v<V>) {
            y_ = static_cast<T>(labels[j]);
        } else if constexpr (indices) {
            alignas(64) T tmp[V::size];
            for (std::size_t l = 0; l < V::size; ++l)
                tmp[l] = static_cast<T>(labels[j + l]);
            y_ = V::load_aligned(tmp);
        }
    }
    V operator()(std::size_t k) const
    {
        if constexpr (indices)
            return select(y_ == V(T(k)), V(T(1)), V(T(0)));
        else
            return load_lanes<V>(labels_ + k * n_ + j_);
    }

private:
    P labels_{};
    std::size_t n_ = 0, j_ = 0;
    V y_{};
};

// Probabilities below e^this are flushed to 0 so that no denormal reaches the products (a
// denormal operand costs a hundred cycles); the loss does not use them. -65.5 in float,
// -531 in double.
template <class T>
inline const T head_flush_exponent = T(0.75) * std::log(std::numeric_limits<T>::min());

// Prefetch distances, in tiles. A tile reads a short run of each of its h rows of Z; the
// hardware prefetcher does not keep up with dozens of such streams, and without prefetching
// the sweep ran 2-3x slower here. Z's runs are fetched into L2 three tiles ahead and into L1,
// for writing, one tile ahead (2-3 % faster than L1 two tiles ahead: L1 then held three
// tiles of Z); P's rows, which are only written, go to L1 two tiles ahead.
inline constexpr std::size_t head_prefetch_l2_tiles = 3, head_prefetch_tiles = 2;

// One tile of NB blocks of V::size columns (one column for a scalar V) starting at column j.
// C is the class count rounded up; classes c..C have zero weights and bias -inf, so they drop
// out of the softmax. Writes the tile's activations to a [h] rows of stride as (NB used) and
// its output gradients to d [NB][C], which head_dw then turns into dW2; accumulates db1 [h]
// and db2 per lane, the latter for the c real classes only, so the scalar tail can pass the
// caller's [c] output. Returns the tile's loss. Every step runs over all NB blocks
// together: the blocks' dependency chains (max, exp, sum, reciprocal) are independent, and
// side by side they keep both vector ports busy where one block at a time would wait on
// latency.
template <class V, std::size_t C, std::size_t NB, std::size_t R, class Policy, class L>
V head_tile(const Policy& pol, std::size_t j, std::size_t c, std::size_t h, std::size_t n, scalar_of_t<V>* Z,
            const scalar_of_t<V>* b1, const scalar_of_t<V>* w2t, const scalar_of_t<V>* b2, L labels,
            scalar_of_t<V> inv_n, scalar_of_t<V>* P, V* a, std::size_t as, V* d, V* db1, V* db2)
{
    static_assert(NB % R == 0, "the tile must hold whole groups of R blocks");
    static_assert(C % 2 == 0, "class counts are padded to even");
    using T = scalar_of_t<V>;
    constexpr std::size_t W = sizeof(V) / sizeof(T), line = 64 / sizeof(T);
    for (std::size_t i = 0; i < h; ++i) {
        T* z = Z + i * n + j;
        if constexpr (W > 1) {
            for (std::size_t off = 0; off < NB * W; off += line) {
                __builtin_prefetch(z + head_prefetch_l2_tiles * NB * W + off, 0, 2);
                __builtin_prefetch(z + NB * W + off, 1);
            }
            if (i < c) // P's rows are written below; without this each store waits for its line
                for (std::size_t off = 0; off < NB * W; off += line)
                    __builtin_prefetch(P + i * n + j + head_prefetch_tiles * NB * W + off, 1);
        }
        for (std::size_t b = 0; b < NB; ++b)
            a[i * as + b] = pol.f(load_lanes<V>(z + b * W) + V(b1[i])); // A = f(Z + b1)
    }
    // S = W2 A + b2, R blocks at a time so that each weight loaded serves R FMAs.
    for (std::size_t b0 = 0; b0 < NB; b0 += R) {
        V s[R][C];
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t k = 0; k < C; ++k)
                s[r][k] = V(b2[k]);
        for (std::size_t i = 0; i < h; ++i)
            for (std::size_t k = 0; k < C; ++k) {
                const V w(w2t[i * C + k]);
                for (std::size_t r = 0; r < R; ++r)
                    s[r][k] = xsimd::fma(w, a[i * as + b0 + r], s[r][k]);
            }
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t k = 0; k < C; ++k)
                d[(b0 + r) * C + k] = s[r][k];
    }
    // Softmax and loss: e_k = e^(s_k - max), log p_k = s_k - max - log sum_k e_k.
    const T cut = head_flush_exponent<T>;
    V mx[NB], sum[NB], ys[NB], yz[NB];
    block_labels<V, L> y[NB];
    for (std::size_t b = 0; b < NB; ++b) {
        y[b] = block_labels<V, L>(labels, n, j + b * W);
        mx[b] = d[b * C];
        sum[b] = ys[b] = yz[b] = V(T(0));
    }
    for (std::size_t k = 1; k < C; ++k)
        for (std::size_t b = 0; b < NB; ++b)
            mx[b] = xsimd::max(mx[b], d[b * C + k]);
    for (std::size_t k = 0; k < C; ++k)
        for (std::size_t b = 0; b < NB; ++b) {
            const V sk = d[b * C + k] - mx[b];
            const V e = exp_nonpositive(sk, cut);
            d[b * C + k] = e;
            sum[b] += e;
            if (k < c) {
                const V yk = y[b](k);
                ys[b] += yk;
                yz[b] = xsimd::fma(yk, sk, yz[b]);
            }
        }
    V loss(T(0));
    for (std::size_t b = 0; b < NB; ++b) {
        loss += ys[b] * log_normal(sum[b]) - yz[b]; // -sum_k y_k log p_k
        sum[b] = recip(sum[b]);
    }
    for (std::size_t k = 0; k < C; ++k) {
        V dbk(T(0));
        for (std::size_t b = 0; b < NB; ++b) {
            V dk(T(0));
            if (k < c) {
                const V p = d[b * C + k] * sum[b];
                store_lanes(P + k * n + j + b * W, p);
                dk = (p - y[b](k)) * V(inv_n); // dL/dS = (P - Y) / n
                dbk += dk;
            }
            d[b * C + k] = dk;
        }
        if (k < c)
            db2[k] += dbk;
    }
    // dZ = (W2^T dS) * f'(A), written over Z.
    for (std::size_t b0 = 0; b0 < NB; b0 += R) {
        V dk[R][C];
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t k = 0; k < C; ++k)
                dk[r][k] = d[(b0 + r) * C + k];
        for (std::size_t i = 0; i < h; ++i) {
            V da[R];
            for (std::size_t r = 0; r < R; ++r)
                da[r] = V(T(0));
            for (std::size_t k = 0; k < C; ++k) {
                const V w(w2t[i * C + k]);
                for (std::size_t r = 0; r < R; ++r)
                    da[r] = xsimd::fma(w, dk[r][k], da[r]); // dA = W2^T dS
            }
            V dzs(T(0));
            for (std::size_t r = 0; r < R; ++r) {
                const std::size_t b = b0 + r;
                const V dz = da[r] * pol.df(a[i * as + b]); // dZ = dA * f'(A)
                store_lanes(Z + i * n + j + b * W, dz);
                dzs += dz;
            }
            db1[i] += dzs;
        }
    }
    return loss;
}

// dW2 += dS A^T over nb blocks: a [h] rows of stride as (nb used), d [nb][C], dW [h][C] per
// lane. Two hidden units and up to ten classes at a time are held in registers, so each load
// serves several FMAs and each accumulator in memory is updated once per call: run once per
// chunk of tiles rather than per tile, this keeps the per-lane accumulators (40 KB with 64
// hidden units and 10 classes) out of L1 while the tiles stream through it.
template <class V, std::size_t C>
void head_dw(const V* a, std::size_t as, const V* d, std::size_t nb, std::size_t h, V* dW)
{
    constexpr std::size_t KB = C <= 10 ? C : C / 2;
    for (std::size_t k0 = 0; k0 < C; k0 += KB) {
        for (std::size_t i = 0; i < h; i += 2) {
            const std::size_t i1 = i + 1 < h ? i + 1 : i; // an odd last row is done twice, kept once
            V acc0[KB], acc1[KB];
            for (std::size_t k = 0; k < KB; ++k)
                acc0[k] = acc1[k] = V(scalar_of_t<V>(0));
            for (std::size_t blk = 0; blk < nb; ++blk) {
                const V a0 = a[i * as + blk], a1 = a[i1 * as + blk];
                for (std::size_t k = 0; k < KB; ++k) {
                    const V dk = d[blk * C + k0 + k];
                    acc0[k] = xsimd::fma(dk, a0, acc0[k]); // dW2 += dS A^T
                    acc1[k] = xsimd::fma(dk, a1, acc1[k]);
                }
            }
            for (std::size_t k = 0; k < KB; ++k) {
                dW[i * C + k0 + k] += acc0[k];
                if (i1 != i)
                    dW[i1 * C + k0 + k] += acc1[k];
            }
        }
    }
}

// Blocks of V::size columns per tile (with AVX-512: 64 columns in float, 32 in double).
inline constexpr std::size_t head_tile_blocks = 4;

// Tiles per chunk: head_dw runs once per chunk. With 64 hidden units and 10 classes the
// chunk's activations (128 KB) stay in L2 and its output gradients (20 KB) in L1.
inline constexpr std::size_t head_chunk_tiles = 8;

// Per-lane accumulators of one range of columns: dW [h][C], db1 [h], db2 [C] and the loss;
// and a thread's buffers for a chunk of tiles: activations [h][chunk_tiles * NB] and output
// gradients [chunk_tiles * NB][C].
template <class T, std::size_t C, std::size_t NB>
struct head_share_layout {
    static constexpr std::size_t blocks = head_chunk_tiles * NB;
    static std::size_t accumulators(std::size_t h) { return (h * C + h + C + 1) * batch<T>::size; }
    static std::size_t scratch(std::size_t h) { return (h + C) * blocks * batch<T>::size; }
};

// Columns [j0, j1), a multiple of the batch width, added to the accumulators acc.
template <std::size_t C, std::size_t NB, class T, class Policy, class L>
void head_share(const Policy& pol, T* Z, std::size_t h, std::size_t n, const T* b1, const T* w2t, const T* b2,
                std::size_t c, L labels, T* P, std::size_t j0, std::size_t j1, T* acc, T* scratch)
{
    using B = batch<T>;
    constexpr std::size_t W = B::size, R = C <= 10 ? 2 : 1, blocks = head_share_layout<T, C, NB>::blocks;
    B* dW = reinterpret_cast<B*>(acc);
    B* db1 = dW + h * C;
    B* db2 = db1 + h;
    B* loss = db2 + C;
    B* a = reinterpret_cast<B*>(scratch);
    B* d = a + h * blocks;
    const T inv_n = T(1) / static_cast<T>(n);
    std::size_t j = j0;
    while (j + W <= j1) {
        // A chunk: whole tiles, then single blocks at the end of the range, then dW2 for all.
        std::size_t nb = 0;
        for (; nb + NB <= blocks && j + NB * W <= j1; nb += NB, j += NB * W)
            *loss += head_tile<B, C, NB, R>(pol, j, c, h, n, Z, b1, w2t, b2, labels, inv_n, P, a + nb, blocks,
                                            d + nb * C, db1, db2);
        for (; nb < blocks && j + W <= j1 && j + NB * W > j1; ++nb, j += W)
            *loss += head_tile<B, C, 1, 1>(pol, j, c, h, n, Z, b1, w2t, b2, labels, inv_n, P, a + nb, blocks,
                                           d + nb * C, db1, db2);
        head_dw<B, C>(a, blocks, d, nb, h, dW);
    }
}

template <std::size_t C, class T, class Policy, class L, class Runner>
T fused_head_c(const Policy& pol, T* Z, std::size_t h, std::size_t n, const T* b1, const T* W2, const T* b2,
               std::size_t c, L labels, T* P, T* dW2, T* db2, T* db1, head_workspace<T>& ws, Runner* runner)
{
    using B = batch<T>;
    constexpr std::size_t NB = head_tile_blocks, W = B::size, tile = NB * W;
    using layout = head_share_layout<T, C, NB>;
    ws.w2t.assign(h * C, T(0));
    ws.b2.assign(C, -std::numeric_limits<T>::infinity());
    for (std::size_t k = 0; k < c; ++k) {
        ws.b2[k] = b2[k];
        for (std::size_t i = 0; i < h; ++i)
            ws.w2t[i * C + k] = W2[k * h + i];
    }
    // The columns are cut into chunks whose bounds depend on n alone, each summed into its own
    // accumulators, which are then added in chunk order: the result is the same bit for bit
    // whichever thread took which chunk, and with one thread or two. With two, each takes the
    // next chunk from a shared counter until none are left, so a thread that starts late or
    // shares its core just does fewer of them.
    const std::size_t vector_end = n / W * W, tiled_end = n / tile * tile, chunk = 32 * tile;
    const std::size_t chunks = (tiled_end + chunk - 1) / chunk, accs = layout::accumulators(h);
    ws.partial.resize((chunks + 1) * accs); // the last set for the columns after the tiles
    ws.scratch.resize(2 * layout::scratch(h));
    std::atomic<std::size_t> next{0};
    auto run = [&](std::size_t part) {
        T* scratch = ws.scratch.data() + part * layout::scratch(h);
        for (std::size_t k = next.fetch_add(1); k < chunks; k = next.fetch_add(1)) {
            T* acc = ws.partial.data() + k * accs;
            std::fill_n(acc, accs, T(0));
            head_share<C, NB>(pol, Z, h, n, b1, ws.w2t.data(), ws.b2.data(), c, labels, P, k * chunk,
                              std::min((k + 1) * chunk, tiled_end), acc, scratch);
        }
    };
    if (runner != nullptr)
        runner->run_on_both(run);
    else
        run(0);
    T* tail = ws.partial.data() + chunks * accs;
    std::fill_n(tail, accs, T(0));
    head_share<C, NB>(pol, Z, h, n, b1, ws.w2t.data(), ws.b2.data(), c, labels, P, tiled_end, vector_end, tail,
                      ws.scratch.data());
    B* acc0 = reinterpret_cast<B*>(ws.partial.data());
    for (std::size_t k = 1; k <= chunks; ++k) {
        const B* acck = reinterpret_cast<const B*>(ws.partial.data() + k * accs);
        for (std::size_t i = 0; i < accs / W; ++i)
            acc0[i] += acck[i];
    }
    auto total = [&](std::size_t idx) { return xsimd::hadd(acc0[idx]); };
    for (std::size_t k = 0; k < c; ++k) {
        db2[k] = total(h * C + h + k);
        for (std::size_t i = 0; i < h; ++i)
            dW2[k * h + i] = total(i * C + k);
    }
    for (std::size_t i = 0; i < h; ++i)
        db1[i] = total(h * C + i);
    T loss = total(h * C + h + C);
    // The last n % W columns, one at a time: db1 and db2 straight into the outputs, dW2 in
    // [h][C] order in scratch space, added once.
    if (vector_end == n)
        return loss;
    T* dWs = ws.scratch.data();
    T* as = dWs + h * C;
    T* ds = as + h;
    std::fill_n(dWs, h * C, T(0));
    const T inv_n = T(1) / static_cast<T>(n);
    for (std::size_t j = vector_end; j < n; ++j) {
        loss += head_tile<T, C, 1, 1>(pol, j, c, h, n, Z, b1, ws.w2t.data(), ws.b2.data(), labels, inv_n, P, as, 1, ds,
                                      db1, db2);
        head_dw<T, C>(as, 1, ds, 1, h, dWs);
    }
    for (std::size_t k = 0; k < c; ++k)
        for (std::size_t i = 0; i < h; ++i)
            dW2[k * h + i] += dWs[i * C + k];
    return loss;
}

/// The fused head over Z [h, n] (W1 X, without its bias), for 1 <= c <= fused_head_max_classes
/// and n >= 1: writes P [c, n], dW2 [c, h], db2 [c] and db1 [h], overwrites Z with
/// dZ = dL/d(W1 X + b1), and returns the summed loss -sum_j sum_k Y[k, j] log P[k, j] (the
/// caller divides by n). labels points to n class indices in [0, c) or to one-hot columns
/// [c, n]. With a runner (a helper_thread), two threads share the column tiles. Checks nothing.
template <class T, class Policy, class L, class Runner>
T fused_head(const Policy& pol, T* Z, std::size_t h, std::size_t n, const T* b1, const T* W2, const T* b2,
             std::size_t c, L labels, T* P, T* dW2, T* db2, T* db1, head_workspace<T>& ws, Runner* runner)
{
    // Each padded class count is a separate unrolled kernel that every consumer compiles, so
    // there are only three: c runs as the next one up, with empty classes.
    if (c <= 4)
        return fused_head_c<4>(pol, Z, h, n, b1, W2, b2, c, labels, P, dW2, db2, db1, ws, runner);
    if (c <= 10)
        return fused_head_c<10>(pol, Z, h, n, b1, W2, b2, c, labels, P, dW2, db2, db1, ws, runner);
    return fused_head_c<16>(pol, Z, h, n, b1, W2, b2, c, labels, P, dW2, db2, db1, ws, runner);
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
