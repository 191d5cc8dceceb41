// mininn: classification and regression metrics with scikit-learn's definitions and report text.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

namespace detail {

inline void check_same_length(const label_vector& y_true, const label_vector& y_pred, const char* who)
{
    if (y_true.size() != y_pred.size())
        throw shape_error(cat(who, ": ", y_true.size(), " true labels but ", y_pred.size(), " predictions"));
    if (y_true.size() == 0)
        throw shape_error(cat(who, ": no samples"));
}

/// 1 - res / tot, with scikit-learn's convention for constant true values (tot = 0).
inline double r2_of(double res, double tot)
{
    if (tot == 0.0)
        return res == 0.0 ? 1.0 : 0.0;
    return 1.0 - res / tot;
}

/// numpy's pairwise summation (the order np.sum uses for float64 arrays of up to 128
/// elements), so averages round exactly as scikit-learn's do.
inline double numpy_sum(const std::vector<double>& a)
{
    const std::size_t n = a.size();
    if (n < 8) {
        double res = 0.;
        for (double v : a)
            res += v;
        return res;
    }
    if (n > 128) { // numpy recurses on halves (rounded down to a multiple of 8)
        std::size_t half = n / 2;
        half -= half % 8;
        return numpy_sum(std::vector<double>(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(half)))
               + numpy_sum(std::vector<double>(a.begin() + static_cast<std::ptrdiff_t>(half), a.end()));
    }
    double r[8];
    for (std::size_t k = 0; k < 8; ++k)
        r[k] = a[k];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
        for (std::size_t k = 0; k < 8; ++k)
            r[k] += a[i + k];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i)
        res += a[i];
    return res;
}

/// Python's "{:>{w}.{d}f}".format(v) (both round the exact binary value half-to-even).
inline std::string fixed(double v, int digits, int width)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%*.*f", width, digits, v);
    return buf;
}

inline std::string right(const std::string& s, std::size_t width)
{
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

} // namespace detail

namespace detail {
template <class T>
void check_same_shape(const matrix<T>& y_true, const matrix<T>& y_pred, const char* who)
{
    if (y_true.shape() != y_pred.shape())
        throw shape_error(cat(who, ": true values ", shape_str(y_true.shape()), " but predictions ",
                              shape_str(y_pred.shape()), " (expected [outputs, samples])"));
    if (y_true.size() == 0)
        throw shape_error(cat(who, ": no samples"));
}
} // namespace detail

/// Mean of (y_pred - y_true)^2 over all k n entries of [k, n] (scikit-learn's
/// mean_squared_error with multioutput="uniform_average"). Throws shape_error for different
/// shapes or no entries.
template <class T>
double mean_squared_error(const matrix<T>& y_true, const matrix<T>& y_pred)
{
    detail::check_same_shape(y_true, y_pred, "mean_squared_error");
    double s = 0;
    for (std::size_t e = 0; e < y_true.size(); ++e) {
        const double d = static_cast<double>(y_pred.data()[e]) - static_cast<double>(y_true.data()[e]);
        s += d * d;
    }
    return s / static_cast<double>(y_true.size());
}

/// Mean of |y_pred - y_true| over all entries of [k, n]. Throws as mean_squared_error.
template <class T>
double mean_absolute_error(const matrix<T>& y_true, const matrix<T>& y_pred)
{
    detail::check_same_shape(y_true, y_pred, "mean_absolute_error");
    double s = 0;
    for (std::size_t e = 0; e < y_true.size(); ++e)
        s += std::abs(static_cast<double>(y_pred.data()[e]) - static_cast<double>(y_true.data()[e]));
    return s / static_cast<double>(y_true.size());
}

/// The coefficient of determination 1 - SS_res / SS_tot of each output (row) of [k, n],
/// averaged over the outputs, as scikit-learn's r2_score: an output whose true values are
/// constant scores 1 if predicted exactly, else 0. Throws as mean_squared_error.
template <class T>
double r2_score(const matrix<T>& y_true, const matrix<T>& y_pred)
{
    detail::check_same_shape(y_true, y_pred, "r2_score");
    const std::size_t k = y_true.shape()[0], n = y_true.shape()[1];
    double total = 0;
    for (std::size_t i = 0; i < k; ++i) {
        double mean = 0;
        for (std::size_t j = 0; j < n; ++j)
            mean += static_cast<double>(y_true(i, j));
        mean /= static_cast<double>(n);
        double res = 0, tot = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const double t = static_cast<double>(y_true(i, j));
            const double d = static_cast<double>(y_pred(i, j)) - t;
            res += d * d;
            tot += (t - mean) * (t - mean);
        }
        total += detail::r2_of(res, tot);
    }
    return total / static_cast<double>(k);
}

/// The sorted classes that occur in y_true or y_pred (scikit-learn's unique_labels).
inline std::vector<std::size_t> present_labels(const label_vector& y_true, const label_vector& y_pred)
{
    std::vector<std::size_t> labels(y_true.begin(), y_true.end());
    labels.insert(labels.end(), y_pred.begin(), y_pred.end());
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    return labels;
}

/// Fraction of samples whose prediction equals the true label. Both [n].
/// Throws shape_error when the lengths differ or n = 0.
inline double accuracy(const label_vector& y_true, const label_vector& y_pred)
{
    detail::check_same_length(y_true, y_pred, "accuracy");
    std::size_t correct = 0;
    for (std::size_t j = 0; j < y_true.size(); ++j)
        correct += y_true(j) == y_pred(j);
    return static_cast<double>(correct) / static_cast<double>(y_true.size());
}

/// Confusion matrix C [L, L] over the classes present (present_labels), as scikit-learn's
/// confusion_matrix(y_true, y_pred): C[i, k] counts samples of true class i predicted as k,
/// so rows are true labels. Throws shape_error when the lengths differ or n = 0.
inline xt::xtensor<std::size_t, 2> confusion_matrix(const label_vector& y_true, const label_vector& y_pred)
{
    detail::check_same_length(y_true, y_pred, "confusion_matrix");
    const auto labels = present_labels(y_true, y_pred);
    const auto pos = [&](std::size_t y) {
        return static_cast<std::size_t>(std::lower_bound(labels.begin(), labels.end(), y) - labels.begin());
    };
    xt::xtensor<std::size_t, 2> C = xt::zeros<std::size_t>({labels.size(), labels.size()});
    for (std::size_t j = 0; j < y_true.size(); ++j)
        ++C(pos(y_true(j)), pos(y_pred(j)));
    return C;
}

/// Per-class precision, recall, F1 and support, computed exactly as scikit-learn 1.2 does.
struct ClassScores {
    std::vector<std::size_t> labels;
    std::vector<double> precision, recall, f1;
    std::vector<std::size_t> support;
};

/// zero_division is the score given when a ratio has a zero denominator (scikit-learn's
/// "warn" behaves as 0). Throws shape_error when the lengths differ or n = 0.
inline ClassScores class_scores(const label_vector& y_true, const label_vector& y_pred, double zero_division = 0.0)
{
    const auto C = confusion_matrix(y_true, y_pred);
    ClassScores s;
    s.labels = present_labels(y_true, y_pred);
    const std::size_t L = s.labels.size();
    for (std::size_t i = 0; i < L; ++i) {
        std::size_t tp = C(i, i), pred = 0, truth = 0;
        for (std::size_t k = 0; k < L; ++k) {
            pred += C(k, i);
            truth += C(i, k);
        }
        const double p = pred == 0 ? zero_division : static_cast<double>(tp) / static_cast<double>(pred);
        const double r = truth == 0 ? zero_division : static_cast<double>(tp) / static_cast<double>(truth);
        const double denom = p + r;
        s.precision.push_back(p);
        s.recall.push_back(r);
        s.f1.push_back(2.0 * p * r / (denom == 0.0 ? 1.0 : denom));
        s.support.push_back(truth);
    }
    return s;
}

/// The text of sklearn.metrics.classification_report(y_true, y_pred, digits=digits), to the
/// character: one row per present class (named by its index, or by target_names in label
/// order), then accuracy, macro avg and weighted avg.
/// Throws shape_error when the lengths differ, n = 0, or target_names has the wrong length.
inline std::string classification_report(const label_vector& y_true, const label_vector& y_pred, int digits = 2,
                                         std::vector<std::string> target_names = {}, double zero_division = 0.0)
{
    const ClassScores s = class_scores(y_true, y_pred, zero_division);
    const std::size_t L = s.labels.size();
    if (target_names.empty())
        for (auto l : s.labels)
            target_names.push_back(std::to_string(l));
    if (target_names.size() != L)
        throw shape_error(detail::cat("classification_report: ", target_names.size(), " target names for ", L,
                                      " classes"));

    std::size_t width = std::string("weighted avg").size();
    for (const auto& name : target_names)
        width = std::max(width, name.size());
    width = std::max(width, static_cast<std::size_t>(digits));
    const int w9 = 9;

    std::string out = std::string(width, ' ') + " ";
    for (const char* h : {"precision", "recall", "f1-score", "support"})
        out += " " + detail::right(h, w9);
    out += "\n\n";
    auto row = [&](const std::string& name, double p, double r, double f, std::size_t support) {
        out += detail::right(name, width) + " " + " " + detail::fixed(p, digits, w9) + " " +
               detail::fixed(r, digits, w9) + " " + detail::fixed(f, digits, w9) + " " +
               detail::right(std::to_string(support), w9) + "\n";
    };
    std::size_t total = 0;
    for (std::size_t i = 0; i < L; ++i) {
        row(target_names[i], s.precision[i], s.recall[i], s.f1[i], s.support[i]);
        total += s.support[i];
    }
    out += "\n";

    // Micro averages: with every class present, precision = recall = accuracy.
    std::size_t tp = 0;
    for (std::size_t j = 0; j < y_true.size(); ++j)
        tp += y_true(j) == y_pred(j);
    const double n = static_cast<double>(y_true.size());
    const double mp = static_cast<double>(tp) / n, mr = mp;
    const double micro_f1 = 2.0 * mp * mr / (mp + mr == 0.0 ? 1.0 : mp + mr);
    out += detail::right("accuracy", width) + " " + " " + std::string(w9, ' ') + " " + std::string(w9, ' ') + " " +
           detail::fixed(micro_f1, digits, w9) + " " + detail::right(std::to_string(total), w9) + "\n";

    const double Ld = static_cast<double>(L);
    row("macro avg", detail::numpy_sum(s.precision) / Ld, detail::numpy_sum(s.recall) / Ld,
        detail::numpy_sum(s.f1) / Ld, total);

    std::vector<double> wp, wr, wf, weights;
    for (std::size_t i = 0; i < L; ++i) {
        const double w = static_cast<double>(s.support[i]);
        weights.push_back(w);
        wp.push_back(s.precision[i] * w);
        wr.push_back(s.recall[i] * w);
        wf.push_back(s.f1[i] * w);
    }
    const double wsum = detail::numpy_sum(weights);
    if (wsum == 0.0) // cannot happen with y_true non-empty; kept for sklearn parity
        row("weighted avg", zero_division, zero_division, zero_division, total);
    else
        row("weighted avg", detail::numpy_sum(wp) / wsum, detail::numpy_sum(wr) / wsum, detail::numpy_sum(wf) / wsum,
            total);
    return out;
}

} // namespace MININN_ISA
} // namespace mininn
