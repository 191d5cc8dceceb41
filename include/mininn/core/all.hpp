// mininn/core: the foundation every other part leans on: the instruction-set namespace, exceptions,
// tensor types (dense and sparse), the random generator and what BLAS runs.
#pragma once

#include "config.hpp"
#include "errors.hpp"
#include "tensor.hpp"
#include "shape.hpp"
#include "sparse.hpp"
#include "random.hpp"
#include "blas.hpp"
