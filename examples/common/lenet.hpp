// LeNet-5 as the mnist example and the LeNet benchmark train it: conv 5×5 to 6 with padding 2,
// max-pool 2, conv 5×5 to 16, max-pool 2, dense 400-120-84-10, ReLU; with BatchNorm after each
// convolution when BatchNorm is true (the convolutions then have no bias, which it would cancel).
#pragma once

#include <mininn/mininn.hpp>

namespace examples {

template <class T, bool WithBatchNorm>
auto lenet(mininn::Rng& rng)
{
    using namespace mininn;
    const Conv2DOptions conv = WithBatchNorm ? Conv2DOptions{}.without_bias() : Conv2DOptions{};
    Conv2D<T> c1(Shape(1, 28, 28), 6, 5, init::he, rng, Conv2DOptions(conv).with_padding(2));
    Conv2D<T> c2(Shape(6, 14, 14), 16, 5, init::he, rng, conv);
    Dense<T> d1(400, 120, init::he, rng), d2(120, 84, init::he, rng), d3(84, 10, init::xavier, rng);
    if constexpr (WithBatchNorm)
        return Network{c1,        BatchNorm<T>(Shape(6, 28, 28)),
                       ReLU{},    MaxPool2D(Shape(6, 28, 28), 2),
                       c2,        BatchNorm<T>(Shape(16, 10, 10)),
                       ReLU{},    MaxPool2D(Shape(16, 10, 10), 2),
                       Flatten{}, d1,
                       ReLU{},    d2,
                       ReLU{},    d3,
                       Softmax{}};
    else
        return Network{c1,        ReLU{}, MaxPool2D(Shape(6, 28, 28), 2),
                       c2,        ReLU{}, MaxPool2D(Shape(16, 10, 10), 2),
                       Flatten{}, d1,     ReLU{},
                       d2,        ReLU{}, d3,
                       Softmax{}};
}

} // namespace examples
