#pragma once
// A whole-slide image, opened read-only. One abstraction over OpenSlide (SVS, NDPI, MRXS, SCN,
// Philips/Ventana/generic tiled TIFF) and a fallback for plain images (PNG, JPEG, strip TIFF),
// which become single-level slides.
//
// Thread-safety: read_region() may be called from many threads at once on one Slide.
// Errors: open() and read_region() throw karyon::core::SlideError naming the file and the cause;
// read_region() throws InvalidArgument for requests outside the level.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "karyon/core/geometry.hpp"
#include "karyon/core/image.hpp"

namespace karyon::tiling {

struct LevelInfo {
  std::int64_t width = 0;   // pixels at this level
  std::int64_t height = 0;
  double downsample = 1.0;  // level-0 pixels per pixel of this level
};

struct SlideMetadata {
  std::filesystem::path path;
  std::string format;  // OpenSlide vendor ("aperio", "generic-tiff", ...) or "image" for the fallback
  std::vector<LevelInfo> levels;
  std::optional<double> mpp_x;   // µm per level-0 pixel; empty when the file does not say
  std::optional<double> mpp_y;
  std::string mpp_source;        // which property the µm/px came from, for the user to check
  std::optional<double> objective_power;
  std::vector<std::string> associated_images;  // label, macro, thumbnail, ...
  std::map<std::string, std::string> properties;

  std::int64_t width() const { return levels.front().width; }
  std::int64_t height() const { return levels.front().height; }
};

class Slide {
 public:
  virtual ~Slide() = default;

  // Opens any supported slide. Throws SlideError (missing, directory, empty, unsupported, corrupt,
  // absurd dimensions) with the path in the message.
  static std::unique_ptr<Slide> open(const std::filesystem::path& path);

  const SlideMetadata& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return metadata_.path; }

  // Reads a region of `level`. The origin is in LEVEL-0 pixels (OpenSlide's convention), the size in
  // LEVEL pixels. Pixels outside the slide come back white. Output is RGB, transparent areas
  // composited on white. `out` is resized to width x height (its allocation is reused).
  virtual void read_region(int level, std::int64_t x_level0, std::int64_t y_level0, int width, int height,
                           core::RgbImage& out) const = 0;

  // Level whose downsample is the largest one not above `downsample` (so never coarser than asked).
  int best_level_for_downsample(double downsample) const;

 protected:
  SlideMetadata metadata_;
};

// The level with the largest downsample not above `downsample` * (1 + tolerance), i.e. never coarser than
// asked beyond the tolerance (the first such level on ties; level 0 when none). Analysis uses a rounding
// tolerance only; the viewer allows 1 %, where a level 1 % too coarse is invisible and 4x cheaper to read.
int level_for_downsample(const std::vector<LevelInfo>& levels, double downsample, double tolerance = 1e-6);

// The file extensions (lower case, no dot) of the whole-slide formats that the OpenSlide Karyon is built
// with (Debian 12: 3.4.1; DICOM and CZI need OpenSlide 4) reads, and of the plain images of the fallback.
// Batch looks for the first kind by default; the app's Open dialog offers both.
const std::vector<std::string>& whole_slide_extensions();
const std::vector<std::string>& plain_image_extensions();

// Like slide.read_region, but an area that cannot be decoded (core::DamagedRegion) is read around in
// blocks of `block` level px: blocks that still fail stay white and come back as level-0 rects (empty
// when nothing failed). Other errors still throw.
std::vector<core::Level0Rect> read_region_around_damage(const Slide& slide, int level, std::int64_t x_level0,
                                                        std::int64_t y_level0, int width, int height,
                                                        core::RgbImage& out, int block = 64);

// Largest width/height Karyon accepts: 10^7 px is 2.5 m at 0.25 µm/px; anything above is a
// corrupt header, and refusing it early avoids absurd allocations later.
inline constexpr std::int64_t kMaxSlideDimension = 10'000'000;

}  // namespace karyon::tiling
