// mininn: what a layer provides, in one place, checked when a Network is built.
//
// A layer is a copyable value type. T is its scalar type, n the batch size (samples are
// columns), index its position in a Network (standalone when used on its own; it is only for
// error messages). Required:
//
//   using value_type = T;
//   std::string name() const;                          e.g. "Dense 784→64", for messages
//   std::size_t input_rows() const;                    rows an input must have; 0: any
//   std::size_t output_rows(std::size_t rows) const;   rows of the output for inputs of `rows` rows
//   template <class E> const matrix<T>& forward(E&& X, std::size_t index);
//       X: a 2-D xtensor expression [in, n]; returns the output [out, n], owned by the layer and
//       valid until the next forward. Keeps what backward needs. Throws shape_error naming
//       detail::layer_label(index, name()) for a wrong shape (detail::check_input does it).
//   matrix<T>& backward(const matrix<T>& dOut, bool need_input_grad, std::size_t index);
//       dL/dOut [out, n] of the last forward -> dL/dX [in, n], owned by the layer (a Network may
//       overwrite it in place). Stores each parameter's gradient (overwriting, not adding).
//       May skip dL/dX when need_input_grad is false (the first layer of a network).
//   std::size_t parameter_count() const;               scalars in all parameters
//   template <class F> void visit_parameters(F&& f);   f(role, parameter, gradient) for each
//       parameter tensor in a fixed order; role names the tensor ("W", "b") in saved files.
//
// Optional:
//
//   Shape input_shape() const;                       (core/shape.hpp)
//   Shape output_shape(const Shape& in) const;
//       the shape of one sample in and out, for layers of images (channels × height × width):
//       a Network checks them along the chain. Without them: input_rows() and output_rows().
//   LayerSpec spec() const;                          (layers/spec.hpp)
//       the layer as data: op, attributes with exact values, and its tensors with their roles
//       (trained or state; decayed or not), the trained ones in visit_parameters order, then
//       the state in visit_state order. Saved files record it and loading compares it. Without
//       it: name() as the op, no attributes, every parameter trained and decayed.
//   template <class F> void visit_state(F&& f);      f(name, tensor) for each tensor the layer
//       keeps that no optimizer updates (running statistics): saved, checkpointed, broadcast
//       over MPI and restored with the best weights, as the parameters are.
//   static constexpr bool parameter_free = true;
//       a layer template without parameters (Sigmoid, Softmax, ...). A Network rebinds it to
//       its scalar type (Sigmoid{} in a double network is Sigmoid<double>), so it needs a
//       converting constructor template <class U> L(const L<U>&). The network's scalar type is
//       that of its first layer that is not parameter_free.
//   Fusion hooks a Network uses when they are present (check_layer verifies each against the
//   plain path):
//     matrix<T>& output_for(std::size_t rows, std::size_t n);   + const matrix<T>& activate_in_place(const T* bias);
//         the preceding Dense writes W X into output_for(), then activate_in_place adds its bias
//         and applies this layer in place, in one pass (equal to forward(W X + b)).
//     matrix<T>& backward_bias_sum(matrix<T>& dOut, vector<T>& db, std::size_t index);
//         backward in place (dOut becomes dZ) that also writes db[i] = sum_j dZ[i, j], the bias
//         gradient of the Dense layer before it.
//     A hook is used only when its signature matches exactly as written here, and the bias hook
//     only as a pair (half of it is refused at compile time). The fused classifier head is not
//     a hook: it applies only mininn's own elementwise activations (Sigmoid, Tanh, ReLU, ...).
//
//   template <class E> void infer(const E& X, matrix<T>& out, scratch<T>& work, std::size_t index) const;
//       the forward pass of evaluation mode, reading only the layer's parameters: out = the
//       output [out, n] for X [in, n] (out resized when its shape differs; work, memory the
//       layer may resize and use). It changes nothing in the layer, so any number of threads
//       may run it at once on one layer, each with its own out and work; a training step's
//       caches stay in the layer, where forward() keeps them. Network::infer(), predict() and
//       predict_proba() call it. A layer without it is copied, put in evaluation mode and run
//       through forward() instead: the same result, but each call copies the layer.
//   void set_training(bool on);
//       training (true, the default) or evaluation mode, set by Network::train() / eval();
//       layers such as Dropout and BatchNorm act differently in training mode.
//   void set_frozen(bool on);
//       for layers that draw random masks: forward reuses the last mask while frozen, so that
//       the gradient checkers see one function.
//   static constexpr bool splits_batch = true;
//       with forward(X, index, detail::helper_thread* helper) and backward(dOut, need_input_grad,
//       index, helper): a Network allowed two threads (set_threads) passes its helper thread,
//       else null, and the layer shares its batch's columns with it. Its results must be the
//       same bit for bit either way (Conv2D).
//
// check_layer(layer, X) (check_layer.hpp) tests a layer against all of this, numerically.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

#include "../core/shape.hpp"
#include "../core/tensor.hpp"
#include "spec.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

template <class L, class = void>
struct has_value_type : std::false_type {
};
template <class L>
struct has_value_type<L, std::void_t<typename L::value_type>> : std::true_type {
};

template <class L, class = void>
struct is_parameter_free : std::false_type {
};
template <class L>
struct is_parameter_free<L, std::void_t<decltype(L::parameter_free)>> : std::bool_constant<L::parameter_free> {
};

// A visitor that accepts any parameter (a lambda cannot appear in decltype before C++20).
struct any_parameter_visitor {
    template <class P, class G>
    void operator()(const char*, P&, G&) const
    {
    }
};

#define MININN_LAYER_HAS(trait, expr)                                                                                  \
    template <class L, class = void>                                                                                   \
    struct trait : std::false_type {                                                                                   \
    };                                                                                                                 \
    template <class L>                                                                                                 \
    struct trait<L, std::void_t<decltype(expr)>> : std::true_type {                                                    \
    };

MININN_LAYER_HAS(layer_has_name, std::string(std::declval<const L&>().name()))
MININN_LAYER_HAS(layer_has_input_rows, std::size_t(std::declval<const L&>().input_rows()))
MININN_LAYER_HAS(layer_has_output_rows, std::size_t(std::declval<const L&>().output_rows(std::size_t(1))))
MININN_LAYER_HAS(layer_has_forward, static_cast<const matrix<typename L::value_type>&>(std::declval<L&>().forward(
                                        std::declval<const matrix<typename L::value_type>&>(), std::size_t(0))))
MININN_LAYER_HAS(layer_has_backward, static_cast<matrix<typename L::value_type>&>(std::declval<L&>().backward(
                                         std::declval<const matrix<typename L::value_type>&>(), true, std::size_t(0))))
MININN_LAYER_HAS(layer_has_parameter_count, std::size_t(std::declval<const L&>().parameter_count()))
MININN_LAYER_HAS(layer_has_visit_parameters,
                 std::declval<L&>().visit_parameters(any_parameter_visitor{}))

// The fusion hooks. Each is used only when present in full: the bias hook is a pair, and a
// layer with half of it is refused (check_layer_concept), so that a misspelt hook cannot fall
// back to the plain path unnoticed.

MININN_LAYER_HAS(layer_has_output_for,
                 static_cast<matrix<typename L::value_type>&>(std::declval<L&>().output_for(std::size_t(1),
                                                                                            std::size_t(1))))
MININN_LAYER_HAS(layer_has_activate_in_place,
                 static_cast<const matrix<typename L::value_type>&>(
                     std::declval<L&>().activate_in_place(std::declval<const typename L::value_type*>())))
MININN_LAYER_HAS(sums_bias_grad, static_cast<matrix<typename L::value_type>&>(std::declval<L&>().backward_bias_sum(
                                     std::declval<matrix<typename L::value_type>&>(),
                                     std::declval<vector<typename L::value_type>&>(), std::size_t(0))))

MININN_LAYER_HAS(layer_has_infer,
                 std::declval<const L&>().infer(std::declval<const matrix<typename L::value_type>&>(),
                                                std::declval<matrix<typename L::value_type>&>(),
                                                std::declval<scratch<typename L::value_type>&>(), std::size_t(0)))

#undef MININN_LAYER_HAS

// Layers that let the preceding Dense layer write W X into their output buffer, then add its
// bias and apply themselves in place, in one pass.
template <class L>
struct takes_bias : std::bool_constant<layer_has_output_for<L>::value && layer_has_activate_in_place<L>::value> {
};

template <class L, class = void>
struct splits_batch : std::false_type {
};
template <class L>
struct splits_batch<L, std::void_t<decltype(L::splits_batch)>> : std::bool_constant<L::splits_batch> {
};
template <class L, class = void>
struct has_set_training : std::false_type {
};
template <class L>
struct has_set_training<L, std::void_t<decltype(std::declval<L&>().set_training(true))>> : std::true_type {
};
template <class L, class = void>
struct has_set_frozen : std::false_type {
};
template <class L>
struct has_set_frozen<L, std::void_t<decltype(std::declval<L&>().set_frozen(true))>> : std::true_type {
};

template <class L, class = void>
struct layer_has_input_shape : std::false_type {
};
template <class L>
struct layer_has_input_shape<L, std::void_t<decltype(Shape(std::declval<const L&>().input_shape()))>> : std::true_type {
};
template <class L, class = void>
struct layer_has_output_shape : std::false_type {
};
template <class L>
struct layer_has_output_shape<L, std::void_t<decltype(Shape(std::declval<const L&>().output_shape(Shape())))>>
    : std::true_type {
};

// The shape a layer takes and the one it gives for `in`: its own hooks, or its row counts.
template <class L>
Shape input_shape_of(const L& l)
{
    if constexpr (layer_has_input_shape<L>::value)
        return l.input_shape();
    else
        return Shape(l.input_rows());
}
template <class L>
Shape output_shape_of(const L& l, const Shape& in)
{
    if constexpr (layer_has_output_shape<L>::value)
        return l.output_shape(in);
    else
        return Shape(l.output_rows(in.size()));
}

// out = the layer's evaluation-mode output for x, leaving the layer as it is (see infer above).
template <class L, class E>
void infer_of(const L& layer, const E& x, matrix<typename L::value_type>& out, scratch<typename L::value_type>& work,
              std::size_t index)
{
    if constexpr (layer_has_infer<L>::value) {
        layer.infer(x, out, work, index);
    } else {
        L copy(layer);
        if constexpr (has_set_training<L>::value)
            copy.set_training(false);
        out = copy.forward(x, index);
    }
}

/// Checks L against the layer concept above, one static_assert per missing member.
template <class L>
constexpr bool check_layer_concept()
{
    static_assert(has_value_type<L>::value, "a layer needs `using value_type = T;` (see the layer concept in "
                                            "mininn/layers/layer.hpp)");
    if constexpr (!has_value_type<L>::value) {
        return false;
    } else {
        static_assert(layer_has_name<L>::value, "a layer needs `std::string name() const` (mininn/layers/layer.hpp)");
        static_assert(layer_has_input_rows<L>::value,
                      "a layer needs `std::size_t input_rows() const`, 0 for any (mininn/layers/layer.hpp)");
        static_assert(layer_has_output_rows<L>::value,
                      "a layer needs `std::size_t output_rows(std::size_t input_rows) const` (mininn/layers/layer.hpp)");
        static_assert(layer_has_forward<L>::value,
                      "a layer needs `template <class E> const matrix<T>& forward(E&& X, std::size_t index)` "
                      "(mininn/layers/layer.hpp)");
        static_assert(layer_has_backward<L>::value,
                      "a layer needs `matrix<T>& backward(const matrix<T>& dOut, bool need_input_grad, "
                      "std::size_t index)` (mininn/layers/layer.hpp)");
        static_assert(layer_has_parameter_count<L>::value,
                      "a layer needs `std::size_t parameter_count() const` (mininn/layers/layer.hpp)");
        static_assert(layer_has_visit_parameters<L>::value,
                      "a layer needs `template <class F> void visit_parameters(F&& f)` calling f(role, p, g) for "
                      "each parameter, or nothing (mininn/layers/layer.hpp)");
        constexpr bool pair = layer_has_output_for<L>::value == layer_has_activate_in_place<L>::value;
        static_assert(pair,
                      "a layer's fused bias hook is a pair: `matrix<T>& output_for(std::size_t rows, std::size_t n)` "
                      "and `const matrix<T>& activate_in_place(const T* bias)`, both or neither "
                      "(mininn/layers/layer.hpp)");
        constexpr bool shapes = layer_has_input_shape<L>::value == layer_has_output_shape<L>::value;
        static_assert(shapes, "a layer's shape hooks are a pair: `Shape input_shape() const` and `Shape "
                              "output_shape(const Shape& in) const`, both or neither (mininn/layers/layer.hpp)");
        return layer_has_name<L>::value && layer_has_input_rows<L>::value && layer_has_output_rows<L>::value &&
               layer_has_forward<L>::value && layer_has_backward<L>::value && layer_has_parameter_count<L>::value &&
               layer_has_visit_parameters<L>::value && pair && shapes;
    }
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
