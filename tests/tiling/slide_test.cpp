#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/slide.hpp"
#include "karyon/tiling/tile_plan.hpp"
#include "test_support.hpp"
#include "../../tiling/src/slide_backends.hpp"

using namespace karyon;
using karyon::test::scratch_dir;

TEST(Slide, plain_png_opens_as_single_level_slide_without_mpp) {
  cv::Mat bgr(40, 50, CV_8UC3, cv::Scalar(10, 20, 30));  // B,G,R
  bgr.at<cv::Vec3b>(5, 7) = cv::Vec3b(1, 2, 3);
  const auto path = scratch_dir() / "plain.png";
  ASSERT_TRUE(cv::imwrite(path.string(), bgr));
  const auto slide = tiling::Slide::open(path);
  const auto& m = slide->metadata();
  EXPECT_EQ(m.format, "image");
  ASSERT_EQ(m.levels.size(), 1u);
  EXPECT_EQ(m.width(), 50);
  EXPECT_EQ(m.height(), 40);
  EXPECT_FALSE(m.mpp_x.has_value());
  core::RgbImage px;
  slide->read_region(0, 7, 5, 1, 1, px);
  EXPECT_EQ(px.pixels, (std::vector<std::uint8_t>{3, 2, 1}));  // RGB out
  slide->read_region(0, 0, 0, 1, 1, px);
  EXPECT_EQ(px.pixels, (std::vector<std::uint8_t>{30, 20, 10}));
}

TEST(Slide, plain_image_outside_pixels_are_white) {
  cv::Mat bgr(8, 8, CV_8UC3, cv::Scalar(0, 0, 0));
  const auto path = scratch_dir() / "black.png";
  ASSERT_TRUE(cv::imwrite(path.string(), bgr));
  const auto slide = tiling::Slide::open(path);
  core::RgbImage px;
  slide->read_region(0, -2, -2, 4, 4, px);
  EXPECT_EQ(px.pixels[0], 255);                        // (-2,-2) outside
  EXPECT_EQ(px.pixels[(3 * 4 + 3) * 3], 0);            // (1,1) inside
}

TEST(Slide, plain_rgba_png_is_composited_on_white) {
  cv::Mat bgra(4, 4, CV_8UC4, cv::Scalar(0, 0, 0, 0));  // fully transparent black
  const auto path = scratch_dir() / "transparent.png";
  ASSERT_TRUE(cv::imwrite(path.string(), bgra));
  core::RgbImage px;
  tiling::Slide::open(path)->read_region(0, 0, 0, 1, 1, px);
  EXPECT_EQ(px.pixels, (std::vector<std::uint8_t>{255, 255, 255}));
}

TEST(Mpp, tiff_resolution_tags_convert_per_unit_and_ignore_screen_defaults) {
  EXPECT_NEAR(*tiling::mpp_from_tiff_resolution(40000, "centimeter"), 0.25, 1e-12);
  EXPECT_NEAR(*tiling::mpp_from_tiff_resolution(101600, "inch"), 0.25, 1e-12);
  EXPECT_FALSE(tiling::mpp_from_tiff_resolution(28.3464565, "centimeter"));  // 72 dpi default
  EXPECT_FALSE(tiling::mpp_from_tiff_resolution(96, "inch"));
  EXPECT_FALSE(tiling::mpp_from_tiff_resolution(40000, "none"));
  EXPECT_FALSE(tiling::mpp_from_tiff_resolution(0, "centimeter"));
}

TEST(Resolution, slide_without_mpp_is_refused_unless_user_gives_it) {
  cv::Mat bgr(64, 64, CV_8UC3, cv::Scalar(200, 100, 200));
  const auto path = scratch_dir() / "nompp.png";
  ASSERT_TRUE(cv::imwrite(path.string(), bgr));
  const auto slide = tiling::Slide::open(path);
  try {
    tiling::resolve_resolution(*slide, 0.5, std::nullopt);
    FAIL() << "expected InvalidArgument";
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("--mpp"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nompp.png"), std::string::npos) << e.what();
  }
  const auto r = tiling::resolve_resolution(*slide, 0.5, 0.25);
  EXPECT_EQ(r.mpp_source, "--mpp");
  EXPECT_DOUBLE_EQ(r.scale_x, 2.0);
}

TEST(Resolution, picks_finest_level_not_coarser_than_target_and_never_guesses_magnification) {
  const auto& s = test::small_synthetic_slide();  // 0.25 µm/px, factor-2 pyramid
  const auto slide = tiling::Slide::open(s.tiff);
  ASSERT_TRUE(slide->metadata().mpp_x);
  EXPECT_NEAR(*slide->metadata().mpp_x, 0.25, 1e-6);
  auto r = tiling::resolve_resolution(*slide, 0.5, std::nullopt);
  EXPECT_EQ(r.read_level, 1);
  EXPECT_NEAR(r.scale_x, 2.0, 1e-6);
  EXPECT_TRUE(r.warnings.empty());
  r = tiling::resolve_resolution(*slide, 0.7, std::nullopt);
  EXPECT_EQ(r.read_level, 1);  // 2.8x needed: level 1 (2x) then resample, never level 2 (4x)
  // A model at 0.125 µm/px on this 0.25 µm/px slide means upsampling: said out loud.
  r = tiling::resolve_resolution(*slide, 0.125, std::nullopt);
  EXPECT_EQ(r.read_level, 0);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("upsampled"), std::string::npos);
  // --mpp that contradicts the file is used but flagged.
  r = tiling::resolve_resolution(*slide, 0.5, 0.5);
  EXPECT_EQ(r.read_level, 0);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("disagrees"), std::string::npos);
}

TEST(Slide, best_level_for_downsample_never_picks_a_coarser_level) {
  const auto& s = test::small_synthetic_slide();
  const auto slide = tiling::Slide::open(s.tiff);
  ASSERT_GE(slide->metadata().levels.size(), 3u);
  EXPECT_EQ(slide->best_level_for_downsample(1.0), 0);
  EXPECT_EQ(slide->best_level_for_downsample(1.9), 0);
  EXPECT_EQ(slide->best_level_for_downsample(2.0), 1);
  EXPECT_EQ(slide->best_level_for_downsample(3.9), 1);
  EXPECT_EQ(slide->best_level_for_downsample(4.0), 2);
}
