// mininn: shuffling and selecting samples (columns).
#pragma once

#include <cstddef>
#include <numeric>
#include <vector>

#include "errors.hpp"
#include "random.hpp"
#include "tensor.hpp"

namespace mininn {

/// A seeded random permutation of 0..n-1.
inline std::vector<std::size_t> permutation(std::size_t n, Rng& rng)
{
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), std::size_t(0));
    rng.shuffle(p.begin(), p.end());
    return p;
}

/// Columns idx of X [d, n] -> [d, idx.size()], gathered row by row (each source row stays
/// in cache). Throws shape_error for an index >= n.
template <class T>
matrix<T> take_columns(const matrix<T>& X, const std::vector<std::size_t>& idx)
{
    const std::size_t d = X.shape()[0], n = X.shape()[1], m = idx.size();
    for (std::size_t j : idx)
        if (j >= n)
            throw shape_error(detail::cat("take_columns: column ", j, " of a matrix with ", n, " columns"));
    matrix<T> out(typename matrix<T>::shape_type{d, m});
    for (std::size_t i = 0; i < d; ++i) {
        const T* src = X.data() + i * n;
        T* dst = out.data() + i * m;
        for (std::size_t k = 0; k < m; ++k)
            dst[k] = src[idx[k]];
    }
    return out;
}

/// Entries idx of labels [n] -> [idx.size()]. Throws shape_error for an index >= n.
inline label_vector take(const label_vector& labels, const std::vector<std::size_t>& idx)
{
    label_vector out(label_vector::shape_type{idx.size()});
    for (std::size_t k = 0; k < idx.size(); ++k) {
        if (idx[k] >= labels.size())
            throw shape_error(detail::cat("take: index ", idx[k], " of ", labels.size(), " labels"));
        out(k) = labels(idx[k]);
    }
    return out;
}

} // namespace mininn
