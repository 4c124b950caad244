#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/nucleus_builder.hpp"

using namespace karyon;

namespace {

core::Mask ellipse_mask(int w, int h, double cx, double cy, double a, double b, double angle_deg) {
  cv::Mat m = cv::Mat::zeros(h, w, CV_8UC1);
  cv::ellipse(m, cv::Point2d(cx, cy), cv::Size2d(a, b), angle_deg, 0, 360, cv::Scalar(255), cv::FILLED, cv::LINE_8);
  core::Mask out(w, h);
  std::copy(m.datastart, m.dataend, out.pixels.begin());
  return out;
}

std::int64_t on_pixels(const core::Mask& m) {
  return std::count_if(m.pixels.begin(), m.pixels.end(), [](auto v) { return v != 0; });
}

TEST(NucleusBuilder, polygon_through_pixel_corners_has_the_mask_area) {
  const auto mask = ellipse_mask(40, 40, 20, 20, 12, 8, 30);
  const auto poly = postprocess::trace_mask(mask, 100, 200, 0.0);
  ASSERT_GE(poly.outer.size(), 8u);
  // Within a pixel: the 8-connected trace cuts or adds a quarter pixel at diagonal steps.
  EXPECT_NEAR(postprocess::polygon_area(poly), on_pixels(mask), 0.02 * on_pixels(mask));
  const auto simplified = postprocess::trace_mask(mask, 100, 200, 0.5);
  EXPECT_LT(simplified.outer.size(), poly.outer.size());
  EXPECT_NEAR(postprocess::polygon_area(simplified), on_pixels(mask), 0.03 * on_pixels(mask));
  for (const auto& p : poly.outer) {  // offset applied, inside the mask's frame
    EXPECT_GE(p.x, 100);
    EXPECT_LE(p.x, 140);
    EXPECT_GE(p.y, 200);
    EXPECT_LE(p.y, 240);
  }
}

TEST(NucleusBuilder, single_pixel_is_a_unit_square) {
  core::Mask m(3, 3);
  m.at(1, 1) = 255;
  const auto poly = postprocess::trace_mask(m, 0, 0, 0.0);
  EXPECT_NEAR(postprocess::polygon_area(poly), 1.0, 1e-9);
  double minx = 1e9, maxx = -1e9;
  for (const auto& p : poly.outer) minx = std::min(minx, p.x), maxx = std::max(maxx, p.x);
  EXPECT_DOUBLE_EQ(minx, 1.0);
  EXPECT_DOUBLE_EQ(maxx, 2.0);
}

TEST(NucleusBuilder, holes_are_kept_and_only_the_largest_component_is_traced) {
  cv::Mat m = cv::Mat::zeros(60, 60, CV_8UC1);
  cv::circle(m, {25, 25}, 15, 255, cv::FILLED);
  cv::circle(m, {25, 25}, 5, 0, cv::FILLED);   // a hole
  cv::circle(m, {52, 52}, 3, 255, cv::FILLED);  // a speck: not part of the nucleus
  core::Mask mask(60, 60);
  std::copy(m.datastart, m.dataend, mask.pixels.begin());
  const auto poly = postprocess::trace_mask(mask, 0, 0, 0.0);
  ASSERT_EQ(poly.holes.size(), 1u);
  for (const auto& p : poly.outer) EXPECT_LT(p.x, 45);
  cv::Mat big = cv::Mat::zeros(60, 60, CV_8UC1);
  cv::circle(big, {25, 25}, 15, 255, cv::FILLED);
  cv::circle(big, {25, 25}, 5, 0, cv::FILLED);
  EXPECT_NEAR(postprocess::polygon_area(poly), cv::countNonZero(big), 0.02 * cv::countNonZero(big));
}

TEST(NucleusBuilder, measurements_of_a_disc_and_an_ellipse) {
  const double mpp = 0.5;
  core::RgbImage tile(64, 64);
  std::fill(tile.pixels.begin(), tile.pixels.end(), 255);
  const auto disc = ellipse_mask(64, 64, 32, 32, 20, 20, 0);
  const auto m = postprocess::measure(disc, 0, 0, tile, mpp);
  const double r_um = 20.5 * mpp;
  EXPECT_NEAR(m.area_um2, std::numbers::pi * r_um * r_um, 0.03 * m.area_um2);
  EXPECT_NEAR(m.perimeter_um, 2 * std::numbers::pi * r_um, 0.05 * m.perimeter_um);
  EXPECT_GT(m.circularity, 0.9);
  EXPECT_GT(m.solidity, 0.97);
  EXPECT_LT(m.eccentricity, 0.15);
  EXPECT_NEAR(m.major_axis_um, 2 * r_um, 0.05 * 2 * r_um);

  const auto ell = ellipse_mask(64, 64, 32, 32, 24, 12, 40);
  const auto e = postprocess::measure(ell, 0, 0, tile, mpp);
  EXPECT_NEAR(e.eccentricity, std::sqrt(1 - 0.25), 0.03);
  EXPECT_NEAR(e.major_axis_um / e.minor_axis_um, 2.0, 0.1);
}

TEST(NucleusBuilder, haematoxylin_stained_pixels_have_more_haematoxylin_than_eosin) {
  core::RgbImage tile(16, 16);
  for (std::size_t i = 0; i < tile.pixels.size(); i += 3) {
    tile.pixels[i] = 80;  // purple-blue nucleus
    tile.pixels[i + 1] = 60;
    tile.pixels[i + 2] = 150;
  }
  core::Mask all(16, 16, 255);
  const auto h = postprocess::measure(all, 0, 0, tile, 0.5);
  EXPECT_GT(h.hematoxylin_od, h.eosin_od);
  for (std::size_t i = 0; i < tile.pixels.size(); i += 3) {
    tile.pixels[i] = 240;  // pink cytoplasm
    tile.pixels[i + 1] = 130;
    tile.pixels[i + 2] = 190;
  }
  const auto e = postprocess::measure(all, 0, 0, tile, 0.5);
  EXPECT_GT(e.eosin_od, e.hematoxylin_od);
}

TEST(NucleusBuilder, build_nucleus_measures_a_level0_mask_against_analysis_pixels) {
  // A 40x slide analysed at 0.5 µm/px: level-0 pixels are half an analysis pixel.
  const postprocess::Frame frame{0.5, 2.0, 2.0};
  const auto mask = ellipse_mask(60, 60, 30, 30, 20, 14, 0);  // level-0 pixels (2100.., 4200..)
  // Analysis pixels: haematoxylin-dark on the left half of the image (x < 1065), pink on the right.
  core::RgbImage pixels(40, 40);
  for (int y = 0; y < 40; ++y)
    for (int x = 0; x < 40; ++x) {
      std::uint8_t* p = pixels.row(y) + x * 3;
      const bool dark = 1040 + x < 1065;
      p[0] = dark ? 60 : 240, p[1] = dark ? 40 : 130, p[2] = dark ? 140 : 190;
    }
  const auto n = postprocess::build_nucleus(mask, 2100, 4200, {&pixels, 1040, 2090}, frame, 0.9f, 7, "Nucleus");
  ASSERT_TRUE(n);
  EXPECT_NEAR(n->centroid.x, 2100 + 30.5, 0.6);  // level-0 pixels, not scaled from the analysis grid
  EXPECT_NEAR(n->centroid.y, 4200 + 30.5, 0.6);
  const double px = static_cast<double>(on_pixels(mask));
  EXPECT_NEAR(postprocess::polygon_area(n->polygon), px, 0.03 * px);  // outline traced at level 0 (simplified within 0.5 px)
  EXPECT_NEAR(n->measurements.area_um2, px * 0.25 * 0.25, 1e-9);      // level-0 µm/px = 0.5 / 2
  EXPECT_NEAR(n->measurements.major_axis_um, 40 * 0.25, 0.6);
  EXPECT_NEAR(n->measurements.minor_axis_um, 28 * 0.25, 0.6);
  // Left half of the nucleus (level-0 x < 2130) lies on dark analysis pixels (x < 1065), right half on pink.
  const auto left = postprocess::measure(ellipse_mask(30, 60, 30, 30, 20, 14, 0), 2100, 4200, {&pixels, 1040, 2090}, frame);
  EXPECT_GT(left.hematoxylin_od, n->measurements.hematoxylin_od);
  EXPECT_FLOAT_EQ(n->score, 0.9f);
  EXPECT_EQ(n->tile_id, 7);
  EXPECT_FALSE(postprocess::build_nucleus(core::Mask(10, 10), 0, 0, {&pixels, 0, 0}, frame, 0.5f, 0));
}

// ---- Outlines drawn or edited in the review app: measure_outline ------------------------------

core::Polygon rectangle(double x, double y, double w, double h) {
  core::Polygon p;
  p.outer = {{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}};
  return p;
}

TEST(NucleusBuilder, rasterized_rectangle_covers_its_pixels_whatever_its_offset) {
  for (const double off : {0.0, 0.25, 0.5, 0.75}) {
    const auto r = postprocess::rasterize_outline(rectangle(100 + off, 50 - off, 20, 30));
    EXPECT_EQ(on_pixels(r.mask), 600) << "offset " << off;
  }
  // A hole is cut out.
  auto ring = rectangle(0, 0, 20, 20);
  ring.holes.push_back(rectangle(5, 5, 10, 10).outer);
  EXPECT_EQ(on_pixels(postprocess::rasterize_outline(ring).mask), 400 - 100);
  EXPECT_EQ(postprocess::rasterize_outline(core::Polygon{}).mask.width, 0);
  EXPECT_THROW(postprocess::rasterize_outline(rectangle(0, 0, 5000, 10)), core::InvalidArgument);
  auto nan = rectangle(0, 0, 10, 10);
  nan.outer[1].x = std::nan("");
  EXPECT_THROW(postprocess::rasterize_outline(nan), core::InvalidArgument);
}

TEST(NucleusBuilder, a_drawn_rectangle_gets_every_measurement) {
  core::RgbImage slide(200, 200);
  for (std::size_t i = 0; i < slide.pixels.size(); i += 3) {
    slide.pixels[i] = 80;  // haematoxylin-blue everywhere
    slide.pixels[i + 1] = 60;
    slide.pixels[i + 2] = 150;
  }
  core::Nucleus drawn;
  drawn.uuid = "u";
  drawn.score = 1;
  drawn.state = core::ReviewState::Drawn;
  // Level-0 pixels 1000.. of a slide at 0.25 µm/px; the image starts at level-0 (950, 950).
  const auto n = postprocess::measure_outline(drawn, rectangle(1000.3, 1010.6, 40, 20), 0.25, 0.25, {&slide, 950, 950});
  EXPECT_EQ(n.uuid, "u");
  EXPECT_EQ(n.state, core::ReviewState::Drawn);
  EXPECT_EQ(n.polygon.outer.size(), 4u);  // kept as drawn
  EXPECT_DOUBLE_EQ(n.bbox.x0, 1000.3);
  EXPECT_DOUBLE_EQ(n.bbox.y1, 1030.6);
  EXPECT_NEAR(n.centroid.x, 1020.3, 0.51);
  EXPECT_NEAR(n.centroid.y, 1020.6, 0.51);
  const auto& m = n.measurements;
  EXPECT_DOUBLE_EQ(m.area_um2, 800 * 0.25 * 0.25);
  EXPECT_NEAR(m.perimeter_um, 120 * 0.25, 1e-6);
  EXPECT_NEAR(m.circularity, 4 * std::numbers::pi * 800 / (120.0 * 120.0), 1e-6);
  EXPECT_DOUBLE_EQ(m.solidity, 1.0);
  // Second moments of a 40 x 20 rectangle: variances 40²/12 and 20²/12 (the pixel's 1/12 included).
  EXPECT_NEAR(m.major_axis_um, 4 * std::sqrt(40.0 * 40 / 12) * 0.25, 1e-6);
  EXPECT_NEAR(m.minor_axis_um, 4 * std::sqrt(20.0 * 20 / 12) * 0.25, 1e-6);
  EXPECT_NEAR(m.eccentricity, std::sqrt(1 - 0.25), 1e-6);
  // Stain densities of the slide's pixels under the outline, as measure() gives for the same pixels.
  core::Mask all(16, 16, 255);
  const auto ref = postprocess::measure(all, 0, 0, slide, 0.25);
  EXPECT_GT(m.hematoxylin_od, 0);
  EXPECT_NEAR(m.hematoxylin_od, ref.hematoxylin_od, 1e-12);  // (summed over other pixel counts)
  EXPECT_NEAR(m.eosin_od, ref.eosin_od, 1e-12);
  // Without pixels the shape is still measured; the stains are left at 0.
  const auto bare = postprocess::measure_outline(drawn, rectangle(1000.3, 1010.6, 40, 20), 0.25, 0.25);
  EXPECT_DOUBLE_EQ(bare.measurements.area_um2, m.area_um2);
  EXPECT_EQ(bare.measurements.hematoxylin_od, 0);
  // An outline covering no pixel centre measures nothing (and does not throw).
  core::Polygon flat;
  flat.outer = {{10, 10}, {20, 10}, {30, 10}};
  const auto f = postprocess::measure_outline(drawn, flat, 0.25, 0.25);
  EXPECT_EQ(f.measurements.area_um2, 0);
  EXPECT_DOUBLE_EQ(f.centroid.x, 20);
}

TEST(NucleusBuilder, a_detection_remeasured_from_its_outline_matches_its_measurements) {
  // What the app does after a vertex drag: the detection's own outline, re-measured, must give what
  // the pipeline measured (the outline is traced through pixel corners, so within a pixel's worth).
  core::RgbImage slide(80, 80);
  for (int y = 0; y < 80; ++y)
    for (int x = 0; x < 80; ++x) {
      std::uint8_t* p = slide.row(y) + x * 3;
      p[0] = static_cast<std::uint8_t>(60 + 2 * x), p[1] = static_cast<std::uint8_t>(40 + y), p[2] = 150;
    }
  const auto mask = ellipse_mask(60, 60, 30, 30, 22, 13, 35);
  const auto det = postprocess::build_nucleus(mask, 510, 720, {&slide, 500, 700}, {0.25, 1, 1}, 0.8f, 3);
  ASSERT_TRUE(det);
  const auto again = postprocess::measure_outline(*det, det->polygon, 0.25, 0.25, {&slide, 500, 700});
  const auto& a = det->measurements;
  const auto& b = again.measurements;
  EXPECT_NEAR(b.area_um2, a.area_um2, 0.02 * a.area_um2);
  EXPECT_NEAR(b.perimeter_um, a.perimeter_um, 0.03 * a.perimeter_um);
  EXPECT_NEAR(b.circularity, a.circularity, 0.03);
  EXPECT_NEAR(b.solidity, a.solidity, 0.02);
  EXPECT_NEAR(b.eccentricity, a.eccentricity, 0.02);
  EXPECT_NEAR(b.major_axis_um, a.major_axis_um, 0.02 * a.major_axis_um);
  EXPECT_NEAR(b.minor_axis_um, a.minor_axis_um, 0.02 * a.minor_axis_um);
  EXPECT_NEAR(b.hematoxylin_od, a.hematoxylin_od, 0.01 * a.hematoxylin_od);
  EXPECT_NEAR(b.eosin_od, a.eosin_od, 0.02 * std::abs(a.eosin_od) + 1e-3);
  EXPECT_NEAR(again.centroid.x, det->centroid.x, 0.2);
  EXPECT_NEAR(again.centroid.y, det->centroid.y, 0.2);
  EXPECT_FLOAT_EQ(again.score, 0.8f);
}

}  // namespace
