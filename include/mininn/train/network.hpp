// mininn: a feed-forward network composed at compile time from a tuple of layers.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../detail/head.hpp"
#include "../layers/layer.hpp"
#include "../losses/binary_cross_entropy.hpp"
#include "../losses/cross_entropy.hpp"
#include "../losses/loss.hpp"
#include "chain.hpp"
#include "fused_head.hpp"
#include "output_fusion.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// A feed-forward network: Network net{Dense<float>(784, 64, init::normal, rng), Sigmoid{},
/// Dense<float>(64, 10, init::normal, rng), Softmax{}};
///
/// Layers run in order with no virtual calls. Inputs are [features, n] (samples are
/// columns), outputs [outputs, n]. A training step's buffers are owned by the layers and
/// reused while the batch size stays the same, so a steady step does not allocate; infer()
/// writes into the caller's Workspace instead. The fusions a step runs are declared by the
/// layers they fuse (layers/fusion.hpp, output_fusion.hpp, fused_head.hpp).
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

    /// Throws shape_error when adjacent layers do not fit, naming both, and std::logic_error
    /// when a layer's spec() does not list the tensors it visits.
    explicit Network(Layers... layers) : chain_(std::move(layers)...) {}

    // Copies and moves take the layers, the mode and the thread setting; output() and
    // input_grad() refer to the original's buffers, so they start empty. A copy starts its own
    // helper thread.
    Network(const Network& o) : chain_(o.chain_), head_consumed_(o.head_consumed_), training_(o.training_) {}
    Network(Network&& o) noexcept
        : chain_(std::move(o.chain_)), head_consumed_(o.head_consumed_), training_(o.training_)
    {
    }
    Network& operator=(const Network& o)
    {
        chain_ = o.chain_;
        head_consumed_ = o.head_consumed_;
        training_ = o.training_;
        output_ = input_grad_ = nullptr;
        return *this;
    }
    Network& operator=(Network&& o) noexcept
    {
        chain_ = std::move(o.chain_);
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
        chain_.each_layer([on](auto& layer) {
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
        chain_.set_threads(n);
    }
    std::size_t threads() const noexcept { return chain_.threads(); }

    /// Sweeps that the helper thread has shared: 0 until set_threads(2) and a batch big enough
    /// (see set_threads) start it, and 0 on a machine that lets the process use one
    /// core. Results do not depend on it: they are the same bit for bit with one thread or two.
    std::size_t helper_sweeps() const noexcept { return chain_.helper_sweeps(); }

    /// Batches narrower than this run the fused head on the calling thread alone: waking a
    /// helper costs more than it saves.
    static constexpr std::size_t fused_head_parallel_columns = detail::fused_head_parallel_columns;

    template <std::size_t I>
    auto& layer() noexcept
    {
        return chain_.template get<I>();
    }
    template <std::size_t I>
    const auto& layer() const noexcept
    {
        return chain_.template get<I>();
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
        output_ = &chain_.template forward_from<0, depth>(std::forward<E>(X));
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

    /// What infer() writes into: one for each thread that runs it. It keeps a buffer for each
    /// layer's output, resized when the batch size changes, so calls with batches of a steady
    /// size do not allocate.
    using Workspace = detail::infer_workspace<T, depth>;

    /// The output [out, n] for X [in, n] (a 2-D xtensor expression, or a sparse input as
    /// forward() takes one), as forward() gives it in evaluation mode, bit for bit, whatever
    /// the network's mode. It reads the parameters and changes nothing else: threads may share
    /// one network, each with its own Workspace. The result lives in ws until ws is used
    /// again. Throws shape_error naming the layer, as forward() does.
    template <class E>
    const matrix<T>& infer(const E& X, Workspace& ws) const
    {
        return chain_.infer_copying_own(X, ws);
    }

    /// infer() in a workspace of its own (allocated for the call): the output, by value.
    template <class E>
    matrix<T> infer(const E& X) const
    {
        Workspace ws;
        return std::move(chain_.infer(X, ws));
    }

    /// The class of each column of X [in, n] -> [n]: the row of the largest output, or, for one
    /// output after a final Sigmoid, 1 where it is >= 0.5. Runs infer() (with ws, or one made
    /// for the call), so threads may share the network. Throws std::logic_error for any other
    /// one-output network (a regression has no class: use infer()), shape_error as infer().
    template <class E>
    label_vector predict(const E& X, Workspace& ws) const
    {
        return detail::classes_of(infer(X, ws), detail::output_kind<Last> == detail::output_kind_t::probabilities,
                                  "Network::predict: the network");
    }
    template <class E>
    label_vector predict(const E& X) const
    {
        Workspace ws;
        return predict(X, ws);
    }

    /// The network's output probabilities for X [in, n]: [K, n] class probabilities (each column
    /// sums to 1) after a final Softmax, or [k, n] probabilities of each output being 1 after a
    /// final Sigmoid. Other networks are refused at compile time. Const, as infer(); throws as
    /// infer() does.
    template <class E>
    matrix<T> predict_proba(const E& X) const
    {
        static_assert(detail::output_kind<Last> != detail::output_kind_t::values,
                      "predict_proba: a network's outputs are probabilities only when it ends in Softmax{} or "
                      "Sigmoid{}; use infer() for other outputs");
        return infer(X);
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
        input_grad_ = &chain_.template backward_from<depth - 1>(grad_, input_grad);
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
        else
            return loss_of_pass(loss, X, Y);
    }

private:
    template <class Loss, class E, class L>
    T gradients_of(const Loss& loss, E&& X, const L& Y, bool input_grad)
    {
        if constexpr (detail::fuses_head<Loss, Layers...>()) {
            if (detail::fused_head_fits(chain_))
                return head_gradients(std::forward<E>(X), Y, input_grad);
        }
        const T value = loss_of_pass(loss, std::forward<E>(X), Y);
        using fusion = detail::output_fusion<Loss, Last>;
        if constexpr (fusion::value) { // the gradient of the logits, in place of the last layer's backward
            fusion::gradient(loss, *output_, Y, grad_);
            if constexpr (depth == 1)
                input_grad_ = &grad_;
            else
                input_grad_ = &chain_.template backward_from<depth - 2>(grad_, input_grad);
        } else {
            loss.gradient(*output_, Y, grad_);
            backward(grad_, input_grad);
        }
        return value;
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
        chain_.template visit_layers<0, chain_type::visit::plain>(f); // every step: no names built
    }

    /// Calls f(spec, parameter, gradient) in the same order (TensorSpec: name, decayed or not).
    template <class F>
    void visit_parameter_specs(F&& f)
    {
        chain_.template visit_layers<0, chain_type::visit::specs>(f);
    }

    /// Calls f(layer_index, spec, tensor) for every tensor a saved file holds: each layer's
    /// trained parameters (in visit_parameters order), then its state (in visit_state order).
    template <class F>
    void visit_tensors(F&& f)
    {
        chain_.visit_tensors(f);
    }

    /// The shape of one output sample for inputs of shape in (by default the first layer's).
    Shape output_shape(const Shape& in = Shape()) const { return chain_.output_shape(in); }

    /// Each layer as data (LayerSpec: op, exact attributes, tensors with their roles).
    std::vector<LayerSpec> specs() const { return chain_.specs(); }

    /// Calls f(layer_index, layer_name, role, parameter, gradient), role "W" or "b".
    template <class F>
    void visit_named_parameters(F&& f)
    {
        chain_.template visit_layers<0, chain_type::visit::named>(f);
    }

    /// Number of scalar parameters.
    std::size_t parameter_count() const { return chain_.parameter_count(); }

    /// One line per layer with its parameter count.
    std::string summary() const { return chain_.summary(); }

    /// Evaluation mode for its lifetime, then the mode before it (also when an exception leaves).
    using eval_scope = detail::eval_scope<Network>;

private:
    using Last = std::tuple_element_t<depth - 1, std::tuple<Layers...>>;
    using chain_type = detail::chain<Layers...>;

    void set_training(bool on)
    {
        training_ = on;
        chain_.each_layer([on](auto& layer) {
            if constexpr (detail::has_set_training<std::decay_t<decltype(layer)>>::value)
                layer.set_training(on);
        });
    }

    // The compile-time half of "the loss must fit the network".
    template <class Loss, class Y>
    static constexpr bool check_loss_fits()
    {
        if constexpr (detail::check_loss_fits_last<Loss, Last>())
            return detail::check_loss_concept<Loss, T, Y>();
        else
            return false;
    }

    // Forward with the last layer run on its own (not fused into the layer before it), so that
    // its input, the logits, stays in the previous layer's output; returns them [k, n].
    template <class E>
    const matrix<T>& forward_to_logits(E&& X)
    {
        head_consumed_ = false;
        auto& last = chain_.template get<depth - 1>();
        if constexpr (depth == 1) {
            logits_ = X;
            output_ = &last.forward(logits_, 0);
            return logits_;
        } else {
            const matrix<T>& Z = chain_.template forward_from<0, depth - 1>(std::forward<E>(X));
            output_ = &last.forward(Z, depth - 1);
            return Z;
        }
    }

    // A forward pass over X, then its loss: from the logits where the loss and the last layer
    // fuse (output_fusion.hpp), as compute_gradients takes it.
    template <class Loss, class E, class L>
    T loss_of_pass(const Loss& loss, E&& X, const L& Y)
    {
        using fusion = detail::output_fusion<Loss, Last>;
        if constexpr (fusion::value) {
            const matrix<T>* input = nullptr;
            if constexpr (fusion::logits_are_input)
                input = &forward_to_logits(std::forward<E>(X));
            else
                forward(std::forward<E>(X));
            return fusion::loss_value(loss, fusion::logits(chain_.template get<depth - 1>(), input), Y, loss_work_);
        } else {
            return loss.value(forward(std::forward<E>(X)), Y);
        }
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

    // compute_gradients through the fused head (train/fused_head.hpp): the layers before the
    // last four as usual, the four in one sweep, then the rest of the backward pass.
    template <class E, class L>
    T head_gradients(E&& X, const L& Y, bool input_grad)
    {
        constexpr std::size_t D = depth;
        detail::fused_head_check(chain_, X, Y); // a refused batch leaves the network as it was
        std::pair<T, matrix<T>*> r;
        if constexpr (D == 4)
            r = detail::fused_head_gradients(chain_, std::forward<E>(X), Y, input_grad, head_ws_, output_, input_grad_,
                                             head_consumed_);
        else
            r = detail::fused_head_gradients(chain_, chain_.template forward_from<0, D - 4>(std::forward<E>(X)), Y,
                                             input_grad, head_ws_, output_, input_grad_, head_consumed_);
        if constexpr (D > 4)
            input_grad_ = &chain_.template backward_from<D - 5>(*r.second, input_grad);
        else
            input_grad_ = r.second;
        return r.first;
    }

    detail::chain<Layers...> chain_;
    detail::head_workspace<T> head_ws_;
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
