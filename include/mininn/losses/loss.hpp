// mininn: what a loss provides, in one place, and the traits a Network reads off a loss.
//
// A loss is a copyable value type with three members (Out is the network's output [k, n],
// one column per sample; Targets is whatever the loss documents that it takes):
//
//   std::string name() const;
//   template <class T> T value(const matrix<T>& Out, const Targets& Y) const;
//       the batch mean loss, a finite scalar; the loss applies the 1/n itself.
//   template <class T> void gradient(const matrix<T>& Out, const Targets& Y, matrix<T>& G) const;
//       dL/dOut [k, n] into G, resized with detail::ensure_shape (so steady steps reuse it).
//
// and optionally
//
//   static constexpr mininn::Task task = Task::...;
//       which metrics fit() and evaluate() report next to the loss (default Task::other: none).
//
// value() and gradient() throw shape_error or label_error for targets that do not fit Out, and
// numeric_error when the loss is NaN or inf. With these, a loss of your own works with
// Network::compute_gradients, loss_value, check_gradients, fit() and evaluate().
//
// The library's losses also have fused paths, chosen at compile time from traits below (not
// from the exact type, so a type derived from CrossEntropy keeps them):
//   - CrossEntropy (and types derived from it) after a final Softmax: dL/dZ = (P - Y) / n, the
//     loss taken from the logits, and the fused classifier head (network.hpp);
//   - BinaryCrossEntropy (and derived types) after a final Sigmoid: dL/dZ = (P - Y) / n, the
//     loss taken from the logits.
// A derived type is trained by these paths as its base; to change the math, write a loss of
// your own instead of deriving. Each of the two also refuses, with a static_assert, a network
// that does not end in its layer.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// What a loss is for, and so which metrics are reported beside it.
enum class Task {
    classification, ///< one class per sample (argmax of the output): accuracy
    binary,         ///< independent 0/1 outputs, thresholded at 0.5: accuracy over all outputs
    regression,     ///< real targets: MSE, MAE and R^2
    other           ///< the loss alone
};

struct CrossEntropy;
struct BinaryCrossEntropy;

namespace detail {

template <class L, class = void>
struct task_member {
    static constexpr Task value = Task::other;
};
template <class L>
struct task_member<L, std::void_t<decltype(L::task)>> {
    static constexpr Task value = L::task;
};

template <class Loss, class T, class Y, class = void>
struct has_loss_value : std::false_type {
};
template <class Loss, class T, class Y>
struct has_loss_value<Loss, T, Y,
                      std::void_t<decltype(std::declval<const Loss&>().value(
                          std::declval<const matrix<T>&>(), std::declval<const Y&>()))>> : std::true_type {
};

template <class Loss, class T, class Y, class = void>
struct has_loss_gradient : std::false_type {
};
template <class Loss, class T, class Y>
struct has_loss_gradient<Loss, T, Y,
                         std::void_t<decltype(std::declval<const Loss&>().gradient(
                             std::declval<const matrix<T>&>(), std::declval<const Y&>(), std::declval<matrix<T>&>()))>>
    : std::true_type {
};

// A loss may declare `template <class T, class Y> static constexpr bool accepts()`, which
// static_asserts with its own message when it does not take targets Y; a Network checks it first.
template <class Loss, class T, class Y, class = void>
struct has_accepts : std::false_type {
};
template <class Loss, class T, class Y>
struct has_accepts<Loss, T, Y, std::void_t<decltype(Loss::template accepts<T, Y>())>> : std::true_type {
};
template <class Loss, class T, class Y>
constexpr bool loss_accepts()
{
    if constexpr (has_accepts<Loss, T, Y>::value)
        return Loss::template accepts<T, Y>();
    else
        return true;
}

/// Checks a loss type against the concept above for outputs of scalar type T and targets Y.
template <class Loss, class T, class Y>
constexpr bool check_loss_concept()
{
    if constexpr (!loss_accepts<Loss, T, Y>()) {
        return false;
    } else {
        static_assert(has_loss_value<Loss, T, Y>::value,
                      "this loss has no `T value(const matrix<T>& out, const Targets& y) const` for these targets: "
                      "see the loss concept in mininn/losses/loss.hpp (or the targets are of a type the loss does not take)");
        static_assert(has_loss_gradient<Loss, T, Y>::value,
                      "this loss has no `void gradient(const matrix<T>& out, const Targets& y, matrix<T>& G) const` "
                      "for these targets: see the loss concept in mininn/losses/loss.hpp");
        return has_loss_value<Loss, T, Y>::value && has_loss_gradient<Loss, T, Y>::value;
    }
}

/// The batch mean total / n of a summed loss. Throws numeric_error, naming the loss, when it is
/// NaN or inf.
template <class T>
T checked_mean_loss(const char* who, T total, std::size_t n)
{
    const T loss = total / static_cast<T>(n);
    if (!std::isfinite(loss))
        throw numeric_error(cat(who, ": the loss is ", std::isnan(loss) ? "nan" : "inf",
                                ": the network output or the targets contain NaN or inf"));
    return loss;
}

template <class Y>
constexpr bool is_index_vector = std::is_integral_v<typename Y::value_type>&& Y::rank == 1;

} // namespace detail

/// The Task a loss declares (Task::other when it declares none).
template <class Loss>
inline constexpr Task task_of = detail::task_member<Loss>::value;

/// True for CrossEntropy and types derived from it: the fused softmax paths apply.
template <class Loss>
inline constexpr bool is_cross_entropy = std::is_base_of_v<CrossEntropy, Loss>;

/// True for BinaryCrossEntropy and types derived from it: the fused sigmoid path applies.
template <class Loss>
inline constexpr bool is_binary_cross_entropy = std::is_base_of_v<BinaryCrossEntropy, Loss>;

} // namespace MININN_ISA
} // namespace mininn
