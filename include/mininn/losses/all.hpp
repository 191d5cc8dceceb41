// mininn/losses: the loss concept and the losses: CrossEntropy, BinaryCrossEntropy, MeanSquaredError.
#pragma once

#include "loss.hpp"
#include "cross_entropy.hpp"
#include "binary_cross_entropy.hpp"
#include "mean_squared_error.hpp"
