// mininn: exception types and the helpers that format their messages.
#pragma once

#include "config.hpp"

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mininn {

// The exception types hold no code that depends on the instruction set, so they stand outside
// the ISA-named namespace (core/config.hpp): a shape_error thrown by code built for one
// instruction set is caught as mininn::shape_error by code built for another.

/// A tensor had the wrong shape for the layer, loss or function it was given to.
/// Messages name the layer (index and kind) and both shapes. mininn stores samples
/// as columns: a batch of n samples with d features is a [d, n] matrix.
class shape_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A class label was outside [0, K), or one-hot labels were not one-hot.
class label_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Training produced a NaN or an infinity (a loss, an activation or a gradient).
class numeric_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A file could not be read or written, or its content is not what it claims to be.
class io_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline namespace MININN_ISA {
namespace detail {

/// "[64, 32]" from any shape-like sequence.
template <class S>
std::string shape_str(const S& shape)
{
    std::ostringstream os;
    os << '[';
    bool first = true;
    for (auto d : shape) {
        os << (first ? "" : ", ") << d;
        first = false;
    }
    os << ']';
    return os.str();
}

/// Builds a message from streamable parts: cat("got ", 3, " columns").
template <class... Parts>
std::string cat(const Parts&... parts)
{
    std::ostringstream os;
    (os << ... << parts);
    return os.str();
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
