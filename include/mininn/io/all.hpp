// mininn/io: files: atomic outputs, .npz archives of models, checkpoints.
#pragma once

#include "output.hpp"
#include "architecture.hpp"
#include "npz.hpp"
#include "checkpoint.hpp"
