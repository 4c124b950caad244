#pragma once
// Synthetic H&E-like slides with nuclei of known shape and position: the built-in default input of
// the demo, and the input of tests and benchmarks. Written as a pyramidal tiled TIFF with JPEG
// tiles (OpenSlide's generic-tiff format, µm/px in the resolution tags), tile by tile from a
// procedural scene, so memory stays constant up to gigapixel sizes.
#include <cstdint>
#include <filesystem>
#include <optional>

#include "karyon/core/progress.hpp"

namespace karyon::tiling {

// Places extra nuclei across the tile edges, core borders and corners of this tile plan, where
// cross-tile merging is hardest.
struct BorderPlanGeometry {
  int tile_size = 512;   // analysis pixels
  int overlap = 64;      // analysis pixels
  double target_mpp = 0.5;
};

struct SynthOptions {
  std::int64_t width = 8192;   // level-0 pixels
  std::int64_t height = 6144;
  double mpp = 0.25;           // µm per level-0 pixel
  int tiff_tile = 256;
  int level_factor = 4;        // downsample between pyramid levels
  int jpeg_quality = 90;
  std::uint64_t seed = 1;
  double nucleus_density = 0.8;  // probability that a tissue cell holds a nucleus
  std::optional<BorderPlanGeometry> border_plan;
};

struct SynthResult {
  std::int64_t nuclei = 0;
  std::int64_t border_nuclei = 0;  // of which snapped onto tile/core borders
  int levels = 0;
};

// Writes `tiff_path` and the ground truth `geojson_path` (FeatureCollection, one Polygon per
// nucleus in level-0 pixels, properties.truth = {cx, cy, a, b, angle, border}).
// Throws InvalidArgument for bad options, OutputError when a file cannot be written (the partial
// file is removed). Progress is reported per TIFF tile row on the calling thread.
SynthResult write_synthetic_slide(const std::filesystem::path& tiff_path, const std::filesystem::path& geojson_path,
                                  const SynthOptions& options, const core::ProgressCallback& progress = {},
                                  const core::CancelToken* cancel = nullptr);

// Size of one nucleus cell of the scene (each cell holds at most one nucleus), in µm.
inline constexpr double kSynthCellUm = 32.0;
inline constexpr double kSynthMaxNucleusRadiusUm = 6.0;

}  // namespace karyon::tiling
