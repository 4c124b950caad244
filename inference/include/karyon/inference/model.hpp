#pragma once
// A loaded Mask R-CNN (torchvision architecture and parameter names) on one device.
//
// Ownership: a Model owns its weights (on its device). Models are movable, not copyable;
// replica() makes another Model on another device (sharing nothing) or, on the same device,
// sharing the read-only weights.
// Thread-safety: detect() does not modify the model; concurrent calls on one Model are safe but
// compete for the same device, so the worker pool gives each worker its own replica.
// Errors: load() throws core::ModelError (missing/corrupt file, card/weights mismatch, with the file
// name and reason); detect() throws core::InvalidArgument for a bad tile (empty, wrong pixel count,
// wrong channel count) and core::Error for a failure inside LibTorch. A CUDA out-of-memory error is
// thrown as OutOfMemory so that callers can retry with a smaller batch.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "karyon/core/errors.hpp"
#include "karyon/core/image.hpp"
#include "karyon/inference/detection.hpp"
#include "karyon/inference/model_card.hpp"

namespace karyon::inference {

enum class Precision { Fp32, Fp16, Bf16 };
Precision parse_precision(const std::string& s);  // "fp32" | "fp16" | "bf16"; throws InvalidArgument

class OutOfMemory : public core::Error {
 public:
  using core::Error::Error;
};

struct ModelOptions {
  std::string device = "cpu";          // "cpu" or "cuda:N"; "cuda" means cuda:0
  Precision precision = Precision::Fp32;  // fp16/bf16 only on CUDA (CPU stays fp32, with a log line)
  double score_threshold = -1;         // < 0: the card's thresholds.box_score
  int detections_per_img = -1;         // < 0: the card's thresholds.detections_per_img
  double mask_threshold = -1;          // < 0: the card's thresholds.mask
  // Also paste each mask at tile resolution (Detection::mask, as torchvision returns it). Off for callers
  // that paste Detection::mask_probs themselves (the pipeline pastes at the slide's level 0).
  bool paste_masks = true;
  // Test-time flips: 1 (off), 2 (also mirrored left-right) or 4 (also up-down, and both); the views are fused
  // (src/test_time_flips.hpp). Costs that many forward passes per tile.
  int test_time_flips = 1;
  bool allow_cpu_reduced_precision = false;  // tests only: run bf16/fp16 on the CPU (slow)
};

// A borrowed view of interleaved 8-bit pixels (row-major, no padding).
struct TileView {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int channels = 3;  // must be 3 (RGB)
  std::size_t size_bytes = 0;
  static TileView of(const core::RgbImage& img) {
    return TileView{img.pixels.data(), img.width, img.height, 3, img.pixels.size()};
  }
};

// Throws core::InvalidArgument if the view is not a usable RGB tile; `what` names the tile.
void validate_tile(const TileView& tile, const std::string& what);

class Model {
 public:
  static Model load(const std::string& model_path, const ModelOptions& options = {});
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelCard& card() const;
  std::string device() const;     // the device actually used (after any CPU fallback)
  Precision precision() const;

  // One forward pass over all tiles as one batch. Result i belongs to tiles[i].
  std::vector<std::vector<Detection>> detect(const std::vector<TileView>& tiles) const;
  std::vector<Detection> detect(const core::RgbImage& tile) const;

  // A copy of this model on `device` (same options otherwise).
  Model replica(const std::string& device) const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True if LibTorch sees at least one CUDA device.
int cuda_device_count();

// LibTorch's intra-op thread count: its default (OMP_NUM_THREADS, else the cores), and the process-wide
// setting (LibTorch has one for all threads).
int default_cpu_threads();
void set_cpu_threads(int threads);
int cpu_threads();

}  // namespace karyon::inference
