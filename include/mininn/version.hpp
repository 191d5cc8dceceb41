// mininn: library version, the single source the CMake project reads.
#pragma once

#define MININN_VERSION_MAJOR 0
#define MININN_VERSION_MINOR 1
#define MININN_VERSION_PATCH 0

#define MININN_VERSION_STR2(a, b, c) #a "." #b "." #c
#define MININN_VERSION_STR(a, b, c) MININN_VERSION_STR2(a, b, c)
/// "major.minor.patch", e.g. "0.1.0".
#define MININN_VERSION_STRING MININN_VERSION_STR(MININN_VERSION_MAJOR, MININN_VERSION_MINOR, MININN_VERSION_PATCH)

namespace mininn {
/// The version of the mininn headers this translation unit was compiled with.
inline const char* version() noexcept
{
    return MININN_VERSION_STRING;
}
} // namespace mininn
