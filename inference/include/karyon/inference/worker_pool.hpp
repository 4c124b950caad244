#pragma once
// Batched, multi-device inference: one worker thread per device (or several per device when asked),
// each with its own model replica; a bounded input queue (backpressure on submit) and a bounded
// output queue (backpressure on the workers). Results carry their tile id and come out in
// completion order, not submission order.
//
// Thread-safety: submit()/finish() may be called from one producer thread and pop() from another
// (or the same thread, as long as it does not block in submit() while the output queue is full:
// use run_all() or a separate consumer thread). cancel() and the destructor are safe from any thread.
// Failures: a worker whose batch throws hands its tiles back to the queue and stops; the others
// carry on. A CUDA out-of-memory error halves that worker's batch size and retries (down to 1).
// When no worker is left, the first error is rethrown from submit()/pop(). Bad tiles are rejected
// by submit() with core::InvalidArgument; model loading errors are thrown by the constructor
// (core::ModelError).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "karyon/core/image.hpp"
#include "karyon/core/progress.hpp"
#include "karyon/inference/detection.hpp"
#include "karyon/inference/model.hpp"

namespace karyon::inference {

struct PoolOptions {
  // "cpu", "cuda:N", "cuda:all" (one worker per GPU), or a comma list ("cuda:0,cuda:1").
  // Without CUDA, any cuda request falls back to CPU with a warning in the log.
  std::string device = "cpu";
  int workers_per_device = 1;     // replicas per device (CPU: CPU workers); 0 = automatic (CPU: one per core, at most 8)
  // Intra-op threads of each CPU worker; 0 = LibTorch's default (OMP_NUM_THREADS, else the cores)
  // shared out between the CPU workers, at least 1 each. Process-wide: LibTorch has one setting.
  int threads_per_worker = 0;
  int batch_size = 1;             // tiles per forward pass (upper bound; a worker takes what is queued)
  int queue_capacity = 0;         // input and output queue bound; 0 = 2 * batch_size * workers
  ModelOptions model;             // precision, thresholds (device is set per worker)
  // Test hook, called on the worker thread before each forward pass (also before each retry with a
  // halved batch); may throw to simulate a failure (e.g. OutOfMemory to exercise the halving).
  std::function<void(int worker, std::int64_t batch_index, std::size_t tiles)> before_batch;
};

struct TileJob {
  std::int64_t tile_id = 0;
  core::RgbImage image;
};

struct TileResult {
  std::int64_t tile_id = 0;
  std::vector<Detection> detections;
  int worker = -1;  // which worker produced it (for logs and tests)
};

class WorkerPool {
 public:
  WorkerPool(const std::string& model_path, PoolOptions options);
  ~WorkerPool();  // cancels outstanding work and joins the workers
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Blocks while the input queue is full. Throws InvalidArgument for a bad tile (nothing queued),
  // the pool's error if every worker has failed, core::Cancelled after cancel().
  void submit(TileJob job);
  // No more tiles will be submitted.
  void finish();
  // Next result; blocks. std::nullopt once finish() was called and every tile has come out.
  std::optional<TileResult> pop();
  void cancel();

  // Convenience: submits all jobs from a feeder thread and returns the results sorted by tile id.
  std::vector<TileResult> run_all(std::vector<TileJob> jobs);

  int worker_count() const;
  std::vector<std::string> worker_devices() const;
  const ModelCard& card() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// Expands a device request ("cpu", "cuda:1", "cuda:all", "cuda:0,cuda:1") into device names,
// falling back to {"cpu"} (with a warning) when CUDA is asked for but absent.
// Throws InvalidArgument for a malformed request or a CUDA index that does not exist.
std::vector<std::string> resolve_devices(const std::string& request);

}  // namespace karyon::inference
