// mininn: fusions of adjacent layers, declared by the pair they fuse. A Network walks its chain
// and asks, for each layer A and the layer B after it, whether forward_fusion<A, B> or
// backward_fusion<A, B> holds; a new fusion (a convolution and its activation, say) is a
// specialization here, not a change to Network. The classifier head that fuses three layers
// with the loss is declared the same way, by its layers and the loss (train/fused_head.hpp).
//
// forward_fusion<A, B>::run(a, b, x, index_a, helper) -> const matrix<T>&: the output of b for
//     the input x of a, equal to b.forward(a.forward(x)), in one pass.
// backward_fusion<A, B>::run(a, b, g, need_input_grad, index_b) -> matrix<T>&: dL/d(input of
//     a) from g = dL/d(output of b), with both layers' gradients stored, as b.backward then
//     a.backward would leave them; g is overwritten.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <type_traits>
#include <utility>

#include "../core/tensor.hpp"
#include "../detail/helper_thread.hpp"
#include "activations.hpp"
#include "dense.hpp"
#include "layer.hpp"
#include "softmax.hpp"

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

template <class A, class B, class = void>
struct forward_fusion : std::false_type {
};

// Dense, then a layer with the fused bias hook: W X goes straight into the layer's buffer,
// which then adds the bias and applies itself in place.
template <class T, class B>
struct forward_fusion<Dense<T>, B, std::enable_if_t<takes_bias<B>::value>> : std::true_type {
    template <class E>
    static const matrix<T>& run(Dense<T>& a, B& b, E&& x, std::size_t index, helper_thread* helper)
    {
        check_input(x, a.input_rows(), index, a);
        const std::size_t n = x.shape()[1];
        a.forward_into(std::forward<E>(x), b.output_for(a.out_features(), n), index, helper);
        return b.activate_in_place(std::as_const(a).bias().data());
    }
};

template <class A, class B, class = void>
struct backward_fusion : std::false_type {
};

// Dense, then a layer whose backward also sums the Dense layer's bias gradient.
template <class T, class B>
struct backward_fusion<Dense<T>, B, std::enable_if_t<sums_bias_grad<B>::value>> : std::true_type {
    static matrix<T>& run(Dense<T>& a, B& b, matrix<T>& g, bool need_input_grad, std::size_t index)
    {
        dense_access::check_parameters(a, index - 1);
        matrix<T>& dz = b.backward_bias_sum(g, dense_access::bias_grad(a), index);
        return a.backward_with_bias_grad(dz, need_input_grad, index - 1);
    }
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
