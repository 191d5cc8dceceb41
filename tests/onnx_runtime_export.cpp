// For tests/onnx_runtime_test.sh: writes every architecture mininn exports, each with an input
// and mininn's outputs, for onnxruntime to run (tests/onnx_runtime_check.js compares them),
// and, given the MNIST directory, a network trained on MNIST with the test images, labels and
// mininn's predictions.
//
//   onnx_runtime_export DIR [MNIST_DIR]
//
// DIR/cases.json lists the cases: name, scalar ("float32" or "float64"), n, features, dims (the
// graph input's after n: [features], or [C, H, W] for an image), outputs. Each case's files:
// NAME.onnx, NAME.x (its input [n, features], row-major, raw
// little-endian), NAME.y (mininn's outputs [n, outputs], the same way); mnist.labels holds the
// test labels, one byte each.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <mininn/mininn.hpp>
#include <mininn/onnx/all.hpp>

using namespace mininn;

namespace {

std::string manifest = "[";

template <class T>
void write_raw(const std::string& path, const matrix<T>& M) // M [rows, n] -> [n, rows] row-major
{
    std::vector<T> v(M.size());
    for (std::size_t j = 0; j < M.shape()[1]; ++j)
        for (std::size_t i = 0; i < M.shape()[0]; ++i)
            v[j * M.shape()[0] + i] = M(i, j);
    write_file_atomic(path, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
}

template <class T>
void write_case(const std::string& dir, const std::string& name, const Model<T>& model, const matrix<T>& X)
{
    save_onnx(model, dir + "/" + name + ".onnx");
    write_raw(dir + "/" + name + ".x", X);
    write_raw(dir + "/" + name + ".y", model.infer(X));
    // the graph's input dimensions after n: [C, H, W] for a model whose first layer takes an image
    std::string dims = detail::cat("[", model.input_features(), "]");
    const LayerSpec& first = model.specs().front();
    if (first.op == "Conv2D" || first.op == "MaxPool2D" || first.op == "AvgPool2D")
        dims = detail::cat("[", first.attribute("channels"), ", ", first.attribute("height"), ", ",
                           first.attribute("width"), "]");
    manifest +=
        detail::cat(manifest.size() > 1 ? ",\n " : "", "{\"name\": \"", name, "\", \"scalar\": \"",
                    detail::scalar_name<T>(), "\", \"n\": ", X.shape()[1], ", \"features\": ", model.input_features(),
                    ", \"dims\": ", dims, ", \"outputs\": ", model.output_features(), "}");
}

template <class T>
matrix<T> inputs(std::size_t features, std::size_t n, Rng& rng)
{
    matrix<T> X({features, n});
    for (auto& v : X)
        v = static_cast<T>(2.0 * rng.normal());
    return X;
}

template <class Net>
void write_net(const std::string& dir, const std::string& name, const Net& net, Rng& rng)
{
    using T = typename Net::value_type;
    const Model<T> m = freeze(net);
    write_case(dir, name, m, inputs<T>(m.input_features(), 70, rng));        // 70: the BLAS path
    write_case(dir, name + "_b3", m, inputs<T>(m.input_features(), 3, rng)); // the one-sample kernel
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: onnx_runtime_export DIR [MNIST_DIR]\n");
        return 2;
    }
    const std::string dir = argv[1];
    try {
        Rng rng(31);
        using init::normal;
        write_net(dir, "dense", Network{Dense<float>(7, 3, normal, rng)}, rng);
        write_net(dir, "sigmoid_softmax",
                  Network{Dense<float>(20, 8, normal, rng), Sigmoid{}, Dense<float>(8, 4, normal, rng), Softmax{}},
                  rng);
        write_net(dir, "tanh_identity",
                  Network{Dense<float>(5, 6, normal, rng), Tanh{}, Dense<float>(6, 2, normal, rng), Identity<float>{}},
                  rng);
        write_net(dir, "relu_dropout",
                  Network{Dense<float>(9, 16, normal, rng), ReLU{}, Dropout(0.3), Dense<float>(16, 3, normal, rng),
                          Softmax{}},
                  rng);
        write_net(dir, "leaky_binary",
                  Network{Dense<float>(4, 5, normal, rng), LeakyReLU(0.2), Dense<float>(5, 1, normal, rng), Sigmoid{}},
                  rng);
        // ONNX holds LeakyRelu's alpha as a float: 0.125 is one exactly, so double compares to 1e-12
        write_net(dir, "double_deep",
                  Network{Dense<double>(6, 10, normal, rng), Tanh{}, Dense<double>(10, 10, normal, rng), ReLU{},
                          Dense<double>(10, 10, normal, rng), LeakyReLU(0.125), Dense<double>(10, 5, normal, rng),
                          Sigmoid{}, Dense<double>(5, 3, normal, rng), Softmax{}},
                  rng);
        // image layers: a BatchNorm folded into the Conv2D before it and one after a pool that is
        // not, pools with padding, a LayerNorm of an image, trained a little so that the running
        // statistics are not their start
        Network cnn{Conv2D<float>(Shape(1, 8, 8), 4, 3, normal, rng, Conv2DOptions{}.with_padding(1).without_bias()),
                    BatchNorm<float>(Shape(4, 8, 8)),
                    ReLU{},
                    MaxPool2D(Shape(4, 8, 8), 2),
                    BatchNorm<float>(Shape(4, 4, 4)),
                    AvgPool2D(Shape(4, 4, 4), 3, 1, 1, false),
                    Conv2D<float>(Shape(4, 4, 4), 3, 2, normal, rng, Conv2DOptions{2, 1}),
                    LayerNorm<float>(Shape(3, 3, 3)),
                    Flatten{},
                    Dense<float>(27, 5, normal, rng),
                    BatchNorm<float>(Shape(5)),
                    Softmax{}};
        {
            Adam<float> adam(1e-2f);
            FitOptions o;
            o.epochs = 2;
            o.batch_size = 16;
            o.verbose = Verbosity::silent;
            const auto X = inputs<float>(64, 64, rng);
            label_vector y = xt::zeros<std::size_t>({std::size_t(64)});
            for (std::size_t j = 0; j < 64; ++j)
                y(j) = j % 5;
            fit(cnn, CrossEntropy{}, adam, X, y, o);
        }
        write_net(dir, "cnn", cnn, rng);
        // (onnxruntime's CPU Conv has no double kernel, so the image cases are float)
        write_net(dir, "cnn_stride",
                  Network{Conv2D<float>(Shape(2, 7, 6), 3, 3, normal, rng, Conv2DOptions{2, 1}), Tanh{},
                          AvgPool2D(Shape(3, 4, 3), 2, 1, 1), LayerNorm<float>(Shape(3, 5, 4)), Flatten{},
                          Dense<float>(60, 4, normal, rng), Softmax{}},
                  rng);
        // rows made an image again: Gemm, Relu, then a Reshape before the Conv
        write_net(dir, "rows_to_image",
                  Network{Dense<float>(6, 18, normal, rng), ReLU{}, Conv2D<float>(Shape(2, 3, 3), 2, 2, normal, rng),
                          Sigmoid{}},
                  rng);
        const LayerSpec dense{"Dense", {{"in", 4}, {"out", 3}}, {{"W", true, true}, {"b", true, false}}};
        const matrix<float> W = inputs<float>(3, 5, rng); // W [3, 4] and b [3] from one draw
        const std::vector<std::vector<float>> wb{std::vector<float>(W.begin(), W.begin() + 12),
                                                 std::vector<float>(W.begin() + 12, W.end())};
        write_case(dir, "log_softmax", Model<float>({dense, LayerSpec{"LogSoftmax", {}, {}}}, {wb, {}}),
                   inputs<float>(4, 70, rng));
        write_case(dir, "activations_alone", Model<float>({LayerSpec{"ReLU", {}, {}}}, {{}}, 6),
                   inputs<float>(6, 70, rng));
        if (argc == 3) { // trained on MNIST: the test set's predictions, to the last one
            MnistData<float> d = load_mnist<float>(argv[2]);
            Network net{Dense<float>(784, 32, init::he, rng), ReLU{}, Dense<float>(32, 10, init::he, rng), Softmax{}};
            Adam<float> adam(2e-3f);
            FitOptions o;
            o.epochs = 1;
            o.batch_size = 128;
            o.seed = 1;
            o.verbose = Verbosity::silent;
            fit(net, CrossEntropy{}, adam, d.train_images, d.train_labels, o);
            write_case(dir, "mnist", freeze(net), d.test_images);
            std::string labels(d.test_labels.size(), '\0');
            for (std::size_t j = 0; j < labels.size(); ++j)
                labels[j] = static_cast<char>(d.test_labels(j));
            write_file_atomic(dir + "/mnist.labels", labels);
            std::printf("mnist: test accuracy %.4f in mininn\n", accuracy(d.test_labels, net.predict(d.test_images)));
        }
        write_file_atomic(dir + "/cases.json", manifest + "]\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "onnx_runtime_export: %s\n", e.what());
        return 1;
    }
}
