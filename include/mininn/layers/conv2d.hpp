// mininn: 2-D convolution (PyTorch's Conv2d: cross-correlation), by direct kernels over samples.
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
#include "../detail/direct_conv.hpp"
#include "../detail/helper_thread.hpp"
#include "../detail/window.hpp"
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
/// W [Cout, C·k·k] is PyTorch's weight [Cout, C, k, k] in its own order. The kernels
/// (detail/direct_conv.hpp) run the batch in chunks of up to 64 samples (fewer for large images,
/// so that a thread's buffers stay within 4 M values), each padded into a buffer of a fixed size
/// (a batch costs one weight gradient per chunk besides); given a Network's helper thread, two
/// threads share the chunks, with the same results bit for bit.
template <class T>
class Conv2D {
public:
    using value_type = T;
    static constexpr bool splits_batch = true;

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
    const matrix<T>& forward(E&& x, std::size_t index = standalone, detail::helper_thread* helper = nullptr)
    {
        check_parameters(index);
        detail::check_input(x, input_rows(), index, *this);
        const matrix<T>& X = input_.bind(std::forward<E>(x), &Y_);
        const std::size_t n = X.shape()[1];
        detail::ensure_shape(Y_, output_rows(0), n);
        prepare(helper != nullptr);
        detail::transpose_filters(W_.data(), out_c_, g_.patch(), wt_.data());
        each_chunk(n, helper, [&](std::size_t j0, std::size_t m, std::size_t thread) {
            detail::conv_forward_chunk(g_, X.data(), n, j0, m, wt_.data(), out_c_, bias_data(), Y_.data(),
                                       buffers(thread));
        });
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
        const std::size_t K = g_.patch() * out_c_, L = xsimd::batch<T>::size, at = (K + L - 1) / L * L;
        if (work.size() < at + chunking_.forward_values())
            work.resize(at + chunking_.forward_values());
        detail::transpose_filters(W_.data(), out_c_, g_.patch(), work.data());
        const auto buf = detail::split_chunk_buffers(chunking_, work.data() + at, false);
        const std::size_t chunk = chunking_.chunk;
        for (std::size_t j0 = 0; j0 < n; j0 += chunk)
            detail::conv_forward_chunk(g_, X, n, j0, std::min(chunk, n - j0), work.data(), out_c_, bias_data(), Y, buf);
    }

    /// dY [Cout·Ho·Wo, n] for the batch of the last forward(). Stores dW and db (overwriting
    /// them) and returns dX [C·H·W, n], owned by the layer, or an empty matrix when
    /// need_input_grad is false. Throws shape_error on a wrong shape, std::logic_error before
    /// any forward().
    matrix<T>& backward(const matrix<T>& dY, bool need_input_grad = true, std::size_t index = standalone,
                        detail::helper_thread* helper = nullptr)
    {
        check_parameters(index);
        const matrix<T>* X = input_.get();
        if (X == nullptr)
            throw std::logic_error(
                detail::cat(detail::layer_label(index, name()), ": backward() called before forward()"));
        const std::size_t n = X->shape()[1], P = g_.positions(), K = g_.patch(), OK = out_c_ * K;
        if (dY.shape()[0] != output_rows(0) || dY.shape()[1] != n)
            throw shape_error(detail::cat(detail::layer_label(index, name()), ": expected gradient [", output_rows(0),
                                          ", ", n, "] (samples are columns), got ", detail::shape_str(dY.shape())));
        for (std::size_t o = 0; o < b_.size(); ++o)
            db_(o) = detail::sum(dY.data() + o * P * n, P * n); // db = sum over positions and samples of dY
        if (need_input_grad)
            detail::ensure_shape(dX_, input_rows(), n);
        else
            dX_.resize({0, 0});
        prepare(helper != nullptr);
        const std::size_t chunks = (n + chunking_.chunk - 1) / chunking_.chunk;
        if (parts_.size() < chunks * OK)
            parts_.resize(chunks * OK);
        detail::transpose_filters(W_.data(), out_c_, K, wt_.data());
        T* dX = need_input_grad ? dX_.data() : nullptr;
        each_chunk(n, helper, [&](std::size_t j0, std::size_t m, std::size_t thread) {
            // dW = dY patches^T and dX = col2im(W^T dY), the latter as a scatter
            detail::conv_backward_chunk(g_, X->data(), n, j0, m, dY.data(), wt_.data(), out_c_,
                                        parts_.data() + j0 / chunking_.chunk * OK, dX, buffers(thread));
        });
        for (std::size_t i = 0; i < OK; ++i) { // dW = the chunks' sums, added in order
            T s = parts_[i];
            for (std::size_t c = 1; c < chunks; ++c)
                s += parts_[c * OK + i];
            dW_.data()[i] = s;
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
        : g_(g), out_c_(out_channels), chunking_(g, out_channels),
          W_(typename matrix<T>::shape_type{out_channels, g.patch()}), dW_(xt::zeros<T>({out_channels, g.patch()})),
          b_(xt::zeros<T>({bias ? out_channels : 0})), db_(xt::zeros<T>({bias ? out_channels : 0}))
    {
    }

    static detail::window2d geometry(const Shape& in, std::size_t out_channels, std::size_t kernel,
                                     const Conv2DOptions& opt)
    {
        if (out_channels == 0)
            throw std::invalid_argument("Conv2D: the number of filters must be positive, got 0");
        return detail::make_window("Conv2D", in, kernel, opt.stride, opt.padding);
    }

    const T* bias_data() const noexcept { return has_bias() ? b_.data() : nullptr; }

    // Sizes the transposed filters and each thread's chunk buffers (a no-op in steady state).
    void prepare(bool two_threads)
    {
        const std::size_t per_thread = chunking_.backward_values(); // forward() keeps room for backward()
        if (wt_.size() < W_.size())
            wt_.resize(W_.size());
        if (buffers_.size() < (two_threads ? 2 : 1) * per_thread)
            buffers_.resize((two_threads ? 2 : 1) * per_thread);
    }
    detail::conv_chunk_buffers<T> buffers(std::size_t thread) noexcept
    {
        return detail::split_chunk_buffers(chunking_, buffers_.data() + thread * chunking_.backward_values(), true);
    }

    // f(j0, m, thread) for the chunks of a batch of n, the first half of them here and the rest
    // on the helper thread when there is one and more than one chunk. f must not throw.
    template <class F>
    void each_chunk(std::size_t n, detail::helper_thread* helper, const F& f) const
    {
        const std::size_t chunk = chunking_.chunk, chunks = (n + chunk - 1) / chunk;
        const std::size_t half = helper != nullptr && chunks > 1 ? (chunks + 1) / 2 : chunks;
        auto run = [&](std::size_t thread) {
            const std::size_t c0 = thread == 0 ? 0 : half, c1 = thread == 0 ? half : chunks;
            for (std::size_t c = c0; c < c1; ++c) {
                const std::size_t j0 = c * chunk;
                f(j0, std::min(chunk, n - j0), thread);
            }
        };
        if (half < chunks)
            helper->run_on_both(run);
        else
            run(0);
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
    detail::conv_chunking<T> chunking_;
    matrix<T> W_, dW_;
    vector<T> b_, db_;
    matrix<T> Y_, dX_;
    scratch<T> wt_, buffers_, parts_; // W^T [K, Cout]; the threads' chunk buffers; dW per chunk
    detail::input_binding<T> input_;
};

} // namespace MININN_ISA
} // namespace mininn
