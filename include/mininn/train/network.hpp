// mininn: a feed-forward network composed at compile time from a tuple of layers.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <xtensor/xview.hpp>

#include "../layers/activations.hpp"
#include "../losses/binary_cross_entropy.hpp"
#include "../losses/cross_entropy.hpp"
#include "../layers/dense.hpp"
#include "../detail/head.hpp"
#include "../detail/helper_thread.hpp"
#include "../core/errors.hpp"
#include "../layers/layer.hpp"
#include "../losses/loss.hpp"
#include "../layers/softmax.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

template <class L>
struct is_dense : std::false_type {
};
template <class T>
struct is_dense<Dense<T>> : std::true_type {
};

template <class L>
struct is_softmax : std::false_type {
};
template <class T>
struct is_softmax<Softmax<T>> : std::true_type {
};

template <class L>
struct is_sigmoid : std::false_type {
};
template <class T>
struct is_sigmoid<Sigmoid<T>> : std::true_type {
};

// The network's scalar type: that of its first layer that is not parameter_free, else of its
// first layer.
template <class... Ls>
struct net_scalar;
template <class L>
struct net_scalar<L> {
    using type = typename L::value_type;
};
template <class L, class M, class... Ls>
struct net_scalar<L, M, Ls...> {
    using type = std::conditional_t<!is_parameter_free<L>::value, typename L::value_type,
                                    typename net_scalar<M, Ls...>::type>;
};

// Parameter-free layers written without a scalar type (Sigmoid{} is Sigmoid<float>) take
// the network's; every other layer keeps its own, and must agree.
template <class L, class T, bool = is_parameter_free<L>::value>
struct rebind {
    using type = L;
};
template <template <class> class Tmpl, class U, class T>
struct rebind<Tmpl<U>, T, true> {
    using type = Tmpl<T>;
};
template <class L, class T>
using rebind_t = typename rebind<L, T>::type;

} // namespace detail

/// A feed-forward network: Network net{Dense<float>(784, 64, init::normal, rng), Sigmoid{},
/// Dense<float>(64, 10, init::normal, rng), Softmax{}};
///
/// Layers run in order with no virtual calls. Inputs are [features, n] (samples are
/// columns), outputs [outputs, n]. Every activation and gradient buffer is owned by a layer
/// and reused while the batch size stays the same, so a steady training step does not
/// allocate. Adjacent Dense + activation layers run fused (bias, activation and bias
/// gradient each in one pass); a final Softmax trained with CrossEntropy uses the fused
/// gradient (P - Y) / n. A network ending in Dense, activation, Dense (at most 16 outputs),
/// Softmax trains its last three layers in one sweep (see compute_gradients).
template <class... Layers>
class Network {
    static_assert(sizeof...(Layers) > 0, "a Network needs at least one layer");
    static_assert((detail::check_layer_concept<Layers>() && ...), "every layer must meet the layer concept");

public:
    using value_type = typename detail::net_scalar<Layers...>::type;
    using T = value_type;
    static_assert((std::is_same_v<typename Layers::value_type, T> && ...),
                  "all layers of a Network must use the same scalar type (e.g. Dense<float> everywhere)");
    static constexpr std::size_t depth = sizeof...(Layers);

    /// Throws shape_error when adjacent layers do not fit, naming both.
    explicit Network(Layers... layers) : layers_(std::move(layers)...) { check_chain<0>(0, ""); }

    // Copies and moves take the layers, the mode and the thread setting; output() and
    // input_grad() refer to the original's buffers, so they start empty. A copy starts its own
    // helper thread.
    Network(const Network& o)
        : layers_(o.layers_), threads_(o.threads_), head_consumed_(o.head_consumed_), training_(o.training_)
    {
    }
    Network(Network&& o) noexcept
        : layers_(std::move(o.layers_)), helper_(std::move(o.helper_)), threads_(o.threads_),
          head_consumed_(o.head_consumed_), training_(o.training_)
    {
    }
    Network& operator=(const Network& o)
    {
        layers_ = o.layers_;
        threads_ = o.threads_;
        head_consumed_ = o.head_consumed_;
        training_ = o.training_;
        output_ = input_grad_ = nullptr;
        return *this;
    }
    Network& operator=(Network&& o) noexcept
    {
        layers_ = std::move(o.layers_);
        helper_ = std::move(o.helper_);
        threads_ = o.threads_;
        head_consumed_ = o.head_consumed_;
        training_ = o.training_;
        output_ = input_grad_ = nullptr;
        return *this;
    }

    /// Training mode, the default: layers such as Dropout act in forward(), compute_gradients()
    /// and fit()'s batches. Evaluation mode: they pass their input through. predict(),
    /// predict_proba() and evaluate() always run in evaluation mode, and restore the mode after.
    void train() { set_training(true); }
    void eval() { set_training(false); }
    bool training() const noexcept { return training_; }

    /// Freezes (true) or thaws the random masks of layers that draw them (Dropout): while
    /// frozen, forward passes reuse the last masks. The gradient checkers freeze them.
    void freeze_masks(bool on)
    {
        each_layer([on](auto& layer) {
            if constexpr (detail::has_set_frozen<std::decay_t<decltype(layer)>>::value)
                layer.set_frozen(on);
        });
    }

    /// Threads for the sweeps mininn runs itself, 1 or 2 (default 2; OpenBLAS's own threads
    /// are set with OPENBLAS_NUM_THREADS). With 2, the fused classifier head of a batch of at
    /// least fused_head_parallel_columns samples, and the sparse products of a sparse input of
    /// at least detail::sparse_parallel_work multiply-adds, share their work with one helper
    /// thread, started on first use and only when the process may run on two or more cores.
    /// Throws std::invalid_argument for any other count.
    void set_threads(std::size_t n)
    {
        if (n != 1 && n != 2)
            throw std::invalid_argument(detail::cat("Network::set_threads: expected 1 or 2, got ", n));
        threads_ = n;
    }
    std::size_t threads() const noexcept { return threads_; }

    /// Sweeps that the helper thread has shared: 0 until set_threads(2) and a batch big enough
    /// (see set_threads) start it, and 0 on a machine that lets the process use one
    /// core. Results do not depend on it: they are the same bit for bit with one thread or two.
    std::size_t helper_sweeps() const noexcept { return helper_ ? helper_->jobs() : 0; }

    /// Batches narrower than this run the fused head on the calling thread alone: waking a
    /// helper costs more than it saves.
    static constexpr std::size_t fused_head_parallel_columns = 8192;

    template <std::size_t I>
    auto& layer() noexcept
    {
        return std::get<I>(layers_);
    }
    template <std::size_t I>
    const auto& layer() const noexcept
    {
        return std::get<I>(layers_);
    }

    /// X [in, n] (any 2-D xtensor expression; an lvalue matrix<T> is used in place and must
    /// outlive backward, except the network's own output() or input_grad(), which is copied)
    /// -> output [out, n], owned by the network. Throws shape_error naming the layer.
    template <class E>
    const matrix<T>& forward(E&& X)
    {
        if constexpr (!detail::is_sparse_v<E>) {
            if (is_own_buffer(X)) // net.forward(net.output()): the pass would overwrite its input
                return forward(matrix<T>(X));
        }
        head_consumed_ = false;
        output_ = &forward_from<0, depth>(std::forward<E>(X));
        return *output_;
    }

    /// The output [out, n] of the last forward() (also run by compute_gradients).
    /// Throws std::logic_error before any forward().
    const matrix<T>& output() const
    {
        if (output_ == nullptr)
            throw std::logic_error("Network::output(): no forward() yet");
        return *output_;
    }

    /// The predicted class of each column of X [in, n] -> [n]: the index of the largest output,
    /// or, for a network with one output that ends in Sigmoid, 1 where that output is >= 0.5
    /// and 0 elsewhere. Throws std::logic_error for any other one-output network (a regression
    /// output has no class: use forward()), and shape_error as forward() does.
    template <class E>
    label_vector predict(const E& X)
    {
        const eval_scope scope(*this);
        const matrix<T>& out = forward(X);
        const std::size_t K = out.shape()[0], n = out.shape()[1];
        label_vector labels = xt::zeros<std::size_t>({n});
        if (K == 1) {
            if constexpr (!detail::is_sigmoid<Last>::value)
                throw std::logic_error("Network::predict: the network has one output and does not end in Sigmoid, "
                                       "so there is no class to pick; use forward() for a real-valued output");
            for (std::size_t j = 0; j < n; ++j)
                labels(j) = out(0, j) >= T(0.5) ? 1 : 0;
            return labels;
        }
        vector<T> best = xt::view(out, 0, xt::all());
        for (std::size_t i = 1; i < K; ++i)
            for (std::size_t j = 0; j < n; ++j)
                if (out(i, j) > best(j)) {
                    best(j) = out(i, j);
                    labels(j) = i;
                }
        return labels;
    }

    /// The network's output probabilities for X [in, n]: [K, n] class probabilities (each column
    /// sums to 1) after a final Softmax, or [k, n] probabilities of each output being 1 after a
    /// final Sigmoid. Other networks are refused at compile time. Throws as forward() does.
    template <class E>
    matrix<T> predict_proba(const E& X)
    {
        static_assert(detail::is_softmax<Last>::value || detail::is_sigmoid<Last>::value,
                      "predict_proba: a network's outputs are probabilities only when it ends in Softmax{} or "
                      "Sigmoid{}; use forward() for other outputs");
        const eval_scope scope(*this);
        return forward(X);
    }

    /// Backpropagates dL/d(output) [out, n] for the batch of the last forward(), storing every
    /// parameter gradient. With input_grad, also computes dL/dX [in, n] (see input_grad()).
    /// Throws std::logic_error after a compute_gradients() that ran the fused head, which
    /// leaves no hidden activations behind: run forward() again first.
    void backward(const matrix<T>& grad_output, bool input_grad = false)
    {
        if (head_consumed_)
            throw std::logic_error("Network::backward(): the last compute_gradients() consumed the "
                                   "forward pass (fused head); call forward() again first");
        if (&grad_output != &grad_) { // backward passes work in place; keep the caller's intact
            detail::ensure_shape(grad_, grad_output.shape()[0], grad_output.shape()[1]);
            xt::noalias(grad_) = grad_output;
        }
        input_grad_ = &backward_from<depth - 1>(grad_, input_grad);
    }

    /// Forward, loss and backward for one batch; returns the loss. Targets as the loss takes
    /// them (CrossEntropy: class indices [n] or one-hot [K, n]; BinaryCrossEntropy: 0/1 [k, n]
    /// or, for one output, labels [n]; MeanSquaredError: real [k, n]). Any loss that meets the
    /// concept in loss.hpp works. CrossEntropy needs a final Softmax and BinaryCrossEntropy a
    /// final Sigmoid (static_asserts say so); the last layer's backward is then skipped in
    /// favour of the fused gradient (P - Y) / n, and the loss is taken from the logits.
    ///
    /// When the network ends in Dense, an elementwise activation, Dense with at most
    /// detail::fused_head_max_classes outputs and Softmax, trained with CrossEntropy, the
    /// last three layers run as one sweep over column blocks (detail/head.hpp) between the
    /// two GEMMs of the Dense layer before them: it never stores their activations, so
    /// afterwards output() holds the probabilities but backward() needs a new forward().
    /// Probabilities below e^-65 (float) or e^-531 (double) come out as exactly 0.
    template <class Loss, class E, class L>
    T compute_gradients(const Loss& loss, E&& X, const L& Y, bool input_grad = false)
    {
        if constexpr (!detail::is_sparse_v<E>) {
            if (is_own_buffer(X))
                return compute_gradients(loss, matrix<T>(X), Y, input_grad);
        }
        if (is_own_buffer(Y))
            return compute_gradients(loss, std::forward<E>(X), L(Y), input_grad);
        if constexpr (detail::is_sparse_v<E>) {
            if (input_grad)
                throw std::logic_error("Network::compute_gradients: no input gradient for a sparse input; pass a "
                                       "dense input to get dL/dX");
        }
        if constexpr (!check_loss_fits<Loss, L>())
            return T(0); // a static_assert has said why
        else
            return gradients_of(loss, std::forward<E>(X), Y, input_grad);
    }

    /// The loss of the network's output for X against Y, without gradients.
    /// With a final Softmax and CrossEntropy, or a final Sigmoid and BinaryCrossEntropy, the
    /// loss is taken from the logits, exactly as compute_gradients takes it.
    template <class Loss, class E, class L>
    T loss_value(const Loss& loss, const E& X, const L& Y)
    {
        if constexpr (!check_loss_fits<Loss, L>())
            return T(0);
        else if constexpr (is_binary_cross_entropy<Loss>)
            return loss.value_from_logits(forward_to_logits(X), Y);
        else
            return loss_of_output(loss, forward(X), Y);
    }

private:
    template <class Loss, class E, class L>
    T gradients_of(const Loss& loss, E&& X, const L& Y, bool input_grad)
    {
        if constexpr (fuses_head<Loss>()) {
            if (std::get<depth - 2>(layers_).out_features() <= detail::fused_head_max_classes)
                return head_gradients(std::forward<E>(X), Y, input_grad);
        }
        if constexpr (is_binary_cross_entropy<Loss>) {
            const T value = loss.value_from_logits(forward_to_logits(std::forward<E>(X)), Y);
            loss.sigmoid_gradient(*output_, Y, grad_);
            if constexpr (depth == 1)
                input_grad_ = &grad_;
            else
                input_grad_ = &backward_from<depth - 2>(grad_, input_grad);
            return value;
        }
        const matrix<T>& out = forward(std::forward<E>(X));
        if constexpr (is_cross_entropy<Loss>) {
            const T value = loss_of_output(loss, out, Y);
            loss.softmax_gradient(out, Y, grad_);
            if constexpr (depth == 1)
                input_grad_ = &grad_;
            else
                input_grad_ = &backward_from<depth - 2>(grad_, input_grad);
            return value;
        } else {
            const T value = loss_of_output(loss, out, Y);
            loss.gradient(out, Y, grad_);
            backward(grad_, input_grad);
            return value;
        }
    }

public:
    /// dL/dX [in, n] from the last backward or compute_gradients with input_grad = true.
    /// Throws std::logic_error when it was not requested.
    const matrix<T>& input_grad() const
    {
        if (input_grad_ == nullptr || input_grad_->size() == 0)
            throw std::logic_error("Network::input_grad(): call backward() or compute_gradients() "
                                   "with input_grad = true first");
        return *input_grad_;
    }

    /// Calls f(parameter, gradient) for every parameter tensor, in a fixed order (layer by
    /// layer; W before b). Optimizers key their state on this position.
    template <class F>
    void visit_parameters(F&& f)
    {
        visit_layers<0, visit::plain>(f); // optimizers call this every step: no layer names built
    }

    /// Calls f(role, parameter, gradient) in the same order: role "W" (weights) or "b" (biases),
    /// which weight decay tells apart.
    template <class F>
    void visit_parameter_roles(F&& f)
    {
        visit_layers<0, visit::roles>(f);
    }

    /// Calls f(layer_index, layer_name, role, parameter, gradient), role "W" or "b".
    template <class F>
    void visit_named_parameters(F&& f)
    {
        visit_layers<0, visit::named>(f);
    }

    /// Number of scalar parameters.
    std::size_t parameter_count() const
    {
        return std::apply([](const auto&... l) { return (std::size_t(0) + ... + l.parameter_count()); }, layers_);
    }

    /// One line per layer with its parameter count.
    std::string summary() const
    {
        std::ostringstream os;
        summarize<0>(os);
        return os.str();
    }

    /// Evaluation mode for its lifetime, then the mode before it (also when an exception leaves).
    class eval_scope {
    public:
        explicit eval_scope(Network& net) : net_(net), was_(net.training()) { net_.eval(); }
        ~eval_scope() { net_.set_training(was_); }
        eval_scope(const eval_scope&) = delete;
        eval_scope& operator=(const eval_scope&) = delete;

    private:
        Network& net_;
        bool was_;
    };

private:
    using Last = std::tuple_element_t<depth - 1, std::tuple<Layers...>>;

    void set_training(bool on)
    {
        training_ = on;
        each_layer([on](auto& layer) {
            if constexpr (detail::has_set_training<std::decay_t<decltype(layer)>>::value)
                layer.set_training(on);
        });
    }

    template <class F>
    void each_layer(F&& f)
    {
        std::apply([&f](auto&... l) { (f(l), ...); }, layers_);
    }

    // The compile-time half of "the loss must fit the network".
    template <class Loss, class Y>
    static constexpr bool check_loss_fits()
    {
        constexpr bool ce_ok = !is_cross_entropy<Loss> || detail::is_softmax<Last>::value;
        constexpr bool bce_ok = !is_binary_cross_entropy<Loss> || detail::is_sigmoid<Last>::value;
        static_assert(ce_ok, "CrossEntropy takes class probabilities: end the network with Softmax{} (for one yes/no "
                             "output, end it with Sigmoid{} and use BinaryCrossEntropy; for real targets use "
                             "MeanSquaredError)");
        static_assert(bce_ok, "BinaryCrossEntropy takes probabilities: end the network with Sigmoid{} (for one class "
                              "out of several, end it with Softmax{} and use CrossEntropy)");
        if constexpr (ce_ok && bce_ok)
            return detail::check_loss_concept<Loss, T, Y>();
        else
            return false;
    }

    // Forward with the final Sigmoid run as a layer of its own (not fused into the Dense layer
    // before it), so that its logits stay in the previous layer's output; returns them [k, n].
    template <class E>
    const matrix<T>& forward_to_logits(E&& X)
    {
        head_consumed_ = false;
        auto& sigmoid = std::get<depth - 1>(layers_);
        if constexpr (depth == 1) {
            logits_ = X;
            output_ = &sigmoid.forward(logits_, 0);
            return logits_;
        } else {
            const matrix<T>& Z = forward_from<0, depth - 1>(std::forward<E>(X));
            output_ = &sigmoid.forward(Z, depth - 1);
            return Z;
        }
    }

    // The loss of the last forward pass, whose output is out. After a final Softmax a
    // cross-entropy is taken from the logits, as the fused head takes it.
    template <class Loss, class L>
    T loss_of_output(const Loss& loss, const matrix<T>& out, const L& Y)
    {
        if constexpr (detail::is_softmax<Last>::value && is_cross_entropy<Loss>)
            return loss.value_from_logits(std::get<depth - 1>(layers_).logits(), Y, loss_work_);
        else
            return loss.value(out, Y);
    }

    // True when x is a buffer this network rewrites during a pass (output(), input_grad()).
    template <class E>
    bool is_own_buffer(const E& x) const noexcept
    {
        if constexpr (std::is_same_v<std::decay_t<E>, matrix<T>>)
            return &x == output_ || &x == input_grad_ || &x == &grad_;
        else
            return false;
    }

    template <std::size_t I>
    void check_chain(std::size_t rows, const std::string& from)
    {
        if constexpr (I < depth) {
            const auto& l = std::get<I>(layers_);
            const std::size_t need = l.input_rows();
            if (I > 0 && need != 0 && rows != 0 && need != rows)
                throw shape_error(detail::cat("layer ", I, " (", l.name(), "): expected input [", need,
                                              ", n] (samples are columns), but ", from, " outputs [", rows, ", n]"));
            check_chain<I + 1>(l.output_rows(rows), detail::cat("layer ", I, " (", l.name(), ")"));
        }
    }

    // Layers [I, End), I < End; returns the output of layer End - 1.
    template <std::size_t I, std::size_t End, class E>
    const matrix<T>& forward_from(E&& x)
    {
        auto& l = std::get<I>(layers_);
        constexpr bool sparse = detail::is_sparse_v<E>;
        static_assert(!sparse || detail::is_dense<std::decay_t<decltype(l)>>::value,
                      "a sparse input (sparse_matrix, sparse_batch) needs a Dense first layer");
        if constexpr (I + 1 < End && detail::is_dense<std::decay_t<decltype(l)>>::value) {
            auto& next = std::get<I + 1>(layers_);
            if constexpr (detail::takes_bias<std::decay_t<decltype(next)>>::value) {
                detail::check_input(x, l.input_rows(), I, l);
                const std::size_t n = x.shape()[1];
                l.forward_into(std::forward<E>(x), next.output_for(l.out_features(), n), I, sparse_helper<E>());
                const matrix<T>& a = next.activate_in_place(std::as_const(l).bias().data());
                if constexpr (I + 2 < End)
                    return forward_from<I + 2, End>(a);
                else
                    return a;
            }
        }
        const matrix<T>& out = [&]() -> const matrix<T>& {
            if constexpr (sparse) {
                return l.forward(std::forward<E>(x), I, sparse_helper<E>());
            } else {
                return l.forward(std::forward<E>(x), I);
            }
        }();
        if constexpr (I + 1 < End)
            return forward_from<I + 1, End>(out);
        else
            return out;
    }

    // The helper thread the sparse products of an input may share their work with.
    template <class E>
    detail::helper_thread* sparse_helper()
    {
        if (!detail::is_sparse_v<E> || threads_ != 2)
            return nullptr;
        return shared_helper();
    }

    // The network's helper thread, made on first use.
    detail::helper_thread* shared_helper()
    {
        if (!helper_)
            helper_ = std::make_unique<detail::helper_thread>();
        return helper_.get();
    }

    // Dense, elementwise activation, Dense, Softmax at the end, trained with CrossEntropy.
    template <class Loss>
    static constexpr bool fuses_head()
    {
        using Tuple = std::tuple<Layers...>;
        if constexpr (depth < 4 || !is_cross_entropy<Loss>)
            return false;
        else
            return detail::is_dense<std::tuple_element_t<depth - 4, Tuple>>::value &&
                   detail::is_elementwise<std::tuple_element_t<depth - 3, Tuple>>::value &&
                   detail::is_dense<std::tuple_element_t<depth - 2, Tuple>>::value &&
                   detail::is_softmax<std::tuple_element_t<depth - 1, Tuple>>::value;
    }

    // compute_gradients through the fused head: the layers before the last four as usual,
    // Z = W1 X into the activation's buffer, the head sweep (which overwrites Z with dZ and
    // writes db1), then dW1 = dZ X^T and the rest of the backward pass.
    template <class E, class L>
    T head_gradients(E&& X, const L& Y, bool input_grad)
    {
        constexpr std::size_t D = depth;
        auto& dense1 = std::get<D - 4>(layers_);
        auto& act = std::get<D - 3>(layers_);
        auto& dense2 = std::get<D - 2>(layers_);
        auto& softmax = std::get<D - 1>(layers_);
        // Labels and shapes first: a refused batch leaves the network as it was.
        if (X.dimension() == 2)
            CrossEntropy::check_labels<T>(dense2.out_features(), X.shape()[1], Y);
        dense2.check_parameters(D - 2);
        auto run = [&](auto&& x) {
            detail::check_input(x, dense1.input_rows(), D - 4, dense1);
            const std::size_t n = x.shape()[1], h = dense1.out_features(), c = dense2.out_features();
            output_ = input_grad_ = nullptr;
            head_consumed_ = true; // from here on the layers' buffers no longer hold a forward pass
            matrix<T>& Z = act.output_for(h, n);
            dense1.forward_into(std::forward<decltype(x)>(x), Z, D - 4, sparse_helper<decltype(x)>());
            matrix<T>& P = softmax.output_for(c, n);
            detail::helper_thread* helper = nullptr;
            if (threads_ == 2 && n >= fused_head_parallel_columns)
                helper = shared_helper();
            const T total =
                detail::fused_head(act.policy(), Z.data(), h, n, std::as_const(dense1).bias().data(),
                                   std::as_const(dense2).weights().data(), std::as_const(dense2).bias().data(), c, Y.data(), P.data(), dense2.weight_grad_buffer().data(),
                                   dense2.bias_grad_buffer().data(), dense1.bias_grad_buffer().data(), head_ws_, helper);
            output_ = &P;
            const T value = CrossEntropy::mean_loss(total, n);
            return std::pair<T, matrix<T>*>(value, &dense1.backward_with_bias_grad(Z, D > 4 || input_grad, D - 4));
        };
        std::pair<T, matrix<T>*> r;
        if constexpr (D == 4)
            r = run(std::forward<E>(X));
        else
            r = run(forward_from<0, D - 4>(std::forward<E>(X)));
        if constexpr (D > 4)
            input_grad_ = &backward_from<D - 5>(*r.second, input_grad);
        else
            input_grad_ = r.second;
        return r.first;
    }

    // Layer I computes the bias gradient of a Dense layer I - 1 in its own backward pass.
    template <std::size_t I>
    static constexpr bool fuses_backward()
    {
        using Tuple = std::tuple<Layers...>;
        if constexpr (I == 0)
            return false;
        else
            return detail::is_dense<std::tuple_element_t<I - 1, Tuple>>::value &&
                   detail::sums_bias_grad<std::tuple_element_t<I, Tuple>>::value;
    }

    template <std::size_t I>
    matrix<T>& backward_from(matrix<T>& g, bool input_grad)
    {
        auto& l = std::get<I>(layers_);
        if constexpr (fuses_backward<I>()) {
            auto& dense = std::get<I - 1>(layers_);
            dense.check_parameters(I - 1);
            matrix<T>& dz = l.backward_bias_sum(g, dense.bias_grad_buffer(), I);
            matrix<T>& dx = dense.backward_with_bias_grad(dz, I - 1 > 0 || input_grad, I - 1);
            if constexpr (I >= 2)
                return backward_from<I - 2>(dx, input_grad);
            else
                return dx;
        } else {
            matrix<T>& dx = l.backward(g, I > 0 || input_grad, I);
            if constexpr (I >= 1)
                return backward_from<I - 1>(dx, input_grad);
            else
                return dx;
        }
    }

    enum class visit { plain, roles, named };

    // f(p, g), f(role, p, g) or f(index, name, role, p, g).
    template <std::size_t I, visit How, class F>
    void visit_layers(F& f)
    {
        if constexpr (I < depth) {
            auto& l = std::get<I>(layers_);
            if constexpr (How == visit::named) {
                const std::string name = l.name();
                l.visit_parameters([&](const char* role, auto& p, auto& g) { f(I, name, role, p, g); });
            } else if constexpr (How == visit::roles) {
                l.visit_parameters([&](const char* role, auto& p, auto& g) { f(role, p, g); });
            } else {
                l.visit_parameters([&](const char*, auto& p, auto& g) { f(p, g); });
            }
            visit_layers<I + 1, How>(f);
        }
    }

    template <std::size_t I>
    void summarize(std::ostream& os) const
    {
        if constexpr (I < depth) {
            const auto& l = std::get<I>(layers_);
            os << "layer " << I << ": " << l.name() << " (" << l.parameter_count() << " parameters)\n";
            summarize<I + 1>(os);
        }
    }

    std::tuple<Layers...> layers_;
    std::unique_ptr<detail::helper_thread> helper_;
    detail::head_workspace<T> head_ws_;
    std::size_t threads_ = 2;
    bool head_consumed_ = false;
    bool training_ = true;
    matrix<T> grad_, loss_work_, logits_;
    const matrix<T>* input_grad_ = nullptr;
    const matrix<T>* output_ = nullptr;
};

template <class... Ls>
Network(Ls...) -> Network<detail::rebind_t<Ls, typename detail::net_scalar<Ls...>::type>...>;

} // namespace MININN_ISA
} // namespace mininn
