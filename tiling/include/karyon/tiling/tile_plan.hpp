#pragma once
// Resolution choice, tissue detection and the tile plan: which tiles of a slide the model sees, at
// which resolution, and which part of each tile ("core") owns the nuclei whose centroid falls in it.
//
// Frames: a tile's rect and core are AnalysisRect (pixels at the model's µm/px); convert with
// TilePlan::to_level0(). Cores partition the planned extent; rect = core grown by overlap/2 on
// inner sides, so a nucleus smaller than the overlap is whole in the tile that owns it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "karyon/core/geometry.hpp"
#include "karyon/core/image.hpp"
#include "karyon/core/tile.hpp"
#include "karyon/tiling/slide.hpp"

namespace karyon::tiling {

struct AnalysisResolution {
  double target_mpp = 0.5;  // µm per analysis pixel (the model's)
  double slide_mpp_x = 0;   // µm per level-0 pixel as used (from the file or the user)
  double slide_mpp_y = 0;
  std::string mpp_source;   // "openslide.mpp-x/y", "--mpp", ...
  double scale_x = 1;       // level-0 pixels per analysis pixel
  double scale_y = 1;
  int read_level = 0;       // pyramid level tiles are read from (then resampled)
  double read_downsample = 1;
  std::vector<std::string> warnings;  // e.g. upsampling, --mpp disagreeing with the file
};

// Picks how to reach `target_mpp` on this slide. Throws InvalidArgument when the slide has no µm/px
// and `user_mpp` is not given (Karyon never guesses: a 20x slide read as 40x doubles every area).
AnalysisResolution resolve_resolution(const Slide& slide, double target_mpp, std::optional<double> user_mpp);

// Tissue mask on a low-resolution thumbnail: mask pixel (i, j) covers level-0 pixels
// [i*downsample, (i+1)*downsample) in x and likewise in y.
struct TissueMask {
  core::Mask mask;
  double downsample = 1;
  double tissue_fraction() const;
};

struct TissueOptions {
  int thumbnail_max_side = 2048;
  int min_saturation = 20;  // 0..255; Otsu's threshold is never allowed below this
  int max_brightness = 235; // mean RGB above this is glass, whatever the saturation
};

// Reads a thumbnail whose longer side is at most `max_side`, in constant memory (strips), from the
// best pyramid level. `downsample` receives level-0 pixels per thumbnail pixel. Areas that cannot be
// decoded (core::DamagedRegion) come back white and, if `damaged` is given, marked there (255).
core::RgbImage read_thumbnail(const Slide& slide, int max_side, double& downsample, core::Mask* damaged = nullptr);

// Saturation/brightness threshold (Otsu, floored) + morphology + small-component removal.
TissueMask detect_tissue(const Slide& slide, const TissueOptions& options = {});

using core::Tile;

struct TilePlanOptions {
  int tile_size = 512;     // analysis pixels
  int overlap = -1;        // analysis pixels; -1 = default_overlap(target_mpp)
  std::optional<core::Level0Rect> region;  // plan only this part of the slide
  bool tissue_only = true;
  // Tile origins are multiples of this many analysis px from the slide origin (the network's P5 stride),
  // so the same tissue meets the same feature grid in every plan; the overlap is rounded up to fit.
  int grid_align = 32;
};

// Overlap covering the largest nucleus diameter (~24 µm with margin), rounded up to an even number.
int default_overlap(double target_mpp);

struct TilePlan {
  AnalysisResolution resolution;
  int tile_size = 0;
  int overlap = 0;              // as used: the request rounded up so that the stride fits the grid
  int stride = 0;
  std::int64_t origin_x = 0;    // rect origin of column 0 / row 0 (on the global grid; may precede the extent)
  std::int64_t origin_y = 0;
  std::int64_t cols = 0;
  std::int64_t rows = 0;
  core::AnalysisRect extent;  // the planned area (whole slide or region), analysis pixels
  std::int64_t grid_tiles = 0;  // cols * rows, before dropping background tiles
  std::vector<Tile> tiles;      // row-major order, tissue tiles only (unless tissue_only=false)

  core::Level0Rect to_level0(const core::AnalysisRect& r) const;
  // Tile id owning an analysis-pixel position inside the extent (whatever its tissue status).
  std::int64_t owner_id(std::int64_t x, std::int64_t y) const;
};

// Throws InvalidArgument for tile_size < 64, overlap < 0 or >= tile_size/2 (also after rounding to the
// grid), or a region outside the slide.
TilePlan plan_tiles(const Slide& slide, const AnalysisResolution& resolution, const TissueMask* tissue,
                    const TilePlanOptions& options);

// Reads tiles at the analysis resolution (resampled from resolution.read_level). Thread-safe.
class TileReader {
 public:
  TileReader(const Slide& slide, const TilePlan& plan) : slide_(slide), plan_(plan) {}
  // `out` becomes tile_size x tile_size RGB; outside the slide is white. Throws SlideError
  // (core::DamagedRegion when only this area cannot be decoded).
  void read(const Tile& tile, core::RgbImage& out) const;
  // The same tile resampled from another pyramid level (e.g. a coarser one around a damaged area). With
  // `holes`, areas that cannot be decoded are left white and added there (level-0 rects) instead of thrown.
  void read_at_level(const Tile& tile, core::RgbImage& out, int level,
                     std::vector<core::Level0Rect>* holes = nullptr) const;

 private:
  const Slide& slide_;
  const TilePlan& plan_;
};

}  // namespace karyon::tiling
