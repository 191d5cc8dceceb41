// What the benchmark programs share: medians, and where the MNIST files are.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

inline double median(std::vector<double> t)
{
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// The MNIST directory: dir if given, else $MININN_MNIST_DIR. Throws std::runtime_error saying
// how to give one.
inline std::string mnist_dir(const std::string& dir)
{
    if (!dir.empty())
        return dir;
    const char* env = std::getenv("MININN_MNIST_DIR");
    if (env == nullptr)
        throw std::runtime_error("no data: pass --data DIR, set MININN_MNIST_DIR, or use --synthetic");
    return env;
}

} // namespace bench
