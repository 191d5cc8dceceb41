// ONNX's own operator conformance suite (Debian libonnx-testdata) through mininn::onnx: every
// case made only of ops the importer reads either imports and gives the case's outputs, or is
// refused with the message its entry below names, for the reason the entry gives. A case with
// no entry fails, so a new case or an importer that starts to accept one is seen.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <mininn/onnx/all.hpp>

#include "helpers.hpp"

using namespace mininn;

namespace {

namespace fs = std::filesystem;

const fs::path suite = MININN_ONNX_TESTDATA;

// The ops load_onnx reads (onnx/README.md).
const std::set<std::string> imported = {"Gemm",
                                        "MatMul",
                                        "Add",
                                        "Relu",
                                        "LeakyRelu",
                                        "Sigmoid",
                                        "Tanh",
                                        "Softmax",
                                        "LogSoftmax",
                                        "Identity",
                                        "Dropout",
                                        "Flatten",
                                        "Reshape",
                                        "Constant",
                                        "Transpose",
                                        "Conv",
                                        "MaxPool",
                                        "AveragePool",
                                        "GlobalMaxPool",
                                        "GlobalAveragePool",
                                        "Pad",
                                        "BatchNormalization",
                                        "LayerNormalization"};

// Why a case does not apply, and what load_onnx's io_error must say of it. A case refused only
// for the extra outputs its graph declares (Dropout's mask, MaxPool's indices,
// LayerNormalization's mean and inverse deviation) runs again with them dropped, and must then
// give its first output.
struct refusal {
    const char* why;
    const char* message;
    bool first_output_runs = false;
};

const char* const rank = "its data has a rank a chain of layers on [n, features] does not take";
const char* const axis = "it normalizes over an axis other than the features'";
const char* const training = "training mode: mininn imports models for inference";
const char* const one_d = "1-D or 3-D windows: mininn's are 2-D";
const char* const ceil = "ceil_mode adds a window past the image: mininn's pools (as PyTorch's by default) floor";
const char* const half = "padding more than half the kernel, which mininn's pools (as PyTorch's) refuse";
const char* const same = "auto_pad SAME pads one side more than the other; mininn pads all four sides alike";
const char* const lnaxis = "a LayerNormalization over part of the sample, or across the samples: mininn's is over the "
                           "whole sample (axis 1)";
const char* const stats = "its mean and inverse deviation, outputs 2 and 3, are outputs of the graph";
const char* const batch = "a Reshape across the samples: mininn keeps the batch as dimension 0";

const std::map<std::string, refusal> not_applicable = {
    {"test_add", {"an Add of two data tensors, not a layer's bias", "supported only as the bias"}},
    {"test_add_bcast", {"an Add of two data tensors, not a layer's bias", "supported only as the bias"}},
    {"test_add_uint8", {"an integer type", "of type UINT8, not float or double"}},
    {"test_batchnorm_epsilon_training_mode", {training, "training_mode is not supported"}},
    {"test_batchnorm_example_training_mode", {training, "training_mode is not supported"}},
    {"test_constant", {"a graph with no data input (it computes a constant)", "0 inputs that are not weights"}},
    {"test_averagepool_1d_default", {one_d, "its input has rank 3 (mininn's windows are 2-D)"}},
    {"test_averagepool_2d_ceil", {ceil, "ceil_mode = 1 is not supported where it adds a window"}},
    {"test_averagepool_2d_pads", {half, "padding 2 is more than half the kernel 3"}},
    {"test_averagepool_2d_pads_count_include_pad", {half, "padding 2 is more than half the kernel 3"}},
    {"test_averagepool_2d_same_lower", {same, "auto_pad SAME_LOWER pads this image by 1 rows and 1 columns"}},
    {"test_averagepool_2d_same_upper", {same, "auto_pad SAME_UPPER pads this image by 1 rows and 1 columns"}},
    {"test_averagepool_3d_default", {one_d, "its input has rank 5 (mininn's windows are 2-D)"}},
    {"test_constant_pad", {"a Pad of 1.2, not of zeros", "a value of 1.2 is not supported"}},
    {"test_edge_pad", {"an integer type", "of type INT32, not float or double"}},
    {"test_reflect_pad", {"an integer type", "of type INT32, not float or double"}},
    {"test_conv_with_strides_and_asymmetric_padding",
     {"padding rows but not columns; mininn pads all four sides alike", "pads [1, 0, 1, 0] are not supported"}},
    {"test_dropout_default_mask", {"its mask, Dropout's second output, is an output of the graph", "2 outputs", true}},
    {"test_dropout_default_mask_ratio",
     {"its mask, Dropout's second output, is an output of the graph", "2 outputs", true}},
    {"test_layer_normalization_2d_axis0", {lnaxis, "axis 0 of data of rank 2 is not supported"}},
    {"test_layer_normalization_2d_axis1", {stats, "3 outputs", true}},
    {"test_layer_normalization_2d_axis_negative_1", {stats, "3 outputs", true}},
    {"test_layer_normalization_2d_axis_negative_2", {lnaxis, "axis -2 of data of rank 2 is not supported"}},
    {"test_layer_normalization_3d_axis0_epsilon", {lnaxis, "axis 0 of data of rank 3 is not supported"}},
    {"test_layer_normalization_3d_axis1_epsilon", {stats, "3 outputs", true}},
    {"test_layer_normalization_3d_axis2_epsilon", {lnaxis, "axis 2 of data of rank 3 is not supported"}},
    {"test_layer_normalization_3d_axis_negative_1_epsilon", {lnaxis, "axis -1 of data of rank 3 is not supported"}},
    {"test_layer_normalization_3d_axis_negative_2_epsilon", {stats, "3 outputs", true}},
    {"test_layer_normalization_3d_axis_negative_3_epsilon", {lnaxis, "axis -3 of data of rank 3 is not supported"}},
    {"test_layer_normalization_4d_axis0", {lnaxis, "axis 0 of data of rank 4 is not supported"}},
    {"test_layer_normalization_4d_axis1", {stats, "3 outputs", true}},
    {"test_layer_normalization_4d_axis2", {lnaxis, "axis 2 of data of rank 4 is not supported"}},
    {"test_layer_normalization_4d_axis3", {lnaxis, "axis 3 of data of rank 4 is not supported"}},
    {"test_layer_normalization_4d_axis_negative_1", {lnaxis, "axis -1 of data of rank 4 is not supported"}},
    {"test_layer_normalization_4d_axis_negative_2", {lnaxis, "axis -2 of data of rank 4 is not supported"}},
    {"test_layer_normalization_4d_axis_negative_3", {stats, "3 outputs", true}},
    {"test_layer_normalization_4d_axis_negative_4", {lnaxis, "axis -4 of data of rank 4 is not supported"}},
    {"test_layer_normalization_default_axis", {lnaxis, "axis -1 of data of rank 4 is not supported"}},
    {"test_maxpool_1d_default", {one_d, "its input has rank 3 (mininn's windows are 2-D)"}},
    {"test_maxpool_2d_ceil", {ceil, "ceil_mode = 1 is not supported where it adds a window"}},
    {"test_maxpool_2d_dilations", {"dilations: mininn's windows are dense", "dilations [2, 2] are not supported"}},
    {"test_maxpool_2d_pads", {half, "padding 2 is more than half the kernel 3"}},
    {"test_maxpool_2d_same_lower", {same, "auto_pad SAME_LOWER pads this image by 1 rows and 1 columns"}},
    {"test_maxpool_2d_same_upper", {same, "auto_pad SAME_UPPER pads this image by 1 rows and 1 columns"}},
    {"test_maxpool_2d_uint8", {"an integer type", "of type UINT8, not float or double"}},
    {"test_maxpool_3d_default", {one_d, "its input has rank 5 (mininn's windows are 2-D)"}},
    {"test_maxpool_with_argmax_2d_precomputed_pads",
     {"its indices, MaxPool's second output, are an output of the graph", "2 outputs", true}},
    {"test_maxpool_with_argmax_2d_precomputed_strides",
     {"its indices, MaxPool's second output, are an output of the graph", "2 outputs", true}},
    {"test_reshape_allowzero_reordered", {batch, "to [3, 4, 0]: dimension 0 is not the batch"}},
    {"test_reshape_negative_extended_dims", {batch, "to [-1, 2, 3, 4]: changes the batch"}},
    {"test_reshape_one_dim", {batch, "to [24]: across the samples"}},
    {"test_reshape_reordered_all_dims", {batch, "to [4, 2, 3]: dimension 0 is not the batch"}},
    {"test_flatten_axis0", {"Flatten to [1, n * features], across the samples", "axis 0 of data of rank 4"}},
    {"test_flatten_axis2", {"Flatten to [n * C, H * W], across the samples", "axis 2 of data of rank 4"}},
    {"test_flatten_axis3", {"Flatten to [n * C * H, W], across the samples", "axis 3 of data of rank 4"}},
    {"test_flatten_negative_axis1", {"Flatten to [n * C * H, W], across the samples", "axis -1 of data of rank 4"}},
    {"test_flatten_negative_axis2", {"Flatten to [n * C, H * W], across the samples", "axis -2 of data of rank 4"}},
    {"test_flatten_negative_axis4", {"Flatten to [1, n * features], across the samples", "axis -4 of data of rank 4"}},
    {"test_gemm_default_matrix_bias", {"a bias per sample and output (C [n, out])", "a bias per sample"}},
    {"test_identity_opt", {"an optional, not a tensor", "of type UNDEFINED"}},
    {"test_identity_sequence", {"a sequence, not a tensor", "of type UNDEFINED"}},
    {"test_logsoftmax_axis_0", {axis, "axis 0 of data of rank 3"}},
    {"test_logsoftmax_axis_1", {axis, "axis 1 of data of rank 3"}},
    {"test_logsoftmax_axis_2", {rank, "axis 2 of data of rank 3"}},
    {"test_logsoftmax_default_axis", {rank, "axis -1 of data of rank 3"}},
    {"test_logsoftmax_negative_axis", {rank, "axis -1 of data of rank 3"}},
    {"test_matmul_3d", {rank, "a Flatten must come first"}},
    {"test_matmul_4d", {rank, "a Flatten must come first"}},
    {"test_dropout_default_old", {"rank-1 data: no batch dimension", "has rank 1"}},
    {"test_leakyrelu_example", {"rank-1 data: no batch dimension", "has rank 1"}},
    {"test_sigmoid_example", {"rank-1 data: no batch dimension", "has rank 1"}},
    {"test_softmax_axis_0", {axis, "axis 0 of data of rank 3"}},
    {"test_softmax_axis_1", {axis, "axis 1 of data of rank 3"}},
    {"test_softmax_axis_2", {rank, "axis 2 of data of rank 3"}},
    {"test_softmax_default_axis", {rank, "axis -1 of data of rank 3"}},
    {"test_softmax_negative_axis", {rank, "axis -1 of data of rank 3"}},
    {"test_tanh_example", {"rank-1 data: no batch dimension", "has rank 1"}},
    {"test_training_dropout", {training, "training_mode is not supported"}},
    {"test_training_dropout_default", {training, "training_mode is not supported"}},
    {"test_training_dropout_default_mask", {training, "training_mode is not supported"}},
    {"test_training_dropout_mask", {training, "training_mode is not supported"}},
    {"test_training_dropout_zero_ratio", {training, "training_mode is not supported"}},
    {"test_training_dropout_zero_ratio_mask", {training, "training_mode is not supported"}},
    {"test_transpose_all_permutations_0", {"a Transpose of the data, not of a weight", "the op is not supported"}},
    {"test_transpose_all_permutations_1", {"a Transpose of the data, not of a weight", "the op is not supported"}},
    {"test_transpose_all_permutations_2", {"a Transpose of the data, not of a weight", "the op is not supported"}},
    {"test_transpose_all_permutations_3", {"a Transpose of the data, not of a weight", "the op is not supported"}},
    {"test_transpose_all_permutations_4", {"a Transpose of the data, not of a weight", "the op is not supported"}},
    {"test_transpose_all_permutations_5", {"a Transpose of the data, not of a weight", "the op is not supported"}},
    {"test_transpose_default", {"a Transpose of the data, not of a weight", "the op is not supported"}},
};

std::string read(const fs::path& p)
{
    std::ifstream f(p, std::ios::binary);
    REQUIRE_MESSAGE(f, "cannot read ", p.string());
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

onnx::TensorProto tensor(const fs::path& p)
{
    onnx::TensorProto t;
    REQUIRE_MESSAGE(t.ParseFromString(read(p)), p.string(), " is not a TensorProto");
    return t;
}

// A case's graph with its inputs after the first (the weights) made initializers with the
// values of its test_data_set_0; with only its first output when first_only.
std::string with_weights(const fs::path& dir, bool first_only = false)
{
    onnx::ModelProto m;
    REQUIRE(m.ParseFromString(read(dir / "model.onnx")));
    onnx::GraphProto& g = *m.mutable_graph();
    for (int i = 1; i < g.input_size(); ++i) {
        const fs::path p = dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(p))
            continue; // an optional input left out
        onnx::TensorProto* t = g.add_initializer();
        *t = tensor(p);
        t->set_name(g.input(i).name());
    }
    if (first_only)
        while (g.output_size() > 1)
            g.mutable_output()->RemoveLast();
    std::string bytes;
    REQUIRE(m.SerializeToString(&bytes));
    return bytes;
}

std::vector<std::string> node_ops(const fs::path& dir)
{
    onnx::ModelProto m;
    REQUIRE(m.ParseFromString(read(dir / "model.onnx")));
    std::vector<std::string> ops;
    for (const auto& n : m.graph().node())
        ops.push_back(n.op_type());
    return ops;
}

// The cases whose every node is an op mininn imports, sorted.
std::vector<fs::path> cases()
{
    std::vector<fs::path> all;
    for (const auto& e : fs::directory_iterator(suite))
        if (e.is_directory() && fs::exists(e.path() / "model.onnx")) {
            const auto ops = node_ops(e.path());
            if (!ops.empty() && std::all_of(ops.begin(), ops.end(), [](auto& o) { return imported.count(o) != 0; }))
                all.push_back(e.path());
        }
    std::sort(all.begin(), all.end());
    return all;
}

// Whether the case's first node is a Gemm with transA = 1: its input is [features, n].
bool columns(const fs::path& dir)
{
    onnx::ModelProto m;
    REQUIRE(m.ParseFromString(read(dir / "model.onnx")));
    const auto& n = m.graph().node(0);
    for (const auto& a : n.attribute())
        if (n.op_type() == "Gemm" && a.name() == "transA" && a.i() != 0)
            return true;
    return false;
}

// The case's input 0 ([n, ...], or [features, n] for a first Gemm with transA = 1) through the
// model, against its output 0, to within tol relative (with an absolute floor of tol for values
// near 0).
template <class T>
void check_outputs(const fs::path& dir, const Model<T>& model, double tol)
{
    std::vector<std::size_t> xd, yd;
    const auto x = detail::onnx_values(tensor(dir / "test_data_set_0" / "input_0.pb"), "input_0", &xd);
    const auto want = detail::onnx_values(tensor(dir / "test_data_set_0" / "output_0.pb"), "output_0", &yd);
    REQUIRE(xd.size() >= 2);
    const bool cols = columns(dir);
    const std::size_t n = cols ? xd[1] : xd[0], features = x.size() / n;
    REQUIRE(yd.size() >= 2);
    REQUIRE(yd[0] == n);
    const std::size_t outputs = want.size() / n;
    REQUIRE(model.input_features() == features);
    REQUIRE(model.output_features() == outputs);
    matrix<T> X({features, n});
    for (std::size_t j = 0; j < n; ++j) // samples as rows there, as columns here
        for (std::size_t f = 0; f < features; ++f)
            X(f, j) = static_cast<T>(cols ? x[f * n + j] : x[j * features + f]);
    const matrix<T> Y = model.infer(X);
    double worst = 0;
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t o = 0; o < outputs; ++o) {
            const double w = want[j * outputs + o];
            worst = std::max(worst, std::abs(double(Y(o, j)) - w) / std::max(std::abs(w), 1.0));
        }
    CHECK_MESSAGE(worst <= tol, dir.filename().string(), ": largest relative error ", worst);
}

} // namespace

TEST_CASE("every conformance case of an imported op passes, or is refused for its listed reason")
{
    REQUIRE_MESSAGE(fs::is_directory(suite), suite.string(), " is missing (Debian: libonnx-testdata)");
    const std::vector<fs::path> all = cases();
    std::set<std::string> seen;
    std::size_t passed = 0, first_output = 0;
    for (const auto& dir : all) {
        const std::string name = dir.filename().string();
        seen.insert(name);
        CAPTURE(name);
        const std::string bytes = with_weights(dir);
        const auto entry = not_applicable.find(name);
        if (entry != not_applicable.end()) {
            CHECK_THROWS_WITH_AS(load_onnx_bytes<float>(bytes, name), doctest::Contains(entry->second.message),
                                 io_error);
            if (!entry->second.first_output_runs)
                continue;
        }
        try {
            const std::string graph = entry == not_applicable.end() ? bytes : with_weights(dir, true);
            const onnx::TensorProto in = tensor(dir / "test_data_set_0" / "input_0.pb");
            if (in.data_type() == onnx::TensorProto::DOUBLE)
                check_outputs(dir, load_onnx_bytes<double>(graph, name), 1e-12);
            else
                check_outputs(dir, load_onnx_bytes<float>(graph, name), 1e-5);
            ++(entry == not_applicable.end() ? passed : first_output);
        } catch (const std::exception& e) {
            FAIL_CHECK(name, ": not in the list of cases that do not apply, and refused: ", std::string(e.what()));
        }
    }
    for (const auto& entry : not_applicable) // (C++17: doctest's lambdas cannot capture a structured binding)
        CHECK_MESSAGE(seen.count(entry.first) == 1, entry.first, " is listed but is not a case of an imported op");
    MESSAGE(all.size(), " cases of imported ops: ", passed, " pass, ", not_applicable.size(),
            " do not apply, of which ", first_output, " give their first output");
    CHECK(all.size() >= 142); // libonnx-testdata 1.12 has 142
    CHECK(first_output == 10);
    CHECK(passed + not_applicable.size() == all.size());
}
