// mininn: saving and loading a network's parameters as a NumPy .npz archive.
//
// The archive holds one .npy array per parameter, named "layer<i>.<role>" (layer 0's weights
// are "layer0.W", its bias "layer0.b"), plus "architecture", a byte string describing the
// layers and the scalar type, so numpy.load(path) opens it directly. The zip container is
// libzip's, built in memory.
#pragma once

#include "../core/config.hpp"

#include <cstdio>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <zip.h>

#include "../core/errors.hpp"
#include "architecture.hpp"
#include "output.hpp"
#include "../core/tensor.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

template <class T>
constexpr const char* npy_descr()
{
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::uint64_t>,
                  "npz: float or double parameters (and uint64 for checkpoints' counters)");
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npz: .npy files are written in the host's byte order, "
                                                             "which must be little-endian");
    return std::is_same_v<T, float> ? "<f4" : std::is_same_v<T, double> ? "<f8" : "<u8";
}

/// A version 1.0 .npy header for an array of descr and shape ("()", "(3,)", "(2, 3)"), padded
/// so the data starts on a 64-byte boundary, as numpy writes it.
inline std::string npy_header(const std::string& descr, const std::string& shape)
{
    std::string dict = cat("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
    while ((10 + dict.size() + 1) % 64 != 0)
        dict += ' ';
    dict += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(dict.size() & 0xff);
    out += static_cast<char>(dict.size() >> 8);
    return out + dict;
}

/// A 0-d NumPy byte-string array ("|S<len>") holding text.
inline std::string npy_bytes(const std::string& text)
{
    return npy_header(cat("|S", std::max<std::size_t>(text.size(), 1)), "()") +
           (text.empty() ? std::string(1, '\0') : text);
}

/// A row-major float or double tensor as a .npy blob. The bytes are the host's: npy_descr
/// names them little-endian, which the static_assert there checks.
template <class E>
std::string npy_array(const E& p)
{
    using T = std::decay_t<decltype(p.data()[0])>;
    std::string shape = "(";
    for (std::size_t k = 0; k < p.dimension(); ++k)
        shape += cat(k > 0 ? ", " : "", p.shape()[k]);
    shape += p.dimension() == 1 ? ",)" : ")";
    std::string out = npy_header(npy_descr<T>(), shape);
    const std::size_t header = out.size();
    out.resize(header + p.size() * sizeof(T));
    if (p.size() > 0)
        std::memcpy(&out[header], p.data(), p.size() * sizeof(T));
    return out;
}

/// The header dictionary of a version 1-3 .npy blob, and where its data starts. Offsets, not
/// pointers: the blob may move. Throws io_error (naming where) when it is not one.
struct npy_blob {
    std::string header;
    std::size_t offset = 0, bytes = 0;
};
inline npy_blob parse_npy(const std::string& blob, const std::string& where)
{
    if (blob.size() < 10 || blob.compare(0, 6, "\x93NUMPY") != 0)
        throw io_error(cat(where, ": not a .npy array"));
    const int major = static_cast<unsigned char>(blob[6]);
    std::size_t hlen = 0, start = 0;
    if (major == 1) {
        hlen = static_cast<unsigned char>(blob[8]) | (std::size_t(static_cast<unsigned char>(blob[9])) << 8);
        start = 10;
    } else if ((major == 2 || major == 3) && blob.size() >= 12) {
        for (int k = 3; k >= 0; --k)
            hlen = (hlen << 8) | static_cast<unsigned char>(blob[8 + static_cast<std::size_t>(k)]);
        start = 12;
    } else {
        throw io_error(cat(where, ": unsupported .npy version ", major));
    }
    if (hlen > blob.size() - start)
        throw io_error(cat(where, ": truncated .npy header"));
    return {blob.substr(start, hlen), start + hlen, blob.size() - start - hlen};
}

/// The text between the quotes or parentheses after key in an npy header dictionary.
inline std::string npy_field(const std::string& header, const std::string& key, const std::string& where)
{
    const auto k = header.find("'" + key + "':");
    if (k == std::string::npos)
        throw io_error(cat(where, ": .npy header has no '", key, "'"));
    auto v = header.find_first_not_of(' ', k + key.size() + 3);
    if (v == std::string::npos)
        throw io_error(cat(where, ": bad .npy header"));
    const char open = header[v];
    const char close = open == '\'' ? '\'' : open == '(' ? ')' : ',';
    const auto e = header.find(close, v + 1);
    if (e == std::string::npos)
        throw io_error(cat(where, ": bad .npy header"));
    return open == '\'' || open == '(' ? header.substr(v + 1, e - v - 1) : header.substr(v, e - v);
}

// An .npy header is at most this long: numpy writes under 200 bytes, and version 1 allows 64 KiB.
inline constexpr std::size_t npy_header_max = 65536 + 12;

// The bytes of entry name, refused before anything is allocated when the archive claims more
// than max_bytes: an archive's size fields are not trusted.
inline std::string read_entry(zip_t* z, const std::string& name, const std::string& where, std::size_t max_bytes)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z, name.c_str(), 0, &st) != 0)
        throw io_error(cat(where, ": no array '", name, "' in the archive"));
    if ((st.valid & ZIP_STAT_SIZE) == 0)
        throw io_error(cat(where, ": the archive gives no size for '", name, "'"));
    if (st.size > max_bytes)
        throw io_error(cat(where, ": '", name, "' claims ", st.size, " bytes; at most ", max_bytes, " are expected"));
    zip_file_t* f = zip_fopen(z, name.c_str(), 0);
    if (f == nullptr)
        throw io_error(cat(where, ": cannot read '", name, "' (", zip_strerror(z), ")"));
    std::string out(static_cast<std::size_t>(st.size), '\0');
    const zip_int64_t got = out.empty() ? 0 : zip_fread(f, out.data(), st.size);
    char extra = 0; // the entry must end where its size says
    const zip_int64_t more = got < 0 ? 0 : zip_fread(f, &extra, 1);
    zip_fclose(f);
    if (got < 0 || static_cast<zip_uint64_t>(got) != st.size || more != 0)
        throw io_error(cat(where, ": '", name, "' is corrupt or truncated"));
    return out;
}

// The architecture as version 1 wrote it, from the layers' names: "Dense 784→64; Sigmoid;
// Dense 64→10; Softmax; float32". Only to check files of that version, which cut each name
// where " (" began (it took them from summary()).
template <std::size_t I = 0, class Net>
std::string version1_architecture(const Net& net)
{
    if constexpr (I < Net::depth) {
        const std::string name = net.template layer<I>().name();
        return name.substr(0, name.find(" (")) + "; " + version1_architecture<I + 1>(net);
    } else {
        return scalar_name<typename Net::value_type>();
    }
}

// The architecture entry save() writes (io/architecture.hpp).
template <class Net>
std::string architecture(const Net& net)
{
    return architecture_json(net.specs(), scalar_name<typename Net::value_type>());
}

// The earliest time a zip entry can carry (1980-01-01 00:00, local time, as zip dates are).
inline std::time_t npz_epoch()
{
    std::tm t{};
    t.tm_year = 80;
    t.tm_mday = 1;
    t.tm_isdst = -1;
    return std::mktime(&t);
}

// An .npz archive of the given (name, .npy blob) entries, as bytes: built in memory, so the file
// itself is written once, atomically, by write_file_atomic.
inline std::string npz_build(const std::vector<std::pair<std::string, std::string>>& entries, const std::string& where)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t* mem = zip_source_buffer_create(nullptr, 0, 0, &ze);
    zip_t* z = mem == nullptr ? nullptr : zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
    if (z == nullptr) {
        const std::string why = zip_error_strerror(&ze);
        zip_error_fini(&ze);
        if (mem != nullptr)
            zip_source_free(mem);
        throw io_error(cat(where, ": cannot create the archive (", why, ")"));
    }
    zip_error_fini(&ze);
    zip_source_keep(mem); // outlive zip_close, which writes the archive into it
    struct release {
        zip_source_t* s;
        ~release() { zip_source_free(s); }
    } keep{mem};
    auto fail = [&](const std::string& what) {
        const std::string why = zip_strerror(z);
        zip_discard(z);
        throw io_error(cat(where, ": ", what, " (", why, ")"));
    };
    auto add = [&](const std::string& name, const std::string& blob) { // libzip reads blob at zip_close
        zip_source_t* src = zip_source_buffer(z, blob.data(), blob.size(), 0);
        if (src == nullptr)
            fail(cat("cannot add '", name, "'"));
        const zip_int64_t index = zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE);
        if (index < 0) {
            zip_source_free(src);
            fail(cat("cannot add '", name, "'"));
        }
        // Stored, not deflated, and dated 1980-01-01, as numpy.savez writes: float weights
        // barely compress, and the same network always gives the same bytes.
        if (zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0 ||
            zip_file_set_mtime(z, static_cast<zip_uint64_t>(index), npz_epoch(), 0) != 0)
            fail(cat("cannot store '", name, "'"));
    };
    for (const auto& [name, blob] : entries)
        add(name, blob);
    if (zip_close(z) != 0)
        fail("cannot build the archive");
    std::string out;
    if (zip_source_open(mem) == 0) {
        if (zip_source_seek(mem, 0, SEEK_END) == 0) {
            const zip_int64_t size = zip_source_tell(mem);
            if (size > 0 && zip_source_seek(mem, 0, SEEK_SET) == 0) {
                out.resize(static_cast<std::size_t>(size));
                if (zip_source_read(mem, out.data(), static_cast<zip_uint64_t>(size)) != size)
                    out.clear();
            }
        }
        zip_source_close(mem);
    }
    if (out.empty())
        throw io_error(cat(where, ": cannot read the archive back from memory"));
    return out;
}

template <class Net>
std::string npz_archive(Net& net, const std::string& where);

// The entries save() writes: the architecture, then every tensor (parameters, then state) as
// "layer<i>.<name>".
template <class Net>
std::vector<std::pair<std::string, std::string>> parameter_entries(Net& net)
{
    std::vector<std::pair<std::string, std::string>> entries;
    entries.emplace_back("architecture", npy_bytes(architecture(net)));
    net.visit_tensors([&](std::size_t layer, const TensorSpec& t, auto& p) {
        entries.emplace_back(cat("layer", layer, ".", t.name), npy_array(p));
    });
    return entries;
}

template <class Net>
std::string npz_archive(Net& net, const std::string& where)
{
    return npz_build(parameter_entries(net), where);
}

// The largest archive the parameters of net can explain: every array with the longest header
// numpy may write, zip's per-entry records, and room for the architecture.
template <class Net>
std::size_t npz_max_bytes(Net& net)
{
    std::size_t total = 2 * npy_header_max + 4096;
    net.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) {
        total += p.size() * sizeof(p.data()[0]) * 101 / 100 + npy_header_max + 1024;
    });
    return total;
}

} // namespace detail

/// Writes every parameter of net, and its architecture, to an .npz file that numpy.load opens.
/// The archive is built in memory and written with write_file_atomic, so path is never
/// half-written and a failure leaves nothing behind. Throws io_error naming path when it cannot
/// be written (see write_file_atomic: a device or directory at path is refused).
template <class Net>
void save(Net& net, const std::string& path)
{
    static_cast<void>(detail::npy_descr<typename Net::value_type>());
    check_output_path(path); // before the archive is built
    write_file_atomic(path, detail::npz_build(detail::parameter_entries(net), path));
}

namespace detail {

// An archive opened from bytes held in memory (which must outlive it), closed with it.
class npz_reader {
public:
    npz_reader(const std::string& bytes, const std::string& where) : where_(where)
    {
        zip_error_t ze;
        zip_error_init(&ze);
        zip_source_t* src = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &ze);
        z_ = src == nullptr ? nullptr : zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
        if (z_ == nullptr) {
            const std::string why = zip_error_strerror(&ze);
            zip_error_fini(&ze);
            if (src != nullptr)
                zip_source_free(src);
            throw io_error(cat(where, ": cannot open the archive (", why, ")"));
        }
        zip_error_fini(&ze);
    }
    ~npz_reader() { zip_discard(z_); }
    npz_reader(const npz_reader&) = delete;
    npz_reader& operator=(const npz_reader&) = delete;

    const std::string& where() const noexcept { return where_; }
    bool has(const std::string& name) const { return zip_name_locate(z_, (name + ".npy").c_str(), 0) >= 0; }
    /// The data bytes of array name after checking its dtype, order and shape ("3," or "2,3").
    /// Throws io_error naming the archive and the array otherwise.
    std::string data(const std::string& name, const char* descr, const std::string& expected, std::size_t bytes) const
    {
        const std::string at = where_ + ": " + name;
        const std::string blob = read_entry(z_, name + ".npy", where_, bytes + npy_header_max);
        const auto npy = parse_npy(blob, at);
        const std::string got = npy_field(npy.header, "descr", at);
        if (got != descr)
            throw io_error(cat(at, " has dtype '", got, "', expected '", descr, "'"));
        if (npy_field(npy.header, "fortran_order", at) != "False")
            throw io_error(cat(at, " is stored in Fortran order"));
        std::string shape = npy_field(npy.header, "shape", at);
        shape.erase(std::remove(shape.begin(), shape.end(), ' '), shape.end());
        if (shape != expected || npy.bytes != bytes)
            throw io_error(cat(at, " has shape (", shape, ") and ", npy.bytes, " bytes; expected (", expected, ")"));
        return blob.substr(npy.offset, npy.bytes);
    }
    /// The text of a byte-string array.
    std::string text(const std::string& name) const
    {
        const std::string blob = read_entry(z_, name + ".npy", where_, 2 * npy_header_max);
        const auto npy = parse_npy(blob, where_ + ": " + name);
        std::string got = blob.substr(npy.offset, npy.bytes);
        return got.substr(0, got.find('\0'));
    }

private:
    zip_t* z_ = nullptr;
    std::string where_;
};

// The shape text npy writes for p ("3," or "2,3"), without spaces.
template <class P>
std::string npy_shape_text(const P& p)
{
    std::string s;
    for (std::size_t k = 0; k < p.dimension(); ++k)
        s += cat(p.shape()[k], ",");
    if (p.dimension() > 1)
        s.pop_back();
    return s;
}

// Every tensor's bytes from an archive saved by save(), after checking the architecture
// against the network's and each array; nothing of net changes.
template <class Net>
std::vector<std::string> read_parameters(Net& net, const npz_reader& r)
{
    using T = typename Net::value_type;
    if (!r.has("architecture"))
        throw io_error(cat(r.where(), ": no 'architecture' entry: not a model saved by mininn"));
    const SavedArchitecture a = parse_architecture(r.text("architecture"), r.where());
    check_architecture(a, net.specs(), scalar_name<T>(), version1_architecture(net), r.where());
    std::vector<std::string> data;
    net.visit_tensors([&](std::size_t layer, const TensorSpec& t, auto& p) {
        data.push_back(
            r.data(cat("layer", layer, ".", t.name), npy_descr<T>(), npy_shape_text(p), p.size() * sizeof(T)));
    });
    return data;
}

template <class Net>
void apply_parameters(Net& net, const std::vector<std::string>& data)
{
    std::size_t k = 0;
    net.visit_tensors([&](std::size_t, const TensorSpec&, auto& p) {
        std::memcpy(p.data(), data[k].data(), data[k].size());
        ++k;
    });
}

} // namespace detail

namespace detail {
// The bytes of the file at path, reading at most one chunk past limit (the caller refuses a
// larger file by its size). Throws io_error naming path when it cannot be opened or read.
inline std::string read_archive_file(const std::string& path, std::size_t limit)
{
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr)
        throw io_error(cat(path, ": cannot open the archive (", std::strerror(errno), ")"));
    std::string bytes;
    char chunk[1 << 16];
    std::size_t got = 0;
    while ((got = std::fread(chunk, 1, sizeof chunk, f)) > 0 && bytes.size() <= limit)
        bytes.append(chunk, got);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed)
        throw io_error(cat(path, ": cannot read the archive"));
    return bytes;
}
} // namespace detail

/// load() from the bytes of an archive held in memory; where names it in messages.
template <class Net>
void load_npz(Net& net, const std::string& bytes, const std::string& where)
{
    const std::size_t limit = detail::npz_max_bytes(net);
    if (bytes.size() > limit)
        throw io_error(detail::cat(where, ": ", bytes.size(), " bytes, more than an archive of this network's ",
                                   net.parameter_count(), " parameters can hold (", limit, ")"));
    const detail::npz_reader r(bytes, where);
    // Read and check every array first, then copy: a failure leaves net unchanged.
    detail::apply_parameters(net, detail::read_parameters(net, r));
}

/// Loads parameters saved by save() into net. Checks the architecture (layers and scalar
/// type) and every array's dtype and shape before changing anything, and reads no more than
/// the network's parameters can explain. Throws io_error naming path for a missing, oversized,
/// corrupt or truncated archive, a different architecture, or an array of the wrong dtype or
/// shape; net is then unchanged.
template <class Net>
void load(Net& net, const std::string& path)
{
    load_npz(net, detail::read_archive_file(path, detail::npz_max_bytes(net)), path);
}

} // namespace MININN_ISA
} // namespace mininn
