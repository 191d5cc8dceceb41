// mininn/inference: a trained network frozen for inference (Model, freeze, load_model).
#pragma once

#include "ops.hpp"
#include "fold.hpp"
#include "image_ops.hpp"
#include "model.hpp"
#include "load.hpp"
