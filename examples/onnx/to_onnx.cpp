// to_onnx: a model mininn saved, as an ONNX graph that onnxruntime, PyTorch's tools and any
// other ONNX runtime read.
//
//   to_onnx MODEL OUT.onnx
//
// MODEL is any file mininn saves (save(), a checkpoint), float or double; OUT.onnx takes
// x [n, features] and gives y [n, outputs] (ONNX keeps samples as rows), written whole or not
// at all. Any error is one line on stderr and exit 1.
#include <cstdio>
#include <string>

#include <mininn/mininn.hpp>
#include <mininn/onnx/all.hpp>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: to_onnx MODEL OUT.onnx\n");
        return 2;
    }
    try {
        mininn::check_output_path(argv[2]); // before any work
        const std::string scalar = mininn::read_architecture(argv[1]).scalar;
        if (scalar == "float64")
            mininn::save_onnx(mininn::load_model<double>(argv[1]), argv[2]);
        else
            mininn::save_onnx(mininn::load_model<float>(argv[1]), argv[2]);
        std::printf("to_onnx: %s -> %s (%s, opset %d)\n", argv[1], argv[2], scalar.c_str(), mininn::onnx_opset);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "to_onnx: %s\n", e.what());
        return 1;
    }
}
