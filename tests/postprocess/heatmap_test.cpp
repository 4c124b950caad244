// The heatmap's colour scale, which the PNG export and the app's overlay share (issue 15 item 1).
#include <gtest/gtest.h>

#include "karyon/postprocess/heatmap.hpp"

using namespace karyon;

namespace {
postprocess::HeatmapGrid grid_of(std::vector<double> density) {
  postprocess::HeatmapGrid g;
  g.cols = static_cast<int>(density.size());
  g.rows = 1;
  g.density_per_mm2 = std::move(density);
  g.mean_area_um2.assign(g.density_per_mm2.size(), 0);
  g.no_data.assign(g.density_per_mm2.size(), 0);
  return g;
}
}  // namespace

TEST(Heatmap, one_crowded_cell_does_not_wash_out_the_scale) {
  std::vector<double> d(100, 10.0);
  d.push_back(1000.0);  // one outlier among 101 occupied cells
  d.push_back(0.0);     // and one empty cell
  const auto g = grid_of(d);
  EXPECT_DOUBLE_EQ(postprocess::heatmap_scale_max(g), 10.0);
  EXPECT_DOUBLE_EQ(postprocess::heatmap_scale_max(grid_of({0, 0})), 0.0);
}

TEST(Heatmap, cells_are_inferno_transparent_where_empty_and_grey_where_not_analysed) {
  auto g = grid_of({0, 0.01, 50, 100, 400, 7});
  g.no_data[5] = 1;
  const auto rgba = postprocess::heatmap_rgba(g, 100);
  const auto px = [&](int i) { return std::array<int, 4>{rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2], rgba[i * 4 + 3]}; };
  EXPECT_EQ(px(0)[3], 0);                              // no nucleus: nothing drawn
  EXPECT_EQ(px(1)[3], 255);                            // a sparse cell is still drawn ...
  EXPECT_NE(px(1), px(0));
  EXPECT_EQ(px(3), px(4));                             // at and above the scale's top: the same colour
  EXPECT_GT(px(3)[0], 240);                            // inferno ends in light yellow
  EXPECT_GT(px(3)[1], 240);
  EXPECT_LT(px(1)[0] + px(1)[1] + px(1)[2], 40);       // ... and starts near black
  EXPECT_GT(px(2)[0], px(2)[2]);                       // the middle is red-orange, not viridis' green
  EXPECT_EQ(px(5), (std::array<int, 4>{128, 128, 128, 255}));  // not analysed
  const auto top = postprocess::heatmap_scale_colour(1.0);
  EXPECT_EQ((std::array<int, 3>{top[0], top[1], top[2]}), (std::array<int, 3>{px(3)[0], px(3)[1], px(3)[2]}));
}
