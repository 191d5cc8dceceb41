// mininn: a loss together with the last layer of a network, declared by the pair (as the layer
// fusions are in layers/fusion.hpp and the classifier head in fused_head.hpp), so that Network
// asks instead of naming either:
//
// check_loss_fits_last<Loss, Last>(): false, with a static_assert saying what to end the
//     network with, when Loss cannot train a network ending in Last.
// output_fusion<Loss, Last>: true when the loss is taken from the logits and its gradient with
//     respect to them is written in one step, in place of Last's backward:
//       logits_are_input   the logits are Last's input, which a forward pass must then keep by
//                          running Last on its own (Sigmoid); false: Last keeps them (Softmax)
//       logits(last, input) -> the logits [k, n], input being Last's input when it was kept
//       loss_value(loss, logits, Y, work) -> the mean loss
//       gradient(loss, out, Y, G)       G = dL/d(logits) [k, n] from the output out
// output_kind<Last>: what a network ending in Last outputs: class probabilities (predict takes
//     the largest), independent probabilities (one output is a yes or no), or values.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <stdexcept>
#include <type_traits>

#include "../core/tensor.hpp"
#include "../layers/activations.hpp"
#include "../layers/fusion.hpp"
#include "../layers/softmax.hpp"
#include "../losses/binary_cross_entropy.hpp"
#include "../losses/cross_entropy.hpp"
#include "../losses/loss.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

enum class output_kind_t { values, class_probabilities, probabilities };
template <class Last>
inline constexpr output_kind_t output_kind = is_softmax<Last>::value   ? output_kind_t::class_probabilities
                                             : is_sigmoid<Last>::value ? output_kind_t::probabilities
                                                                       : output_kind_t::values;

// The class of each column of out [K, n] -> [n]: the row of the largest output, or for one
// output that is a probability, 1 where it is >= 0.5. Throws std::logic_error, its message
// beginning with who (e.g. "Network::predict: the network"), for one output that is not.
template <class T>
label_vector classes_of(const matrix<T>& out, bool probability, const char* who)
{
    const std::size_t K = out.shape()[0], n = out.shape()[1];
    label_vector labels = xt::zeros<std::size_t>({n});
    if (K == 1) {
        if (!probability)
            throw std::logic_error(cat(who, " has one output and does not end in Sigmoid, so there is no class to "
                                            "pick; use infer() for a real-valued output"));
        for (std::size_t j = 0; j < n; ++j)
            labels(j) = out(0, j) >= T(0.5) ? 1 : 0;
        return labels;
    }
    vector<T> best;
    argmax_columns(out, best, labels);
    return labels;
}

template <class Loss, class Last>
constexpr bool check_loss_fits_last()
{
    constexpr bool ce_ok = !is_cross_entropy<Loss> || is_softmax<Last>::value;
    constexpr bool bce_ok = !is_binary_cross_entropy<Loss> || is_sigmoid<Last>::value;
    static_assert(ce_ok, "CrossEntropy takes class probabilities: end the network with Softmax{} (for one yes/no "
                         "output, end it with Sigmoid{} and use BinaryCrossEntropy; for real targets use "
                         "MeanSquaredError)");
    static_assert(bce_ok, "BinaryCrossEntropy takes probabilities: end the network with Sigmoid{} (for one class "
                          "out of several, end it with Softmax{} and use CrossEntropy)");
    return ce_ok && bce_ok;
}

template <class Loss, class Last, class = void>
struct output_fusion : std::false_type {
};

// Softmax with CrossEntropy: the loss from the logits Softmax keeps, dL/dZ = (P - Y) / n.
template <class Loss, class T>
struct output_fusion<Loss, Softmax<T>, std::enable_if_t<is_cross_entropy<Loss>>> : std::true_type {
    static constexpr bool logits_are_input = false;
    static const matrix<T>& logits(const Softmax<T>& last, const matrix<T>*) { return last.logits(); }
    template <class L>
    static T loss_value(const Loss& loss, const matrix<T>& Z, const L& Y, matrix<T>& work)
    {
        return loss.value_from_logits(Z, Y, work);
    }
    template <class L>
    static void gradient(const Loss& loss, const matrix<T>& P, const L& Y, matrix<T>& G)
    {
        loss.softmax_gradient(P, Y, G);
    }
};

// Sigmoid with BinaryCrossEntropy: the loss from the logits before the Sigmoid, dL/dZ = (P - Y) / n.
template <class Loss, class T>
struct output_fusion<Loss, Sigmoid<T>, std::enable_if_t<is_binary_cross_entropy<Loss>>> : std::true_type {
    static constexpr bool logits_are_input = true;
    static const matrix<T>& logits(const Sigmoid<T>&, const matrix<T>* input) { return *input; }
    template <class L>
    static T loss_value(const Loss& loss, const matrix<T>& Z, const L& Y, matrix<T>&)
    {
        return loss.value_from_logits(Z, Y);
    }
    template <class L>
    static void gradient(const Loss& loss, const matrix<T>& P, const L& Y, matrix<T>& G)
    {
        loss.sigmoid_gradient(P, Y, G);
    }
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
