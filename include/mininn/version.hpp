// mininn: library version, the single source the CMake project reads.
#pragma once

#define MININN_VERSION_MAJOR 0
#define MININN_VERSION_MINOR 1
#define MININN_VERSION_PATCH 0
