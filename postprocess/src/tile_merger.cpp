#include "karyon/postprocess/tile_merger.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

#include "karyon/core/errors.hpp"

namespace karyon::postprocess {

double mask_overlap(const core::Mask& a, std::int64_t ax, std::int64_t ay, const core::Mask& b, std::int64_t bx,
                    std::int64_t by) {
  const std::int64_t x0 = std::max(ax, bx), y0 = std::max(ay, by);
  const std::int64_t x1 = std::min(ax + a.width, bx + b.width), y1 = std::min(ay + a.height, by + b.height);
  auto count = [](const core::Mask& m) {
    return std::count_if(m.pixels.begin(), m.pixels.end(), [](std::uint8_t v) { return v != 0; });
  };
  if (x1 <= x0 || y1 <= y0) return 0;
  std::int64_t inter = 0;
  for (std::int64_t y = y0; y < y1; ++y)
    for (std::int64_t x = x0; x < x1; ++x)
      inter += a.at(static_cast<int>(x - ax), static_cast<int>(y - ay)) && b.at(static_cast<int>(x - bx), static_cast<int>(y - by));
  const std::int64_t smaller = std::min(count(a), count(b));
  return smaller > 0 ? static_cast<double>(inter) / static_cast<double>(smaller) : 0;
}

TileMerger::TileMerger(const std::vector<core::Tile>& tiles, std::int64_t cols, std::int64_t rows, MergeOptions options)
    : cols_(cols), rows_(rows), options_(options), tiles_(tiles) {
  double half_overlap = std::numeric_limits<double>::infinity();
  for (const auto& t : tiles_) {
    if (t.id != t.row * cols + t.col || t.col < 0 || t.row < 0 || t.col >= cols || t.row >= rows)
      throw core::InvalidArgument("tile " + std::to_string(t.id) + " is not on the " + std::to_string(cols) + " x " +
                                  std::to_string(rows) + " grid");
    state_[t.id].tile = &t;
    if (t.col > 0) half_overlap = std::min<double>(half_overlap, static_cast<double>(t.core.x - t.rect.x));
    if (t.row > 0) half_overlap = std::min<double>(half_overlap, static_cast<double>(t.core.y - t.rect.y));
  }
  // Never up to the tile edge: a detection centred there is mostly outside its tile.
  band_ = std::max(0.0, std::min(options_.border_band, half_overlap - 2.0));
}

std::vector<std::int64_t> TileMerger::neighbours(std::int64_t id) const {
  std::vector<std::int64_t> out;
  const std::int64_t col = id % cols_, row = id / cols_;
  for (std::int64_t dr = -1; dr <= 1; ++dr)
    for (std::int64_t dc = -1; dc <= 1; ++dc) {
      const std::int64_t c = col + dc, r = row + dr;
      if (c < 0 || r < 0 || c >= cols_ || r >= rows_) continue;
      const std::int64_t n = r * cols_ + c;
      if (state_.count(n)) out.push_back(n);
    }
  return out;
}

bool TileMerger::keeps(std::int64_t tile_id, double cx, double cy) const {
  const auto it = state_.find(tile_id);
  if (it == state_.end()) return false;
  const auto& core = it->second.tile->core;
  const double b = band_;
  return cx >= core.x - b && cx < core.right() + b && cy >= core.y - b && cy < core.bottom() + b;
}

double TileMerger::inner_edge_distance(const Candidate& c) const {
  // Distance to the tile edges that have a neighbouring tile: the sides where a nucleus can be cut
  // and seen whole by the neighbour. The slide border has no neighbour, so it does not count.
  const core::Tile& t = *state_.at(c.tile_id).tile;
  double d = std::numeric_limits<double>::infinity();
  if (t.col > 0) d = std::min(d, c.cx - t.rect.x);
  if (t.col < cols_ - 1) d = std::min(d, t.rect.right() - c.cx);
  if (t.row > 0) d = std::min(d, c.cy - t.rect.y);
  if (t.row < rows_ - 1) d = std::min(d, t.rect.bottom() - c.cy);
  return d;
}

bool TileMerger::outranks(const Candidate& a, const Candidate& b) const {
  auto key = [&](const Candidate& c) {
    const auto& core = state_.at(c.tile_id).tile->core;
    const bool inside = c.cx >= core.x && c.cx < core.right() && c.cy >= core.y && c.cy < core.bottom();
    return std::make_tuple(inside, inner_edge_distance(c), c.score, -c.tile_id, -c.index);
  };
  return key(a) > key(b);
}

bool TileMerger::ready(const Candidate& c) const {
  const core::AnalysisRect box{c.mask_x, c.mask_y, c.mask.width, c.mask.height};
  for (const auto n : neighbours(c.tile_id)) {
    const auto& s = state_.at(n);
    if (!s.done && s.tile->rect.intersects(box)) return false;
  }
  return true;
}

bool TileMerger::survives(const Candidate& c) const {
  const core::AnalysisRect box{c.mask_x, c.mask_y, c.mask.width, c.mask.height};
  for (const auto n : neighbours(c.tile_id)) {
    if (n == c.tile_id) continue;  // the model's own NMS already separated a tile's detections
    const auto& s = state_.at(n);
    if (!s.tile->rect.intersects(box)) continue;
    for (const auto& other : s.candidates) {
      const core::AnalysisRect obox{other.mask_x, other.mask_y, other.mask.width, other.mask.height};
      if (!obox.intersects(box)) continue;
      if (mask_overlap(c.mask, c.mask_x, c.mask_y, other.mask, other.mask_x, other.mask_y) >= options_.match_overlap &&
          outranks(other, c))
        return false;
    }
  }
  return true;
}

TileMerger::Output TileMerger::add_tile(std::int64_t tile_id, std::vector<Candidate> candidates, bool already_stored) {
  auto it = state_.find(tile_id);
  if (it == state_.end()) throw core::InvalidArgument("tile " + std::to_string(tile_id) + " is not in the plan");
  if (it->second.done) throw core::InvalidArgument("tile " + std::to_string(tile_id) + " was already merged");
  auto& s = it->second;
  s.done = true;
  s.context = already_stored;
  s.candidates = std::move(candidates);
  s.decided.assign(s.candidates.size(), false);

  Output out;
  const auto around = neighbours(tile_id);
  for (const auto n : around) {
    auto& u = state_.at(n);
    if (!u.done || u.final) continue;
    bool all = true;
    for (std::size_t i = 0; i < u.candidates.size(); ++i) {
      if (u.decided[i]) continue;
      if (!ready(u.candidates[i])) {
        all = false;
        continue;
      }
      u.decided[i] = true;
      if (!u.context && survives(u.candidates[i])) out.nuclei.push_back(u.candidates[i].nucleus);
    }
    if (all) {
      u.final = true;
      if (!u.context) out.final_tiles.push_back(n);
    }
  }
  // Candidates are only looked at from the 3x3 neighbourhood; once all of it is final they can go.
  // The tile that completes that condition for u can be two tiles away from u: scan the 5x5.
  std::vector<std::int64_t> wider;
  for (const auto n : around)
    for (const auto m : neighbours(n)) wider.push_back(m);
  std::sort(wider.begin(), wider.end());
  wider.erase(std::unique(wider.begin(), wider.end()), wider.end());
  for (const auto n : wider) {
    auto& u = state_.at(n);
    if (u.candidates.empty() || !u.final) continue;
    const auto nn = neighbours(n);
    if (std::all_of(nn.begin(), nn.end(), [&](std::int64_t m) { return state_.at(m).final; })) {
      u.candidates.clear();
      u.candidates.shrink_to_fit();
    }
  }
  std::sort(out.final_tiles.begin(), out.final_tiles.end());
  return out;
}

std::size_t TileMerger::held_candidates() const {
  std::size_t n = 0;
  for (const auto& [id, s] : state_) n += s.candidates.size();
  return n;
}

}  // namespace karyon::postprocess
