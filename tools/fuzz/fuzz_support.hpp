#pragma once
// Shared by the libFuzzer targets: Karyon's readers take paths (they stat the path first, then open it), so
// each input is written to a scratch file in a per-process folder (tmpfs /dev/shm when there is one) and the
// reader is called on that path, exactly as karyon-cli calls it.
//
// The oracle: a reader may throw karyon::core::Error (a message naming the file; what users see as
// "karyon-cli: error: FILE: reason"). Anything else that escapes (std::bad_alloc, std::length_error,
// cv::Exception, nlohmann::json::exception, std::filesystem_error, ...) is a bug: the target lets it escape,
// libFuzzer reports it as a crash ("deadly signal" after std::terminate) and saves the input. ASan, UBSan and
// LeakSanitizer catch the rest.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace karyon::fuzz {

// The scratch folder of this process, created once and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                                                : std::filesystem::temp_directory_path();
    auto d = base / ("karyon-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec2;
      std::filesystem::remove_all(scratch_dir(), ec2);
    });
    return d;
  }();
  return dir;
}

// Writes `size` bytes to `path` (replacing it). Aborts if the scratch folder is unusable: that is the
// harness failing, not the reader.
inline void write_file(const std::filesystem::path& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

// The input written to scratch_dir()/name; returns the path.
inline std::filesystem::path input_file(const std::string& name, const std::uint8_t* data, std::size_t size) {
  auto path = scratch_dir() / name;
  write_file(path, data, size);
  return path;
}

// Splits an input into parts at each occurrence of `separator` (the seed generator joins files with it);
// at most `max_parts` parts, the last one keeps the rest.
inline std::vector<std::string_view> split(const std::uint8_t* data, std::size_t size, std::string_view separator,
                                           std::size_t max_parts) {
  std::vector<std::string_view> parts;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (parts.size() + 1 < max_parts) {
    const auto at = rest.find(separator);
    if (at == std::string_view::npos) break;
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + separator.size());
  }
  parts.push_back(rest);
  return parts;
}

// Separator between the files of a multi-file input (mask folders, card + weights).
inline constexpr std::string_view kFileSeparator = "\n--karyon-fuzz-next-file--\n";

}  // namespace karyon::fuzz
