#pragma once
// Checks an input path before anything opens it: a FIFO or device would block open() (where Ctrl-C is
// restarted, not delivered), a folder read as a file gives std::bad_alloc, a symlink loop is not "missing".
// Every reader of user files (slides, model cards, weights, annotations) asks here first.
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "karyon/core/errors.hpp"

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

// The raster format a file's first bytes announce. Readers hand only these to OpenCV: its other decoders
// (DICOM through GDCM, Radiance HDR, PFM, PxM, ...) trust sizes written in the file.
enum class RasterSignature { Unknown, Png, Jpeg, Tiff };

inline RasterSignature raster_signature(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char m[8] = {};
  if (!in.read(reinterpret_cast<char*>(m), sizeof m)) return RasterSignature::Unknown;
  if (m[0] == 0x89 && m[1] == 'P' && m[2] == 'N' && m[3] == 'G' && m[4] == 0x0D && m[5] == 0x0A && m[6] == 0x1A &&
      m[7] == 0x0A)
    return RasterSignature::Png;
  if (m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF) return RasterSignature::Jpeg;
  if ((m[0] == 'I' && m[1] == 'I' && (m[2] == 42 || m[2] == 43) && m[3] == 0) ||
      (m[0] == 'M' && m[1] == 'M' && m[2] == 0 && (m[3] == 42 || m[3] == 43)))
    return RasterSignature::Tiff;
  return RasterSignature::Unknown;
}

// Every output Karyon writes goes to PATH.partial first and is renamed over PATH when complete: a reader
// (the app, a batch merge, a resumed run) never sees half a file, and kill -9 leaves the old file or the new.
inline std::filesystem::path partial_path(const std::filesystem::path& path) { return path.string() + ".partial"; }

// Renames the finished PATH.partial over PATH.
inline void replace_with_partial(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  std::filesystem::rename(partial_path(path), path, ec);
  if (ec) throw OutputError(path.string() + ": cannot write " + std::string(what) + ": " + ec.message());
}

// Writes `bytes` to `path` by way of PATH.partial; on failure the partial file is removed and OutputError
// names the path and `what` ("heatmap", "batch report", ...).
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes, std::string_view what) {
  const std::filesystem::path partial = partial_path(path);
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);
      throw OutputError(path.string() + ": cannot write " + std::string(what) + " (disk full or read-only folder?)");
    }
  }
  replace_with_partial(path, what);
}

}  // namespace karyon::core
