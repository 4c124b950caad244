#pragma once
// From a nucleus mask in level-0 pixels to a measured nucleus: mask → polygon (largest component,
// holes kept, simplified within half a pixel), measurements in µm from the same component, stain
// densities from the analysis-resolution pixels the model saw.
//
// Thread-safety: pure functions. Errors: none thrown for empty masks (they yield std::nullopt).
#include <cstdint>
#include <optional>
#include <string>

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

// Pixels at the analysis resolution that a mask in level-0 pixels is measured against: image pixel
// (0, 0) is analysis pixel (x, y); level-0 pixel u lies in analysis pixel floor((u + 0.5) / scale).
struct SourcePixels {
  const core::RgbImage* image = nullptr;
  std::int64_t x = 0;
  std::int64_t y = 0;
};

// Area, perimeter, shape and mean haematoxylin/eosin optical density (Ruifrok-Johnston colour
// deconvolution) of the largest component of `mask`, whose pixel (mx, my) is level-0 pixel
// (mask_x + mx, mask_y + my). Lengths use the level-0 µm/px (frame.analysis_mpp / scale).
core::Measurements measure(const core::Mask& mask, std::int64_t mask_x, std::int64_t mask_y, const SourcePixels& pixels,
                           const Frame& frame);

// Same, for a mask in the pixels of `tile` itself (analysis = level 0, µm/px `analysis_mpp`).
core::Measurements measure(const core::Mask& mask, int mask_x, int mask_y, const core::RgbImage& tile,
                           double analysis_mpp);

// The whole step for one nucleus mask in level-0 pixels; std::nullopt when the mask is empty.
std::optional<core::Nucleus> build_nucleus(const core::Mask& mask, std::int64_t mask_x, std::int64_t mask_y,
                                           const SourcePixels& pixels, const Frame& frame, float score,
                                           std::int64_t tile_id, const std::string& class_name = "Nucleus");

// ---- Outlines drawn or edited by hand (the review app) -------------------------------------------

// Largest side, level-0 px, of an outline rasterize_outline() takes: generous for a nucleus at any
// scan resolution, small enough that a slip of the mouse cannot ask for a gigapixel mask.
inline constexpr double kMaxOutlineSide = 4096;

// A level-0 polygon as a mask: mask pixel (mx, my) is level-0 pixel (x + mx, y + my), 255 when its
// centre lies inside the polygon (even-odd over the outer ring and the holes, so holes are cut out;
// half-open, so an axis-aligned W x H rectangle covers exactly W x H pixels whatever its offset).
// Empty mask for fewer than 3 points. Throws core::InvalidArgument for a non-finite coordinate or a
// side beyond kMaxOutlineSide.
struct RasterizedOutline {
  core::Mask mask;
  std::int64_t x = 0;
  std::int64_t y = 0;
};
RasterizedOutline rasterize_outline(const core::Polygon& level0);

// Measures a nucleus outlined in level-0 pixels (drawn by hand, or with its vertices dragged) with
// the code that measures detections: `level0` is rasterised (rasterize_outline) and its largest
// component measured as measure() does, with pixels of mpp_x x mpp_y µm (0 when unknown: lengths
// and areas 0, shape ratios still right). Mean H/E optical density comes from `level0_pixels`, RGB
// at LEVEL 0 (image pixel (0, 0) is level-0 pixel (x, y); pixels outside it are left out, a null
// image leaves both 0) — a detection's come from the analysis-resolution pixels the model saw, so
// the two can differ by the resampling. The outline is kept as given (not re-traced); bbox from it,
// centroid of the measured pixels (as build_nucleus), the vertex mean when it covers no pixel
// centre. id, uuid, tile, score, class and state of `n` are kept. Throws as rasterize_outline().
core::Nucleus measure_outline(core::Nucleus n, const core::Polygon& level0, double mpp_x, double mpp_y,
                              const SourcePixels& level0_pixels = {});

}  // namespace karyon::postprocess
