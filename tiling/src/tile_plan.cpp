#include "karyon/tiling/tile_plan.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "karyon/core/errors.hpp"

namespace karyon::tiling {
using core::AnalysisRect;
using core::InvalidArgument;
using core::Level0Rect;

namespace {
std::string fmt(double v) {
  std::ostringstream s;
  s.precision(4);
  s << v;
  return s.str();
}
}  // namespace

AnalysisResolution resolve_resolution(const Slide& slide, double target_mpp, std::optional<double> user_mpp) {
  const auto& m = slide.metadata();
  if (!(target_mpp > 0.01 && target_mpp < 100))
    throw InvalidArgument("target µm/px " + fmt(target_mpp) + " is not plausible");
  AnalysisResolution r;
  r.target_mpp = target_mpp;
  if (user_mpp) {
    if (!(*user_mpp > 0.01 && *user_mpp < 100))
      throw InvalidArgument("--mpp " + fmt(*user_mpp) + " is not plausible (expected e.g. 0.25 for 40x, 0.5 for 20x)");
    r.slide_mpp_x = r.slide_mpp_y = *user_mpp;
    r.mpp_source = "--mpp";
    if (m.mpp_x && std::abs(*m.mpp_x - *user_mpp) > 0.1 * *m.mpp_x)
      r.warnings.push_back("--mpp " + fmt(*user_mpp) + " disagrees with the file's " + fmt(*m.mpp_x) + " µm/px (" +
                           m.mpp_source + "); using --mpp");
  } else if (m.mpp_x && m.mpp_y) {
    r.slide_mpp_x = *m.mpp_x;
    r.slide_mpp_y = *m.mpp_y;
    r.mpp_source = m.mpp_source;
  } else {
    throw InvalidArgument(slide.path().string() +
                          ": the slide does not say its resolution (µm/px); pass --mpp, e.g. --mpp 0.25 for a 40x "
                          "scan or --mpp 0.5 for 20x");
  }
  r.scale_x = target_mpp / r.slide_mpp_x;
  r.scale_y = target_mpp / r.slide_mpp_y;
  const double finest_needed = std::min(r.scale_x, r.scale_y);
  r.read_level = slide.best_level_for_downsample(finest_needed);
  r.read_downsample = m.levels[r.read_level].downsample;
  if (finest_needed < 0.9)
    r.warnings.push_back("the slide (" + fmt(r.slide_mpp_x) + " µm/px) is coarser than the model's " + fmt(target_mpp) +
                         " µm/px: tiles are upsampled " + fmt(1 / finest_needed) + "x, expect lower accuracy");
  return r;
}

int default_overlap(double target_mpp) {
  constexpr double kLargestNucleusDiameterUm = 24.0;
  const int px = static_cast<int>(std::ceil(kLargestNucleusDiameterUm / target_mpp));
  return px + (px % 2);
}

Level0Rect TilePlan::to_level0(const AnalysisRect& r) const {
  const double sx = resolution.scale_x, sy = resolution.scale_y;
  const auto x0 = static_cast<std::int64_t>(std::floor(r.x * sx)), y0 = static_cast<std::int64_t>(std::floor(r.y * sy));
  const auto x1 = static_cast<std::int64_t>(std::ceil(r.right() * sx)), y1 = static_cast<std::int64_t>(std::ceil(r.bottom() * sy));
  return Level0Rect{x0, y0, x1 - x0, y1 - y0};
}

std::int64_t TilePlan::owner_id(std::int64_t x, std::int64_t y) const {
  // Core c spans [extent.x + c*stride + overlap/2, +stride), the first starting at extent.x.
  auto index = [&](std::int64_t v, std::int64_t origin, std::int64_t n) {
    const std::int64_t i = (v - origin - overlap / 2) >= 0 ? (v - origin - overlap / 2) / stride : 0;
    return std::clamp<std::int64_t>(i, 0, n - 1);
  };
  return index(y, extent.y, rows) * cols + index(x, extent.x, cols);
}

TilePlan plan_tiles(const Slide& slide, const AnalysisResolution& resolution, const TissueMask* tissue,
                    const TilePlanOptions& options) {
  const auto& m = slide.metadata();
  TilePlan plan;
  plan.resolution = resolution;
  plan.tile_size = options.tile_size;
  plan.overlap = options.overlap < 0 ? default_overlap(resolution.target_mpp) : options.overlap;
  if (plan.tile_size < 64 || plan.tile_size > 8192)
    throw InvalidArgument("tile size " + std::to_string(plan.tile_size) + " must be within 64..8192 px");
  if (plan.overlap % 2 != 0 || plan.overlap >= plan.tile_size / 2)
    throw InvalidArgument("overlap " + std::to_string(plan.overlap) + " must be even and below half the tile size (" +
                          std::to_string(plan.tile_size / 2) + ")");
  plan.stride = plan.tile_size - plan.overlap;

  Level0Rect region{0, 0, m.width(), m.height()};
  if (options.region) {
    const Level0Rect clipped = options.region->intersect(region);
    if (clipped.empty())
      throw InvalidArgument("region " + std::to_string(options.region->x) + "," + std::to_string(options.region->y) +
                            "," + std::to_string(options.region->width) + "," + std::to_string(options.region->height) +
                            " does not intersect the slide (" + std::to_string(m.width()) + " x " +
                            std::to_string(m.height()) + " level-0 px)");
    region = clipped;
  }
  const auto ax0 = static_cast<std::int64_t>(std::floor(region.x / resolution.scale_x));
  const auto ay0 = static_cast<std::int64_t>(std::floor(region.y / resolution.scale_y));
  const auto ax1 = static_cast<std::int64_t>(std::ceil(region.right() / resolution.scale_x));
  const auto ay1 = static_cast<std::int64_t>(std::ceil(region.bottom() / resolution.scale_y));
  plan.extent = AnalysisRect{ax0, ay0, std::max<std::int64_t>(1, ax1 - ax0), std::max<std::int64_t>(1, ay1 - ay0)};

  auto count = [&](std::int64_t length) {
    return length <= plan.tile_size ? std::int64_t{1} : (length - plan.tile_size + plan.stride - 1) / plan.stride + 1;
  };
  plan.cols = count(plan.extent.width);
  plan.rows = count(plan.extent.height);
  plan.grid_tiles = plan.cols * plan.rows;

  // Integral image of the tissue mask: "any tissue under this core?" in O(1) per tile.
  cv::Mat integral;
  if (tissue && options.tissue_only) {
    cv::Mat mask(tissue->mask.height, tissue->mask.width, CV_8UC1, const_cast<std::uint8_t*>(tissue->mask.pixels.data()));
    cv::Mat binary = mask / 255;
    cv::integral(binary, integral, CV_32S);
  }
  auto has_tissue = [&](const AnalysisRect& core) {
    if (integral.empty()) return true;
    const Level0Rect l0 = plan.to_level0(core);
    const int mw = tissue->mask.width, mh = tissue->mask.height;
    const int x0 = std::clamp(static_cast<int>(std::floor(l0.x / tissue->downsample)), 0, mw);
    const int y0 = std::clamp(static_cast<int>(std::floor(l0.y / tissue->downsample)), 0, mh);
    const int x1 = std::clamp(static_cast<int>(std::ceil(l0.right() / tissue->downsample)), 0, mw);
    const int y1 = std::clamp(static_cast<int>(std::ceil(l0.bottom() / tissue->downsample)), 0, mh);
    if (x1 <= x0 || y1 <= y0) return false;
    const int sum = integral.at<int>(y1, x1) - integral.at<int>(y0, x1) - integral.at<int>(y1, x0) + integral.at<int>(y0, x0);
    return sum > 0;
  };

  const std::int64_t half = plan.overlap / 2;
  for (std::int64_t row = 0; row < plan.rows; ++row) {
    for (std::int64_t col = 0; col < plan.cols; ++col) {
      Tile t;
      t.id = row * plan.cols + col;
      t.col = col;
      t.row = row;
      t.rect = AnalysisRect{plan.extent.x + col * plan.stride, plan.extent.y + row * plan.stride, plan.tile_size,
                            plan.tile_size};
      const std::int64_t cx0 = col == 0 ? plan.extent.x : t.rect.x + half;
      const std::int64_t cy0 = row == 0 ? plan.extent.y : t.rect.y + half;
      const std::int64_t cx1 = col == plan.cols - 1 ? plan.extent.right() : t.rect.x + half + plan.stride;
      const std::int64_t cy1 = row == plan.rows - 1 ? plan.extent.bottom() : t.rect.y + half + plan.stride;
      t.core = AnalysisRect{cx0, cy0, cx1 - cx0, cy1 - cy0};
      if (has_tissue(t.core)) plan.tiles.push_back(t);
    }
  }
  return plan;
}

void TileReader::read(const Tile& tile, core::RgbImage& out) const {
  const auto& res = plan_.resolution;
  const double ds = res.read_downsample;
  // Level-0 origin and extent of the tile (exact, fractional), then the level pixels covering it.
  const double x0 = tile.rect.x * res.scale_x, y0 = tile.rect.y * res.scale_y;
  const double fx = res.scale_x / ds, fy = res.scale_y / ds;  // level pixels per analysis pixel
  const int T = plan_.tile_size;
  if (std::abs(fx - 1.0) < 1e-6 && std::abs(fy - 1.0) < 1e-6) {
    slide_.read_region(res.read_level, static_cast<std::int64_t>(std::llround(x0)),
                       static_cast<std::int64_t>(std::llround(y0)), T, T, out);
    return;
  }
  const auto lx = static_cast<std::int64_t>(std::floor(x0 / ds)), ly = static_cast<std::int64_t>(std::floor(y0 / ds));
  const int lw = static_cast<int>(std::ceil(x0 / ds + T * fx)) - static_cast<int>(lx) + 1;
  const int lh = static_cast<int>(std::ceil(y0 / ds + T * fy)) - static_cast<int>(ly) + 1;
  thread_local core::RgbImage level_pixels;
  slide_.read_region(res.read_level, static_cast<std::int64_t>(std::llround(lx * ds)),
                     static_cast<std::int64_t>(std::llround(ly * ds)), lw, lh, level_pixels);
  // Resample the whole read, then crop at the sub-pixel offset rounded to the nearest analysis pixel.
  const cv::Mat src(lh, lw, CV_8UC3, level_pixels.pixels.data());
  const cv::Size scaled(std::max(T, static_cast<int>(std::lround(lw / fx))), std::max(T, static_cast<int>(std::lround(lh / fy))));
  cv::Mat resized;
  cv::resize(src, resized, scaled, 0, 0, fx > 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int ox = std::clamp(static_cast<int>(std::lround((x0 / ds - lx) / fx)), 0, resized.cols - T);
  const int oy = std::clamp(static_cast<int>(std::lround((y0 / ds - ly) / fy)), 0, resized.rows - T);
  out.resize(T, T);
  cv::Mat dst(T, T, CV_8UC3, out.pixels.data());
  resized(cv::Rect(ox, oy, T, T)).copyTo(dst);
}

}  // namespace karyon::tiling
