// mininn: batch normalization (PyTorch's BatchNorm1d over features, BatchNorm2d over the
// channels of an image) and layer normalization (LayerNorm over the whole of each sample).
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xview.hpp>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "../core/tensor.hpp"
#include "../detail/kernels.hpp"
#include "spec.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

inline double check_eps(const char* layer, double eps)
{
    if (!(eps > 0 && std::isfinite(eps)))
        throw std::invalid_argument(cat(layer, ": eps must be positive and finite, got ", eps));
    return eps;
}

inline Shape check_norm_shape(const char* layer, const Shape& in)
{
    if (!in.known())
        throw std::invalid_argument(
            cat(layer, ": the shape of a sample must be known (features, or C×H×W), got ", in.str()));
    return in;
}

inline std::vector<std::pair<std::string, double>> norm_attributes(const Shape& in, double eps)
{
    return {
        {"channels", double(in.channels)}, {"height", double(in.height)}, {"width", double(in.width)}, {"eps", eps}};
}

} // namespace detail

/// BatchNorm's settings: eps added to the variance, and the momentum of the running
/// statistics (PyTorch's defaults). An aggregate: BatchNormOptions{1e-3, 0.01}.
struct BatchNormOptions {
    double eps = 1e-5;
    double momentum = 0.1;
};

/// Batch normalization over the features of a plain sample (in = Shape(k): PyTorch's
/// BatchNorm1d) or over the channels of an image (in = Shape(c, h, w): BatchNorm2d). Each
/// channel c is normalized over its m = n·h·w values in the batch, then scaled and shifted:
///
///   training:   Y = gamma_c (X - mean_c) / sqrt(var_c + eps) + beta_c, with the batch's mean
///               and biased variance; running_mean += momentum (mean - running_mean), and
///               running_var likewise with the unbiased variance var · m / (m - 1);
///   evaluation: the same with running_mean and running_var, which are not updated.
///
/// Shapes: X [C·H·W, n] -> Y [C·H·W, n]; gamma, beta, running_mean, running_var [C]. gamma
/// starts at 1, beta and running_mean at 0, running_var at 1. The mode is set by
/// Network::train() / eval() (set_training). In a frozen Model a BatchNorm after a Dense or a
/// Conv2D is folded into its weights. Throws std::invalid_argument for an unknown shape, eps
/// not positive or momentum outside [0, 1].
template <class T>
class BatchNorm {
public:
    using value_type = T;

    explicit BatchNorm(Shape in, BatchNormOptions opt = {})
        : in_(detail::check_norm_shape("BatchNorm", in)), eps_(detail::check_eps("BatchNorm", opt.eps)),
          momentum_(check_momentum(opt.momentum)), gamma_(xt::ones<T>({in.channels})),
          beta_(xt::zeros<T>({in.channels})), dgamma_(xt::zeros<T>({in.channels})), dbeta_(xt::zeros<T>({in.channels})),
          mean_(xt::zeros<T>({in.channels})), var_(xt::ones<T>({in.channels})), inv_(xt::zeros<T>({in.channels}))
    {
    }

    Shape input_shape() const noexcept { return in_; }
    Shape output_shape(const Shape&) const noexcept { return in_; }
    std::size_t input_rows() const noexcept { return in_.size(); }
    std::size_t output_rows(std::size_t) const noexcept { return in_.size(); }
    std::size_t channels() const noexcept { return in_.channels; }
    double eps() const noexcept { return eps_; }
    double momentum() const noexcept { return momentum_; }
    /// "BatchNorm 64" or "BatchNorm 6×28×28".
    std::string name() const { return "BatchNorm " + in_.str(); }
    /// op "BatchNorm": the sample's shape, eps and momentum; gamma and beta are trained and not
    /// decayed, running_mean and running_var are state.
    LayerSpec spec() const
    {
        LayerSpec s{"BatchNorm", detail::norm_attributes(in_, eps_), {}};
        s.attributes.emplace_back("momentum", momentum_);
        s.tensors = {{"gamma", true, false},
                     {"beta", true, false},
                     {"running_mean", false, false},
                     {"running_var", false, false}};
        return s;
    }

    void set_training(bool on) noexcept { training_ = on; }
    bool training() const noexcept { return training_; }

    /// X [C·H·W, n] -> Y [C·H·W, n], owned by the layer; in training mode also updates the
    /// running statistics. Throws shape_error on a wrong shape, and in training mode for a
    /// batch with one value per channel (n = 1 and a 1×1 image), whose variance is not defined.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, input_rows(), index, *this);
        const matrix<T>& X = input_.bind(std::forward<E>(x), &Y_);
        const std::size_t n = X.shape()[1], m = spatial() * n;
        if (training_ && m < 2)
            throw shape_error(detail::cat(detail::layer_label(index, name()),
                                          ": training needs more than one value per channel, got a batch of ", n));
        detail::ensure_shape(Y_, input_rows(), n);
        detail::ensure_shape(xhat_, input_rows(), n);
        batch_stats_ = training_;
        for (std::size_t c = 0; c < in_.channels; ++c) {
            const T* xc = X.data() + c * m;
            T* h = xhat_.data() + c * m;
            double mu = mean_(c), inv = 1 / std::sqrt(double(var_(c)) + eps_);
            if (training_) {
                mu = double(detail::sum(xc, m)) / double(m);
                const T mt = T(mu);
                detail::map(xc, h, m, [mt](auto v) { return v - mt; });
                const double var =
                    double(detail::map_reduce(h, h, m, [](auto a, auto b) { return a * b; })) / double(m);
                inv = 1 / std::sqrt(var + eps_);
                const double mom = momentum_;
                mean_(c) = T((1 - mom) * double(mean_(c)) + mom * mu);
                var_(c) = T((1 - mom) * double(var_(c)) + mom * var * double(m) / double(m - 1));
                const T it = T(inv);
                detail::map(h, h, m, [it](auto v) { return v * it; });
                const T g = gamma_(c), b = beta_(c);
                detail::map(h, Y_.data() + c * m, m, [g, b](auto v) { return g * v + b; });
            } else { // as infer(), and xhat for the gradient of gamma
                const T mt = T(mu), it = T(inv);
                detail::map(xc, h, m, [mt, it](auto v) { return (v - mt) * it; });
                affine(c, xc, Y_.data() + c * m, m);
            }
            inv_(c) = T(inv);
        }
        return Y_;
    }

    /// The forward pass of evaluation mode, with the running statistics and keeping nothing
    /// (the layer concept's infer): out [C·H·W, n], resized when its shape differs; out may be
    /// X itself. Throws shape_error on a wrong shape.
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>&, std::size_t index = standalone) const
    {
        detail::check_input(x, input_rows(), index, *this);
        if constexpr (std::is_same_v<E, matrix<T>>) {
            if (&x != &out)
                detail::ensure_shape(out, input_rows(), x.shape()[1]);
            apply(x.data(), x.shape()[1], out.data());
        } else {
            detail::ensure_shape(out, input_rows(), x.shape()[1]);
            xt::noalias(out) = x;
            apply(out.data(), x.shape()[1], out.data());
        }
    }
    /// infer() on row-major buffers, unchecked (a frozen Model's step); Y may be X.
    void infer_columns(const T* X, std::size_t n, T* Y, scratch<T>&) const { apply(X, n, Y); }

    /// dY [C·H·W, n] for the last forward -> dX [C·H·W, n], owned by the layer; stores dgamma
    /// and dbeta. Throws shape_error on a wrong shape, std::logic_error before any forward().
    matrix<T>& backward(const matrix<T>& dY, bool need_input_grad = true, std::size_t index = standalone)
    {
        detail::check_gradient(dY, Y_, index, *this);
        const std::size_t m = spatial() * dY.shape()[1];
        if (need_input_grad)
            detail::ensure_shape(dX_, input_rows(), dY.shape()[1]);
        else
            dX_.resize({0, 0});
        for (std::size_t c = 0; c < in_.channels; ++c) {
            const T *dy = dY.data() + c * m, *h = xhat_.data() + c * m;
            const T sdy = detail::sum(dy, m), sdyh = detail::map_reduce(dy, h, m, [](auto a, auto b) { return a * b; });
            dbeta_(c) = sdy;   // dbeta = sum dY
            dgamma_(c) = sdyh; // dgamma = sum dY xhat
            if (!need_input_grad)
                continue;
            const T k = gamma_(c) * inv_(c);
            if (batch_stats_) { // dX = gamma inv (dY - sum(dY)/m - xhat sum(dY xhat)/m)
                const T a = sdy / T(m), b = sdyh / T(m);
                detail::map(dy, h, dX_.data() + c * m, m, [k, a, b](auto g, auto v) { return k * (g - a - v * b); });
            } else { // dX = gamma inv dY: the statistics do not depend on X
                detail::map(dy, dX_.data() + c * m, m, [k](auto g) { return k * g; });
            }
        }
        return dX_;
    }

    /// gamma and beta [C]: views of fixed shape; the running statistics [C]; the gradients.
    auto gamma() noexcept { return xt::view(gamma_, xt::all()); }
    const vector<T>& gamma() const noexcept { return gamma_; }
    auto beta() noexcept { return xt::view(beta_, xt::all()); }
    const vector<T>& beta() const noexcept { return beta_; }
    auto running_mean() noexcept { return xt::view(mean_, xt::all()); }
    const vector<T>& running_mean() const noexcept { return mean_; }
    auto running_var() noexcept { return xt::view(var_, xt::all()); }
    const vector<T>& running_var() const noexcept { return var_; }
    const vector<T>& gamma_grad() const noexcept { return dgamma_; }
    const vector<T>& beta_grad() const noexcept { return dbeta_; }

    std::size_t parameter_count() const noexcept { return 2 * in_.channels; }
    template <class F>
    void visit_parameters(F&& f)
    {
        f("gamma", gamma_, dgamma_);
        f("beta", beta_, dbeta_);
    }
    template <class F>
    void visit_state(F&& f)
    {
        f("running_mean", mean_);
        f("running_var", var_);
    }

private:
    static double check_momentum(double m)
    {
        if (!(m >= 0 && m <= 1))
            throw std::invalid_argument(detail::cat("BatchNorm: momentum must be in [0, 1], got ", m));
        return m;
    }
    std::size_t spatial() const noexcept { return in_.height * in_.width; }

    void apply(const T* X, std::size_t n, T* Y) const
    {
        for (std::size_t c = 0; c < in_.channels; ++c)
            affine(c, X + c * spatial() * n, Y + c * spatial() * n, spatial() * n);
    }

    // y = s x + t over channel c's m values, with the running statistics.
    void affine(std::size_t c, const T* x, T* y, std::size_t m) const
    {
        const double s = double(gamma_(c)) / std::sqrt(double(var_(c)) + eps_);
        const T st = T(s), t = T(double(beta_(c)) - double(mean_(c)) * s);
        detail::map(x, y, m, [st, t](auto v) { return st * v + t; });
    }

    Shape in_;
    double eps_, momentum_;
    vector<T> gamma_, beta_, dgamma_, dbeta_, mean_, var_, inv_;
    bool training_ = true, batch_stats_ = true;
    matrix<T> Y_, xhat_, dX_;
    detail::input_binding<T> input_;
};

/// Layer normalization over all of each sample (PyTorch's LayerNorm with normalized_shape the
/// whole sample, elementwise affine): for column j of X [D, n], D = C·H·W,
///
///   Y[i, j] = gamma_i (X[i, j] - mean_j) / sqrt(var_j + eps) + beta_i
///
/// with the column's mean and biased variance, in training and evaluation alike. gamma and
/// beta [D] start at 1 and 0. Throws std::invalid_argument for an unknown shape or eps not
/// positive.
template <class T>
class LayerNorm {
public:
    using value_type = T;

    explicit LayerNorm(Shape in, double eps = 1e-5)
        : in_(detail::check_norm_shape("LayerNorm", in)), eps_(detail::check_eps("LayerNorm", eps)),
          gamma_(xt::ones<T>({in.size()})), beta_(xt::zeros<T>({in.size()})), dgamma_(xt::zeros<T>({in.size()})),
          dbeta_(xt::zeros<T>({in.size()}))
    {
    }

    Shape input_shape() const noexcept { return in_; }
    Shape output_shape(const Shape&) const noexcept { return in_; }
    std::size_t input_rows() const noexcept { return in_.size(); }
    std::size_t output_rows(std::size_t) const noexcept { return in_.size(); }
    double eps() const noexcept { return eps_; }
    /// "LayerNorm 64" or "LayerNorm 6×28×28".
    std::string name() const { return "LayerNorm " + in_.str(); }
    /// op "LayerNorm": the sample's shape and eps; gamma and beta are trained and not decayed.
    LayerSpec spec() const
    {
        return {"LayerNorm", detail::norm_attributes(in_, eps_), {{"gamma", true, false}, {"beta", true, false}}};
    }

    /// X [D, n] -> Y [D, n], owned by the layer. Throws shape_error on a wrong shape.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone)
    {
        detail::check_input(x, input_rows(), index, *this);
        const matrix<T>& X = input_.bind(std::forward<E>(x), &Y_);
        const std::size_t n = X.shape()[1];
        detail::ensure_shape(Y_, input_rows(), n);
        detail::ensure_shape(xhat_, input_rows(), n);
        inv_.resize(n);
        if (sums_.size() < 2 * n)
            sums_.resize(2 * n);
        normalize(X.data(), n, xhat_.data(), inv_.data(), Y_.data(), sums_.data());
        return Y_;
    }

    /// forward()'s values keeping nothing (the layer concept's infer): out [D, n], resized
    /// when its shape differs, may be X itself; work holds two values a sample. Throws
    /// shape_error on a wrong shape.
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>& work, std::size_t index = standalone) const
    {
        detail::check_input(x, input_rows(), index, *this);
        const std::size_t n = x.shape()[1];
        if constexpr (std::is_same_v<E, matrix<T>>) {
            if (&x != &out)
                detail::ensure_shape(out, input_rows(), n);
            infer_columns(x.data(), n, out.data(), work);
        } else {
            detail::ensure_shape(out, input_rows(), n);
            xt::noalias(out) = x;
            infer_columns(out.data(), n, out.data(), work);
        }
    }
    /// infer() on row-major buffers, unchecked (a frozen Model's step); Y may be X.
    void infer_columns(const T* X, std::size_t n, T* Y, scratch<T>& work) const
    {
        if (work.size() < 2 * n)
            work.resize(2 * n);
        normalize(X, n, nullptr, work.data(), Y, work.data() + n);
    }

    /// dY [D, n] for the last forward -> dX [D, n], owned by the layer; stores dgamma and
    /// dbeta. Throws shape_error on a wrong shape, std::logic_error before any forward().
    matrix<T>& backward(const matrix<T>& dY, bool need_input_grad = true, std::size_t index = standalone)
    {
        detail::check_gradient(dY, Y_, index, *this);
        const std::size_t D = input_rows(), n = dY.shape()[1];
        for (std::size_t i = 0; i < D; ++i) {
            const T *dy = dY.data() + i * n, *h = xhat_.data() + i * n;
            dbeta_(i) = detail::sum(dy, n);                                                  // dbeta = sum_j dY
            dgamma_(i) = detail::map_reduce(dy, h, n, [](auto a, auto b) { return a * b; }); // dgamma = sum_j dY xhat
        }
        if (!need_input_grad) {
            dX_.resize({0, 0});
            return dX_;
        }
        // dxhat = gamma dY; dX = inv (dxhat - sum_i(dxhat)/D - xhat sum_i(dxhat xhat)/D), per column
        std::fill(sums_.begin(), sums_.begin() + 2 * n, T(0));
        T *a = sums_.data(), *b = a + n;
        for (std::size_t i = 0; i < D; ++i) {
            const T g = gamma_(i), *dy = dY.data() + i * n, *h = xhat_.data() + i * n;
            for (std::size_t j = 0; j < n; ++j) {
                a[j] += g * dy[j];
                b[j] += g * dy[j] * h[j];
            }
        }
        const T invD = T(1) / T(D);
        detail::ensure_shape(dX_, D, n);
        for (std::size_t i = 0; i < D; ++i) {
            const T g = gamma_(i), *dy = dY.data() + i * n, *h = xhat_.data() + i * n;
            T* dx = dX_.data() + i * n;
            for (std::size_t j = 0; j < n; ++j)
                dx[j] = inv_[j] * (g * dy[j] - (a[j] + h[j] * b[j]) * invD);
        }
        return dX_;
    }

    /// gamma and beta [D]: views of fixed shape; their gradients.
    auto gamma() noexcept { return xt::view(gamma_, xt::all()); }
    const vector<T>& gamma() const noexcept { return gamma_; }
    auto beta() noexcept { return xt::view(beta_, xt::all()); }
    const vector<T>& beta() const noexcept { return beta_; }
    const vector<T>& gamma_grad() const noexcept { return dgamma_; }
    const vector<T>& beta_grad() const noexcept { return dbeta_; }

    std::size_t parameter_count() const noexcept { return 2 * in_.size(); }
    template <class F>
    void visit_parameters(F&& f)
    {
        f("gamma", gamma_, dgamma_);
        f("beta", beta_, dbeta_);
    }

private:
    // Y = gamma xhat + beta for X [D, n], with each column's mean (into mean, n values) and
    // 1 / sqrt(var + eps) (into inv), and xhat kept unless it is null. Y may be X: each value
    // of X is read before its own value of Y is written.
    void normalize(const T* X, std::size_t n, T* xhat, T* inv, T* Y, T* mean) const
    {
        const std::size_t D = input_rows();
        std::fill(mean, mean + n, T(0));
        std::fill(inv, inv + n, T(0));
        for (std::size_t i = 0; i < D; ++i)
            for (std::size_t j = 0; j < n; ++j)
                mean[j] += X[i * n + j];
        for (std::size_t j = 0; j < n; ++j)
            mean[j] /= T(D);
        for (std::size_t i = 0; i < D; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                const T d = X[i * n + j] - mean[j];
                inv[j] += d * d;
            }
        for (std::size_t j = 0; j < n; ++j)
            inv[j] = T(1 / std::sqrt(double(inv[j]) / double(D) + eps_));
        for (std::size_t i = 0; i < D; ++i) {
            const T g = gamma_(i), b = beta_(i);
            for (std::size_t j = 0; j < n; ++j) {
                const T h = (X[i * n + j] - mean[j]) * inv[j];
                if (xhat != nullptr)
                    xhat[i * n + j] = h;
                Y[i * n + j] = g * h + b;
            }
        }
    }
    Shape in_;
    double eps_;
    vector<T> gamma_, beta_, dgamma_, dbeta_;
    matrix<T> Y_, xhat_, dX_;
    scratch<T> inv_;
    scratch<T> sums_; // forward's column means, then backward's column sums
    detail::input_binding<T> input_;
};

} // namespace MININN_ISA
} // namespace mininn
