// mininn/train: the network, fit(), evaluate(), metrics, and the gradient and layer checks.
#pragma once

#include "chain.hpp"
#include "fused_head.hpp"
#include "output_fusion.hpp"
#include "network.hpp"
#include "history.hpp"
#include "callbacks.hpp"
#include "evaluate.hpp"
#include "metrics.hpp"
#include "gradcheck.hpp"
#include "check_layer.hpp"
#include "loop.hpp"
#include "fit.hpp"
