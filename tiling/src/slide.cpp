// Slide::open dispatches to OpenSlide or to the plain-image fallback after the checks that give the
// user a precise message (missing path, directory, empty file) instead of a generic "unsupported".
#include "karyon/tiling/slide.hpp"

#include <openslide.h>

#include <algorithm>
#include <cmath>
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

int level_for_downsample(const std::vector<LevelInfo>& levels, double downsample, double tolerance) {
  int best = 0;
  for (int i = 0; i < static_cast<int>(levels.size()); ++i)
    if (levels[i].downsample <= downsample * (1.0 + tolerance) && levels[i].downsample > levels[best].downsample)
      best = i;
  return best;
}

int Slide::best_level_for_downsample(double downsample) const { return level_for_downsample(metadata_.levels, downsample); }

const std::vector<std::string>& whole_slide_extensions() {
  static const std::vector<std::string> exts = {"svs", "tif", "tiff", "ndpi", "vms", "vmu", "scn", "mrxs", "svslide", "bif"};
  return exts;
}

const std::vector<std::string>& plain_image_extensions() {
  static const std::vector<std::string> exts = {"png", "jpg", "jpeg"};
  return exts;
}

std::vector<core::Level0Rect> read_region_around_damage(const Slide& slide, int level, std::int64_t x_level0,
                                                        std::int64_t y_level0, int width, int height,
                                                        core::RgbImage& out, int block) {
  try {
    slide.read_region(level, x_level0, y_level0, width, height, out);
    return {};
  } catch (const core::DamagedRegion&) {
  }
  const double ds = slide.metadata().levels.at(static_cast<std::size_t>(level)).downsample;
  out.resize(width, height);
  std::fill(out.pixels.begin(), out.pixels.end(), std::uint8_t{255});
  std::vector<core::Level0Rect> holes;
  core::RgbImage piece;
  // Blocks on the level's own grid (multiples of `block` from the slide origin), not on this read's: two
  // overlapping reads then lose exactly the same pixels.
  const auto lx0 = static_cast<std::int64_t>(std::llround(x_level0 / ds)), ly0 = static_cast<std::int64_t>(std::llround(y_level0 / ds));
  auto grid_floor = [&](std::int64_t v) { return (v >= 0 ? v : v - block + 1) / block * block; };
  for (std::int64_t gy = grid_floor(ly0); gy < ly0 + height; gy += block)
    for (std::int64_t gx = grid_floor(lx0); gx < lx0 + width; gx += block) {
      const std::int64_t bx = std::max(gx, lx0), by = std::max(gy, ly0);
      const int bw = static_cast<int>(std::min(gx + block, lx0 + width) - bx);
      const int bh = static_cast<int>(std::min(gy + block, ly0 + height) - by);
      const std::int64_t x0 = std::llround(bx * ds), y0 = std::llround(by * ds);
      try {
        slide.read_region(level, x0, y0, bw, bh, piece);
        for (int y = 0; y < bh; ++y)
          std::copy_n(piece.row(y), bw * 3, out.row(static_cast<int>(by - ly0) + y) + (bx - lx0) * 3);
      } catch (const core::DamagedRegion&) {
        holes.push_back({x0, y0, std::llround((bx + bw) * ds) - x0, std::llround((by + bh) * ds) - y0});
      }
    }
  return holes;
}

}  // namespace karyon::tiling
