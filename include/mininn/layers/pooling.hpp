// mininn: max and average pooling over the windows of an image (PyTorch's MaxPool2d and
// AvgPool2d, without ceil_mode or dilation), and Flatten, which makes an image a plain column.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "../core/tensor.hpp"
#include "../detail/window.hpp"
#include "spec.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// The spec attributes of a pool over g.
inline std::vector<std::pair<std::string, double>> pool_attributes(const window2d& g)
{
    return {{"channels", double(g.in.channels)},
            {"height", double(g.in.height)},
            {"width", double(g.in.width)},
            {"kernel", double(g.kh)},
            {"stride", double(g.sh)},
            {"padding", double(g.ph)}};
}

// f(r, q) for each output row r of the pooled image and each input row q its window covers
// (padding left out), in the window's row-major order.
template <class F>
void for_each_window(const window2d& g, F&& f)
{
    const std::size_t H = g.in.height, W = g.in.width, Ho = g.out_h(), Wo = g.out_w();
    for (std::size_t c = 0; c < g.in.channels; ++c)
        for (std::size_t oh = 0; oh < Ho; ++oh)
            for (std::size_t ow = 0; ow < Wo; ++ow) {
                const std::size_t r = (c * Ho + oh) * Wo + ow;
                const std::size_t h0 = oh * g.sh, w0 = ow * g.sw; // in padded coordinates
                for (std::size_t u = 0; u < g.kh; ++u) {
                    if (h0 + u < g.ph || h0 + u >= H + g.ph)
                        continue;
                    for (std::size_t v = 0; v < g.kw; ++v)
                        if (w0 + v >= g.pw && w0 + v < W + g.pw)
                            f(r, (c * H + h0 + u - g.ph) * W + w0 + v - g.pw);
                }
            }
}

// What both pools share: the window and the shapes it gives.
class pool_window {
public:
    explicit pool_window(const window2d& g) : g_(g) {}
    const window2d& window() const noexcept { return g_; }
    Shape input_shape() const noexcept { return g_.in; }
    Shape output_shape(const Shape&) const noexcept { return Shape(g_.in.channels, g_.out_h(), g_.out_w()); }
    std::size_t input_rows() const noexcept { return g_.in.size(); }
    std::size_t output_rows(std::size_t) const noexcept { return g_.in.channels * g_.positions(); }

protected:
    window2d g_;
};

template <class L>
void check_pool_gradient(const L& layer, std::size_t rows, std::size_t n, const Shape& out, std::size_t index,
                         std::size_t dy_rows, std::size_t dy_cols)
{
    if (n == 0)
        throw std::logic_error(cat(layer_label(index, layer.name()), ": backward() called before forward()"));
    if (dy_rows != rows || dy_cols != n)
        throw shape_error(cat(layer_label(index, layer.name()), ": expected gradient ", batch_str(out), " with n = ", n,
                              ", got [", dy_rows, ", ", dy_cols, "]"));
}

} // namespace detail

/// Max pooling: each output pixel is the largest of its k × k window (stride s, default k;
/// padding p at most k/2, never chosen). A NaN in a window is its maximum, as in PyTorch.
/// forward: X [C·H·W, n] -> Y [C·Ho·Wo, n]; backward: dX = dY routed to each window's maximum
/// (the first of equals), summed where windows overlap.
/// Throws std::invalid_argument for an empty image or window, or padding above k/2.
template <class T = float>
class MaxPool2D : public detail::pool_window {
public:
    using value_type = T;
    static constexpr bool parameter_free = true;

    MaxPool2D(Shape in, std::size_t kernel, std::size_t stride = 0, std::size_t padding = 0)
        : pool_window(detail::make_window("MaxPool2D", in, kernel, stride == 0 ? kernel : stride, padding, true))
    {
    }
    template <class U>
    MaxPool2D(const MaxPool2D<U>& other) : pool_window(other.window())
    {
    }

    /// "MaxPool2D 6×28×28→6×14×14 (2×2, stride 2)".
    std::string name() const
    {
        return detail::cat("MaxPool2D ", g_.in.str(), "→", output_shape(g_.in).str(), " (", g_.kh, "×", g_.kw,
                           ", stride ", g_.sh, g_.ph != 0 ? detail::cat(", padding ", g_.ph) : std::string(), ")");
    }
    /// op "MaxPool2D": the input image, kernel, stride and padding.
    LayerSpec spec() const { return {"MaxPool2D", detail::pool_attributes(g_), {}}; }
    std::size_t parameter_count() const noexcept { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }

    /// X [C·H·W, n] -> Y [C·Ho·Wo, n], owned by the layer. Throws shape_error on a wrong shape.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, input_rows(), index, *this);
        const matrix<T>& X = input_.bind(std::forward<E>(x), &Y_);
        n_ = X.shape()[1];
        detail::ensure_shape(Y_, output_rows(0), n_);
        arg_.resize(Y_.size());
        pool(X.data(), n_, Y_.data(), arg_.data());
        return Y_;
    }

    /// forward()'s values without keeping anything (the layer concept's infer); out must not be X.
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>& work, std::size_t index = standalone) const
    {
        detail::image_infer(*this, x, out, work, index);
    }
    /// infer() on row-major buffers, unchecked (a frozen Model's step): Y [C·Ho·Wo, n] for
    /// X [C·H·W, n]; work is not used.
    void infer_columns(const T* X, std::size_t n, T* Y, scratch<T>&) const { pool(X, n, Y, nullptr); }

    /// dY [C·Ho·Wo, n] of the last forward -> dX [C·H·W, n], owned by the layer.
    /// Throws shape_error on a wrong shape, std::logic_error before any forward().
    matrix<T>& backward(const matrix<T>& dY, bool = true, std::size_t index = standalone)
    {
        detail::check_pool_gradient(*this, output_rows(0), n_, output_shape(g_.in), index, dY.shape()[0],
                                    dY.shape()[1]);
        const std::size_t n = n_;
        detail::ensure_shape(dX_, input_rows(), n);
        dX_.fill(T(0));
        for (std::size_t r = 0; r < output_rows(0); ++r) {
            const T* dy = dY.data() + r * n;
            const std::uint32_t* a = arg_.data() + r * n;
            for (std::size_t j = 0; j < n; ++j)
                dX_.data()[a[j] * n + j] += dy[j]; // dL/dx = dy at the window's maximum, 0 elsewhere
        }
        return dX_;
    }

private:
    // Y = the maximum of each window, arg (when not null) = the input row it came from.
    void pool(const T* X, std::size_t n, T* Y, std::uint32_t* arg) const
    {
        std::size_t last = std::numeric_limits<std::size_t>::max();
        if (n == 1 && arg == nullptr)
            return pool_one(X, Y);
        detail::for_each_window(g_, [&](std::size_t r, std::size_t q) {
            const T* x = X + q * n;
            T* y = Y + r * n;
            std::uint32_t* a = arg != nullptr ? arg + r * n : nullptr;
            const auto qi = static_cast<std::uint32_t>(q);
            // plain loops: no library call for the few samples of a served request, and no
            // test of arg inside the loop that inference runs
            if (r != last) { // the window's first pixel
                last = r;
                for (std::size_t j = 0; j < n; ++j)
                    y[j] = x[j];
                if (a != nullptr)
                    for (std::size_t j = 0; j < n; ++j)
                        a[j] = qi;
                return;
            }
            if (a == nullptr) {
                for (std::size_t j = 0; j < n; ++j)
                    y[j] = x[j] > y[j] || x[j] != x[j] ? x[j] : y[j];
                return;
            }
            for (std::size_t j = 0; j < n; ++j) {
                const bool take = x[j] > y[j] || x[j] != x[j];
                y[j] = take ? x[j] : y[j];
                a[j] = take ? qi : a[j];
            }
        });
    }

    // pool() of one image for inference, without branches on the data (a served request's:
    // a compare that goes either way costs more than the pooling), the same values.
    void pool_one(const T* X, T* Y) const
    {
        const std::size_t H = g_.in.height, W = g_.in.width, Ho = g_.out_h(), Wo = g_.out_w();
        T* y = Y;
        for (std::size_t c = 0; c < g_.in.channels; ++c)
            for (std::size_t oh = 0; oh < Ho; ++oh) {
                // the window's rows and columns inside the image (padding holds no pixel)
                const std::size_t h0 = oh * g_.sh, u0 = h0 < g_.ph ? g_.ph - h0 : 0;
                const std::size_t u1 = std::min(g_.kh, H + g_.ph - h0);
                for (std::size_t ow = 0; ow < Wo; ++ow, ++y) {
                    const std::size_t w0 = ow * g_.sw, v0 = w0 < g_.pw ? g_.pw - w0 : 0;
                    const std::size_t v1 = std::min(g_.kw, W + g_.pw - w0);
                    T m = -std::numeric_limits<T>::infinity();
                    bool nan = false;
                    for (std::size_t u = u0; u < u1; ++u)
                        for (std::size_t v = v0; v < v1; ++v) {
                            const T x = X[(c * H + h0 + u - g_.ph) * W + w0 + v - g_.pw];
                            nan |= x != x;
                            m = std::max(m, x);
                        }
                    *y = nan ? std::numeric_limits<T>::quiet_NaN() : m;
                }
            }
    }

    std::size_t n_ = 0;
    matrix<T> Y_, dX_;
    std::vector<std::uint32_t> arg_;
    detail::input_binding<T> input_;
};

/// Average pooling: each output pixel is the mean of its k × k window (stride s, default k;
/// padding p at most k/2). With count_include_pad (PyTorch's default) the mean is over all
/// k·k places, zeros of the padding included; without it, over the window's real pixels.
/// forward: X [C·H·W, n] -> Y [C·Ho·Wo, n]; backward: dX = dY / count spread over each window.
/// Throws std::invalid_argument for an empty image or window, or padding above k/2.
template <class T = float>
class AvgPool2D : public detail::pool_window {
public:
    using value_type = T;
    static constexpr bool parameter_free = true;

    AvgPool2D(Shape in, std::size_t kernel, std::size_t stride = 0, std::size_t padding = 0,
              bool count_include_pad = true)
        : pool_window(detail::make_window("AvgPool2D", in, kernel, stride == 0 ? kernel : stride, padding, true)),
          include_pad_(count_include_pad)
    {
        count_windows();
    }
    template <class U>
    AvgPool2D(const AvgPool2D<U>& other) : pool_window(other.window()), include_pad_(other.count_include_pad())
    {
        count_windows();
    }

    bool count_include_pad() const noexcept { return include_pad_; }
    /// "AvgPool2D 6×28×28→6×14×14 (2×2, stride 2)".
    std::string name() const
    {
        return detail::cat("AvgPool2D ", g_.in.str(), "→", output_shape(g_.in).str(), " (", g_.kh, "×", g_.kw,
                           ", stride ", g_.sh, g_.ph != 0 ? detail::cat(", padding ", g_.ph) : std::string(),
                           g_.ph != 0 && !include_pad_ ? ", padding not counted" : "", ")");
    }
    /// op "AvgPool2D": the input image, kernel, stride, padding and count_include_pad (0 or 1).
    LayerSpec spec() const
    {
        LayerSpec s{"AvgPool2D", detail::pool_attributes(g_), {}};
        s.attributes.emplace_back("count_include_pad", include_pad_ ? 1.0 : 0.0);
        return s;
    }
    std::size_t parameter_count() const noexcept { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }

    /// X [C·H·W, n] -> Y [C·Ho·Wo, n], owned by the layer. Throws shape_error on a wrong shape.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, input_rows(), index, *this);
        const matrix<T>& X = input_.bind(std::forward<E>(x), &Y_); // p.forward(p.forward(X)) reads a copy
        n_ = X.shape()[1];
        detail::ensure_shape(Y_, output_rows(0), n_);
        infer_columns(X.data(), n_, Y_.data(), work_);
        return Y_;
    }

    /// forward()'s values without keeping anything (the layer concept's infer); out must not be X.
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>& work, std::size_t index = standalone) const
    {
        detail::image_infer(*this, x, out, work, index);
    }
    /// infer() on row-major buffers, unchecked (a frozen Model's step): Y [C·Ho·Wo, n] for
    /// X [C·H·W, n]; work is not used.
    void infer_columns(const T* X, std::size_t n, T* Y, scratch<T>&) const
    {
        std::fill(Y, Y + output_rows(0) * n, T(0));
        detail::for_each_window(g_, [&](std::size_t r, std::size_t q) {
            const T* xq = X + q * n;
            T* y = Y + r * n;
            for (std::size_t j = 0; j < n; ++j)
                y[j] += xq[j];
        });
        for (std::size_t r = 0; r < output_rows(0); ++r) {
            T* y = Y + r * n;
            const T scale = T(1) / count_[r];
            for (std::size_t j = 0; j < n; ++j)
                y[j] *= scale;
        }
    }

    /// dY [C·Ho·Wo, n] of the last forward -> dX [C·H·W, n], owned by the layer.
    /// Throws shape_error on a wrong shape, std::logic_error before any forward().
    matrix<T>& backward(const matrix<T>& dY, bool = true, std::size_t index = standalone)
    {
        detail::check_pool_gradient(*this, output_rows(0), n_, output_shape(g_.in), index, dY.shape()[0],
                                    dY.shape()[1]);
        const std::size_t n = n_;
        detail::ensure_shape(dX_, input_rows(), n);
        dX_.fill(T(0));
        detail::for_each_window(g_, [&](std::size_t r, std::size_t q) {
            const T* dy = dY.data() + r * n;
            T* dx = dX_.data() + q * n;
            const T scale = T(1) / count_[r];
            for (std::size_t j = 0; j < n; ++j)
                dx[j] += dy[j] * scale; // dL/dx = dy / count for each window x is in
        });
        return dX_;
    }

private:
    void count_windows()
    {
        count_.assign(output_rows(0), include_pad_ ? T(g_.kh * g_.kw) : T(0));
        if (!include_pad_)
            detail::for_each_window(g_, [&](std::size_t r, std::size_t) { count_[r] += T(1); });
    }

    bool include_pad_ = true;
    std::size_t n_ = 0;
    std::vector<T> count_;
    matrix<T> Y_, dX_;
    scratch<T> work_;
    detail::input_binding<T> input_;
};

/// Flatten: an image [C·H·W, n] becomes a plain column of C·H·W features, the same values.
/// Layers read a column of the right size as their image anyway; Flatten says so explicitly,
/// and the shape after it is a feature count. forward: X [k, n] -> X; backward: dX = dY.
template <class T = float>
class Flatten {
public:
    using value_type = T;
    static constexpr bool parameter_free = true;

    Flatten() = default;
    template <class U>
    Flatten(const Flatten<U>&)
    {
    }
    std::string name() const { return "Flatten"; }
    LayerSpec spec() const { return {"Flatten", {}, {}}; }
    std::size_t input_rows() const noexcept { return 0; }
    std::size_t output_rows(std::size_t rows) const noexcept { return rows; }
    std::size_t parameter_count() const noexcept { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }

    /// X [k, n] -> a copy [k, n], owned by the layer. Throws shape_error unless X is 2-D.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, 0, index, *this);
        if (static_cast<const void*>(&x) != static_cast<const void*>(&Y_)) {
            detail::ensure_shape(Y_, x.shape()[0], x.shape()[1]);
            xt::noalias(Y_) = x;
        }
        return Y_;
    }
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>&, std::size_t index = standalone) const
    {
        detail::check_input(x, 0, index, *this);
        if (static_cast<const void*>(&x) == static_cast<const void*>(&out))
            return;
        detail::ensure_shape(out, x.shape()[0], x.shape()[1]);
        xt::noalias(out) = x;
    }
    /// dY [k, n] -> dX = dY, owned by the layer. Throws shape_error when dY is not [k, n] of
    /// the last forward, std::logic_error before any forward().
    matrix<T>& backward(const matrix<T>& dY, bool = true, std::size_t index = standalone)
    {
        detail::check_gradient(dY, Y_, index, *this);
        detail::ensure_shape(dX_, dY.shape()[0], dY.shape()[1]);
        xt::noalias(dX_) = dY;
        return dX_;
    }

private:
    matrix<T> Y_, dX_;
};

} // namespace MININN_ISA
} // namespace mininn
