#include "test_time_flips.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace karyon::inference {

using core::Detection;

FlipView flip_view(int index) { return FlipView{(index & 1) != 0, (index & 2) != 0}; }

void unflip(std::vector<Detection>& detections, FlipView view, int width, int height) {
  for (Detection& d : detections) {
    const int m = d.mask_probs_size;
    if (view.flip_x) {
      // Continuous frame: [x0, x1) of the mirrored tile is [W - x1, W - x0) of the tile.
      const float x0 = static_cast<float>(width) - d.x1, x1 = static_cast<float>(width) - d.x0;
      d.x0 = x0, d.x1 = x1;
      for (int r = 0; r < m; ++r) std::reverse(d.mask_probs.begin() + r * m, d.mask_probs.begin() + (r + 1) * m);
    }
    if (view.flip_y) {
      const float y0 = static_cast<float>(height) - d.y1, y1 = static_cast<float>(height) - d.y0;
      d.y0 = y0, d.y1 = y1;
      for (int r = 0; r < m / 2; ++r)
        std::swap_ranges(d.mask_probs.begin() + r * m, d.mask_probs.begin() + (r + 1) * m,
                         d.mask_probs.begin() + (m - 1 - r) * m);
    }
  }
}

namespace {

double box_iou(const Detection& a, const Detection& b) {
  const double iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0), ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const double inter = iw * ih;
  const double area_a = (a.x1 - a.x0) * static_cast<double>(a.y1 - a.y0);
  const double area_b = (b.x1 - b.x0) * static_cast<double>(b.y1 - b.y0);
  return inter / (area_a + area_b - inter);
}

// Bilinear sample of `d`'s M x M mask grid at grid coordinates (u, v) (cell centres at integers), zero beyond
// the grid, as the 1-pixel zero border torchvision pastes with.
float sample(const Detection& d, double u, double v) {
  const int m = d.mask_probs_size;
  const int u0 = static_cast<int>(std::floor(u)), v0 = static_cast<int>(std::floor(v));
  const double fu = u - u0, fv = v - v0;
  auto at = [&](int x, int y) -> double {
    return x < 0 || y < 0 || x >= m || y >= m ? 0.0 : d.mask_probs[static_cast<std::size_t>(y) * m + x];
  };
  return static_cast<float>((1 - fv) * ((1 - fu) * at(u0, v0) + fu * at(u0 + 1, v0)) +
                            fv * ((1 - fu) * at(u0, v0 + 1) + fu * at(u0 + 1, v0 + 1)));
}

// Adds member `d`'s mask probabilities, resampled onto the M x M grid over `box`, to `sum`.
void add_resampled(const Detection& d, const Detection& box, std::vector<double>& sum) {
  const int m = box.mask_probs_size;
  const double bw = d.x1 - d.x0, bh = d.y1 - d.y0, fw = box.x1 - box.x0, fh = box.y1 - box.y0;
  if (!(bw > 0 && bh > 0) || d.mask_probs_size != m) return;
  for (int r = 0; r < m; ++r) {
    const double y = box.y0 + (r + 0.5) * fh / m;
    const double v = (y - d.y0) / (bh / m) - 0.5;
    for (int c = 0; c < m; ++c) {
      const double x = box.x0 + (c + 0.5) * fw / m;
      sum[static_cast<std::size_t>(r) * m + c] += sample(d, (x - d.x0) / (bw / m) - 0.5, v);
    }
  }
}

}  // namespace

std::vector<Detection> fuse_views(const std::vector<std::vector<Detection>>& views, double iou, double score_threshold,
                                  int max_detections) {
  struct Ref {
    const Detection* d;
    int view;
  };
  std::vector<Ref> all;
  for (std::size_t v = 0; v < views.size(); ++v)
    for (const Detection& d : views[v]) all.push_back({&d, static_cast<int>(v)});
  // Highest score first; stable, so ties keep view then index order.
  std::stable_sort(all.begin(), all.end(), [](const Ref& a, const Ref& b) { return a.d->score > b.d->score; });
  const double n_views = static_cast<double>(std::max<std::size_t>(1, views.size()));
  std::vector<char> taken(all.size(), 0);
  std::vector<Detection> fused;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (taken[i]) continue;
    taken[i] = 1;
    std::vector<std::size_t> members{i};
    std::uint32_t views_used = 1u << all[i].view;
    // Every earlier entry is taken, so the first match per view in this order is that view's best.
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (taken[j] || (views_used & (1u << all[j].view)) || box_iou(*all[i].d, *all[j].d) <= iou) continue;
      taken[j] = 1;
      views_used |= 1u << all[j].view;
      members.push_back(j);
    }
    Detection f;
    f.label = all[i].d->label;
    double score = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    for (const std::size_t k : members) {
      const Detection& d = *all[k].d;
      score += d.score, x0 += d.x0, y0 += d.y0, x1 += d.x1, y1 += d.y1;
    }
    const double n = static_cast<double>(members.size());
    f.score = static_cast<float>(score / n_views);
    if (!(f.score > score_threshold)) continue;
    f.x0 = static_cast<float>(x0 / n), f.y0 = static_cast<float>(y0 / n);
    f.x1 = static_cast<float>(x1 / n), f.y1 = static_cast<float>(y1 / n);
    f.mask_probs_size = all[i].d->mask_probs_size;
    std::vector<double> sum(static_cast<std::size_t>(f.mask_probs_size) * f.mask_probs_size, 0.0);
    for (const std::size_t k : members) add_resampled(*all[k].d, f, sum);
    f.mask_probs.resize(sum.size());
    for (std::size_t p = 0; p < sum.size(); ++p) f.mask_probs[p] = static_cast<float>(sum[p] / n);
    fused.push_back(std::move(f));
  }
  std::stable_sort(fused.begin(), fused.end(), [](const Detection& a, const Detection& b) { return a.score > b.score; });
  if (max_detections >= 0 && fused.size() > static_cast<std::size_t>(max_detections))
    fused.resize(static_cast<std::size_t>(max_detections));
  return fused;
}

}  // namespace karyon::inference
