#include "karyon/postprocess/evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

namespace karyon::postprocess {
namespace {

// An instance rasterised on the level-0 pixel grid: pixel (x, y) is inside when its centre is inside the
// polygon (holes removed). Pixel centres make rasterisation and tracing agree. Kept as runs of pixels per
// row, so memory follows the outline, not the bounding box: a 40000² annotated region costs 40000 runs,
// not a 1.6 GB mask.
struct Run {
  std::int64_t y, x0, x1;  // pixels [x0, x1) of row y
};
struct Raster {
  std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bounding box of the runs, [x0, x1) x [y0, y1)
  std::vector<Run> runs;                        // by row, then x; disjoint
  std::int64_t area = 0;
};

Raster rasterise(const core::Polygon& p) {
  Raster r;
  if (p.outer.size() < 3) return r;
  // Scanline fill, even-odd over all rings (so holes stay empty), half-open at pixel centres: a 10 x 10 px
  // square covers exactly 100 pixels and two abutting nuclei share none. Row Y (centre Y + 0.5) crosses
  // an edge spanning [ylo, yhi) when ceil(ylo - 0.5) <= Y < ceil(yhi - 0.5).
  struct Edge {
    std::int64_t first, end;  // rows [first, end)
    core::Point a, b;
  };
  std::vector<Edge> edges;
  auto add_ring = [&](const std::vector<core::Point>& ring) {
    for (std::size_t i = 0; i < ring.size(); ++i) {
      const auto& a = ring[i];
      const auto& b = ring[(i + 1) % ring.size()];
      if (a.y == b.y) continue;
      const auto first = static_cast<std::int64_t>(std::ceil(std::min(a.y, b.y) - 0.5));
      const auto end = static_cast<std::int64_t>(std::ceil(std::max(a.y, b.y) - 0.5));
      if (end > first) edges.push_back({first, end, a, b});
    }
  };
  add_ring(p.outer);
  for (const auto& hole : p.holes) add_ring(hole);
  if (edges.empty()) return r;
  std::sort(edges.begin(), edges.end(), [](const Edge& u, const Edge& v) { return u.first < v.first; });
  std::vector<const Edge*> active;
  std::vector<double> xs;
  std::size_t next = 0;
  std::int64_t row = edges.front().first;
  while (next < edges.size() || !active.empty()) {
    if (active.empty() && edges[next].first > row) row = edges[next].first;  // skip empty rows at once
    while (next < edges.size() && edges[next].first == row) active.push_back(&edges[next++]);
    const double cy = static_cast<double>(row) + 0.5;
    xs.clear();
    for (const Edge* e : active) xs.push_back(e->a.x + (cy - e->a.y) * (e->b.x - e->a.x) / (e->b.y - e->a.y));
    std::sort(xs.begin(), xs.end());
    for (std::size_t k = 0; k + 1 < xs.size(); k += 2) {
      const auto c0 = static_cast<std::int64_t>(std::ceil(xs[k] - 0.5));
      const auto c1 = static_cast<std::int64_t>(std::ceil(xs[k + 1] - 0.5));
      if (c1 > c0) r.runs.push_back({row, c0, c1});
    }
    ++row;
    active.erase(std::remove_if(active.begin(), active.end(), [&](const Edge* e) { return e->end <= row; }),
                 active.end());
  }
  if (r.runs.empty()) return r;
  r.x0 = r.runs.front().x0, r.x1 = r.runs.front().x1;
  r.y0 = r.runs.front().y, r.y1 = r.runs.back().y + 1;
  for (const auto& run : r.runs) {
    r.x0 = std::min(r.x0, run.x0), r.x1 = std::max(r.x1, run.x1);
    r.area += run.x1 - run.x0;
  }
  return r;
}

bool boxes_overlap(const Raster& a, const Raster& b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

std::int64_t intersection(const Raster& a, const Raster& b) {
  if (!boxes_overlap(a, b)) return 0;
  std::int64_t n = 0;
  std::size_t i = 0, j = 0;
  while (i < a.runs.size() && j < b.runs.size()) {
    const Run &u = a.runs[i], &v = b.runs[j];
    if (u.y != v.y) {
      (u.y < v.y ? i : j)++;
      continue;
    }
    n += std::max<std::int64_t>(0, std::min(u.x1, v.x1) - std::max(u.x0, v.x0));
    (u.x1 < v.x1 ? i : j)++;
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

  // Grid index over predictions (64 px cells) to find overlapping pairs without N x M work. Instances
  // over more than kMaxCells cells (annotated regions, not nuclei) are compared by bounding box instead,
  // so that the index stays small whatever the file holds.
  constexpr std::int64_t kCell = 64, kMaxCells = 4096;
  std::unordered_map<std::int64_t, std::vector<std::size_t>> grid;
  std::vector<std::size_t> large_predictions;
  auto key = [](std::int64_t cx, std::int64_t cy) { return (cx << 32) ^ static_cast<std::uint32_t>(cy); };
  auto cell_of = [](std::int64_t v) { return v >= 0 ? v / kCell : -((-v + kCell - 1) / kCell); };
  auto cell_count = [&](const Raster& ra) {
    return (cell_of(ra.x1) - cell_of(ra.x0) + 1) * (cell_of(ra.y1) - cell_of(ra.y0) + 1);
  };
  auto cells = [&](const Raster& ra, auto&& fn) {
    for (std::int64_t cy = cell_of(ra.y0); cy <= cell_of(ra.y1); ++cy)
      for (std::int64_t cx = cell_of(ra.x0); cx <= cell_of(ra.x1); ++cx) fn(key(cx, cy));
  };
  for (std::size_t j = 0; j < p.size(); ++j) {
    if (p[j].area == 0) continue;
    if (cell_count(p[j]) > kMaxCells) large_predictions.push_back(j);
    else cells(p[j], [&](std::int64_t k) { grid[k].push_back(j); });
  }

  std::int64_t truth_area = 0, pred_area = 0, all_intersections = 0, aji_c = 0, aji_u = 0;
  double iou_sum = 0;
  std::vector<bool> pred_used(p.size(), false);
  for (const auto& pr : p) pred_area += pr.area;
  for (std::size_t i = 0; i < g.size(); ++i) {
    truth_area += g[i].area;
    std::vector<std::size_t> candidates = large_predictions;
    if (g[i].area == 0) {
      candidates.clear();
    } else if (cell_count(g[i]) > kMaxCells) {
      for (std::size_t j = 0; j < p.size(); ++j)
        if (boxes_overlap(g[i], p[j])) candidates.push_back(j);
    } else {
      cells(g[i], [&](std::int64_t k) {
        if (auto it = grid.find(k); it != grid.end()) candidates.insert(candidates.end(), it->second.begin(), it->second.end());
      });
    }
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
