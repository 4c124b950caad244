#pragma once
// Finds Karyon's shipped resources (models/<name>/model.json + weights) relative to the running
// executable, so that the same binary works in the build tree and installed anywhere, with no source
// or build path compiled in:
//   installed:  <prefix>/bin/karyon-cli       -> <prefix>/share/karyon
//   build tree: <build>/app/karyon-cli,        -> <build>/share/karyon, a link that CMake makes to the
//               <build>/app/gui/karyon,           source tree's resources/ (the binaries sit one to
//               <build>/tests/<module>/<test>     three folders below <build>)
// Thread-safe (reads only). Linux: the executable is /proc/self/exe.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "karyon/core/install_layout.hpp"

namespace karyon::core {

// Shipped model names (folders under <resources>/models).
inline constexpr std::string_view default_model_name = "nuclei-default";        // real H&E
inline constexpr std::string_view synthetic_test_model_name = "synthetic-test";  // demo and tests only

// The folder holding the running executable; empty when /proc/self/exe cannot be read.
inline std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

// The shipped resources folder (holds models/); empty when none is found. Looks at
// <exe dir>/<resource_dir_from_bin_dir> and the same from up to three folders higher (build-tree
// binaries in subfolders), nearest first.
inline std::filesystem::path resource_dir() {
  std::filesystem::path dir = executable_dir();
  if (dir.empty()) return {};
  for (int up = 0; up <= 3; ++up) {
    const auto candidate = dir / resource_dir_from_bin_dir;
    std::error_code ec;
    if (std::filesystem::is_directory(candidate / "models", ec)) {
      const auto canonical = std::filesystem::weakly_canonical(candidate, ec);
      return ec ? candidate.lexically_normal() : canonical;
    }
    if (!dir.has_parent_path() || dir.parent_path() == dir) break;
    dir = dir.parent_path();
  }
  return {};
}

// The model card to use for the shipped model `name`: $KARYON_MODEL when set (it overrides every
// shipped model, so a site can point all of Karyon at its own model), else
// <resources>/models/<name>/model.json when that file exists, else empty.
inline std::filesystem::path shipped_model_card(std::string_view name) {
  if (const char* env = std::getenv("KARYON_MODEL"); env && *env) return env;
  const auto resources = resource_dir();
  if (resources.empty()) return {};
  auto card = resources / "models" / std::string(name) / "model.json";
  std::error_code ec;
  return std::filesystem::is_regular_file(card, ec) ? card : std::filesystem::path();
}

}  // namespace karyon::core
