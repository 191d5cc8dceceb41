// mininn: saving and loading a network's parameters as a NumPy .npz archive.
//
// The archive holds one .npy array per parameter, named "layer<i>.<role>" (layer 0's weights
// are "layer0.W", its bias "layer0.b"), plus "architecture", a byte string describing the
// layers and the scalar type, so numpy.load(path) opens it directly. The zip container is
// libzip's; the arrays are written by xtensor's npy writer.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>
#include <zip.h>

#include <xtensor/xnpy.hpp>

#include "errors.hpp"
#include "tensor.hpp"

namespace mininn {
namespace detail {

template <class T>
constexpr const char* npy_descr()
{
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "npz: float or double parameters");
    return std::is_same_v<T, float> ? "<f4" : "<f8";
}

/// A 0-d NumPy byte-string array ("|S<len>") holding text.
inline std::string npy_bytes(const std::string& text)
{
    std::string header = cat("{'descr': '|S", std::max<std::size_t>(text.size(), 1),
                             "', 'fortran_order': False, 'shape': (), }");
    while ((10 + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + (text.empty() ? std::string(1, '\0') : text);
}

/// The header dictionary and data of a version 1-3 .npy blob. Throws io_error (naming where)
/// when it is not one.
struct npy_blob {
    std::string header;
    const char* data = nullptr;
    std::size_t bytes = 0;
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
    return {blob.substr(start, hlen), blob.data() + start + hlen, blob.size() - start - hlen};
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

inline std::string read_entry(zip_t* z, const std::string& name, const std::string& path)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z, name.c_str(), 0, &st) != 0)
        throw io_error(cat(path, ": no array '", name, "' in the archive"));
    if (st.size > (std::uint64_t(1) << 32))
        throw io_error(cat(path, ": array '", name, "' is implausibly large"));
    zip_file_t* f = zip_fopen(z, name.c_str(), 0);
    if (f == nullptr)
        throw io_error(cat(path, ": cannot read '", name, "' (", zip_strerror(z), ")"));
    std::string out(static_cast<std::size_t>(st.size), '\0');
    const zip_int64_t got = zip_fread(f, out.data(), st.size);
    zip_fclose(f);
    if (got < 0 || static_cast<zip_uint64_t>(got) != st.size)
        throw io_error(cat(path, ": '", name, "' is corrupt or truncated"));
    return out;
}

/// "Dense 784→64; Sigmoid; Dense 64→10; Softmax; float32"
template <class Net>
std::string architecture(const Net& net)
{
    std::string s = net.summary(), out;
    std::size_t pos = 0;
    while ((pos = s.find(": ")) != std::string::npos) {
        const auto end = s.find(" (", pos);
        out += s.substr(pos + 2, end - pos - 2) + "; ";
        s.erase(0, s.find('\n') + 1);
    }
    return out + (std::is_same_v<typename Net::value_type, float> ? "float32" : "float64");
}

} // namespace detail

/// Writes every parameter of net, and its architecture, to an .npz file that numpy.load opens.
/// The archive is written to a temporary file beside path and renamed into place, so path is
/// never half-written. Throws io_error naming path when it cannot be written.
template <class Net>
void save(Net& net, const std::string& path)
{
    using T = typename Net::value_type;
    const std::string tmp = detail::cat(path, ".tmp.", ::getpid());
    int err = 0;
    zip_t* z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (z == nullptr)
        throw io_error(detail::cat(path, ": cannot create the archive (libzip error ", err, ")"));
    std::vector<std::string> blobs; // libzip reads the buffers when the archive is closed
    blobs.reserve(64);
    auto add = [&](const std::string& name, std::string blob) {
        blobs.push_back(std::move(blob));
        zip_source_t* src = zip_source_buffer(z, blobs.back().data(), blobs.back().size(), 0);
        if (src == nullptr || zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE) < 0) {
            if (src != nullptr)
                zip_source_free(src);
            const std::string why = zip_strerror(z);
            zip_discard(z);
            std::remove(tmp.c_str());
            throw io_error(detail::cat(path, ": cannot add '", name, "' (", why, ")"));
        }
    };
    add("architecture", detail::npy_bytes(detail::architecture(net)));
    net.visit_named_parameters([&](std::size_t layer, const std::string&, const char* role, auto& p, auto&) {
        add(detail::cat("layer", layer, ".", role), xt::dump_npy(p));
    });
    static_cast<void>(detail::npy_descr<T>());
    if (zip_close(z) != 0) {
        const std::string why = zip_strerror(z);
        zip_discard(z);
        std::remove(tmp.c_str());
        throw io_error(detail::cat(path, ": cannot write the archive (", why, ")"));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw io_error(detail::cat(path, ": cannot rename the finished archive into place"));
    }
}

/// Loads parameters saved by save() into net. Checks the architecture (layers and scalar
/// type) and every array's dtype and shape before changing anything. Throws io_error naming
/// path for a missing or corrupt archive, a different architecture, or an array of the wrong
/// dtype or shape.
template <class Net>
void load(Net& net, const std::string& path)
{
    using T = typename Net::value_type;
    int err = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (z == nullptr) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        const std::string why = zip_error_strerror(&ze);
        zip_error_fini(&ze);
        throw io_error(detail::cat(path, ": cannot open the archive (", why, ")"));
    }
    struct closer {
        zip_t* z;
        ~closer() { zip_discard(z); }
    } close_on_exit{z};

    const std::string want = detail::architecture(net);
    const auto arch = detail::parse_npy(detail::read_entry(z, "architecture.npy", path), path + ": architecture");
    const std::string got(arch.data, arch.bytes);
    if (got.substr(0, got.find('\0')) != want)
        throw io_error(detail::cat(path, ": the saved architecture '", got.substr(0, got.find('\0')),
                                   "' does not match the network's '", want, "'"));

    // Read and check every array first, then copy: a failure leaves net unchanged.
    std::vector<std::string> blobs;
    std::vector<const char*> data;
    net.visit_named_parameters([&](std::size_t layer, const std::string&, const char* role, auto& p, auto&) {
        const std::string name = detail::cat("layer", layer, ".", role);
        blobs.push_back(detail::read_entry(z, name + ".npy", path));
        const auto npy = detail::parse_npy(blobs.back(), path + ": " + name);
        const std::string descr = detail::npy_field(npy.header, "descr", path + ": " + name);
        if (descr != detail::npy_descr<T>())
            throw io_error(detail::cat(path, ": ", name, " has dtype '", descr, "', expected '",
                                       detail::npy_descr<T>(), "'"));
        if (detail::npy_field(npy.header, "fortran_order", path + ": " + name) != "False")
            throw io_error(detail::cat(path, ": ", name, " is stored in Fortran order"));
        std::string shape = detail::npy_field(npy.header, "shape", path + ": " + name), expected;
        shape.erase(std::remove(shape.begin(), shape.end(), ' '), shape.end());
        for (std::size_t k = 0; k < p.dimension(); ++k)
            expected += detail::cat(p.shape()[k], ",");
        if (p.dimension() > 1)
            expected.pop_back();
        if (shape != expected || npy.bytes != p.size() * sizeof(T))
            throw io_error(detail::cat(path, ": ", name, " has shape (", shape, ") and ", npy.bytes,
                                       " bytes; the network needs (", expected, ")"));
        data.push_back(npy.data);
    });
    std::size_t k = 0;
    net.visit_parameters([&](auto& p, auto&) { std::memcpy(p.data(), data[k++], p.size() * sizeof(T)); });
}

} // namespace mininn
