// karyon-cli detect IMAGE --model MODEL: runs the Mask R-CNN on one image as a single tile (no
// tiling, no resize beyond what the model card asks for) and prints the detections. Meant for
// checking a model file and for comparing against torchvision by hand.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/inference/model.hpp"
#include "karyon/tiling/slide.hpp"

namespace karyon::cli {
namespace {

struct DetectArgs {
  std::string image;
  std::string model;
  std::string device = "cpu";
  std::string precision = "fp32";
  double score_threshold = -1;
  bool json = false;
};

// Plain images are read by tiling's image fallback (OpenCV imgcodecs), so PNG/JPEG/TIFF all work.
core::RgbImage read_image(const std::string& path) {
  const auto slide = tiling::Slide::open(path);
  const auto& md = slide->metadata();
  constexpr std::int64_t kMaxSide = 8192;  // one forward pass; whole slides go through `batch`
  if (md.width() > kMaxSide || md.height() > kMaxSide)
    throw core::InvalidArgument("image '" + path + "' is " + std::to_string(md.width()) + "x" +
                                std::to_string(md.height()) + " px; detect runs one tile of at most " +
                                std::to_string(kMaxSide) + " px a side");
  core::RgbImage img;
  slide->read_region(0, 0, 0, static_cast<int>(md.width()), static_cast<int>(md.height()), img);
  return img;
}

void run_detect(const DetectArgs& a) {
  inference::ModelOptions mo;
  mo.device = a.device;
  mo.precision = inference::parse_precision(a.precision);
  mo.score_threshold = a.score_threshold;
  const auto model = inference::Model::load(a.model, mo);
  const core::RgbImage img = read_image(a.image);
  const auto t0 = std::chrono::steady_clock::now();
  const auto dets = model.detect(img);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto& names = model.card().class_names;
  auto class_name = [&](int l) { return l >= 0 && l < static_cast<int>(names.size()) ? names[l] : std::to_string(l); };
  if (a.json) {
    nlohmann::json j;
    j["image"] = a.image;
    j["width"] = img.width;
    j["height"] = img.height;
    j["model"] = a.model;
    j["device"] = model.device();
    j["inference_ms"] = ms;
    j["detections"] = nlohmann::json::array();
    for (const auto& d : dets) {
      // Mask as run-lengths over its box-local grid (row-major, starting with a run of 0s).
      std::vector<int> rle;
      std::uint8_t cur = 0;
      int run = 0;
      for (std::uint8_t v : d.mask.pixels) {
        if ((v != 0) != (cur != 0)) {
          rle.push_back(run);
          run = 0;
          cur = v;
        }
        ++run;
      }
      rle.push_back(run);
      j["detections"].push_back({{"box", {d.x0, d.y0, d.x1, d.y1}},
                                 {"score", d.score},
                                 {"label", d.label},
                                 {"class", class_name(d.label)},
                                 {"mask_area", d.mask_area},
                                 {"mask", {{"x", d.mask_x}, {"y", d.mask_y}, {"width", d.mask.width},
                                           {"height", d.mask.height}, {"rle", rle}}}});
    }
    std::cout << j.dump() << "\n";
    return;
  }
  std::printf("%s: %dx%d px, %zu detection(s) on %s in %.1f ms\n", a.image.c_str(), img.width, img.height,
              dets.size(), model.device().c_str(), ms);
  std::printf("%5s %9s %9s %9s %9s %7s %-12s %9s\n", "#", "x0", "y0", "x1", "y1", "score", "class", "mask_px");
  for (std::size_t i = 0; i < dets.size(); ++i) {
    const auto& d = dets[i];
    std::printf("%5zu %9.2f %9.2f %9.2f %9.2f %7.4f %-12s %9lld\n", i, d.x0, d.y0, d.x1, d.y1, d.score,
                class_name(d.label).c_str(), static_cast<long long>(d.mask_area));
  }
}

}  // namespace

void register_detect_command(CLI::App& app) {
  auto args = std::make_shared<DetectArgs>();
  CLI::App* sub = app.add_subcommand("detect", "Run the nucleus model on one image (single tile, no tiling)");
  sub->add_option("image", args->image, "Image file (PNG, JPEG, TIFF)")->required();
  sub->add_option("-m,--model", args->model, "Model card (.json) or weights (.safetensors with its card beside it)")
      ->required();
  sub->add_option("--device", args->device, "cpu, cuda or cuda:N (no CUDA: falls back to cpu)");
  sub->add_option("--precision", args->precision, "fp32, fp16 or bf16 (fp16/bf16 on CUDA only)");
  sub->add_option("--score-threshold", args->score_threshold, "Override the model card's box score threshold")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_flag("--json", args->json, "Machine-readable output (boxes, scores, masks as run-lengths)");
  sub->callback([args] { run_detect(*args); });
}

}  // namespace karyon::cli
