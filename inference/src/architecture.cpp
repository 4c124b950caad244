// torchvision's state_dict layout for MaskRCNN(resnet_fpn_backbone(...)): the names and shapes the
// loader demands. Keep in step with torchvision/models/{resnet.py, detection/*.py}.
#include <string>
#include <vector>

#include "karyon/core/errors.hpp"
#include "karyon/inference/model_card.hpp"

namespace karyon::inference {
namespace {

using Shape = std::vector<long long>;

struct Spec {
  std::vector<ParameterSpec> out;
  void add(const std::string& n, Shape s) { out.push_back({n, std::move(s)}); }
  void conv(const std::string& p, long long o, long long i, long long k, bool bias) {
    add(p + ".weight", {o, i, k, k});
    if (bias) add(p + ".bias", {o});
  }
  void bn(const std::string& p, long long c) {
    for (const char* s : {".weight", ".bias", ".running_mean", ".running_var"}) add(p + s, {c});
  }
};

}  // namespace

std::vector<ParameterSpec> expected_parameters(const ArchitectureConfig& a) {
  Spec s;
  std::vector<int> blocks;
  bool bottleneck = false;
  if (a.backbone == "resnet18") blocks = {2, 2, 2, 2};
  else if (a.backbone == "resnet34") blocks = {3, 4, 6, 3};
  else if (a.backbone == "resnet50") blocks = {3, 4, 6, 3}, bottleneck = true;
  else if (a.backbone == "resnet101") blocks = {3, 4, 23, 3}, bottleneck = true;
  else throw core::ModelError("unsupported backbone '" + a.backbone + "'");
  const long long expansion = bottleneck ? 4 : 1;
  const std::string b = "backbone.body.";
  s.conv(b + "conv1", 64, 3, 7, false);
  s.bn(b + "bn1", 64);
  long long inplanes = 64;
  std::vector<long long> stage_channels;
  for (int L = 0; L < 4; ++L) {
    const long long planes = 64LL << L;
    const int stride = L == 0 ? 1 : 2;
    for (int k = 0; k < blocks[static_cast<std::size_t>(L)]; ++k) {
      const std::string p = b + "layer" + std::to_string(L + 1) + "." + std::to_string(k) + ".";
      if (bottleneck) {
        s.conv(p + "conv1", planes, inplanes, 1, false);
        s.bn(p + "bn1", planes);
        s.conv(p + "conv2", planes, planes, 3, false);
        s.bn(p + "bn2", planes);
        s.conv(p + "conv3", planes * expansion, planes, 1, false);
        s.bn(p + "bn3", planes * expansion);
      } else {
        s.conv(p + "conv1", planes, inplanes, 3, false);
        s.bn(p + "bn1", planes);
        s.conv(p + "conv2", planes, planes, 3, false);
        s.bn(p + "bn2", planes);
      }
      if (k == 0 && (stride != 1 || inplanes != planes * expansion)) {
        s.conv(p + "downsample.0", planes * expansion, inplanes, 1, false);
        s.bn(p + "downsample.1", planes * expansion);
      }
      inplanes = planes * expansion;
    }
    stage_channels.push_back(inplanes);
  }
  const long long C = a.fpn_out_channels;
  for (int i = 0; i < 4; ++i)
    s.conv("backbone.fpn.inner_blocks." + std::to_string(i) + ".0", C, stage_channels[static_cast<std::size_t>(i)], 1, true);
  for (int i = 0; i < 4; ++i) s.conv("backbone.fpn.layer_blocks." + std::to_string(i) + ".0", C, C, 3, true);
  const long long A = a.anchors_per_location();
  s.conv("rpn.head.conv.0.0", C, C, 3, true);
  s.conv("rpn.head.cls_logits", A, C, 1, true);
  s.conv("rpn.head.bbox_pred", 4 * A, C, 1, true);
  const long long R = a.representation_size, K = a.num_classes;
  s.add("roi_heads.box_head.fc6.weight", {R, C * a.box_roi_size * a.box_roi_size});
  s.add("roi_heads.box_head.fc6.bias", {R});
  s.add("roi_heads.box_head.fc7.weight", {R, R});
  s.add("roi_heads.box_head.fc7.bias", {R});
  s.add("roi_heads.box_predictor.cls_score.weight", {K, R});
  s.add("roi_heads.box_predictor.cls_score.bias", {K});
  s.add("roi_heads.box_predictor.bbox_pred.weight", {4 * K, R});
  s.add("roi_heads.box_predictor.bbox_pred.bias", {4 * K});
  long long prev = C;
  for (std::size_t i = 0; i < a.mask_layers.size(); ++i) {
    s.conv("roi_heads.mask_head." + std::to_string(i) + ".0", a.mask_layers[i], prev, 3, true);
    prev = a.mask_layers[i];
  }
  // ConvTranspose2d weights are (in, out, kh, kw).
  s.add("roi_heads.mask_predictor.conv5_mask.weight", {prev, a.mask_dim_reduced, 2, 2});
  s.add("roi_heads.mask_predictor.conv5_mask.bias", {a.mask_dim_reduced});
  s.conv("roi_heads.mask_predictor.mask_fcn_logits", K, a.mask_dim_reduced, 1, true);
  return s.out;
}

}  // namespace karyon::inference
