#include "karyon/postprocess/mask_paste.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace karyon::postprocess {

PlacedMask paste_mask(const float* probs, int M, const Box& box, double threshold, const core::Level0Rect& clip) {
  PlacedMask out;
  if (M <= 0 || probs == nullptr) return out;
  const double scale = static_cast<double>(M + 2) / M;
  const double w_half = (box.x1 - box.x0) * 0.5 * scale, h_half = (box.y1 - box.y0) * 0.5 * scale;
  const double xc = (box.x1 + box.x0) * 0.5, yc = (box.y1 + box.y0) * 0.5;
  // Truncation toward zero, as torchvision's .to(torch.int64).
  const auto bx0 = static_cast<std::int64_t>(xc - w_half), by0 = static_cast<std::int64_t>(yc - h_half);
  const auto bx1 = static_cast<std::int64_t>(xc + w_half), by1 = static_cast<std::int64_t>(yc + h_half);
  const std::int64_t w = std::max<std::int64_t>(bx1 - bx0 + 1, 1), h = std::max<std::int64_t>(by1 - by0 + 1, 1);
  const core::Level0Rect placed = core::Level0Rect{bx0, by0, w, h}.intersect(clip);
  out.x = placed.x;
  out.y = placed.y;
  if (placed.empty() || w > 1 << 15 || h > 1 << 15) return out;

  cv::Mat padded = cv::Mat::zeros(M + 2, M + 2, CV_32F);
  cv::Mat(M, M, CV_32F, const_cast<float*>(probs)).copyTo(padded(cv::Rect(1, 1, M, M)));
  // OpenCV's INTER_LINEAR maps pixel centres like PyTorch's bilinear with align_corners=False (both ways).
  cv::Mat resized;
  cv::resize(padded, resized, cv::Size(static_cast<int>(w), static_cast<int>(h)), 0, 0, cv::INTER_LINEAR);
  out.mask = core::Mask(static_cast<int>(placed.width), static_cast<int>(placed.height));
  for (int y = 0; y < out.mask.height; ++y) {
    const float* row = resized.ptr<float>(static_cast<int>(placed.y - by0 + y)) + (placed.x - bx0);
    for (int x = 0; x < out.mask.width; ++x)
      if (row[x] > threshold) {
        out.mask.at(x, y) = 255;
        ++out.area;
      }
  }
  return out;
}

std::optional<core::Point> mask_centroid(const PlacedMask& m) {
  double sx = 0, sy = 0;
  std::int64_t n = 0;
  for (int y = 0; y < m.mask.height; ++y)
    for (int x = 0; x < m.mask.width; ++x)
      if (m.mask.at(x, y)) sx += x, sy += y, ++n;
  if (n == 0) return std::nullopt;
  return core::Point{static_cast<double>(m.x) + sx / n + 0.5, static_cast<double>(m.y) + sy / n + 0.5};
}

}  // namespace karyon::postprocess
