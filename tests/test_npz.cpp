// save()/load() round trips, the checks load() makes, and numpy reading what save() wrote.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <zip.h>

#include "helpers.hpp"

#ifndef MININN_TEST_DIR
#error "MININN_TEST_DIR must name the tests directory"
#endif

using namespace mininn;
namespace fs = std::filesystem;

namespace {
template <class T>
auto model(std::uint64_t seed, std::size_t hidden = 4)
{
    Rng rng(seed);
    return Network{Dense<T>(3, hidden, init::normal, rng), Sigmoid{}, Dense<T>(hidden, 2, init::normal, rng), Softmax{}};
}
std::string temp_path(const std::string& name)
{
    return (fs::temp_directory_path() / ("mininn_npz_" + std::to_string(::getpid()) + "_" + name)).string();
}
template <class Net>
std::vector<xt::xarray<typename Net::value_type>> params(Net& net)
{
    std::vector<xt::xarray<typename Net::value_type>> out;
    net.visit_parameters([&](auto& p, auto&) { out.emplace_back(p); });
    return out;
}
} // namespace

TEST_CASE_TEMPLATE("save then load restores every parameter exactly", T, float, double)
{
    auto a = model<T>(1);
    a.template layer<0>().bias()(1) = T(0.25);
    const auto path = temp_path("roundtrip.npz");
    save(a, path);
    auto b = model<T>(2);
    REQUIRE(params(a)[0] != params(b)[0]);
    load(b, path);
    const auto pa = params(a), pb = params(b);
    REQUIRE(pa.size() == 4);
    for (std::size_t k = 0; k < pa.size(); ++k)
        CHECK(pa[k] == pb[k]);
    // no temporary file is left beside the archive
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
        entries += e.path().filename().string().rfind("mininn_npz_" + std::to_string(::getpid()) + "_roundtrip", 0) == 0;
    CHECK(entries == 1);
    fs::remove(path);
}

TEST_CASE("numpy.load reads the archive, and its arrays equal mininn's weights")
{
    auto net = model<double>(3);
    const auto path = temp_path("numpy.npz"), out = temp_path("numpy.txt");
    save(net, path);
    const std::string cmd =
        "/usr/bin/python3 " + std::string(MININN_TEST_DIR) + "/npz_dump.py " + path + " > " + out + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    std::stringstream text;
    text << in.rdbuf();
    REQUIRE_MESSAGE(rc == 0, "python3 with numpy must be installed (Debian: python3-numpy): " << text.str());
    std::map<std::string, std::vector<std::string>> lines;
    std::string line;
    while (std::getline(text, line)) {
        std::istringstream ls(line);
        std::string name, word;
        ls >> name;
        while (ls >> word)
            lines[name].push_back(word);
    }
    REQUIRE(lines.size() == 5);
    CHECK(lines["architecture"] == std::vector<std::string>{"json", "mininn", "2", "Dense(in=3,out=4)[W,b]",
                                                            "Sigmoid[]", "Dense(in=4,out=2)[W,b]", "Softmax[]",
                                                            "float64"});
    net.visit_named_parameters([&](std::size_t layer, const std::string&, const char* role, auto& p, auto&) {
        const auto& words = lines[detail::cat("layer", layer, ".", role)];
        REQUIRE(words.size() == 2 + p.size());
        CHECK(words[0] == "float64");
        CHECK(words[1] == (p.dimension() == 2 ? detail::cat(p.shape()[0], "x", p.shape()[1]) : detail::cat(p.shape()[0])));
        for (std::size_t i = 0; i < p.size(); ++i)
            CHECK(std::strtod(words[2 + i].c_str(), nullptr) == p.data()[i]);
    });
    fs::remove(path);
    fs::remove(out);
}

TEST_CASE("load refuses another architecture, scalar type, or a damaged file, and leaves the network as it was")
{
    auto net = model<float>(4);
    const auto path = temp_path("check.npz");
    save(net, path);

    auto wider = model<float>(5, 6);
    const auto before = params(wider);
    auto msg = test::message_of<io_error>([&] { load(wider, path); });
    CHECK(msg == path + ": layer 0 is Dense(in=3, out=4) in the file, Dense(in=3, out=6) in the network");
    CHECK(params(wider)[0] == before[0]);

    auto as_double = model<double>(4);
    msg = test::message_of<io_error>([&] { load(as_double, path); });
    CHECK(msg == path + ": the file holds float32 parameters, the network is float64");

    msg = test::message_of<io_error>([&] { load(net, path + ".missing"); });
    CHECK_MESSAGE_CONTAINS(msg, ": cannot open the archive");

    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto cut = temp_path("cut.npz");
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    CHECK_THROWS_AS(load(net, cut), io_error);
    std::string flipped = bytes;
    for (std::size_t i = 100; i < 140 && i < flipped.size(); ++i)
        flipped[i] = static_cast<char>(flipped[i] ^ 0x55);
    const auto bad = temp_path("bad.npz");
    std::ofstream(bad, std::ios::binary).write(flipped.data(), static_cast<std::streamsize>(flipped.size()));
    CHECK_THROWS_AS(load(net, bad), io_error);
    fs::remove(path);
    fs::remove(cut);
    fs::remove(bad);

    msg = test::message_of<io_error>([&] { save(net, "/nonexistent-dir/model.npz"); });
    CHECK(msg == "/nonexistent-dir/model.npz: the directory '/nonexistent-dir' does not exist");
}

namespace {
std::string file_bytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}
void put_u32(std::string& b, std::size_t at, std::uint32_t v)
{
    for (int k = 0; k < 4; ++k)
        b[at + static_cast<std::size_t>(k)] = static_cast<char>((v >> (8 * k)) & 0xff);
}
// Sets the uncompressed size of every entry, in its local header and in the central directory.
std::string with_claimed_sizes(std::string b, std::uint32_t size)
{
    for (std::size_t i = 0; i + 30 < b.size(); ++i) {
        if (b.compare(i, 4, "PK\x03\x04") == 0)
            put_u32(b, i + 22, size);
        else if (b.compare(i, 4, "PK\x01\x02") == 0)
            put_u32(b, i + 24, size);
    }
    return b;
}
template <std::size_t... I>
auto deep_model(Rng& rng, std::index_sequence<I...>)
{
    return Network{((void)I, Dense<double>(2, 2, init::normal, rng))...};
}
} // namespace

TEST_CASE("an archive whose size fields claim gigabytes is refused before anything is allocated")
{
    auto net = model<float>(6);
    const auto path = temp_path("claims.npz");
    save(net, path);
    const auto hostile = temp_path("hostile.npz");
    std::ofstream(hostile, std::ios::binary) << with_claimed_sizes(file_bytes(path), 0xFFFFFFFEu);
    const auto before = params(net);
    const auto msg = test::message_of<io_error>([&] { load(net, hostile); });
    CHECK(msg == hostile + ": 'architecture.npy' claims 4294967294 bytes; at most 131096 are expected");
    CHECK(params(net)[0] == before[0]);
    fs::remove(path);
    fs::remove(hostile);
}

TEST_CASE("an archive larger than the network's parameters can explain is refused")
{
    auto net = model<float>(7);
    const auto path = temp_path("large.npz");
    std::ofstream(path, std::ios::binary) << std::string(1 << 20, 'x');
    const auto msg = test::message_of<io_error>([&] { load(net, path); });
    CHECK_MESSAGE_CONTAINS(msg, path + ": ");
    CHECK_MESSAGE_CONTAINS(msg, "bytes, more than an archive of this network's 26 parameters can hold");
    fs::remove(path);
}

TEST_CASE("load_npz reads an archive from memory and refuses bytes that are not one")
{
    auto a = model<double>(8), b = model<double>(9);
    const auto path = temp_path("memory.npz");
    save(a, path);
    load_npz(b, file_bytes(path), "in memory");
    CHECK(params(a)[2] == params(b)[2]);
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { load_npz(b, "not a zip file", "junk"); }),
                           "junk: cannot open the archive");
    CHECK(test::message_of<io_error>([&] { load_npz(b, "", "empty"); }) ==
          "empty: no 'architecture' entry: not a model saved by mininn");
    fs::remove(path);
}

TEST_CASE("save and load a network with more parameter tensors than the old 64-entry buffer held")
{
    Rng rng(10);
    auto a = deep_model(rng, std::make_index_sequence<40>{}); // 80 parameter tensors
    auto b = deep_model(rng, std::make_index_sequence<40>{});
    const auto path = temp_path("deep.npz");
    save(a, path);
    load(b, path);
    const auto pa = params(a), pb = params(b);
    REQUIRE(pa.size() == 80);
    for (std::size_t k = 0; k < pa.size(); ++k)
        CHECK(pa[k] == pb[k]);
    fs::remove(path);
}

TEST_CASE("the same network saves to the same bytes: entries are stored and dated 1980-01-01, as numpy.savez does")
{
    auto net = model<float>(11);
    const std::string a = detail::npz_archive(net, "a");
    const auto path = temp_path("dated.npz");
    save(net, path);
    CHECK(file_bytes(path) == a);
    int err = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
    REQUIRE(z != nullptr);
    REQUIRE(zip_get_num_entries(z, 0) == 5);
    for (zip_uint64_t k = 0; k < 5; ++k) {
        zip_stat_t st;
        REQUIRE(zip_stat_index(z, k, 0, &st) == 0);
        CHECK(st.comp_method == ZIP_CM_STORE);
        const std::tm* t = std::localtime(&st.mtime);
        CHECK(t->tm_year == 80);
        CHECK(t->tm_mon == 0);
        CHECK(t->tm_mday == 1);
    }
    zip_discard(z);
    fs::remove(path);
}

TEST_CASE("files written before the architecture was structured (version 1, tests/data/format1) still load")
{
    // The networks tests/data/format1/gen.cpp saved, built again from the same seeds.
    const std::string dir = std::string(MININN_TEST_DIR) + "/data/format1/";
    Rng rng(2026);
    Network a{Dense<float>(4, 3, init::xavier, rng), Sigmoid{}, Dense<float>(3, 2, init::xavier, rng), Softmax{}};
    auto into = a;
    into.visit_parameters([](auto& p, auto&) { p.fill(0); });
    load(into, dir + "format1_float_sigmoid.npz");
    CHECK(params(into) == params(a));

    Rng rng2(7);
    Network b{Dense<double>(3, 5, init::he, rng2), LeakyReLU<double>(0.2), Dropout<double>(0.25, 11),
              Dense<double>(5, 1, init::xavier, rng2), Identity{}};
    auto b2 = b;
    b2.visit_parameters([](auto& p, auto&) { p.fill(0); });
    load(b2, dir + "format1_double_leaky_dropout.npz");
    CHECK(params(b2) == params(b));
    Adam<double> opt(0.01);
    load_checkpoint(dir + "format1_double_checkpoint.npz", b2, opt);
    CHECK(opt.checkpoint_state().steps == 1);
    CHECK(params(b2) != params(b)); // the checkpoint was written after one step

    // version 1 compared its text: a different network is still refused, naming both
    Network wider{Dense<float>(4, 5, init::xavier, rng), Sigmoid{}, Dense<float>(5, 2, init::xavier, rng), Softmax{}};
    CHECK(test::message_of<io_error>([&] { load(wider, dir + "format1_float_sigmoid.npz"); }) ==
          dir + "format1_float_sigmoid.npz: the saved architecture 'Dense 4→3; Sigmoid; Dense 3→2; Softmax; float32' "
                "does not match the network's 'Dense 4→5; Sigmoid; Dense 5→2; Softmax; float32'");
}

TEST_CASE("an architecture of a newer format version, or with an attribute that differs in its last digit, is refused")
{
    auto net = model<double>(3);
    auto entries = detail::parameter_entries(net);
    REQUIRE(entries[0].first == "architecture");
    std::string text = detail::architecture(net);
    const auto v = text.find("\"version\": 2");
    REQUIRE(v != std::string::npos);
    text.replace(v, 12, "\"version\": 3");
    entries[0].second = detail::npy_bytes(text);
    const auto path = temp_path("newer.npz");
    write_file_atomic(path, detail::npz_build(entries, path));
    CHECK(test::message_of<io_error>([&] { load(net, path); }) ==
          path + ": architecture: version 3 is newer than this mininn reads (2); read it with a newer mininn");

    // attributes are exact: version 1 wrote 6 significant digits, and these two read alike there
    Rng rng(4);
    Network a{Dense<double>(2, 3, init::xavier, rng), LeakyReLU<double>(0.1), Dense<double>(3, 1, init::xavier, rng)};
    Network b{Dense<double>(2, 3, init::xavier, rng), LeakyReLU<double>(0.1000000001),
              Dense<double>(3, 1, init::xavier, rng)};
    save(a, path);
    CHECK(test::message_of<io_error>([&] { load(b, path); }) ==
          path + ": layer 1 is LeakyReLU(alpha=0.1) in the file, LeakyReLU(alpha=0.1000000001) in the network");
    fs::remove(path);
}
