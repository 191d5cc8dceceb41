// predict: a saved mininn model on a file of samples, one answer a line.
//
//   predict MODEL INPUT [--proba] [--output FILE] [--skip-lines N] [--separator C] [--scale S]
//
// MODEL is any file mininn saves (a model or a checkpoint), float or double, or an ONNX graph
// (.onnx, in a build with mininn::onnx: see include/mininn/onnx/README.md). INPUT is a CSV
// file, one sample a row (raw or .gz), or an IDX file of images (a name ending in "-ubyte" or
// "-ubyte.gz"; pixels times --scale, 1/255 by default). Each line of the output is the class a
// sample is predicted to be, or with --proba its outputs: a classifier's probabilities, a
// regression's values, comma-separated, each with the digits that read back exactly. The
// output goes to FILE, written whole or not at all, or to stdout. Any error is one line on
// stderr naming the file, line and column, and exit 1.
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>
#include <mininn/mininn.hpp>

#include "../common/model_file.hpp"

using namespace mininn;

namespace {

bool is_idx(const std::string& path)
{
    auto ends = [&](const std::string& s) {
        return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
    };
    return ends("-ubyte") || ends("-ubyte.gz");
}

struct Options {
    std::string model, input, output;
    bool proba = false;
    std::size_t skip_lines = 0;
    std::string separator = ",";
    double scale = 1.0 / 255.0;
};

template <class T>
std::string run(const Options& o)
{
    const Model<T> model = examples::load_model_file<T>(o.model);
    matrix<T> X;
    if (is_idx(o.input)) {
        X = read_idx_images<T>(o.input, static_cast<T>(o.scale));
    } else {
        CsvOptions c;
        c.target_columns.clear(); // every column is a feature
        c.skip_lines = o.skip_lines;
        if (o.separator != "space" && o.separator.size() != 1)
            throw std::invalid_argument(
                detail::cat("--separator: expected one character or 'space', got '", o.separator, "'"));
        c.separator = o.separator == "space" ? ' ' : o.separator[0];
        X = load_csv<T>(o.input, c).X;
    }
    if (X.shape()[0] != model.input_features())
        throw std::invalid_argument(detail::cat(o.input, ": ", X.shape()[0], " features a sample, but the model (",
                                                o.model, ") takes ", model.input_features()));
    std::string text;
    if (o.proba) {
        const matrix<T> out = model.infer(X);
        const std::size_t k = out.shape()[0], n = out.shape()[1];
        char cell[32];
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t i = 0; i < k; ++i) {
                std::snprintf(cell, sizeof cell, "%.*g", std::numeric_limits<T>::max_digits10,
                              static_cast<double>(out(i, j))); // reads back to the same value
                text += cell;
                text += i + 1 < k ? "," : "\n";
            }
    } else {
        if (!model.predicts_classes())
            throw std::invalid_argument(detail::cat(o.model, ": the model's outputs are values, not classes "
                                                             "(a regression): pass --proba to write them"));
        for (const std::size_t c : model.predict(X))
            text += std::to_string(c) + "\n";
    }
    return text;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"predict: a saved mininn model on a CSV or IDX file of samples"};
    Options o;
    app.add_option("MODEL", o.model, "a model or checkpoint saved by mininn (.npz), or an ONNX graph (.onnx)")
        ->required();
    app.add_option("INPUT", o.input, "CSV (one sample a row) or IDX images (*-ubyte, *-ubyte.gz)")->required();
    app.add_flag("--proba", o.proba, "write each sample's outputs instead of its class");
    app.add_option("--output", o.output, "write here (whole or not at all) instead of stdout");
    app.add_option("--skip-lines", o.skip_lines, "CSV: lines to skip first (a header)");
    app.add_option("--separator", o.separator, "CSV: the separator, one character or 'space'");
    app.add_option("--scale", o.scale, "IDX: each pixel is multiplied by this");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!o.output.empty())
            check_output_path(o.output); // before any work
        const std::string text = examples::model_scalar(o.model) == "float64" ? run<double>(o) : run<float>(o);
        if (o.output.empty())
            std::fwrite(text.data(), 1, text.size(), stdout);
        else
            write_file_atomic(o.output, text);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "predict: %s\n", e.what());
        return 1;
    }
}
