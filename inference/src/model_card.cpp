#include "karyon/inference/model_card.hpp"

#include <filesystem>
#include <algorithm>
#include <climits>
#include <cmath>
#include <type_traits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"

namespace karyon::inference {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& why) {
  throw core::ModelError("model card '" + path + "': " + why);
}

// Whether a JSON value can be an int key's value: an integer (or integral float, e.g. 2.0) within int's range.
// Checked before get<int>(), which casts as is (1e30: undefined behaviour; 2.5: silently 2).
bool is_int(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT_MAX);
  if (v.is_number_integer()) return v.get<std::int64_t>() >= INT_MIN && v.get<std::int64_t>() <= INT_MAX;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == std::floor(d) && d >= INT_MIN && d <= INT_MAX;
}

template <typename T>
void get_opt(const json& obj, const char* key, T& out, const std::string& path, const std::string& where) {
  if (!obj.contains(key)) return;
  const json& v = obj.at(key);
  auto not_int = [&] { fail(path, "key '" + where + key + "' must be an integer, got " + v.dump().substr(0, 40)); };
  if constexpr (std::is_same_v<T, int>) {
    if (!is_int(v)) not_int();
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    if (v.is_array() && !std::all_of(v.begin(), v.end(), is_int)) not_int();
  }
  try {
    out = obj.at(key).get<T>();
  } catch (const json::exception& e) {
    fail(path, "key '" + where + key + "' has the wrong type: " + e.what());
  }
}

}  // namespace

int ArchitectureConfig::anchors_per_location() const {
  if (anchor_sizes.empty() || anchor_sizes.size() != aspect_ratios.size())
    throw core::ModelError("architecture: anchor_sizes has " + std::to_string(anchor_sizes.size()) +
                           " levels but aspect_ratios has " + std::to_string(aspect_ratios.size()));
  const std::size_t a = anchor_sizes[0].size() * aspect_ratios[0].size();
  for (std::size_t i = 0; i < anchor_sizes.size(); ++i)
    if (anchor_sizes[i].size() * aspect_ratios[i].size() != a)
      throw core::ModelError("architecture: every FPN level needs the same number of anchors per location");
  return static_cast<int>(a);
}

int ArchitectureConfig::top_n_for(int count, long long content) const {
  if (top_n_reference_area <= 0) return count;
  // floor(x + 0.5), not llround: tools/train/model.py computes the same in Python for torchvision.
  const double area = static_cast<double>(std::max(content, kMinContentPixels));
  const double scaled = std::floor(static_cast<double>(count) * area / top_n_reference_area + 0.5);
  return static_cast<int>(std::clamp(scaled, 1.0, 1e9));
}

long long content_pixels(const std::uint8_t* rgb, long long n_pixels) {
  long long n = 0;
  for (long long i = 0; i < n_pixels; ++i, rgb += 3) n += (rgb[0] < 210 || rgb[1] < 210 || rgb[2] < 210);
  return n;
}

namespace {

// Values no trained model has: refused here, not turned into 0 detections (or an allocation failure) later.
void check_values(const ModelCard& c, const std::string& path) {
  const auto& A = c.architecture;
  auto within = [](double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  for (const auto& level : A.anchor_sizes)
    for (double s : level)
      if (!within(s, 1, 8192))
        fail(path, "architecture.anchor_sizes holds " + std::to_string(s) + ": anchor sizes are pixels within 1..8192");
  for (const auto& level : A.aspect_ratios)
    for (double r : level)
      if (!within(r, 0.01, 100))
        fail(path, "architecture.aspect_ratios holds " + std::to_string(r) + ": aspect ratios are within 0.01..100");
  for (const auto& [key, v] : {std::pair{"fpn_out_channels", A.fpn_out_channels}, {"representation_size", A.representation_size},
                               {"mask_dim_reduced", A.mask_dim_reduced}, {"num_classes", A.num_classes}})
    if (v < 1 || v > 16384) fail(path, std::string("architecture.") + key + " " + std::to_string(v) + " is not within 1..16384");
  for (int v : A.mask_layers)
    if (v < 1 || v > 16384) fail(path, "architecture.mask_layers holds " + std::to_string(v) + ", not within 1..16384");
  if (A.rpn_pre_nms_top_n > 1'000'000 || A.rpn_post_nms_top_n > 1'000'000 || c.thresholds.detections_per_img > 1'000'000)
    fail(path, "top-n counts (rpn_pre_nms_top_n, rpn_post_nms_top_n, detections_per_img) must be at most 1000000");
  if (A.box_roi_size > 64 || A.mask_roi_size > 64 || A.sampling_ratio < 0 || A.sampling_ratio > 64 || A.size_divisible > 1024)
    fail(path, "architecture ROI sizes and sampling_ratio must be within 0..64, size_divisible within 1..1024");
  if (A.min_size < 0 || A.max_size < 0 || A.max_size > 65536 || A.min_size > A.max_size)
    fail(path, "architecture.min_size/max_size must be 0 (no resize) or 0 < min_size <= max_size <= 65536");
  if (!within(A.rpn_nms_thresh, 0, 1) || !within(A.rpn_score_thresh, 0, 1))
    fail(path, "architecture.rpn_nms_thresh and rpn_score_thresh must be within [0, 1]");
  const auto& t = c.thresholds;
  if (!within(t.box_score, 0, 1) || t.box_score >= 1)
    fail(path, "thresholds.box_score " + std::to_string(t.box_score) + " must be within [0, 1)");
  if (!within(t.box_nms, 0, 1) || t.box_nms <= 0) fail(path, "thresholds.box_nms " + std::to_string(t.box_nms) + " must be within (0, 1]");
  if (!within(t.mask, 0, 1) || t.mask >= 1) fail(path, "thresholds.mask " + std::to_string(t.mask) + " must be within [0, 1)");
  for (double m : c.image_mean)
    if (!within(m, 0, 1)) fail(path, "input.image_mean must be within [0, 1] (per channel, of 0..1 pixels)");
  for (double s : c.image_std)
    if (!within(s, 1e-6, 1e6)) fail(path, "input.image_std must be positive");
}

}  // namespace

ModelCard read_model_card(const std::string& path) {
  if (const auto problem = core::regular_file_problem(path)) fail(path, "cannot open: " + *problem);
  std::ifstream in(path);
  if (!in) fail(path, "cannot open (missing or unreadable)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(path, "not a JSON object");
  ModelCard c;
  c.card_path = path;
  get_opt(j, "format", c.format, path, "");
  if (c.format != "karyon-maskrcnn/1")
    fail(path, "unsupported format '" + c.format + "' (expected \"karyon-maskrcnn/1\")");
  get_opt(j, "name", c.name, path, "");
  std::string weights;
  get_opt(j, "weights", weights, path, "");
  if (weights.empty()) weights = fs::path(path).stem().string() + ".safetensors";
  fs::path wp(weights);
  if (wp.is_relative()) wp = fs::path(path).parent_path() / wp;
  c.weights_path = wp.string();

  if (j.contains("architecture")) {
    const json& a = j["architecture"];
    if (!a.is_object()) fail(path, "'architecture' is not an object");
    auto& A = c.architecture;
    const std::string w = "architecture.";
    get_opt(a, "backbone", A.backbone, path, w);
    get_opt(a, "num_classes", A.num_classes, path, w);
    get_opt(a, "fpn_out_channels", A.fpn_out_channels, path, w);
    get_opt(a, "representation_size", A.representation_size, path, w);
    get_opt(a, "mask_layers", A.mask_layers, path, w);
    get_opt(a, "mask_dim_reduced", A.mask_dim_reduced, path, w);
    get_opt(a, "anchor_sizes", A.anchor_sizes, path, w);
    get_opt(a, "aspect_ratios", A.aspect_ratios, path, w);
    get_opt(a, "rpn_pre_nms_top_n", A.rpn_pre_nms_top_n, path, w);
    get_opt(a, "rpn_post_nms_top_n", A.rpn_post_nms_top_n, path, w);
    get_opt(a, "rpn_nms_thresh", A.rpn_nms_thresh, path, w);
    get_opt(a, "rpn_score_thresh", A.rpn_score_thresh, path, w);
    get_opt(a, "top_n_reference_area", A.top_n_reference_area, path, w);
    if (!(A.top_n_reference_area >= 0) || A.top_n_reference_area > 1e12)
      fail(path, "architecture.top_n_reference_area must be 0 (per image) or a pixel count");
    get_opt(a, "box_roi_size", A.box_roi_size, path, w);
    get_opt(a, "mask_roi_size", A.mask_roi_size, path, w);
    get_opt(a, "sampling_ratio", A.sampling_ratio, path, w);
    get_opt(a, "min_size", A.min_size, path, w);
    get_opt(a, "max_size", A.max_size, path, w);
    get_opt(a, "size_divisible", A.size_divisible, path, w);
    const std::string bb = A.backbone;
    if (bb != "resnet18" && bb != "resnet34" && bb != "resnet50" && bb != "resnet101")
      fail(path, "architecture.backbone '" + bb + "' is not supported (resnet18, resnet34, resnet50, resnet101)");
    if (A.num_classes < 2) fail(path, "architecture.num_classes must be >= 2 (background + at least one class)");
    if (A.anchor_sizes.size() != 5)
      fail(path, "architecture.anchor_sizes needs 5 levels (FPN P2..P6), got " + std::to_string(A.anchor_sizes.size()));
    try {
      (void)A.anchors_per_location();
    } catch (const core::ModelError& e) {
      fail(path, e.what());
    }
    if (A.mask_layers.empty()) fail(path, "architecture.mask_layers is empty");
    if (A.box_roi_size <= 0 || A.mask_roi_size <= 0 || A.size_divisible <= 0 || A.rpn_pre_nms_top_n <= 0 ||
        A.rpn_post_nms_top_n <= 0)
      fail(path, "architecture sizes and top-n values must be positive");
    if ((A.min_size > 0) != (A.max_size > 0)) fail(path, "architecture.min_size and max_size must both be set or both 0");
  }
  if (j.contains("input")) {
    const json& in2 = j["input"];
    if (in2.contains("mpp")) {  // absent: unknown (detect runs, analyze refuses); present: a real µm/px
      get_opt(in2, "mpp", c.mpp, path, "input.");
      if (!(c.mpp > 0.01 && c.mpp < 100))
        fail(path, "input.mpp " + std::to_string(c.mpp) + " is not a plausible µm/px (e.g. 0.25 or 0.5)");
    }
    get_opt(in2, "image_mean", c.image_mean, path, "input.");
    get_opt(in2, "image_std", c.image_std, path, "input.");
    get_opt(in2, "min_tile_size", c.min_tile_size, path, "input.");
    if (c.min_tile_size != 0 && (c.min_tile_size < 64 || c.min_tile_size > 8192))
      fail(path, "input.min_tile_size " + std::to_string(c.min_tile_size) + " must be 0 (no minimum) or within 64..8192 px");
  }
  get_opt(j, "class_names", c.class_names, path, "");
  if (c.class_names.empty()) {
    c.class_names.push_back("background");
    for (int i = 1; i < c.architecture.num_classes; ++i) c.class_names.push_back("class" + std::to_string(i));
  }
  if (static_cast<int>(c.class_names.size()) != c.architecture.num_classes)
    fail(path, "class_names has " + std::to_string(c.class_names.size()) + " names but architecture.num_classes is " +
                   std::to_string(c.architecture.num_classes));
  if (j.contains("thresholds")) {
    const json& t = j["thresholds"];
    get_opt(t, "box_score", c.thresholds.box_score, path, "thresholds.");
    get_opt(t, "box_nms", c.thresholds.box_nms, path, "thresholds.");
    get_opt(t, "detections_per_img", c.thresholds.detections_per_img, path, "thresholds.");
    get_opt(t, "mask", c.thresholds.mask, path, "thresholds.");
    if (c.thresholds.detections_per_img <= 0) fail(path, "thresholds.detections_per_img must be positive");
  }
  if (j.contains("provenance")) {
    c.provenance_json = j["provenance"].dump();
    if (j["provenance"].is_object() && j["provenance"].contains("weights_sha256")) {
      get_opt(j["provenance"], "weights_sha256", c.weights_sha256, path, "provenance.");
      const bool hex = c.weights_sha256.size() == 64 &&
                       std::all_of(c.weights_sha256.begin(), c.weights_sha256.end(),
                                   [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) || (ch >= 'a' && ch <= 'f'); });
      if (!hex) fail(path, "provenance.weights_sha256 is not 64 lowercase hex digits");
    }
  }
  if (j.contains("metrics")) c.metrics_json = j["metrics"].dump();
  get_opt(j, "license", c.license, path, "");
  check_values(c, path);
  return c;
}

ModelCard resolve_model(const std::string& model_path) {
  fs::path p(model_path);
  if (p.extension() == ".json") return read_model_card(model_path);
  if (p.extension() == ".safetensors") {
    fs::path card = p;
    card.replace_extension(".json");
    if (!fs::exists(card))
      throw core::ModelError("model '" + model_path + "': no model card next to it (expected '" + card.string() + "')");
    ModelCard c = read_model_card(card.string());
    c.weights_path = model_path;
    return c;
  }
  if (fs::is_directory(p)) {
    for (const auto& e : fs::directory_iterator(p))
      if (e.path().extension() == ".json") return read_model_card(e.path().string());
    throw core::ModelError("model folder '" + model_path + "' holds no model card (.json)");
  }
  throw core::ModelError("model '" + model_path + "': expected a model card (.json) or weights (.safetensors)" +
                         std::string(fs::exists(p) ? "" : "; the file does not exist"));
}

}  // namespace karyon::inference
