#include "karyon/tiling/tile_plan.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "karyon/core/errors.hpp"
#include "karyon/core/stage_profile.hpp"

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
  // Core c >= 1 starts at origin + c*stride + overlap/2 (origin: the first tile's rect); core 0 at the extent.
  auto index = [&](std::int64_t v, std::int64_t origin, std::int64_t n) {
    const std::int64_t d = v - origin - overlap / 2;
    return std::clamp<std::int64_t>(d >= 0 ? d / stride : 0, 0, n - 1);
  };
  return index(y, origin_y, rows) * cols + index(x, origin_x, cols);
}

namespace {

// The first tile's rect origin: the grid of rect origins is global (multiples of `align` analysis
// pixels from the slide's origin, whatever the region), and the first core border above `start` has a
// rect starting on it.
std::int64_t grid_origin(std::int64_t start, std::int64_t half, std::int64_t align) {
  const std::int64_t v = start - half;
  return (v >= 0 ? v / align : -((-v + align - 1) / align)) * align;
}

}  // namespace

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
  // Tile origins on a global grid of `grid_align` px, so that a nucleus meets the network's feature grid
  // at the same phase in every plan; the overlap grows to what that stride leaves (at least the request).
  const int align = std::max(1, options.grid_align);
  plan.stride = (plan.tile_size - plan.overlap) / align * align;
  if (plan.stride < align || plan.tile_size - plan.stride >= plan.tile_size / 2 + (plan.tile_size % 2))
    throw InvalidArgument("tile size " + std::to_string(plan.tile_size) + " with overlap " + std::to_string(plan.overlap) +
                          ": tiles step by multiples of " + std::to_string(align) +
                          " px, which would leave an overlap of half the tile or more; use a larger tile or a smaller overlap");
  plan.overlap = plan.tile_size - plan.stride;

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

  const std::int64_t half = plan.overlap / 2;
  plan.origin_x = grid_origin(plan.extent.x, half, align);
  plan.origin_y = grid_origin(plan.extent.y, half, align);
  // Tile c's core ends at origin + half + (c+1)*stride (the last one at the extent's end).
  auto count = [&](std::int64_t origin, std::int64_t end) {
    return std::max<std::int64_t>(1, (end - origin - half + plan.stride - 1) / plan.stride);
  };
  plan.cols = count(plan.origin_x, plan.extent.right());
  plan.rows = count(plan.origin_y, plan.extent.bottom());
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

  for (std::int64_t row = 0; row < plan.rows; ++row) {
    for (std::int64_t col = 0; col < plan.cols; ++col) {
      Tile t;
      t.id = row * plan.cols + col;
      t.col = col;
      t.row = row;
      t.rect = AnalysisRect{plan.origin_x + col * plan.stride, plan.origin_y + row * plan.stride, plan.tile_size,
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

namespace {

// Where analysis pixel index i (global) samples an axis of the read buffer: `first` buffer index and
// weight of the next one. The source position is computed from i alone, so a pixel that two tiles (or
// two plans) share has the same value in both.
struct Tap {
  int first;
  float weight;
};
std::vector<Tap> taps(std::int64_t i0, int n, double f, std::int64_t j0) {
  std::vector<Tap> t(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    const double u = (static_cast<double>(i0 + k) + 0.5) * f - 0.5;  // pixel centres
    const double j = std::floor(u);
    t[static_cast<std::size_t>(k)] = {static_cast<int>(static_cast<std::int64_t>(j) - j0), static_cast<float>(u - j)};
  }
  return t;
}

}  // namespace

void TileReader::read(const Tile& tile, core::RgbImage& out) const { read_at_level(tile, out, plan_.resolution.read_level); }

void TileReader::read_at_level(const Tile& tile, core::RgbImage& out, int level,
                               std::vector<core::Level0Rect>* holes) const {
  const auto& res = plan_.resolution;
  auto read_level_region = [&](std::int64_t x0, std::int64_t y0, int w, int h, core::RgbImage& pixels) {
    if (!holes) return slide_.read_region(level, x0, y0, w, h, pixels);
    const auto found = read_region_around_damage(slide_, level, x0, y0, w, h, pixels);
    holes->insert(holes->end(), found.begin(), found.end());
  };
  const double ds = slide_.metadata().levels.at(static_cast<std::size_t>(level)).downsample;
  const double fx = res.scale_x / ds, fy = res.scale_y / ds;  // level pixels per analysis pixel
  const int T = plan_.tile_size;
  core::StageTimer read_time("read_decode");
  if (std::abs(fx - 1.0) < 1e-6 && std::abs(fy - 1.0) < 1e-6) {
    read_level_region(static_cast<std::int64_t>(std::llround(tile.rect.x * res.scale_x)),
                      static_cast<std::int64_t>(std::llround(tile.rect.y * res.scale_y)), T, T, out);
    return;
  }
  // Resampling on the slide's global grid: a box filter over k x k level pixels (blocks aligned to the
  // level's own grid, k = the nearest integer factor), then bilinear interpolation of the block means
  // at each analysis pixel's centre.
  const int kx = std::max(1, static_cast<int>(std::lround(fx))), ky = std::max(1, static_cast<int>(std::lround(fy)));
  const double gx = fx / kx, gy = fy / ky;  // block means per analysis pixel
  auto first_block = [](std::int64_t i, double g) {
    return static_cast<std::int64_t>(std::floor((static_cast<double>(i) + 0.5) * g - 0.5));
  };
  const std::int64_t bx0 = first_block(tile.rect.x, gx), by0 = first_block(tile.rect.y, gy);
  const std::int64_t bx1 = first_block(tile.rect.x + T - 1, gx) + 2, by1 = first_block(tile.rect.y + T - 1, gy) + 2;
  const int bw = static_cast<int>(bx1 - bx0), bh = static_cast<int>(by1 - by0);
  thread_local core::RgbImage level_pixels;
  read_level_region(static_cast<std::int64_t>(std::llround(static_cast<double>(bx0 * kx) * ds)),
                    static_cast<std::int64_t>(std::llround(static_cast<double>(by0 * ky) * ds)), bw * kx, bh * ky,
                    level_pixels);
  read_time.stop();
  core::StageTimer resample_time("resample");
  // Block means in float (INTER_AREA at an integer factor is the exact k x k mean), so the bilinear
  // step below works on unrounded values.
  const cv::Mat level_mat(bh * ky, bw * kx, CV_8UC3, level_pixels.pixels.data());
  thread_local cv::Mat level_f, block_mat;
  level_mat.convertTo(level_f, CV_32FC3);
  if (kx > 1 || ky > 1) cv::resize(level_f, block_mat, cv::Size(bw, bh), 0, 0, cv::INTER_AREA);
  else block_mat = level_f;
  const float* blocks = block_mat.ptr<float>(0);
  const auto tx = taps(tile.rect.x, T, gx, bx0), ty = taps(tile.rect.y, T, gy, by0);
  out.resize(T, T);
  for (int y = 0; y < T; ++y) {
    const Tap a = ty[static_cast<std::size_t>(y)];
    const float* r0 = blocks + static_cast<std::size_t>(a.first) * bw * 3;
    const float* r1 = r0 + static_cast<std::size_t>(bw) * 3;
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < T; ++x) {
      const Tap b = tx[static_cast<std::size_t>(x)];
      for (int c = 0; c < 3; ++c) {
        const float top = r0[b.first * 3 + c] + b.weight * (r0[(b.first + 1) * 3 + c] - r0[b.first * 3 + c]);
        const float bottom = r1[b.first * 3 + c] + b.weight * (r1[(b.first + 1) * 3 + c] - r1[b.first * 3 + c]);
        dst[x * 3 + c] = static_cast<std::uint8_t>(std::clamp(top + a.weight * (bottom - top), 0.0f, 255.0f) + 0.5f);
      }
    }
  }
}

}  // namespace karyon::tiling
