// mininn: the fully connected layer, Z = W X + b.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <string>
#include <utility>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
#include <xtensor-blas/xblas.hpp>

#include "../detail/kernels.hpp"
#include "../detail/sparse_kernels.hpp"
#include "../core/errors.hpp"
#include "../core/random.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"
#include "spec.hpp"

namespace mininn {
inline namespace MININN_ISA {

template <class T>
class Dense;

namespace detail {
// What a network's fused passes reach inside a Dense layer (train/chain.hpp,
// train/fused_head.hpp): the gradient buffers they write and the check that the parameters
// still have the layer's shape.
struct dense_access {
    template <class T>
    static matrix<T>& weight_grad(Dense<T>& d) noexcept
    {
        return d.dW_;
    }
    template <class T>
    static vector<T>& bias_grad(Dense<T>& d) noexcept
    {
        return d.db_;
    }
    template <class T>
    static void check_parameters(const Dense<T>& d, std::size_t index)
    {
        d.check_parameters(index);
    }
};
} // namespace detail

/// Dense (fully connected) layer with weights W [out, in] and bias b [out].
///
/// forward:  X [in, n]  ->  Z = W X + b  [out, n]   (b added to every column)
/// backward: dZ [out, n] -> dW = dZ X^T [out, in], db = row sums of dZ [out],
///                          dX = W^T dZ [in, n]
/// The batch mean lives in the loss, so these are plain sums over the batch.
///
/// X may also be a sparse_matrix<T> or a sparse_batch<T> of its columns (sparse.hpp): then
/// W X and dZ X^T touch only X's non-zeros (detail/sparse_kernels.hpp), and dX, which a first
/// layer never needs, is refused.
template <class T>
class Dense {
public:
    using value_type = T;

    /// Draws every weight from init(rng, in, out); biases start at zero.
    /// Throws std::invalid_argument when in or out is 0.
    template <class Init>
    Dense(std::size_t in, std::size_t out, const Init& init, Rng& rng)
        : W_(typename matrix<T>::shape_type{out, in}), b_(typename vector<T>::shape_type{out}), in_(in), out_(out)
    {
        if (in == 0 || out == 0)
            throw std::invalid_argument(detail::cat("Dense: sizes must be positive, got ", in, "→", out));
        for (auto& w : W_)
            w = static_cast<T>(init(rng, in, out));
        b_.fill(T(0));
        zero_grad();
    }

    /// Takes given weights W [out, in] and bias b [out]. Throws shape_error when they disagree
    /// or W is empty.
    Dense(matrix<T> W, vector<T> b) : W_(std::move(W)), b_(std::move(b)), in_(W_.shape()[1]), out_(W_.shape()[0])
    {
        if (W_.size() == 0 || b_.shape()[0] != W_.shape()[0])
            throw shape_error(detail::cat("Dense: weights ", detail::shape_str(W_.shape()),
                                          " and bias ", detail::shape_str(b_.shape()),
                                          " do not match: expected W [out, in] and b [out]"));
        zero_grad();
    }

    std::size_t in_features() const noexcept { return in_; }
    std::size_t out_features() const noexcept { return out_; }
    /// Rows an input must have (0 would mean "any").
    std::size_t input_rows() const noexcept { return in_features(); }
    std::size_t output_rows(std::size_t) const noexcept { return out_features(); }
    std::string name() const { return detail::cat("Dense ", in_features(), "→", out_features()); }
    /// op "Dense", attributes in and out; W decays, b does not.
    LayerSpec spec() const
    {
        return {"Dense",
                {{"in", static_cast<double>(in_features())}, {"out", static_cast<double>(out_features())}},
                {{"W", true, true}, {"b", true, false}}};
    }

    /// X: any 2-D xtensor expression [in, n]. An lvalue matrix<T> is used in place and must stay
    /// alive and unchanged until backward(); anything else is copied (or moved) into a reused buffer.
    /// Returns Z [out, n], owned by the layer. Throws shape_error on a wrong shape.
    template <class E>
    const matrix<T>& forward(E&& x, std::size_t index = standalone, detail::helper_thread* helper = nullptr)
    {
        forward_into(std::forward<E>(x), Z_, index, helper);
        const std::size_t n = Z_.shape()[1];
        for (std::size_t i = 0; i < out_features(); ++i)
            detail::add_bias_row(Z_.data() + i * n, Z_.data() + i * n, n, b_(i));
        return Z_;
    }

    /// The forward pass without its bias, written into a buffer the caller owns: out = W X
    /// [out, n] (resized if needed). A Network uses it to let the next layer add the bias and
    /// apply its activation in place, in one pass; bias() gives the bias to add.
    /// A sparse X (sparse_matrix or sparse_batch) is used in place, as an lvalue matrix is; an
    /// rvalue sparse_matrix is kept by the layer. helper: a second thread for the sparse
    /// products of wide batches (a Network passes its own); the results do not depend on it.
    template <class E>
    void forward_into(E&& x, matrix<T>& out, std::size_t index = standalone, detail::helper_thread* helper = nullptr)
    {
        check_parameters(index);
        detail::check_input(x, in_features(), index, *this);
        if constexpr (detail::is_sparse_v<E>) {
            static_assert(std::is_same_v<typename std::decay_t<E>::value_type, T>,
                          "Dense<T>: a sparse input must hold the layer's scalar type T");
            input_.forget();
            if constexpr (std::is_same_v<std::decay_t<E>, sparse_matrix<T>> && !std::is_lvalue_reference_v<E>)
                sparse_.bind(std::move(x), helper);
            else
                sparse_.bind(sparse_batch<T>(x), helper);
            detail::ensure_shape(out, out_features(), x.shape()[1]);
            sparse_.forward(W_.data(), out_features(), in_features(), out.data());
            // Bound here, so that only programs that pass a sparse input compile its backward.
            sparse_backward_ = [](detail::sparse_products<T>& s, const T* dZ, std::size_t rows, T* dW) {
                s.backward(dZ, rows, dW);
            };
        } else {
            static_cast<void>(helper);
            sparse_.forget();
            const matrix<T>& X = input_.bind(std::forward<E>(x), &out); // d.forward(d.forward(X)) reads a copy
            detail::ensure_shape(out, out_features(), X.shape()[1]);
            xt::blas::gemm(W_, X, out);
        }
    }

    /// The forward pass of evaluation mode, keeping nothing (the layer concept's infer):
    /// out = W X + b [out, n] for X [in, n], any 2-D xtensor expression or a sparse input
    /// (sparse_matrix, sparse_batch; work then holds W^T). The same bits as forward(); const,
    /// so threads may share the layer, each with its own out and work. out must not be X, nor
    /// X a view of out.
    /// Throws shape_error on a wrong shape, std::invalid_argument when out is X.
    template <class E>
    void infer(const E& x, matrix<T>& out, scratch<T>& work, std::size_t index = standalone) const
    {
        check_parameters(index);
        detail::check_input(x, in_features(), index, *this);
        if constexpr (std::is_same_v<E, matrix<T>>) {
            if (&x == &out)
                throw std::invalid_argument(detail::cat(detail::layer_label(index, name()),
                                                        ": infer() cannot write its output over its input"));
        }
        const std::size_t n = x.shape()[1];
        detail::ensure_shape(out, out_features(), n);
        if constexpr (detail::is_sparse_v<E>) {
            static_assert(std::is_same_v<typename E::value_type, T>,
                          "Dense<T>: a sparse input must hold the layer's scalar type T");
            detail::sparse_infer(sparse_batch<T>(x), W_.data(), out_features(), in_features(), work, out.data());
        } else {
            static_cast<void>(work);
            xt::blas::gemm(W_, x, out);
        }
        for (std::size_t i = 0; i < out_features(); ++i)
            detail::add_bias_row(out.data() + i * n, out.data() + i * n, n, b_(i));
    }

    /// dZ [out, n] for the batch of the last forward(). Stores dW and db (overwriting them)
    /// and returns dX [in, n], owned by the layer (rewritten by each backward; a Network
    /// overwrites it in place with the next gradient), or an empty matrix when
    /// need_input_grad is false (the first layer of a network skips that GEMM).
    /// Throws shape_error on a wrong shape, std::logic_error before any forward().
    /// After a sparse forward, need_input_grad must be false (std::logic_error otherwise).
    matrix<T>& backward(const matrix<T>& dZ, bool need_input_grad = true,
                              std::size_t index = standalone)
    {
        const std::size_t n = bound_columns(dZ, need_input_grad, index);
        for (std::size_t i = 0; i < out_features(); ++i)
            db_(i) = detail::sum(dZ.data() + i * n, n); // db = sum over samples of dZ
        return backward_weights(dZ, need_input_grad);
    }

    /// backward() for a dZ whose bias gradient db the caller has already written (a fused
    /// activation pass computes it while it writes dZ).
    matrix<T>& backward_with_bias_grad(const matrix<T>& dZ, bool need_input_grad,
                                             std::size_t index = standalone)
    {
        bound_columns(dZ, need_input_grad, index);
        return backward_weights(dZ, need_input_grad);
    }

    /// W [out, in]. The non-const form is a view of fixed shape: its values can be assigned
    /// (w(i, j) = v, w = expression), its shape cannot be changed. An expression of another
    /// shape is broadcast as xtensor broadcasts, or refused with xt::broadcast_error.
    auto weights() noexcept { return xt::view(W_, xt::all(), xt::all()); }
    const matrix<T>& weights() const noexcept { return W_; }
    /// b [out], a view of fixed shape as weights() is.
    auto bias() noexcept { return xt::view(b_, xt::all()); }
    const vector<T>& bias() const noexcept { return b_; }
    /// dL/dW [out, in] and dL/db [out] from the last backward pass.
    const matrix<T>& weight_grad() const noexcept { return dW_; }
    const vector<T>& bias_grad() const noexcept { return db_; }

    std::size_t parameter_count() const noexcept { return W_.size() + b_.size(); }

    /// Calls f(role, parameter, gradient) for W then b.
    template <class F>
    void visit_parameters(F&& f)
    {
        f("W", W_, dW_);
        f("b", b_, db_);
    }

    void zero_grad()
    {
        dW_ = xt::zeros<T>(W_.shape());
        db_ = xt::zeros<T>(b_.shape());
    }

private:
    // The parameters a visitor hands out are the layer's own containers; one resized there
    // must not let the next GEMM or fused pass run past a buffer.
    void check_parameters(std::size_t index) const
    {
        const bool ok = W_.shape()[0] == out_ && W_.shape()[1] == in_ && dW_.shape() == W_.shape() &&
                        b_.shape()[0] == out_ && db_.shape()[0] == out_;
        if (!ok)
            throw shape_error(detail::cat(detail::layer_label(index, name()), ": parameters were resized (W ",
                                          detail::shape_str(W_.shape()), ", b ", detail::shape_str(b_.shape()), ", dW ",
                                          detail::shape_str(dW_.shape()), ", db ", detail::shape_str(db_.shape()),
                                          "); a layer's shape is fixed when it is built"));
    }

    // Checks dZ against the bound input (dense or sparse) and returns its column count.
    std::size_t bound_columns(const matrix<T>& dZ, bool need_input_grad, std::size_t index) const
    {
        check_parameters(index);
        const matrix<T>* X = input_.get();
        const sparse_batch<T>* S = sparse_.get();
        if (X == nullptr && S == nullptr)
            throw std::logic_error(detail::cat(detail::layer_label(index, name()),
                                               ": backward() called before forward()"));
        if (S != nullptr && need_input_grad)
            throw std::logic_error(detail::cat(detail::layer_label(index, name()),
                                               ": no input gradient for a sparse input (a first layer needs none; "
                                               "pass a dense input to get dL/dX)"));
        const std::size_t n = X != nullptr ? X->shape()[1] : S->cols();
        if (dZ.shape()[0] != out_features() || dZ.shape()[1] != n)
            throw shape_error(detail::cat(detail::layer_label(index, name()), ": expected gradient [",
                                          out_features(), ", ", n, "] (samples are columns), got ",
                                          detail::shape_str(dZ.shape())));
        return n;
    }

    matrix<T>& backward_weights(const matrix<T>& dZ, bool need_input_grad)
    {
        const matrix<T>* X = input_.get();
        if (X == nullptr) { // sparse: dW = dZ X^T over X's non-zeros
            sparse_backward_(sparse_, dZ.data(), out_features(), dW_.data());
            dX_.resize({0, 0});
            return dX_;
        }
        xt::blas::gemm(dZ, *X, dW_, false, true); // dW = dZ X^T
        if (!need_input_grad) {
            dX_.resize({0, 0});
            return dX_;
        }
        detail::ensure_shape(dX_, in_features(), X->shape()[1]);
        xt::blas::gemm(W_, dZ, dX_, true, false); // dX = W^T dZ
        return dX_;
    }

    friend struct detail::dense_access;

    matrix<T> W_, dW_;
    vector<T> b_, db_;
    std::size_t in_, out_;
    matrix<T> Z_, dX_;
    detail::input_binding<T> input_;
    detail::sparse_products<T> sparse_;
    void (*sparse_backward_)(detail::sparse_products<T>&, const T*, std::size_t, T*) = nullptr;
};

} // namespace MININN_ISA
} // namespace mininn
