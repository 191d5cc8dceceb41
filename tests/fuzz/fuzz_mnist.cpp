// libFuzzer harness: load_mnist on a directory of four files cut from the input (each part a
// 2-byte length and its bytes; see fuzz::split), written raw or gzipped as the first byte says.
#include <filesystem>
#include <fstream>

#include <mininn/mnist.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    namespace fs = std::filesystem;
    static const fs::path dir = [] {
        const fs::path d = fs::path("/dev/shm") / ("mininn-fuzz-mnist-" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    if (size == 0)
        return 0;
    static const char* names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte"};
    const bool gz = data[0] & 1;
    const auto parts = fuzz::split(data + 1, size - 1, 4);
    for (std::size_t k = 0; k < 4; ++k) {
        fs::remove(dir / names[k]);
        fs::remove(dir / (std::string(names[k]) + ".gz"));
        const auto bytes = gz ? fuzz::gzip(parts[k].data(), parts[k].size()) : parts[k];
        std::ofstream(dir / (std::string(names[k]) + (gz ? ".gz" : "")), std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    try {
        const auto d = mininn::load_mnist<float>(dir.string());
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
