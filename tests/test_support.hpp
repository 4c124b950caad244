#pragma once
// Helpers shared by Karyon's GoogleTest suites: real data from ../shared/data, scratch folders,
// cached synthetic slides.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <unistd.h>

#include "karyon/tiling/synthetic_slide.hpp"

namespace karyon::test {
namespace fs = std::filesystem;

// Path of a file under ../shared/data; the calling test is skipped (with the reason) when absent.
#define KARYON_SHARED_FILE(var, rel)                                                  \
  const std::filesystem::path var = std::filesystem::path(KARYON_SHARED_DATA) / (rel); \
  if (!std::filesystem::exists(var)) GTEST_SKIP() << "shared data missing: " << var

// A scratch folder unique to this test process, removed at exit.
inline fs::path scratch_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("karyon-test-" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(fs::temp_directory_path() / ("karyon-test-" + std::to_string(::getpid())), ec);
    });
    return d;
  }();
  return dir;
}

inline void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

struct SynthSlide {
  fs::path tiff, truth;
  tiling::SynthResult result;
};

// Writes (once per process and name) a synthetic slide with these options.
inline const SynthSlide& synthetic_slide(const std::string& name, const tiling::SynthOptions& options) {
  static std::mutex mutex;
  static std::map<std::string, SynthSlide> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  SynthSlide s{scratch_dir() / (name + ".tiff"), scratch_dir() / (name + ".truth.geojson"), {}};
  s.result = tiling::write_synthetic_slide(s.tiff, s.truth, options);
  return cache.emplace(name, s).first->second;
}

// The standard small test slide: 3072 x 2560 px at 0.25 µm/px, factor-2 pyramid, nuclei on the
// borders of a 256/32 plan at 0.5 µm/px.
inline const SynthSlide& small_synthetic_slide() {
  tiling::SynthOptions o;
  o.width = 3072;
  o.height = 2560;
  o.level_factor = 2;
  o.border_plan = tiling::BorderPlanGeometry{256, 32, 0.5};
  return synthetic_slide("small", o);
}

}  // namespace karyon::test
