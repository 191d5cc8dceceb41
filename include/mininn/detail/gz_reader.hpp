// mininn::detail: reading a file, gzip-compressed or not, in pieces.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include <zlib.h>

#include "../core/errors.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// A gzip file, or any other file (zlib reads those through), read in pieces; every read
/// checks the stream, so corruption is reported where it is found.
class gz_reader {
public:
    /// Throws io_error naming path when it cannot be opened.
    explicit gz_reader(const std::string& path) : path_(path), f_(gzopen(path.c_str(), "rb"))
    {
        if (f_ == nullptr)
            throw io_error(cat(path, ": cannot open file"));
    }
    gz_reader(const gz_reader&) = delete;
    gz_reader& operator=(const gz_reader&) = delete;
    ~gz_reader() { gzclose(f_); }

    /// Reads up to n bytes into p and returns how many it read: fewer only at the end of the
    /// content. Throws io_error for a corrupt or truncated gzip stream.
    std::size_t read(void* p, std::size_t n)
    {
        auto* out = static_cast<std::uint8_t*>(p);
        std::size_t have = 0;
        while (have < n) {
            const auto want = static_cast<unsigned>(std::min<std::size_t>(n - have, std::size_t(1) << 30));
            const int got = gzread(f_, out + have, want);
            if (got < 0)
                throw io_error(cat(path_, ": corrupt gzip stream (", message(), ")"));
            if (got == 0)
                break;
            have += static_cast<std::size_t>(got);
        }
        if (have < n) { // gzread stops quietly at a truncated stream; gzerror then reports it
            int code = Z_OK;
            const std::string why = message(&code);
            if (code != Z_OK)
                throw io_error(cat(path_, ": corrupt or truncated gzip stream (", why, ")"));
        }
        return have;
    }

    const std::string& path() const noexcept { return path_; }

private:
    // zlib's message, without the file name it sometimes starts with.
    std::string message(int* code = nullptr)
    {
        int c = Z_OK;
        std::string why = gzerror(f_, code != nullptr ? code : &c);
        if (why.rfind(path_ + ": ", 0) == 0)
            why.erase(0, path_.size() + 2);
        return why;
    }

    std::string path_;
    gzFile f_;
};

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
