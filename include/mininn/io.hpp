// mininn: writing files so that a reader never sees a half-written one.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <unistd.h>

#include "errors.hpp"

namespace mininn {

/// Writes content to path through a temporary file in the same directory and a rename, so
/// path holds either its old content or all of the new. Throws io_error naming the path.
inline void write_file_atomic(const std::string& path, const std::string& content)
{
    const std::string tmp = detail::cat(path, ".tmp.", ::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out)
            throw io_error(detail::cat(path, ": cannot write (", std::strerror(errno), ")"));
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        out.flush();
        if (!out) {
            std::remove(tmp.c_str());
            throw io_error(detail::cat(path, ": write failed (", std::strerror(errno), ")"));
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        throw io_error(detail::cat(path, ": cannot rename the finished file into place (", why, ")"));
    }
}

} // namespace mininn
