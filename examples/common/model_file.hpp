// The model file a tool is given: one mininn saved (a model or checkpoint, .npz) or, in a
// build with mininn::onnx, an ONNX graph (.onnx); predict and serve read both.
#pragma once

#include <string>

#include <mininn/mininn.hpp>
#ifdef MININN_EXAMPLES_ONNX
#include <mininn/onnx/all.hpp>
#endif

namespace examples {

inline bool is_onnx(const std::string& path)
{
    return path.size() >= 5 && path.compare(path.size() - 5, 5, ".onnx") == 0;
}

/// "float32" or "float64": the scalar type the file holds. Throws mininn::io_error naming the
/// file when it cannot be read, or is an ONNX file in a build without mininn::onnx.
inline std::string model_scalar(const std::string& path)
{
#ifdef MININN_EXAMPLES_ONNX
    if (is_onnx(path))
        return mininn::onnx_scalar(path);
#else
    if (is_onnx(path))
        throw mininn::io_error(path + ": an ONNX model, and this build has no mininn::onnx (libonnx-dev)");
#endif
    return mininn::read_architecture(path).scalar;
}

/// The file's frozen model, as load_model or load_onnx reads it.
template <class T>
mininn::Model<T> load_model_file(const std::string& path)
{
#ifdef MININN_EXAMPLES_ONNX
    if (is_onnx(path))
        return mininn::load_onnx<T>(path);
#endif
    return mininn::load_model<T>(path);
}

} // namespace examples
