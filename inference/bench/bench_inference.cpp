// karyon-inference-bench: throughput and peak memory of the C++ engine on tiles stored in a
// safetensors file (tensors tile0..tileN-1, uint8 HxWx3), for tools/model/bench_inference.py and
// tools/model/gpu_check.sh. Prints one JSON line.
//   karyon-inference-bench --model M.json --tiles tiles.safetensors [--device cpu|cuda:0|cuda:all]
//       [--batch 4] [--workers 1] [--precision fp32|fp16|bf16] [--threads 2] [--repeat 1]
//       [--check-cpu N]   also run the first N tiles on the CPU in fp32 and report agreement
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "karyon/core/stage_profile.hpp"
#include "karyon/inference/worker_pool.hpp"
#include "safetensors.hpp"

using namespace karyon;
using namespace karyon::inference;

namespace {

double iou(const Detection& a, const Detection& b) {
  const double w = std::max(0.f, std::min(a.x1, b.x1) - std::max(a.x0, b.x0));
  const double h = std::max(0.f, std::min(a.y1, b.y1) - std::max(a.y0, b.y0));
  const double i = w * h, u = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - i;
  return u > 0 ? i / u : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, tiles_path, device = "cpu", precision = "fp32";
  int batch = 1, workers = 1, threads = 0, repeat = 1, check_cpu = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    if (a == "--model") model = next();
    else if (a == "--tiles") tiles_path = next();
    else if (a == "--device") device = next();
    else if (a == "--precision") precision = next();
    else if (a == "--batch") batch = std::stoi(next());
    else if (a == "--workers") workers = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--check-cpu") check_cpu = std::stoi(next());
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  try {
    SafetensorsFile f(tiles_path);
    std::vector<TileJob> jobs;
    for (int i = 0;; ++i) {
      const auto it = f.tensors().find("tile" + std::to_string(i));
      if (it == f.tensors().end()) break;
      TileJob j;
      j.tile_id = i;
      j.image = core::RgbImage(static_cast<int>(it->second.shape[1]), static_cast<int>(it->second.shape[0]));
      std::memcpy(j.image.pixels.data(), f.data(it->second), j.image.pixels.size());
      jobs.push_back(std::move(j));
    }
    PoolOptions o;
    o.device = device;
    o.batch_size = batch;
    o.workers_per_device = workers;
    o.threads_per_worker = std::max(threads, 0);  // --threads: per worker (0: the cores shared out)
    o.model.precision = parse_precision(precision);
    const auto t_load = std::chrono::steady_clock::now();
    WorkerPool pool(model, o);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    // Warm-up (allocator, cuDNN/oneDNN algorithm choice) on one batch, not timed.
    std::vector<TileJob> warm(jobs.begin(), jobs.begin() + std::min<std::size_t>(jobs.size(), static_cast<std::size_t>(batch)));
    std::vector<TileResult> res = pool.run_all(warm);
    // run_all finishes the pool; a fresh pool per timed run keeps the API simple.
    std::vector<TileResult> all;
    double secs = 0;
    core::StageProfile::process().reset();  // the timed runs' stages only
    for (int r = 0; r < repeat; ++r) {
      WorkerPool p2(model, o);
      const auto t0 = std::chrono::steady_clock::now();
      all = p2.run_all(jobs);
      secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    std::size_t dets = 0;
    for (const auto& r : all) dets += r.detections.size();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    nlohmann::json out = {{"engine", "karyon-cpp"},
                          {"devices", pool.worker_devices()},
                          {"precision", precision},
                          {"batch", batch},
                          {"workers", workers},
                          {"threads", at::get_num_threads()},
                          {"tiles", jobs.size() * static_cast<std::size_t>(repeat)},
                          {"seconds", secs},
                          {"tiles_per_s", static_cast<double>(jobs.size()) * repeat / secs},
                          {"detections", dets},
                          {"load_s", load_s},
                          {"peak_rss_mb", static_cast<double>(ru.ru_maxrss) / 1024.0}};
    for (const auto& [stage, seconds] : core::StageProfile::process().totals()) out["stages"][stage] = seconds;
    if (check_cpu > 0) {
      const Model cpu = Model::load(model, ModelOptions{});
      int matched = 0, total = 0, count_diff = 0;
      double max_box = 0, max_score = 0;
      for (int i = 0; i < std::min<int>(check_cpu, static_cast<int>(jobs.size())); ++i) {
        const auto ref = cpu.detect(jobs[static_cast<std::size_t>(i)].image);
        const auto& got = all[static_cast<std::size_t>(i)].detections;
        count_diff += std::abs(static_cast<int>(ref.size()) - static_cast<int>(got.size()));
        for (const auto& r : ref) {
          ++total;
          double best = 0;
          const Detection* bd = nullptr;
          for (const auto& g : got)
            if (g.label == r.label && iou(r, g) > best) best = iou(r, g), bd = &g;
          if (bd && best > 0.9) {
            ++matched;
            max_box = std::max({max_box, (double)std::abs(bd->x0 - r.x0), (double)std::abs(bd->y0 - r.y0),
                                (double)std::abs(bd->x1 - r.x1), (double)std::abs(bd->y1 - r.y1)});
            max_score = std::max(max_score, (double)std::abs(bd->score - r.score));
          }
        }
      }
      out["check_cpu"] = {{"tiles", check_cpu}, {"cpu_detections", total}, {"matched_iou_0.9", matched},
                          {"count_diff", count_diff}, {"max_box_abs_diff_px", max_box}, {"max_score_diff", max_score}};
    }
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "karyon-inference-bench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
