// mininn::detail: the elementwise passes of a training step, as xsimd loops over raw rows.
//
// xtensor expressions over 60000-column rows are within noise of these loops, but only when
// every rule is followed (noalias, row views, no broadcasts, no reducers in expressions); the
// loops make the fast path explicit, fuse passes (bias + activation, activation gradient +
// bias gradient, softmax + loss) and never allocate. Each kernel is written once as a generic
// lambda that runs on xsimd batches and then on the scalar tail.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <tuple>
#include <type_traits>

#include <xsimd/xsimd.hpp>

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

template <class T>
using batch = xsimd::batch<T>;

/// The instruction set and the lanes of this translation unit's kernels, e.g. "isa_avx512bw"
/// and 8 for double: what a benchmark should report beside its figures.
inline const char* simd_isa() noexcept
{
#define MININN_ISA_STR2(x) #x
#define MININN_ISA_STR(x) MININN_ISA_STR2(x)
    return MININN_ISA_STR(MININN_ISA);
#undef MININN_ISA_STR
#undef MININN_ISA_STR2
}
template <class T>
std::size_t simd_lanes() noexcept
{
    return batch<T>::size;
}

/// The scalar type of a kernel value: T for T, T for xsimd::batch<T, A>.
template <class V>
struct scalar_of {
    using type = V;
};
template <class T, class A>
struct scalar_of<xsimd::batch<T, A>> {
    using type = T;
};
template <class V>
using scalar_of_t = typename scalar_of<V>::type;

// Scalar twin of xsimd::select (which ADL finds for batches), so one kernel serves both.
template <class T>
T select(bool c, T a, T b)
{
    return c ? a : b;
}
/// y[j] = f(x[j]) for j < n; in place when x == y.
template <class T, class F>
void map(const T* x, T* y, std::size_t n, F f)
{
    constexpr std::size_t W = batch<T>::size;
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        f(batch<T>::load_unaligned(x + j)).store_unaligned(y + j);
    for (; j < n; ++j)
        y[j] = f(x[j]);
}

/// y[j] = f(x1[j], x2[j]); in place when y aliases an input at the same index.
template <class T, class F>
void map(const T* x1, const T* x2, T* y, std::size_t n, F f)
{
    constexpr std::size_t W = batch<T>::size;
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        f(batch<T>::load_unaligned(x1 + j), batch<T>::load_unaligned(x2 + j)).store_unaligned(y + j);
    for (; j < n; ++j)
        y[j] = f(x1[j], x2[j]);
}

/// y[j] = f(x1[j], x2[j], x3[j]); in place when y aliases an input at the same index.
template <class T, class F>
void map(const T* x1, const T* x2, const T* x3, T* y, std::size_t n, F f)
{
    constexpr std::size_t W = batch<T>::size;
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        f(batch<T>::load_unaligned(x1 + j), batch<T>::load_unaligned(x2 + j), batch<T>::load_unaligned(x3 + j))
            .store_unaligned(y + j);
    for (; j < n; ++j)
        y[j] = f(x1[j], x2[j], x3[j]);
}

/// f(g[j], a[j], b[j]...) for j < n, where f updates the state values it is given by
/// reference (a batch or a scalar): the loop of an optimizer over one parameter tensor.
template <class T, class F, class... S>
void update(std::size_t n, F f, const T* g, S*... state)
{
    constexpr std::size_t W = batch<T>::size;
    std::size_t j = 0;
    for (; j + W <= n; j += W) {
        auto values = std::make_tuple(batch<T>::load_unaligned(state + j)...);
        std::apply([&](auto&... v) { f(batch<T>::load_unaligned(g + j), v...); }, values);
        std::apply([&](auto&... v) { (v.store_unaligned(state + j), ...); }, values);
    }
    for (; j < n; ++j)
        f(g[j], state[j]...);
}

/// Like map(x1, x2, y, n, f), and also returns the sum of the values written.
template <class T, class F>
T map_sum(const T* x1, const T* x2, T* y, std::size_t n, F f)
{
    constexpr std::size_t W = batch<T>::size;
    batch<T> acc(T(0));
    std::size_t j = 0;
    for (; j + W <= n; j += W) {
        const auto v = f(batch<T>::load_unaligned(x1 + j), batch<T>::load_unaligned(x2 + j));
        v.store_unaligned(y + j);
        acc += v;
    }
    T total = xsimd::hadd(acc);
    for (; j < n; ++j) {
        y[j] = f(x1[j], x2[j]);
        total += y[j];
    }
    return total;
}

/// Sum over j < n of f(x1[j], x2[j]).
template <class T, class F>
T map_reduce(const T* x1, const T* x2, std::size_t n, F f)
{
    constexpr std::size_t W = batch<T>::size;
    batch<T> acc(T(0));
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        acc += f(batch<T>::load_unaligned(x1 + j), batch<T>::load_unaligned(x2 + j));
    T total = xsimd::hadd(acc);
    for (; j < n; ++j)
        total += f(x1[j], x2[j]);
    return total;
}

/// Sum of x[0..n).
template <class T>
T sum(const T* x, std::size_t n)
{
    constexpr std::size_t W = batch<T>::size;
    batch<T> acc(T(0));
    std::size_t j = 0;
    for (; j + W <= n; j += W)
        acc += batch<T>::load_unaligned(x + j);
    T total = xsimd::hadd(acc);
    for (; j < n; ++j)
        total += x[j];
    return total;
}

/// True when every x[j] is finite.
template <class T>
bool all_finite(const T* x, std::size_t n)
{
    // x - x is 0 for finite x and NaN for inf or NaN; summing keeps any NaN.
    constexpr std::size_t W = batch<T>::size;
    batch<T> acc(T(0));
    std::size_t j = 0;
    for (; j + W <= n; j += W) {
        const auto v = batch<T>::load_unaligned(x + j);
        acc += v - v;
    }
    T total = xsimd::hadd(acc);
    for (; j < n; ++j)
        total += x[j] - x[j];
    return total == T(0);
}

/// 1 / x to within an ulp or two, without a divide for batches: the hardware estimate (14
/// bits with AVX-512, 12 with AVX, 8 with NEON) sharpened by Newton steps r += r (1 - x r),
/// each doubling the correct bits. A vector divide takes 10-20 cycles per batch and stalls a
/// sweep that does little else.
template <class V>
V recip(V x)
{
    using T = scalar_of_t<V>;
    if constexpr (std::is_arithmetic_v<V>) {
        return T(1) / x;
    } else {
        constexpr bool bits14 = std::is_base_of_v<xsimd::avx512f, typename V::arch_type>;
        constexpr int steps = (sizeof(T) > 4 ? 2 : 1) + (bits14 ? 0 : 1);
        V r = xsimd::reciprocal(x);
        for (int s = 0; s < steps; ++s)
            r = xsimd::fma(r, xsimd::fnma(x, r, V(T(1))), r);
        return r;
    }
}

// Polynomials for e^r on |r| <= ln 2 / 2, lowest degree first: near-minimax fits
// (mpmath.chebyfit) of degree 11 for double, max error 3.2e-18 (the Taylor series needs
// degree 14 for that), and of degree 6 for float, max error 2.0e-9.
template <class T>
struct exp_poly;
template <>
struct exp_poly<double> {
    static constexpr double c[] = {1.0,
                                   1.0,
                                   0.5000000000000019,
                                   0.1666666666666668,
                                   0.0416666666664881,
                                   0.008333333333319601,
                                   0.0013888888952314775,
                                   0.00019841269890047113,
                                   2.4801485482328494e-05,
                                   2.755724091857897e-06,
                                   2.763263963904103e-07,
                                   2.5110037605963777e-08};
    // ln 2 in two parts, the first with its low 32 bits zero, so k ln 2 is exact for |k| < 2^20.
    static constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    static constexpr double flush = -708.0; // e^x is normal down to e^-708.39
};
template <>
struct exp_poly<float> {
    static constexpr float c[] = {1.0f, 1.0f, 0.5f, 0.16666415f, 0.04166635f, 0.008375126f, 0.0013941108f};
    static constexpr float ln2_hi = 0.69311523f, ln2_lo = 3.1946183e-05f; // hi: low 12 bits zero
    static constexpr float flush = -87.0f;                                // normal down to e^-87.33
};

/// -|x|, by setting the sign bit: one instruction where -abs(x) takes two.
template <class V>
V negative_abs(V x)
{
    if constexpr (std::is_arithmetic_v<V>)
        return -std::abs(x);
    else
        return x | V(scalar_of_t<V>(-0.0));
}

/// e^x for x <= 0 (NaN stays NaN), within an ulp or two; 0 below e^flush, by default e^-708
/// in double and e^-87 in float (a caller may flush higher, not lower), so never a denormal.
/// Divide-free (xsimd's double exp ends in a divide, which would bound a sweep of exps by the
/// divider) and short: e^x = 2^k e^r with k = round(x / ln 2), rounded by adding 1.5 * 2^52
/// (2^23 in float), which also leaves k in the low bits of the sum.
template <class V>
V exp_nonpositive(V x, scalar_of_t<V> flush = exp_poly<scalar_of_t<V>>::flush)
{
    using T = scalar_of_t<V>;
    if constexpr (std::is_arithmetic_v<V>) {
        return x < flush ? T(0) : std::exp(x);
    } else {
        using P = exp_poly<T>;
        constexpr int mantissa = std::numeric_limits<T>::digits - 1;
        const V shifter(T(1.5) * T(std::int64_t(1) << mantissa));
        const V t = xsimd::fma(x, V(T(1.4426950408889634)), shifter); // x / ln 2 + shifter
        const V k = t - shifter;
        V r = xsimd::fnma(k, V(P::ln2_hi), x);
        r = xsimd::fnma(k, V(P::ln2_lo), r);
        constexpr std::size_t deg = std::size(P::c) - 1;
        V p(P::c[deg]);
        for (std::size_t i = deg; i-- > 0;)
            p = xsimd::fma(p, r, V(P::c[i]));
#if defined(__AVX512F__)
        if constexpr (std::is_base_of_v<xsimd::avx512f, typename V::arch_type>) {
            // p 2^k in one instruction, zeroing the lanes below the flush point; "not less
            // than" is true for NaN, so NaN lanes keep their NaN.
            if constexpr (sizeof(T) == 8)
                return _mm512_maskz_scalef_pd(_mm512_cmp_pd_mask(x, V(flush), _CMP_NLT_UQ), p, k);
            else
                return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, V(flush), _CMP_NLT_UQ), p, k);
        }
#endif
        // 2^k from the bits of t: its low bits hold k, and the shifter's high bits shift out.
        // As above, NaN lanes are not "below" and keep their NaN.
        using I = xsimd::batch<std::conditional_t<sizeof(T) == 8, std::int64_t, std::int32_t>, typename V::arch_type>;
        const I bias(std::numeric_limits<T>::max_exponent - 1);
        const V scale = xsimd::bitwise_cast<V>((xsimd::bitwise_cast<I>(t) + bias) << mantissa);
        return select(!(x < V(flush)), p * scale, V(T(0)));
    }
}

// log(1 + f) = 2s + s R(s^2), s = f / (2 + f), for 1 + f in [sqrt(1/2), sqrt(2)): the
// minimax coefficients of R from fdlibm's log and logf, highest powers last.
template <class T>
struct log_poly;
template <>
struct log_poly<double> {
    static constexpr double lg[] = {6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
                                    2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
                                    1.479819860511658591e-01};
    static constexpr double ln2_hi = exp_poly<double>::ln2_hi, ln2_lo = exp_poly<double>::ln2_lo;
    static constexpr std::int64_t sqrt_half_bits = 0x3fe6a09e667f3bcd;
};
template <>
struct log_poly<float> {
    static constexpr float lg[] = {0.66666662693f, 0.40000972152f, 0.28498786688f, 0.24279078841f};
    static constexpr float ln2_hi = 6.9313812256e-01f, ln2_lo = 9.0580006145e-06f; // hi: low 12 bits zero
    static constexpr std::int32_t sqrt_half_bits = 0x3f3504f3;
};

/// The natural log of a positive normal x, within an ulp; +inf and NaN stay as they are. Zero,
/// negative and denormal inputs are outside its domain: the callers take logs of sums of
/// exponentials that are at least 1, and of probabilities floored at the smallest normal.
/// xsimd::log is not used because its integer selects do not compile with AVX-512BW at -O0.
/// x = 2^k m with m in [sqrt(1/2), sqrt(2)), found from the bits, and log x = k ln 2 + log m.
template <class V>
V log_normal(V x)
{
    using T = scalar_of_t<V>;
    if constexpr (std::is_arithmetic_v<V>) {
        return std::log(x);
    } else {
        using P = log_poly<T>;
        using Int = std::conditional_t<sizeof(T) == 8, std::int64_t, std::int32_t>;
        using I = xsimd::batch<Int, typename V::arch_type>;
        constexpr int mantissa = std::numeric_limits<T>::digits - 1;
        constexpr Int one_bits = Int(std::numeric_limits<T>::max_exponent - 1) << mantissa;
        // Adding 1 - sqrt(1/2) in the bits moves the exponent up exactly when m >= sqrt(2).
        const I ix = xsimd::bitwise_cast<I>(x) + I(one_bits - P::sqrt_half_bits);
        const I k = (ix >> mantissa) - I(Int(std::numeric_limits<T>::max_exponent - 1));
        const I mask((Int(1) << mantissa) - 1);
        const V f = xsimd::bitwise_cast<V>((ix & mask) + I(P::sqrt_half_bits)) - V(T(1));
        const V hfsq = V(T(0.5)) * f * f;
        const V s = f / (V(T(2)) + f);
        const V z = s * s, w = z * z;
        constexpr std::size_t deg = std::size(P::lg);
        // R = z (lg0 + w (lg2 + ...)) + w (lg1 + w (lg3 + ...)): the even and odd halves.
        V even(P::lg[(deg - 1) / 2 * 2]), odd(P::lg[deg / 2 * 2 - 1]);
        for (std::size_t i = (deg - 1) / 2 * 2; i >= 2; i -= 2)
            even = xsimd::fma(even, w, V(P::lg[i - 2]));
        for (std::size_t i = deg / 2 * 2 - 1; i >= 3; i -= 2)
            odd = xsimd::fma(odd, w, V(P::lg[i - 2]));
        const V R = z * even + w * odd;
        const V dk = xsimd::to_float(k);
        const V r = xsimd::fma(dk, V(P::ln2_hi), s * (hfsq + R) + dk * V(P::ln2_lo) - hfsq + f);
        return select(x < V(std::numeric_limits<T>::infinity()), r, x); // +inf and NaN as given
    }
}

/// tanh(x), within two ulps; NaN stays NaN. Below |x| = 0.625 an odd rational (double) or
/// polynomial (float) in x^2, Cephes' fits; above, 1 - 2e / (1 + e) with e = e^(-2|x|) <= 0.29,
/// where the errors of e and of the reciprocal shrink by 2e / (1 + e). Written here rather than taken from xsimd, whose tanh makes GCC 12
/// warn (in a function of xsimd's own that no pragma of ours reaches) under -march=native -Wall.
template <class V>
V tanh_kernel(V x)
{
    using T = scalar_of_t<V>;
    if constexpr (std::is_arithmetic_v<V>) {
        return std::tanh(x);
    } else {
        const V na = negative_abs(x), sign = x & V(T(-0.0)), a = -na; // sign: x's sign bit alone
        // Both branches take |x| and the sign goes on last, so tanh(-0) = -0.
        const V e = exp_nonpositive(na + na);
        const V big = xsimd::fnma(e + e, recip(V(T(1)) + e), V(T(1))); // 1 - 2e / (1 + e)
        const V z = a * a;
        V small;
        if constexpr (sizeof(T) == 8) {
            const V p = xsimd::fma(xsimd::fma(V(-9.64399179425052238628e-1), z, V(-9.92877231001918586564e1)), z,
                                   V(-1.61468768441708447952e3));
            const V q = xsimd::fma(xsimd::fma(z + V(1.12811678491632931402e2), z, V(2.23548839060100448583e3)), z,
                                   V(4.84406305325125486048e3));
            small = xsimd::fma(a * z, p / q, a);
        } else {
            V p(-5.70498872745e-3f);
            p = xsimd::fma(p, z, V(2.06390887954e-2f));
            p = xsimd::fma(p, z, V(-5.37397155531e-2f));
            p = xsimd::fma(p, z, V(1.33314422036e-1f));
            p = xsimd::fma(p, z, V(-3.33332819422e-1f));
            small = xsimd::fma(p * z, a, a);
        }
        return select(na > V(T(-0.625)), small, big) | sign;
    }
}

/// a[j] = z[j] + bias.
template <class T>
void add_bias_row(const T* z, T* a, std::size_t n, T bias)
{
    map(z, a, n, [bias](auto v) { return v + bias; });
}

/// Column-wise softmax of a row-major [K, n] block z (+ per-row bias) into p, max-shifted.
/// mx and s are length-n workspaces. In place when z == p.
template <class T>
void softmax_columns(const T* z, T* p, const T* bias, std::size_t K, std::size_t n, T* mx, T* s)
{
    const T b0 = bias ? bias[0] : T(0);
    add_bias_row(z, mx, n, b0);
    for (std::size_t i = 1; i < K; ++i) {
        const T bi = bias ? bias[i] : T(0);
        map(z + i * n, mx, mx, n, [bi](auto zi, auto m) { return xsimd::max(zi + bi, m); });
    }
    for (std::size_t j = 0; j < n; ++j)
        s[j] = T(0);
    for (std::size_t i = 0; i < K; ++i) {
        const T bi = bias ? bias[i] : T(0);
        T* pi = p + i * n;
        map(z + i * n, mx, pi, n, [bi](auto zi, auto m) { return exp_nonpositive(zi + bi - m); });
        map(pi, s, s, n, [](auto e, auto acc) { return acc + e; });
    }
    map(s, s, n, [](auto v) { return T(1) / v; });
    for (std::size_t i = 0; i < K; ++i)
        map(p + i * n, s, p + i * n, n, [](auto e, auto inv) { return e * inv; });
}

/// Column-wise log-softmax of a row-major [K, n] block z into y (not in place):
/// y = z - max - log(sum exp(z - max)), so a probability that would underflow to 0 still has
/// its finite log. mx and s are length-n workspaces.
template <class T>
void log_softmax_columns(const T* z, T* y, std::size_t K, std::size_t n, T* mx, T* s)
{
    std::copy(z, z + n, mx);
    for (std::size_t i = 1; i < K; ++i)
        map(z + i * n, mx, mx, n, [](auto zi, auto m) { return xsimd::max(zi, m); });
    std::fill(s, s + n, T(0));
    for (std::size_t i = 0; i < K; ++i) {
        map(z + i * n, mx, y + i * n, n, [](auto zi, auto m) { return exp_nonpositive(zi - m); });
        map(y + i * n, s, s, n, [](auto e, auto acc) { return acc + e; });
    }
    for (std::size_t j = 0; j < n; ++j)
        s[j] = std::log(s[j]); // s >= 1: the largest term is exp(0)
    // (z - max) - log s, not z - (max + log s): max + log s would round at max's scale
    for (std::size_t i = 0; i < K; ++i) {
        map(z + i * n, mx, y + i * n, n, [](auto zi, auto m) { return zi - m; });
        map(y + i * n, s, y + i * n, n, [](auto d, auto l) { return d - l; });
    }
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
