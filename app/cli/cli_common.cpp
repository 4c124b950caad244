#include "cli_common.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <vector>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "karyon/core/errors.hpp"

namespace karyon::cli {
namespace {

core::CancelToken g_stop;
volatile std::sig_atomic_t g_stop_signal = 0;
std::vector<std::string> g_command_line;

extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
  g_stop.cancel();               // lock-free atomic store: async-signal-safe
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills at once (and the next run still resumes)
}

std::string shell_quote(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") ==
                        std::string::npos)
    return a;
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace

core::CancelToken& stop_token() { return g_stop; }

void stop_on_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);  // Slurm sends SIGTERM at the time limit / scancel
}

int stopped_exit_code() { return 128 + (g_stop_signal ? static_cast<int>(g_stop_signal) : SIGINT); }

void remember_command_line(int argc, char** argv) { g_command_line.assign(argv, argv + argc); }

std::string command_line_with(const std::string& extra) {
  std::string out;
  bool present = false;
  for (const auto& a : g_command_line) {
    out += (out.empty() ? "" : " ") + shell_quote(a);
    present = present || a == extra;
  }
  return present ? out : out + " " + extra;
}

ProgressLine::ProgressLine(int log_steps) : tty_(isatty(STDERR_FILENO)), log_steps_(std::max(1, log_steps)) {}

void ProgressLine::show(const std::string& label, long long done, long long total, const std::string& detail) {
  const double frac = total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 1.0;
  if (tty_) {
    const int width = 30, filled = static_cast<int>(frac * width);
    std::fprintf(stderr, "\r%s [%.*s%*s] %3.0f%%  %lld/%lld  %s   ", label.c_str(), filled,
                 "##############################", width - filled, "", 100 * frac, done, total, detail.c_str());
    if (done >= total) std::fprintf(stderr, "\n");
    return;
  }
  const int step = static_cast<int>(frac * log_steps_);
  if (step == last_step_ && label == last_label_) return;
  last_step_ = step;
  last_label_ = label;
  std::fprintf(stderr, "%s %lld/%lld (%.0f%%)  %s\n", label.c_str(), done, total, 100 * frac, detail.c_str());
}

core::ProgressCallback progress_bar() {
  auto line = std::make_shared<ProgressLine>(10);
  const auto start = std::chrono::steady_clock::now();
  return [=](const core::ProgressUpdate& u) {
    const double frac = u.total > 0 ? static_cast<double>(u.done) / u.total : 0;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char left[32];
    std::snprintf(left, sizeof left, "%.0fs left", frac > 0 ? secs * (1 - frac) / frac : 0.0);
    line->show(u.stage, static_cast<long long>(u.done), static_cast<long long>(u.total), left);
  };
}

nlohmann::json metadata_json(const tiling::SlideMetadata& m) {
  nlohmann::json j;
  j["path"] = m.path.string();
  j["format"] = m.format;
  j["width"] = m.width();
  j["height"] = m.height();
  j["levels"] = nlohmann::json::array();
  for (const auto& l : m.levels) j["levels"].push_back({{"width", l.width}, {"height", l.height}, {"downsample", l.downsample}});
  j["mpp_x"] = m.mpp_x ? nlohmann::json(*m.mpp_x) : nlohmann::json(nullptr);
  j["mpp_y"] = m.mpp_y ? nlohmann::json(*m.mpp_y) : nlohmann::json(nullptr);
  j["mpp_source"] = m.mpp_source;
  j["objective_power"] = m.objective_power ? nlohmann::json(*m.objective_power) : nlohmann::json(nullptr);
  j["associated_images"] = m.associated_images;
  j["properties"] = m.properties;
  return j;
}

nlohmann::json plan_json(const tiling::TilePlan& plan, const tiling::TissueMask* tissue) {
  const auto& r = plan.resolution;
  nlohmann::json j;
  j["target_mpp"] = r.target_mpp;
  j["slide_mpp"] = {r.slide_mpp_x, r.slide_mpp_y};
  j["mpp_source"] = r.mpp_source;
  j["read_level"] = r.read_level;
  j["read_downsample"] = r.read_downsample;
  j["level0_px_per_analysis_px"] = {r.scale_x, r.scale_y};
  j["tile_size"] = plan.tile_size;
  j["overlap"] = plan.overlap;
  j["grid"] = {{"cols", plan.cols}, {"rows", plan.rows}};
  j["extent_analysis_px"] = {plan.extent.x, plan.extent.y, plan.extent.width, plan.extent.height};
  j["grid_tiles"] = plan.grid_tiles;
  j["tissue_tiles"] = plan.tiles.size();
  if (tissue) j["tissue_fraction"] = tissue->tissue_fraction();
  j["warnings"] = r.warnings;
  return j;
}

core::Level0Rect parse_region(const std::string& text) {
  long long v[4];
  char tail = 0;
  if (std::sscanf(text.c_str(), "%lld,%lld,%lld,%lld%c", &v[0], &v[1], &v[2], &v[3], &tail) != 4 || v[2] <= 0 || v[3] <= 0)
    throw core::InvalidArgument("--region '" + text + "': expected x,y,width,height in level-0 pixels, e.g. 1000,2000,4096,4096");
  return core::Level0Rect{v[0], v[1], v[2], v[3]};
}

void write_plan_thumbnail(const tiling::Slide& slide, const tiling::TissueMask& tissue, const tiling::TilePlan& plan,
                          const std::string& png_path) {
  double ds = 1;
  core::RgbImage thumb = tiling::read_thumbnail(slide, 1600, ds);
  cv::Mat rgb(thumb.height, thumb.width, CV_8UC3, thumb.pixels.data());
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  // Tissue outlined in green.
  cv::Mat mask(tissue.mask.height, tissue.mask.width, CV_8UC1, const_cast<std::uint8_t*>(tissue.mask.pixels.data()));
  cv::Mat mask_scaled;
  cv::resize(mask, mask_scaled, bgr.size(), 0, 0, cv::INTER_NEAREST);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask_scaled, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  cv::drawContours(bgr, contours, -1, cv::Scalar(40, 170, 40), 2);
  // Tile cores outlined in blue.
  for (const auto& t : plan.tiles) {
    const auto l0 = plan.to_level0(t.core);
    cv::rectangle(bgr, cv::Point(static_cast<int>(l0.x / ds), static_cast<int>(l0.y / ds)),
                  cv::Point(static_cast<int>(l0.right() / ds) - 1, static_cast<int>(l0.bottom() / ds) - 1),
                  cv::Scalar(200, 80, 20), 1);
  }
  if (!cv::imwrite(png_path, bgr)) throw core::OutputError(png_path + ": cannot write PNG");
}

}  // namespace karyon::cli
