// mininn/layers: the layer concept and the layers: Dense, Conv2D, the pools and Flatten,
// BatchNorm and LayerNorm, the activations, Softmax, Dropout, and the weight initializers.
#pragma once

#include "spec.hpp"
#include "layer.hpp"
#include "init.hpp"
#include "dense.hpp"
#include "conv2d.hpp"
#include "pooling.hpp"
#include "normalization.hpp"
#include "activations.hpp"
#include "softmax.hpp"
#include "dropout.hpp"
#include "fusion.hpp"
