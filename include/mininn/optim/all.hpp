// mininn/optim: optimizers (GD, Momentum, Adam/AdamW), weight decay and learning-rate schedules.
#pragma once

#include "optimizer.hpp"
#include "gd.hpp"
#include "momentum.hpp"
#include "adam.hpp"
#include "schedule.hpp"
