// Test-time flips: the unflip and fusion rules on hand-made detections, and on a model that the fused output of a
// mirrored tile is the mirror of the tile's fused output (the views of a mirrored tile are the tile's own views,
// so any error in mapping a view back breaks this).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "karyon/core/errors.hpp"
#include "karyon/inference/model.hpp"
#include "test_time_flips.hpp"
#include "test_util.hpp"

namespace karyon::inference {
namespace {

Detection det(float x0, float y0, float x1, float y1, float score, int m = 4) {
  Detection d;
  d.x0 = x0, d.y0 = y0, d.x1 = x1, d.y1 = y1, d.score = score, d.label = 1;
  d.mask_probs_size = m;
  for (int i = 0; i < m * m; ++i) d.mask_probs.push_back(static_cast<float>(i) / (m * m));  // asymmetric
  return d;
}

TEST(TestTimeFlips, unflip_mirrors_boxes_and_mask_grids) {
  std::vector<Detection> ds{det(10, 20, 30, 25, 0.9f)};
  const auto original = ds[0];
  unflip(ds, flip_view(1), 100, 50);  // left-right
  EXPECT_FLOAT_EQ(ds[0].x0, 70);
  EXPECT_FLOAT_EQ(ds[0].x1, 90);
  EXPECT_FLOAT_EQ(ds[0].y0, 20);
  EXPECT_FLOAT_EQ(ds[0].mask_probs[0], original.mask_probs[3]);   // row 0 reversed
  EXPECT_FLOAT_EQ(ds[0].mask_probs[4], original.mask_probs[7]);
  unflip(ds, flip_view(1), 100, 50);
  EXPECT_EQ(ds[0].mask_probs, original.mask_probs);  // twice is the identity
  unflip(ds, flip_view(2), 100, 50);  // up-down
  EXPECT_FLOAT_EQ(ds[0].y0, 25);
  EXPECT_FLOAT_EQ(ds[0].y1, 30);
  EXPECT_FLOAT_EQ(ds[0].mask_probs[0], original.mask_probs[12]);  // rows reversed
  EXPECT_FLOAT_EQ(ds[0].mask_probs[13], original.mask_probs[1]);
}

TEST(TestTimeFlips, views_fuse_by_consensus) {
  // View 0 sees A and B; view 1 sees A (slightly shifted) and C. A: two views; B, C: one view each.
  const std::vector<std::vector<Detection>> views{{det(0, 0, 10, 10, 0.8f), det(50, 50, 60, 60, 0.9f)},
                                                  {det(1, 0, 11, 10, 0.6f), det(80, 80, 90, 90, 0.3f)}};
  const auto fused = fuse_views(views, 0.5, 0.2, 100);
  ASSERT_EQ(fused.size(), 2u);  // C: 0.3 / 2 = 0.15, not above 0.2
  EXPECT_FLOAT_EQ(fused[0].score, 0.7f);   // A: (0.8 + 0.6) / 2, now first
  EXPECT_FLOAT_EQ(fused[0].x0, 0.5f);      // mean box
  EXPECT_FLOAT_EQ(fused[0].x1, 10.5f);
  EXPECT_FLOAT_EQ(fused[1].score, 0.45f);  // B: 0.9 / 2
  EXPECT_FLOAT_EQ(fused[1].x0, 50);
  // A lone member's grid over its own box resamples to itself.
  for (std::size_t p = 0; p < fused[1].mask_probs.size(); ++p)
    EXPECT_NEAR(fused[1].mask_probs[p], views[0][1].mask_probs[p], 1e-6) << p;
  EXPECT_EQ(fuse_views(views, 0.5, 0.2, 1).size(), 1u);  // the detection budget still holds
  // At most one member per view: a second overlapping detection of view 0 stays its own nucleus.
  const std::vector<std::vector<Detection>> same_view{{det(0, 0, 10, 10, 0.8f), det(1, 1, 10, 10, 0.7f)}, {}};
  EXPECT_EQ(fuse_views(same_view, 0.5, 0.2, 100).size(), 2u);
}

core::RgbImage mirrored(const core::RgbImage& img) {
  core::RgbImage out(img.width, img.height);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      std::memcpy(out.row(y) + 3 * (img.width - 1 - x), img.row(y) + 3 * x, 3);
  return out;
}

TEST(TestTimeFlips, fused_output_of_a_mirrored_tile_is_the_mirror) {
  const auto t = test::load_tensors(test::refdata("tiles.safetensors"));
  const at::Tensor img = t.at("tile0").contiguous();
  core::RgbImage tile(static_cast<int>(img.size(1)), static_cast<int>(img.size(0)));
  std::memcpy(tile.pixels.data(), img.data_ptr<uint8_t>(), tile.pixels.size());
  const core::RgbImage flipped = mirrored(tile);
  for (const int flips : {2, 4}) {
    ModelOptions o;
    o.test_time_flips = flips;
    o.paste_masks = false;
    const Model m = Model::load(test::refdata("r18_thin.json"), o);
    auto a = m.detect(tile);
    auto b = m.detect(flipped);
    unflip(b, flip_view(1), tile.width, tile.height);
    ASSERT_GT(a.size(), 5u) << "the comparison would be vacuous";
    ASSERT_EQ(a.size(), b.size()) << flips;
    std::vector<bool> used(b.size(), false);
    for (std::size_t i = 0; i < a.size(); ++i) {  // each detection's mirror image, by nearest box
      std::size_t best = b.size();
      double best_d = 1e9;
      for (std::size_t j = 0; j < b.size(); ++j) {
        const double dist = std::abs(a[i].x0 - b[j].x0) + std::abs(a[i].y0 - b[j].y0) + std::abs(a[i].x1 - b[j].x1) +
                            std::abs(a[i].y1 - b[j].y1) + 100 * std::abs(a[i].score - b[j].score);
        if (!used[j] && dist < best_d) best_d = dist, best = j;
      }
      ASSERT_LT(best, b.size());
      used[best] = true;
      const Detection& q = b[best];
      EXPECT_NEAR(a[i].x0, q.x0, 1e-3) << flips << " " << i;
      EXPECT_NEAR(a[i].x1, q.x1, 1e-3) << flips << " " << i;
      EXPECT_NEAR(a[i].y0, q.y0, 1e-3) << flips << " " << i;
      EXPECT_NEAR(a[i].score, q.score, 1e-5) << flips << " " << i;
      ASSERT_EQ(a[i].mask_probs.size(), q.mask_probs.size());
      for (std::size_t p = 0; p < a[i].mask_probs.size(); ++p) ASSERT_NEAR(a[i].mask_probs[p], q.mask_probs[p], 1e-4);
    }
    // And the views change the answer: with flips the list is not the single view's.
    ModelOptions single = o;
    single.test_time_flips = 1;
    const auto plain = Model::load(test::refdata("r18_thin.json"), single).detect(tile);
    EXPECT_FALSE(plain.size() == a.size() && std::equal(plain.begin(), plain.end(), a.begin(), [](const Detection& p, const Detection& q) {
      return p.score == q.score && p.x0 == q.x0;
    }));
  }
  ModelOptions bad;
  bad.test_time_flips = 3;
  EXPECT_THROW((void)Model::load(test::refdata("r18_thin.json"), bad), core::InvalidArgument);
}

}  // namespace
}  // namespace karyon::inference
