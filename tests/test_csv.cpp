// load_csv on files the tests write (good, damaged, gzipped) and on the real datasets Debian's
// scikit-learn ships; train_test_split.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>
#include <zlib.h>

#include "helpers.hpp"

using namespace mininn;
namespace fs = std::filesystem;

namespace {
std::string write_temp(const std::string& name, const std::string& text, bool gz = false)
{
    const std::string p = (fs::temp_directory_path() / ("mininn_csv_" + std::to_string(::getpid()) + "_" + name)).string();
    if (gz) {
        gzFile f = gzopen(p.c_str(), "wb");
        REQUIRE(f != nullptr);
        REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
        gzclose(f);
    } else {
        std::ofstream(p, std::ios::binary) << text;
    }
    return p;
}
std::string csv_error(const std::string& text, const CsvOptions& o = {})
{
    const std::string p = write_temp("bad.csv", text);
    const std::string msg = test::message_of<io_error>([&] { load_csv<double>(p, o); });
    fs::remove(p);
    return msg;
}
// Checks that text fails to load with a message containing part.
void expect_csv_error(const std::string& text, const std::string& part, const CsvOptions& o = {})
{
    CHECK_MESSAGE_CONTAINS(csv_error(text, o), part);
}
const std::string sklearn_data = "/usr/lib/python3/dist-packages/sklearn/datasets/data/";
} // namespace

TEST_CASE("load_csv puts samples in columns and the target column aside")
{
    const std::string p = write_temp("good.csv", "a,b,c,label\n1, 2.5 ,-3,1\n4,5e-1,+6,0\r\n7,8,9,2\n\n");
    CsvOptions o;
    o.skip_lines = 1;
    o.targets = CsvTargets::class_indices;
    const CsvData<double> d = load_csv<double>(p, o);
    CHECK(d.X == matrix<double>{{1, 4, 7}, {2.5, 0.5, 8}, {-3, 6, 9}});
    CHECK(d.labels == label_vector{1, 0, 2});
    CHECK(d.Y.shape()[0] == 0);
    CHECK(d.Y.shape()[1] == 3);

    // Real targets from two columns, one counted from the end, in the order given.
    o.targets = CsvTargets::real;
    o.target_columns = {-1, 0};
    const CsvData<float> r = load_csv<float>(p, o);
    CHECK(r.X == matrix<float>{{2.5f, 0.5f, 8}, {-3, 6, 9}});
    CHECK(r.Y == matrix<float>{{1, 0, 2}, {1, 4, 7}});
    CHECK(r.labels.size() == 0);

    // No targets: every column is a feature.
    o.target_columns = {};
    CHECK(load_csv<double>(p, o).X.shape() == std::array<std::size_t, 2>{4, 3});
    fs::remove(p);
}

TEST_CASE("class names map to sorted indices; blank-separated and gzipped files")
{
    const std::string p = write_temp("names.csv", "5.1,3.5,setosa\n7.0,3.2,versicolor\n4.9,3.0,setosa\n6.3,3.3, virginica\n");
    CsvOptions o;
    o.targets = CsvTargets::class_names;
    const auto d = load_csv<double>(p, o);
    CHECK(d.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
    CHECK(d.labels == label_vector{0, 1, 0, 2});
    fs::remove(p);

    const std::string g = write_temp("blank.csv.gz", "59 2\t32.1  101.0\n48 1 21.6 87.0\n", true);
    o = CsvOptions{};
    o.separator = ' ';
    o.target_columns = {};
    CHECK(load_csv<double>(g, o).X == matrix<double>{{59, 48}, {2, 1}, {32.1, 21.6}, {101, 87}});
    fs::remove(g);
}

TEST_CASE("damaged files name the file, the line and the column")
{
    expect_csv_error("1,2,3\n4,5\n", "bad.csv:2: 2 columns, but line 1 has 3");
    expect_csv_error("1,2,3\n4,,6\n", "bad.csv:2, column 2: empty cell");
    expect_csv_error("1,2,3\n4,x5,6\n", "bad.csv:2, column 2: 'x5' is not a number");
    expect_csv_error("1,2,3\n4,5 6,6\n", "bad.csv:2, column 2: '5 6' is not a number");
    expect_csv_error("1,nan,3\n", "bad.csv:1, column 2: 'nan' is not a finite number");
    expect_csv_error("1,1e999,3\n", "bad.csv:1, column 2: '1e999' is out of range");
    expect_csv_error("1,2,3\n\n4,5,6\n", "bad.csv:2: empty line");
    expect_csv_error("header\n", "bad.csv: no data rows (1 lines, 1 skipped)", [] {
        CsvOptions h;
        h.skip_lines = 1;
        return h;
    }());
    expect_csv_error("", "bad.csv: no data rows (0 lines, 0 skipped)");
    CsvOptions o;
    o.target_columns = {7};
    expect_csv_error("1,2,3\n", "bad.csv:1: target column 7 is outside the 3 columns of the row", o);
    o.target_columns = {-1};
    o.targets = CsvTargets::class_indices;
    expect_csv_error("1,2,0\n1,2,1.5\n", "bad.csv:2, column 3: '1.5' is not a class index (an integer from 0)", o);
    expect_csv_error("1,2,-1\n", "'-1' is not a class index", o);
    o.targets = CsvTargets::class_names;
    expect_csv_error("1,2,a\n1,2,\n", "bad.csv:2, column 3: empty cell", o);

    const std::string missing = (fs::temp_directory_path() / "mininn_csv_no_such_file.csv").string();
    CHECK(test::message_of<io_error>([&] { load_csv<double>(missing); }) == missing + ": cannot open file");
    // A truncated gzip stream is reported, not read as a short table.
    std::string gz;
    {
        const std::string full = write_temp("cut.csv.gz", std::string(100000, '1') + "\n", true);
        std::ifstream in(full, std::ios::binary);
        gz.assign(std::istreambuf_iterator<char>(in), {});
        fs::remove(full);
    }
    const std::string cut = write_temp("cut.csv.gz", gz.substr(0, gz.size() / 2));
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { load_csv<double>(cut); }), "corrupt or truncated gzip");
    fs::remove(cut);
}

TEST_CASE("a file larger than max_bytes is refused after reading at most max_bytes + 1")
{
    std::string rows;
    for (int i = 0; i < 2500; ++i)
        rows += "1,2\n";
    const std::string p = write_temp("big.csv", rows);
    CsvOptions o;
    o.max_bytes = 4096;
    CHECK(test::message_of<io_error>([&] { load_csv<double>(p, o); }) == p + ": larger than max_bytes (4096 bytes)");
    o.max_bytes = 10000;
    CHECK(load_csv<double>(p, o).X.size() == 2500);
    // A cell is quoted in a message only up to 40 characters.
    expect_csv_error(std::string(5000, 'x') + ",2\n", "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a number");
    fs::remove(p);
}

TEST_CASE("options that contradict themselves are refused")
{
    const std::string p = write_temp("opts.csv", "1,2,3\n");
    CsvOptions o;
    o.target_columns = {0, -3};
    CHECK(test::message_of<std::invalid_argument>([&] { load_csv<double>(p, o); }) ==
          "load_csv: target column 0 is given twice");
    o.target_columns = {0, 1};
    o.targets = CsvTargets::class_indices;
    CHECK(test::message_of<std::invalid_argument>([&] { load_csv<double>(p, o); }) ==
          "load_csv: class labels come from one target column, not 2");
    o = CsvOptions{};
    o.separator = '.';
    CHECK(test::message_of<std::invalid_argument>([&] { load_csv<double>(p, o); }) ==
          "load_csv: '.' cannot separate numbers");
    fs::remove(p);
}

TEST_CASE("the real datasets of Debian's scikit-learn load with their published shapes")
{
    if (!fs::exists(sklearn_data + "iris.csv")) {
        MESSAGE("python3-sklearn is not installed; skipped");
        return;
    }
    CsvOptions o;
    o.skip_lines = 1; // "150,4,setosa,versicolor,virginica"
    o.targets = CsvTargets::class_indices;
    const auto iris = load_csv<double>(sklearn_data + "iris.csv", o);
    CHECK(iris.X.shape() == std::array<std::size_t, 2>{4, 150});
    CHECK(iris.X(0, 0) == 5.1);
    CHECK(iris.labels(149) == 2);
    const auto cancer = load_csv<double>(sklearn_data + "breast_cancer.csv", o);
    CHECK(cancer.X.shape() == std::array<std::size_t, 2>{30, 569});
    CHECK(cancer.X(0, 0) == 17.99);
    o.skip_lines = 0;
    const auto digits = load_csv<float>(sklearn_data + "digits.csv.gz", o);
    CHECK(digits.X.shape() == std::array<std::size_t, 2>{64, 1797});
    CHECK(*std::max_element(digits.labels.begin(), digits.labels.end()) == 9);
    o.separator = ' ';
    o.target_columns = {};
    o.targets = CsvTargets::real;
    const auto diabetes = load_csv<double>(sklearn_data + "diabetes_data_raw.csv.gz", o);
    CHECK(diabetes.X.shape() == std::array<std::size_t, 2>{10, 442});
    CHECK(diabetes.X(0, 0) == 59);
    const auto target = load_csv<double>(sklearn_data + "diabetes_target.csv.gz", [] {
        CsvOptions t;
        t.separator = ' ';
        return t;
    }());
    CHECK(target.Y.shape() == std::array<std::size_t, 2>{1, 442}); // a file of targets alone
    CHECK(target.X.shape() == std::array<std::size_t, 2>{0, 442});
    CHECK(target.Y(0, 0) == 151);
}

TEST_CASE("train_test_split is seeded, disjoint and complete")
{
    Rng a(3), b(3);
    const SplitIndices s = train_test_split(10, 0.25, a);
    CHECK(s.test.size() == 3); // round(2.5) = 3
    CHECK(s.train.size() == 7);
    std::vector<std::size_t> all = s.train;
    all.insert(all.end(), s.test.begin(), s.test.end());
    std::sort(all.begin(), all.end());
    CHECK(all == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    const SplitIndices again = train_test_split(10, 0.25, b);
    CHECK(again.train == s.train);
    CHECK(again.test == s.test);
    Rng c(3);
    CHECK(train_test_split(2, 0.01, c).test.size() == 1); // at least one on each side
    CHECK(train_test_split(2, 0.99, c).train.size() == 1);
    CHECK(test::message_of<std::invalid_argument>([&] { train_test_split(10, 1.0, c); }) ==
          "train_test_split: test_fraction must be in (0, 1), got 1");
    CHECK(test::message_of<shape_error>([&] { train_test_split(1, 0.5, c); }) ==
          "train_test_split: 1 samples cannot be split in two");
}
