// mininn: numeric gradient checks by central differences.
//
// A check passes when the relative error ||a - g|| / (||a|| + ||g||) between the analytic
// gradient a and the numeric one g is below the tolerance. It fails when both are zero, so
// a backward pass that forgets to write its gradients cannot pass by accident.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../core/random.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

struct GradientCheckOptions {
    double step = 1e-6;           ///< central-difference step h; use about 1e-3 for float
    double tolerance = 1e-6;      ///< largest relative error that passes
    std::size_t max_entries = 64; ///< entries checked per tensor (a seeded sample of larger ones)
    bool check_input = true;      ///< also check dL/dX
    std::uint64_t seed = 7;       ///< which entries are sampled
};

/// One checked tensor: a parameter of a layer, or the network input (layer == standalone).
struct GradientCheck {
    std::size_t layer = standalone;
    std::string layer_name;
    std::string role; ///< "W", "b" or "input"
    std::size_t entries = 0;
    double analytic_norm = 0, numeric_norm = 0, relative_error = 0;
    bool passed = false;
};

struct GradientReport {
    std::vector<GradientCheck> checks;
    bool passed() const
    {
        return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.passed; });
    }
    /// One line per tensor, e.g. "layer 0 (Dense 4→3) W: rel error 3.1e-10 over 12 entries: ok".
    std::string str() const
    {
        std::ostringstream os;
        for (const auto& c : checks) {
            os << (c.layer == standalone ? c.layer_name : detail::layer_label(c.layer, c.layer_name)) << ' '
               << c.role << ": rel error " << c.relative_error << " over " << c.entries << " entries (|analytic| "
               << c.analytic_norm << ", |numeric| " << c.numeric_norm << "): "
               << (c.passed ? "ok" : (c.analytic_norm == 0 && c.numeric_norm == 0 ? "FAILED (both zero)" : "FAILED"))
               << '\n';
        }
        return os.str();
    }
};

namespace detail {

/// Compares the analytic gradient of tensor p with central differences of loss(), perturbing
/// a sample of p's entries in place (each is restored).
template <class P, class A>
GradientCheck check_tensor(P& p, const A& analytic, const std::function<double()>& loss,
                           const GradientCheckOptions& opt)
{
    GradientCheck c;
    std::vector<std::size_t> idx(p.size());
    for (std::size_t i = 0; i < idx.size(); ++i)
        idx[i] = i;
    if (idx.size() > opt.max_entries) {
        Rng rng(opt.seed);
        rng.shuffle(idx.begin(), idx.end());
        idx.resize(opt.max_entries);
    }
    double aa = 0, nn = 0, dd = 0;
    for (std::size_t i : idx) {
        auto& v = p.data()[i];
        const auto saved = v;
        using S = std::decay_t<decltype(v)>;
        v = static_cast<S>(saved + opt.step);
        const double up = loss();
        v = static_cast<S>(saved - opt.step);
        const double down = loss();
        v = saved;
        const double num = (up - down) / (2 * opt.step);
        const double an = static_cast<double>(analytic.data()[i]);
        aa += an * an;
        nn += num * num;
        dd += (an - num) * (an - num);
    }
    c.entries = idx.size();
    c.analytic_norm = std::sqrt(aa);
    c.numeric_norm = std::sqrt(nn);
    const double denom = c.analytic_norm + c.numeric_norm;
    c.relative_error = denom > 0 ? std::sqrt(dd) / denom : 0.0;
    c.passed = denom > 0 && c.relative_error <= opt.tolerance;
    return c;
}

} // namespace detail

namespace detail {

template <class Net, class Loss, class XM, class L>
GradientReport check_gradients_impl(Net& net, const Loss& loss, const XM& X, const L& Y, GradientCheckOptions opt)
{
    using T = typename Net::value_type;
    if constexpr (is_sparse_v<XM>)
        opt.check_input = false; // a sparse input has no input gradient
    net.compute_gradients(loss, X, Y, opt.check_input);
    // Random masks (Dropout) stay as this pass drew them, so that every difference below and
    // the analytic gradient see the same function.
    struct thaw {
        Net& net;
        ~thaw() { net.freeze_masks(false); }
    } const thaw_at_exit{net};
    net.freeze_masks(true);
    GradientReport report;
    std::vector<xt::xarray<T>> grads;
    net.visit_parameters([&](auto&, auto& g) { grads.emplace_back(g); });
    matrix<T> input_grad;
    if (opt.check_input)
        input_grad = net.input_grad();

    std::size_t k = 0;
    auto value = [&] { return static_cast<double>(net.loss_value(loss, X, Y)); };
    net.visit_named_parameters([&](std::size_t layer, const std::string& name, const char* role, auto& p, auto&) {
        GradientCheck c = detail::check_tensor(p, grads[k++], value, opt);
        c.layer = layer;
        c.layer_name = name;
        c.role = role;
        report.checks.push_back(c);
    });
    if constexpr (!is_sparse_v<XM>) {
        if (opt.check_input) {
            matrix<T> Xp = X;
            GradientCheck c = detail::check_tensor(
                Xp, input_grad, [&] { return static_cast<double>(net.loss_value(loss, Xp, Y)); }, opt);
            c.layer_name = "network";
            c.role = "input";
            report.checks.push_back(c);
        }
    }
    net.compute_gradients(loss, X, Y, opt.check_input);
    return report;
}

} // namespace detail

/// Checks every parameter gradient of net (and dL/dX) for one batch X [in, n], labels Y.
/// Parameters are restored afterwards; the stored gradients are those of (X, Y).
template <class Net, class Loss, class L>
GradientReport check_gradients(Net& net, const Loss& loss, const matrix<typename Net::value_type>& X, const L& Y,
                               const GradientCheckOptions& opt = {})
{
    return detail::check_gradients_impl(net, loss, X, Y, opt);
}

/// check_gradients() through a sparse input X [in, n] (a sparse_matrix or sparse_batch; the
/// first layer must be Dense). There is no dL/dX to check, so opt.check_input is ignored and
/// the report holds only the parameters.
template <class Net, class Loss, class XS, class L, class = std::enable_if_t<detail::is_sparse_v<XS>>>
GradientReport check_gradients(Net& net, const Loss& loss, const XS& X, const L& Y,
                               const GradientCheckOptions& opt = {})
{
    return detail::check_gradients_impl(net, loss, X, Y, opt);
}

/// Checks one layer on its own with the loss L = sum(layer(X) * R), so dL/d(output) = R.
/// X [in, n] and R [out, n]. Covers dL/dX and every parameter of the layer.
template <class Layer, class T>
GradientReport check_layer_gradients(Layer& layer, const matrix<T>& X, const matrix<T>& R,
                                     const GradientCheckOptions& opt = {})
{
    matrix<T> Xp = X;
    auto value = [&] {
        const matrix<T>& out = layer.forward(Xp);
        double s = 0;
        for (std::size_t i = 0; i < out.size(); ++i)
            s += static_cast<double>(out.data()[i]) * static_cast<double>(R.data()[i]);
        return s;
    };
    layer.forward(Xp);
    const matrix<T> dX = layer.backward(R, true);
    std::vector<xt::xarray<T>> grads;
    std::vector<std::string> roles;
    layer.visit_parameters([&](const char* role, auto&, auto& g) {
        grads.emplace_back(g);
        roles.emplace_back(role);
    });
    GradientReport report;
    std::size_t k = 0;
    layer.visit_parameters([&](const char*, auto& p, auto&) {
        GradientCheck c = detail::check_tensor(p, grads[k], value, opt);
        c.layer_name = layer.name();
        c.role = roles[k++];
        report.checks.push_back(c);
    });
    GradientCheck c = detail::check_tensor(Xp, dX, value, opt);
    c.layer_name = layer.name();
    c.role = "input";
    report.checks.push_back(c);
    return report;
}

} // namespace MININN_ISA
} // namespace mininn
