// The mask head's probabilities pasted at any resolution: the same placement rule as torchvision's
// paste_masks_in_image (checked against values computed by hand from its definition), and a finer frame
// giving a finer outline of the same shape.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "karyon/postprocess/mask_paste.hpp"

using namespace karyon;

namespace {

std::vector<float> disc(int M) {
  std::vector<float> p(static_cast<std::size_t>(M * M));
  for (int y = 0; y < M; ++y)
    for (int x = 0; x < M; ++x) {
      const double r = std::hypot(x + 0.5 - M / 2.0, y + 0.5 - M / 2.0) / (M / 2.0);
      p[static_cast<std::size_t>(y * M + x)] = static_cast<float>(std::clamp(1.5 - r, 0.0, 1.0));
    }
  return p;
}

const core::Level0Rect kEverywhere{-100000, -100000, 200000, 200000};

TEST(MaskPaste, box_grows_by_m_plus_2_over_m_and_truncates_like_torchvision) {
  const int M = 28;
  const auto p = disc(M);
  // Box 10..38 (28 px): grown by 30/28 about 24 -> half 15 -> [9, 39] -> 31 px wide, as torchvision.
  const auto m = postprocess::paste_mask(p.data(), M, {10, 20, 38, 48}, 0.5, kEverywhere);
  EXPECT_EQ(m.x, 9);
  EXPECT_EQ(m.y, 19);
  EXPECT_EQ(m.mask.width, 31);
  EXPECT_EQ(m.mask.height, 31);
  EXPECT_GT(m.area, 0);
  // Symmetric disc: symmetric mask about the box centre.
  for (int y = 0; y < m.mask.height; ++y)
    for (int x = 0; x < m.mask.width; ++x) EXPECT_EQ(m.mask.at(x, y), m.mask.at(m.mask.width - 1 - x, y));
  const auto c = postprocess::mask_centroid(m);
  ASSERT_TRUE(c);
  EXPECT_NEAR(c->x, 24.5, 0.01);  // pixel centres: [9, 40) mirrored about 24.5
}

TEST(MaskPaste, a_finer_frame_gives_the_same_shape_with_more_pixels) {
  const int M = 28;
  const auto p = disc(M);
  const auto coarse = postprocess::paste_mask(p.data(), M, {100, 100, 120, 120}, 0.5, kEverywhere);
  const auto fine = postprocess::paste_mask(p.data(), M, {200, 200, 240, 240}, 0.5, kEverywhere);
  ASSERT_GT(coarse.area, 50);
  EXPECT_NEAR(static_cast<double>(fine.area) / static_cast<double>(coarse.area), 4.0, 0.4);
  const auto cc = postprocess::mask_centroid(coarse), cf = postprocess::mask_centroid(fine);
  EXPECT_NEAR(cf->x / 2, cc->x, 0.3);
  EXPECT_NEAR(cf->y / 2, cc->y, 0.3);
}

TEST(MaskPaste, clipped_to_the_tile_and_empty_outside_it) {
  const int M = 14;
  const auto p = disc(M);
  const auto m = postprocess::paste_mask(p.data(), M, {-5, -5, 9, 9}, 0.5, core::Level0Rect{0, 0, 64, 64});
  EXPECT_EQ(m.x, 0);
  EXPECT_EQ(m.y, 0);
  EXPECT_LE(m.mask.width, 11);
  const auto none = postprocess::paste_mask(p.data(), M, {100, 100, 114, 114}, 0.5, core::Level0Rect{0, 0, 64, 64});
  EXPECT_EQ(none.area, 0);
  EXPECT_FALSE(postprocess::mask_centroid(none));
}

}  // namespace
