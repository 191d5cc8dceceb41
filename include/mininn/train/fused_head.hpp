// mininn: the fused classifier head as a network runs it: a chain ending in Dense, an
// elementwise activation, Dense with at most detail::fused_head_max_classes outputs and
// Softmax, trained with CrossEntropy, runs its last four layers as one sweep over column
// blocks (detail/head.hpp) between the two GEMMs of the first Dense.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../core/tensor.hpp"
#include "../detail/head.hpp"
#include "../detail/helper_thread.hpp"
#include "../losses/cross_entropy.hpp"
#include "chain.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

// Batches narrower than this run the head on the calling thread alone: waking a helper costs
// more than it saves.
inline constexpr std::size_t fused_head_parallel_columns = 8192;

// Dense, elementwise activation, Dense, Softmax at the end, trained with CrossEntropy.
template <class Loss, class... Layers>
constexpr bool fuses_head()
{
    using Tuple = std::tuple<Layers...>;
    constexpr std::size_t D = sizeof...(Layers);
    if constexpr (D < 4 || !is_cross_entropy<Loss>)
        return false;
    else
        return is_dense<std::tuple_element_t<D - 4, Tuple>>::value &&
               is_elementwise<std::tuple_element_t<D - 3, Tuple>>::value &&
               is_dense<std::tuple_element_t<D - 2, Tuple>>::value &&
               is_softmax<std::tuple_element_t<D - 1, Tuple>>::value;
}

// Whether the head's class count is one the sweep is compiled for.
template <class Chain>
bool fused_head_fits(const Chain& c)
{
    return c.template get<Chain::depth - 2>().out_features() <= fused_head_max_classes;
}

// The labels and the second Dense layer's parameters, checked before the head runs, so that a
// refused batch leaves the network as it was.
template <class Chain, class X, class L>
void fused_head_check(Chain& c, const X& x, const L& Y)
{
    constexpr std::size_t D = Chain::depth;
    if (x.dimension() == 2)
        CrossEntropy::check_labels<typename Chain::T>(c.template get<D - 2>().out_features(), x.shape()[1], Y);
    dense_access::check_parameters(c.template get<D - 2>(), D - 2);
}

// The last four layers of c on x [in, n], the input of layer D - 4, against labels Y:
// Z = W1 x into the activation's buffer, the head sweep (which writes the probabilities, dW2,
// db2 and db1 and overwrites Z with dZ), then dW1 = dZ x^T. Returns the mean loss and
// dL/dx (computed when need_dx or when layers come before the head). Once x's shape has
// passed, output and input_grad are cleared and consumed is set: the layers' buffers no
// longer hold a forward pass; output points at the probabilities after the sweep.
template <class Chain, class X, class L, class T = typename Chain::T>
std::pair<T, matrix<T>*> fused_head_gradients(Chain& c, X&& x, const L& Y, bool need_dx, head_workspace<T>& ws,
                                              const matrix<T>*& output, const matrix<T>*& input_grad, bool& consumed)
{
    constexpr std::size_t D = Chain::depth;
    auto& dense1 = c.template get<D - 4>();
    auto& act = c.template get<D - 3>();
    auto& dense2 = c.template get<D - 2>();
    auto& softmax = c.template get<D - 1>();
    check_input(x, dense1.input_rows(), D - 4, dense1);
    const std::size_t n = x.shape()[1], h = dense1.out_features(), k = dense2.out_features();
    output = input_grad = nullptr;
    consumed = true;
    matrix<T>& Z = act.output_for(h, n);
    dense1.forward_into(std::forward<X>(x), Z, D - 4, c.template sparse_helper<X>());
    matrix<T>& P = softmax.output_for(k, n);
    helper_thread* helper = c.threads() == 2 && n >= fused_head_parallel_columns ? c.shared_helper() : nullptr;
    const auto& d1 = std::as_const(dense1);
    const auto& d2 = std::as_const(dense2);
    const T total =
        fused_head(act.policy(), Z.data(), h, n, d1.bias().data(), d2.weights().data(), d2.bias().data(), k, Y.data(),
                   P.data(), dense_access::weight_grad(dense2).data(), dense_access::bias_grad(dense2).data(),
                   dense_access::bias_grad(dense1).data(), ws, helper);
    output = &P;
    return {CrossEntropy::mean_loss(total, n), &dense1.backward_with_bias_grad(Z, D > 4 || need_dx, D - 4)};
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
