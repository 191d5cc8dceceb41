// libFuzzer harness: read_idx, read_idx_images and read_idx_labels on any bytes. The first
// byte chooses how the rest reaches the reader: as they are (raw IDX, or a gzip stream the
// fuzzer mutates) or gzip-compressed first, so the header checks are reached through valid
// streams too. Every failure must be an io_error; every success must be self-consistent, and
// a shard (SampleRange) must agree with the whole file.
#include <numeric>

#include <xtensor/xview.hpp>

#include <mininn/data/idx.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static fuzz::memfile file;
    if (size == 0)
        return 0;
    std::vector<std::uint8_t> body(data + 1, data + size);
    if (data[0] & 1)
        body = fuzz::gzip(body.data(), body.size());
    const std::string& path = file.write(body.data(), body.size());
    const std::size_t bound = std::size_t(1) << 24; // a smaller bound than the default, so it is reached
    try {
        const mininn::IdxData idx = mininn::read_idx(path, bound);
        const std::size_t count =
            std::accumulate(idx.shape.begin(), idx.shape.end(), std::size_t(1), std::multiplies<>());
        fuzz::require(!idx.shape.empty() && idx.shape.size() <= 4, "rank in [1, 4]");
        fuzz::require(idx.data.size() == count, "data size equals the product of the dimensions");
        fuzz::require(count <= bound, "data within the bound");
    } catch (const mininn::io_error&) {
    }
    // A shard [first, first + count) chosen by the input's last two bytes: accepted exactly
    // when the whole file is and the range lies inside it, and then equal to those columns.
    const mininn::SampleRange range{size > 3 ? data[size - 1] % 4u : 0u, size > 3 ? data[size - 2] % 4u : 0u};
    bool whole_ok = false;
    mininn::matrix<float> X;
    try {
        X = mininn::read_idx_images<float>(path, 1.0f / 255, bound);
        whole_ok = true;
        fuzz::require(X.shape()[0] > 0 && X.shape()[1] > 0, "images have pixels and columns");
        for (float v : X)
            fuzz::require(v >= 0.0f && v <= 1.0f, "pixels in [0, 1]");
    } catch (const mininn::io_error&) {
    }
    try {
        const auto part = mininn::read_idx_images<float>(path, range, 1.0f / 255, bound);
        fuzz::require(whole_ok, "a shard of a file refused as a whole is refused");
        fuzz::require(range.first + range.count <= X.shape()[1], "a shard inside the file");
        fuzz::require(part == xt::view(X, xt::all(), xt::range(range.first, range.first + range.count)),
                      "a shard equals those columns of the whole");
    } catch (const mininn::io_error&) {
        fuzz::require(!whole_ok || range.first + range.count > X.shape()[1], "a shard inside a good file is read");
    }
    try {
        const auto y = mininn::read_idx_labels(path, 10, bound);
        for (std::size_t v : y)
            fuzz::require(v < 10, "labels below the class count");
        const auto part = mininn::read_idx_labels(path, range, 10, bound);
        fuzz::require(part == xt::view(y, xt::range(range.first, range.first + range.count)),
                      "a shard of the labels equals those labels");
    } catch (const mininn::io_error&) {
    }
    return 0;
}
