#include "karyon/postprocess/tile_merger.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "karyon/core/errors.hpp"

namespace karyon::postprocess {
namespace {

core::Level0Rect box_of(const Candidate& c) { return {c.mask_x, c.mask_y, c.mask.width, c.mask.height}; }

std::int64_t count_inside(const core::Mask& m) {
  return std::count_if(m.pixels.begin(), m.pixels.end(), [](std::uint8_t v) { return v != 0; });
}

}  // namespace

TileMerger::TileMerger(const std::vector<core::Tile>& tiles, std::int64_t cols, std::int64_t rows, MergeOptions options)
    : cols_(cols), rows_(rows), options_(options), tiles_(tiles) {
  if (!(options_.mask_scale_x > 0) || !(options_.mask_scale_y > 0))
    throw core::InvalidArgument("merge: mask scale must be positive");
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

core::Level0Rect TileMerger::mask_frame_rect(const core::AnalysisRect& r) const {
  const auto x0 = static_cast<std::int64_t>(std::floor(static_cast<double>(r.x) * options_.mask_scale_x));
  const auto y0 = static_cast<std::int64_t>(std::floor(static_cast<double>(r.y) * options_.mask_scale_y));
  const auto x1 = static_cast<std::int64_t>(std::ceil(static_cast<double>(r.right()) * options_.mask_scale_x));
  const auto y1 = static_cast<std::int64_t>(std::ceil(static_cast<double>(r.bottom()) * options_.mask_scale_y));
  return {x0, y0, x1 - x0, y1 - y0};
}

bool TileMerger::keeps(std::int64_t tile_id, double cx, double cy) const {
  const auto it = state_.find(tile_id);
  if (it == state_.end()) return false;
  const auto& core = it->second.tile->core;
  const double b = band_;
  return cx >= core.x - b && cx < core.right() + b && cy >= core.y - b && cy < core.bottom() + b;
}

bool TileMerger::inside_own_core(const Candidate& c) const {
  const auto& core = state_.at(c.tile_id).tile->core;
  return c.cx >= core.x && c.cx < core.right() && c.cy >= core.y && c.cy < core.bottom();
}

bool TileMerger::outranks(const Candidate& a, const Candidate& b) const {
  // A view from outside its tile's core is the neighbour's nucleus seen near an edge: it yields to
  // the owning tile's view. Otherwise the more confident detection wins. Ids break exact ties.
  auto key = [&](const Candidate& c) { return std::make_tuple(inside_own_core(c), c.score, -c.tile_id, -c.index); };
  return key(a) > key(b);
}

bool TileMerger::ready(const Candidate& c) const {
  const auto box = box_of(c);
  for (const auto n : neighbours(c.tile_id)) {
    const auto& s = state_.at(n);
    if (!s.done && mask_frame_rect(s.tile->rect).intersects(box)) return false;
  }
  return true;
}

core::Mask TileMerger::owned_pixels(const Candidate& c) const {
  core::Mask owned = c.mask;
  const auto box = box_of(c);
  for (const auto n : neighbours(c.tile_id)) {
    const auto& s = state_.at(n);
    if (!mask_frame_rect(s.tile->rect).intersects(box)) continue;
    for (const auto& other : s.candidates) {
      if (&other == &c) continue;
      const auto common = box_of(other).intersect(box);
      if (common.empty() || !outranks(other, c)) continue;
      for (std::int64_t y = common.y; y < common.bottom(); ++y)
        for (std::int64_t x = common.x; x < common.right(); ++x)
          if (other.mask.at(static_cast<int>(x - other.mask_x), static_cast<int>(y - other.mask_y)))
            owned.at(static_cast<int>(x - c.mask_x), static_cast<int>(y - c.mask_y)) = 0;
    }
  }
  return owned;
}

TileMerger::Output TileMerger::add_tile(std::int64_t tile_id, std::vector<Candidate> candidates, bool already_stored) {
  auto it = state_.find(tile_id);
  if (it == state_.end()) throw core::InvalidArgument("tile " + std::to_string(tile_id) + " is not in the plan");
  if (it->second.done) throw core::InvalidArgument("tile " + std::to_string(tile_id) + " was already merged");
  auto& s = it->second;
  s.done = true;
  s.context = already_stored;
  s.candidates = std::move(candidates);
  for (auto& c : s.candidates) {
    if (c.tile_id != tile_id) throw core::InvalidArgument("merge: a candidate of tile " + std::to_string(c.tile_id) +
                                                         " was given with tile " + std::to_string(tile_id));
    c.area = count_inside(c.mask);
  }
  s.decided.assign(s.candidates.size(), false);

  Output out;
  const auto around = neighbours(tile_id);
  for (const auto n : around) {
    auto& u = state_.at(n);
    if (!u.done || u.final) continue;
    bool all = true;
    for (std::size_t i = 0; i < u.candidates.size(); ++i) {
      if (u.decided[i]) continue;
      const Candidate& c = u.candidates[i];
      if (!ready(c)) {
        all = false;
        continue;
      }
      u.decided[i] = true;
      if (u.context || c.area == 0) continue;
      core::Mask owned = owned_pixels(c);
      const std::int64_t kept = count_inside(owned);
      if (static_cast<double>(kept) < options_.min_kept_fraction * static_cast<double>(c.area)) continue;
      Candidate survivor = c;
      survivor.mask = std::move(owned);
      survivor.area = kept;
      out.nuclei.push_back(std::move(survivor));
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
