#pragma once
// Progress and cancellation, shared by the engine and its front ends (CLI bar, GUI signals).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace karyon::core {

// Set from any thread (signal handler, GUI button); polled by workers between units of work.
class CancelToken {
 public:
  void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }
  void reset() noexcept { cancelled_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct ProgressUpdate {
  std::string stage;          // e.g. "tiles", "synth level 2"
  std::int64_t done = 0;
  std::int64_t total = 0;     // 0 when unknown
};

// Called on the thread that drives the work (never from worker threads), as libvips does.
using ProgressCallback = std::function<void(const ProgressUpdate&)>;

}  // namespace karyon::core
