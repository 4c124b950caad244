// Overlap resolution: contested pixels go to the higher-ranked candidate, a candidate left with less
// than half of itself is dropped, and the rule is the same inside one tile and across a tile border,
// whatever the tile order. Candidates are placed by hand (discs), the plan is a 2x2 grid.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "karyon/postprocess/tile_merger.hpp"

using namespace karyon;

namespace {

// 2x2 tiles of 128 px with cores split at x = 100 / y = 100 (rects overlap by 2 x 28 px).
std::vector<core::Tile> grid(int split = 100) {
  std::vector<core::Tile> t;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) {
      core::Tile tile;
      tile.id = r * 2 + c;
      tile.col = c;
      tile.row = r;
      tile.core = {c ? split : 0, r ? split : 0, c ? 200 - split : split, r ? 200 - split : split};
      tile.rect = {c ? split - 28 : 0, r ? split - 28 : 0, 128, 128};
      t.push_back(tile);
    }
  return t;
}

postprocess::Candidate disc(std::int64_t tile, int index, double cx, double cy, double radius, float score) {
  postprocess::Candidate c;
  c.tile_id = tile;
  c.index = index;
  c.score = score;
  const int r = static_cast<int>(std::ceil(radius));
  c.mask_x = static_cast<std::int64_t>(std::floor(cx)) - r;
  c.mask_y = static_cast<std::int64_t>(std::floor(cy)) - r;
  c.mask = core::Mask(2 * r + 2, 2 * r + 2);
  double sx = 0, sy = 0, n = 0;
  for (int y = 0; y < c.mask.height; ++y)
    for (int x = 0; x < c.mask.width; ++x)
      if (std::hypot(c.mask_x + x + 0.5 - cx, c.mask_y + y + 0.5 - cy) <= radius) {
        c.mask.at(x, y) = 255;
        sx += c.mask_x + x + 0.5, sy += c.mask_y + y + 0.5, ++n;
      }
  c.cx = sx / n;
  c.cy = sy / n;
  return c;
}

// Feeds all tiles in `order`; tile_of decides which tile "detects" each candidate (it must see it).
std::map<int, postprocess::Candidate> run(const std::vector<core::Tile>& tiles, std::vector<postprocess::Candidate> all,
                                          const std::vector<int>& order) {
  postprocess::TileMerger merger(tiles, 2, 2);
  std::map<int, postprocess::Candidate> out;
  for (const int t : order) {
    std::vector<postprocess::Candidate> mine;
    for (const auto& c : all)
      if (c.tile_id == t && merger.keeps(t, c.cx, c.cy)) mine.push_back(c);
    for (auto& n : merger.add_tile(t, std::move(mine)).nuclei) {
      const int k = n.index;
      EXPECT_TRUE(out.emplace(k, std::move(n)).second) << "nucleus " << k << " emitted twice";
    }
  }
  return out;
}

std::int64_t shared_pixels(const postprocess::Candidate& a, const postprocess::Candidate& b) {
  std::int64_t n = 0;
  for (int y = 0; y < a.mask.height; ++y)
    for (int x = 0; x < a.mask.width; ++x) {
      const std::int64_t gx = a.mask_x + x - b.mask_x, gy = a.mask_y + y - b.mask_y;
      if (a.mask.at(x, y) && gx >= 0 && gy >= 0 && gx < b.mask.width && gy < b.mask.height &&
          b.mask.at(static_cast<int>(gx), static_cast<int>(gy)))
        ++n;
    }
  return n;
}

TEST(OverlapResolution, a_low_score_fragment_inside_a_nucleus_is_dropped) {
  const auto tiles = grid();
  const auto big = disc(0, 0, 40, 40, 9, 0.9f);
  const auto out = run(tiles, {big, disc(0, 1, 42, 41, 4, 0.3f)}, {0, 1, 2, 3});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out.at(0).area, std::count(big.mask.pixels.begin(), big.mask.pixels.end(), 255));
}

TEST(OverlapResolution, contested_pixels_go_to_the_higher_score_and_survivors_never_overlap) {
  const auto tiles = grid();
  const auto a = disc(0, 0, 40, 40, 8, 0.9f), b = disc(0, 1, 52, 40, 8, 0.6f);
  const auto out = run(tiles, {a, b}, {0, 1, 2, 3});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out.at(0).area, std::count(a.mask.pixels.begin(), a.mask.pixels.end(), 255));  // a is whole
  EXPECT_LT(out.at(1).area, std::count(b.mask.pixels.begin(), b.mask.pixels.end(), 255));  // b lost the overlap
  EXPECT_EQ(shared_pixels(out.at(0), out.at(1)), 0);
}

TEST(OverlapResolution, the_same_rule_across_a_tile_border_as_inside_a_tile) {
  // The same two overlapping nuclei, once both inside tile 0's core, once straddling the core border at
  // x = 100 (a in tile 0, b in tile 1), and each also seen by the other tile as a view outside its core.
  auto placed = [](int split) {
    const auto tiles = grid(split);
    std::vector<postprocess::Candidate> all;
    const double ax = 94, bx = 106, y = 40;
    for (const auto& t : tiles) {
      for (const auto& [i, x, s] : {std::tuple{0, ax, 0.9f}, std::tuple{1, bx, 0.6f}}) {
        auto c = disc(t.id, i, x, y, 8, s);
        if (t.rect.contains(static_cast<std::int64_t>(x), static_cast<std::int64_t>(y))) all.push_back(c);
      }
    }
    return run(tiles, all, {0, 1, 2, 3});
  };
  const auto inside = placed(150), across = placed(100);
  ASSERT_EQ(inside.size(), 2u);
  ASSERT_EQ(across.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(inside.at(i).area, across.at(i).area) << "nucleus " << i;
    EXPECT_EQ(inside.at(i).mask.pixels, across.at(i).mask.pixels) << "nucleus " << i;
  }
  EXPECT_EQ(shared_pixels(across.at(0), across.at(1)), 0);
}

TEST(OverlapResolution, crowded_random_discs_give_the_same_disjoint_set_in_any_tile_order) {
  const auto tiles = grid();
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> pos(10, 190), rad(3, 9), sc(0.2, 1.0);
  std::vector<postprocess::Candidate> all;
  for (int k = 0; k < 300; ++k) {
    const double x = pos(rng), y = pos(rng), r = rad(rng);
    const auto s = static_cast<float>(sc(rng));
    for (const auto& t : tiles)  // every tile that sees the whole disc detects it
      if (t.rect.contains(core::AnalysisRect{static_cast<std::int64_t>(x - r - 1), static_cast<std::int64_t>(y - r - 1),
                                             static_cast<std::int64_t>(2 * r + 3), static_cast<std::int64_t>(2 * r + 3)}))
        all.push_back(disc(t.id, k, x, y, r, s));
  }
  std::vector<int> order{0, 1, 2, 3};
  const auto first = run(tiles, all, order);
  EXPECT_GT(first.size(), 50u);
  for (auto i = first.begin(); i != first.end(); ++i)
    for (auto j = std::next(i); j != first.end(); ++j) ASSERT_EQ(shared_pixels(i->second, j->second), 0);
  for (int shuffle = 0; shuffle < 5; ++shuffle) {
    std::shuffle(order.begin(), order.end(), rng);
    const auto again = run(tiles, all, order);
    ASSERT_EQ(again.size(), first.size());
    for (const auto& [k, c] : first) {
      ASSERT_TRUE(again.count(k));
      EXPECT_EQ(again.at(k).mask.pixels, c.mask.pixels);
      EXPECT_EQ(again.at(k).tile_id, c.tile_id);
    }
  }
}

}  // namespace
