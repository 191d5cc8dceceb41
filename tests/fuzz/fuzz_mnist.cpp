// libFuzzer harness: load_mnist on a directory of four files cut from the input (each part a
// 2-byte length and its bytes; see fuzz::split), written raw or gzipped as the first byte says.
#include <filesystem>

#include <mininn/data/mnist.hpp>

#include "fuzz_common.hpp"

namespace {
// A directory of four links, each to a memfd the harness rewrites: load_mnist opens real
// paths, and no file is created or removed per input.
struct mnist_dir {
    std::filesystem::path path;
    fuzz::memfile files[4];
    mnist_dir() : path(std::filesystem::path("/dev/shm") / ("mininn-fuzz-mnist-" + std::to_string(::getpid())))
    {
        static const char* names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                      "t10k-labels-idx1-ubyte"};
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
        for (int k = 0; k < 4; ++k)
            std::filesystem::create_symlink(files[k].write(nullptr, 0), path / names[k]);
    }
    ~mnist_dir() { std::filesystem::remove_all(path); }
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static mnist_dir dir;
    if (size == 0)
        return 0;
    const bool gz = data[0] & 1; // gzip streams under the plain names: zlib reads either
    const auto parts = fuzz::split(data + 1, size - 1, 4);
    for (std::size_t k = 0; k < 4; ++k) {
        const auto bytes = gz ? fuzz::gzip(parts[k].data(), parts[k].size()) : parts[k];
        dir.files[k].write(bytes.data(), bytes.size());
    }
    try {
        const auto d = mininn::load_mnist<float>(dir.path.string());
        fuzz::require(d.train_images.shape()[1] == d.train_labels.size(), "one training label per image");
        fuzz::require(d.test_images.shape()[1] == d.test_labels.size(), "one test label per image");
        fuzz::require(d.train_images.shape()[0] == d.test_images.shape()[0], "training and test images alike");
        for (std::size_t v : d.train_labels)
            fuzz::require(v < 10, "labels in [0, 10)");
        for (std::size_t v : d.test_labels)
            fuzz::require(v < 10, "labels in [0, 10)");
    } catch (const mininn::io_error&) {
    }
    return 0;
}
