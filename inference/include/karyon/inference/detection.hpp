#pragma once
// One detected object (a nucleus) in one tile. Plain std types only: the pipeline and postprocess
// never see LibTorch.
//
// Coordinate frame: tile pixels of the tile that was given to the model, x to the right, y down.
// The box uses torchvision's continuous convention: pixel (i, j) covers [i, i+1) x [j, j+1), so a box
// (x0, y0, x1, y1) spans x0 <= x < x1. The mask is the mask head's output pasted at tile resolution
// exactly as torchvision's paste_masks_in_image does, thresholded, and cropped to the smallest
// rectangle that can hold it (the expanded, integer box clipped to the tile): pixel (mx, my) of
// `mask` is tile pixel (mask_x + mx, mask_y + my).
#include <cstdint>
#include <vector>

#include "karyon/core/image.hpp"

namespace karyon::inference {

struct Detection {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // box, tile pixels
  float score = 0;                      // class probability of `label` (softmax), 0..1
  int label = 0;                        // index into the model card's class_names (0 = background, never returned)
  int mask_x = 0;                       // tile pixel of mask(0, 0)
  int mask_y = 0;
  core::Mask mask;                      // 255 inside the object, 0 outside; may be 0x0 when the box is outside the tile
  std::int64_t mask_area = 0;           // number of 255 pixels in `mask`
};

// Results for one tile, in the model's output order (descending score).
struct TileDetections {
  std::int64_t tile_id = 0;
  std::vector<Detection> detections;
};

}  // namespace karyon::inference
