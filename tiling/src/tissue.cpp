// Tissue detection on a thumbnail. H&E tissue is coloured (saturated) and darker than glass; glass,
// dust and the slide label area are grey and bright. Otsu on saturation adapts to the stain
// strength, the floor keeps a blank slide from being "half tissue".
#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/tile_plan.hpp"

namespace karyon::tiling {

double TissueMask::tissue_fraction() const {
  if (mask.pixels.empty()) return 0;
  const auto on = std::count_if(mask.pixels.begin(), mask.pixels.end(), [](std::uint8_t v) { return v != 0; });
  return static_cast<double>(on) / static_cast<double>(mask.pixels.size());
}

core::RgbImage read_thumbnail(const Slide& slide, int max_side, double& downsample, core::Mask* damaged) {
  const auto& m = slide.metadata();
  downsample = std::max(1.0, static_cast<double>(std::max(m.width(), m.height())) / max_side);
  const int out_w = std::max<int>(1, static_cast<int>(std::ceil(m.width() / downsample)));
  const int out_h = std::max<int>(1, static_cast<int>(std::ceil(m.height() / downsample)));
  const int level = slide.best_level_for_downsample(downsample);
  const double level_ds = m.levels[level].downsample;
  const double f = downsample / level_ds;  // level pixels per thumbnail pixel
  const auto level_w = m.levels[level].width;

  core::RgbImage thumb(out_w, out_h);
  core::Mask damaged_here;
  core::Mask& damage = damaged ? *damaged : damaged_here;
  damage = core::Mask(out_w, out_h);
  cv::Mat thumb_mat(out_h, out_w, CV_8UC3, thumb.pixels.data());
  // Strips of thumbnail rows keep memory bounded even when the coarsest level is huge.
  const int strip_rows = std::max(1, static_cast<int>(4096.0 * 1024 / (static_cast<double>(level_w) * f + 1)));
  core::RgbImage strip;
  for (int r0 = 0; r0 < out_h; r0 += strip_rows) {
    const int r1 = std::min(out_h, r0 + strip_rows);
    const auto ly0 = static_cast<std::int64_t>(std::floor(r0 * f));
    const auto ly1 = std::max<std::int64_t>(ly0 + 1, static_cast<std::int64_t>(std::ceil(r1 * f)));
    const int lw = static_cast<int>(std::min<std::int64_t>(level_w, static_cast<std::int64_t>(std::ceil(out_w * f))));
    const auto holes = read_region_around_damage(slide, level, 0, static_cast<std::int64_t>(std::llround(ly0 * level_ds)),
                                                 lw, static_cast<int>(ly1 - ly0), strip, 256);
    for (const auto& h : holes) {  // level-0 rect -> thumbnail pixels
      const int c0 = std::max(0, static_cast<int>(std::floor(h.x / downsample)));
      const int c1 = std::min(out_w, static_cast<int>(std::ceil(h.right() / downsample)));
      const int t0 = std::max(0, static_cast<int>(std::floor(h.y / downsample)));
      const int t1 = std::min(out_h, static_cast<int>(std::ceil(h.bottom() / downsample)));
      for (int y = t0; y < t1; ++y)
        for (int x = c0; x < c1; ++x) damage.at(x, y) = 255;
    }
    cv::Mat src(strip.height, strip.width, CV_8UC3, strip.pixels.data());
    cv::Mat dst = thumb_mat.rowRange(r0, r1);
    cv::resize(src, dst, dst.size(), 0, 0, f > 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  return thumb;
}

TissueMask detect_tissue(const Slide& slide, const TissueOptions& options) {
  TissueMask result;
  core::Mask damaged;
  const core::RgbImage thumb = read_thumbnail(slide, options.thumbnail_max_side, result.downsample, &damaged);
  cv::Mat rgb(thumb.height, thumb.width, CV_8UC3, const_cast<std::uint8_t*>(thumb.pixels.data()));
  cv::Mat hsv;
  cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
  cv::Mat channels[3];
  cv::split(hsv, channels);
  cv::Mat saturation = channels[1];
  cv::Mat gray;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);

  cv::Mat otsu;
  const double t = cv::threshold(saturation, otsu, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  const double sat_threshold = std::max<double>(t, options.min_saturation);
  cv::Mat mask = (saturation > sat_threshold) & (gray < options.max_brightness);

  // Close small gaps (lumen, fat) and drop specks; kernel sizes in thumbnail pixels relative to its size.
  const int k = std::max(3, (std::max(thumb.width, thumb.height) / 200) | 1);
  cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, {k, k}));
  cv::morphologyEx(mask, mask, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3}));
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
  const int min_area = std::max(4, k * k / 2);
  for (int i = 1; i < n; ++i)
    if (stats.at<int>(i, cv::CC_STAT_AREA) < min_area) mask.setTo(0, labels == i);
  // Grow by one thumbnail pixel so nuclei on the tissue edge still fall in planned tiles.
  cv::dilate(mask, mask, cv::getStructuringElement(cv::MORPH_RECT, {3, 3}));

  // Areas that could not be decoded count as tissue: their tiles are planned, and the tile reader
  // decides (a coarser level, or the tile left out and reported).
  cv::Mat damaged_mat(damaged.height, damaged.width, CV_8UC1, damaged.pixels.data());
  mask |= damaged_mat;
  result.mask = core::Mask(thumb.width, thumb.height);
  std::copy(mask.datastart, mask.dataend, result.mask.pixels.begin());
  return result;
}

}  // namespace karyon::tiling
