// mininn: a sparse input matrix in compressed columns, one column per sample.
//
// Inputs such as images with a dark background, bag-of-words counts or one-hot categories are
// mostly zeros. A Dense first layer given a sparse_matrix (or a sparse_batch of its columns)
// touches only the non-zeros, in forward and backward (dense.hpp, detail/sparse_kernels.hpp).
#pragma once

#include "config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "errors.hpp"
#include "tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

template <class T>
class sparse_batch;
namespace detail {
template <class T>
class sparse_products;
} // namespace detail

/// A [rows, cols] matrix stored by columns: column j's non-zeros are values()[k] at rows
/// row_indices()[k] for k in [column_start(j), column_start(j + 1)), rows increasing.
/// Samples are columns, as for dense inputs. A value type; no entry is ever an explicit zero
/// when built from a dense matrix.
template <class T>
class sparse_matrix {
    static_assert(std::is_floating_point_v<T>, "sparse_matrix<T>: T must be float or double");

public:
    using value_type = T;
    using index_type = std::uint32_t;
    using shape_type = std::array<std::size_t, 2>;

    /// An empty [0, 0] matrix.
    sparse_matrix() : starts_(1, 0) {}

    /// From the compressed parts: starts [cols + 1] (starts[0] = 0, non-decreasing, last =
    /// values.size()), row indices and values [non-zeros]. Throws shape_error naming the first
    /// part that is inconsistent (a row index out of range or not increasing in its column).
    sparse_matrix(std::size_t rows, std::size_t cols, std::vector<std::size_t> starts,
                  std::vector<index_type> row_indices, std::vector<T> values)
        : rows_(rows), cols_(cols), starts_(std::move(starts)), rows_idx_(std::move(row_indices)),
          values_(std::move(values))
    {
        check_rows(rows);
        if (starts_.size() != cols + 1 || starts_.front() != 0 || starts_.back() != values_.size() ||
            rows_idx_.size() != values_.size())
            throw shape_error(detail::cat("sparse_matrix: ", cols, " columns need ", cols + 1,
                                          " column starts from 0 to the non-zero count; got ", starts_.size(),
                                          " starts, ", rows_idx_.size(), " row indices and ", values_.size(),
                                          " values"));
        for (std::size_t j = 0; j < cols; ++j) {
            if (starts_[j + 1] < starts_[j])
                throw shape_error(detail::cat("sparse_matrix: column starts decrease at column ", j));
            for (std::size_t k = starts_[j]; k < starts_[j + 1]; ++k)
                if (rows_idx_[k] >= rows || (k > starts_[j] && rows_idx_[k] <= rows_idx_[k - 1]))
                    throw shape_error(detail::cat("sparse_matrix: column ", j, " has row ", rows_idx_[k],
                                                  rows_idx_[k] >= rows ? detail::cat(" outside [0, ", rows, ")")
                                                                       : std::string(" out of increasing order")));
        }
    }

    /// The non-zeros of a dense [rows, cols] matrix or 2-D expression.
    template <class E, class = std::enable_if_t<!std::is_same_v<std::decay_t<E>, sparse_matrix>>>
    explicit sparse_matrix(const E& dense) : starts_(1, 0)
    {
        if constexpr (std::is_same_v<E, matrix<T>>)
            build(dense);
        else
            build(matrix<T>(dense)); // evaluates an expression once; the row-major scan needs it
    }

    /// From (row, column, value) triplets in any order. Duplicates are summed; values must be
    /// finite. Throws shape_error when the three lists differ in length or an index lies
    /// outside [rows, cols], and numeric_error for a NaN or infinite value, naming the triplet.
    static sparse_matrix from_triplets(std::size_t rows, std::size_t cols, const std::vector<std::size_t>& row,
                                       const std::vector<std::size_t>& col, const std::vector<T>& value)
    {
        check_rows(rows);
        if (row.size() != col.size() || row.size() != value.size())
            throw shape_error(detail::cat("sparse_matrix::from_triplets: ", row.size(), " rows, ", col.size(),
                                          " columns and ", value.size(), " values; the three lists must have one "
                                          "entry per triplet"));
        for (std::size_t k = 0; k < row.size(); ++k) {
            if (row[k] >= rows || col[k] >= cols)
                throw shape_error(detail::cat("sparse_matrix::from_triplets: triplet ", k, " (", row[k], ", ", col[k],
                                              ") is outside the [", rows, ", ", cols, "] matrix"));
            if (!std::isfinite(value[k]))
                throw numeric_error(detail::cat("sparse_matrix::from_triplets: triplet ", k, " (", row[k], ", ",
                                                col[k], ") has the value ", value[k]));
        }
        std::vector<std::size_t> order(row.size());
        std::iota(order.begin(), order.end(), std::size_t(0));
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return col[a] != col[b] ? col[a] < col[b] : row[a] < row[b];
        });
        sparse_matrix m;
        m.rows_ = rows;
        m.cols_ = cols;
        m.starts_.assign(cols + 1, 0);
        for (std::size_t k = 0; k < order.size(); ++k) {
            const std::size_t t = order[k];
            if (k > 0 && row[t] == row[order[k - 1]] && col[t] == col[order[k - 1]]) {
                m.values_.back() += value[t]; // in input order, as the stable sort keeps it
                continue;
            }
            m.rows_idx_.push_back(static_cast<index_type>(row[t]));
            m.values_.push_back(value[t]);
            ++m.starts_[col[t] + 1];
        }
        for (std::size_t j = 0; j < cols; ++j)
            m.starts_[j + 1] += m.starts_[j];
        return m;
    }

    shape_type shape() const noexcept { return {rows_, cols_}; }
    static constexpr std::size_t dimension() noexcept { return 2; }
    std::size_t rows() const noexcept { return rows_; }
    std::size_t cols() const noexcept { return cols_; }
    std::size_t nonzeros() const noexcept { return values_.size(); }
    /// Non-zeros over rows * cols (0 for an empty matrix).
    double density() const noexcept
    {
        const double all = static_cast<double>(rows_) * static_cast<double>(cols_);
        return all > 0 ? static_cast<double>(nonzeros()) / all : 0.0;
    }
    std::size_t column_start(std::size_t j) const noexcept { return starts_[j]; }
    const std::vector<std::size_t>& column_starts() const noexcept { return starts_; }
    const std::vector<index_type>& row_indices() const noexcept { return rows_idx_; }
    const std::vector<T>& values() const noexcept { return values_; }

    /// The dense [rows, cols] matrix.
    matrix<T> to_dense() const
    {
        matrix<T> X = xt::zeros<T>(typename matrix<T>::shape_type{rows_, cols_});
        for (std::size_t j = 0; j < cols_; ++j)
            for (std::size_t k = starts_[j]; k < starts_[j + 1]; ++k)
                X(rows_idx_[k], j) = values_[k];
        return X;
    }

    /// Columns [first, first + count) as a batch that refers to this matrix (no copy).
    /// Throws shape_error when they lie outside it.
    sparse_batch<T> columns(std::size_t first, std::size_t count) const;
    /// The columns idx[0], ..., idx[count - 1] as a batch that refers to this matrix and to idx
    /// (no copy; both must outlive the batch's use). Throws shape_error for a column outside it.
    sparse_batch<T> select_columns(const std::size_t* idx, std::size_t count) const;

    bool operator==(const sparse_matrix& o) const
    {
        return rows_ == o.rows_ && cols_ == o.cols_ && starts_ == o.starts_ && rows_idx_ == o.rows_idx_ &&
               values_ == o.values_;
    }

private:
    // Equal tokens mean equal contents: every constructor makes a new one and copies share it.
    // A layer keeps the row-sorted form of a whole-range batch for as long as the token lives.
    template <class>
    friend class detail::sparse_products;
    const std::shared_ptr<const char>& token() const noexcept { return token_; }

    void build(const matrix<T>& X)
    {

        rows_ = X.shape()[0];
        cols_ = X.shape()[1];
        check_rows(rows_);
        std::vector<std::size_t> counts(cols_, 0);
        for (std::size_t i = 0; i < rows_; ++i)
            for (std::size_t j = 0; j < cols_; ++j)
                counts[j] += X(i, j) != T(0);
        starts_.resize(cols_ + 1);
        for (std::size_t j = 0; j < cols_; ++j)
            starts_[j + 1] = starts_[j] + counts[j];
        rows_idx_.resize(starts_.back());
        values_.resize(starts_.back());
        std::vector<std::size_t> next(starts_.begin(), starts_.end() - 1);
        for (std::size_t i = 0; i < rows_; ++i) // row by row, so each column's rows come out increasing
            for (std::size_t j = 0; j < cols_; ++j)
                if (X(i, j) != T(0)) {
                    rows_idx_[next[j]] = static_cast<index_type>(i);
                    values_[next[j]++] = X(i, j);
                }
    }

    static void check_rows(std::size_t rows)
    {
        if (rows > std::numeric_limits<index_type>::max())
            throw shape_error(detail::cat("sparse_matrix: ", rows, " rows; at most ",
                                          std::numeric_limits<index_type>::max(), " are supported"));
    }

    std::size_t rows_ = 0, cols_ = 0;
    std::vector<std::size_t> starts_;
    std::vector<index_type> rows_idx_;
    std::vector<T> values_;
    std::shared_ptr<const char> token_ = std::make_shared<const char>('m');
};

/// Columns of a sparse_matrix, as a Dense first layer takes them: a range, or a list of column
/// indices (fit()'s shuffled batches). A view: the matrix (and the list) must outlive its use,
/// through backward().
template <class T>
class sparse_batch {
public:
    using value_type = T;
    using shape_type = std::array<std::size_t, 2>;

    sparse_batch(const sparse_matrix<T>& m) noexcept : m_(&m), count_(m.cols()) {} // all columns
    sparse_batch(const sparse_matrix<T>& m, std::size_t first, std::size_t count, const std::size_t* idx) noexcept
        : m_(&m), idx_(idx), first_(first), count_(count)
    {
    }

    shape_type shape() const noexcept { return {m_->rows(), count_}; }
    static constexpr std::size_t dimension() noexcept { return 2; }
    std::size_t cols() const noexcept { return count_; }
    const sparse_matrix<T>& source() const noexcept { return *m_; }
    /// The first column of a range, and the index list (nullptr for a range).
    std::size_t first_column() const noexcept { return first_; }
    const std::size_t* index_list() const noexcept { return idx_; }
    /// The matrix column behind batch column j.
    std::size_t column(std::size_t j) const noexcept { return idx_ != nullptr ? idx_[j] : first_ + j; }
    std::size_t nonzeros() const noexcept
    {
        if (idx_ == nullptr)
            return m_->column_start(first_ + count_) - m_->column_start(first_);
        std::size_t nz = 0;
        for (std::size_t j = 0; j < count_; ++j)
            nz += m_->column_start(idx_[j] + 1) - m_->column_start(idx_[j]);
        return nz;
    }

    /// The dense [rows, count] matrix of these columns.
    matrix<T> to_dense() const
    {
        matrix<T> X = xt::zeros<T>(typename matrix<T>::shape_type{m_->rows(), count_});
        for (std::size_t j = 0; j < count_; ++j) {
            const std::size_t c = column(j);
            for (std::size_t k = m_->column_start(c); k < m_->column_start(c + 1); ++k)
                X(m_->row_indices()[k], j) = m_->values()[k];
        }
        return X;
    }

private:
    const sparse_matrix<T>* m_;
    const std::size_t* idx_ = nullptr;
    std::size_t first_ = 0, count_;
};

template <class T>
sparse_batch<T> sparse_matrix<T>::columns(std::size_t first, std::size_t count) const
{
    if (first > cols_ || count > cols_ - first)
        throw shape_error(detail::cat("sparse_matrix::columns: columns [", first, ", ", first + count, ") of ", cols_));
    return sparse_batch<T>(*this, first, count, nullptr);
}

template <class T>
sparse_batch<T> sparse_matrix<T>::select_columns(const std::size_t* idx, std::size_t count) const
{
    for (std::size_t j = 0; j < count; ++j)
        if (idx[j] >= cols_)
            throw shape_error(detail::cat("sparse_matrix::select_columns: column ", idx[j], " of a matrix with ", cols_,
                                          " columns"));
    return sparse_batch<T>(*this, 0, count, idx);
}

/// The columns idx of X, in that order, as a new matrix [rows, idx.size()].
/// Throws shape_error for an index outside X.
template <class T>
sparse_matrix<T> take_columns(const sparse_matrix<T>& X, const std::vector<std::size_t>& idx)
{
    std::vector<std::size_t> starts(idx.size() + 1, 0);
    for (std::size_t j = 0; j < idx.size(); ++j) {
        if (idx[j] >= X.cols())
            throw shape_error(detail::cat("take_columns: column ", idx[j], " of a matrix with ", X.cols(), " columns"));
        starts[j + 1] = starts[j] + X.column_start(idx[j] + 1) - X.column_start(idx[j]);
    }
    std::vector<typename sparse_matrix<T>::index_type> rows(starts.back());
    std::vector<T> values(starts.back());
    for (std::size_t j = 0; j < idx.size(); ++j) {
        const auto from = static_cast<std::ptrdiff_t>(X.column_start(idx[j]));
        const auto to = static_cast<std::ptrdiff_t>(X.column_start(idx[j] + 1));
        std::copy(X.row_indices().begin() + from, X.row_indices().begin() + to,
                  rows.begin() + static_cast<std::ptrdiff_t>(starts[j]));
        std::copy(X.values().begin() + from, X.values().begin() + to, values.begin() + static_cast<std::ptrdiff_t>(starts[j]));
    }
    return sparse_matrix<T>(X.rows(), idx.size(), std::move(starts), std::move(rows), std::move(values));
}

namespace detail {
template <class E>
struct is_sparse_input : std::false_type {
};
template <class T>
struct is_sparse_input<sparse_matrix<T>> : std::true_type {
};
template <class T>
struct is_sparse_input<sparse_batch<T>> : std::true_type {
};
template <class E>
inline constexpr bool is_sparse_v = is_sparse_input<std::decay_t<E>>::value;
} // namespace detail

} // namespace MININN_ISA
} // namespace mininn
