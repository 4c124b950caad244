#pragma once
// Compares Karyon detections with torchvision's (or with each other).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "karyon/inference/detection.hpp"

namespace karyon::inference::test {

struct RefDet {
  float box[4];
  float score;
  int label;
  std::vector<std::uint8_t> mask;  // full image, 0/1
};

struct ParityStats {
  int ref = 0, ours = 0, matched = 0;
  double max_box_rel = 0, max_score_abs = 0, min_mask_iou = 1;
};

inline double box_iou(const float a[4], const float b[4]) {
  const double w = std::max(0.0, static_cast<double>(std::min(a[2], b[2]) - std::max(a[0], b[0])));
  const double h = std::max(0.0, static_cast<double>(std::min(a[3], b[3]) - std::max(a[1], b[1])));
  const double i = w * h;
  const double u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i;
  return u > 0 ? i / u : (i == 0 && a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] ? 1.0 : 0.0);
}

inline std::vector<std::uint8_t> full_mask(const Detection& d, int w, int h) {
  std::vector<std::uint8_t> m(static_cast<std::size_t>(w) * h, 0);
  for (int y = 0; y < d.mask.height; ++y)
    for (int x = 0; x < d.mask.width; ++x)
      if (d.mask.at(x, y)) {
        const int X = d.mask_x + x, Y = d.mask_y + y;
        if (X >= 0 && X < w && Y >= 0 && Y < h) m[static_cast<std::size_t>(Y) * w + X] = 1;
      }
  return m;
}

inline double mask_iou(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t i = 0, u = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    i += (a[k] && b[k]);
    u += (a[k] || b[k]);
  }
  return u == 0 ? 1.0 : static_cast<double>(i) / static_cast<double>(u);
}

// Greedy one-to-one matching on (label, best box IoU); then the tolerances:
// boxes within 1e-3 relative, scores within 1e-4, mask IoU >= 0.99.
inline ParityStats compare(const std::vector<RefDet>& ref, const std::vector<Detection>& ours, int w, int h,
                           const std::string& what) {
  ParityStats s;
  s.ref = static_cast<int>(ref.size());
  s.ours = static_cast<int>(ours.size());
  std::vector<char> used(ours.size(), 0);
  for (const auto& r : ref) {
    int best = -1;
    double best_iou = -1;
    for (std::size_t k = 0; k < ours.size(); ++k) {
      if (used[k] || ours[k].label != r.label) continue;
      const float b[4] = {ours[k].x0, ours[k].y0, ours[k].x1, ours[k].y1};
      const double iou = box_iou(r.box, b) - 1e-3 * std::abs(ours[k].score - r.score);
      if (iou > best_iou) best_iou = iou, best = static_cast<int>(k);
    }
    if (best < 0) continue;
    const Detection& d = ours[static_cast<std::size_t>(best)];
    const float b[4] = {d.x0, d.y0, d.x1, d.y1};
    double rel = 0;
    for (int c = 0; c < 4; ++c)
      rel = std::max(rel, std::abs(static_cast<double>(b[c]) - r.box[c]) / std::max(1.0, std::abs(static_cast<double>(r.box[c]))));
    const double sd = std::abs(static_cast<double>(d.score) - r.score);
    const double mi = mask_iou(full_mask(d, w, h), r.mask);
    if (rel <= 1e-3 && sd <= 1e-4 && mi >= 0.99) {
      used[static_cast<std::size_t>(best)] = 1;
      ++s.matched;
    }
    s.max_box_rel = std::max(s.max_box_rel, rel);
    s.max_score_abs = std::max(s.max_score_abs, sd);
    s.min_mask_iou = std::min(s.min_mask_iou, mi);
  }
  std::printf("[parity] %s: ref %d ours %d matched %d | max box rel diff %.3g, max score diff %.3g, min mask IoU %.4f\n",
              what.c_str(), s.ref, s.ours, s.matched, s.max_box_rel, s.max_score_abs, s.min_mask_iou);
  return s;
}

}  // namespace karyon::inference::test
