// The inference peer in dlib 19.24 (Debian libdlib-dev): the seed network as
// softmax<fc<10, sig<fc<64, input<matrix<float>>>>>>, its two fc layers given the weights mininn
// saved (OUT_DIR/seed_weights.f32, written by ort_export.py), timed as ort_infer.js times
// onnxruntime: the median of 15 rounds, each at least 20 ms of calls; a batch-1 call takes a
// different image each time (the 256 ort_infer.js cycles through), batch 32 is test images
// 1000-1031 (OUT_DIR/images.f32). Prints key=value lines dlib_b1_us, dlib_b32_us and dlib_max_diff
// against OUT_DIR/mininn_b32.f32, and exits 1 if that is above 1e-5.
//
// A net without a loss layer returns the output tensor of its top layer, here the softmax, so
// the call gives the probabilities (loss_multiclass_log would give only the labels). A call
// copies the images into the net's input tensor and runs forward on the net itself: it is not
// const, the net keeps every layer's output, and one net serves one thread at a time. dlib's fc
// multiplies through the BLAS the library was built with (Debian's: libblas.so.3, OpenBLAS
// here), set to one thread.
//
//   dlib_infer OUT_DIR
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <dlib/dnn.h>

extern "C" void openblas_set_num_threads(int);

namespace {

using net_type = dlib::softmax<dlib::fc<10, dlib::sig<dlib::fc<64, dlib::input<dlib::matrix<float>>>>>>;

constexpr double tolerance = 1e-5;

std::vector<float> read_floats(const std::string& path, std::size_t n)
{
    std::vector<float> v(n);
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
    if (!in)
        throw std::runtime_error(path + ": fewer than " + std::to_string(n) + " floats");
    return v;
}

// dlib's fc keeps its parameters as one (inputs + 1) x outputs tensor, row-major: row i holds
// input i's weight to each output (W transposed), the last row the biases.
void set_fc(dlib::tensor& params, const float* W, const float* b, long outputs, long inputs)
{
    if (params.num_samples() != inputs + 1 || params.k() != outputs)
        throw std::runtime_error("fc parameters of an unexpected shape");
    float* p = params.host();
    for (long i = 0; i < inputs; ++i)
        for (long o = 0; o < outputs; ++o)
            p[i * outputs + o] = W[o * inputs + i];
    for (long o = 0; o < outputs; ++o)
        p[inputs * outputs + o] = b[o];
}

// Microseconds a call of run(c) takes, c = 0, 1, ... in each round: the median of 15 rounds,
// each at least 20 ms.
template <class F>
double per_call_us(F&& run)
{
    using clock = std::chrono::steady_clock;
    std::size_t calls = 1;
    for (;;) {
        const auto t0 = clock::now();
        for (std::size_t c = 0; c < calls; ++c)
            run(c);
        if (std::chrono::duration<double>(clock::now() - t0).count() > 0.02)
            break;
        calls *= 2;
    }
    std::vector<double> t;
    for (int r = 0; r < 15; ++r) {
        const auto t0 = clock::now();
        for (std::size_t c = 0; c < calls; ++c)
            run(c);
        t.push_back(std::chrono::duration<double, std::micro>(clock::now() - t0).count() / static_cast<double>(calls));
    }
    std::sort(t.begin(), t.end());
    return t[7];
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: dlib_infer OUT_DIR\n");
        return 2;
    }
    try {
        const std::string dir = argv[1];
        openblas_set_num_threads(1);
        const std::vector<float> w = read_floats(dir + "/seed_weights.f32", 64 * 784 + 64 + 10 * 64 + 10);
        const std::vector<float> images = read_floats(dir + "/images.f32", 3072 * 784);
        const std::vector<float> want = read_floats(dir + "/mininn_b32.f32", 10 * 32); // [10, 32]
        auto image = [&](std::size_t j) {
            dlib::matrix<float> m(784, 1);
            std::copy(images.begin() + static_cast<long>(j * 784), images.begin() + static_cast<long>((j + 1) * 784),
                      m.begin());
            return m;
        };
        std::vector<dlib::matrix<float>> one, b32;
        for (std::size_t j = 0; j < 256; ++j)
            one.push_back(image(j * 37 % 3000));
        for (std::size_t j = 1000; j < 1032; ++j)
            b32.push_back(image(j));

        net_type net;
        net(one[0]); // the first call sizes the layers (and fills them with random weights)
        set_fc(dlib::layer<3>(net).layer_details().get_layer_params(), w.data(), w.data() + 64 * 784, 64, 784);
        set_fc(dlib::layer<1>(net).layer_details().get_layer_params(), w.data() + 64 * 784 + 64,
               w.data() + 64 * 784 + 64 + 10 * 64, 10, 64);

        const dlib::tensor& out = net(b32.begin(), b32.end()); // [32, 10, 1, 1], samples as rows
        if (out.num_samples() != 32 || out.k() * out.nr() * out.nc() != 10)
            throw std::runtime_error("the net's output is not [32, 10]");
        const float* got = out.host();
        double worst = 0;
        for (long j = 0; j < 32; ++j)
            for (long i = 0; i < 10; ++i)
                worst = std::max(worst, static_cast<double>(std::fabs(got[j * 10 + i] - want[i * 32 + j])));

        const double t1 = per_call_us([&](std::size_t c) { net(one[c % 256]); });
        const double t32 = per_call_us([&](std::size_t) { net(b32.begin(), b32.end()); });
        std::printf("dlib_b1_us=%.3f\ndlib_b32_us=%.3f\ndlib_max_diff=%.2e\n", t1, t32, worst);
        if (!(worst <= tolerance)) {
            std::fprintf(stderr, "dlib_infer: outputs differ from mininn's by %.2e\n", worst);
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dlib_infer: %s\n", e.what());
        return 1;
    }
}
