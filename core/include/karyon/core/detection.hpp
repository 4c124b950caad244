#pragma once
// One object detected in one tile, as the inference engine returns it and postprocess consumes it.
//
// Coordinate frame: tile pixels of the tile that was given to the model, x to the right, y down.
// The box uses torchvision's continuous convention: pixel (i, j) covers [i, i+1) x [j, j+1). The
// mask is the mask head's output pasted at tile resolution, thresholded, and cropped: pixel (mx, my)
// of `mask` is tile pixel (mask_x + mx, mask_y + my).
#include <cstdint>
#include <vector>

#include "karyon/core/image.hpp"

namespace karyon::core {

struct Detection {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // box, tile pixels
  float score = 0;                      // class probability of `label`, 0..1
  int label = 0;                        // index into the model card's class_names (0 = background, never returned)
  int mask_x = 0;                       // tile pixel of mask(0, 0)
  int mask_y = 0;
  Mask mask;                            // 255 inside, 0 outside; 0x0 when the box is outside the tile, or
                                        // when the engine was asked for mask_probs only
  std::int64_t mask_area = 0;           // number of 255 pixels in `mask`
  // The mask head's own output for this box: M x M probabilities (row-major) over the box as
  // torchvision's paste_masks_in_image maps them. Lets postprocess paste the mask at another
  // resolution (the slide's level 0) instead of scaling the tile-resolution staircase.
  int mask_probs_size = 0;              // M (0: not available)
  std::vector<float> mask_probs;        // M * M values in [0, 1]
};

}  // namespace karyon::core
