// mininn: the shape of one sample as it flows along a chain of layers: a feature count, or
// channels × height × width for an image. Samples are columns, so either way a batch of n is a
// matrix [size(), n]; an image's column is laid out channel, row, column (CHW).
#pragma once

#include "config.hpp"

#include <cstddef>
#include <string>

#include "errors.hpp"

namespace mininn {
inline namespace MININN_ISA {

struct Shape {
    std::size_t channels = 0; ///< the feature count of a plain sample; 0: not known (any)
    std::size_t height = 1, width = 1;

    Shape() = default;
    /// A sample of `features` values (0: any).
    Shape(std::size_t features) : channels(features) {} // NOLINT: a count is a shape
    /// An image of c channels of h × w.
    Shape(std::size_t c, std::size_t h, std::size_t w) : channels(c), height(h), width(w) {}

    /// The rows of a batch: channels · height · width (0 when not known).
    std::size_t size() const noexcept { return channels * height * width; }
    bool known() const noexcept { return size() != 0; }
    bool is_image() const noexcept { return height != 1 || width != 1; }
    /// "784" or "1×28×28".
    std::string str() const
    {
        return is_image() ? detail::cat(channels, "×", height, "×", width) : detail::cat(channels);
    }
};

inline bool operator==(const Shape& a, const Shape& b)
{
    return a.channels == b.channels && a.height == b.height && a.width == b.width;
}
inline bool operator!=(const Shape& a, const Shape& b)
{
    return !(a == b);
}

namespace detail {

// Whether a layer that needs `need` takes the output `got` of the one before it: both known
// and of the same size, and, when both are images, the same image (a plain column of the right
// size is taken as that image, as a data set's 784 pixels are taken as 1×28×28).
inline bool shape_fits(const Shape& need, const Shape& got) noexcept
{
    if (!need.known() || !got.known())
        return true;
    if (need.is_image() && got.is_image())
        return need == got;
    return need.size() == got.size();
}

// "[64, n]" or "[1×28×28 = 784, n]", as the shape errors print a batch.
inline std::string batch_str(const Shape& s)
{
    return s.is_image() ? cat("[", s.str(), " = ", s.size(), ", n]") : cat("[", s.size(), ", n]");
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
