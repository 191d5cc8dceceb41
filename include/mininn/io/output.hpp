// mininn: writing files so that a reader never sees a half-written one.
#pragma once

#include "../core/config.hpp"

#include <cstdlib>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/errors.hpp"

namespace mininn {
inline namespace MININN_ISA {

/// True when stdout is a terminal that a live status line (a carriage return and an erase
/// code) may redraw: not a pipe or a file, and not an MPI rank's output, which mpirun
/// forwards through a pseudo-terminal of its own and interleaves with the other ranks'.
inline bool interactive_stdout()
{
    for (const char* rank_variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(rank_variable) != nullptr)
            return false;
    return ::isatty(STDOUT_FILENO) == 1;
}

namespace detail {

inline std::string parent_dir(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

inline const char* file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m) || S_ISBLK(m))
        return "a device";
    if (S_ISFIFO(m))
        return "a pipe";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/// The file that writing `path` replaces: path itself, or the file a symbolic link at path
/// points to. Throws io_error naming path when that exists and is not a regular file, when a
/// link cannot be resolved, or when its directory is missing or not writable.
inline std::string output_target(const std::string& path)
{
    if (path.empty())
        throw io_error("an output file name is empty");
    std::string target = path;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
        char* resolved = ::realpath(path.c_str(), nullptr);
        if (resolved == nullptr)
            throw io_error(cat(path, ": a symbolic link whose target cannot be resolved (", std::strerror(errno), ")"));
        target = resolved;
        std::free(resolved);
    }
    if (::stat(target.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode))
            throw io_error(cat(path, ": exists and is ", file_kind(st.st_mode), "; refusing to replace it"));
    } else if (errno != ENOENT) {
        throw io_error(cat(path, ": cannot check the file (", std::strerror(errno), ")"));
    }
    const std::string dir = parent_dir(target);
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw io_error(cat(path, ": the directory '", dir, "' does not exist"));
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
        throw io_error(cat(path, ": the directory '", dir, "' is not writable (", std::strerror(errno), ")"));
    return target;
}

} // namespace detail

/// Checks that write_file_atomic (and save) could write path, without writing anything, so a
/// program can refuse a bad output name before a long run rather than after it. Throws
/// io_error as write_file_atomic would: a missing or read-only directory, or a path that
/// exists and is not a regular file (a device, a directory, a pipe).
inline void check_output_path(const std::string& path)
{
    static_cast<void>(detail::output_target(path));
}

/// Writes content to path through a new temporary file in the same directory and a rename,
/// so path holds either its old content or all of the new, and a failed write leaves nothing
/// behind. A symbolic link at path is followed: the file it points to is replaced. Throws
/// io_error naming path when the target exists and is not a regular file (a device node is
/// never replaced), or when the directory, the write or the rename fails.
inline void write_file_atomic(const std::string& path, const std::string& content)
{
    const std::string target = detail::output_target(path);
    std::string tmp;
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
        tmp = detail::cat(target, ".tmp.", ::getpid(), ".", attempt); // O_EXCL: never another's
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        throw io_error(detail::cat(path, ": cannot create a temporary file (", std::strerror(errno), ")"));
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const std::string why = std::strerror(n < 0 ? errno : ENOSPC);
            ::close(fd);
            ::unlink(tmp.c_str());
            throw io_error(detail::cat(path, ": write failed (", why, ")"));
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw io_error(detail::cat(path, ": write failed (", why, ")"));
    }
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw io_error(detail::cat(path, ": cannot rename the finished file into place (", why, ")"));
    }
}

} // namespace MININN_ISA
} // namespace mininn
