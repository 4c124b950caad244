#pragma once
// The Mask R-CNN network: torchvision's MaskRCNN(resnet_fpn_backbone(...)) forward pass at
// inference, written with ATen ops over a map of named weights (torchvision's state_dict names).
// Internal to the inference module.
#include <ATen/ATen.h>

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "karyon/inference/model_card.hpp"

namespace karyon::inference {

struct RawDetections {
  at::Tensor boxes;   // (N, 4) float32, in the coordinates of the image as given (after undoing any resize)
  at::Tensor scores;  // (N) float32
  at::Tensor labels;  // (N) int64
  at::Tensor masks;   // (N, M, M) float32 probabilities for the label's channel (before pasting)
};

class MaskRcnn {
 public:
  // `weights` are float32 tensors already on `device`, checked against expected_parameters().
  MaskRcnn(ArchitectureConfig arch, std::unordered_map<std::string, at::Tensor> weights,
           at::ScalarType compute_dtype);

  // images: normalised float32 (3, H_i, W_i) tensors on the model's device.
  // `content_pixels[i]`: the area top-n counts scale with for image i (see ArchitectureConfig::top_n_for);
  // empty: each image's full area.
  std::vector<RawDetections> forward(const std::vector<at::Tensor>& images, const Thresholds& thresholds,
                                     const std::vector<int64_t>& content_pixels = {}) const;

  const ArchitectureConfig& arch() const { return arch_; }

 private:
  const at::Tensor& w(const std::string& name) const;
  at::Tensor conv(const at::Tensor& x, const std::string& p, int64_t stride, int64_t pad, bool bias) const;
  // Conv `p` with the FrozenBatchNorm2d after it folded in (see the constructor).
  at::Tensor conv_bn(const at::Tensor& x, const std::string& p, int64_t stride, int64_t pad) const;
  // The stages of forward(), as torchvision splits them (GeneralizedRCNNTransform, RPN, RoIHeads).
  struct Batch {
    at::Tensor images;                                      // (B, 3, Hp, Wp), padded to size_divisible
    std::vector<std::pair<int64_t, int64_t>> sizes;         // each image after the optional resize
    std::vector<std::pair<int64_t, int64_t>> orig_sizes;    // each image as given
  };
  Batch transform(const std::vector<at::Tensor>& images) const;
  std::vector<at::Tensor> backbone(const at::Tensor& x) const;  // P2..P5 + pool
  // AnchorGenerator for one level: (h * w * A, 4) anchors of an h x w feature map at the given stride.
  // Made once per (level, size, stride, dtype): tiles mostly share one size.
  at::Tensor anchors(std::size_t level, int64_t h, int64_t w, int64_t stride_h, int64_t stride_w,
                     const at::TensorOptions& float_options) const;
  // Proposals per image, after per-level top-n, clipping, small-box removal and NMS; `max_detections`
  // receives each image's detection budget (all budgets scale with content_pixels).
  std::vector<at::Tensor> rpn(const std::vector<at::Tensor>& feats, const Batch& batch,
                              const std::vector<int64_t>& content_pixels, const Thresholds& th,
                              std::vector<int64_t>& max_detections) const;
  // Box head + postprocess_detections: boxes, scores and labels of `out`.
  void box_head(const std::vector<at::Tensor>& p2p5, const std::vector<at::Tensor>& proposals, const Batch& batch,
                const std::vector<int64_t>& max_detections, const Thresholds& th, std::vector<RawDetections>& out) const;
  // Mask head: the label's mask probabilities of every detection in `out`.
  void mask_head(const std::vector<at::Tensor>& p2p5, const Batch& batch, std::vector<RawDetections>& out) const;
  // Boxes back to the images as given (when the transform resized them).
  void undo_resize(const Batch& batch, std::vector<RawDetections>& out) const;
  at::Tensor multiscale_roi_align(const std::vector<at::Tensor>& feats, const std::vector<at::Tensor>& boxes,
                                  const std::vector<std::pair<int64_t, int64_t>>& image_sizes, int64_t out) const;

  ArchitectureConfig arch_;
  std::unordered_map<std::string, at::Tensor> w_;
  std::unordered_map<std::string, std::pair<at::Tensor, at::Tensor>> folded_;  // conv name -> weight, bias
  at::ScalarType dtype_;
  std::vector<int> blocks_;
  bool bottleneck_ = false;
  at::Tensor make_anchors(std::size_t level, int64_t h, int64_t w, int64_t stride_h, int64_t stride_w,
                          const at::TensorOptions& float_options) const;
  mutable std::mutex anchors_mutex_;  // forward() is const and may run on several threads
  mutable std::map<std::array<int64_t, 6>, at::Tensor> anchors_cache_;
};

// Pastes one mask (M x M probabilities, CPU float) into an image of im_h x im_w the way
// torchvision's paste_masks_in_image does (padding 1), and returns the pasted region
// [y0, y1) x [x0, x1) of the image as a float tensor plus its origin.
struct PastedMask {
  at::Tensor probs;  // (y1-y0, x1-x0) float, may be empty
  int64_t x0 = 0, y0 = 0;
};
PastedMask paste_mask(const at::Tensor& mask, const float box[4], int64_t im_h, int64_t im_w);

}  // namespace karyon::inference
