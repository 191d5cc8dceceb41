// mininn: the chain of layers inside a Network: their tuple, the shape check along it, the
// forward and backward passes (with the Dense + activation fusions), the parameter visitors
// and the helper thread the sweeps share.
#pragma once

#include "../core/config.hpp"

#include <array>
#include <cstddef>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "../detail/helper_thread.hpp"
#include "../layers/activations.hpp"
#include "../core/shape.hpp"
#include "../layers/dense.hpp"
#include "../layers/fusion.hpp"
#include "../layers/layer.hpp"
#include "../layers/softmax.hpp"
#include "../layers/spec.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

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
    using type =
        std::conditional_t<!is_parameter_free<L>::value, typename L::value_type, typename net_scalar<M, Ls...>::type>;
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

// Layers in order, with no virtual calls. Network adds the losses, the fused head and the
// buffers of a pass; the chain owns what the layers share: the helper thread and its setting.
// What Network::infer() writes into (see there): each layer's output in a buffer of its own,
// whose shape then stays the same from call to call.
template <class T, std::size_t Depth>
struct infer_workspace {
    std::array<matrix<T>, Depth> buffers;
    scratch<T> work; // what a layer's infer uses besides (W^T for a sparse input, ...)
};

template <class... Layers>
class chain {
public:
    using T = typename net_scalar<Layers...>::type;
    static constexpr std::size_t depth = sizeof...(Layers);
    template <std::size_t I>
    using layer_t = std::tuple_element_t<I, std::tuple<Layers...>>;

    /// Throws shape_error when adjacent layers do not fit, naming both.
    /// Throws std::logic_error when a layer's spec() does not list the tensors it visits.
    explicit chain(Layers... layers) : layers_(std::move(layers)...)
    {
        check_chain<0>(Shape(), "");
        tabulate<0>();
    }

    // A copy takes the layers and the thread setting and starts its own helper thread.
    chain(const chain& o) : layers_(o.layers_), trained_(o.trained_), threads_(o.threads_) {}
    chain(chain&&) noexcept = default;
    chain& operator=(const chain& o)
    {
        layers_ = o.layers_;
        trained_ = o.trained_;
        threads_ = o.threads_;
        return *this;
    }
    chain& operator=(chain&&) noexcept = default;

    template <std::size_t I>
    auto& get() noexcept
    {
        return std::get<I>(layers_);
    }
    template <std::size_t I>
    const auto& get() const noexcept
    {
        return std::get<I>(layers_);
    }
    const std::tuple<Layers...>& layers() const noexcept { return layers_; }

    template <class F>
    void each_layer(F&& f)
    {
        std::apply([&f](auto&... l) { (f(l), ...); }, layers_);
    }

    void set_threads(std::size_t n) noexcept { threads_ = n; }
    std::size_t threads() const noexcept { return threads_; }
    std::size_t helper_sweeps() const noexcept { return helper_ ? helper_->jobs() : 0; }

    // The helper thread, made on first use.
    helper_thread* shared_helper()
    {
        if (!helper_)
            helper_ = std::make_unique<helper_thread>();
        return helper_.get();
    }

    // The helper thread the sparse products of an input may share their work with.
    template <class E>
    helper_thread* sparse_helper()
    {
        if (!is_sparse_v<E> || threads_ != 2)
            return nullptr;
        return shared_helper();
    }

    // The helper thread a layer that splits_batch may share its columns with.
    helper_thread* batch_helper() { return threads_ == 2 ? shared_helper() : nullptr; }

    // Layers [I, End), I < End; returns the output of layer End - 1.
    template <std::size_t I, std::size_t End, class E>
    const matrix<T>& forward_from(E&& x)
    {
        auto& l = std::get<I>(layers_);
        constexpr bool sparse = is_sparse_v<E>;
        static_assert(!sparse || is_dense<std::decay_t<decltype(l)>>::value,
                      "a sparse input (sparse_matrix, sparse_batch) needs a Dense first layer");
        if constexpr (I + 1 < End) {
            using fusion = forward_fusion<layer_t<I>, layer_t<I + 1>>;
            if constexpr (fusion::value) {
                const matrix<T>& a =
                    fusion::run(l, std::get<I + 1>(layers_), std::forward<E>(x), I, sparse_helper<E>());
                if constexpr (I + 2 < End)
                    return forward_from<I + 2, End>(a);
                else
                    return a;
            }
        }
        const matrix<T>& out = [&]() -> const matrix<T>& {
            if constexpr (sparse) {
                return l.forward(std::forward<E>(x), I, sparse_helper<E>());
            } else if constexpr (splits_batch<layer_t<I>>::value) {
                return l.forward(std::forward<E>(x), I, batch_helper());
            } else {
                return l.forward(std::forward<E>(x), I);
            }
        }();
        if constexpr (I + 1 < End)
            return forward_from<I + 1, End>(out);
        else
            return out;
    }

    // Layers I.. in evaluation mode, reading only their parameters (the layer concept's infer);
    // returns the last output.
    template <std::size_t I = 0, class E>
    matrix<T>& infer(const E& x, infer_workspace<T, depth>& ws) const
    {
        static_assert(I > 0 || !is_sparse_v<E> || is_dense<layer_t<0>>::value,
                      "a sparse input (sparse_matrix, sparse_batch) needs a Dense first layer");
        matrix<T>& out = ws.buffers[I];
        infer_of(std::get<I>(layers_), x, out, ws.work, I);
        if constexpr (I + 1 < depth)
            return infer<I + 1>(out, ws);
        else
            return out;
    }

    // infer() of an input that may be one of ws's buffers, which the pass would overwrite:
    // that one is copied first.
    template <class E>
    matrix<T>& infer_copying_own(const E& x, infer_workspace<T, depth>& ws) const
    {
        if constexpr (std::is_same_v<E, matrix<T>>) {
            for (const matrix<T>& b : ws.buffers)
                if (&x == &b)
                    return infer(matrix<T>(x), ws);
        }
        return infer(x, ws);
    }

    // Layers I - 1 and I run backward as one pass (layers/fusion.hpp).
    template <std::size_t I>
    static constexpr bool fuses_backward()
    {
        if constexpr (I == 0)
            return false;
        else
            return backward_fusion<layer_t<I - 1>, layer_t<I>>::value;
    }

    // Layers I, I-1, ..., 0 backwards from g = dL/d(output of I); returns dL/d(input of 0)
    // (empty unless input_grad). g is overwritten.
    template <std::size_t I>
    matrix<T>& backward_from(matrix<T>& g, bool input_grad)
    {
        auto& l = std::get<I>(layers_);
        if constexpr (fuses_backward<I>()) {
            matrix<T>& dx = backward_fusion<layer_t<I - 1>, layer_t<I>>::run(std::get<I - 1>(layers_), l, g,
                                                                             I - 1 > 0 || input_grad, I);
            if constexpr (I >= 2)
                return backward_from<I - 2>(dx, input_grad);
            else
                return dx;
        } else {
            matrix<T>& dx = [&]() -> matrix<T>& {
                if constexpr (splits_batch<layer_t<I>>::value)
                    return l.backward(g, I > 0 || input_grad, I, batch_helper());
                else
                    return l.backward(g, I > 0 || input_grad, I);
            }();
            if constexpr (I >= 1)
                return backward_from<I - 1>(dx, input_grad);
            else
                return dx;
        }
    }

    enum class visit { plain, specs, named };

    // f(p, g), f(tensor_spec, p, g) or f(index, name, role, p, g) for every trained tensor.
    template <std::size_t I, visit How, class F>
    void visit_layers(F& f, std::size_t k = 0)
    {
        if constexpr (I < depth) {
            auto& l = std::get<I>(layers_);
            if constexpr (How == visit::named) {
                const std::string name = l.name();
                l.visit_parameters([&](const char* role, auto& p, auto& g) { f(I, name, role, p, g); });
            } else if constexpr (How == visit::specs) {
                l.visit_parameters([&](const char*, auto& p, auto& g) { f(trained_[k++], p, g); });
            } else {
                l.visit_parameters([&](const char*, auto& p, auto& g) { f(p, g); });
            }
            visit_layers<I + 1, How>(f, k);
        }
    }

    // f(index, tensor_spec, tensor) for every tensor a saved file holds: each layer's trained
    // tensors, then its state.
    template <std::size_t I = 0, class F>
    void visit_tensors(F& f)
    {
        if constexpr (I < depth) {
            auto& l = std::get<I>(layers_);
            const LayerSpec spec = spec_of(l);
            std::size_t k = 0;
            l.visit_parameters([&](const char*, auto& p, auto&) { f(I, spec.tensors[k++], p); });
            if constexpr (layer_has_visit_state<std::decay_t<decltype(l)>>::value)
                l.visit_state([&](const char*, auto& t) { f(I, spec.tensors[k++], t); });
            visit_tensors<I + 1>(f);
        }
    }

    // The shape of one sample after layers I.. for one of shape in (not known: each layer's own).
    template <std::size_t I = 0>
    Shape output_shape(const Shape& in) const
    {
        if constexpr (I < depth) {
            const auto& l = std::get<I>(layers_);
            return output_shape<I + 1>(output_shape_of(l, in.known() ? in : input_shape_of(l)));
        } else {
            return in;
        }
    }

    // Each layer's spec, in order.
    std::vector<LayerSpec> specs() const
    {
        return std::apply([](const auto&... l) { return std::vector<LayerSpec>{spec_of(l)...}; }, layers_);
    }

    std::size_t parameter_count() const
    {
        return std::apply([](const auto&... l) { return (std::size_t(0) + ... + l.parameter_count()); }, layers_);
    }
    // "layer I: name (count parameters)", a line per layer.
    std::string summary() const
    {
        std::ostringstream os;
        summarize<0>(os);
        return os.str();
    }

    // "layer I: name (count parameters)" for layers I.. on.
    template <std::size_t I>
    void summarize(std::ostream& os) const
    {
        if constexpr (I < depth) {
            const auto& l = std::get<I>(layers_);
            std::string trained, state; // the tensors, from the layer's spec
            for (const TensorSpec& t : spec_of(l).tensors) {
                std::string& list = t.trained ? trained : state;
                list += cat(list.empty() ? (t.trained ? ": " : "; state: ") : ", ", t.name);
            }
            os << "layer " << I << ": " << l.name() << " (" << l.parameter_count() << " parameters" << trained << state
               << ")\n";
            summarize<I + 1>(os);
        }
    }

private:
    template <std::size_t I>
    void check_chain(const Shape& in, const std::string& from)
    {
        if constexpr (I < depth) {
            const auto& l = std::get<I>(layers_);
            const Shape need = input_shape_of(l);
            if (I > 0 && !shape_fits(need, in))
                throw shape_error(cat("layer ", I, " (", l.name(), "): expected input ", batch_str(need),
                                      " (samples are columns), but ", from, " outputs ", batch_str(in)));
            check_chain<I + 1>(output_shape_of(l, in.known() ? in : need), cat("layer ", I, " (", l.name(), ")"));
        }
    }

    // Each layer's spec against the tensors it visits, and the trained ones' specs in order
    // (the visitors an optimizer calls every step read them from here, without allocating).
    template <std::size_t I>
    void tabulate()
    {
        if constexpr (I < depth) {
            const auto& l = std::get<I>(layers_);
            const LayerSpec spec = spec_of(l);
            const std::string wrong = spec_mismatch(l, spec);
            if (!wrong.empty())
                throw std::logic_error(cat("layer ", I, " (", l.name(), "): ", wrong));
            for (const TensorSpec& t : spec.tensors)
                if (t.trained)
                    trained_.push_back(t);
            tabulate<I + 1>();
        }
    }

    std::tuple<Layers...> layers_;
    std::vector<TensorSpec> trained_;
    std::unique_ptr<helper_thread> helper_;
    std::size_t threads_ = 2;
};

// A network (anything with training(), train() and eval()) in evaluation mode for the scope's
// lifetime, then in the mode it had, also when an exception leaves.
template <class Net>
class eval_scope {
public:
    explicit eval_scope(Net& net) : net_(net), was_(net.training()) { net_.eval(); }
    ~eval_scope()
    {
        if (was_)
            net_.train();
        else
            net_.eval();
    }
    eval_scope(const eval_scope&) = delete;
    eval_scope& operator=(const eval_scope&) = delete;

private:
    Net& net_;
    bool was_;
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
