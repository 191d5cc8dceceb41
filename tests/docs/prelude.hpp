// What the guides' code samples take as given: tests/docs/check_docs.py compiles every C++
// sample of README.md and the guides after this header, so that a sample that no longer
// compiles fails the suite. A sample that is a whole program (it has main) is compiled alone.
#pragma once

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <mininn/mininn.hpp>

namespace doc {
using namespace mininn;
// The names the samples use without declaring them, as a reader would have them at hand.
inline MnistData<float> d;
inline Rng rng(1);
inline std::string dir = "data/mnist";
inline std::size_t n = 100;
inline matrix<float> X, dense_X, Y;
inline label_vector y, y20;
inline std::vector<std::size_t> rows, cols;
inline std::vector<float> values;
inline Adam<float> adam(1e-3f);
inline FitOptions options;
inline Network<Dense<float>, Sigmoid<float>, Dense<float>, Softmax<float>> net{
    Dense<float>(784, 64, init::normal, rng), Sigmoid<float>{}, Dense<float>(64, 10, init::normal, rng),
    Softmax<float>{}};
} // namespace doc
