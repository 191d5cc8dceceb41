// mininn: 2-D convolution (PyTorch's Conv2d: cross-correlation), on one GEMM by im2col.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"
#include "../core/tensor.hpp"
#include "../detail/im2col.hpp"
#include "../detail/kernels.hpp"
#include "spec.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// How a Conv2D window moves: stride and zero padding (the same along rows and columns), and
/// whether the layer has a bias. An aggregate: Conv2DOptions{2, 1} is stride 2, padding 1.
struct Conv2DOptions {
    std::size_t stride = 1;
    std::size_t padding = 0;
    bool bias = true;

    Conv2DOptions& with_stride(std::size_t s) noexcept { return stride = s, *this; }
    Conv2DOptions& with_padding(std::size_t p) noexcept { return padding = p, *this; }
    Conv2DOptions& without_bias() noexcept { return bias = false, *this; }
};

/// Convolution of an image of `in` (C × H × W) by `out_channels` filters of k × k × C:
///
///   Y[o, y, x] = b[o] + sum_{c, u, v} W[o, (c, u, v)] Xpad[c, y·s + u, x·s + v]
///
/// forward:  X [C·H·W, n] -> Y [Cout·Ho·Wo, n], each column laid out channel, row, column, with
///           Ho = (H + 2p - k) / s + 1 (and Wo alike);
/// backward: dY -> dW [Cout, C·k·k], db [Cout] (sums over positions and samples), dX [C·H·W, n].
/// W [Cout, C·k·k] is PyTorch's weight [Cout, C, k, k] in its own order. The patches of at most
/// a few MB of samples are copied out at once (detail/im2col.hpp), so a batch of any size runs in
/// bounded memory; a training batch whose patches fit is copied out once, for both passes.
template <class T>
class Conv2D {
public:
    using value_type = T;

    /// Draws every weight from init(rng, C·k·k, Cout·k·k); biases start at zero.
    /// Throws std::invalid_argument for an empty image, kernel, stride or output, or a padded
    /// image smaller than the kernel.
    template <class Init>
    Conv2D(Shape in, std::size_t out_channels, std::size_t kernel, const Init& init, Rng& rng, Conv2DOptions opt = {})
        : Conv2D(geometry(in, out_channels, kernel, opt), out_channels, opt.bias)
    {
        const std::size_t fan_in = g_.patch(), fan_out = out_channels * kernel * kernel;
        for (auto& w : W_)
            w = static_cast<T>(init(rng, fan_in, fan_out));
    }

    /// Takes given weights W [Cout, C·k·k] (or PyTorch's [Cout, C, k, k] flattened so) and bias
    /// b [Cout], or an empty b when opt.bias is false. Throws shape_error when they do not fit.
    Conv2D(Shape in, matrix<T> W, vector<T> b, std::size_t kernel, Conv2DOptions opt = {})
        : Conv2D(geometry(in, W.shape()[0], kernel, opt), W.shape()[0], opt.bias)
    {
        if (W.shape()[1] != g_.patch() || b.size() != b_.size())
            throw shape_error(detail::cat("Conv2D: weights ", detail::shape_str(W.shape()), " and bias ",
                                          detail::shape_str(b.shape()), " do not fit ", W.shape()[0], " filters of ",
                                          kernel, "×", kernel, " over ", in.str(), ": expected W [", W.shape()[0], ", ",
                                          g_.patch(), "] and b [", b_.size(), "]"));
        W_ = std::move(W);
        if (opt.bias)
            b_ = std::move(b);
    }

    Shape input_shape() const noexcept { return g_.in; }
    Shape output_shape(const Shape&) const noexcept { return Shape(out_c_, g_.out_h(), g_.out_w()); }
    std::size_t input_rows() const noexcept { return g_.in.size(); }
    std::size_t output_rows(std::size_t) const noexcept { return out_c_ * g_.positions(); }
    std::size_t out_channels() const noexcept { return out_c_; }
    std::size_t kernel() const noexcept { return g_.kh; }
    std::size_t stride() const noexcept { return g_.sh; }
    std::size_t padding() const noexcept { return g_.ph; }
    bool has_bias() const noexcept { return b_.size() != 0; }
    /// "Conv2D 1×28×28→6×28×28 (5×5, stride 1, padding 2)".
    std::string name() const
    {
        return detail::cat("Conv2D ", g_.in.str(), "→", output_shape(g_.in).str(), " (", g_.kh, "×", g_.kw, ", stride ",
                           g_.sh, ", padding ", g_.ph, has_bias() ? "" : ", no bias", ")");
    }
    /// op "Conv2D": the input image, filters, kernel, stride, padding and bias (0 or 1); W
    /// decays, b does not.
    LayerSpec spec() const
    {
        LayerSpec s{"Conv2D",
                    {{"channels", double(g_.in.channels)},
                     {"height", double(g_.in.height)},
                     {"width", double(g_.in.width)},
                     {"filters", double(out_c_)},
                     {"kernel", double(g_.kh)},
                     {"stride", double(g_.sh)},
                     {"padding", double(g_.ph)},
                     {"bias", has_bias() ? 1.0 : 0.0}},
                    {{"W", true, true}}};
        if (has_bias())
            s.tensors.push_back({"b", true, false});
        return s;
    }

    /// X: any 2-D xtensor expression [C·H·W, n]; an lvalue matrix<T> is used in place and must
    /// stay alive and unchanged until backward(). Returns Y [Cout·Ho·Wo, n], owned by the layer.
    /// Throws shape_error on a wrong shape.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        check_parameters(index);
        detail::check_input(x, input_rows(), index, *this);
        const matrix<T>& X = input_.bind(std::forward<E>(x), &Y_);
        const std::size_t n = X.shape()[1];
        detail::ensure_shape(Y_, output_rows(0), n);
        cols_cached_ = run_forward(X.data(), n, Y_.data(), grow(cols_, cols_size(n)), grow(tmp_, tmp_size(n)));
        return Y_;
    }

    /// The forward pass keeping nothing (the layer concept's infer): out = forward(X)'s values
    /// bit for bit, in out [Cout·Ho·Wo, n] and work, both the caller's; const, so threads may
    /// share the layer. out must not be X. Throws shape_error on a wrong shape.
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>& work, std::size_t index = standalone) const
    {
        check_parameters(index);
        detail::image_infer(*this, x, out, work, index);
    }

    /// infer() on row-major buffers, unchecked (a frozen Model's step): Y [Cout·Ho·Wo, n] for
    /// X [C·H·W, n], with work resized as needed.
    void infer_columns(const T* X, std::size_t n, T* Y, scratch<T>& work) const
    {
        const std::size_t c = cols_size(n);
        T* w = grow(work, c + tmp_size(n));
        run_forward(X, n, Y, w, w + c);
    }

    /// dY [Cout·Ho·Wo, n] for the batch of the last forward(). Stores dW and db (overwriting
    /// them) and returns dX [C·H·W, n], owned by the layer, or an empty matrix when
    /// need_input_grad is false. Throws shape_error on a wrong shape, std::logic_error before
    /// any forward().
    matrix<T>& backward(const matrix<T>& dY, bool need_input_grad = true, std::size_t index = standalone)
    {
        check_parameters(index);
        const matrix<T>* X = input_.get();
        if (X == nullptr)
            throw std::logic_error(
                detail::cat(detail::layer_label(index, name()), ": backward() called before forward()"));
        const std::size_t n = X->shape()[1], P = g_.positions(), K = g_.patch();
        if (dY.shape()[0] != output_rows(0) || dY.shape()[1] != n)
            throw shape_error(detail::cat(detail::layer_label(index, name()), ": expected gradient [", output_rows(0),
                                          ", ", n, "] (samples are columns), got ", detail::shape_str(dY.shape())));
        for (std::size_t o = 0; o < b_.size(); ++o)
            db_(o) = detail::sum(dY.data() + o * P * n, P * n); // db = sum over positions and samples of dY
        if (need_input_grad) {
            detail::ensure_shape(dX_, input_rows(), n);
            dX_.fill(T(0));
        } else {
            dX_.resize({0, 0});
        }
        const std::size_t m = block(n);
        for (std::size_t j0 = 0; j0 < n; j0 += m) {
            const std::size_t mb = std::min(m, n - j0);
            T* cols = grow(cols_, K * P * mb);
            if (!(cols_cached_ && mb == n))
                detail::im2col(g_, X->data(), n, j0, mb, cols);
            const T* dy = dY.data();
            if (mb != n) { // this block's columns of dY, as [Cout, P·mb]
                T* t = grow(tmp_, out_c_ * P * mb);
                for (std::size_t r = 0; r < out_c_ * P; ++r)
                    std::copy_n(dY.data() + r * n + j0, mb, t + r * mb);
                dy = t;
            }
            // dW = dY cols^T, summed over the blocks
            detail::gemm(false, true, out_c_, K, P * mb, T(1), dy, P * mb, cols, P * mb, j0 == 0 ? T(0) : T(1),
                         dW_.data(), K);
            if (need_input_grad) { // dcols = W^T dY, into cols (read for the last time above)
                detail::gemm(true, false, K, P * mb, out_c_, T(1), W_.data(), K, dy, P * mb, T(0), cols, P * mb);
                detail::col2im_add(g_, cols, n, j0, mb, dX_.data()); // dX = col2im(W^T dY)
                cols_cached_ = false;
            }
        }
        return dX_;
    }

    /// W [Cout, C·k·k] and b [Cout] (empty without bias): views of fixed shape, as Dense's.
    auto weights() noexcept { return xt::view(W_, xt::all(), xt::all()); }
    const matrix<T>& weights() const noexcept { return W_; }
    auto bias() noexcept { return xt::view(b_, xt::all()); }
    const vector<T>& bias() const noexcept { return b_; }
    const matrix<T>& weight_grad() const noexcept { return dW_; }
    const vector<T>& bias_grad() const noexcept { return db_; }

    std::size_t parameter_count() const noexcept { return W_.size() + b_.size(); }
    /// f(role, parameter, gradient) for W, then b when the layer has one.
    template <class F>
    void visit_parameters(F&& f)
    {
        f("W", W_, dW_);
        if (has_bias())
            f("b", b_, db_);
    }

private:
    Conv2D(const detail::window2d& g, std::size_t out_channels, bool bias)
        : g_(g), out_c_(out_channels), W_(typename matrix<T>::shape_type{out_channels, g.patch()}),
          dW_(xt::zeros<T>({out_channels, g.patch()})), b_(xt::zeros<T>({bias ? out_channels : 0})),
          db_(xt::zeros<T>({bias ? out_channels : 0}))
    {
    }

    static detail::window2d geometry(const Shape& in, std::size_t out_channels, std::size_t kernel,
                                     const Conv2DOptions& opt)
    {
        if (out_channels == 0)
            throw std::invalid_argument("Conv2D: the number of filters must be positive, got 0");
        return detail::make_window("Conv2D", in, kernel, opt.stride, opt.padding);
    }

    // Samples per block: patches of about 4 M values (16 MB in float) at a time.
    std::size_t block(std::size_t n) const noexcept
    {
        const std::size_t per_sample = g_.patch() * g_.positions();
        return std::max<std::size_t>(1, std::min(n, (std::size_t(1) << 22) / per_sample));
    }

    static T* grow(scratch<T>& s, std::size_t size)
    {
        if (s.size() < size)
            s.resize(size);
        return s.data();
    }

    // The scratch a batch of n needs: patches of one block, then (when n spans several
    // blocks) one block's output before it is spread over Y's columns.
    std::size_t cols_size(std::size_t n) const noexcept { return g_.patch() * g_.positions() * block(n); }
    std::size_t tmp_size(std::size_t n) const noexcept
    {
        return block(n) >= n ? 0 : out_c_ * g_.positions() * block(n);
    }

    // Y [Cout·P, n] = W im2col(X) + b, block by block, with cols and tmp of cols_size(n) and
    // tmp_size(n). Returns whether cols holds the patches of the whole batch (one block).
    bool run_forward(const T* X, std::size_t n, T* Y, T* cols, T* tmp) const
    {
        const std::size_t P = g_.positions(), K = g_.patch(), m = block(n);
        for (std::size_t j0 = 0; j0 < n; j0 += m) {
            const std::size_t mb = std::min(m, n - j0);
            detail::im2col(g_, X, n, j0, mb, cols);
            if (mb == n) { // [Cout, P·n] is Y itself
                detail::gemm(false, false, out_c_, P * n, K, T(1), W_.data(), K, cols, P * n, T(0), Y, P * n);
            } else {
                detail::gemm(false, false, out_c_, P * mb, K, T(1), W_.data(), K, cols, P * mb, T(0), tmp, P * mb);
                for (std::size_t r = 0; r < out_c_ * P; ++r)
                    std::copy_n(tmp + r * mb, mb, Y + r * n + j0);
            }
        }
        for (std::size_t o = 0; o < b_.size(); ++o)
            detail::add_bias_row(Y + o * P * n, Y + o * P * n, P * n, b_(o));
        return m >= n;
    }

    void check_parameters(std::size_t index) const
    {
        const std::size_t nb = has_bias() ? out_c_ : 0;
        const bool ok = W_.shape()[0] == out_c_ && W_.shape()[1] == g_.patch() && dW_.shape() == W_.shape() &&
                        b_.size() == nb && db_.size() == nb;
        if (!ok)
            throw shape_error(detail::cat(detail::layer_label(index, name()), ": parameters were resized (W ",
                                          detail::shape_str(W_.shape()), ", b ", detail::shape_str(b_.shape()),
                                          "); a layer's shape is fixed when it is built"));
    }

    detail::window2d g_;
    std::size_t out_c_;
    matrix<T> W_, dW_;
    vector<T> b_, db_;
    matrix<T> Y_, dX_;
    scratch<T> cols_, tmp_;
    bool cols_cached_ = false;
    detail::input_binding<T> input_;
};

} // namespace MININN_ISA
} // namespace mininn
