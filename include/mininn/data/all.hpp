// mininn/data: data sets: IDX and MNIST files, CSV files, standardizing, splitting and batching columns.
#pragma once

#include "columns.hpp"
#include "idx.hpp"
#include "mnist.hpp"
#include "csv.hpp"
#include "standardizer.hpp"
