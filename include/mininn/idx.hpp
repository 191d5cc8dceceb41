// mininn: reading IDX files (the MNIST format), raw or gzip-compressed.
//
// An IDX file is a 4-byte magic (0, 0, element type, rank), rank big-endian uint32
// dimensions, then the elements. Everything read is checked against the real length of the
// decompressed content before it is used; no size taken from a header is allocated first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <zlib.h>

#include "errors.hpp"
#include "tensor.hpp"

namespace mininn {

/// The content of an unsigned-byte IDX file.
struct IdxData {
    std::vector<std::size_t> shape;
    std::vector<std::uint8_t> data; ///< row-major, product of shape elements
};

namespace detail {

/// zlib's message for f, without the file name it sometimes starts with.
inline std::string gz_message(gzFile f, const std::string& path, int* code)
{
    std::string why = gzerror(f, code);
    if (why.rfind(path + ": ", 0) == 0)
        why.erase(0, path.size() + 2);
    return why;
}

/// The whole decompressed content of a gzip file, or the raw content of any other file
/// (zlib reads those through). Throws io_error naming the file when it cannot be opened,
/// the gzip stream is corrupt or truncated, or it exceeds max_bytes.
inline std::vector<std::uint8_t> read_maybe_gzip(const std::string& path, std::size_t max_bytes)
{
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr)
        throw io_error(cat(path, ": cannot open file"));
    std::vector<std::uint8_t> out;
    std::array<std::uint8_t, 1 << 16> chunk{};
    for (;;) {
        const int got = gzread(f, chunk.data(), static_cast<unsigned>(chunk.size()));
        if (got < 0) {
            int code = 0;
            const std::string why = gz_message(f, path, &code);
            gzclose(f);
            throw io_error(cat(path, ": corrupt gzip stream (", why, ")"));
        }
        if (got == 0)
            break;
        if (out.size() + static_cast<std::size_t>(got) > max_bytes) {
            gzclose(f);
            throw io_error(cat(path, ": more than ", max_bytes, " bytes of content"));
        }
        out.insert(out.end(), chunk.begin(), chunk.begin() + got);
    }
    // gzread stops quietly at a truncated stream; gzerror then reports it.
    int code = Z_OK;
    const std::string why = gz_message(f, path, &code);
    gzclose(f);
    if (code != Z_OK)
        throw io_error(cat(path, ": corrupt or truncated gzip stream (", why, ")"));
    return out;
}

inline std::string element_type_name(std::uint8_t t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

} // namespace detail

/// Reads an unsigned-byte IDX file, gzipped or raw. Throws io_error naming the file for: a
/// missing or unreadable file, a corrupt gzip stream, a wrong magic number, an element type
/// other than unsigned byte, rank 0 or above 4, a file shorter than its header, dimensions
/// whose product overflows or does not match the data (truncated data, trailing bytes).
inline IdxData read_idx(const std::string& path, std::size_t max_bytes = std::size_t(1) << 31)
{
    std::vector<std::uint8_t> bytes = detail::read_maybe_gzip(path, max_bytes);
    const std::size_t size = bytes.size();
    if (size < 4)
        throw io_error(detail::cat(path, ": ", size, " bytes, too short for an IDX header"));
    if (bytes[0] != 0 || bytes[1] != 0)
        throw io_error(detail::cat(path, ": not an IDX file (magic starts 0x", std::hex, int(bytes[0]), " 0x",
                                   int(bytes[1]), ", expected 0x0 0x0)"));
    if (bytes[2] != 0x08)
        throw io_error(detail::cat(path, ": element type 0x", std::hex, int(bytes[2]), " (",
                                   detail::element_type_name(bytes[2]),
                                   ") is not supported; expected 0x8 (unsigned byte)"));
    const std::size_t rank = bytes[3];
    if (rank == 0 || rank > 4)
        throw io_error(detail::cat(path, ": rank ", rank, " is not supported (1 to 4)"));
    const std::size_t header = 4 + 4 * rank;
    if (size < header)
        throw io_error(detail::cat(path, ": truncated header (", size, " bytes, rank ", rank, " needs ", header, ")"));

    IdxData out;
    std::size_t count = 1;
    for (std::size_t k = 0; k < rank; ++k) {
        const std::uint8_t* p = bytes.data() + 4 + 4 * k;
        const std::size_t d = (std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3];
        if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d)
            throw io_error(detail::cat(path, ": dimensions overflow"));
        count *= d;
        out.shape.push_back(d);
    }
    const std::size_t body = size - header;
    if (body < count)
        throw io_error(detail::cat(path, ": truncated: dimensions ", detail::shape_str(out.shape), " need ", count,
                                   " bytes of data, the file has ", body));
    if (body > count)
        throw io_error(detail::cat(path, ": ", body - count, " trailing bytes after the ", count,
                                   " bytes that dimensions ", detail::shape_str(out.shape), " describe"));
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
    out.data = std::move(bytes);
    return out;
}

/// Images from a rank-3 IDX file [n, rows, cols] as a matrix [rows * cols, n] with one
/// sample per column, each pixel multiplied by scale (1/255 maps bytes to [0, 1]).
/// Throws io_error as read_idx does, and when the file is not rank 3.
template <class T>
matrix<T> read_idx_images(const std::string& path, T scale = T(1) / T(255))
{
    const IdxData idx = read_idx(path);
    if (idx.shape.size() != 3)
        throw io_error(detail::cat(path, ": expected images [n, rows, cols], got dimensions ",
                                   detail::shape_str(idx.shape)));
    const std::size_t n = idx.shape[0], d = idx.shape[1] * idx.shape[2];
    matrix<T> X(typename matrix<T>::shape_type{d, n});
    // Transpose [n, d] bytes into [d, n] in tiles so both sides stay in cache.
    constexpr std::size_t tile = 64;
    for (std::size_t j0 = 0; j0 < n; j0 += tile)
        for (std::size_t f0 = 0; f0 < d; f0 += tile)
            for (std::size_t j = j0; j < std::min(n, j0 + tile); ++j)
                for (std::size_t f = f0; f < std::min(d, f0 + tile); ++f)
                    X(f, j) = static_cast<T>(idx.data[j * d + f]) * scale;
    return X;
}

/// Labels from a rank-1 IDX file [n]. Throws io_error as read_idx does, when the file is not
/// rank 1, or when a label is not below num_classes (when num_classes > 0).
inline label_vector read_idx_labels(const std::string& path, std::size_t num_classes = 0)
{
    const IdxData idx = read_idx(path);
    if (idx.shape.size() != 1)
        throw io_error(detail::cat(path, ": expected labels [n], got dimensions ", detail::shape_str(idx.shape)));
    label_vector y(label_vector::shape_type{idx.shape[0]});
    for (std::size_t j = 0; j < idx.shape[0]; ++j) {
        y(j) = idx.data[j];
        if (num_classes > 0 && y(j) >= num_classes)
            throw io_error(detail::cat(path, ": label ", y(j), " at index ", j, " is outside [0, ", num_classes, ")"));
    }
    return y;
}

} // namespace mininn
