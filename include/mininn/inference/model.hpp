// mininn: Model<T>, a trained network frozen for inference: one type for any architecture,
// const, and shared by any number of threads.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../core/errors.hpp"
#include "../core/shape.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"
#include "../detail/kernels.hpp"
#include "../layers/spec.hpp"
#include "../train/output_fusion.hpp"
#include "fold.hpp"
#include "image_ops.hpp"
#include "ops.hpp"

#include <xtensor/xadapt.hpp>

namespace mininn {
inline namespace MININN_ISA {

/// A network frozen for inference (freeze(net), load_model<T>(path)): a sequence of
/// operations chosen at run time, so one type holds any architecture. Dense layers keep their
/// activation fused in, a BatchNorm after a Dense or Conv2D is folded into its weights,
/// Dropout is gone, Softmax stays. Every member is const and reads only
/// the weights: threads may share one Model, each with its own Workspace (or the one each
/// thread keeps when none is passed).
///
/// Batches narrower than small_batch_limit() run one sample at a time through a kernel that
/// skips zero inputs (the rows of W^T they would pick); wider ones run through BLAS.
/// Results equal the network's forward pass in evaluation mode to rounding, and are the same
/// bit for bit from run to run and whatever the number of threads.
template <class T>
class Model {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "Model<T>: T is float or double");

public:
    using value_type = T;

    /// One thread's memory for infer(): kept between calls, so that calls with batches of a
    /// steady size do not allocate.
    struct Workspace {
        std::vector<scratch<T>> buffers; // each operation's output
        scratch<T> input, softmax;       // an expression's values; softmax's column maxima and sums
        scratch<T> patches;              // a convolution's patch matrix
        detail::affine_scratch<T> affine;
    };

    /// The default small_batch_limit(), measured on the seed network (examples/bench/README.md).
    static constexpr std::size_t default_small_batch_limit = 64;

    /// From layer specs (as LayerSpec describes them) and each layer's tensors in spec order.
    /// input_features, the width of a sample, may be 0 when the first layer is a Dense (its
    /// "in" fixes it); a model of activations alone (an imported graph may be one) needs it.
    /// Throws std::invalid_argument naming the layer for an op with no frozen form, sizes that
    /// are not positive integers (or above 2^32 inputs), a LeakyReLU alpha outside (0, 1), or
    /// a weight that is NaN or infinite (the one-sample kernel skips zero inputs, so it would
    /// not meet it where BLAS would), and for no Dense and no input_features; shape_error for
    /// tensors or sizes that do not fit the spec, the layer before or input_features.
    Model(const std::vector<LayerSpec>& layers, const std::vector<std::vector<std::vector<T>>>& tensors,
          std::size_t input_features = 0)
        : Model(fold(layers, tensors), input_features)
    {
    }

    /// Features of one input sample, and of one output.
    std::size_t input_features() const noexcept { return in_; }
    std::size_t output_features() const noexcept { return out_; }
    /// Whether predict() has classes to give: several outputs, or one after a Sigmoid.
    bool predicts_classes() const noexcept { return out_ > 1 || kind_ == kind::probabilities; }
    /// Whether the outputs are probabilities: the model ends in Softmax or Sigmoid.
    bool outputs_probabilities() const noexcept { return kind_ != kind::values; }
    /// The specs it was built from (Dropout included), as saved files describe them, with each
    /// BatchNorm it folded gone and the layer before it changed (a Conv2D gains a bias).
    const std::vector<LayerSpec>& specs() const noexcept { return specs_; }
    /// Each spec's tensors in spec order, as the constructor took them (Dense: W [out, in]
    /// row-major, then b [out]): what an exporter writes.
    std::vector<std::vector<std::vector<T>>> tensors() const;
    /// One line per operation, e.g. "op 0: Dense 784→64 + Sigmoid".
    std::string summary() const;

    std::size_t small_batch_limit() const noexcept { return small_; }
    /// Dense batches of fewer samples than n take the one-sample kernel (0: always BLAS);
    /// sparse inputs always do.
    void set_small_batch_limit(std::size_t n) noexcept { small_ = n; }

    /// out [outputs, n] for X [inputs, n]: a matrix, any 2-D xtensor expression (not a view
    /// of out), or a sparse input (sparse_matrix, sparse_batch). out is resized when its shape
    /// differs. Throws shape_error when X has the wrong row count or no column,
    /// std::invalid_argument for a sparse input to a model that does not begin with Dense,
    /// and std::logic_error for a moved-from model.
    template <class E>
    void infer(const E& X, matrix<T>& out, Workspace& ws) const;
    template <class E>
    void infer(const E& X, matrix<T>& out) const
    {
        infer(X, out, thread_workspace());
    }
    template <class E>
    matrix<T> infer(const E& X) const
    {
        matrix<T> out;
        infer(X, out, thread_workspace());
        return out;
    }
    /// One sample: y [outputs] from x [inputs], both the caller's memory.
    void infer_one(const T* x, T* y, Workspace& ws) const { run(nullptr, x, 1, y, ws); }
    void infer_one(const T* x, T* y) const { run(nullptr, x, 1, y, thread_workspace()); }

    /// The class of each sample of X [inputs, n] -> [n]: the row of the largest output, or for
    /// one output after a Sigmoid, 1 where it is >= 0.5. Throws std::logic_error for a model
    /// whose outputs are not probabilities and have one row (a regression), and as infer().
    template <class E>
    label_vector predict(const E& X) const;
    /// The outputs of a model that ends in Softmax or Sigmoid: probabilities. Throws
    /// std::logic_error for any other model, and as infer().
    template <class E>
    matrix<T> predict_proba(const E& X) const
    {
        if (kind_ == kind::values)
            throw std::logic_error("Model::predict_proba: the model does not end in Softmax or Sigmoid, so its "
                                   "outputs are not probabilities; use infer()");
        return infer(X);
    }

private:
    enum class kind { values, class_probabilities, probabilities };
    struct softmax_op {};
    struct log_softmax_op {};
    struct activation_op {
        detail::activation_kind act;
        double alpha;
    };
    // Layers that run their own infer_columns kernels; they fix their input's shape.
    using layer_op = std::variant<Conv2D<T>, MaxPool2D<T>, AvgPool2D<T>, BatchNorm<T>, LayerNorm<T>>;
    using op = std::variant<detail::frozen_affine<T>, activation_op, softmax_op, log_softmax_op, layer_op>;

    static detail::folded_layers<T> fold(const std::vector<LayerSpec>& layers,
                                         const std::vector<std::vector<std::vector<T>>>& tensors)
    {
        if (layers.size() != tensors.size())
            throw std::invalid_argument(
                detail::cat("Model: ", layers.size(), " layers but tensors for ", tensors.size()));
        return detail::fold_batch_norms(layers, tensors);
    }
    Model(detail::folded_layers<T>&& layers, std::size_t input_features);

    static Workspace& thread_workspace()
    {
        thread_local Workspace ws;
        return ws;
    }

    // The operations over n samples: a dense input X [in, n] (row-major), or a sparse S;
    // the outputs into Y [out, n].
    void run(const sparse_batch<T>* S, const T* X, std::size_t n, T* Y, Workspace& ws) const;

    std::vector<LayerSpec> specs_;
    std::vector<op> ops_;
    std::size_t in_ = 0, out_ = 0, small_ = default_small_batch_limit;
    kind kind_ = kind::values;
};

template <class T>
Model<T>::Model(detail::folded_layers<T>&& folded, std::size_t input_features)
    : specs_(std::move(folded.specs)), in_(input_features)
{
    using detail::activation_kind;
    using detail::cat;
    const std::vector<LayerSpec>& layers = specs_;
    const std::vector<std::vector<std::vector<T>>>& tensors = folded.tensors;
    auto activation = [](const LayerSpec& l, std::size_t i, activation_kind& a, double& alpha) {
        static const std::pair<const char*, activation_kind> names[] = {{"Identity", activation_kind::identity},
                                                                        {"Sigmoid", activation_kind::sigmoid},
                                                                        {"Tanh", activation_kind::tanh},
                                                                        {"ReLU", activation_kind::relu},
                                                                        {"LeakyReLU", activation_kind::leaky_relu}};
        for (const auto& [name, k] : names)
            if (l.op == name) {
                a = k;
                alpha = 0;
                if (k != activation_kind::leaky_relu)
                    return true;
                for (const auto& [key, v] : l.attributes)
                    if (key == "alpha")
                        alpha = v;
                if (!(alpha > 0 && alpha < 1)) // as LeakyReLU itself requires
                    throw std::invalid_argument(
                        cat("Model: layer ", i, " (LeakyReLU): alpha must be in (0, 1), got ", alpha));
                return true;
            }
        return false;
    };
    std::size_t rows = input_features; // what the operations so far give one sample (0: any)
    kind last = kind::values;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec& l = layers[i];
        const std::string at = cat("Model: layer ", i, " (", l.op, ")");
        activation_kind a = activation_kind::identity;
        double alpha = 0;
        if (l.op == "Dense") {
            const auto [ni, no] = detail::dense_sizes(l, at);
            if (tensors[i].size() != 2 || tensors[i][0].size() != ni * no || tensors[i][1].size() != no)
                throw shape_error(cat(at, ": expected tensors W [", no, ", ", ni, "] and b [", no, "]"));
            if (rows != 0 && rows != ni)
                throw shape_error(cat(at, ": takes ", ni, " features but ",
                                      ops_.empty() ? "the input has " : "the layer before gives ", rows));
            if (in_ == 0)
                in_ = ni;
            if (ni > std::numeric_limits<std::uint32_t>::max())
                throw std::invalid_argument(cat(at, ": ", ni, " inputs, more than the kernels index (2^32)"));
            detail::check_finite(tensors[i], at, l);
            matrix<T> W = xt::adapt(tensors[i][0], std::array<std::size_t, 2>{no, ni});
            const vector<T> b = xt::adapt(tensors[i][1], std::array<std::size_t, 1>{no});
            std::size_t fused = 0; // the activation after it runs inside it
            if (i + 1 < layers.size() && tensors[i + 1].empty() && activation(layers[i + 1], i + 1, a, alpha))
                fused = 1;
            ops_.emplace_back(detail::frozen_affine<T>(W, b, a, alpha));
            rows = no;
            last = fused && a == activation_kind::sigmoid ? kind::probabilities : kind::values;
            i += fused;
            continue;
        }
        if (l.op == "Conv2D" || l.op == "MaxPool2D" || l.op == "AvgPool2D" || l.op == "BatchNorm" ||
            l.op == "LayerNorm") { // they fix their input
            const layer_op im = l.op == "Conv2D"      ? layer_op(detail::frozen_conv<T>(l, tensors[i], at))
                                : l.op == "MaxPool2D" ? layer_op(detail::frozen_pool<MaxPool2D<T>>(l, at))
                                : l.op == "AvgPool2D" ? layer_op(detail::frozen_pool<AvgPool2D<T>>(l, at))
                                : l.op == "BatchNorm" ? layer_op(detail::frozen_norm<BatchNorm<T>>(l, tensors[i], at))
                                                      : layer_op(detail::frozen_norm<LayerNorm<T>>(l, tensors[i], at));
            const std::size_t ni = std::visit([](const auto& o) { return o.input_rows(); }, im);
            if (rows != 0 && rows != ni)
                throw shape_error(cat(at, ": takes ", ni, " values a sample but ",
                                      ops_.empty() ? "the input has " : "the layer before gives ", rows));
            if (in_ == 0)
                in_ = ni;
            rows = std::visit([](const auto& o) { return o.output_rows(0); }, im);
            ops_.emplace_back(im);
            last = kind::values;
            continue;
        }
        if (!tensors[i].empty())
            throw shape_error(cat(at, ": has no tensors, but ", tensors[i].size(), " were given"));
        if (activation(l, i, a, alpha)) {
            ops_.emplace_back(activation_op{a, alpha});
            last = a == activation_kind::sigmoid ? kind::probabilities : kind::values;
        } else if (l.op == "Softmax") {
            ops_.emplace_back(softmax_op{});
            last = kind::class_probabilities;
        } else if (l.op == "LogSoftmax") { // log-probabilities: classes, but not probabilities
            ops_.emplace_back(log_softmax_op{});
            last = kind::values;
        } else if (l.op != "Dropout" && l.op != "Flatten") { // the identity in inference
            throw std::invalid_argument(cat(at, ": has no frozen form; a Model holds Dense, Conv2D, MaxPool2D, "
                                                "AvgPool2D, BatchNorm, LayerNorm, Flatten, Sigmoid, Tanh, ReLU, "
                                                "LeakyReLU, Identity, Softmax, LogSoftmax and Dropout"));
        }
    }
    if (in_ == 0)
        throw std::invalid_argument("Model: no Dense, image or normalization layer and no input_features, so "
                                    "nothing fixes the input size");
    if (ops_.empty()) // only Identity and Dropout: the identity itself
        ops_.emplace_back(activation_op{activation_kind::identity, 0});
    out_ = rows;
    kind_ = last;
}

template <class T>
std::vector<std::vector<std::vector<T>>> Model<T>::tensors() const
{
    std::vector<std::vector<std::vector<T>>> t(specs_.size());
    std::size_t k = 0, c = 0; // the k-th affine operation is the k-th Dense spec; layer ops alike
    for (std::size_t i = 0; i < specs_.size(); ++i) {
        const std::string& o = specs_[i].op;
        if (o == "Conv2D" || o == "MaxPool2D" || o == "AvgPool2D" || o == "BatchNorm" || o == "LayerNorm") {
            while (!std::holds_alternative<layer_op>(ops_[c]))
                ++c;
            t[i] = std::visit([](const auto& l) { return detail::tensors_of(l); }, std::get<layer_op>(ops_[c++]));
        }
        if (o != "Dense")
            continue;
        while (std::get_if<detail::frozen_affine<T>>(&ops_[k]) == nullptr)
            ++k;
        const auto& f = std::get<detail::frozen_affine<T>>(ops_[k++]);
        t[i].emplace_back(f.W.begin(), f.W.end());
        t[i].emplace_back(f.b.begin(), f.b.begin() + static_cast<std::ptrdiff_t>(f.out));
    }
    return t;
}

template <class T>
std::string Model<T>::summary() const
{
    std::string s;
    auto act = [](detail::activation_kind a, double alpha) {
        return detail::with_policy(a, alpha, [](const auto& p) { return p.name(); });
    };
    for (std::size_t k = 0; k < ops_.size(); ++k) {
        s += detail::cat("op ", k, ": ");
        if (const auto* f = std::get_if<detail::frozen_affine<T>>(&ops_[k]))
            s += detail::cat("Dense ", f->in, "→", f->out,
                             f->act == detail::activation_kind::identity ? std::string()
                                                                         : " + " + act(f->act, f->alpha));
        else if (const auto* a = std::get_if<activation_op>(&ops_[k]))
            s += act(a->act, a->alpha);
        else if (std::holds_alternative<softmax_op>(ops_[k]) || std::holds_alternative<log_softmax_op>(ops_[k]))
            s += std::holds_alternative<softmax_op>(ops_[k]) ? "Softmax" : "LogSoftmax";
        else
            s += std::visit([](const auto& o) { return o.name(); }, std::get<layer_op>(ops_[k]));
        s += "\n";
    }
    return s;
}

template <class T>
template <class E>
void Model<T>::infer(const E& X, matrix<T>& out, Workspace& ws) const
{
    if (X.dimension() != 2 || X.shape()[0] != in_ || X.shape()[1] == 0)
        throw shape_error(detail::cat("Model: expected input [", in_, ", n] with n >= 1 (samples are columns), got ",
                                      detail::shape_str(X.shape())));
    if (ops_.empty())
        throw std::logic_error("Model: moved from; it holds no operations");
    const std::size_t n = X.shape()[1];
    if constexpr (detail::is_sparse_v<E>) {
        static_assert(std::is_same_v<typename E::value_type, T>, "Model<T>: a sparse input must hold T");
        if (!std::holds_alternative<detail::frozen_affine<T>>(ops_.front()))
            throw std::invalid_argument("Model: a sparse input needs a Dense first layer");
        const sparse_batch<T> S(X);
        detail::ensure_shape(out, out_, n);
        run(&S, nullptr, n, out.data(), ws);
    } else if constexpr (std::is_same_v<E, matrix<T>>) {
        if (&X == &out) { // the last operation would write over its own input
            ws.input.assign(X.begin(), X.end());
            detail::ensure_shape(out, out_, n);
            run(nullptr, ws.input.data(), n, out.data(), ws);
            return;
        }
        detail::ensure_shape(out, out_, n);
        run(nullptr, X.data(), n, out.data(), ws);
    } else {
        ws.input.resize(in_ * n);
        std::copy(X.begin(), X.end(), ws.input.begin()); // row-major: the [in, n] layout
        detail::ensure_shape(out, out_, n);
        run(nullptr, ws.input.data(), n, out.data(), ws);
    }
}

template <class T>
void Model<T>::run(const sparse_batch<T>* S, const T* X, std::size_t n, T* Y, Workspace& ws) const
{
    if (ws.buffers.size() < ops_.size()) // grows only: a thread's models may differ in depth
        ws.buffers.resize(ops_.size());
    const T* cur = X;
    std::size_t rows = in_;
    for (std::size_t k = 0; k < ops_.size(); ++k) {
        const auto* f = std::get_if<detail::frozen_affine<T>>(&ops_[k]);
        const auto* im = std::get_if<layer_op>(&ops_[k]);
        const std::size_t out_rows = f != nullptr    ? f->out
                                     : im != nullptr ? std::visit([](const auto& o) { return o.output_rows(0); }, *im)
                                                     : rows;
        T* dst = Y;
        if (k + 1 < ops_.size()) {
            ws.buffers[k].resize(out_rows * n);
            dst = ws.buffers[k].data();
        }
        if (f != nullptr && (k == 0 && S != nullptr)) {
            const sparse_matrix<T>& m = S->source();
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t c = S->column(j), e0 = m.column_start(c);
                detail::sample_input<T> x;
                x.rows = m.row_indices().data() + e0;
                x.values = m.values().data() + e0;
                x.nonzeros = m.column_start(c + 1) - e0;
                f->column(x, dst + j, n, ws.affine);
            }
        } else if (f != nullptr && n < small_) {
            const T* samples = cur; // [n, rows]: each sample's inputs side by side
            if (n > 1) {
                ws.affine.samples.resize(rows * n);
                detail::transpose(cur, n, rows, n, ws.affine.samples.data(), rows);
                samples = ws.affine.samples.data();
            }
            for (std::size_t j = 0; j < n; ++j) {
                detail::sample_input<T> x;
                x.dense = samples + j * rows;
                f->column(x, dst + j, n, ws.affine);
            }
        } else if (f != nullptr) {
            f->wide(cur, n, dst);
        } else if (im != nullptr) {
            std::visit([&](const auto& o) { o.infer_columns(cur, n, dst, ws.patches); }, *im);
        } else if (const auto* a = std::get_if<activation_op>(&ops_[k])) {
            std::copy(cur, cur + rows * n, dst);
            detail::activate_rows(a->act, a->alpha, dst, rows * n);
        } else if (std::holds_alternative<softmax_op>(ops_[k])) {
            ws.softmax.resize(2 * n);
            detail::softmax_columns(cur, dst, static_cast<const T*>(nullptr), rows, n, ws.softmax.data(),
                                    ws.softmax.data() + n);
        } else {
            ws.softmax.resize(2 * n);
            detail::log_softmax_columns(cur, dst, rows, n, ws.softmax.data(), ws.softmax.data() + n);
        }
        cur = dst;
        rows = out_rows;
    }
}

template <class T>
template <class E>
label_vector Model<T>::predict(const E& X) const
{
    return detail::classes_of(infer(X), kind_ == kind::probabilities, "Model::predict: the model");
}

} // namespace MININN_ISA
} // namespace mininn
