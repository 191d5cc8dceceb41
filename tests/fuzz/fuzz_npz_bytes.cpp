// libFuzzer harness: load_npz on any bytes, as a damaged or hostile .npz file would reach load().
#include "fuzz_npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    fuzz::check_load(std::string(reinterpret_cast<const char*>(data), size));
    return 0;
}
