// Slide::open dispatches to OpenSlide or to the plain-image fallback after the checks that give the
// user a precise message (missing path, directory, empty file) instead of a generic "unsupported".
#include "karyon/tiling/slide.hpp"

#include <openslide.h>

#include <system_error>

#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"
#include "slide_backends.hpp"
#include "tiff_integrity.hpp"

namespace karyon::tiling {
namespace fs = std::filesystem;
using core::SlideError;

namespace {

void check_path_is_readable_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw SlideError(path.string() + ": is a directory, not a slide (use `karyon-cli batch` for folders)");
  std::uintmax_t size = 0;
  if (const auto problem = core::regular_file_problem(path, &size)) throw SlideError(path.string() + ": " + *problem);
  if (size == 0) throw SlideError(path.string() + ": file is empty");
  if (const auto damage = tiff_damage(path, size)) throw SlideError(path.string() + ": truncated or damaged: " + *damage);
}

void check_dimensions(const SlideMetadata& m) {
  if (m.levels.empty()) throw SlideError(m.path.string() + ": slide has no pyramid levels");
  for (std::size_t i = 0; i < m.levels.size(); ++i) {
    const auto& l = m.levels[i];
    if (l.width <= 0 || l.height <= 0 || l.width > kMaxSlideDimension || l.height > kMaxSlideDimension)
      throw SlideError(m.path.string() + ": level " + std::to_string(i) + " has absurd dimensions " +
                       std::to_string(l.width) + " x " + std::to_string(l.height) +
                       " (corrupt header? at most " + std::to_string(kMaxSlideDimension) + " px per side)");
    if (!(l.downsample >= 1.0 - 1e-9))
      throw SlideError(m.path.string() + ": level " + std::to_string(i) + " has invalid downsample " +
                       std::to_string(l.downsample));
  }
  for (const double* mpp : {m.mpp_x ? &*m.mpp_x : nullptr, m.mpp_y ? &*m.mpp_y : nullptr})
    if (mpp && !(*mpp > 0.01 && *mpp < 1000.0))
      throw SlideError(m.path.string() + ": implausible µm/px " + std::to_string(*mpp) + " from " + m.mpp_source);
}

}  // namespace

std::unique_ptr<Slide> Slide::open(const fs::path& path) {
  check_path_is_readable_file(path);
  std::unique_ptr<Slide> slide;
  if (openslide_detect_vendor(path.c_str()) != nullptr)
    slide = open_with_openslide(path);
  else
    slide = open_plain_image(path);
  check_dimensions(slide->metadata());
  return slide;
}

int Slide::best_level_for_downsample(double downsample) const {
  int best = 0;
  const auto& levels = metadata_.levels;
  for (int i = 0; i < static_cast<int>(levels.size()); ++i)
    if (levels[i].downsample <= downsample * (1.0 + 1e-6) && levels[i].downsample > levels[best].downsample)
      best = i;
  return best;
}

}  // namespace karyon::tiling
