// mininn: the window geometry of convolution and pooling, and the im2col / col2im copies that
// put a convolution on one GEMM.
//
// Samples are columns, so a batch of images [C·H·W, n] is laid out (c, h, w, j) with the sample
// j fastest: each pixel of every image of the batch is one contiguous run of n values. im2col
// gives the patch matrix [C·kh·kw, Ho·Wo·m] for the m samples j0 .. j0 + m with column
// (p, j) = p·m + j, so that W [Cout, C·kh·kw] times it is [Cout, Ho·Wo·m], which for m = n is
// already the output batch [Cout·Ho·Wo, n]: no transpose, and every copy is a run of m values.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>

#include <xtensor-blas/xblas.hpp>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// A kh × kw window moved by (sh, sw) over an image of `in`, padded by (ph, pw) on each side.
struct window2d {
    Shape in;
    std::size_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;

    std::size_t out_h() const noexcept { return (in.height + 2 * ph - kh) / sh + 1; }
    std::size_t out_w() const noexcept { return (in.width + 2 * pw - kw) / sw + 1; }
    std::size_t positions() const noexcept { return out_h() * out_w(); }
    std::size_t patch() const noexcept { return in.channels * kh * kw; }
};

// Checks a window for the layer `what` ("Conv2D", "MaxPool2D") and returns it. Throws
// std::invalid_argument naming the layer for an empty image or window, a zero stride, or a
// padded image smaller than the window; pad_at_most_half bounds the padding as PyTorch's pools
// do (at most half the window, so every window holds a real pixel).
inline window2d make_window(const char* what, const Shape& in, std::size_t k, std::size_t s, std::size_t p,
                            bool pad_at_most_half = false)
{
    if (in.channels == 0 || in.height == 0 || in.width == 0)
        throw std::invalid_argument(cat(what, ": the input image must be channels × height × width, all positive, got ",
                                        in.channels, "×", in.height, "×", in.width));
    if (k == 0 || s == 0)
        throw std::invalid_argument(cat(what, ": kernel and stride must be positive, got kernel ", k, ", stride ", s));
    if (pad_at_most_half && 2 * p > k)
        throw std::invalid_argument(cat(what, ": padding ", p, " is more than half the kernel ", k));
    if (in.height + 2 * p < k || in.width + 2 * p < k)
        throw std::invalid_argument(
            cat(what, ": a ", k, "×", k, " window does not fit the image ", in.str(), " padded by ", p));
    return {in, k, k, s, s, p, p};
}

// The range [lo, hi) of output positions o whose input index o·s + k - p falls in [0, size).
inline void valid_range(std::size_t outs, std::size_t s, std::size_t k, std::size_t p, std::size_t size,
                        std::size_t& lo, std::size_t& hi) noexcept
{
    lo = k >= p ? 0 : (p - k + s - 1) / s;
    // o·s + k - p < size  <=>  o·s < size + p - k
    hi = size + p <= k ? 0 : std::min(outs, (size + p - k + s - 1) / s);
    lo = std::min(lo, hi);
}

// cols [patch, positions·m] = the patches of columns j0 .. j0 + m of X [C·H·W, n].
template <class T>
void im2col(const window2d& g, const T* X, std::size_t n, std::size_t j0, std::size_t m, T* cols)
{
    const std::size_t H = g.in.height, W = g.in.width, Ho = g.out_h(), Wo = g.out_w();
    const std::size_t row = Ho * Wo * m;
    for (std::size_t c = 0; c < g.in.channels; ++c)
        for (std::size_t ki = 0; ki < g.kh; ++ki)
            for (std::size_t kj = 0; kj < g.kw; ++kj) {
                T* dst = cols + ((c * g.kh + ki) * g.kw + kj) * row;
                std::size_t oh_lo, oh_hi, ow_lo, ow_hi;
                valid_range(Ho, g.sh, ki, g.ph, H, oh_lo, oh_hi);
                valid_range(Wo, g.sw, kj, g.pw, W, ow_lo, ow_hi);
                std::fill(dst, dst + oh_lo * Wo * m, T(0));
                std::fill(dst + oh_hi * Wo * m, dst + row, T(0));
                for (std::size_t oh = oh_lo; oh < oh_hi; ++oh) {
                    T* d = dst + oh * Wo * m;
                    const T* src = X + (c * H + oh * g.sh + ki - g.ph) * W * n + j0;
                    std::fill(d, d + ow_lo * m, T(0));
                    std::fill(d + ow_hi * m, d + Wo * m, T(0));
                    if (g.sw == 1 && m == n) { // the whole valid run of this row is contiguous
                        std::copy_n(src + (ow_lo + kj - g.pw) * n, (ow_hi - ow_lo) * n, d + ow_lo * m);
                    } else {
                        for (std::size_t ow = ow_lo; ow < ow_hi; ++ow)
                            std::copy_n(src + (ow * g.sw + kj - g.pw) * n, m, d + ow * m);
                    }
                }
            }
}

// The adjoint of im2col: columns j0 .. j0 + m of dX [C·H·W, n] += the patch gradients
// dcols [patch, positions·m] summed back onto the pixels they were copied from.
template <class T>
void col2im_add(const window2d& g, const T* dcols, std::size_t n, std::size_t j0, std::size_t m, T* dX)
{
    const std::size_t H = g.in.height, W = g.in.width, Ho = g.out_h(), Wo = g.out_w();
    const std::size_t row = Ho * Wo * m;
    for (std::size_t c = 0; c < g.in.channels; ++c)
        for (std::size_t ki = 0; ki < g.kh; ++ki)
            for (std::size_t kj = 0; kj < g.kw; ++kj) {
                const T* src = dcols + ((c * g.kh + ki) * g.kw + kj) * row;
                std::size_t oh_lo, oh_hi, ow_lo, ow_hi;
                valid_range(Ho, g.sh, ki, g.ph, H, oh_lo, oh_hi);
                valid_range(Wo, g.sw, kj, g.pw, W, ow_lo, ow_hi);
                for (std::size_t oh = oh_lo; oh < oh_hi; ++oh) {
                    const T* s = src + oh * Wo * m;
                    T* d = dX + (c * H + oh * g.sh + ki - g.ph) * W * n + j0;
                    for (std::size_t ow = ow_lo; ow < ow_hi; ++ow) {
                        T* dd = d + (ow * g.sw + kj - g.pw) * n;
                        const T* ss = s + ow * m;
                        for (std::size_t j = 0; j < m; ++j)
                            dd[j] += ss[j];
                    }
                }
            }
}

// The layer concept's infer for an image layer (Conv2D, the pools), all of whose work is its
// infer_columns(X, n, Y, work) on row-major buffers: checks x's rows, refuses out == x (the
// layer reads its input while it writes), sizes out and runs it. An expression x is evaluated
// first. Throws shape_error for a wrong shape, std::invalid_argument when out is x.
template <class L, class E, class T>
void image_infer(const L& layer, const E& x, matrix<T>& out, scratch<T>& work, std::size_t index)
{
    check_input(x, layer.input_rows(), index, layer);
    const matrix<T>& X = x;
    if (&X == &out)
        throw std::invalid_argument(
            cat(layer_label(index, layer.name()), ": infer() cannot write its output over its input"));
    ensure_shape(out, layer.output_rows(0), X.shape()[1]);
    layer.infer_columns(X.data(), X.shape()[1], out.data(), work);
}

// C [m, n] = alpha op(A) op(B) + beta C on row-major buffers, op(A) [m, k], op(B) [k, n].
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* A, std::size_t lda,
          const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc)
{
    using index = xt::blas_index_t;
    cxxblas::gemm<index>(cxxblas::StorageOrder::RowMajor, trans_a ? cxxblas::Transpose::Trans : cxxblas::NoTrans,
                         trans_b ? cxxblas::Transpose::Trans : cxxblas::NoTrans, static_cast<index>(m),
                         static_cast<index>(n), static_cast<index>(k), alpha, A, static_cast<index>(lda), B,
                         static_cast<index>(ldb), beta, C, static_cast<index>(ldc));
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
