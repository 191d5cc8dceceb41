// mininn: a small header-only neural-network library on xtensor and OpenBLAS.
// Samples are columns: a batch of n samples with d features is a [d, n] matrix.
#pragma once

#include "version.hpp"

#include "errors.hpp"
#include "random.hpp"
#include "init.hpp"
#include "tensor.hpp"

#include "dense.hpp"
#include "activations.hpp"
#include "softmax.hpp"
#include "dropout.hpp"
#include "loss.hpp"
#include "cross_entropy.hpp"
#include "binary_cross_entropy.hpp"
#include "mean_squared_error.hpp"
#include "layer.hpp"
#include "network.hpp"
#include "weight_decay.hpp"
#include "gd.hpp"
#include "optimizers.hpp"
#include "gradcheck.hpp"
#include "check_layer.hpp"
#include "evaluate.hpp"
#include "schedule.hpp"
#include "train.hpp"

#include "blas.hpp"
#include "data.hpp"
#include "standardizer.hpp"
#include "metrics.hpp"
#include "io.hpp"
#include "idx.hpp"
#include "mnist.hpp"
#include "csv.hpp"
#include "npz.hpp"
