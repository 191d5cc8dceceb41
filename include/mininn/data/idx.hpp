// mininn: reading IDX files (the MNIST format), raw or gzip-compressed.
//
// An IDX file is a 4-byte magic (0, 0, element type, rank), rank big-endian uint32
// dimensions, then the elements. The header is read and checked first (bounded by max_bytes),
// then the data in pieces, never more than the header promises plus one byte, and buffers grow
// with what arrives: a file that claims gigabytes it does not hold costs only what it holds.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../detail/gz_reader.hpp"
#include "../core/errors.hpp"
#include "../core/sparse.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// The content of an unsigned-byte IDX file.
struct IdxData {
    std::vector<std::size_t> shape;
    std::vector<std::uint8_t> data; ///< row-major, product of shape elements
};

/// Samples [first, first + count) of a file's n (count = all: to the end). Each process of a
/// distributed run reads only its own shard this way (mininn::distributed::shard gives it).
struct SampleRange {
    static constexpr std::size_t all = std::numeric_limits<std::size_t>::max();
    std::size_t first = 0;
    std::size_t count = all;
};

namespace detail {

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

/// The dimensions of an unsigned-byte IDX file and their element count, read and checked
/// before anything is allocated for the data. Throws io_error as read_idx documents.
struct idx_header {
    std::vector<std::size_t> shape;
    std::size_t count = 0;
};
inline idx_header read_idx_header(gz_reader& in, std::size_t max_bytes)
{
    const std::string& path = in.path();
    std::uint8_t magic[4];
    const std::size_t got = in.read(magic, 4);
    if (got < 4)
        throw io_error(cat(path, ": ", got, " bytes, too short for an IDX header"));
    if (magic[0] != 0 || magic[1] != 0)
        throw io_error(cat(path, ": not an IDX file (magic starts 0x", std::hex, int(magic[0]), " 0x", int(magic[1]),
                           ", expected 0x0 0x0)"));
    if (magic[2] != 0x08)
        throw io_error(cat(path, ": element type 0x", std::hex, int(magic[2]), " (", element_type_name(magic[2]),
                           ") is not supported; expected 0x8 (unsigned byte)"));
    const std::size_t rank = magic[3];
    if (rank == 0 || rank > 4)
        throw io_error(cat(path, ": rank ", rank, " is not supported (1 to 4)"));
    std::uint8_t dims[16];
    const std::size_t have = in.read(dims, 4 * rank);
    if (have < 4 * rank)
        throw io_error(cat(path, ": truncated header (", 4 + have, " bytes, rank ", rank, " needs ", 4 + 4 * rank, ")"));
    idx_header h;
    for (std::size_t k = 0; k < rank; ++k) {
        const std::uint8_t* p = dims + 4 * k;
        h.shape.push_back((std::size_t(p[0]) << 24) | (std::size_t(p[1]) << 16) | (std::size_t(p[2]) << 8) | p[3]);
    }
    // The product of the non-zero dimensions is bounded too: [0, 2^29, 2^29] holds no element,
    // but each of its images would have 2^58 pixels.
    std::size_t nonzero = 1;
    bool empty = false;
    for (const std::size_t d : h.shape) {
        empty = empty || d == 0;
        if (d != 0 && nonzero > max_bytes / d)
            throw io_error(cat(path, ": dimensions ", shape_str(h.shape), " describe more than ", max_bytes, " bytes"));
        nonzero *= d == 0 ? 1 : d;
    }
    h.count = empty ? 0 : nonzero;
    return h;
}

// Checks that the content ends after the data: one more byte is read, no more.
inline void expect_end(gz_reader& in, const idx_header& h)
{
    std::uint8_t extra = 0;
    if (in.read(&extra, 1) != 0)
        throw io_error(cat(in.path(), ": trailing bytes after the ", h.count, " bytes that dimensions ",
                           shape_str(h.shape), " describe"));
}

inline std::string truncated(const std::string& path, const idx_header& h, std::size_t have)
{
    return cat(path, ": truncated: dimensions ", shape_str(h.shape), " need ", h.count, " bytes of data, the file has ",
               have);
}

// The data after the header, then the check that nothing follows it. The buffer grows with
// what arrives, not with what the header claims.
inline std::vector<std::uint8_t> read_idx_data(gz_reader& in, const idx_header& h)
{
    std::vector<std::uint8_t> data;
    std::size_t have = 0;
    while (have < h.count) {
        const std::size_t step = std::min(h.count - have, std::max<std::size_t>(have, std::size_t(1) << 20));
        data.resize(have + step);
        const std::size_t got = in.read(data.data() + have, step);
        have += got;
        if (got < step)
            throw io_error(truncated(in.path(), h, have));
    }
    expect_end(in, h);
    return data;
}

// Reads and drops bytes through a fixed buffer (a gzip stream cannot seek cheaply).
inline void skip_idx_bytes(gz_reader& in, const idx_header& h, std::size_t bytes, std::size_t& have)
{
    std::uint8_t scratch[1 << 16];
    while (bytes > 0) {
        const std::size_t step = std::min(bytes, sizeof scratch);
        const std::size_t got = in.read(scratch, step);
        have += got;
        if (got < step)
            throw io_error(truncated(in.path(), h, have));
        bytes -= step;
    }
}

// The samples of range out of n samples of `per` bytes each: checks the range, skips what
// lies before it, reads it, then reads through what follows and checks the end, so a shard
// of a truncated or overlong file is refused as the whole file would be.
inline std::vector<std::uint8_t> read_idx_range(gz_reader& in, const idx_header& h, std::size_t n, std::size_t per,
                                                SampleRange& range)
{
    if (range.first > n || (range.count != SampleRange::all && range.count > n - range.first))
        throw io_error(cat(in.path(), ": samples [", range.first, ", ",
                           range.count == SampleRange::all ? std::string("end") : cat(range.first + range.count),
                           ") are outside the file's ", n));
    if (range.count == SampleRange::all)
        range.count = n - range.first;
    if (range.first == 0 && range.count == n)
        return read_idx_data(in, h);
    std::size_t have = 0;
    skip_idx_bytes(in, h, range.first * per, have);
    std::vector<std::uint8_t> data;
    const std::size_t want = range.count * per;
    while (data.size() < want) { // grows with what arrives, as read_idx_data does
        const std::size_t at = data.size();
        const std::size_t step = std::min(want - at, std::max<std::size_t>(at, std::size_t(1) << 20));
        data.resize(at + step);
        const std::size_t got = in.read(data.data() + at, step);
        have += got;
        if (got < step)
            throw io_error(truncated(in.path(), h, have));
    }
    skip_idx_bytes(in, h, (n - range.first - range.count) * per, have);
    expect_end(in, h);
    return data;
}

inline idx_header read_image_header(gz_reader& in, const std::string& path, std::size_t max_bytes)
{
    const idx_header h = read_idx_header(in, max_bytes);
    if (h.shape.size() != 3)
        throw io_error(cat(path, ": expected images [n, rows, cols], got dimensions ", shape_str(h.shape)));
    if (h.count == 0)
        throw io_error(cat(path, ": dimensions ", shape_str(h.shape), " hold no ", h.shape[0] == 0 ? "image" : "pixel"));
    return h;
}

} // namespace detail

/// Reads an unsigned-byte IDX file, gzipped or raw. Reads the header first and then no more
/// than it promises plus one byte, and holds no more memory than the data read (a truncated
/// file that promises gigabytes costs what it holds). Throws io_error naming the file for: a
/// missing or unreadable file, a corrupt or truncated gzip stream, a wrong magic number, an
/// element type other than unsigned byte, rank 0 or above 4, a file shorter than its header,
/// dimensions that describe more than max_bytes (zero dimensions included), and data that does
/// not match them (truncated data, trailing bytes).
inline IdxData read_idx(const std::string& path, std::size_t max_bytes = std::size_t(1) << 31)
{
    detail::gz_reader in(path);
    IdxData out;
    const detail::idx_header h = detail::read_idx_header(in, max_bytes);
    out.shape = h.shape;
    out.data = detail::read_idx_data(in, h);
    return out;
}

/// Images from a rank-3 IDX file [n, rows, cols] as a matrix [rows * cols, n] with one
/// sample per column, each pixel multiplied by scale (1/255 maps bytes to [0, 1]). The matrix
/// is allocated once the bytes have arrived, so a file that claims more than it holds costs
/// only what it holds. With a range, only its images [rows * cols, range.count] are kept
/// (an empty range gives [rows * cols, 0]), and the whole file is still read through and
/// checked. Throws io_error as read_idx does, when the file is not rank 3, when it holds no
/// image or images of no pixel, and when the range lies outside it.
template <class T>
matrix<T> read_idx_images(const std::string& path, SampleRange range, T scale = T(1) / T(255),
                          std::size_t max_bytes = std::size_t(1) << 31)
{
    detail::gz_reader in(path);
    const detail::idx_header h = detail::read_image_header(in, path, max_bytes);
    std::size_t n = h.shape[0];
    const std::size_t d = h.shape[1] * h.shape[2];
    const std::vector<std::uint8_t> bytes = detail::read_idx_range(in, h, n, d, range);
    n = range.count;
    matrix<T> X(typename matrix<T>::shape_type{d, n});
    // Transpose [n, d] bytes into [d, n] in tiles so both sides stay in cache.
    constexpr std::size_t tile = 64;
    for (std::size_t j0 = 0; j0 < n; j0 += tile)
        for (std::size_t f0 = 0; f0 < d; f0 += tile)
            for (std::size_t j = j0; j < std::min(n, j0 + tile); ++j)
                for (std::size_t f = f0; f < std::min(d, f0 + tile); ++f)
                    X(f, j) = static_cast<T>(bytes[j * d + f]) * scale;
    return X;
}

/// All the images of the file: read_idx_images(path, SampleRange{}, scale, max_bytes).
template <class T>
matrix<T> read_idx_images(const std::string& path, T scale = T(1) / T(255), std::size_t max_bytes = std::size_t(1) << 31)
{
    return read_idx_images<T>(path, SampleRange{}, scale, max_bytes);
}

namespace detail {

// The images of bytes [count, d] (one after another) as the columns of a sparse matrix.
template <class T>
sparse_matrix<T> sparse_images(const std::vector<std::uint8_t>& bytes, std::size_t d, std::size_t count, T scale)
{
    std::size_t nz = 0;
    for (const std::uint8_t b : bytes)
        nz += b != 0;
    std::vector<std::size_t> starts(count + 1, 0);
    std::vector<typename sparse_matrix<T>::index_type> rows;
    std::vector<T> values;
    rows.reserve(nz);
    values.reserve(nz);
    for (std::size_t j = 0; j < count; ++j) {
        const std::uint8_t* img = bytes.data() + j * d;
        for (std::size_t f = 0; f < d; ++f)
            if (img[f] != 0) {
                rows.push_back(static_cast<typename sparse_matrix<T>::index_type>(f));
                values.push_back(static_cast<T>(img[f]) * scale);
            }
        starts[j + 1] = rows.size();
    }
    return sparse_matrix<T>(d, count, std::move(starts), std::move(rows), std::move(values));
}

} // namespace detail

/// read_idx_images() straight into a sparse_matrix [rows * cols, range.count] that keeps only the
/// non-zero pixels (times scale), without the dense matrix: the file's bytes are already one
/// sample after another, which is how the sparse matrix stores its columns. Throws as
/// read_idx_images does.
template <class T>
sparse_matrix<T> read_idx_images_sparse(const std::string& path, SampleRange range = {}, T scale = T(1) / T(255),
                                        std::size_t max_bytes = std::size_t(1) << 31)
{
    detail::gz_reader in(path);
    const detail::idx_header h = detail::read_image_header(in, path, max_bytes);
    const std::size_t d = h.shape[1] * h.shape[2];
    const std::vector<std::uint8_t> bytes = detail::read_idx_range(in, h, h.shape[0], d, range);
    return detail::sparse_images<T>(bytes, d, range.count, scale);
}

namespace detail {

// Calls f(i, image) for each image of an open image file, in file order, through one buffer
// of d bytes, then checks the end: a stream, never the whole file in memory.
template <class F>
void for_each_image(gz_reader& in, const idx_header& h, std::size_t d, std::vector<std::uint8_t>& img, F&& f)
{
    img.resize(d);
    std::size_t have = 0;
    for (std::size_t i = 0; i < h.shape[0]; ++i) {
        const std::size_t got = in.read(img.data(), d);
        have += got;
        if (got < d)
            throw io_error(truncated(in.path(), h, have));
        f(i, img.data());
    }
    expect_end(in, h);
}

} // namespace detail

/// All the images of the file as a sparse matrix whose column j is image order[j]: a shuffle
/// applied while reading. The file is streamed twice (counting, then filling), so that only
/// the result is ever held: neither the file's bytes nor a second copy. Throws io_error as
/// read_idx_images does, and shape_error for an index outside the file.
template <class T>
sparse_matrix<T> read_idx_images_sparse(const std::string& path, const std::vector<std::size_t>& order,
                                        T scale = T(1) / T(255), std::size_t max_bytes = std::size_t(1) << 31)
{
    using index = typename sparse_matrix<T>::index_type;
    std::vector<std::uint8_t> img;
    std::vector<std::size_t> nonzeros;
    std::size_t d = 0;
    {
        detail::gz_reader in(path);
        const detail::idx_header h = detail::read_image_header(in, path, max_bytes);
        d = h.shape[1] * h.shape[2];
        for (const std::size_t j : order)
            if (j >= h.shape[0])
                throw shape_error(detail::cat(path, ": image ", j, " of a file with ", h.shape[0]));
        nonzeros.assign(h.shape[0], 0);
        detail::for_each_image(in, h, d, img, [&](std::size_t i, const std::uint8_t* px) {
            nonzeros[i] = static_cast<std::size_t>(std::count_if(px, px + d, [](std::uint8_t b) { return b != 0; }));
        });
    }
    // Where each image goes: the columns that take it (an order may repeat or leave out images).
    std::vector<std::size_t> starts(order.size() + 1, 0), takers_start(nonzeros.size() + 1, 0), takers(order.size());
    for (std::size_t j = 0; j < order.size(); ++j) {
        starts[j + 1] = starts[j] + nonzeros[order[j]];
        ++takers_start[order[j] + 1];
    }
    for (std::size_t i = 0; i < nonzeros.size(); ++i)
        takers_start[i + 1] += takers_start[i];
    {
        std::vector<std::size_t> next(takers_start.begin(), takers_start.end() - 1);
        for (std::size_t j = 0; j < order.size(); ++j)
            takers[next[order[j]]++] = j;
    }
    std::vector<index> rows(starts.back());
    std::vector<T> values(starts.back());
    detail::gz_reader in(path); // the second pass: the file was checked by the first
    const detail::idx_header h = detail::read_image_header(in, path, max_bytes);
    if (h.shape[1] * h.shape[2] != d || h.shape[0] != nonzeros.size())
        throw io_error(detail::cat(path, ": changed while it was read"));
    detail::for_each_image(in, h, d, img, [&](std::size_t i, const std::uint8_t* px) {
        if (takers_start[i] == takers_start[i + 1])
            return;
        if (static_cast<std::size_t>(std::count_if(px, px + d, [](std::uint8_t b) { return b != 0; })) != nonzeros[i])
            throw io_error(detail::cat(path, ": changed while it was read"));
        for (std::size_t t = takers_start[i]; t < takers_start[i + 1]; ++t) {
            std::size_t at = starts[takers[t]];
            for (std::size_t f = 0; f < d; ++f)
                if (px[f] != 0) {
                    rows[at] = static_cast<index>(f);
                    values[at++] = static_cast<T>(px[f]) * scale;
                }
        }
    });
    return sparse_matrix<T>(d, order.size(), std::move(starts), std::move(rows), std::move(values));
}

/// Labels from a rank-1 IDX file [n], or those of range [range.count]. Throws io_error as
/// read_idx does, when the file is not rank 1, when a label is not below num_classes (when
/// num_classes > 0), and when the range lies outside the file.
inline label_vector read_idx_labels(const std::string& path, SampleRange range, std::size_t num_classes = 0,
                                    std::size_t max_bytes = std::size_t(1) << 31)
{
    detail::gz_reader in(path);
    const detail::idx_header h = detail::read_idx_header(in, max_bytes);
    if (h.shape.size() != 1)
        throw io_error(detail::cat(path, ": expected labels [n], got dimensions ", detail::shape_str(h.shape)));
    const std::vector<std::uint8_t> data = detail::read_idx_range(in, h, h.count, 1, range);
    label_vector y(label_vector::shape_type{range.count});
    for (std::size_t j = 0; j < range.count; ++j) {
        y(j) = data[j];
        if (num_classes > 0 && y(j) >= num_classes)
            throw io_error(detail::cat(path, ": label ", y(j), " at index ", range.first + j, " is outside [0, ",
                                       num_classes, ")"));
    }
    return y;
}

/// All the labels of the file: read_idx_labels(path, SampleRange{}, num_classes, max_bytes).
inline label_vector read_idx_labels(const std::string& path, std::size_t num_classes = 0,
                                    std::size_t max_bytes = std::size_t(1) << 31)
{
    return read_idx_labels(path, SampleRange{}, num_classes, max_bytes);
}

} // namespace MININN_ISA
} // namespace mininn
