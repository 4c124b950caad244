#pragma once
// Checks an input path before anything opens it: a FIFO or device would block open() (where Ctrl-C is
// restarted, not delivered), a folder read as a file gives std::bad_alloc, a symlink loop is not "missing".
// Every reader of user files (slides, model cards, weights, annotations) asks here first.
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace karyon::core {

// Why `path` cannot be read as a regular file (after following symlinks), e.g. "no such file",
// "is a FIFO (named pipe), not a regular file"; nullopt when it can. `size` receives its size.
inline std::optional<std::string> regular_file_problem(const std::filesystem::path& path,
                                                       std::uintmax_t* size = nullptr) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    switch (errno) {
      case ENOENT: return std::string("no such file");
      case ENOTDIR: return std::string("no such file (a parent is not a folder)");
      case ELOOP: return std::string("too many levels of symbolic links (a symlink loop?)");
      case EACCES: return std::string("permission denied");
      case ENAMETOOLONG: return std::string("file name too long");
      default: return std::string("cannot stat: ") + std::strerror(errno);
    }
  }
  if (S_ISDIR(st.st_mode)) return std::string("is a folder, not a file");
  if (S_ISFIFO(st.st_mode)) return std::string("is a FIFO (named pipe), not a regular file");
  if (S_ISSOCK(st.st_mode)) return std::string("is a socket, not a regular file");
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return std::string("is a device, not a regular file");
  if (!S_ISREG(st.st_mode)) return std::string("not a regular file");
  if (size) *size = static_cast<std::uintmax_t>(st.st_size);
  return std::nullopt;
}

// The same for an input that may be a file or a folder (annotation mask folders): only FIFOs,
// sockets, devices and unreachable paths are problems.
inline std::optional<std::string> input_path_problem(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return std::nullopt;
  return regular_file_problem(path);
}

}  // namespace karyon::core
