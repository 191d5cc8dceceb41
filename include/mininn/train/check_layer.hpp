// mininn: check_layer(), a layer tested against the layer concept (layer.hpp), numerically.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "../detail/kernels.hpp"
#include "../core/errors.hpp"
#include "gradcheck.hpp"
#include "../layers/layer.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

struct LayerCheckOptions {
    double step = 1e-6;      ///< central-difference step; about 1e-3 for float
    double tolerance = 1e-6; ///< largest relative error of a gradient, and of a fused hook against the plain path
    std::uint64_t seed = 11; ///< for the output gradient R and the bias of the fused forward check
};

/// One property of the layer: what was checked, whether it held, and if not, why.
struct LayerCheck {
    std::string what;
    bool passed = false;
    std::string detail;
};

struct LayerReport {
    std::string layer;
    std::vector<LayerCheck> checks;
    bool passed() const
    {
        for (const auto& c : checks)
            if (!c.passed)
                return false;
        return !checks.empty();
    }
    /// One line per check, e.g. "Dense 3→2: gradient of W: ok (rel error 2.1e-10)".
    std::string str() const
    {
        std::ostringstream os;
        for (const auto& c : checks)
            os << layer << ": " << c.what << ": " << (c.passed ? "ok" : "FAILED") << (c.detail.empty() ? "" : " (")
               << c.detail << (c.detail.empty() ? "" : ")") << "\n";
        return os.str();
    }
};

namespace detail {
template <class A, class B>
double max_relative_difference(const A& a, const B& b)
{
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = static_cast<double>(a.data()[i]), y = static_cast<double>(b.data()[i]);
        const double d = std::abs(x - y) / std::max(1.0, std::abs(x) + std::abs(y));
        worst = std::max(worst, std::isnan(d) ? INFINITY : d);
    }
    return worst;
}
} // namespace detail

/// Tests a copy of layer on the batch X [in, n] (n >= 1) against the layer concept:
///   - forward: an output of [output_rows(in), n], finite, the same bit for bit when repeated,
///     and X left unchanged;
///   - backward: dL/dX of X's shape, parameter gradients of their parameters' shapes that are
///     overwritten, not accumulated, by a second backward, and parameter_count() equal to the
///     parameters' sizes;
///   - the gradient of L = sum(output * R), R random, against central differences, for the input
///     and every parameter (relative error within tolerance; zero gradients fail);
///   - infer(), when the layer has it, against forward() in evaluation mode; spec() (or the
///     default one) against the tensors the layer visits;
///   - each fusion hook the layer has against the plain path: activate_in_place(b) on W X equal
///     to forward(W X + b), and backward_bias_sum equal to backward with db its row sums.
/// Returns a report; nothing throws for a broken layer except what the layer itself throws.
template <class Layer, class T>
LayerReport check_layer(const Layer& original, const matrix<T>& X, const LayerCheckOptions& opt = {})
{
    static_assert(detail::check_layer_concept<Layer>());
    static_assert(std::is_same_v<typename Layer::value_type, T>, "check_layer: X must have the layer's scalar type");
    Layer layer = original;
    LayerReport r;
    r.layer = layer.name();
    // The detail is kept for failures, and for gradients, whose error is worth seeing.
    auto add = [&](std::string what, bool ok, std::string detail = {}) {
        const bool keep = !ok || what.rfind("gradient", 0) == 0;
        r.checks.push_back(LayerCheck{std::move(what), ok, keep ? std::move(detail) : std::string()});
        return ok;
    };
    const std::size_t d = X.shape()[0], n = X.shape()[1];
    const std::size_t need = layer.input_rows(), rows = layer.output_rows(d);
    if (!add("input rows", need == 0 || need == d, detail::cat("input_rows() is ", need, ", X has ", d)))
        return r;
    const matrix<T> X0 = X;
    const matrix<T> out = layer.forward(X, standalone);
    if constexpr (detail::has_set_frozen<Layer>::value)
        layer.set_frozen(true); // one mask for every pass below
    const std::array<std::size_t, 2> want{rows, n};
    if (!add("forward shape", out.dimension() == 2 && out.shape()[0] == rows && out.shape()[1] == n,
             detail::cat("got ", detail::shape_str(out.shape()), ", expected ", detail::shape_str(want))))
        return r;
    add("forward finite", detail::all_finite(out.data(), out.size()));
    add("forward repeatable", matrix<T>(layer.forward(X, standalone)) == out, "a second forward gave other values");
    add("input unchanged by forward", X == X0);

    Rng rng(opt.seed);
    matrix<T> R(typename matrix<T>::shape_type{rows, n});
    for (auto& v : R)
        v = static_cast<T>(rng.normal());
    layer.forward(X, standalone);
    const matrix<T> dX = layer.backward(R, true, standalone);
    add("backward shape", dX.shape() == X.shape(),
        detail::cat("dL/dX is ", detail::shape_str(dX.shape()), ", X is ", detail::shape_str(X.shape())));
    std::size_t count = 0;
    bool shapes = true;
    std::vector<xt::xarray<T>> first;
    layer.visit_parameters([&](const char*, auto& p, auto& g) {
        count += p.size();
        shapes = shapes && p.shape().size() == g.shape().size() && std::equal(p.shape().begin(), p.shape().end(), g.shape().begin());
        first.emplace_back(g);
    });
    add("parameter gradients shaped as parameters", shapes);
    add("parameter_count", count == layer.parameter_count(),
        detail::cat("parameter_count() is ", layer.parameter_count(), ", the parameters hold ", count));
    layer.forward(X, standalone);
    layer.backward(R, true, standalone);
    std::size_t k = 0;
    bool overwritten = true;
    layer.visit_parameters([&](const char*, auto&, auto& g) { overwritten = overwritten && xt::xarray<T>(g) == first[k++]; });
    add("backward overwrites gradients", overwritten, "a second backward changed them: gradients accumulate");

    GradientCheckOptions g;
    g.step = opt.step;
    g.tolerance = opt.tolerance;
    const GradientReport numeric = check_layer_gradients(layer, X, R, g);
    for (const auto& c : numeric.checks)
        add(detail::cat("gradient of ", c.role), c.passed,
            detail::cat("rel error ", c.relative_error, " over ", c.entries, " entries, analytic norm ", c.analytic_norm,
                        ", numeric ", c.numeric_norm));

    if constexpr (detail::layer_has_infer<Layer>::value) {
        Layer plain_layer = original; // forward in evaluation mode, against the const infer
        if constexpr (detail::has_set_training<Layer>::value)
            plain_layer.set_training(false);
        const matrix<T> plain = plain_layer.forward(X, standalone);
        matrix<T> inferred;
        scratch<T> work;
        original.infer(X, inferred, work, standalone);
        const double e =
            inferred.shape() == plain.shape() ? detail::max_relative_difference(inferred, plain) : INFINITY;
        add("infer equals forward in evaluation mode", e <= opt.tolerance, detail::cat("max difference ", e));
    }
    {
        const std::string wrong = detail::spec_mismatch(layer, detail::spec_of(layer));
        add("spec lists the tensors the layer visits", wrong.empty(), wrong);
    }
    if constexpr (detail::takes_bias<Layer>::value) {
        vector<T> b(typename vector<T>::shape_type{rows});
        for (auto& v : b)
            v = static_cast<T>(rng.normal());
        matrix<T> Xb = X;
        for (std::size_t i = 0; i < rows && i < d; ++i)
            for (std::size_t j = 0; j < n; ++j)
                Xb(i, j) += b(i);
        const matrix<T> plain = layer.forward(Xb, standalone);
        xt::noalias(layer.output_for(d, n)) = X;
        const matrix<T>& fused = layer.activate_in_place(b.data());
        const double e = fused.shape() == plain.shape() ? detail::max_relative_difference(fused, plain) : INFINITY;
        add("fused bias + forward (activate_in_place)", e <= opt.tolerance, detail::cat("max difference ", e));
    }
    if constexpr (detail::sums_bias_grad<Layer>::value) {
        layer.forward(X, standalone);
        const matrix<T> plain = layer.backward(R, true, standalone);
        layer.forward(X, standalone);
        matrix<T> dA = R;
        vector<T> db(typename vector<T>::shape_type{rows});
        const matrix<T>& fused = layer.backward_bias_sum(dA, db, standalone);
        vector<T> sums = xt::zeros<T>({rows});
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < n; ++j)
                sums(i) += plain(i, j);
        const double e = fused.shape() == plain.shape()
                             ? std::max(detail::max_relative_difference(fused, plain),
                                        detail::max_relative_difference(db, sums))
                             : INFINITY;
        add("fused backward + bias sum (backward_bias_sum)", e <= opt.tolerance, detail::cat("max difference ", e));
    }
    return r;
}

} // namespace MININN_ISA
} // namespace mininn
