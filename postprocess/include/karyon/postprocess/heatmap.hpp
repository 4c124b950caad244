#pragma once
// Nucleus density and mean nucleus area on a regular grid over the slide: the low-zoom overview a
// pathologist looks at first. Written as a PNG (colour-mapped density, for people) and as a small
// JSON grid (numbers, for programs).
#include <array>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "karyon/core/geometry.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::postprocess {

struct HeatmapGrid {
  double cell_um = 100;
  double cell_px_x = 0, cell_px_y = 0;  // level-0 pixels per cell
  int cols = 0, rows = 0;
  std::vector<double> density_per_mm2;  // row-major, cols * rows
  std::vector<double> mean_area_um2;    // 0 where a cell has no nucleus
  std::vector<std::uint8_t> no_data;    // 1: the cell was not analysed (a damaged tile left out)
};

// The empty grid (geometry only) over a width x height level-0 slide with µm/px mpp_x, mpp_y. Throws
// InvalidArgument for a cell that is not a finite size, smaller than a pixel or makes a grid above 16 Mcells;
// callers check it before the work whose result it maps.
HeatmapGrid heatmap_geometry(std::int64_t width, std::int64_t height, double mpp_x, double mpp_y, double cell_um);
// That grid, filled with the store's nuclei.
HeatmapGrid compute_heatmap(const ResultStore& store, std::int64_t width, std::int64_t height, double mpp_x,
                            double mpp_y, double cell_um);
// Marks the cells whose centre lies in `area` (level-0 px) as not analysed: a hole in the map rather
// than a density of zero.
void mark_no_data(HeatmapGrid& grid, const core::Level0Rect& area);
// The density at which the colour scale tops out: the 99th percentile of the cells that hold nuclei, so one
// crowded cell does not wash out the rest. 0 when no cell holds a nucleus.
double heatmap_scale_max(const HeatmapGrid& grid);
// One RGBA pixel per cell (row-major, bytes R, G, B, A): density on the inferno scale up to `scale_max`
// (cells above it at the top colour), alpha 0 where no nucleus, opaque grey where not analysed. What the
// PNG export and the app's overlay both draw.
std::vector<std::uint8_t> heatmap_rgba(const HeatmapGrid& grid, double scale_max);
// The scale's colour (R, G, B) at `fraction` of scale_max (clamped to [0, 1]), for legends.
std::array<std::uint8_t, 3> heatmap_scale_colour(double fraction);
// Both written to PATH.partial and renamed, so a file with the final name is always complete.
// PNG: heatmap_rgba() on white (no nucleus: white), enlarged to ~512 px. JSON: null where not analysed.
void write_heatmap_png(const HeatmapGrid& grid, const std::filesystem::path& path);
void write_heatmap_json(const HeatmapGrid& grid, const std::filesystem::path& path);

}  // namespace karyon::postprocess
