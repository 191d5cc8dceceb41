// Writes the fuzzers' seed corpora (small valid inputs of each kind) and the reproducers of
// past bugs, which CI replays before fuzzing. Usage: make_corpus <dir>
#include <filesystem>
#include <fstream>

#include "fuzz_npz.hpp"
#ifdef MININN_FUZZ_ONNX
#include <mininn/onnx/all.hpp>
#endif

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

namespace {
bytes idx(std::vector<std::uint32_t> dims, const bytes& data)
{
    bytes b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
    for (auto d : dims)
        for (int s = 24; s >= 0; s -= 8)
            b.push_back(static_cast<std::uint8_t>(d >> s));
    b.insert(b.end(), data.begin(), data.end());
    return b;
}
bytes prefixed(std::uint8_t first, const bytes& rest)
{
    bytes b = {first};
    b.insert(b.end(), rest.begin(), rest.end());
    return b;
}
// Parts in fuzz::split's format: each but the last behind a 2-byte little-endian length.
bytes parts(const std::vector<bytes>& ps)
{
    bytes b;
    for (std::size_t k = 0; k < ps.size(); ++k) {
        if (k + 1 < ps.size()) {
            b.push_back(static_cast<std::uint8_t>(ps[k].size() & 0xff));
            b.push_back(static_cast<std::uint8_t>(ps[k].size() >> 8));
        }
        b.insert(b.end(), ps[k].begin(), ps[k].end());
    }
    return b;
}
void write(const fs::path& p, const bytes& b)
{
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
bytes of(const std::string& s)
{
    return bytes(s.begin(), s.end());
}
} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus <dir>\n");
        return 2;
    }
    const fs::path root = argv[1];
    const bytes images = idx({3, 2, 2}, {0, 51, 102, 255, 1, 2, 3, 4, 10, 20, 30, 40});
    const bytes labels = idx({3}, {3, 0, 9});
    const bytes test_images = idx({2, 2, 2}, {9, 8, 7, 6, 5, 4, 3, 2});
    const bytes test_labels = idx({2}, {1, 2});
    // idx: raw, gzipped by the harness, and a gzip stream the fuzzer mutates itself
    write(root / "corpus/idx/images", prefixed(0, images));
    write(root / "corpus/idx/labels", prefixed(0, labels));
    write(root / "corpus/idx/labels-gz", prefixed(1, labels));
    write(root / "corpus/idx/images-gzstream", prefixed(0, fuzz::gzip(images.data(), images.size())));
    write(root / "corpus/mnist/raw", prefixed(0, parts({images, labels, test_images, test_labels})));
    write(root / "corpus/mnist/gz", prefixed(1, parts({images, labels, test_images, test_labels})));

    auto net = fuzz::npz_network();
    const std::string archive = mininn::detail::npz_archive(net, "seed");
    write(root / "corpus/npz_bytes/valid", of(archive));
    std::vector<bytes> entries = {{}};
    net.visit_parameters([&](auto& p, auto&) {
        bytes e = {0};
        const auto* raw = reinterpret_cast<const std::uint8_t*>(p.data());
        e.insert(e.end(), raw, raw + p.size() * sizeof(float));
        entries.push_back(e);
    });
    write(root / "corpus/npz_entries/valid", parts(entries));
    // the same, with the architecture's JSON as text for the harness to wrap (byte 0 first)
    const std::string json = mininn::detail::architecture(net);
    entries[0] = {0};
    entries[0].insert(entries[0].end(), json.begin(), json.end());
    write(root / "corpus/npz_entries/valid-json", parts(entries));

    // csv: the first byte picks the options (see fuzz_csv.cpp)
    const std::string table = "a,b,label\n1,2.5,0\n-3,4e1,1\n", names = "5.1,3.5,setosa\n7.0,3.2,versicolor\n";
    write(root / "corpus/csv/indices-header", prefixed(4 | 8, of(table)));
    write(root / "corpus/csv/real-header-gz", prefixed(4 | 1, of(table)));
    write(root / "corpus/csv/names", prefixed(16, of(names)));
    write(root / "corpus/csv/blank-separated", prefixed(2 | 64, of("59 2 32.1\n48\t1 21.6\n")));

#ifdef MININN_FUZZ_ONNX
    // onnx: mininn's exports of every op it writes (PyTorch's come from tests/data/onnx)
    mininn::Rng rng(3);
    using namespace mininn;
    write(root / "corpus/onnx/mininn-mlp", of(to_onnx(fuzz::npz_network())));
    write(root / "corpus/onnx/mininn-every-op",
          of(to_onnx(Network{Dense<float>(3, 4, init::normal, rng), LeakyReLU(0.2), Dropout(0.5),
                             Dense<float>(4, 3, init::normal, rng), Tanh{}, Dense<float>(3, 3, init::normal, rng),
                             ReLU{}, Dense<float>(3, 2, init::normal, rng), Softmax{}})));
    write(root / "corpus/onnx/mininn-double-sigmoid",
          of(to_onnx(Network{Dense<double>(2, 1, init::normal, rng), Sigmoid{}})));
    write(root / "corpus/onnx/mininn-cnn",
          of(to_onnx(Network{Conv2D<float>(Shape(1, 6, 6), 3, 3, init::normal, rng, Conv2DOptions{}.with_padding(1)),
                             ReLU{}, MaxPool2D(Shape(3, 6, 6), 2), BatchNorm<float>(Shape(3, 3, 3)),
                             AvgPool2D(Shape(3, 3, 3), 3, 1, 1, true), LayerNorm<float>(Shape(3, 3, 3)), Flatten{},
                             Dense<float>(27, 2, init::normal, rng)})));
    write(root / "corpus/onnx/mininn-rows-to-image",
          of(to_onnx(Network{Dense<double>(4, 8, init::normal, rng),
                             Conv2D<double>(Shape(2, 2, 2), 2, 2, init::normal, rng)})));
    write(root / "corpus/onnx/mininn-log-softmax",
          of(to_onnx(Model<float>({LayerSpec{"LogSoftmax", {}, {}}}, {{}}, 3))));
    // Reproducers (issue 31): a Transpose of a weight with no output, whose output 0 was read;
    // a misspelt LeakyRelu alpha, read as the default 0.01 (not 0.01f), so that the export's
    // float differed.
    onnx::ModelProto m = detail::parse_onnx(to_onnx(Network{Dense<float>(2, 2, init::normal, rng)}), "seed");
    onnx::NodeProto* t = m.mutable_graph()->add_node();
    t->set_op_type("Transpose");
    t->add_input("layer0.W");
    write(root / "regressions/onnx/transpose-without-output", of(m.SerializeAsString()));
    m = detail::parse_onnx(to_onnx(Network{Dense<double>(2, 2, init::normal, rng), LeakyReLU(0.5)}), "seed");
    m.mutable_graph()->mutable_node(1)->mutable_attribute(0)->set_name("altha");
    write(root / "regressions/onnx/misspelt-alpha", of(m.SerializeAsString()));
    // A BatchNormalization with epsilon 0 (issue 32), whose BatchNorm took an epsilon of 1e-5,
    // not 1e-5f: its export, a float, read back as another epsilon.
    m = detail::parse_onnx(to_onnx(Network{BatchNorm<double>(Shape(4, 1, 1)), Dense<double>(4, 2, init::normal, rng)}),
                           "seed");
    for (auto& a : *m.mutable_graph()->mutable_node(0)->mutable_attribute())
        if (a.name() == "epsilon")
            a.set_f(0);
    write(root / "regressions/onnx/batch-norm-epsilon-0", of(m.SerializeAsString()));
#endif

    // Reproducers of past bugs (issue 10): each once crashed, hung or over-allocated.
    write(root / "regressions/idx/zero-images-wrapping-count", prefixed(0, idx({0, 1u << 29, 1u << 29}, {})));
    write(root / "regressions/idx/zero-images-huge-pixels", prefixed(0, idx({0, 65535, 65535}, {})));
    write(root / "regressions/idx/zeros-gz", prefixed(1, bytes(1 << 16, 0)));
    write(root / "regressions/idx/claims-2gb-has-3-bytes", prefixed(1, idx({0x7FFFFFFFu}, {1, 2, 3})));
    write(root / "regressions/idx/images-claim-60000", prefixed(0, idx({60000, 28, 28}, {1, 2, 3, 4})));
    std::string hostile = archive; // every entry's size fields set to 0xFFFFFFFE
    for (std::size_t i = 0; i + 30 < hostile.size(); ++i) {
        const std::size_t at = hostile.compare(i, 4, "PK\x03\x04") == 0 ? i + 22
                               : hostile.compare(i, 4, "PK\x01\x02") == 0 ? i + 24
                                                                          : 0;
        for (std::size_t k = 0; at != 0 && k < 4; ++k)
            hostile[at + k] = static_cast<char>(k == 0 ? 0xFE : 0xFF);
    }
    write(root / "regressions/npz_bytes/sizes-0xfffffffe", of(hostile));
    write(root / "regressions/npz_bytes/truncated", of(archive.substr(0, archive.size() / 2)));
    std::printf("corpora and regressions written to %s\n", root.c_str());
    return 0;
}
