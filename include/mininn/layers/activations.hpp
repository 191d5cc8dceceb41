// mininn: elementwise activation layers (Sigmoid, Tanh, ReLU, LeakyReLU, Identity).
//
// Each activation is a policy with f(z) and its derivative written in terms of the output
// a = f(z), so a layer keeps only its output for backward. The layers share one template,
// detail::elementwise, which also provides the passes a Network fuses with the preceding
// Dense layer: bias + activation in one pass forward, activation gradient + bias gradient in
// one pass backward.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <type_traits>
#include <utility>
#include <string>

#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "spec.hpp"

MININN_SIMD_WARNINGS_OFF

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

template <class T, class Policy>
class elementwise {
public:
    using value_type = T;
    static constexpr bool parameter_free = true;

    elementwise() = default;
    explicit elementwise(Policy p) : policy_(p) {}
    /// Rebinding across scalar types (a Network makes Sigmoid<float>{} a Sigmoid<double>).
    template <class U>
    elementwise(const elementwise<U, Policy>& other) : policy_(other.policy())
    {
    }

    const Policy& policy() const noexcept { return policy_; }
    std::string name() const { return policy_.name(); }
    LayerSpec spec() const { return policy_.spec(); }
    std::size_t input_rows() const noexcept { return 0; }
    std::size_t output_rows(std::size_t rows) const noexcept { return rows; }

    /// Z [k, n] -> A = f(Z) [k, n], owned by the layer. Throws shape_error unless Z is 2-D.
    template <class E>
    const matrix<T>& forward(const E& z, std::size_t index = standalone)
    {
        check_input(z, 0, index, *this);
        const matrix<T>& Z = input_.bind(z);
        output_for(Z.shape()[0], Z.shape()[1]);
        return apply(Z.data(), nullptr);
    }

    /// The forward pass of evaluation mode, keeping nothing (the layer concept's infer):
    /// out = f(Z) [k, n]; out may be Z itself. Throws shape_error unless Z is 2-D.
    template <class E>
    void infer(const E& z, matrix<T>& out, scratch<T>&, std::size_t index = standalone) const
    {
        check_input(z, 0, index, *this);
        const std::size_t k = z.shape()[0], n = z.shape()[1];
        const T* src = nullptr;
        if constexpr (std::is_same_v<E, matrix<T>>) {
            src = z.data();
            ensure_shape(out, k, n);
        } else {
            out = z;
            src = out.data();
        }
        const auto& pol = policy_;
        for (std::size_t i = 0; i < k; ++i)
            map(src + i * n, out.data() + i * n, n, [&pol](auto v) { return pol.f(v); });
    }

    /// The layer's output buffer, sized [k, n], for a preceding Dense layer to write W X into;
    /// activate_in_place() then finishes the forward pass.
    matrix<T>& output_for(std::size_t k, std::size_t n)
    {
        ensure_shape(A_, k, n);
        return A_;
    }

    /// A = f(A + b) in place, b [k] added to every column (bias may be null): the bias and the
    /// activation in one pass.
    const matrix<T>& activate_in_place(const T* bias) { return apply(A_.data(), bias); }

    /// dA [k, n] -> dZ = dA * f'(Z) [k, n], owned by the layer. The flag is accepted for a
    /// uniform layer interface; an activation always computes its input gradient.
    /// Throws shape_error when dA does not match the last forward output.
    matrix<T>& backward(const matrix<T>& dA, bool = true, std::size_t index = standalone)
    {
        check_gradient(dA, A_, index, *this);
        const std::size_t k = A_.shape()[0], n = A_.shape()[1];
        ensure_shape(dZ_, k, n);
        for (std::size_t i = 0; i < k; ++i)
            map(dA.data() + i * n, A_.data() + i * n, dZ_.data() + i * n, n, derivative());
        return dZ_;
    }

    /// backward() in place, dA becoming dZ, that also writes db[i] = sum_j dZ[i, j], the bias
    /// gradient of the Dense layer before this one, in the same pass.
    matrix<T>& backward_bias_sum(matrix<T>& dA, vector<T>& db, std::size_t index = standalone)
    {
        check_gradient(dA, A_, index, *this);
        const std::size_t k = A_.shape()[0], n = A_.shape()[1];
        for (std::size_t i = 0; i < k; ++i)
            db(i) = map_sum(dA.data() + i * n, A_.data() + i * n, dA.data() + i * n, n, derivative());
        return dA;
    }

    const matrix<T>& output() const noexcept { return A_; }

    std::size_t parameter_count() const noexcept { return 0; }
    template <class F>
    void visit_parameters(F&&)
    {
    }

private:
    const matrix<T>& apply(const T* src, const T* bias)
    {
        const std::size_t k = A_.shape()[0], n = A_.shape()[1];
        const auto& pol = policy_;
        for (std::size_t i = 0; i < k; ++i) {
            const T bi = bias ? bias[i] : T(0);
            map(src + i * n, A_.data() + i * n, n, [bi, &pol](auto v) { return pol.f(v + bi); });
        }
        return A_;
    }

    auto derivative() const
    {
        const auto& pol = policy_;
        return [&pol](auto g, auto a) { return g * pol.df(a); };
    }

    Policy policy_{};
    matrix<T> A_, dZ_;
    input_binding<T> input_;
};

// mininn's own elementwise activations: the layers derived from elementwise<T, Policy>, whose
// policy the fused classifier head (train/fused_head.hpp) applies inside its sweep. Not a hook
// of the layer concept: a layer of your own runs through its forward and backward.
template <class T, class Policy>
std::true_type derives_elementwise(const elementwise<T, Policy>*);
std::false_type derives_elementwise(...);
template <class L>
struct is_elementwise : decltype(derives_elementwise(std::declval<const L*>())) {
};

struct sigmoid_policy {
    std::string name() const { return "Sigmoid"; }
    LayerSpec spec() const { return {"Sigmoid", {}, {}}; }
    // Branch on the sign so exp never overflows: e^-|z| is in (0, 1].
    template <class V>
    V f(V z) const
    {
        using S = scalar_of_t<V>;
        const V e = exp_nonpositive(negative_abs(z));
        const V r = recip(S(1) + e);
        return select(z >= S(0), r, e * r);
    }
    template <class V>
    V df(V a) const
    {
        using S = scalar_of_t<V>;
        return a * (S(1) - a); // sigma'(z) = sigma(z) (1 - sigma(z))
    }
};

struct tanh_policy {
    std::string name() const { return "Tanh"; }
    LayerSpec spec() const { return {"Tanh", {}, {}}; }
    template <class V>
    V f(V z) const
    {
        return tanh_kernel(z);
    }
    template <class V>
    V df(V a) const
    {
        using S = scalar_of_t<V>;
        return S(1) - a * a; // tanh'(z) = 1 - tanh(z)^2
    }
};

struct leaky_relu_policy {
    double alpha = 0.0;
    std::string name() const { return alpha == 0.0 ? "ReLU" : cat("LeakyReLU(", alpha, ")"); }
    LayerSpec spec() const
    {
        return alpha == 0.0 ? LayerSpec{"ReLU", {}, {}} : LayerSpec{"LeakyReLU", {{"alpha", alpha}}, {}};
    }
    template <class V>
    V f(V z) const
    {
        using S = scalar_of_t<V>;
        return select(z > S(0), z, z * S(alpha));
    }
    template <class V>
    V df(V a) const
    {
        using S = scalar_of_t<V>;
        return select(a > S(0), V(S(1)), V(S(alpha))); // f'(z) = 1 if z > 0 else alpha (sign(a) = sign(z))
    }
};

struct identity_policy {
    std::string name() const { return "Identity"; }
    LayerSpec spec() const { return {"Identity", {}, {}}; }
    template <class V>
    V f(V z) const
    {
        return z;
    }
    template <class V>
    V df(V) const
    {
        using S = scalar_of_t<V>;
        return V(S(1)); // f'(z) = 1
    }
};

} // namespace detail

/// Logistic sigmoid, 1 / (1 + e^-z), overflow-safe for any |z|. Shapes: [k, n] -> [k, n].
template <class T = float>
class Sigmoid : public detail::elementwise<T, detail::sigmoid_policy> {
    using base = detail::elementwise<T, detail::sigmoid_policy>;

public:
    Sigmoid() = default;
    template <class U>
    Sigmoid(const Sigmoid<U>& other) : base(other)
    {
    }
};

/// Hyperbolic tangent. Shapes: [k, n] -> [k, n].
template <class T = float>
class Tanh : public detail::elementwise<T, detail::tanh_policy> {
    using base = detail::elementwise<T, detail::tanh_policy>;

public:
    Tanh() = default;
    template <class U>
    Tanh(const Tanh<U>& other) : base(other)
    {
    }
};

/// max(z, 0). Shapes: [k, n] -> [k, n]. Its derivative at 0 is taken as 0.
template <class T = float>
class ReLU : public detail::elementwise<T, detail::leaky_relu_policy> {
    using base = detail::elementwise<T, detail::leaky_relu_policy>;

public:
    ReLU() = default;
    template <class U>
    ReLU(const ReLU<U>& other) : base(other)
    {
    }
};

/// z for z > 0, alpha z otherwise (alpha > 0). Shapes: [k, n] -> [k, n].
/// Throws std::invalid_argument unless 0 < alpha < 1.
template <class T = float>
class LeakyReLU : public detail::elementwise<T, detail::leaky_relu_policy> {
    using base = detail::elementwise<T, detail::leaky_relu_policy>;

public:
    explicit LeakyReLU(double alpha = 0.01) : base(detail::leaky_relu_policy{check(alpha)}) {}
    template <class U>
    LeakyReLU(const LeakyReLU<U>& other) : base(other)
    {
    }
    double alpha() const noexcept { return this->policy().alpha; }

private:
    static double check(double alpha)
    {
        // alpha must keep the sign of z so the derivative can be read from the output.
        if (!(alpha > 0.0 && alpha < 1.0))
            throw std::invalid_argument(detail::cat("LeakyReLU: alpha must be in (0, 1), got ", alpha));
        return alpha;
    }
};

/// f(z) = z: a linear output, e.g. for regression. Shapes: [k, n] -> [k, n].
template <class T = float>
class Identity : public detail::elementwise<T, detail::identity_policy> {
    using base = detail::elementwise<T, detail::identity_policy>;

public:
    Identity() = default;
    template <class U>
    Identity(const Identity<U>& other) : base(other)
    {
    }
};

} // namespace MININN_ISA
} // namespace mininn

MININN_SIMD_WARNINGS_ON
