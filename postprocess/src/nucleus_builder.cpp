#include "karyon/postprocess/nucleus_builder.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "karyon/core/errors.hpp"

namespace karyon::postprocess {
namespace {

// Largest 8-connected component of a 0/255 mask, as CV_8U 0/1 (with a 1-pixel zero border so that
// contours never touch the image edge).
cv::Mat largest_component(const core::Mask& mask) {
  cv::Mat padded = cv::Mat::zeros(mask.height + 2, mask.width + 2, CV_8UC1);
  cv::Mat src(mask.height, mask.width, CV_8UC1, const_cast<std::uint8_t*>(mask.pixels.data()));
  cv::Mat binary = src > 0;
  binary.copyTo(padded(cv::Rect(1, 1, mask.width, mask.height)));
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(padded, labels, stats, centroids, 8, CV_32S);
  if (n <= 1) return {};
  int best = 1;
  for (int i = 2; i < n; ++i)
    if (stats.at<int>(i, cv::CC_STAT_AREA) > stats.at<int>(best, cv::CC_STAT_AREA)) best = i;
  cv::Mat out = labels == best;
  return out / 255;
}

// Boundary of a binary image through pixel corners: upsampling 2x makes OpenCV's pixel-centre
// contours land on the original pixel edges (x/2 after the shift), so a one-pixel nucleus has area 1,
// not 0, and areas/perimeters do not shrink by half a pixel all round.
std::vector<std::vector<cv::Point2d>> corner_contours(const cv::Mat& component, std::vector<cv::Vec4i>& hierarchy) {
  cv::Mat up;
  cv::resize(component, up, {}, 2, 2, cv::INTER_NEAREST);
  cv::Mat grown;
  // Anchor (1,1): each pixel also sets its right/bottom neighbour, so pixel [i, i+1) ends at 2i+2.
  cv::dilate(up, grown, cv::getStructuringElement(cv::MORPH_RECT, {2, 2}), cv::Point(1, 1));
  std::vector<std::vector<cv::Point>> raw;
  cv::findContours(grown, raw, hierarchy, cv::RETR_CCOMP, cv::CHAIN_APPROX_SIMPLE);
  std::vector<std::vector<cv::Point2d>> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i)
    for (const auto& p : raw[i]) out[i].emplace_back(p.x / 2.0, p.y / 2.0);
  return out;
}

std::vector<core::Point> simplify(const std::vector<cv::Point2d>& ring, double ox, double oy, double tolerance) {
  std::vector<cv::Point2f> in(ring.begin(), ring.end()), out;
  if (in.size() > 3) cv::approxPolyDP(in, out, tolerance, true);
  if (out.size() < 3) out = in;
  std::vector<core::Point> pts;
  pts.reserve(out.size());
  for (const auto& p : out) pts.push_back({ox + p.x, oy + p.y});
  return pts;
}

// Shape measurements of `component` (as from largest_component: padded by one pixel) in µm, for
// pixels of mpp_x x mpp_y µm.
void measure_shape(const cv::Mat& component, double mpp_x, double mpp_y, core::Measurements& m) {
  const double mpp = std::sqrt(mpp_x * mpp_y);  // for lengths; slides have square pixels to within a percent
  const double pixels = cv::countNonZero(component);
  m.area_um2 = pixels * mpp_x * mpp_y;

  std::vector<cv::Vec4i> hierarchy;
  const auto rings = corner_contours(component, hierarchy);
  double perimeter = 0;
  std::vector<cv::Point2f> outer;
  for (std::size_t i = 0; i < rings.size(); ++i) {
    // Perimeter of the simplified ring: the raw pixel staircase overestimates a disc's by 4/π.
    std::vector<cv::Point2f> raw(rings[i].begin(), rings[i].end()), r;
    cv::approxPolyDP(raw, r, 1.0, true);
    if (r.size() < 3) r = raw;
    perimeter += cv::arcLength(r, true);
    if (hierarchy[i][3] < 0) outer = r;
  }
  m.perimeter_um = perimeter * mpp;
  m.circularity = perimeter > 0 ? std::min(1.0, 4 * std::numbers::pi * pixels / (perimeter * perimeter)) : 0;
  std::vector<cv::Point2f> hull;
  if (outer.size() >= 3) cv::convexHull(outer, hull);
  const double hull_area = hull.size() >= 3 ? cv::contourArea(hull) : 0;
  m.solidity = hull_area > 0 ? std::min(1.0, pixels / hull_area) : 1.0;

  // Ellipse with the same second moments (as scikit-image's regionprops).
  const cv::Moments mo = cv::moments(component, true);
  const double mu20 = mo.mu20 / mo.m00, mu02 = mo.mu02 / mo.m00, mu11 = mo.mu11 / mo.m00;
  const double common = std::sqrt(std::max(0.0, (mu20 - mu02) * (mu20 - mu02) / 4 + mu11 * mu11));
  // +1/12: the variance of a unit pixel, so a single pixel is a disc of diameter ~1, not a point.
  const double l1 = (mu20 + mu02) / 2 + common + 1.0 / 12, l2 = (mu20 + mu02) / 2 - common + 1.0 / 12;
  m.major_axis_um = 4 * std::sqrt(std::max(l1, 0.0)) * mpp;
  m.minor_axis_um = 4 * std::sqrt(std::max(l2, 0.0)) * mpp;
  m.eccentricity = l1 > 0 ? std::sqrt(std::max(0.0, 1 - l2 / l1)) : 0;
}

// Mean haematoxylin and eosin optical density over the pixels of `component` (padded by one pixel;
// mask pixel (x, y) is component pixel (x + 1, y + 1)); `locate(x, y, tx, ty)` gives the image
// pixel a mask pixel is measured at. Pixels outside `img` are left out; nothing is set without any.
template <class Locate>
void measure_stains(const cv::Mat& component, int width, int height, const core::RgbImage& img, Locate locate,
                    core::Measurements& m) {
  // Colour deconvolution with Ruifrok & Johnston's H&E vectors (OD = -log10(I/255)).
  static const std::array<std::array<double, 3>, 2> inverse = [] {
    std::array<double, 3> h{0.650, 0.704, 0.286}, e{0.072, 0.990, 0.105};
    auto norm = [](std::array<double, 3>& v) {
      const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
      for (auto& c : v) c /= n;
    };
    norm(h);
    norm(e);
    std::array<double, 3> r{h[1] * e[2] - h[2] * e[1], h[2] * e[0] - h[0] * e[2], h[0] * e[1] - h[1] * e[0]};
    norm(r);
    cv::Matx33d M(h[0], h[1], h[2], e[0], e[1], e[2], r[0], r[1], r[2]);
    const cv::Matx33d inv = M.inv();
    // concentrations = od (row) * inv → column j of inv for stain j.
    return std::array<std::array<double, 3>, 2>{{{inv(0, 0), inv(1, 0), inv(2, 0)}, {inv(0, 1), inv(1, 1), inv(2, 1)}}};
  }();
  double h_sum = 0, e_sum = 0;
  std::int64_t n = 0;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      if (!component.at<std::uint8_t>(y + 1, x + 1)) continue;
      std::int64_t tx = 0, ty = 0;
      locate(x, y, tx, ty);
      if (tx < 0 || ty < 0 || tx >= img.width || ty >= img.height) continue;
      const std::uint8_t* p = img.row(static_cast<int>(ty)) + tx * 3;
      double od[3];
      for (int c = 0; c < 3; ++c) od[c] = -std::log10(std::max<double>(p[c], 1) / 255.0);
      h_sum += od[0] * inverse[0][0] + od[1] * inverse[0][1] + od[2] * inverse[0][2];
      e_sum += od[0] * inverse[1][0] + od[1] * inverse[1][1] + od[2] * inverse[1][2];
      ++n;
    }
  if (n > 0) {
    m.hematoxylin_od = h_sum / n;
    m.eosin_od = e_sum / n;
  }
}

}  // namespace

core::Polygon trace_mask(const core::Mask& mask, double origin_x, double origin_y, double tolerance) {
  core::Polygon poly;
  if (mask.width <= 0 || mask.height <= 0) return poly;
  const cv::Mat component = largest_component(mask);
  if (component.empty()) return poly;
  std::vector<cv::Vec4i> hierarchy;
  const auto rings = corner_contours(component, hierarchy);
  // -1: the component was padded by one pixel on each side.
  const double ox = origin_x - 1, oy = origin_y - 1;
  for (std::size_t i = 0; i < rings.size(); ++i) {
    if (hierarchy[i][3] < 0) poly.outer = simplify(rings[i], ox, oy, tolerance);
    else poly.holes.push_back(simplify(rings[i], ox, oy, tolerance));
  }
  return poly;
}

core::Measurements measure(const core::Mask& mask, std::int64_t mask_x, std::int64_t mask_y, const SourcePixels& src,
                           const Frame& frame) {
  core::Measurements m;
  const cv::Mat component = largest_component(mask);
  if (component.empty()) return m;
  measure_shape(component, frame.analysis_mpp / frame.scale_x, frame.analysis_mpp / frame.scale_y, m);
  if (src.image == nullptr) return m;
  measure_stains(component, mask.width, mask.height, *src.image,
                 [&](int x, int y, std::int64_t& tx, std::int64_t& ty) {
                   // The analysis pixel this level-0 pixel's centre falls in.
                   tx = static_cast<std::int64_t>(std::floor((mask_x + x + 0.5) / frame.scale_x)) - src.x;
                   ty = static_cast<std::int64_t>(std::floor((mask_y + y + 0.5) / frame.scale_y)) - src.y;
                 },
                 m);
  return m;
}

core::Measurements measure(const core::Mask& mask, int mask_x, int mask_y, const core::RgbImage& tile,
                           double analysis_mpp) {
  return measure(mask, mask_x, mask_y, SourcePixels{&tile, 0, 0}, Frame{analysis_mpp, 1, 1});
}

std::optional<core::Nucleus> build_nucleus(const core::Mask& mask, std::int64_t mask_x, std::int64_t mask_y,
                                           const SourcePixels& pixels, const Frame& frame, float score,
                                           std::int64_t tile_id, const std::string& class_name) {
  const double ox = static_cast<double>(mask_x), oy = static_cast<double>(mask_y);
  core::Nucleus n;
  n.polygon = trace_mask(mask, ox, oy);
  if (n.polygon.outer.size() < 3) return std::nullopt;
  n.tile_id = tile_id;
  n.score = score;
  n.class_name = class_name;
  n.bbox = {1e300, 1e300, -1e300, -1e300};
  for (const auto& p : n.polygon.outer) {
    n.bbox.x0 = std::min(n.bbox.x0, p.x);
    n.bbox.y0 = std::min(n.bbox.y0, p.y);
    n.bbox.x1 = std::max(n.bbox.x1, p.x);
    n.bbox.y1 = std::max(n.bbox.y1, p.y);
  }
  // Centroid of the traced component's pixels (not of the simplified polygon, nor of specks the
  // outline left out). The component is padded by one pixel.
  const cv::Mat component = largest_component(mask);
  const cv::Moments mo = cv::moments(component, true);
  if (mo.m00 <= 0) return std::nullopt;
  n.centroid = {ox + mo.m10 / mo.m00 - 1 + 0.5, oy + mo.m01 / mo.m00 - 1 + 0.5};
  n.measurements = measure(mask, mask_x, mask_y, pixels, frame);
  return n;
}

RasterizedOutline rasterize_outline(const core::Polygon& level0) {
  RasterizedOutline out;
  if (level0.outer.size() < 3) return out;
  double x0 = level0.outer.front().x, y0 = level0.outer.front().y, x1 = x0, y1 = y0;
  for (const auto& p : level0.outer) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y))
      throw core::InvalidArgument("an outline has a coordinate that is not a number");
    x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
  }
  if (x1 - x0 > kMaxOutlineSide || y1 - y0 > kMaxOutlineSide)
    throw core::InvalidArgument("an outline of " + std::to_string(static_cast<std::int64_t>(x1 - x0)) + " x " +
                                std::to_string(static_cast<std::int64_t>(y1 - y0)) +
                                " px is too large to be a nucleus (at most " +
                                std::to_string(static_cast<int>(kMaxOutlineSide)) + " px a side)");
  // Pixels whose centres can lie inside: [floor(x0 - 0.5) + 1, ceil(x1 - 0.5)) would do; one more on
  // each side costs nothing and keeps the arithmetic obvious.
  out.x = static_cast<std::int64_t>(std::floor(x0));
  out.y = static_cast<std::int64_t>(std::floor(y0));
  const int w = static_cast<int>(std::ceil(x1)) - static_cast<int>(out.x) + 1;
  const int h = static_cast<int>(std::ceil(y1)) - static_cast<int>(out.y) + 1;
  out.mask = core::Mask(w, h);
  std::vector<const std::vector<core::Point>*> rings{&level0.outer};
  for (const auto& hole : level0.holes)
    if (hole.size() >= 3) rings.push_back(&hole);
  std::vector<double> crossings;
  for (int row = 0; row < h; ++row) {
    // Scanline through the pixel centres of this row; even-odd over every ring (holes cut out).
    const double yc = static_cast<double>(out.y + row) + 0.5;
    crossings.clear();
    for (const auto* ring : rings)
      for (std::size_t i = 0; i < ring->size(); ++i) {
        const core::Point& a = (*ring)[i];
        const core::Point& b = (*ring)[(i + 1) % ring->size()];
        if ((a.y <= yc) == (b.y <= yc)) continue;  // half-open in y: a vertex on the line counts once
        crossings.push_back(a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y));
      }
    std::sort(crossings.begin(), crossings.end());
    for (std::size_t i = 0; i + 1 < crossings.size(); i += 2) {
      // Pixels with centres in [left, right): col + out.x + 0.5 >= left.
      const int from = std::max(0, static_cast<int>(std::ceil(crossings[i] - 0.5 - static_cast<double>(out.x))));
      const int to = std::min(w, static_cast<int>(std::ceil(crossings[i + 1] - 0.5 - static_cast<double>(out.x))));
      for (int col = from; col < to; ++col) out.mask.at(col, row) = 255;
    }
  }
  return out;
}

core::Nucleus measure_outline(core::Nucleus n, const core::Polygon& level0, double mpp_x, double mpp_y,
                              const SourcePixels& level0_pixels) {
  n.polygon = level0;
  n.measurements = {};
  n.bbox = {};
  n.centroid = {};
  if (level0.outer.empty()) return n;
  n.bbox = {1e300, 1e300, -1e300, -1e300};
  double sx = 0, sy = 0;
  for (const auto& p : level0.outer) {
    n.bbox.x0 = std::min(n.bbox.x0, p.x);
    n.bbox.y0 = std::min(n.bbox.y0, p.y);
    n.bbox.x1 = std::max(n.bbox.x1, p.x);
    n.bbox.y1 = std::max(n.bbox.y1, p.y);
    sx += p.x, sy += p.y;
  }
  // An outline that covers no pixel centre: the mean of its vertices, nothing to measure.
  n.centroid = {sx / static_cast<double>(level0.outer.size()), sy / static_cast<double>(level0.outer.size())};
  const RasterizedOutline r = rasterize_outline(level0);
  const cv::Mat component = r.mask.width > 0 ? largest_component(r.mask) : cv::Mat();
  if (component.empty()) return n;
  // As build_nucleus: the centroid of the measured pixels (the component is padded by one pixel).
  const cv::Moments mo = cv::moments(component, true);
  n.centroid = {static_cast<double>(r.x) + mo.m10 / mo.m00 - 1 + 0.5, static_cast<double>(r.y) + mo.m01 / mo.m00 - 1 + 0.5};
  measure_shape(component, mpp_x, mpp_y, n.measurements);
  if (level0_pixels.image == nullptr) return n;
  measure_stains(component, r.mask.width, r.mask.height, *level0_pixels.image,
                 [&](int x, int y, std::int64_t& tx, std::int64_t& ty) {
                   tx = r.x + x - level0_pixels.x;
                   ty = r.y + y - level0_pixels.y;
                 },
                 n.measurements);
  return n;
}

}  // namespace karyon::postprocess
