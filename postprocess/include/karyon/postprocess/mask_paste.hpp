#pragma once
// The mask head's M x M probabilities pasted into any pixel frame (the slide's level 0 in the pipeline),
// the way torchvision's paste_masks_in_image pastes them into the input image: pad by one pixel, grow the
// box by (M+2)/M about its centre, truncate it to integers, bilinear resize (align_corners=False),
// threshold. Pasting at level 0 rather than at the analysis resolution gives outlines at the slide's own
// resolution instead of a scaled staircase.
//
// Thread-safety: pure functions.
#include <cstdint>
#include <optional>

#include "karyon/core/geometry.hpp"
#include "karyon/core/image.hpp"
#include "karyon/core/nucleus.hpp"

namespace karyon::postprocess {

// A binary mask placed in a pixel frame: mask pixel (mx, my) is frame pixel (x + mx, y + my).
struct PlacedMask {
  core::Mask mask;  // 255 inside
  std::int64_t x = 0;
  std::int64_t y = 0;
  std::int64_t area = 0;  // pixels inside
};

// A box in continuous frame coordinates (pixel i covers [i, i+1)).
struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// `probs`: M x M row-major probabilities for `box`; pixels with probability > `threshold` are inside.
// The result is cropped to `clip` (in the same frame; Level0Rect because that is the frame the pipeline pastes into) and may be empty.
PlacedMask paste_mask(const float* probs, int M, const Box& box, double threshold, const core::Level0Rect& clip);

// Centroid of the mask's pixels (pixel centres), in frame coordinates; nullopt when empty.
std::optional<core::Point> mask_centroid(const PlacedMask& m);

}  // namespace karyon::postprocess
