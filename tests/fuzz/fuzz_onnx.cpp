// libFuzzer harness: load_onnx_bytes on any bytes, read into Model<float> and Model<double>.
// Every refusal must be an io_error, or the Model's own std::invalid_argument or shape_error
// naming a layer; every model read must run (both kernels: 1 and 2 samples) and export to a
// graph that reads back with the same outputs.
#include <cmath>
#include <stdexcept>

#include <mininn/onnx/all.hpp>

#include "fuzz_common.hpp"

namespace {

template <class T>
bool same(const mininn::matrix<T>& a, const mininn::matrix<T>& b)
{
    if (a.shape() != b.shape())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!(a.flat(i) == b.flat(i) || (std::isnan(a.flat(i)) && std::isnan(b.flat(i)))))
            return false;
    return true;
}

template <class T>
void one(const std::string& bytes)
{
    try {
        const mininn::Model<T> m = mininn::load_onnx_bytes<T>(bytes, "fuzz");
        const std::size_t in = m.input_features(), out = m.output_features();
        fuzz::require(in > 0 && out > 0, "a model has inputs and outputs");
        if (in > 4096)
            return; // a graph may declare a wide input without the bytes to show for it
        for (std::size_t n : {1, 2}) {
            mininn::matrix<T> X({in, n});
            for (std::size_t i = 0; i < X.size(); ++i)
                X.flat(i) = static_cast<T>(i % 7) - T(3);
            const mininn::matrix<T> Y = m.infer(X);
            fuzz::require(Y.shape()[0] == out && Y.shape()[1] == n, "outputs [out, n]");
            const mininn::Model<T> back = mininn::load_onnx_bytes<T>(mininn::to_onnx(m), "export");
            fuzz::require(same(back.infer(X), Y), "the export reads back with the same outputs");
        }
    } catch (const mininn::io_error&) {
    } catch (const std::invalid_argument&) { // shape_error among them
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    one<float>(bytes);
    one<double>(bytes);
    return 0;
}
