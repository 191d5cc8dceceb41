// mininn::onnx, the optional ONNX part: to_onnx/save_onnx write a network or Model as an ONNX
// graph, load_onnx reads one into a Model, or into a Network of the same architecture. Link the mininn::onnx target
// (find_package(mininn COMPONENTS onnx)); it needs Debian's libonnx-dev and libprotobuf-dev.
#pragma once

#if !__has_include(<onnx/onnx_pb.h>)
#error                                                                                                                 \
    "mininn/onnx/all.hpp needs ONNX's protobuf classes: install them (Debian: apt-get install libonnx-dev libprotobuf-dev) and link mininn::onnx (find_package(mininn CONFIG REQUIRED COMPONENTS onnx))"
#else
#include "export.hpp"
#include "graph.hpp"
#include "image_import.hpp"
#include "import.hpp"
#include "network.hpp"
#include "proto.hpp"
#endif
