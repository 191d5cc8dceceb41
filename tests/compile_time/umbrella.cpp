// tests/compile_times.sh: the same program through the umbrella header.
#include <cstdio>
#include <mininn/mininn.hpp>

#include "xor.inc"
