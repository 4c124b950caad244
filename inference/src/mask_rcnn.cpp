#include "mask_rcnn.hpp"

#include <cmath>
#include <utility>

#include "karyon/core/errors.hpp"
#include "karyon/core/stage_profile.hpp"
#include "ops.hpp"

namespace karyon::inference {
namespace {

constexpr double kBboxXformClip = 4.135166556742356;  // log(1000 / 16), torchvision's default

// torchvision BoxCoder.decode_single. rel: (R, 4K), boxes: (R, 4) -> (R, 4K).
at::Tensor decode_boxes(const at::Tensor& rel, const at::Tensor& boxes_in, double wx, double wy, double ww, double wh) {
  const at::Tensor boxes = boxes_in.to(rel.scalar_type());
  const at::Tensor widths = boxes.select(1, 2) - boxes.select(1, 0);
  const at::Tensor heights = boxes.select(1, 3) - boxes.select(1, 1);
  const at::Tensor ctr_x = boxes.select(1, 0) + 0.5 * widths;
  const at::Tensor ctr_y = boxes.select(1, 1) + 0.5 * heights;
  const at::Tensor dx = rel.slice(1, 0, c10::nullopt, 4) / wx;
  const at::Tensor dy = rel.slice(1, 1, c10::nullopt, 4) / wy;
  const at::Tensor dw = (rel.slice(1, 2, c10::nullopt, 4) / ww).clamp_max(kBboxXformClip);
  const at::Tensor dh = (rel.slice(1, 3, c10::nullopt, 4) / wh).clamp_max(kBboxXformClip);
  const at::Tensor pcx = dx * widths.unsqueeze(1) + ctr_x.unsqueeze(1);
  const at::Tensor pcy = dy * heights.unsqueeze(1) + ctr_y.unsqueeze(1);
  const at::Tensor pw = at::exp(dw) * widths.unsqueeze(1);
  const at::Tensor ph = at::exp(dh) * heights.unsqueeze(1);
  const at::Tensor hw = 0.5 * pw, hh = 0.5 * ph;
  return at::stack({pcx - hw, pcy - hh, pcx + hw, pcy + hh}, 2).flatten(1);
}

// boxes (..., 4) clamped to [0, w] x [0, h].
at::Tensor clip_boxes(const at::Tensor& boxes, int64_t h, int64_t w) {
  const at::Tensor x = boxes.slice(-1, 0, c10::nullopt, 2).clamp(0, static_cast<double>(w));
  const at::Tensor y = boxes.slice(-1, 1, c10::nullopt, 2).clamp(0, static_cast<double>(h));
  return at::stack({x, y}, boxes.dim()).reshape(boxes.sizes());
}

at::Tensor remove_small_boxes(const at::Tensor& boxes, double min_size) {
  const at::Tensor ws = boxes.select(1, 2) - boxes.select(1, 0);
  const at::Tensor hs = boxes.select(1, 3) - boxes.select(1, 1);
  return at::where((ws >= min_size) & (hs >= min_size))[0];
}

// The conv a FrozenBatchNorm2d follows: "...bnK" after "...convK", "...downsample.1" after "...downsample.0".
std::string conv_before_bn(const std::string& bn) {
  const auto dot = bn.rfind('.');
  const std::string last = bn.substr(dot + 1), stem = bn.substr(0, dot + 1);
  if (last.rfind("bn", 0) == 0) return stem + "conv" + last.substr(2);
  if (last == "1" && stem.size() >= 11 && stem.compare(stem.size() - 11, 11, "downsample.") == 0) return stem + "0";
  throw core::ModelError("internal: no conv before batch norm '" + bn + "'");
}

// Backbone and mask-head conv weights in the layout of their activations (channels-last: oneDNN runs the
// 14x14 mask convs ~2x faster so); the RPN keeps the default layout its views expect.
at::Tensor to_channels_last(const at::Tensor& w) { return w.contiguous(at::MemoryFormat::ChannelsLast); }

}  // namespace

MaskRcnn::MaskRcnn(ArchitectureConfig arch, std::unordered_map<std::string, at::Tensor> weights,
                   at::ScalarType compute_dtype)
    : arch_(std::move(arch)), dtype_(compute_dtype) {
  if (arch_.backbone == "resnet18") blocks_ = {2, 2, 2, 2};
  else if (arch_.backbone == "resnet34") blocks_ = {3, 4, 6, 3};
  else if (arch_.backbone == "resnet50") blocks_ = {3, 4, 6, 3}, bottleneck_ = true;
  else if (arch_.backbone == "resnet101") blocks_ = {3, 4, 23, 3}, bottleneck_ = true;
  else throw core::ModelError("unsupported backbone '" + arch_.backbone + "'");
  // FrozenBatchNorm2d is scale * x + shift with torchvision's scale and shift; it always follows a bias-free
  // conv, so it folds into that conv (weight * scale, bias shift): one pass over the activations instead of
  // two, the same result up to float rounding (tests/inference parity bounds it).
  for (auto& [name, t] : weights) {
    const auto pos = name.rfind(".running_var");
    if (pos == std::string::npos || pos + 12 != name.size()) continue;
    const std::string p = name.substr(0, pos);
    const at::Tensor scale = weights.at(p + ".weight") * (t + 1e-5).rsqrt();
    const at::Tensor shift = weights.at(p + ".bias") - weights.at(p + ".running_mean") * scale;
    const std::string conv_name = conv_before_bn(p);
    const at::Tensor& cw = weights.at(conv_name + ".weight");
    folded_[conv_name] = {to_channels_last((cw * scale.view({-1, 1, 1, 1})).to(dtype_)), shift.to(dtype_).contiguous()};
  }
  for (auto& [name, t] : weights) {
    const bool is_bn = name.find(".bn") != std::string::npos || name.find("downsample.1.") != std::string::npos;
    if (is_bn) continue;
    const auto dot = name.rfind('.');
    if (folded_.count(name.substr(0, dot))) continue;  // its folded copy is what runs
    const bool channels_last = t.dim() == 4 && (name.rfind("backbone.", 0) == 0 || name.rfind("roi_heads.mask_", 0) == 0);
    w_[name] = channels_last ? to_channels_last(t.to(dtype_)) : t.to(dtype_).contiguous();
  }
}

const at::Tensor& MaskRcnn::w(const std::string& name) const {
  const auto it = w_.find(name);
  if (it == w_.end()) throw core::ModelError("internal: weight '" + name + "' missing");
  return it->second;
}

at::Tensor MaskRcnn::conv(const at::Tensor& x, const std::string& p, int64_t stride, int64_t pad, bool bias) const {
  return at::conv2d(x, w(p + ".weight"), bias ? w(p + ".bias") : at::Tensor(), stride, pad);
}

at::Tensor MaskRcnn::conv_bn(const at::Tensor& x, const std::string& p, int64_t stride, int64_t pad) const {
  const auto it = folded_.find(p);
  if (it == folded_.end()) throw core::ModelError("internal: folded conv '" + p + "' missing");
  return at::conv2d(x, it->second.first, it->second.second, stride, pad);
}

std::vector<at::Tensor> MaskRcnn::backbone(const at::Tensor& input) const {
  const std::string b = "backbone.body.";
  // Channels-last activations: oneDNN's convolutions run faster on them on CPU (docs/BENCHMARKS.md, issue 12);
  // the FPN outputs stay so for RoIAlign (ops.cpp reads them channel-vectorised); the RPN takes a default-layout copy.
  at::Tensor x = at::relu(conv_bn(input.contiguous(at::MemoryFormat::ChannelsLast), b + "conv1", 2, 3));
  x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
  std::vector<at::Tensor> stages;
  for (int L = 0; L < 4; ++L) {
    for (int k = 0; k < blocks_[static_cast<std::size_t>(L)]; ++k) {
      const std::string p = b + "layer" + std::to_string(L + 1) + "." + std::to_string(k) + ".";
      const int64_t stride = (k == 0 && L > 0) ? 2 : 1;
      at::Tensor out;
      if (bottleneck_) {
        out = at::relu(conv_bn(x, p + "conv1", 1, 0));
        out = at::relu(conv_bn(out, p + "conv2", stride, 1));
        out = conv_bn(out, p + "conv3", 1, 0);
      } else {
        out = at::relu(conv_bn(x, p + "conv1", stride, 1));
        out = conv_bn(out, p + "conv2", 1, 1);
      }
      const at::Tensor identity = folded_.count(p + "downsample.0") ? conv_bn(x, p + "downsample.0", stride, 0) : x;
      x = at::relu(out + identity);
    }
    stages.push_back(x);
  }
  // FPN (top-down, nearest upsampling) + LastLevelMaxPool.
  const std::string f = "backbone.fpn.";
  std::vector<at::Tensor> results(4);
  at::Tensor last_inner = conv(stages[3], f + "inner_blocks.3.0", 1, 0, true);
  results[3] = conv(last_inner, f + "layer_blocks.3.0", 1, 1, true);
  for (int i = 2; i >= 0; --i) {
    const at::Tensor lateral = conv(stages[static_cast<std::size_t>(i)], f + "inner_blocks." + std::to_string(i) + ".0", 1, 0, true);
    const at::Tensor top_down = at::upsample_nearest2d(last_inner, {lateral.size(2), lateral.size(3)});
    last_inner = lateral + top_down;
    results[static_cast<std::size_t>(i)] = conv(last_inner, f + "layer_blocks." + std::to_string(i) + ".0", 1, 1, true);
  }
  results.push_back(at::max_pool2d(results[3], {1, 1}, {2, 2}, {0, 0}));
  return results;
}

at::Tensor MaskRcnn::multiscale_roi_align(const std::vector<at::Tensor>& feats, const std::vector<at::Tensor>& boxes,
                                          const std::vector<std::pair<int64_t, int64_t>>& image_sizes,
                                          int64_t out) const {
  // torchvision MultiScaleRoIAlign over P2..P5: scales inferred from the largest image height,
  // levels from LevelMapper(k_min, k_max, canonical 224 / level 4, eps 1e-6).
  int64_t max_h = 0;
  for (const auto& s : image_sizes) max_h = std::max(max_h, s.first);
  std::vector<double> scales;
  for (int i = 0; i < 4; ++i) {
    const double approx = static_cast<double>(feats[static_cast<std::size_t>(i)].size(2)) / static_cast<double>(max_h);
    scales.push_back(std::pow(2.0, std::round(std::log2(static_cast<float>(approx)))));
  }
  const double k_min = -std::log2(scales.front()), k_max = -std::log2(scales.back());
  std::vector<at::Tensor> rois_parts;
  for (std::size_t i = 0; i < boxes.size(); ++i)
    rois_parts.push_back(at::cat({at::full({boxes[i].size(0), 1}, static_cast<double>(i), boxes[i].options()), boxes[i]}, 1));
  const at::Tensor rois = at::cat(rois_parts, 0);
  const int64_t C = feats[0].size(1);
  const int64_t K = rois.size(0);
  at::Tensor result = at::zeros({K, C, out, out}, feats[0].options().dtype(at::kFloat));
  if (K == 0) return result;
  const at::Tensor area = (rois.select(1, 3) - rois.select(1, 1)) * (rois.select(1, 4) - rois.select(1, 2));
  const at::Tensor s = at::sqrt(area);
  at::Tensor lv = at::floor(at::log2(s / 224.0) + 4.0 + at::scalar_tensor(1e-6, s.options()));
  lv = (lv.clamp(k_min, k_max).to(at::kLong) - static_cast<int64_t>(k_min));
  for (int i = 0; i < 4; ++i) {
    const at::Tensor idx = at::where(lv == i)[0];
    if (idx.numel() == 0) continue;
    const at::Tensor r = ops::roi_align(feats[static_cast<std::size_t>(i)].to(at::kFloat), rois.index_select(0, idx),
                                        scales[static_cast<std::size_t>(i)], out, out, arch_.sampling_ratio, false);
    result.index_copy_(0, idx, r);
  }
  return result;
}

std::vector<RawDetections> MaskRcnn::forward(const std::vector<at::Tensor>& images_in, const Thresholds& th,
                                             const std::vector<int64_t>& content_pixels) const {
  std::vector<RawDetections> out(images_in.size());
  if (images_in.empty()) return out;
  // Stage times (core/stage_profile.hpp) are host wall time: exact on CPU; on CUDA, kernels queued in one
  // stage may finish in a later one.
  core::StageTimer transform_time("transform");
  const Batch batch = transform(images_in);
  transform_time.stop();

  core::StageTimer backbone_time("backbone");
  const std::vector<at::Tensor> feats = backbone(batch.images.to(dtype_));
  backbone_time.stop();

  core::StageTimer rpn_time("rpn");
  std::vector<int64_t> max_detections;
  const std::vector<at::Tensor> proposals = rpn(feats, batch, content_pixels, th, max_detections);
  rpn_time.stop();

  const std::vector<at::Tensor> p2p5(feats.begin(), feats.begin() + 4);
  box_head(p2p5, proposals, batch, max_detections, th, out);
  mask_head(p2p5, batch, out);
  undo_resize(batch, out);
  return out;
}

MaskRcnn::Batch MaskRcnn::transform(const std::vector<at::Tensor>& images_in) const {
  // Optional resize, then pad to a multiple of size_divisible.
  const int64_t B = static_cast<int64_t>(images_in.size());
  const auto fopts = images_in[0].options().dtype(at::kFloat);
  Batch b;
  std::vector<at::Tensor> images;
  for (const auto& im : images_in) {
    b.orig_sizes.emplace_back(im.size(1), im.size(2));
    if (arch_.min_size > 0) {
      const double mn = static_cast<double>(std::min(im.size(1), im.size(2)));
      const double mx = static_cast<double>(std::max(im.size(1), im.size(2)));
      const double scale = std::min(arch_.min_size / mn, arch_.max_size / mx);
      const int64_t oh = static_cast<int64_t>(std::floor(static_cast<double>(im.size(1)) * scale));
      const int64_t ow = static_cast<int64_t>(std::floor(static_cast<double>(im.size(2)) * scale));
      images.push_back(at::upsample_bilinear2d(im.unsqueeze(0), {oh, ow}, false).squeeze(0));
    } else {
      images.push_back(im);
    }
    b.sizes.emplace_back(images.back().size(1), images.back().size(2));
  }
  int64_t Hp = 0, Wp = 0;
  for (const auto& s : b.sizes) Hp = std::max(Hp, s.first), Wp = std::max(Wp, s.second);
  const int64_t div = arch_.size_divisible;
  Hp = (Hp + div - 1) / div * div;
  Wp = (Wp + div - 1) / div * div;
  b.images = at::zeros({B, 3, Hp, Wp}, fopts);
  for (int64_t i = 0; i < B; ++i)
    b.images[i].slice(1, 0, b.sizes[static_cast<std::size_t>(i)].first).slice(2, 0, b.sizes[static_cast<std::size_t>(i)].second).copy_(images[static_cast<std::size_t>(i)]);
  return b;
}

at::Tensor MaskRcnn::anchors(std::size_t level, int64_t h, int64_t wd, int64_t stride_h, int64_t stride_w,
                             const at::TensorOptions& fopts) const {
  const std::array<int64_t, 6> key{static_cast<int64_t>(level), h, wd, stride_h, stride_w,
                                   static_cast<int64_t>(fopts.dtype().toScalarType())};
  std::lock_guard lock(anchors_mutex_);
  if (anchors_cache_.size() > 256) anchors_cache_.clear();  // sizes seen by one model: a handful
  auto [it, inserted] = anchors_cache_.try_emplace(key);
  if (inserted) it->second = make_anchors(level, h, wd, stride_h, stride_w, fopts);
  return it->second;
}

at::Tensor MaskRcnn::make_anchors(std::size_t level, int64_t h, int64_t wd, int64_t stride_h, int64_t stride_w,
                                  const at::TensorOptions& fopts) const {
  const auto& sz = arch_.anchor_sizes[level];
  const auto& ar = arch_.aspect_ratios[level];
  const at::Tensor scales_t = at::tensor(std::vector<float>(sz.begin(), sz.end()), fopts);
  const at::Tensor ratios_t = at::tensor(std::vector<float>(ar.begin(), ar.end()), fopts);
  const at::Tensor h_ratios = at::sqrt(ratios_t);
  const at::Tensor w_ratios = 1 / h_ratios;
  const at::Tensor ws = (w_ratios.unsqueeze(1) * scales_t.unsqueeze(0)).view(-1);
  const at::Tensor hs = (h_ratios.unsqueeze(1) * scales_t.unsqueeze(0)).view(-1);
  const at::Tensor base = (at::stack({-ws, -hs, ws, hs}, 1) / 2).round();
  const auto iopts = fopts.dtype(at::kInt);
  const at::Tensor sx = at::arange(wd, iopts) * stride_w;
  const at::Tensor sy = at::arange(h, iopts) * stride_h;
  const auto grid = at::meshgrid({sy, sx}, "ij");
  const at::Tensor gx = grid[1].reshape(-1), gy = grid[0].reshape(-1);
  const at::Tensor shifts = at::stack({gx, gy, gx, gy}, 1);
  return (shifts.view({-1, 1, 4}) + base.view({1, -1, 4})).reshape({-1, 4});
}

std::vector<at::Tensor> MaskRcnn::rpn(const std::vector<at::Tensor>& feats, const Batch& batch,
                                      const std::vector<int64_t>& content_pixels, const Thresholds& th,
                                      std::vector<int64_t>& max_detections) const {
  const int64_t B = batch.images.size(0), Hp = batch.images.size(2), Wp = batch.images.size(3);
  const auto fopts = batch.images.options();
  const int64_t A = arch_.anchors_per_location();
  std::vector<at::Tensor> obj_l, del_l, anchors_l;
  std::vector<int64_t> n_per_level;
  for (std::size_t l = 0; l < feats.size(); ++l) {
    const at::Tensor t = at::relu(conv(feats[l].contiguous(), "rpn.head.conv.0.0", 1, 1, true));
    const at::Tensor logits = conv(t, "rpn.head.cls_logits", 1, 0, true).to(at::kFloat);
    const at::Tensor deltas = conv(t, "rpn.head.bbox_pred", 1, 0, true).to(at::kFloat);
    const int64_t h = logits.size(2), wd = logits.size(3);
    obj_l.push_back(logits.view({B, A, 1, h, wd}).permute({0, 3, 4, 1, 2}).reshape({B, -1}));
    del_l.push_back(deltas.view({B, A, 4, h, wd}).permute({0, 3, 4, 1, 2}).reshape({B, -1, 4}));
    n_per_level.push_back(h * wd * A);
    anchors_l.push_back(anchors(l, h, wd, Hp / h, Wp / wd, fopts));
  }
  const at::Tensor objectness = at::cat(obj_l, 1);                      // (B, T)
  const at::Tensor deltas = at::cat(del_l, 1);                          // (B, T, 4)
  const at::Tensor all_anchors = at::cat(anchors_l, 0);                 // (T, 4)
  const int64_t T = all_anchors.size(0);
  const at::Tensor proposals_all =
      decode_boxes(deltas.reshape({-1, 4}), all_anchors.repeat({B, 1}), 1, 1, 1, 1).view({B, T, 4});
  // Per image: its own top-n counts (they may scale with its area, see ArchitectureConfig::top_n_for).
  std::vector<at::Tensor> proposals(static_cast<std::size_t>(B));
  max_detections.assign(static_cast<std::size_t>(B), 0);
  for (int64_t i = 0; i < B; ++i) {
    const auto [h, wd] = batch.sizes[static_cast<std::size_t>(i)];
    const int64_t area = content_pixels.empty() ? h * wd : content_pixels[static_cast<std::size_t>(i)];
    const int64_t pre_n = arch_.top_n_for(arch_.rpn_pre_nms_top_n, area);
    const int64_t post_n = arch_.top_n_for(arch_.rpn_post_nms_top_n, area);
    max_detections[static_cast<std::size_t>(i)] = arch_.top_n_for(th.detections_per_img, area);
    std::vector<at::Tensor> top_idx, level_ids;
    int64_t offset = 0;
    for (std::size_t l = 0; l < n_per_level.size(); ++l) {
      const int64_t n = n_per_level[l];
      const int64_t k = std::min<int64_t>(pre_n, n);
      const at::Tensor idx = std::get<1>(objectness[i].slice(0, offset, offset + n).topk(k, 0));
      top_idx.push_back(idx + offset);
      level_ids.push_back(at::full({k}, static_cast<int64_t>(l), fopts.dtype(at::kLong)));
      offset += n;
    }
    const at::Tensor tidx = at::cat(top_idx, 0);
    at::Tensor lv = at::cat(level_ids, 0);
    at::Tensor scores = at::sigmoid(objectness[i].index_select(0, tidx));
    at::Tensor boxes = clip_boxes(proposals_all[i].index_select(0, tidx), h, wd);
    at::Tensor keep = remove_small_boxes(boxes, 1e-3);
    boxes = boxes.index_select(0, keep), scores = scores.index_select(0, keep), lv = lv.index_select(0, keep);
    keep = at::where(scores >= arch_.rpn_score_thresh)[0];
    boxes = boxes.index_select(0, keep), scores = scores.index_select(0, keep), lv = lv.index_select(0, keep);
    keep = ops::batched_nms(boxes, scores, lv, arch_.rpn_nms_thresh);
    keep = keep.slice(0, 0, post_n);
    proposals[static_cast<std::size_t>(i)] = boxes.index_select(0, keep);
  }
  return proposals;
}

void MaskRcnn::box_head(const std::vector<at::Tensor>& p2p5, const std::vector<at::Tensor>& proposals,
                        const Batch& batch, const std::vector<int64_t>& max_detections, const Thresholds& th,
                        std::vector<RawDetections>& out) const {
  const int64_t B = static_cast<int64_t>(out.size());
  const auto fopts = batch.images.options();
  core::StageTimer box_roi_align_time("box_roi_align");
  const at::Tensor box_feats = multiscale_roi_align(p2p5, proposals, batch.sizes, arch_.box_roi_size);
  box_roi_align_time.stop();
  core::StageTimer box_head_time("box_head");
  at::Tensor x = box_feats.flatten(1).to(dtype_);
  x = at::relu(at::linear(x, w("roi_heads.box_head.fc6.weight"), w("roi_heads.box_head.fc6.bias")));
  x = at::relu(at::linear(x, w("roi_heads.box_head.fc7.weight"), w("roi_heads.box_head.fc7.bias")));
  const at::Tensor class_logits =
      at::linear(x, w("roi_heads.box_predictor.cls_score.weight"), w("roi_heads.box_predictor.cls_score.bias")).to(at::kFloat);
  const at::Tensor box_regression =
      at::linear(x, w("roi_heads.box_predictor.bbox_pred.weight"), w("roi_heads.box_predictor.bbox_pred.bias")).to(at::kFloat);
  const int64_t K = class_logits.size(1);
  const at::Tensor all_props = at::cat(proposals, 0);
  const at::Tensor pred_boxes = decode_boxes(box_regression, all_props, 10, 10, 5, 5).reshape({all_props.size(0), -1, 4});
  const at::Tensor pred_scores = at::softmax(class_logits, -1);
  int64_t start = 0;
  for (int64_t i = 0; i < B; ++i) {
    const int64_t n = proposals[static_cast<std::size_t>(i)].size(0);
    const auto [h, wd] = batch.sizes[static_cast<std::size_t>(i)];
    at::Tensor boxes = clip_boxes(pred_boxes.slice(0, start, start + n), h, wd);
    at::Tensor scores = pred_scores.slice(0, start, start + n);
    at::Tensor labels = at::arange(K, fopts.dtype(at::kLong)).view({1, -1}).expand_as(scores);
    start += n;
    boxes = boxes.slice(1, 1).reshape({-1, 4});
    scores = scores.slice(1, 1).reshape(-1);
    labels = labels.slice(1, 1).reshape(-1);
    at::Tensor keep = at::where(scores > th.box_score)[0];
    boxes = boxes.index_select(0, keep), scores = scores.index_select(0, keep), labels = labels.index_select(0, keep);
    keep = remove_small_boxes(boxes, 1e-2);
    boxes = boxes.index_select(0, keep), scores = scores.index_select(0, keep), labels = labels.index_select(0, keep);
    keep = ops::batched_nms(boxes, scores, labels, th.box_nms).slice(0, 0, max_detections[static_cast<std::size_t>(i)]);
    auto& o = out[static_cast<std::size_t>(i)];
    o.boxes = boxes.index_select(0, keep);
    o.scores = scores.index_select(0, keep);
    o.labels = labels.index_select(0, keep);
  }
}

void MaskRcnn::mask_head(const std::vector<at::Tensor>& p2p5, const Batch& batch, std::vector<RawDetections>& out) const {
  const int64_t B = static_cast<int64_t>(out.size());
  const auto fopts = batch.images.options();
  int64_t total = 0;
  for (const auto& o : out) total += o.boxes.size(0);
  const int64_t M = arch_.mask_roi_size * 2;
  if (total == 0) {
    for (auto& o : out) o.masks = at::zeros({0, M, M}, fopts);
    return;
  }
  std::vector<at::Tensor> labels_v, boxes_v;
  for (const auto& o : out) labels_v.push_back(o.labels), boxes_v.push_back(o.boxes);
  const at::Tensor lab = at::cat(labels_v, 0);
  const at::Tensor all_boxes = at::cat(boxes_v, 0);
  std::vector<int64_t> owner;  // image index of every detection
  for (int64_t i = 0; i < B; ++i) owner.insert(owner.end(), static_cast<std::size_t>(boxes_v[static_cast<std::size_t>(i)].size(0)), i);
  // The mask head runs over detections in chunks: with ~1000 nuclei per tile its 28x28x256
  // activations would otherwise need gigabytes at once. Every op here is per-RoI, so chunking
  // does not change the result.
  constexpr int64_t kChunk = 128;
  std::vector<at::Tensor> sel_parts;
  for (int64_t c0 = 0; c0 < total; c0 += kChunk) {
    const int64_t c1 = std::min(total, c0 + kChunk);
    std::vector<at::Tensor> boxes_per_image(static_cast<std::size_t>(B));
    for (int64_t i = 0; i < B; ++i) boxes_per_image[static_cast<std::size_t>(i)] = all_boxes.new_empty({0, 4});
    // Chunks keep detections in order; split this chunk back into per-image lists for the pooler.
    int64_t k = c0;
    while (k < c1) {
      const int64_t img = owner[static_cast<std::size_t>(k)];
      int64_t e = k;
      while (e < c1 && owner[static_cast<std::size_t>(e)] == img) ++e;
      boxes_per_image[static_cast<std::size_t>(img)] = all_boxes.slice(0, k, e);
      k = e;
    }
    core::StageTimer mask_roi_align_time("mask_roi_align");
    at::Tensor m = multiscale_roi_align(p2p5, boxes_per_image, batch.sizes, arch_.mask_roi_size)
                       .to(dtype_)
                       .contiguous(at::MemoryFormat::ChannelsLast);
    mask_roi_align_time.stop();
    core::StageTimer mask_head_time("mask_head");
    for (std::size_t i = 0; i < arch_.mask_layers.size(); ++i)
      m = at::relu(conv(m, "roi_heads.mask_head." + std::to_string(i) + ".0", 1, 1, true));
    m = at::relu(at::conv_transpose2d(m, w("roi_heads.mask_predictor.conv5_mask.weight"),
                                      w("roi_heads.mask_predictor.conv5_mask.bias"), 2));
    m = conv(m, "roi_heads.mask_predictor.mask_fcn_logits", 1, 0, true).to(at::kFloat);
    const at::Tensor l = lab.slice(0, c0, c1);
    sel_parts.push_back(at::sigmoid(m.index({at::arange(c1 - c0, l.options()), l})).contiguous());  // (n, M, M)
  }
  const at::Tensor sel = at::cat(sel_parts, 0);
  int64_t s0 = 0;
  for (auto& o : out) {
    const int64_t n = o.boxes.size(0);
    o.masks = sel.slice(0, s0, s0 + n);
    s0 += n;
  }
}

void MaskRcnn::undo_resize(const Batch& batch, std::vector<RawDetections>& out) const {
  const auto fopts = batch.images.options();
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto [oh, ow] = batch.orig_sizes[i];
    const auto [h, wd] = batch.sizes[i];
    if (oh == h && ow == wd) continue;
    auto& o = out[i];
    const at::Tensor rh = at::scalar_tensor(static_cast<double>(oh), fopts) / at::scalar_tensor(static_cast<double>(h), fopts);
    const at::Tensor rw = at::scalar_tensor(static_cast<double>(ow), fopts) / at::scalar_tensor(static_cast<double>(wd), fopts);
    o.boxes = at::stack({o.boxes.select(1, 0) * rw, o.boxes.select(1, 1) * rh, o.boxes.select(1, 2) * rw,
                         o.boxes.select(1, 3) * rh}, 1);
  }
}

PastedMask paste_mask(const at::Tensor& mask, const float box[4], int64_t im_h, int64_t im_w) {
  // torchvision paste_masks_in_image(padding=1): pad the M x M mask by one pixel, grow the box by
  // (M+2)/M about its centre, truncate to integers, resize the mask to the box and crop to the image.
  const int64_t M = mask.size(-1);
  const float scale = static_cast<float>(static_cast<double>(M + 2) / static_cast<double>(M));
  float w_half = (box[2] - box[0]) * 0.5f, h_half = (box[3] - box[1]) * 0.5f;
  const float x_c = (box[2] + box[0]) * 0.5f, y_c = (box[3] + box[1]) * 0.5f;
  w_half *= scale;
  h_half *= scale;
  const auto bx0 = static_cast<int64_t>(x_c - w_half), by0 = static_cast<int64_t>(y_c - h_half);
  const auto bx1 = static_cast<int64_t>(x_c + w_half), by1 = static_cast<int64_t>(y_c + h_half);
  const int64_t w = std::max<int64_t>(bx1 - bx0 + 1, 1), h = std::max<int64_t>(by1 - by0 + 1, 1);
  PastedMask r;
  const int64_t x0 = std::max<int64_t>(bx0, 0), x1 = std::min<int64_t>(bx1 + 1, im_w);
  const int64_t y0 = std::max<int64_t>(by0, 0), y1 = std::min<int64_t>(by1 + 1, im_h);
  r.x0 = x0;
  r.y0 = y0;
  if (x1 <= x0 || y1 <= y0) {
    r.probs = at::zeros({0, 0}, mask.options());
    return r;
  }
  const at::Tensor padded = at::constant_pad_nd(mask.view({1, 1, M, M}), {1, 1, 1, 1}, 0);
  const at::Tensor resized = at::upsample_bilinear2d(padded, {h, w}, false)[0][0];
  r.probs = resized.slice(0, y0 - by0, y1 - by0).slice(1, x0 - bx0, x1 - bx0);
  return r;
}

}  // namespace karyon::inference
