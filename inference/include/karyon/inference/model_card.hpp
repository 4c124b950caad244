#pragma once
// The model card: a JSON file that travels with the safetensors weights and says what the weights
// are (architecture), what they expect (µm/px, normalisation), what they produce (class names,
// thresholds) and where they come from (provenance, metrics). Model files are data, never code.
//
// Card format (all keys optional unless marked; defaults are torchvision's maskrcnn_resnet50_fpn):
// {
//   "format": "karyon-maskrcnn/1",                      (required)
//   "name": "...", "weights": "model.safetensors",      (weights: path relative to the card)
//   "architecture": {
//     "backbone": "resnet50",            resnet18 | resnet34 | resnet50 | resnet101
//     "num_classes": 2,                  including background
//     "fpn_out_channels": 256, "representation_size": 1024,
//     "mask_layers": [256,256,256,256], "mask_dim_reduced": 256,
//     "anchor_sizes": [[32],[64],[128],[256],[512]], "aspect_ratios": [[0.5,1,2], ...5 levels],
//     "rpn_pre_nms_top_n": 1000, "rpn_post_nms_top_n": 1000, "rpn_nms_thresh": 0.7, "rpn_score_thresh": 0.0,
//     "top_n_reference_area": 0,         > 0: the two top-n counts and thresholds.detections_per_img are for
//                                        this many pixels of content and scale with each image's content (its
//                                        pixels that are not glass-white, see content_pixels()), so that the
//                                        proposals per nucleus depend neither on the tile size nor on how much
//                                        glass or padding a tile holds; 0: per image, as torchvision
//     "box_roi_size": 7, "mask_roi_size": 14, "sampling_ratio": 2,
//     "min_size": 0, "max_size": 0,      0 = no resize (tiles are already at the model's µm/px)
//     "size_divisible": 32
//   },
//   "input": {"mpp": 0.25, "image_mean": [0.485,0.456,0.406], "image_std": [0.229,0.224,0.225],
//             "min_tile_size": 0},     > 0: the smallest tile (analysis px) this model's detections are
//                                        validated at; analyze raises a smaller --tile-size to it, because
//                                        below it the detections change with the tile's field of view
//                                        (docs/MODEL_CARD.md); 0: any tile size the planner accepts
//   "class_names": ["background", "nucleus"],
//   "thresholds": {"box_score": 0.05, "box_nms": 0.5, "detections_per_img": 1000, "mask": 0.5},
//   "provenance": {..., "weights_sha256": "<64 hex>"}, "metrics": {...}, "license": "..."
//                                        (free-form, kept as JSON text; weights_sha256, when present, must
//                                        be the weights file's SHA-256: Model::load checks it)
// }
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace karyon::inference {

struct ArchitectureConfig {
  std::string backbone = "resnet50";
  int num_classes = 2;
  int fpn_out_channels = 256;
  int representation_size = 1024;
  std::vector<int> mask_layers = {256, 256, 256, 256};
  int mask_dim_reduced = 256;
  std::vector<std::vector<double>> anchor_sizes = {{32}, {64}, {128}, {256}, {512}};
  std::vector<std::vector<double>> aspect_ratios = {
      {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}, {0.5, 1.0, 2.0}};
  int rpn_pre_nms_top_n = 1000;
  int rpn_post_nms_top_n = 1000;
  double rpn_nms_thresh = 0.7;
  double rpn_score_thresh = 0.0;
  double top_n_reference_area = 0;  // see the card format above
  int box_roi_size = 7;
  int mask_roi_size = 14;
  int sampling_ratio = 2;
  int min_size = 0;  // 0: no resize
  int max_size = 0;
  int size_divisible = 32;

  int anchors_per_location() const;  // throws ModelError if levels disagree
  // A top-n count (pre/post-NMS proposals, detections) for an image with `content` pixels of content:
  // `count` as is when top_n_reference_area is 0, else scaled by max(content, kMinContentPixels) (>= 1).
  int top_n_for(int count, long long content) const;
  static constexpr long long kMinContentPixels = 64 * 64;
};

struct Thresholds {
  double box_score = 0.05;  // torchvision box_score_thresh: detections with score <= this are dropped
  double box_nms = 0.5;
  int detections_per_img = 100;
  double mask = 0.5;        // mask pixel is inside when probability > this
};

struct ModelCard {
  std::string format;
  std::string name;
  std::string card_path;     // where the card was read from (for messages)
  std::string weights_path;  // resolved, absolute or relative to the working directory
  ArchitectureConfig architecture;
  double mpp = 0;            // µm/px the model expects; 0 = unknown
  std::array<double, 3> image_mean = {0.485, 0.456, 0.406};
  std::array<double, 3> image_std = {0.229, 0.224, 0.225};
  int min_tile_size = 0;     // analysis px; 0 = no minimum (see the card format above)
  std::vector<std::string> class_names;
  Thresholds thresholds;
  std::string weights_sha256;  // provenance.weights_sha256, lowercase hex; empty: not recorded
  std::string provenance_json = "{}";
  std::string metrics_json = "{}";
  std::string license;
};

// Pixels of an 8-bit RGB image that are content (tissue), not glass or white padding: any channel below
// 210. What top_n_reference_area counts; tools/train/model.py computes the same for torchvision.
long long content_pixels(const std::uint8_t* rgb, long long n_pixels);

// Reads and validates a model card: types, and values a trained model can have (positive sizes, anchors
// within a slide tile, thresholds within [0, 1], a plausible µm/px). Throws core::ModelError naming the
// file and the bad key.
ModelCard read_model_card(const std::string& card_path);

// Resolves what the user passed as --model: a card (.json) or a weights file (.safetensors) with
// its card next to it (same stem + ".json"). Throws core::ModelError if neither exists.
ModelCard resolve_model(const std::string& model_path);

// Expected tensor names and shapes (torchvision's state_dict names) for an architecture.
struct ParameterSpec {
  std::string name;
  std::vector<long long> shape;
};
std::vector<ParameterSpec> expected_parameters(const ArchitectureConfig& arch);

}  // namespace karyon::inference
