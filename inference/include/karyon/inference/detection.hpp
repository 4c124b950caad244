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
#include "karyon/core/detection.hpp"

namespace karyon::inference {

// The engine's output type is core's, so postprocess consumes it without knowing LibTorch.
using Detection = core::Detection;

}  // namespace karyon::inference
