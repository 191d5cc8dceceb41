// mininn: the architecture a saved file carries, so that loading can check it (and a model can
// later be built from it) without parsing display strings: every layer's LayerSpec and the
// scalar type, as JSON in the archive's "architecture" entry, with a format version:
//
//   {"format": "mininn", "version": 2, "scalar": "float32", "layers": [
//     {"op": "Dense", "attributes": {"in": 784, "out": 64},
//      "tensors": [{"name": "W", "trained": true, "decayed": true}, ...]}, ...]}
//
// Attribute values are written as the shortest text that reads back exactly. Version 1 is the
// text mininn wrote before ("Dense 784→64; Sigmoid; ...; float32"); such files still load.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/errors.hpp"
#include "../detail/json.hpp"
#include "../layers/spec.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// The architecture format this mininn writes; it reads this one and every earlier one.
inline constexpr int architecture_version = 2;

/// What a saved file says of the network that wrote it.
struct SavedArchitecture {
    int version = 0;               ///< 1: the text of mininn before structured files; 2: JSON
    std::string scalar;            ///< "float32" or "float64"
    std::vector<LayerSpec> layers; ///< empty for version 1, which has only text
    std::string text;              ///< the entry as stored
};

namespace detail {

template <class T>
const char* scalar_name()
{
    return std::is_same_v<T, float> ? "float32" : "float64";
}

// The JSON of a network's specs. Throws std::invalid_argument for an attribute that is not a
// finite number, which JSON cannot hold.
inline std::string architecture_json(const std::vector<LayerSpec>& layers, const std::string& scalar)
{
    std::string s = cat("{\"format\": \"mininn\", \"version\": ", architecture_version,
                        ", \"scalar\": ", json_quote(scalar), ", \"layers\": [");
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const LayerSpec& l = layers[i];
        s += cat(i == 0 ? "\n  " : ",\n  ", "{\"op\": ", json_quote(l.op), ", \"attributes\": {");
        for (std::size_t k = 0; k < l.attributes.size(); ++k) {
            const auto& [key, v] = l.attributes[k];
            if (!std::isfinite(v))
                throw std::invalid_argument(cat("layer ", i, " (", l.op, "): attribute '", key, "' is ", v,
                                                "; a saved architecture holds finite numbers only"));
            s += cat(k == 0 ? "" : ", ", json_quote(key), ": ", json_number(v));
        }
        s += "}, \"tensors\": [";
        for (std::size_t k = 0; k < l.tensors.size(); ++k) {
            const TensorSpec& t = l.tensors[k];
            s += cat(k == 0 ? "" : ", ", "{\"name\": ", json_quote(t.name),
                     ", \"trained\": ", t.trained ? "true" : "false", ", \"decayed\": ", t.decayed ? "true" : "false",
                     "}");
        }
        s += "]}";
    }
    return s + "\n]}\n";
}

// v's member key of the given kind; io_error naming what (e.g. "layer 2") otherwise.
inline const json_value& json_member(const json_value& v, const char* key, json_value::kind k, const std::string& what)
{
    const json_value* m = v.find(key);
    static const char* const kinds[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
    if (m == nullptr || m->type != k)
        throw io_error(cat(what, " needs '", key, "' as ", kinds[static_cast<int>(k)]));
    return *m;
}

// The architecture entry's text, in either version. Throws io_error naming where for text that
// is neither, a version newer than this mininn reads, or a description that misses a field.
inline SavedArchitecture parse_architecture(const std::string& text, const std::string& where)
{
    SavedArchitecture a;
    a.text = text;
    if (text.empty() || text[0] != '{') { // version 1: "...; float32"
        const auto last = text.rfind("; ");
        a.version = 1;
        a.scalar = last == std::string::npos ? text : text.substr(last + 2);
        if (a.scalar != "float32" && a.scalar != "float64")
            throw io_error(cat(where, ": the architecture is neither JSON nor mininn's earlier text"));
        return a;
    }
    using kind = json_value::kind;
    const std::string at = where + ": architecture";
    const json_value root = json_parse(text, at); // an object: the text starts with '{'
    if (json_member(root, "format", kind::string, at).text != "mininn")
        throw io_error(cat(at, ": format is not \"mininn\""));
    const double version = json_member(root, "version", kind::number, at).number;
    if (!(version >= 2 && version == std::floor(version)))
        throw io_error(cat(at, ": version ", version, " is not one mininn wrote"));
    if (version > architecture_version)
        throw io_error(cat(at, ": version ", version, " is newer than this mininn reads (", architecture_version,
                           "); read it with a newer mininn"));
    a.version = static_cast<int>(version);
    a.scalar = json_member(root, "scalar", kind::string, at).text;
    if (a.scalar != "float32" && a.scalar != "float64")
        throw io_error(cat(at, ": scalar '", a.scalar, "' is neither float32 nor float64"));
    for (const json_value& l : json_member(root, "layers", kind::array, at).items) {
        const std::string what = cat(at, ": layer ", a.layers.size());
        if (l.type != kind::object)
            throw io_error(cat(what, " is not an object"));
        LayerSpec s;
        s.op = json_member(l, "op", kind::string, what).text;
        for (const auto& [key, v] : json_member(l, "attributes", kind::object, what).members) {
            if (v.type != kind::number)
                throw io_error(cat(what, ": attribute '", key, "' is not a number"));
            s.attributes.emplace_back(key, v.number);
        }
        for (const json_value& t : json_member(l, "tensors", kind::array, what).items) {
            const std::string tw = cat(what, ": tensor ", s.tensors.size());
            if (t.type != kind::object)
                throw io_error(cat(tw, " is not an object"));
            s.tensors.push_back(TensorSpec{json_member(t, "name", kind::string, tw).text,
                                           json_member(t, "trained", kind::boolean, tw).boolean,
                                           json_member(t, "decayed", kind::boolean, tw).boolean});
        }
        a.layers.push_back(std::move(s));
    }
    return a;
}

inline std::string tensor_list(const LayerSpec& s)
{
    std::string out;
    for (const TensorSpec& t : s.tensors)
        out += cat(out.empty() ? "" : ", ", t.name, !t.trained ? " (state)" : t.decayed ? "" : " (not decayed)");
    return out.empty() ? "none" : out;
}

// Throws io_error naming where and the first difference between the saved architecture and
// the network's (scalar type, layer count, a layer's op or attributes, its tensors).
// version1_text is the network in version 1's text, for files of that version.
inline void check_architecture(const SavedArchitecture& a, const std::vector<LayerSpec>& net, const std::string& scalar,
                               const std::string& version1_text, const std::string& where)
{
    if (a.version == 1) {
        if (a.text != version1_text)
            throw io_error(cat(where, ": the saved architecture '", a.text, "' does not match the network's '",
                               version1_text, "'"));
        return;
    }
    if (a.scalar != scalar)
        throw io_error(cat(where, ": the file holds ", a.scalar, " parameters, the network is ", scalar));
    if (a.layers.size() != net.size())
        throw io_error(cat(where, ": the file describes ", a.layers.size(), " layers, the network has ", net.size()));
    for (std::size_t i = 0; i < net.size(); ++i) {
        const LayerSpec &f = a.layers[i], &n = net[i];
        if (f.op != n.op || f.attributes != n.attributes)
            throw io_error(cat(where, ": layer ", i, " is ", f.str(), " in the file, ", n.str(), " in the network"));
        if (f.tensors != n.tensors)
            throw io_error(cat(where, ": layer ", i, " (", n.str(), ") holds tensors ", tensor_list(f),
                               " in the file, ", tensor_list(n), " in the network"));
    }
}

} // namespace detail
} // namespace MININN_ISA
} // namespace mininn
