#pragma once
// Where the time goes: process-wide wall seconds per named stage (read, resample, backbone, RPN, ...), summed
// over all threads that ran it, so with several workers a stage's total can exceed the run's wall time.
// Each module times its own stages with a StageTimer; analyze writes the totals to summary.json
// ("timings.stages") and tools/bench reports them. Cost: two steady_clock reads and one short lock per stage
// call (a few per tile), nothing measurable.
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace karyon::core {

class StageProfile {
 public:
  static StageProfile& process() {
    static StageProfile p;
    return p;
  }
  void add(std::string_view stage, double seconds) {
    std::lock_guard lock(mutex_);
    for (auto& [name, s] : totals_)
      if (name == stage) {
        s += seconds;
        return;
      }
    totals_.emplace_back(std::string(stage), seconds);
  }
  // Stages in the order they first ran, with their summed seconds.
  std::vector<std::pair<std::string, double>> totals() const {
    std::lock_guard lock(mutex_);
    return totals_;
  }
  void reset() {
    std::lock_guard lock(mutex_);
    totals_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, double>> totals_;
};

// Adds the wall time from construction to destruction (or to stop()) to `stage`.
class StageTimer {
 public:
  explicit StageTimer(std::string_view stage) : stage_(stage), start_(std::chrono::steady_clock::now()) {}
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;
  ~StageTimer() { stop(); }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    StageProfile::process().add(stage_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

 private:
  std::string_view stage_;  // a string literal
  std::chrono::steady_clock::time_point start_;
  bool stopped_ = false;
};

}  // namespace karyon::core
