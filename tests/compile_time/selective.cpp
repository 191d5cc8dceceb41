// tests/compile_times.sh: a small program that includes only the headers it uses.
#include <cstdio>
#include <mininn/layers/activations.hpp>
#include <mininn/layers/dense.hpp>
#include <mininn/layers/init.hpp>
#include <mininn/layers/softmax.hpp>
#include <mininn/losses/cross_entropy.hpp>
#include <mininn/optim/gd.hpp>
#include <mininn/train/metrics.hpp>
#include <mininn/train/network.hpp>

#include "xor.inc"
