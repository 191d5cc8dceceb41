// mininn: tensor types, the samples-are-columns convention, and input checks shared by layers.
//
// A batch of n samples with d features is a row-major [d, n] matrix: one column per sample.
// Weights are [out, in], so a layer computes Z = W X + b exactly as written in the math.
#pragma once

#include "config.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xsimd/memory/xsimd_aligned_allocator.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xtensor.hpp>

#include "errors.hpp"

namespace mininn {
inline namespace MININN_ISA {

template <class T>
using matrix = xt::xtensor<T, 2>;
template <class T>
using vector = xt::xtensor<T, 1>;
/// Class indices, one per sample (column).
using label_vector = xt::xtensor<std::size_t, 1>;
/// Memory a layer's infer() may resize and use as it likes (SIMD-aligned); the caller owns it.
template <class T>
using scratch = std::vector<T, xsimd::aligned_allocator<T>>;

/// "no layer index": a layer used on its own, outside a Network.
inline constexpr std::size_t standalone = std::numeric_limits<std::size_t>::max();

namespace detail {

inline std::string layer_label(std::size_t index, const std::string& name)
{
    return index == standalone ? name : cat("layer ", index, " (", name, ")");
}

/// Throws shape_error unless x is 2-D with `rows` rows (rows == 0 accepts any row count),
/// naming the layer: its name is built only for the message, never on a step that passes.
template <class E, class Layer>
void check_input(const E& x, std::size_t rows, std::size_t index, const Layer& layer)
{
    const auto& shape = x.shape();
    const bool ok = x.dimension() == 2 && (rows == 0 || shape[0] == rows) && shape[1] > 0;
    if (ok)
        return;
    const std::string expected = rows == 0 ? "[k, n]" : cat("[", rows, ", n]");
    throw shape_error(cat(layer_label(index, layer.name()), ": expected input ", expected,
                          " with n >= 1 (samples are columns), got ", shape_str(shape)));
}

/// Throws std::logic_error when `out` is still empty (backward() before any forward()), and
/// shape_error unless dY has the shape of `out`, the output of the last forward, naming the layer.
template <class T, class Layer>
void check_gradient(const matrix<T>& dY, const matrix<T>& out, std::size_t index, const Layer& layer)
{
    if (out.size() == 0)
        throw std::logic_error(cat(layer_label(index, layer.name()), ": backward() called before forward()"));
    if (dY.shape() != out.shape())
        throw shape_error(cat(layer_label(index, layer.name()), ": expected gradient ", shape_str(out.shape()),
                              " (samples are columns), got ", shape_str(dY.shape())));
}

/// Resizes m to [rows, cols] only when its shape differs, so steady-state steps reuse memory.
template <class T>
void ensure_shape(matrix<T>& m, std::size_t rows, std::size_t cols)
{
    if (m.shape()[0] != rows || m.shape()[1] != cols)
        m.resize({rows, cols});
}
template <class T>
void ensure_shape(vector<T>& v, std::size_t n)
{
    if (v.shape()[0] != n)
        v.resize({n});
}

// arg[j] = the row of the largest entry of column j of out [K, n] (the first of equals);
// best [n] is a workspace that ends holding those entries.
template <class T>
void argmax_columns(const matrix<T>& out, vector<T>& best, label_vector& arg)
{
    const std::size_t K = out.shape()[0], n = out.shape()[1];
    ensure_shape(best, n);
    ensure_shape(arg, n);
    std::copy_n(out.data(), n, best.data());
    std::fill(arg.begin(), arg.end(), std::size_t(0));
    for (std::size_t i = 1; i < K; ++i) {
        const T* row = out.data() + i * n;
        for (std::size_t j = 0; j < n; ++j)
            if (row[j] > best(j)) {
                best(j) = row[j];
                arg(j) = i;
            }
    }
}

/// Keeps a reference to the caller's matrix when the input already is one, and otherwise
/// evaluates the expression (a view, a lazy expression, another layout) into a buffer that
/// is reused while the shape stays the same.
template <class T>
class input_binding {
public:
    // A copied layer must not point at its original's input: it forgets the binding, so
    // backward() before the copy's own forward() is reported instead of reading stale data.
    input_binding() = default;
    input_binding(const input_binding&) {}
    input_binding& operator=(const input_binding&)
    {
        ptr_ = nullptr;
        return *this;
    }

    /// avoid: a buffer the caller is about to write (its own output). An input that is that
    /// very matrix is copied first, so the pass never reads what it overwrites.
    template <class E>
    const matrix<T>& bind(E&& x, const matrix<T>* avoid = nullptr)
    {
        using D = std::decay_t<E>;
        if constexpr (std::is_same_v<D, matrix<T>> && std::is_lvalue_reference_v<E>) {
            if (&x != avoid) {
                ptr_ = &x;
                return x;
            }
            ensure_shape(copy_, x.shape()[0], x.shape()[1]);
            xt::noalias(copy_) = x;
            ptr_ = &copy_;
        } else if constexpr (std::is_same_v<D, matrix<T>>) {
            copy_ = std::move(x); // a temporary: keep it alive for backward()
            ptr_ = &copy_;
        } else {
            const auto& s = x.shape();
            ensure_shape(copy_, static_cast<std::size_t>(s[0]), static_cast<std::size_t>(s[1]));
            xt::noalias(copy_) = x;
            ptr_ = &copy_;
        }
        return *ptr_;
    }
    const matrix<T>* get() const noexcept { return ptr_; }
    void forget() noexcept { ptr_ = nullptr; }

private:
    matrix<T> copy_;
    const matrix<T>* ptr_ = nullptr;
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
