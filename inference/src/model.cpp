#include "karyon/inference/model.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include <cstring>
#include <map>
#include <sstream>

#include "log.hpp"
#include "mask_rcnn.hpp"
#include "safetensors.hpp"
#include "sha256.hpp"
#include "test_time_flips.hpp"

namespace karyon::inference {
namespace {

std::string shape_str(const std::vector<long long>& s) {
  std::ostringstream o;
  o << "[";
  for (std::size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

std::string list_some(const std::vector<std::string>& v, std::size_t n = 5) {
  std::string r;
  for (std::size_t i = 0; i < v.size() && i < n; ++i) r += (i ? "; " : "") + v[i];
  if (v.size() > n) r += "; ... (" + std::to_string(v.size() - n) + " more)";
  return r;
}

// What the weights file itself looks like, to make a mismatch message actionable.
std::string describe_weights(const SafetensorsFile& f) {
  const auto& t = f.tensors();
  int layer3_blocks = 0;
  while (t.count("backbone.body.layer3." + std::to_string(layer3_blocks) + ".conv1.weight")) ++layer3_blocks;
  const bool bottleneck = t.count("backbone.body.layer1.0.conv3.weight") > 0;
  std::string bb = "unknown backbone";
  if (layer3_blocks == 2 && !bottleneck) bb = "resnet18";
  else if (layer3_blocks == 6 && !bottleneck) bb = "resnet34";
  else if (layer3_blocks == 6 && bottleneck) bb = "resnet50";
  else if (layer3_blocks == 23 && bottleneck) bb = "resnet101";
  std::string r = "the weights look like " + bb;
  const auto it = t.find("roi_heads.box_predictor.cls_score.weight");
  if (it != t.end() && !it->second.shape.empty()) r += " with num_classes " + std::to_string(it->second.shape[0]);
  return r;
}

at::ScalarType dtype_of(const std::string& d) {
  if (d == "F32") return at::kFloat;
  if (d == "F16") return at::kHalf;
  if (d == "BF16") return at::kBFloat16;
  if (d == "F64") return at::kDouble;
  return at::ScalarType::Undefined;
}

using WeightMap = std::unordered_map<std::string, at::Tensor>;

std::shared_ptr<const WeightMap> load_weights(const ModelCard& card) {
  const SafetensorsFile f(card.weights_path);
  const auto spec = expected_parameters(card.architecture);
  std::vector<std::string> missing, unexpected, bad_shape, bad_dtype;
  std::map<std::string, const ParameterSpec*> by_name;
  for (const auto& p : spec) by_name[p.name] = &p;
  for (const auto& p : spec) {
    const auto it = f.tensors().find(p.name);
    if (it == f.tensors().end()) {
      missing.push_back(p.name);
      continue;
    }
    std::vector<long long> got(it->second.shape.begin(), it->second.shape.end());
    if (got != p.shape) bad_shape.push_back(p.name + " is " + shape_str(got) + ", expected " + shape_str(p.shape));
    if (dtype_of(it->second.dtype) == at::ScalarType::Undefined)
      bad_dtype.push_back(p.name + " is " + it->second.dtype + " (need F32, F16, BF16 or F64)");
  }
  for (const auto& [name, rec] : f.tensors()) {
    if (by_name.count(name)) continue;
    // BatchNorm2d (a torchvision model built without pretrained weights) carries a step counter.
    if (name.size() > 20 && name.ends_with(".num_batches_tracked")) continue;
    unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty() || !bad_shape.empty() || !bad_dtype.empty()) {
    std::string msg = "weights '" + card.weights_path + "' do not match the architecture in model card '" +
                      card.card_path + "' (backbone " + card.architecture.backbone + ", num_classes " +
                      std::to_string(card.architecture.num_classes) + "); " + describe_weights(f) + ".";
    if (!missing.empty()) msg += " Missing " + std::to_string(missing.size()) + " tensor(s): " + list_some(missing) + ".";
    if (!unexpected.empty())
      msg += " Unexpected " + std::to_string(unexpected.size()) + " tensor(s): " + list_some(unexpected) + ".";
    if (!bad_shape.empty()) msg += " Wrong shape: " + list_some(bad_shape) + ".";
    if (!bad_dtype.empty()) msg += " Wrong dtype: " + list_some(bad_dtype) + ".";
    throw core::ModelError(msg);
  }
  auto out = std::make_shared<WeightMap>();
  for (const auto& p : spec) {
    const TensorRecord& rec = f.tensors().at(p.name);
    at::Tensor t = at::empty(std::vector<int64_t>(rec.shape.begin(), rec.shape.end()),
                             at::TensorOptions().dtype(dtype_of(rec.dtype)));
    if (rec.nbytes) std::memcpy(t.data_ptr(), f.data(rec), rec.nbytes);
    t = t.to(at::kFloat);
    if (!at::isfinite(t).all().item<bool>())
      throw core::ModelError("weights '" + card.weights_path + "': tensor '" + p.name + "' contains NaN or Inf");
    (*out)[p.name] = t;
  }
  // Last, so that a file that does not fit the card at all is described by what is wrong with it.
  if (!card.weights_sha256.empty()) {
    const std::string got = sha256_hex(f.bytes().data(), f.bytes().size());
    if (got != card.weights_sha256)
      throw core::ModelError("weights '" + card.weights_path + "': SHA-256 " + got + " is not the " +
                             card.weights_sha256 + " that model card '" + card.card_path +
                             "' records (provenance.weights_sha256): the file was changed or belongs to another card");
  }
  return out;
}

at::Device parse_device(const std::string& s) {
  if (s == "cpu") return at::Device(at::kCPU);
  if (s == "cuda") return at::Device(at::kCUDA, 0);
  if (s.rfind("cuda:", 0) == 0) {
    try {
      std::size_t used = 0;
      const int idx = std::stoi(s.substr(5), &used);
      if (used == s.size() - 5 && idx >= 0) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(idx));
    } catch (const std::exception&) {
    }
  }
  throw core::InvalidArgument("device '" + s + "' is not one of cpu, cuda, cuda:N");
}

}  // namespace

int default_cpu_threads() { return at::intraop_default_num_threads(); }
void set_cpu_threads(int threads) { at::set_num_threads(threads); }
int cpu_threads() { return at::get_num_threads(); }

int cuda_device_count() {
  try {
    return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::Fp32;
  if (s == "fp16") return Precision::Fp16;
  if (s == "bf16") return Precision::Bf16;
  throw core::InvalidArgument("precision '" + s + "' is not one of fp32, fp16, bf16");
}

void validate_tile(const TileView& t, const std::string& what) {
  if (t.channels != 3)
    throw core::InvalidArgument(what + ": expected 3 channels (RGB), got " + std::to_string(t.channels));
  if (t.width <= 0 || t.height <= 0)
    throw core::InvalidArgument(what + ": empty tile (" + std::to_string(t.width) + "x" + std::to_string(t.height) + ")");
  if (t.width < 2 || t.height < 2)
    throw core::InvalidArgument(what + ": tile of " + std::to_string(t.width) + "x" + std::to_string(t.height) +
                                " px is too small for the model (at least 2x2)");
  const std::size_t need = static_cast<std::size_t>(t.width) * static_cast<std::size_t>(t.height) * 3;
  if (t.data == nullptr || t.size_bytes != need)
    throw core::InvalidArgument(what + ": pixel buffer has " + std::to_string(t.size_bytes) + " bytes, a " +
                                std::to_string(t.width) + "x" + std::to_string(t.height) + " RGB tile needs " +
                                std::to_string(need) + " (wrong channel count?)");
}

struct Model::Impl {
  ModelCard card;
  ModelOptions options;
  std::shared_ptr<const WeightMap> cpu_weights;
  at::Device device{at::kCPU};
  Precision precision = Precision::Fp32;
  std::unique_ptr<MaskRcnn> net;
  at::Tensor mean, std;  // (3,1,1) on device

  void build(const std::string& device_request) {
    device = parse_device(device_request);
    if (device.is_cuda()) {
      const int n = cuda_device_count();
      if (n == 0) {
        log::warn("inference: CUDA requested (" + device_request +
                  ") but no CUDA device is available; running on the CPU");
        device = at::Device(at::kCPU);
      } else if (device.index() >= n) {
        throw core::InvalidArgument("device '" + device_request + "': only " + std::to_string(n) +
                                    " CUDA device(s) present");
      }
    }
    precision = options.precision;
    if (device.is_cpu() && precision != Precision::Fp32 && !options.allow_cpu_reduced_precision) {
      log::info("inference: fp16/bf16 only on CUDA; the CPU runs fp32");
      precision = Precision::Fp32;
    }
    const at::ScalarType dt = precision == Precision::Fp16   ? at::kHalf
                              : precision == Precision::Bf16 ? at::kBFloat16
                                                             : at::kFloat;
    c10::InferenceMode guard;
    WeightMap on_dev;
    for (const auto& [k, v] : *cpu_weights) on_dev[k] = v.to(device);
    net = std::make_unique<MaskRcnn>(card.architecture, std::move(on_dev), dt);
    const auto fo = at::TensorOptions().dtype(at::kFloat);
    mean = at::tensor(std::vector<float>(card.image_mean.begin(), card.image_mean.end()), fo).view({3, 1, 1}).to(device);
    std = at::tensor(std::vector<float>(card.image_std.begin(), card.image_std.end()), fo).view({3, 1, 1}).to(device);
  }
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::load(const std::string& model_path, const ModelOptions& options) {
  if (options.test_time_flips != 1 && options.test_time_flips != 2 && options.test_time_flips != 4)
    throw core::InvalidArgument("test-time flips " + std::to_string(options.test_time_flips) + " must be 1, 2 or 4");
  auto impl = std::make_unique<Impl>();
  impl->card = resolve_model(model_path);
  impl->options = options;
  try {
    impl->cpu_weights = load_weights(impl->card);
    impl->build(options.device);
  } catch (const core::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw core::ModelError("model '" + model_path + "': " + e.what());
  }
  log::debug("inference: loaded " + impl->card.name + " (" + impl->card.architecture.backbone + ") on " +
             impl->device.str());
  return Model(std::move(impl));
}

Model Model::replica(const std::string& device) const {
  auto impl = std::make_unique<Impl>();
  impl->card = impl_->card;
  impl->options = impl_->options;
  impl->cpu_weights = impl_->cpu_weights;
  impl->build(device);
  return Model(std::move(impl));
}

const ModelCard& Model::card() const { return impl_->card; }
std::string Model::device() const { return impl_->device.str(); }
Precision Model::precision() const { return impl_->precision; }

std::vector<Detection> Model::detect(const core::RgbImage& tile) const {
  return detect(std::vector<TileView>{TileView::of(tile)}).at(0);
}

namespace {

// A forward pass's output for one image as Detections with mask_probs (not pasted).
std::vector<Detection> to_detections(const RawDetections& raw) {
  const at::Tensor boxes = raw.boxes.to(at::kCPU).contiguous();
  const at::Tensor scores = raw.scores.to(at::kCPU).contiguous();
  const at::Tensor labels = raw.labels.to(at::kCPU).contiguous();
  const at::Tensor masks = raw.masks.to(at::kCPU).contiguous();
  const int64_t n = boxes.size(0);
  std::vector<Detection> dets(static_cast<std::size_t>(n));
  const float* b = boxes.data_ptr<float>();
  const float* sc = scores.data_ptr<float>();
  const int64_t* lb = labels.data_ptr<int64_t>();
  for (int64_t k = 0; k < n; ++k) {
    Detection& d = dets[static_cast<std::size_t>(k)];
    d.x0 = b[k * 4], d.y0 = b[k * 4 + 1], d.x1 = b[k * 4 + 2], d.y1 = b[k * 4 + 3];
    d.score = sc[k];
    d.label = static_cast<int>(lb[k]);
    const at::Tensor probs = masks[k].contiguous();
    d.mask_probs_size = static_cast<int>(probs.size(-1));
    d.mask_probs.assign(probs.data_ptr<float>(), probs.data_ptr<float>() + probs.numel());
  }
  return dets;
}

// Detection::mask from mask_probs, as torchvision's paste_masks_in_image at tile resolution.
void paste_at_tile_resolution(Detection& d, int tile_width, int tile_height, double mask_threshold) {
  const int m = d.mask_probs_size;
  const at::Tensor probs = at::from_blob(d.mask_probs.data(), {m, m}, at::TensorOptions().dtype(at::kFloat));  // read only
  const float box[4] = {d.x0, d.y0, d.x1, d.y1};
  const PastedMask pm = paste_mask(probs, box, tile_height, tile_width);
  d.mask_x = static_cast<int>(pm.x0);
  d.mask_y = static_cast<int>(pm.y0);
  const at::Tensor bin = (pm.probs > mask_threshold).contiguous();
  d.mask = core::Mask(static_cast<int>(bin.size(1)), static_cast<int>(bin.size(0)));
  d.mask_area = 0;
  const bool* bp = bin.data_ptr<bool>();
  for (std::size_t p = 0; p < d.mask.pixels.size(); ++p) {
    d.mask.pixels[p] = bp[p] ? 255 : 0;
    d.mask_area += bp[p] ? 1 : 0;
  }
}

}  // namespace

std::vector<std::vector<Detection>> Model::detect(const std::vector<TileView>& tiles) const {
  for (std::size_t i = 0; i < tiles.size(); ++i) validate_tile(tiles[i], "tile " + std::to_string(i));
  std::vector<std::vector<Detection>> result(tiles.size());
  if (tiles.empty()) return result;
  const Impl& m = *impl_;
  Thresholds th = m.card.thresholds;
  if (m.options.score_threshold >= 0) th.box_score = m.options.score_threshold;
  if (m.options.detections_per_img > 0) th.detections_per_img = m.options.detections_per_img;
  const double mask_thr = m.options.mask_threshold >= 0 ? m.options.mask_threshold : th.mask;
  const int views = m.options.test_time_flips;
  // With flips, each view keeps detections from a lower score, so that a nucleus scored just under the
  // threshold in one view still adds to the fused score (test_time_flips.hpp).
  Thresholds view_th = th;
  if (views > 1) view_th.box_score = std::min(th.box_score, kTestTimeFlipViewScore);
  try {
    c10::InferenceMode guard;
    // Host staging: pinned memory when copying to a GPU so the copy can be asynchronous.
    std::vector<at::Tensor> images;
    std::vector<int64_t> content;
    const auto u8 = at::TensorOptions().dtype(at::kByte).pinned_memory(m.device.is_cuda());
    for (const auto& t : tiles) {
      const long long tile_content =
          m.card.architecture.top_n_reference_area > 0 ? content_pixels(t.data, static_cast<long long>(t.width) * t.height) : 0;
      at::Tensor host = at::empty({t.height, t.width, 3}, u8);
      std::memcpy(host.data_ptr(), t.data, t.size_bytes);
      at::Tensor x = host.to(m.device, /*non_blocking=*/true).permute({2, 0, 1}).to(at::kFloat) / 255.0;
      x = (x - m.mean) / m.std;
      for (int v = 0; v < views; ++v) {  // view 0 is the tile itself
        const FlipView f = flip_view(v);
        std::vector<int64_t> dims;
        if (f.flip_x) dims.push_back(2);
        if (f.flip_y) dims.push_back(1);
        images.push_back(dims.empty() ? x : at::flip(x, dims));
        if (m.card.architecture.top_n_reference_area > 0) content.push_back(tile_content);
      }
    }
    const std::vector<RawDetections> raw = m.net->forward(images, view_th, content);
    for (std::size_t i = 0; i < tiles.size(); ++i) {
      auto& dets = result[i];
      if (views == 1) {
        dets = to_detections(raw[i]);
      } else {
        std::vector<std::vector<Detection>> per_view;
        for (int v = 0; v < views; ++v) {
          per_view.push_back(to_detections(raw[i * static_cast<std::size_t>(views) + static_cast<std::size_t>(v)]));
          unflip(per_view.back(), flip_view(v), tiles[i].width, tiles[i].height);
        }
        dets = fuse_views(per_view, kTestTimeFlipIou, th.box_score, th.detections_per_img);
      }
      if (m.options.paste_masks)
        for (Detection& d : dets) paste_at_tile_resolution(d, tiles[i].width, tiles[i].height, mask_thr);
    }
  } catch (const c10::OutOfMemoryError& e) {
    throw OutOfMemory("inference on " + m.device.str() + " ran out of memory with a batch of " +
                      std::to_string(tiles.size()) + " tile(s)");
  } catch (const core::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw core::Error("inference failed on " + m.device.str() + ": " + e.what());
  }
  return result;
}

}  // namespace karyon::inference
