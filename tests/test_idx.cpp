// IDX reading on small files this test writes itself: one valid file per kind, then one per
// kind of damage. Every failure must be an io_error naming the file and the problem.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include <zlib.h>

#include "helpers.hpp"

using namespace mininn;
namespace fs = std::filesystem;

namespace {

using bytes = std::vector<std::uint8_t>;

bytes idx_header(std::uint8_t type, std::vector<std::uint32_t> dims)
{
    bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (auto d : dims)
        for (int s = 24; s >= 0; s -= 8)
            b.push_back(static_cast<std::uint8_t>(d >> s));
    return b;
}

bytes images_3x2x2()
{
    bytes b = idx_header(0x08, {3, 2, 2});
    for (std::uint8_t v : {0, 51, 102, 255, /* image 1 */ 1, 2, 3, 4, /* image 2 */ 10, 20, 30, 40})
        b.push_back(v);
    return b;
}

bytes labels(std::vector<std::uint8_t> values)
{
    bytes b = idx_header(0x08, {static_cast<std::uint32_t>(values.size())});
    b.insert(b.end(), values.begin(), values.end());
    return b;
}

struct TempDir {
    fs::path path;
    TempDir()
    {
        path = fs::temp_directory_path() / ("mininn_idx_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    static int& counter()
    {
        static int c = 0;
        return c;
    }
    std::string raw(const std::string& name, const bytes& b) const
    {
        const auto p = (path / name).string();
        std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
        return p;
    }
    std::string gz(const std::string& name, const bytes& b) const
    {
        const auto p = (path / name).string();
        gzFile f = gzopen(p.c_str(), "wb");
        REQUIRE(f != nullptr);
        REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
        gzclose(f);
        return p;
    }
    bytes read(const std::string& p) const
    {
        std::ifstream in(p, std::ios::binary);
        return bytes(std::istreambuf_iterator<char>(in), {});
    }
};

std::string idx_error(const std::string& path)
{
    return test::message_of<io_error>([&] { read_idx(path); });
}

} // namespace

TEST_CASE("a valid image file, raw or gzipped, becomes [pixels, n] with samples as columns")
{
    TempDir dir;
    for (const std::string& p : {dir.raw("img", images_3x2x2()), dir.gz("img.gz", images_3x2x2())}) {
        const IdxData idx = read_idx(p);
        CHECK(idx.shape == std::vector<std::size_t>{3, 2, 2});
        CHECK(idx.data.size() == 12);
        const matrix<double> X = read_idx_images<double>(p);
        REQUIRE(X.shape()[0] == 4);
        REQUIRE(X.shape()[1] == 3);
        CHECK(X(0, 0) == 0.0);
        CHECK(X(1, 0) == doctest::Approx(0.2));
        CHECK(X(3, 0) == 1.0);
        CHECK(X(2, 1) == doctest::Approx(3.0 / 255));
        CHECK(X(3, 2) == doctest::Approx(40.0 / 255));
        const matrix<float> raw = read_idx_images<float>(p, 1.0f);
        CHECK(raw(1, 2) == 20.0f);
    }
}

TEST_CASE("a valid label file; labels outside the class range are reported")
{
    TempDir dir;
    const auto p = dir.gz("lab.gz", labels({3, 0, 9, 1}));
    CHECK(read_idx_labels(p, 10) == label_vector{3, 0, 9, 1});
    const auto bad = dir.raw("bad", labels({3, 12, 1}));
    CHECK(read_idx_labels(bad) == label_vector{3, 12, 1});
    const auto msg = test::message_of<io_error>([&] { read_idx_labels(bad, 10); });
    CHECK(msg == bad + ": label 12 at index 1 is outside [0, 10)");
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_labels(dir.raw("i", images_3x2x2())); }),
                           "expected labels [n], got dimensions [3, 2, 2]");
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images<float>(p); }),
                           "expected images [n, rows, cols], got dimensions [4]");
}

TEST_CASE("a missing file")
{
    TempDir dir;
    const auto p = (dir.path / "nope.gz").string();
    CHECK(idx_error(p) == p + ": cannot open file");
}

TEST_CASE("wrong magic number, wrong element type, bad rank, short header")
{
    TempDir dir;
    bytes b = images_3x2x2();
    b[0] = 0x1f;
    b[1] = 0x00;
    auto p = dir.raw("magic", b);
    CHECK(idx_error(p) == p + ": not an IDX file (magic starts 0x1f 0x0, expected 0x0 0x0)");
    b = images_3x2x2();
    b[2] = 0x0D;
    p = dir.raw("type", b);
    CHECK(idx_error(p) == p + ": element type 0xd (float) is not supported; expected 0x8 (unsigned byte)");
    b = images_3x2x2();
    b[3] = 7;
    p = dir.raw("rank", b);
    CHECK(idx_error(p) == p + ": rank 7 is not supported (1 to 4)");
    p = dir.raw("short", bytes{0, 0, 8});
    CHECK(idx_error(p) == p + ": 3 bytes, too short for an IDX header");
    p = dir.raw("hdr", bytes{0, 0, 8, 3, 0, 0, 0, 3, 0, 0});
    CHECK(idx_error(p) == p + ": truncated header (10 bytes, rank 3 needs 16)");
}

TEST_CASE("truncated data and trailing bytes")
{
    TempDir dir;
    bytes b = images_3x2x2();
    b.resize(b.size() - 5);
    auto p = dir.gz("trunc.gz", b);
    CHECK(idx_error(p) == p + ": truncated: dimensions [3, 2, 2] need 12 bytes of data, the file has 7");
    b = images_3x2x2();
    b.push_back(1);
    b.push_back(2);
    p = dir.raw("trail", b);
    CHECK(idx_error(p) == p + ": trailing bytes after the 12 bytes that dimensions [3, 2, 2] describe");
}

TEST_CASE("dimensions that overflow or promise more than the file holds are refused before any allocation")
{
    TempDir dir;
    bytes b = idx_header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu});
    b.push_back(0);
    auto p = dir.raw("overflow", b);
    CHECK(idx_error(p) == p + ": dimensions [4294967295, 4294967295, 4294967295] describe more than 2147483648 bytes");
    b = idx_header(0x08, {60000, 28, 28}); // the real header, with 4 bytes of data
    b.insert(b.end(), {1, 2, 3, 4});
    p = dir.raw("huge", b);
    CHECK(idx_error(p) == p + ": truncated: dimensions [60000, 28, 28] need 47040000 bytes of data, the file has 4");
}

TEST_CASE("dimensions with a zero are bounded too, and images need at least one image of one pixel")
{
    TempDir dir;
    // [0, 2^29, 2^29]: no element, but 2^58 pixels per image (the element count wrapped to 0 once)
    auto p = dir.raw("wrap", idx_header(0x08, {0, 1u << 29, 1u << 29}));
    CHECK(idx_error(p) == p + ": dimensions [0, 536870912, 536870912] describe more than 2147483648 bytes");
    // [0, 65535, 65535]: 4.3e9 pixels per image, more than the default bound
    p = dir.raw("wide", idx_header(0x08, {0, 65535, 65535}));
    CHECK(idx_error(p) == p + ": dimensions [0, 65535, 65535] describe more than 2147483648 bytes");
    // zero images of a sane size: a valid IDX file, but no data set
    p = dir.raw("none", idx_header(0x08, {0, 28, 28}));
    CHECK(read_idx(p).data.empty());
    CHECK(test::message_of<io_error>([&] { read_idx_images<float>(p); }) == p + ": dimensions [0, 28, 28] hold no image");
    p = dir.raw("nopixel", idx_header(0x08, {5, 0, 28}));
    CHECK(test::message_of<io_error>([&] { read_idx_images<float>(p); }) == p + ": dimensions [5, 0, 28] hold no pixel");
    // a smaller bound is honoured: the real header is refused under 1 MB
    bytes b = idx_header(0x08, {60000, 28, 28});
    p = dir.raw("bounded", b);
    CHECK(test::message_of<io_error>([&] { read_idx(p, 1 << 20); }) ==
          p + ": dimensions [60000, 28, 28] describe more than 1048576 bytes");
}

TEST_CASE("a header is checked before the content behind it is decompressed")
{
    TempDir dir;
    // 64 MB of zeros, gzipped: the magic is fine, element type 0 is not; the reader stops after 4 bytes
    // (it used to inflate everything first, up to 2 GiB)
    const std::string p = (dir.path / "zeros.gz").string();
    gzFile f = gzopen(p.c_str(), "wb9");
    REQUIRE(f != nullptr);
    const bytes zeros(1 << 20, 0);
    for (int i = 0; i < 64; ++i)
        REQUIRE(gzwrite(f, zeros.data(), static_cast<unsigned>(zeros.size())) == static_cast<int>(zeros.size()));
    gzclose(f);
    CHECK(idx_error(p) == p + ": element type 0x0 (unknown) is not supported; expected 0x8 (unsigned byte)");
    // a labels file claiming 2^31 - 1 labels with 3 bytes: truncated, and the buffer held only what arrived
    bytes b = idx_header(0x08, {0x7FFFFFFFu});
    b.insert(b.end(), {1, 2, 3});
    const auto q = dir.gz("claims.gz", b);
    CHECK(test::message_of<io_error>([&] { read_idx_labels(q); }) ==
          q + ": truncated: dimensions [2147483647] need 2147483647 bytes of data, the file has 3");
}

TEST_CASE("corrupt and truncated gzip streams")
{
    TempDir dir;
    bytes big = idx_header(0x08, {4000});
    for (int i = 0; i < 4000; ++i)
        big.push_back(static_cast<std::uint8_t>((i * 7919) % 251));
    const auto good = dir.gz("good.gz", big);
    REQUIRE(read_idx(good).data.size() == 4000);
    bytes z = dir.read(good);

    bytes corrupt = z;
    for (std::size_t i = 20; i < 40 && i < corrupt.size(); ++i)
        corrupt[i] ^= 0x5A;
    auto p = dir.raw("corrupt.gz", corrupt);
    CHECK_MESSAGE_CONTAINS(idx_error(p), p + ": corrupt");

    bytes cut(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(z.size() / 2));
    p = dir.raw("cut.gz", cut);
    CHECK_MESSAGE_CONTAINS(idx_error(p), p + ": corrupt or truncated gzip stream");
}

TEST_CASE("load_mnist finds raw or gzipped files and checks that counts agree")
{
    TempDir dir;
    dir.gz("train-images-idx3-ubyte.gz", images_3x2x2());
    dir.raw("train-labels-idx1-ubyte", labels({1, 2, 3}));
    dir.raw("t10k-images.idx3-ubyte", images_3x2x2()); // the dotted spelling of some mirrors
    const auto test_labels = dir.gz("t10k-labels-idx1-ubyte.gz", labels({4, 5}));
    auto msg = test::message_of<io_error>([&] { load_mnist<float>(dir.path.string()); });
    CHECK_MESSAGE_CONTAINS(msg, "has 3 images but " + test_labels + " has 2 labels");

    dir.gz("t10k-labels-idx1-ubyte.gz", labels({4, 5, 6}));
    const auto d = load_mnist<float>(dir.path.string());
    CHECK(d.train_images.shape()[1] == 3);
    CHECK(d.test_labels == label_vector{4, 5, 6});

    TempDir empty;
    msg = test::message_of<io_error>([&] { load_mnist<float>(empty.path.string()); });
    CHECK(msg == empty.path.string() + ": no train-images-idx3-ubyte or train-images-idx3-ubyte.gz "
                                       "(examples/mnist/get-mnist.sh downloads them)");
}

TEST_CASE("a range of samples: the shards of a file are its columns, and the whole file is still checked")
{
    TempDir dir;
    for (const bool gz : {false, true}) {
        const std::string p = gz ? dir.gz("i.gz", images_3x2x2()) : dir.raw("i", images_3x2x2());
        const matrix<float> all = read_idx_images<float>(p, 1.0f);
        const matrix<float> mid = read_idx_images<float>(p, SampleRange{1, 1}, 1.0f);
        REQUIRE(mid.shape() == std::array<std::size_t, 2>{4, 1});
        CHECK(mid == matrix<float>{{1}, {2}, {3}, {4}});
        const matrix<float> tail = read_idx_images<float>(p, SampleRange{1}, 1.0f); // count: to the end
        CHECK(tail == xt::view(all, xt::all(), xt::range(1, 3)));
        const matrix<float> none = read_idx_images<float>(p, SampleRange{3, 0}, 1.0f); // an empty shard
        CHECK(none.shape() == std::array<std::size_t, 2>{4, 0});
        CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images<float>(p, SampleRange{2, 2}); }),
                               p + ": samples [2, 4) are outside the file's 3");
        CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images<float>(p, SampleRange{4}); }),
                               p + ": samples [4, end) are outside the file's 3");
    }
    const std::string lp = dir.gz("l.gz", labels({7, 8, 9, 3}));
    CHECK(read_idx_labels(lp, SampleRange{1, 2}, 10) == label_vector{8, 9});
    // A label outside the classes is named by its index in the file, not in the shard.
    const std::string bad = dir.raw("bad", labels({1, 2, 12}));
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_labels(bad, SampleRange{2, 1}, 10); }),
                           "label 12 at index 2 is outside [0, 10)");

    // A shard of a damaged file is refused as the whole file would be: behind it, and before it.
    bytes cut = images_3x2x2();
    cut.resize(cut.size() - 2);
    const std::string c = dir.raw("cut", cut);
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images<float>(c, SampleRange{0, 1}); }),
                           c + ": truncated: dimensions [3, 2, 2] need 12 bytes of data, the file has 10");
    bytes longer = images_3x2x2();
    longer.push_back(0);
    const std::string l = dir.raw("long", longer);
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images<float>(l, SampleRange{0, 1}); }),
                           l + ": trailing bytes after the 12 bytes");
}

TEST_CASE("load_mnist with a training range reads that shard, and compares the files' counts first")
{
    TempDir dir;
    dir.gz("train-images-idx3-ubyte.gz", images_3x2x2());
    const auto train_labels = dir.raw("train-labels-idx1-ubyte", labels({1, 2, 3}));
    dir.raw("t10k-images-idx3-ubyte", images_3x2x2());
    dir.raw("t10k-labels-idx1-ubyte", labels({4, 5, 6}));
    const auto d = load_mnist<double>(dir.path.string(), SampleRange{1, 2}, false);
    CHECK(d.train_images.shape() == std::array<std::size_t, 2>{4, 2});
    CHECK(d.train_labels == label_vector{2, 3});
    CHECK(d.test_images.shape() == std::array<std::size_t, 2>{4, 0});
    const auto full = load_mnist<double>(dir.path.string(), SampleRange{1, 2});
    CHECK(full.test_labels == label_vector{4, 5, 6});
    CHECK(xt::allclose(d.train_images, xt::view(full.train_images, xt::all(), xt::all())));

    dir.raw("train-labels-idx1-ubyte", labels({1, 2, 3, 4}));
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { load_mnist<float>(dir.path.string(), SampleRange{0, 2}); }),
                           "has 3 images but " + train_labels + " has 4 labels");
}

TEST_CASE("images read straight into a sparse matrix equal the dense read, ranges and errors included")
{
    TempDir dir;
    for (const std::string& p : {dir.raw("img", images_3x2x2()), dir.gz("img.gz", images_3x2x2())}) {
        const sparse_matrix<double> S = read_idx_images_sparse<double>(p);
        const matrix<double> X = read_idx_images<double>(p);
        CHECK(S.to_dense() == X);
        CHECK(S.nonzeros() == static_cast<std::size_t>(xt::sum(xt::not_equal(X, 0.0))()));
        CHECK(S.nonzeros() < X.size()); // the zero pixels are left out
        const sparse_matrix<float> mid = read_idx_images_sparse<float>(p, SampleRange{1, 2}, 1.0f);
        CHECK(mid.to_dense() == read_idx_images<float>(p, SampleRange{1, 2}, 1.0f));
        CHECK(read_idx_images_sparse<float>(p, SampleRange{3, 0}).shape() == std::array<std::size_t, 2>{4, 0});
        CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images_sparse<float>(p, SampleRange{2, 2}); }),
                               p + ": samples [2, 4) are outside the file's 3");
    }
    // Shuffled while read: column j is image order[j].
    const std::string g = dir.gz("img2.gz", images_3x2x2());
    const std::vector<std::size_t> order{2, 0, 2, 1};
    CHECK(read_idx_images_sparse<float>(g, order).to_dense() == take_columns(read_idx_images<float>(g), order));
    CHECK_MESSAGE_CONTAINS(test::message_of<shape_error>([&] { read_idx_images_sparse<float>(g, std::vector<std::size_t>{0, 3}); }),
                           g + ": image 3 of a file with 3");
    bytes b = images_3x2x2();
    b.resize(b.size() - 5);
    const std::string t = dir.gz("trunc.gz", b);
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images_sparse<float>(t); }),
                           t + ": truncated: dimensions [3, 2, 2] need 12 bytes of data, the file has 7");
    CHECK_MESSAGE_CONTAINS(
        test::message_of<io_error>([&] { read_idx_images_sparse<float>(t, std::vector<std::size_t>{0}); }),
        t + ": truncated: dimensions [3, 2, 2] need 12 bytes of data, the file has 7");
    bytes longer = images_3x2x2();
    longer.push_back(9);
    const std::string l = dir.raw("long", longer);
    CHECK_MESSAGE_CONTAINS(
        test::message_of<io_error>([&] { read_idx_images_sparse<float>(l, std::vector<std::size_t>{1, 0}); }),
        l + ": trailing bytes after the 12 bytes");
    const std::string lp = dir.raw("labels", labels({1, 2}));
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { read_idx_images_sparse<float>(lp); }),
                           lp + ": expected images [n, rows, cols], got dimensions [2]");
}
