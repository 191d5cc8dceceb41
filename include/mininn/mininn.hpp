// mininn: a small header-only neural-network library on xtensor and OpenBLAS.
// Samples are columns: a batch of n samples with d features is a [d, n] matrix.
//
// This header includes every part but the optional ones (mininn/distributed/all.hpp, MPI).
// Each folder has an all.hpp of its own, and each header stands alone, so a program may
// include only what it uses (e.g. mininn/layers/dense.hpp and mininn/train/network.hpp).
#pragma once

#include "version.hpp"

#include "core/all.hpp"
#include "data/all.hpp"
#include "layers/all.hpp"
#include "losses/all.hpp"
#include "optim/all.hpp"
#include "io/all.hpp"
#include "train/all.hpp"
#include "inference/all.hpp"
