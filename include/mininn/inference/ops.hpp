// mininn: the operations of a frozen Model (model.hpp): an affine layer with its activation
// fused in, an activation alone, and softmax, each run on raw [rows, n] row-major buffers.
//
// An affine layer keeps its weights twice: W [out, in] for the BLAS product of wide batches,
// and W^T [in, hp] (hp: out rounded up to whole SIMD batches, the extra lanes zero) for the
// kernel of narrow ones, which sums the rows of W^T that a sample's non-zero inputs pick
// (detail/sparse_loops.hpp). Zero inputs, 80 % of an MNIST image and every ReLU that is off,
// cost nothing there.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <xtensor-blas/xblas.hpp>
#include <xtensor/xadapt.hpp>

#include "../core/errors.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"
#include "../detail/kernels.hpp"
#include "../detail/sparse_loops.hpp"
#include "../detail/transpose.hpp"
#include "../layers/activations.hpp"
#include "../layers/spec.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// The activations a frozen layer applies (identity: none).
enum class activation_kind { identity, sigmoid, tanh, relu, leaky_relu };

// f(policy) with the policy of kind a (alpha for LeakyReLU): one compiled kernel per kind.
template <class F>
decltype(auto) with_policy(activation_kind a, double alpha, F&& f)
{
    switch (a) {
    case activation_kind::sigmoid:
        return f(sigmoid_policy{});
    case activation_kind::tanh:
        return f(tanh_policy{});
    case activation_kind::relu:
    case activation_kind::leaky_relu:
        return f(leaky_relu_policy{alpha});
    case activation_kind::identity:
        break;
    }
    return f(identity_policy{});
}

// A Dense spec's in and out. Throws std::invalid_argument naming `at` when they are missing or
// not positive integers whose product (the weights) stays below 2^53.
inline std::pair<std::size_t, std::size_t> dense_sizes(const LayerSpec& l, const std::string& at)
{
    double in = 0, out = 0;
    for (const auto& [key, v] : l.attributes) {
        if (key == "in")
            in = v;
        else if (key == "out")
            out = v;
    }
    if (!(in >= 1 && out >= 1 && in == std::floor(in) && out == std::floor(out)))
        throw std::invalid_argument(cat(at, ": sizes in ", in, " and out ", out, " are not positive integers"));
    if (!(in * out < 9.0e15))
        throw std::invalid_argument(
            cat(at, ": sizes in ", in, " and out ", out, " make more weights than memory holds"));
    return {static_cast<std::size_t>(in), static_cast<std::size_t>(out)};
}

// Throws std::invalid_argument naming `at` and the tensor (as the spec l names it) when one of
// a layer's tensors holds a NaN or an infinity: the one-sample kernel skips zero inputs, so it
// would not meet one where BLAS would.
template <class T>
void check_finite(const std::vector<std::vector<T>>& tensors, const std::string& at, const LayerSpec& l)
{
    for (std::size_t k = 0; k < tensors.size(); ++k)
        for (std::size_t e = 0; e < tensors[k].size(); ++e)
            if (!std::isfinite(tensors[k][e]))
                throw std::invalid_argument(cat(at, ": ", k < l.tensors.size() ? l.tensors[k].name : cat("tensor ", k),
                                                " holds ", tensors[k][e], " at element ", e));
}

// The non-zeros of x[0, in): their indices into rows and values into values, which must have
// room for in entries (a vector store ends at most at the last input it read). NaN counts as
// non-zero.
// Returns how many there are.
template <class T>
std::size_t gather_nonzeros(const T* x, std::size_t in, std::uint32_t* rows, T* values)
{
    std::size_t ne = 0, k = 0;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) { // compressed in a register: fast on every AVX-512 core
        __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (; k + 16 <= in; k += 16) {
            const __m512 v = _mm512_loadu_ps(x + k);
            const __mmask16 m = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
            _mm512_storeu_ps(values + ne, _mm512_maskz_compress_ps(m, v));
            _mm512_storeu_si512(rows + ne, _mm512_maskz_compress_epi32(m, idx));
            ne += static_cast<std::size_t>(__builtin_popcount(m));
            idx = _mm512_add_epi32(idx, _mm512_set1_epi32(16));
        }
    } else {
        __m512i idx = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
        for (; k + 8 <= in; k += 8) {
            const __m512d v = _mm512_loadu_pd(x + k);
            const __mmask8 m = _mm512_cmp_pd_mask(v, _mm512_setzero_pd(), _CMP_NEQ_UQ);
            _mm512_storeu_pd(values + ne, _mm512_maskz_compress_pd(m, v));
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(rows + ne),
                                _mm512_cvtepi64_epi32(_mm512_maskz_compress_epi64(m, idx)));
            ne += static_cast<std::size_t>(__builtin_popcount(m));
            idx = _mm512_add_epi64(idx, _mm512_set1_epi64(8));
        }
    }
#elif defined(__AVX2__)
    if constexpr (std::is_same_v<T, float>) { // whole zero runs skipped, the rest bit by bit
        for (; k + 8 <= in; k += 8) {
            const __m256 v = _mm256_loadu_ps(x + k);
            auto m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ)));
            for (; m != 0; m &= m - 1) {
                const auto b = static_cast<unsigned>(__builtin_ctz(m));
                rows[ne] = static_cast<std::uint32_t>(k + b);
                values[ne++] = x[k + b];
            }
        }
    }
#endif
    for (; k < in; ++k) {
        rows[ne] = static_cast<std::uint32_t>(k);
        values[ne] = x[k];
        ne += x[k] != T(0);
    }
    return ne;
}

// Where one sample's inputs are: in = dense[0, in) (contiguous), or the entries of a sparse
// column.
template <class T>
struct sample_input {
    const T* dense = nullptr;
    const std::uint32_t* rows = nullptr; // sparse: the rows of its non-zeros, and their values
    const T* values = nullptr;
    std::size_t nonzeros = 0;
};

// One thread's memory for the narrow-batch kernel: the batch with its samples as rows, a
// sample's non-zeros, and one output tile.
template <class T>
struct affine_scratch {
    std::vector<std::uint32_t> rows;
    scratch<T> samples, values, tile;
};

template <class T>
struct frozen_affine {
    std::size_t in = 0, out = 0, hp = 0;
    matrix<T> W;   // [out, in]
    scratch<T> Wt; // [in, hp]
    scratch<T> b;  // [hp], zero past out
    activation_kind act = activation_kind::identity;
    double alpha = 0;

    frozen_affine(const matrix<T>& weights, const vector<T>& bias, activation_kind a, double leak)
        : in(weights.shape()[1]), out(weights.shape()[0]), W(weights), act(a), alpha(leak)
    {
        constexpr std::size_t L = xsimd::batch<T>::size;
        hp = (out + L - 1) / L * L;
        Wt.assign(in * hp, T(0));
        transpose(W.data(), in, out, in, Wt.data(), hp);
        b.assign(hp, T(0));
        std::copy(bias.begin(), bias.end(), b.begin());
    }

    // y (stride sy) = act(W x + b) for one sample x, from its non-zeros.
    void column(const sample_input<T>& x, T* y, std::size_t sy, affine_scratch<T>& s) const
    {
        const std::uint32_t* rows = x.rows;
        const T* values = x.values;
        std::size_t ne = x.nonzeros;
        if (x.dense != nullptr) {
            s.rows.resize(in);
            s.values.resize(in);
            ne = gather_nonzeros(x.dense, in, s.rows.data(), s.values.data());
            rows = s.rows.data();
            values = s.values.data();
        }
        s.tile.resize(hp);
        T* t = s.tile.data();
        for_each_chunk<T>(0, hp, [&](auto R, std::size_t lane) {
            sum_rows<decltype(R)::value, false>(rows, values, ne, Wt.data(), hp, lane, t);
        });
        with_policy(act, alpha, [&](const auto& pol) {
            map(t, b.data(), t, hp, [&pol](auto z, auto bias) { return pol.f(z + bias); });
        });
        for (std::size_t i = 0; i < out; ++i)
            y[i * sy] = t[i];
    }

    // Y [out, n] = act(W X + b) for a dense X [in, n], through BLAS.
    void wide(const T* X, std::size_t n, T* Y) const
    {
        const auto Xa = xt::adapt(X, in * n, xt::no_ownership(), std::array<std::size_t, 2>{in, n});
        auto Ya = xt::adapt(Y, out * n, xt::no_ownership(), std::array<std::size_t, 2>{out, n});
        xt::blas::gemm(W, Xa, Ya);
        with_policy(act, alpha, [&](const auto& pol) {
            for (std::size_t i = 0; i < out; ++i) {
                const T bi = b[i];
                map(Y + i * n, Y + i * n, n, [bi, &pol](auto z) { return pol.f(z + bi); });
            }
        });
    }
};

// A [k, n] buffer through an activation, in place.
template <class T>
void activate_rows(activation_kind a, double alpha, T* A, std::size_t size)
{
    with_policy(a, alpha, [&](const auto& pol) { map(A, A, size, [&pol](auto z) { return pol.f(z); }); });
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
