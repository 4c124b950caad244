#include "karyon/postprocess/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/core.hpp>
#include <unordered_map>

namespace karyon::postprocess {
namespace {

// An instance rasterised on the level-0 pixel grid: pixel (x, y) is inside when its centre is
// inside the polygon (holes removed). Pixel centres make rasterisation and tracing agree.
struct Raster {
  int x0 = 0, y0 = 0;
  cv::Mat mask;  // CV_8U 0/1
  std::int64_t area = 0;
};

Raster rasterise(const core::Polygon& p) {
  Raster r;
  double minx = 1e300, miny = 1e300, maxx = -1e300, maxy = -1e300;
  for (const auto& q : p.outer) minx = std::min(minx, q.x), miny = std::min(miny, q.y), maxx = std::max(maxx, q.x), maxy = std::max(maxy, q.y);
  if (p.outer.size() < 3) return r;
  r.x0 = static_cast<int>(std::floor(minx));
  r.y0 = static_cast<int>(std::floor(miny));
  const int w = static_cast<int>(std::ceil(maxx)) - r.x0 + 1, h = static_cast<int>(std::ceil(maxy)) - r.y0 + 1;
  r.mask = cv::Mat::zeros(h, w, CV_8UC1);
  // Scanline fill, even-odd over all rings (so holes stay empty), half-open at pixel centres: a
  // 10 x 10 px square covers exactly 100 pixels and two abutting nuclei share none.
  std::vector<std::vector<double>> crossings(h);
  auto add_ring = [&](const std::vector<core::Point>& ring) {
    for (std::size_t i = 0; i < ring.size(); ++i) {
      const auto& a = ring[i];
      const auto& b = ring[(i + 1) % ring.size()];
      if (a.y == b.y) continue;
      const double ylo = std::min(a.y, b.y), yhi = std::max(a.y, b.y);
      for (int row = std::max(0, static_cast<int>(std::ceil(ylo - 0.5 - r.y0))); row < h; ++row) {
        const double cy = r.y0 + row + 0.5;
        if (cy >= yhi) break;
        if (cy < ylo) continue;
        crossings[row].push_back(a.x + (cy - a.y) * (b.x - a.x) / (b.y - a.y));
      }
    }
  };
  add_ring(p.outer);
  for (const auto& hole : p.holes) add_ring(hole);
  for (int row = 0; row < h; ++row) {
    auto& xs = crossings[row];
    std::sort(xs.begin(), xs.end());
    auto* line = r.mask.ptr<std::uint8_t>(row);
    for (std::size_t k = 0; k + 1 < xs.size(); k += 2) {
      const int c0 = std::max(0, static_cast<int>(std::ceil(xs[k] - 0.5 - r.x0)));
      const int c1 = std::min(w, static_cast<int>(std::ceil(xs[k + 1] - 0.5 - r.x0)));
      for (int c = c0; c < c1; ++c) line[c] = 1;
    }
  }
  r.area = cv::countNonZero(r.mask);
  return r;
}

std::int64_t intersection(const Raster& a, const Raster& b) {
  const int x0 = std::max(a.x0, b.x0), y0 = std::max(a.y0, b.y0);
  const int x1 = std::min(a.x0 + a.mask.cols, b.x0 + b.mask.cols), y1 = std::min(a.y0 + a.mask.rows, b.y0 + b.mask.rows);
  if (x1 <= x0 || y1 <= y0) return 0;
  std::int64_t n = 0;
  for (int y = y0; y < y1; ++y) {
    const auto* pa = a.mask.ptr<std::uint8_t>(y - a.y0) + (x0 - a.x0);
    const auto* pb = b.mask.ptr<std::uint8_t>(y - b.y0) + (x0 - b.x0);
    for (int x = 0; x < x1 - x0; ++x) n += pa[x] & pb[x];
  }
  return n;
}

}  // namespace

EvaluationResult evaluate(const std::vector<core::Nucleus>& truth, const std::vector<core::Nucleus>& predicted) {
  EvaluationResult r;
  r.truth = static_cast<std::int64_t>(truth.size());
  r.predicted = static_cast<std::int64_t>(predicted.size());
  std::vector<Raster> g(truth.size()), p(predicted.size());
  for (std::size_t i = 0; i < truth.size(); ++i) g[i] = rasterise(truth[i].polygon);
  for (std::size_t j = 0; j < predicted.size(); ++j) p[j] = rasterise(predicted[j].polygon);

  // Grid index over predictions (64 px cells) to find overlapping pairs without N x M work.
  constexpr int kCell = 64;
  std::unordered_map<std::int64_t, std::vector<std::size_t>> grid;
  auto key = [](int cx, int cy) { return (static_cast<std::int64_t>(cx) << 32) ^ static_cast<std::uint32_t>(cy); };
  auto cells = [&](const Raster& ra, auto&& fn) {
    for (int cy = ra.y0 / kCell - (ra.y0 < 0); cy <= (ra.y0 + ra.mask.rows) / kCell; ++cy)
      for (int cx = ra.x0 / kCell - (ra.x0 < 0); cx <= (ra.x0 + ra.mask.cols) / kCell; ++cx) fn(key(cx, cy));
  };
  for (std::size_t j = 0; j < p.size(); ++j) cells(p[j], [&](std::int64_t k) { grid[k].push_back(j); });

  std::int64_t truth_area = 0, pred_area = 0, all_intersections = 0, aji_c = 0, aji_u = 0;
  double iou_sum = 0;
  std::vector<bool> pred_used(p.size(), false);
  for (const auto& pr : p) pred_area += pr.area;
  for (std::size_t i = 0; i < g.size(); ++i) {
    truth_area += g[i].area;
    std::vector<std::size_t> candidates;
    cells(g[i], [&](std::int64_t k) {
      if (auto it = grid.find(k); it != grid.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    });
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    double best_iou = 0;
    std::int64_t best_inter = 0, best_union = g[i].area;
    std::size_t best = SIZE_MAX;
    for (const auto j : candidates) {
      const std::int64_t inter = intersection(g[i], p[j]);
      if (inter == 0) continue;
      all_intersections += inter;
      const std::int64_t uni = g[i].area + p[j].area - inter;
      const double iou = static_cast<double>(inter) / uni;
      if (iou > 0.5) {  // unique: two predictions cannot both cover more than half of the union
        ++r.matched;
        iou_sum += iou;
      }
      if (iou > best_iou) best_iou = iou, best_inter = inter, best_union = uni, best = j;
    }
    aji_c += best_inter;
    aji_u += best_union;
    if (best != SIZE_MAX) pred_used[best] = true;
  }
  for (std::size_t j = 0; j < p.size(); ++j)
    if (!pred_used[j]) aji_u += p[j].area;

  const double tp = static_cast<double>(r.matched), fp = r.predicted - tp, fn = r.truth - tp;
  r.precision = r.predicted ? tp / r.predicted : 0;
  r.recall = r.truth ? tp / r.truth : 0;
  r.f1 = (2 * tp + fp + fn) > 0 ? 2 * tp / (2 * tp + fp + fn) : 0;
  r.dq = (tp + 0.5 * fp + 0.5 * fn) > 0 ? tp / (tp + 0.5 * fp + 0.5 * fn) : 0;
  r.sq = tp > 0 ? iou_sum / tp : 0;
  r.pq = r.dq * r.sq;
  r.aji = aji_u > 0 ? static_cast<double>(aji_c) / aji_u : 0;
  r.dice = (truth_area + pred_area) > 0 ? 2.0 * all_intersections / (truth_area + pred_area) : 0;
  return r;
}

}  // namespace karyon::postprocess
