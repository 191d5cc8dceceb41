// mininn::detail: the elementwise passes of a training step, as xsimd loops over raw rows.
//
// xtensor expressions over 60000-column rows are within noise of these loops, but only when
// every rule is followed (noalias, row views, no broadcasts, no reducers in expressions); the
// loops make the fast path explicit, fuse passes (bias + activation, activation gradient +
// bias gradient, softmax + loss) and never allocate. Each kernel is written once as a generic
// lambda that runs on xsimd batches and then on the scalar tail.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace mininn::detail {

template <class T>
using batch = xsimd::batch<T>;

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

/// e^x for x <= 0 (NaN stays NaN), within an ulp or two; 0 below e^-708 in double. xsimd's
/// double exp ends in a divide, which would bound a sweep of exps by the divider; here e^x =
/// 2^k e^r with |r| <= ln 2 / 2 and e^r from its Taylor series to r^13 (error below 1e-17).
template <class V>
V exp_nonpositive(V x)
{
    using T = scalar_of_t<V>;
    if constexpr (std::is_arithmetic_v<V>) {
        return std::exp(x);
    } else if constexpr (sizeof(T) == 4) {
        return xsimd::exp(x);
    } else {
        const V k = xsimd::nearbyint(x * V(1.4426950408889634)); // x / ln 2
        V r = xsimd::fnma(k, V(6.93147180369123816490e-01), x);  // ln 2 in two parts, so k ln 2 is exact
        r = xsimd::fnma(k, V(1.90821492927058770002e-10), r);
        V p(1.0 / 6227020800.0); // 1/13!
        for (const double f :
             {479001600.0, 39916800.0, 3628800.0, 362880.0, 40320.0, 5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0})
            p = xsimd::fma(p, r, V(1.0 / f));
        using I = xsimd::batch<std::int64_t, typename V::arch_type>;
        const V scale = xsimd::bitwise_cast<V>((xsimd::to_int(k) + I(1023)) << 52); // 2^k
        return select(x < V(-708.0), V(0.0), p * scale);
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
        map(z + i * n, mx, pi, n, [bi](auto zi, auto m) { return xsimd::exp(zi + bi - m); });
        map(pi, s, s, n, [](auto e, auto acc) { return acc + e; });
    }
    map(s, s, n, [](auto v) { return T(1) / v; });
    for (std::size_t i = 0; i < K; ++i)
        map(p + i * n, s, p + i * n, n, [](auto e, auto inv) { return e * inv; });
}

} // namespace mininn::detail
