#include "karyon/postprocess/heatmap.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"

namespace karyon::postprocess {

HeatmapGrid heatmap_geometry(std::int64_t width, std::int64_t height, double mpp_x, double mpp_y, double cell_um) {
  HeatmapGrid g;
  g.cell_um = cell_um;
  if (!(cell_um > 0 && std::isfinite(cell_um)))
    throw core::InvalidArgument("heatmap cell of " + std::to_string(cell_um) + " µm: must be a positive size");
  g.cell_px_x = cell_um / mpp_x;
  g.cell_px_y = cell_um / mpp_y;
  if (!(g.cell_px_x >= 1 && g.cell_px_y >= 1))
    throw core::InvalidArgument("heatmap cell of " + std::to_string(cell_um) + " µm is smaller than a pixel");
  const double cols = std::max(1.0, std::ceil(width / g.cell_px_x)), rows = std::max(1.0, std::ceil(height / g.cell_px_y));
  if (cols * rows > (1 << 24))
    throw core::InvalidArgument("heatmap cell of " + std::to_string(cell_um) + " µm makes a grid too large");
  g.cols = static_cast<int>(cols);
  g.rows = static_cast<int>(rows);
  g.no_data.assign(static_cast<std::size_t>(g.cols) * g.rows, 0);
  return g;
}

void mark_no_data(HeatmapGrid& g, const core::Level0Rect& area) {
  // Cell c's centre (c + 0.5) * cell_px lies in [x, right) for c in [first, last).
  auto first = [](std::int64_t v, double px) { return static_cast<int>(std::ceil(v / px - 0.5)); };
  const int c0 = std::max(0, first(area.x, g.cell_px_x)), c1 = std::min(g.cols, first(area.right(), g.cell_px_x));
  const int r0 = std::max(0, first(area.y, g.cell_px_y)), r1 = std::min(g.rows, first(area.bottom(), g.cell_px_y));
  for (int r = r0; r < r1; ++r)
    for (int c = c0; c < c1; ++c) g.no_data[static_cast<std::size_t>(r) * g.cols + c] = 1;
}

HeatmapGrid compute_heatmap(const ResultStore& store, std::int64_t width, std::int64_t height, double mpp_x,
                            double mpp_y, double cell_um) {
  HeatmapGrid g = heatmap_geometry(width, height, mpp_x, mpp_y, cell_um);
  std::vector<std::int64_t> count(static_cast<std::size_t>(g.cols) * g.rows, 0);
  std::vector<double> area(count.size(), 0);
  store.for_each([&](const core::Nucleus& n) {
    const int c = std::clamp(static_cast<int>(n.centroid.x / g.cell_px_x), 0, g.cols - 1);
    const int r = std::clamp(static_cast<int>(n.centroid.y / g.cell_px_y), 0, g.rows - 1);
    ++count[static_cast<std::size_t>(r) * g.cols + c];
    area[static_cast<std::size_t>(r) * g.cols + c] += n.measurements.area_um2;
  });
  const double cell_mm2 = cell_um * cell_um * 1e-6;
  g.density_per_mm2.resize(count.size());
  g.mean_area_um2.resize(count.size());
  for (std::size_t i = 0; i < count.size(); ++i) {
    g.density_per_mm2[i] = count[i] / cell_mm2;
    g.mean_area_um2[i] = count[i] ? area[i] / count[i] : 0;
  }
  for (const auto& t : store.damaged_tiles())
    for (const auto& hole : t.left_out_areas) mark_no_data(g, hole);
  return g;
}

double heatmap_scale_max(const HeatmapGrid& g) {
  std::vector<double> occupied;
  for (double d : g.density_per_mm2)
    if (d > 0) occupied.push_back(d);
  if (occupied.empty()) return 0;
  const std::size_t k = std::min(occupied.size() - 1, static_cast<std::size_t>(occupied.size() * 0.99));
  std::nth_element(occupied.begin(), occupied.begin() + static_cast<std::ptrdiff_t>(k), occupied.end());
  return occupied[k];
}

std::array<std::uint8_t, 3> heatmap_scale_colour(double fraction) {
  // OpenCV's inferno table, read once: perceptually ordered, legible in grey-scale print and with
  // red-green colour blindness.
  static const cv::Mat table = [] {
    cv::Mat ramp(1, 256, CV_8U);
    for (int i = 0; i < 256; ++i) ramp.at<std::uint8_t>(0, i) = static_cast<std::uint8_t>(i);
    cv::Mat bgr;
    cv::applyColorMap(ramp, bgr, cv::COLORMAP_INFERNO);
    return bgr;
  }();
  const int i = static_cast<int>(std::lround(255 * std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0)));
  const auto c = table.at<cv::Vec3b>(0, i);
  return {c[2], c[1], c[0]};
}

std::vector<std::uint8_t> heatmap_rgba(const HeatmapGrid& g, double scale_max) {
  const std::size_t cells = static_cast<std::size_t>(g.cols) * g.rows;
  std::vector<std::uint8_t> rgba(cells * 4, 0);
  for (std::size_t i = 0; i < cells; ++i) {
    std::uint8_t* p = &rgba[i * 4];
    const double d = g.density_per_mm2[i];
    if (i < g.no_data.size() && g.no_data[i]) {
      p[0] = p[1] = p[2] = 128;
      p[3] = 255;
    } else if (d > 0 && scale_max > 0) {
      // At least one step up the scale: a sparse cell must not look empty.
      const auto c = heatmap_scale_colour(std::max(1.0 / 255, d / scale_max));
      p[0] = c[0];
      p[1] = c[1];
      p[2] = c[2];
      p[3] = 255;
    }
  }
  return rgba;
}

void write_heatmap_png(const HeatmapGrid& g, const std::filesystem::path& path) {
  const auto rgba = heatmap_rgba(g, heatmap_scale_max(g));
  cv::Mat colour(g.rows, g.cols, CV_8UC3, cv::Scalar(255, 255, 255));  // no nucleus: white (background)
  for (int r = 0; r < g.rows; ++r)
    for (int c = 0; c < g.cols; ++c) {
      const std::uint8_t* p = &rgba[(static_cast<std::size_t>(r) * g.cols + c) * 4];
      if (p[3]) colour.at<cv::Vec3b>(r, c) = cv::Vec3b(p[2], p[1], p[0]);
    }
  const int up = std::max(1, 512 / std::max(g.cols, g.rows));
  cv::resize(colour, colour, {}, up, up, cv::INTER_NEAREST);
  std::vector<std::uint8_t> png;
  if (!cv::imencode(".png", colour, png)) throw core::OutputError(path.string() + ": cannot encode heatmap PNG");
  core::write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()), "heatmap PNG");
}

void write_heatmap_json(const HeatmapGrid& g, const std::filesystem::path& path) {
  nlohmann::json j;
  j["cell_um"] = g.cell_um;
  j["cell_level0_px"] = {g.cell_px_x, g.cell_px_y};
  j["cols"] = g.cols;
  j["rows"] = g.rows;
  j["layout"] = "row-major; cell (c, r) covers level-0 x in [c, c+1) * cell_level0_px[0], y likewise; "
                "null: not analysed (a damaged tile left out)";
  auto values = [&](const std::vector<double>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (std::size_t i = 0; i < v.size(); ++i)
      a.push_back(i < g.no_data.size() && g.no_data[i] ? nlohmann::json(nullptr) : nlohmann::json(v[i]));
    return a;
  };
  j["density_per_mm2"] = values(g.density_per_mm2);
  j["mean_area_um2"] = values(g.mean_area_um2);
  core::write_file_atomically(path, j.dump() + "\n", "heatmap grid");
}

}  // namespace karyon::postprocess
