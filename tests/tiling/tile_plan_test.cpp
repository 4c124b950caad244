#include <gtest/gtest.h>

#include <random>
#include <set>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/tile_plan.hpp"
#include "test_support.hpp"

using namespace karyon;

namespace {

struct PlanCase {
  int tile_size, overlap;
  std::optional<core::Level0Rect> region;
};

class TilePlanGeometry : public ::testing::TestWithParam<PlanCase> {
 protected:
  void SetUp() override {
    slide_ = tiling::Slide::open(test::small_synthetic_slide().tiff);
    resolution_ = tiling::resolve_resolution(*slide_, 0.5, std::nullopt);
  }
  std::unique_ptr<tiling::Slide> slide_;
  tiling::AnalysisResolution resolution_;
};

TEST_P(TilePlanGeometry, cores_partition_the_extent_and_lie_in_their_tiles) {
  const auto c = GetParam();
  tiling::TilePlanOptions o;
  o.tile_size = c.tile_size;
  o.overlap = c.overlap;
  o.region = c.region;
  o.tissue_only = false;
  const auto plan = tiling::plan_tiles(*slide_, resolution_, nullptr, o);
  ASSERT_EQ(static_cast<std::int64_t>(plan.tiles.size()), plan.cols * plan.rows);
  // The overlap used is the one asked for, rounded up so that tiles step on the global 32 px grid.
  EXPECT_GE(plan.overlap, c.overlap);
  EXPECT_LT(plan.overlap, c.overlap + o.grid_align);
  EXPECT_EQ(plan.stride % o.grid_align, 0);
  std::int64_t core_area = 0;
  for (const auto& t : plan.tiles) {
    core_area += t.core.area();
    EXPECT_FALSE(t.core.empty());
    EXPECT_TRUE(t.rect.contains(t.core)) << "tile " << t.id;
    EXPECT_EQ(t.rect.width, c.tile_size);
    EXPECT_EQ(t.id, t.row * plan.cols + t.col);
    // Tile origins on the slide's global grid, whatever the region: the same tissue meets the same
    // feature-grid phase in every plan.
    EXPECT_EQ(((t.rect.x % o.grid_align) + o.grid_align) % o.grid_align, 0) << "tile " << t.id;
    EXPECT_EQ(((t.rect.y % o.grid_align) + o.grid_align) % o.grid_align, 0) << "tile " << t.id;
    // Inner sides: the core is the tile minus half the overlap; outer sides keep at least that margin.
    const int half = plan.overlap / 2;
    if (t.col > 0) { EXPECT_EQ(t.core.x - t.rect.x, half); } else { EXPECT_GE(t.core.x - t.rect.x, half); }
    if (t.col < plan.cols - 1) { EXPECT_EQ(t.rect.right() - t.core.right(), plan.overlap - half); }
    if (t.row > 0) { EXPECT_EQ(t.core.y - t.rect.y, half); } else { EXPECT_GE(t.core.y - t.rect.y, half); }
    // Neighbours overlap by exactly the overlap used.
    if (t.col + 1 < plan.cols) { EXPECT_EQ(t.rect.right() - plan.tiles[t.id + 1].rect.x, plan.overlap); }
  }
  EXPECT_EQ(core_area, plan.extent.area());
  // Every pixel is owned by exactly one core, and owner_id agrees (random probe, fixed seed).
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    const std::int64_t x = plan.extent.x + rng() % plan.extent.width, y = plan.extent.y + rng() % plan.extent.height;
    int owners = 0;
    std::int64_t owner = -1;
    for (const auto& t : plan.tiles)
      if (t.core.contains(x, y)) ++owners, owner = t.id;
    ASSERT_EQ(owners, 1) << x << "," << y;
    ASSERT_EQ(owner, plan.owner_id(x, y));
  }
  if (c.region) {
    const auto l0 = plan.to_level0(plan.extent);
    EXPECT_TRUE(l0.contains(*c.region));
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, TilePlanGeometry,
                         ::testing::Values(PlanCase{256, 32, std::nullopt}, PlanCase{512, 48, std::nullopt},
                                           PlanCase{200, 2, std::nullopt}, PlanCase{128, 0, std::nullopt},
                                           PlanCase{256, 64, core::Level0Rect{701, 333, 1500, 900}},
                                           PlanCase{4096, 64, std::nullopt}),
                         [](const auto& info) {
                           return "tile" + std::to_string(info.param.tile_size) + "_overlap" +
                                  std::to_string(info.param.overlap) + (info.param.region ? "_region" : "");
                         });

TEST(TilePlan, tissue_is_fully_covered_and_glass_tiles_are_dropped) {
  const auto slide = tiling::Slide::open(test::small_synthetic_slide().tiff);
  const auto resolution = tiling::resolve_resolution(*slide, 0.5, std::nullopt);
  const auto tissue = tiling::detect_tissue(*slide);
  EXPECT_GT(tissue.tissue_fraction(), 0.3);
  EXPECT_LT(tissue.tissue_fraction(), 0.8);
  tiling::TilePlanOptions o;
  o.tile_size = 256;
  o.overlap = 32;
  const auto plan = tiling::plan_tiles(*slide, resolution, &tissue, o);
  EXPECT_LT(static_cast<std::int64_t>(plan.tiles.size()), plan.grid_tiles);  // the glass corners go
  EXPECT_GT(plan.tiles.size(), 0u);
  std::set<std::int64_t> kept;
  for (const auto& t : plan.tiles) kept.insert(t.id);
  std::int64_t tissue_pixels = 0;
  for (int y = 0; y < tissue.mask.height; ++y)
    for (int x = 0; x < tissue.mask.width; ++x) {
      if (!tissue.mask.at(x, y)) continue;
      ++tissue_pixels;
      const double l0x = (x + 0.5) * tissue.downsample, l0y = (y + 0.5) * tissue.downsample;
      const auto ax = static_cast<std::int64_t>(l0x / resolution.scale_x), ay = static_cast<std::int64_t>(l0y / resolution.scale_y);
      ASSERT_TRUE(kept.count(plan.owner_id(ax, ay))) << "tissue at thumbnail " << x << "," << y << " not planned";
    }
  EXPECT_GT(tissue_pixels, 0);
}

TEST(TilePlan, same_input_gives_the_same_plan) {
  const auto slide = tiling::Slide::open(test::small_synthetic_slide().tiff);
  const auto resolution = tiling::resolve_resolution(*slide, 0.5, std::nullopt);
  auto once = [&] {
    const auto tissue = tiling::detect_tissue(*slide);
    return tiling::plan_tiles(*slide, resolution, &tissue, {});
  };
  const auto a = once(), b = once();
  ASSERT_EQ(a.tiles.size(), b.tiles.size());
  for (std::size_t i = 0; i < a.tiles.size(); ++i) {
    EXPECT_EQ(a.tiles[i].id, b.tiles[i].id);
    EXPECT_EQ(a.tiles[i].rect, b.tiles[i].rect);
    EXPECT_EQ(a.tiles[i].core, b.tiles[i].core);
    if (i) { EXPECT_LT(a.tiles[i - 1].id, a.tiles[i].id); }  // row-major
  }
}

TEST(TilePlan, default_overlap_covers_the_largest_nucleus) {
  for (double mpp : {0.25, 0.5, 1.0}) {
    const int o = tiling::default_overlap(mpp);
    EXPECT_GE(o * mpp, 20.0) << mpp;
    EXPECT_EQ(o % 2, 0);
  }
}

TEST(TilePlan, bad_options_are_refused_with_the_reason) {
  const auto slide = tiling::Slide::open(test::small_synthetic_slide().tiff);
  const auto resolution = tiling::resolve_resolution(*slide, 0.5, std::nullopt);
  tiling::TilePlanOptions o;
  o.tile_size = 32;
  EXPECT_THROW(tiling::plan_tiles(*slide, resolution, nullptr, o), core::InvalidArgument);
  o.tile_size = 256;
  o.overlap = 33;
  EXPECT_THROW(tiling::plan_tiles(*slide, resolution, nullptr, o), core::InvalidArgument);
  o.overlap = 128;
  EXPECT_THROW(tiling::plan_tiles(*slide, resolution, nullptr, o), core::InvalidArgument);
  o.overlap = 32;
  o.region = core::Level0Rect{100000, 0, 10, 10};
  EXPECT_THROW(tiling::plan_tiles(*slide, resolution, nullptr, o), core::InvalidArgument);
}

}  // namespace
