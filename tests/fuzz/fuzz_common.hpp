// Shared pieces of mininn's libFuzzer harnesses: inputs as files, and invariant checks that
// abort (a finding) instead of returning.
#pragma once

#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <zlib.h>

#include <sys/mman.h>
#include <unistd.h>

namespace fuzz {

/// A file in memory (memfd) that a reader opens by name: /proc/self/fd/N starts at offset 0
/// for every open, as a fresh file would.
class memfile {
public:
    memfile() : fd_(::memfd_create("mininn-fuzz", 0))
    {
        if (fd_ < 0)
            std::abort();
    }
    memfile(const memfile&) = delete;
    memfile& operator=(const memfile&) = delete;
    ~memfile() { ::close(fd_); }
    /// Replaces the content and returns the file's name.
    const std::string& write(const std::uint8_t* data, std::size_t size)
    {
        if (::ftruncate(fd_, 0) != 0 || (size > 0 && ::pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)))
            std::abort();
        return path_;
    }

private:
    int fd_;
    std::string path_ = "/proc/self/fd/" + std::to_string(fd_);
};

/// An invariant: a false one is a finding, reported with its text.
inline void require(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

/// Splits data into parts: each part is a 2-byte little-endian length and that many bytes;
/// the last part takes whatever is left.
inline std::vector<std::vector<std::uint8_t>> split(const std::uint8_t* data, std::size_t size, std::size_t parts)
{
    std::vector<std::vector<std::uint8_t>> out(parts);
    std::size_t at = 0;
    for (std::size_t k = 0; k < parts; ++k) {
        std::size_t len = size - at;
        if (k + 1 < parts) {
            if (size - at < 2) {
                len = 0;
            } else {
                len = std::min<std::size_t>(data[at] | (std::size_t(data[at + 1]) << 8), size - at - 2);
                at += 2;
            }
        }
        out[k].assign(data + at, data + at + len);
        at += len;
    }
    return out;
}

/// The gzip stream of data (zlib, level 1), so that harnesses reach the reader's
/// decompression with valid streams as well as with the fuzzer's own bytes.
inline std::vector<std::uint8_t> gzip(const std::uint8_t* data, std::size_t size)
{
    z_stream z{};
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        std::abort();
    std::vector<std::uint8_t> out(deflateBound(&z, size) + 32);
    z.next_in = const_cast<std::uint8_t*>(data);
    z.avail_in = static_cast<uInt>(size);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        std::abort();
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

} // namespace fuzz
