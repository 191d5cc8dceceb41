// libFuzzer harness: load_npz on valid zip archives whose entries come from the input, so the
// .npy parsing and the shape and dtype checks are reached without the zip layer refusing
// first. The input is cut into five parts (fuzz::split): the architecture and the four arrays.
// A part starting with byte 0 gets the header the network expects, with the rest as its data
// (for the architecture: the rest is its text, so the JSON reader is fuzzed directly); any
// other part is used as the whole entry.
#include <zip.h>

#include "fuzz_npz.hpp"

namespace {
std::string entry(const std::vector<std::uint8_t>& part, const std::string& header)
{
    if (!part.empty() && part[0] == 0)
        return header + std::string(part.begin() + 1, part.end());
    return std::string(part.begin(), part.end());
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static auto net = fuzz::npz_network();
    static const std::string arch = mininn::detail::npy_bytes(mininn::detail::architecture(net));
    // The valid .npy headers of the four arrays: a valid archive, cut where the data starts.
    static const std::vector<std::string> headers = [] {
        std::vector<std::string> h;
        net.visit_parameters([&](auto& p, auto&) {
            const std::string blob = mininn::detail::npy_array(p);
            h.push_back(blob.substr(0, blob.size() - p.size() * sizeof(float)));
        });
        return h;
    }();
    static const char* names[] = {"architecture.npy", "layer0.W.npy", "layer0.b.npy", "layer2.W.npy", "layer2.b.npy"};
    const auto parts = fuzz::split(data, size, 5);
    std::vector<std::string> blobs;
    if (parts[0].empty())
        blobs.push_back(arch);
    else if (parts[0][0] == 0)
        blobs.push_back(mininn::detail::npy_bytes(std::string(parts[0].begin() + 1, parts[0].end())));
    else
        blobs.push_back(std::string(parts[0].begin(), parts[0].end()));
    for (std::size_t k = 0; k < 4; ++k)
        blobs.push_back(entry(parts[k + 1], headers[k]));

    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t* mem = zip_source_buffer_create(nullptr, 0, 0, &ze);
    zip_t* z = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
    fuzz::require(z != nullptr, "an in-memory archive opens");
    zip_source_keep(mem);
    for (std::size_t k = 0; k < blobs.size(); ++k) {
        zip_source_t* src = zip_source_buffer(z, blobs[k].data(), blobs[k].size(), 0);
        const zip_int64_t index = src == nullptr ? -1 : zip_file_add(z, names[k], src, ZIP_FL_OVERWRITE);
        fuzz::require(index >= 0, "entries add");
        zip_set_file_compression(z, static_cast<zip_uint64_t>(index), k % 2 == 0 ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 1);
    }
    fuzz::require(zip_close(z) == 0, "the archive is written");
    std::string bytes;
    fuzz::require(zip_source_open(mem) == 0 && zip_source_seek(mem, 0, SEEK_END) == 0, "the archive reopens");
    bytes.resize(static_cast<std::size_t>(zip_source_tell(mem)));
    zip_source_seek(mem, 0, SEEK_SET);
    fuzz::require(zip_source_read(mem, bytes.data(), bytes.size()) == static_cast<zip_int64_t>(bytes.size()),
                  "the archive reads back");
    zip_source_close(mem);
    zip_source_free(mem);
    zip_error_fini(&ze);
    fuzz::check_load(bytes);
    return 0;
}
