// write_file_atomic and check_output_path: whole files or none, no temporary left behind, and
// targets that are not regular files refused before anything is written.
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "helpers.hpp"

using namespace mininn;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    fs::path path;
    TempDir() : path(fs::temp_directory_path() / ("mininn_io_" + std::to_string(::getpid())))
    {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    std::size_t entries() const
    {
        return static_cast<std::size_t>(std::distance(fs::directory_iterator(path), fs::directory_iterator{}));
    }
};
std::string content(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}
} // namespace

TEST_CASE("write_file_atomic replaces a file whole and leaves no temporary behind")
{
    TempDir dir;
    const auto p = (dir.path / "out.csv").string();
    write_file_atomic(p, "a,b\n1,2\n");
    write_file_atomic(p, "x\n");
    CHECK(content(p) == "x\n");
    CHECK(dir.entries() == 1);
    write_file_atomic(p, "");
    CHECK(content(p).empty());
    CHECK(dir.entries() == 1);
}

TEST_CASE("a missing directory is reported by check_output_path and write_file_atomic alike")
{
    TempDir dir;
    const auto p = (dir.path / "no/such/dir/f").string();
    const std::string expected = p + ": the directory '" + (dir.path / "no/such/dir").string() + "' does not exist";
    CHECK(test::message_of<io_error>([&] { check_output_path(p); }) == expected);
    CHECK(test::message_of<io_error>([&] { write_file_atomic(p, "x"); }) == expected);
    CHECK(test::message_of<io_error>([&] { check_output_path(""); }) == "an output file name is empty");
    check_output_path((dir.path / "new.csv").string()); // a new file in an existing directory is fine
    check_output_path("relative-name.csv");
    CHECK(dir.entries() == 0);
}

TEST_CASE("a device, a directory or a pipe is never replaced")
{
    TempDir dir;
    // As root, rename() would have replaced /dev/full with the output file.
    for (const char* dev : {"/dev/full", "/dev/null"}) {
        CHECK(test::message_of<io_error>([&] { write_file_atomic(dev, "x"); }) ==
              std::string(dev) + ": exists and is a device; refusing to replace it");
        struct stat st {};
        REQUIRE(::stat(dev, &st) == 0);
        CHECK(S_ISCHR(st.st_mode));
    }
    CHECK(test::message_of<io_error>([&] { write_file_atomic(dir.path.string(), "x"); }) ==
          dir.path.string() + ": exists and is a directory; refusing to replace it");
    const auto fifo = (dir.path / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(test::message_of<io_error>([&] { check_output_path(fifo); }) == fifo + ": exists and is a pipe; refusing to replace it");
    CHECK(dir.entries() == 1);
}

TEST_CASE("a symbolic link is followed: its target is replaced, the link stays a link")
{
    TempDir dir;
    fs::create_directories(dir.path / "real");
    const auto target = dir.path / "real" / "model.csv", link = dir.path / "link.csv";
    write_file_atomic(target.string(), "old");
    fs::create_symlink(target, link);
    write_file_atomic(link.string(), "new");
    CHECK(fs::is_symlink(link));
    CHECK(content(target) == "new");
    CHECK(std::distance(fs::directory_iterator(dir.path / "real"), fs::directory_iterator{}) == 1);
    // a link to a device is refused like the device
    const auto devlink = dir.path / "full";
    fs::create_symlink("/dev/full", devlink);
    CHECK(test::message_of<io_error>([&] { write_file_atomic(devlink.string(), "x"); }) ==
          devlink.string() + ": exists and is a device; refusing to replace it");
    // a dangling link cannot be resolved
    const auto dangling = dir.path / "dangling";
    fs::create_symlink(dir.path / "nowhere" / "x", dangling);
    CHECK_MESSAGE_CONTAINS(test::message_of<io_error>([&] { write_file_atomic(dangling.string(), "x"); }),
                           dangling.string() + ": a symbolic link whose target cannot be resolved");
}
