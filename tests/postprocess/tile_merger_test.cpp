// The cross-tile merge proven on known nuclei: elliptical nuclei, many straddling tile edges, core
// borders and corners, are "detected" by every tile that sees them (cut at the tile edge, as a model
// would see them); the merge must return each nucleus exactly once and whole, for any tile size,
// overlap and tile order.
#include <gtest/gtest.h>

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <numeric>
#include <random>

#include "karyon/postprocess/tile_merger.hpp"
#include "karyon/tiling/tile_plan.hpp"
#include "test_support.hpp"

using namespace karyon;

namespace {

struct TrueNucleus {
  double cx, cy, a, b, angle;  // analysis pixels
};

constexpr int kWidth = 1400, kHeight = 1100;

// Nuclei on a jittered 24 px grid (radii 4-10 px), plus some exactly on the borders of the plans
// tested below.
std::vector<TrueNucleus> make_truth() {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<TrueNucleus> out;
  for (int y = 20; y < kHeight - 20; y += 26)
    for (int x = 20; x < kWidth - 20; x += 26) {
      if (u(rng) < 0.25) continue;
      const double a = 4 + 6 * u(rng);
      out.push_back({x + 3 * (u(rng) - 0.5), y + 3 * (u(rng) - 0.5), a, a * (0.6 + 0.4 * u(rng)), 180 * u(rng)});
    }
  return out;
}

core::Mask rasterize(const TrueNucleus& n, std::int64_t ox, std::int64_t oy, int w, int h) {
  cv::Mat m = cv::Mat::zeros(h, w, CV_8UC1);
  cv::ellipse(m, cv::Point2d(n.cx - ox, n.cy - oy), cv::Size2d(n.a, n.b), n.angle, 0, 360, cv::Scalar(255), cv::FILLED);
  core::Mask out(w, h);
  std::copy(m.datastart, m.dataend, out.pixels.begin());
  return out;
}

// What a perfect model returns for one tile: every nucleus it sees, cut at the tile edge.
std::vector<postprocess::Candidate> detect(const core::Tile& tile, const std::vector<TrueNucleus>& truth,
                                           const postprocess::TileMerger& merger, std::mt19937& rng) {
  std::vector<postprocess::Candidate> out;
  for (std::size_t k = 0; k < truth.size(); ++k) {
    const auto& n = truth[k];
    const auto x0 = static_cast<std::int64_t>(std::floor(n.cx - n.a - 1)), y0 = static_cast<std::int64_t>(std::floor(n.cy - n.a - 1));
    const auto x1 = static_cast<std::int64_t>(std::ceil(n.cx + n.a + 1)), y1 = static_cast<std::int64_t>(std::ceil(n.cy + n.a + 1));
    const core::AnalysisRect box{x0, y0, x1 - x0, y1 - y0};
    const auto visible = box.intersect(tile.rect);
    if (visible.empty()) continue;
    postprocess::Candidate c;
    c.tile_id = tile.id;
    c.index = static_cast<int>(k);  // which true nucleus this is
    c.mask = rasterize(n, visible.x, visible.y, static_cast<int>(visible.width), static_cast<int>(visible.height));
    const cv::Mat mm(c.mask.height, c.mask.width, CV_8UC1, c.mask.pixels.data());
    const cv::Moments mo = cv::moments(mm, true);
    if (mo.m00 == 0) continue;
    c.mask_x = visible.x;
    c.mask_y = visible.y;
    c.cx = visible.x + mo.m10 / mo.m00 + 0.5;
    c.cy = visible.y + mo.m01 / mo.m00 + 0.5;
    c.score = 0.5f + 0.5f * std::uniform_real_distribution<float>(0, 1)(rng);
    if (merger.keeps(tile.id, c.cx, c.cy)) out.push_back(std::move(c));
  }
  return out;
}

tiling::TilePlan plan_for(int tile_size, int overlap) {
  static const auto path = [] {
    const auto p = test::scratch_dir() / "merge-canvas.png";
    cv::imwrite(p.string(), cv::Mat(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255)));
    return p;
  }();
  const auto slide = tiling::Slide::open(path);
  const auto res = tiling::resolve_resolution(*slide, 0.5, 0.5);  // analysis px = image px
  tiling::TilePlanOptions o;
  o.tile_size = tile_size;
  o.overlap = overlap;
  o.tissue_only = false;
  return tiling::plan_tiles(*slide, res, nullptr, o);
}

// Runs the merge with tiles in the given order; returns the true-nucleus index of every emitted one.
std::vector<std::size_t> merge(const tiling::TilePlan& plan, const std::vector<TrueNucleus>& truth,
                               std::vector<std::size_t> order, std::size_t* max_held = nullptr) {
  postprocess::TileMerger merger(plan.tiles, plan.cols, plan.rows);
  std::mt19937 rng(5);
  std::vector<std::size_t> emitted;
  std::vector<std::int64_t> finals;
  for (const auto i : order) {
    const auto& tile = plan.tiles[i];
    auto out = merger.add_tile(tile.id, detect(tile, truth, merger, rng));
    for (const auto& n : out.nuclei) {
      const auto k = static_cast<std::size_t>(n.index);
      emitted.push_back(k);
      // Emitted whole: as many pixels as the uncut nucleus.
      const auto& t = truth[k];
      const auto full = rasterize(t, static_cast<std::int64_t>(t.cx) - 16, static_cast<std::int64_t>(t.cy) - 16, 32, 32);
      const auto full_px = std::count(full.pixels.begin(), full.pixels.end(), 255);
      EXPECT_EQ(n.area, full_px) << "nucleus " << k << " was cut";
      EXPECT_EQ(std::count(n.mask.pixels.begin(), n.mask.pixels.end(), 255), full_px);
    }
    finals.insert(finals.end(), out.final_tiles.begin(), out.final_tiles.end());
    if (max_held) *max_held = std::max(*max_held, merger.held_candidates());
  }
  EXPECT_EQ(finals.size(), plan.tiles.size()) << "every tile ends final";
  std::sort(emitted.begin(), emitted.end());
  return emitted;
}

struct MergeCase {
  int tile_size, overlap;
};
class CrossTileMerge : public ::testing::TestWithParam<MergeCase> {};

TEST_P(CrossTileMerge, every_nucleus_exactly_once_and_whole_in_any_tile_order) {
  const auto truth = make_truth();
  const auto plan = plan_for(GetParam().tile_size, GetParam().overlap);
  ASSERT_GT(plan.tiles.size(), 4u);
  std::vector<std::size_t> order(plan.tiles.size());
  std::iota(order.begin(), order.end(), 0);
  const auto row_major = merge(plan, truth, order);
  std::vector<std::size_t> all(truth.size());
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(row_major, all) << "duplicates or losses";
  std::mt19937 rng(GetParam().tile_size);
  for (int shuffle = 0; shuffle < 2; ++shuffle) {
    std::shuffle(order.begin(), order.end(), rng);
    EXPECT_EQ(merge(plan, truth, order), row_major);
  }
}

INSTANTIATE_TEST_SUITE_P(Plans, CrossTileMerge,
                         ::testing::Values(MergeCase{256, 32}, MergeCase{200, 24}, MergeCase{384, 48},
                                           MergeCase{160, 40}),
                         [](const auto& info) {
                           return "tile" + std::to_string(info.param.tile_size) + "_overlap" +
                                  std::to_string(info.param.overlap);
                         });

TEST(CrossTileMerge, memory_holds_a_band_of_tiles_not_the_slide) {
  const auto truth = make_truth();
  const auto plan = plan_for(160, 40);
  std::vector<std::size_t> order(plan.tiles.size());
  std::iota(order.begin(), order.end(), 0);
  std::size_t max_held = 0;
  merge(plan, truth, order, &max_held);
  // Row-major: about three rows of tiles' candidates at most, far below all of them.
  EXPECT_LT(max_held, truth.size() * 3 * 2 / static_cast<std::size_t>(plan.rows) + 50);
}

}  // namespace
