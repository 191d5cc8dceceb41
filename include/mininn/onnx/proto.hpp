// mininn::onnx internals: ONNX protobuf messages read within a byte limit, and tensors between
// ONNX's TensorProto and mininn's row-major vectors. Needs Debian's libonnx-dev and
// libprotobuf-dev (the mininn::onnx target links onnx_proto and protobuf).
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx_pb.h>

#include "../core/errors.hpp"
#include "../io/npz.hpp"

namespace mininn {
inline namespace MININN_ISA {
namespace detail {

/// The ONNX element type of T (FLOAT or DOUBLE).
template <class T>
constexpr int onnx_type_of()
{
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "ONNX: T is float or double");
    return std::is_same_v<T, float> ? onnx::TensorProto::FLOAT : onnx::TensorProto::DOUBLE;
}

/// The bytes of the ONNX file at path, at most max_bytes and within protobuf's 2 GB (which
/// parse_onnx's int sizes need). Throws io_error naming path when it cannot be read or is larger.
inline std::string read_onnx_file(const std::string& path, std::size_t max_bytes)
{
    std::string bytes = read_archive_file(path, max_bytes);
    if (bytes.size() > max_bytes || bytes.size() > std::size_t(2147483647))
        throw io_error(cat(path, ": larger than the ", max_bytes, " bytes load_onnx reads (and protobuf's 2 GB)"));
    return bytes;
}

/// A ModelProto from a file's bytes. Throws io_error naming where when they are not one.
inline onnx::ModelProto parse_onnx(const std::string& bytes, const std::string& where)
{
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    in.SetTotalBytesLimit(static_cast<int>(bytes.size()));
    onnx::ModelProto m;
    if (!m.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
        throw io_error(cat(where, ": not an ONNX model (its ", bytes.size(), " bytes do not parse as a ModelProto)"));
    return m;
}

/// The dimensions of t, each checked to be >= 0 and their product below 2^62; at names the
/// tensor in messages.
inline std::vector<std::size_t> onnx_dims(const onnx::TensorProto& t, const std::string& at)
{
    std::vector<std::size_t> dims;
    double count = 1;
    for (const std::int64_t d : t.dims()) {
        if (d < 0)
            throw io_error(cat(at, ": a dimension of ", d));
        dims.push_back(static_cast<std::size_t>(d));
        count *= static_cast<double>(d);
    }
    if (!(count < 4.6e18))
        throw io_error(cat(at, ": dimensions whose product overflows"));
    return dims;
}

inline std::size_t element_count(const std::vector<std::size_t>& dims)
{
    std::size_t n = 1;
    for (const std::size_t d : dims)
        n *= d;
    return n;
}

/// The values of a float or double tensor, row-major, as doubles, and its dimensions into
/// dims when given. Throws io_error naming at for another type, external data, or stored
/// values whose count does not match the shape.
inline std::vector<double> onnx_values(const onnx::TensorProto& t, const std::string& at,
                                       std::vector<std::size_t>* dims = nullptr)
{
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
        throw io_error(cat(at, ": its data is in an external file, which mininn does not read"));
    const std::vector<std::size_t> shape = onnx_dims(t, at);
    const std::size_t n = element_count(shape);
    if (dims != nullptr)
        *dims = shape;
    const int type = t.data_type();
    if (type != onnx::TensorProto::FLOAT && type != onnx::TensorProto::DOUBLE)
        throw io_error(cat(at, ": data type ", onnx::TensorProto::DataType_Name(t.data_type()),
                           " is not supported (float or double)"));
    const bool is_float = type == onnx::TensorProto::FLOAT;
    const std::size_t stored = t.has_raw_data() ? t.raw_data().size() / (is_float ? 4 : 8)
                               : is_float       ? t.float_data_size()
                                                : t.double_data_size();
    if (stored != n || (t.has_raw_data() && t.raw_data().size() % (is_float ? 4 : 8) != 0))
        throw io_error(cat(at, ": its shape holds ", n, " values but ", t.has_raw_data() ? t.raw_data().size() : stored,
                           t.has_raw_data() ? " bytes are stored" : " values are stored"));
    std::vector<double> v(n);
    for (std::size_t k = 0; k < n; ++k) {
        if (t.has_raw_data()) { // little-endian, as x86 and ARM keep them
            if (is_float) {
                float f;
                std::memcpy(&f, t.raw_data().data() + 4 * k, 4);
                v[k] = f;
            } else {
                std::memcpy(&v[k], t.raw_data().data() + 8 * k, 8);
            }
        } else {
            v[k] = is_float ? t.float_data(static_cast<int>(k)) : t.double_data(static_cast<int>(k));
        }
    }
    return v;
}

/// An initializer named name of shape dims from values (row-major), stored as raw bytes of T.
template <class T>
void add_onnx_tensor(onnx::GraphProto& g, const std::string& name, const std::vector<std::size_t>& dims,
                     const std::vector<T>& values)
{
    onnx::TensorProto* t = g.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx_type_of<T>());
    for (const std::size_t d : dims)
        t->add_dims(static_cast<std::int64_t>(d));
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
