// mininn: the window geometry of convolution and pooling, and the infer shared by image layers.
//
// Samples are columns, so a batch of images [C·H·W, n] is laid out (c, h, w, j) with the sample
// j fastest: each pixel of every image of the batch is one contiguous run of n values.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>

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

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
