#pragma once
// From one detection in one tile to a measured nucleus in level-0 pixels: mask → polygon (largest
// component, holes kept, simplified within a pixel), measurements in µm, stain densities from the
// tile's pixels.
//
// Thread-safety: pure functions. Errors: none thrown for empty masks (they yield std::nullopt).
#include <optional>

#include "karyon/core/detection.hpp"
#include "karyon/core/image.hpp"
#include "karyon/core/nucleus.hpp"
#include "karyon/core/tile.hpp"

namespace karyon::postprocess {

// How analysis pixels map to level-0 pixels and µm.
struct Frame {
  double analysis_mpp = 0.5;  // µm per analysis pixel
  double scale_x = 1;         // level-0 pixels per analysis pixel
  double scale_y = 1;
};

// Traces the largest 8-connected component of `mask` (pixel (mx, my) at analysis pixel
// (origin_x + mx, origin_y + my)) into a polygon through the pixel corners, in analysis pixels,
// simplified with Douglas-Peucker within `tolerance` pixels. Empty when the mask is empty.
core::Polygon trace_mask(const core::Mask& mask, double origin_x, double origin_y, double tolerance = 0.5);

// Area, perimeter, shape and mean haematoxylin/eosin optical density (Ruifrok-Johnston colour
// deconvolution) of the mask's largest component. `tile` holds the pixels the mask was found in;
// (mask_x, mask_y) is the mask origin in tile pixels.
core::Measurements measure(const core::Mask& mask, int mask_x, int mask_y, const core::RgbImage& tile,
                           double analysis_mpp);

// The whole step for one detection of `tile`; std::nullopt when the mask is empty.
std::optional<core::Nucleus> build_nucleus(const core::Detection& det, const core::Tile& tile,
                                           const core::RgbImage& tile_pixels, const Frame& frame,
                                           const char* class_name = "Nucleus");

}  // namespace karyon::postprocess
