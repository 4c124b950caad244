#pragma once
// Test-time flips: the model also sees the tile mirrored (left-right; then up-down and both), the detections of
// each view are mapped back to the tile, and the views are fused into one list. Plain std types: this runs on the
// host after the forward pass, whatever the device.
//
// Fusion, the same rule as tools/train/tta.py (where the choice was measured): all views' detections, highest
// score first (ties: lower view, then lower index), are grouped greedily by box IoU > `iou`, at most one member
// per view. A group's score is the sum of its members' scores divided by the number of views (a nucleus seen in
// one view of four keeps a quarter of its score), its box the mean box, and its mask the mean of the members'
// mask probabilities, each resampled onto the mean box (bilinear; zero outside a member's box).
#include <vector>

#include "karyon/core/detection.hpp"

namespace karyon::inference {

// The measured configuration (tools/train/tta.py, docs/MODEL_CARD.md): views keep detections above this score, and
// detections of different views are one nucleus above this box IoU.
constexpr double kTestTimeFlipViewScore = 0.05;
constexpr double kTestTimeFlipIou = 0.5;

struct FlipView {
  bool flip_x = false;  // mirrored left-right
  bool flip_y = false;  // mirrored up-down
};
// Views 0..n-1 of a run with n test-time flips (n = 1, 2 or 4).
FlipView flip_view(int index);

// Maps detections made on the flipped tile back to the tile's own frame: boxes and mask_probs mirrored.
// Pasted masks (Detection::mask) are not handled: fusion runs before pasting.
void unflip(std::vector<core::Detection>& detections, FlipView view, int width, int height);

// `views[v]`: the detections of view v, already unflipped. Returns the fused detections with a score above
// `score_threshold`, highest score first, at most `max_detections`.
std::vector<core::Detection> fuse_views(const std::vector<std::vector<core::Detection>>& views, double iou,
                                        double score_threshold, int max_detections);

}  // namespace karyon::inference
