#include "karyon/inference/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>

namespace karyon::inference {

namespace {

// cuda:N's N (>= 0, digits only), -1 for "cuda:all", nullopt when `p` is not a CUDA device name.
std::optional<int> cuda_index(const std::string& p) {
  if (p == "cuda") return 0;
  if (p == "cuda:all") return -1;
  if (p.rfind("cuda:", 0) != 0 || p.size() == 5 || p.size() > 9) return std::nullopt;
  for (std::size_t k = 5; k < p.size(); ++k)
    if (!std::isdigit(static_cast<unsigned char>(p[k]))) return std::nullopt;
  return std::stoi(p.substr(5));
}

}  // namespace

std::vector<std::string> resolve_devices(const std::string& request) {
  std::vector<std::string> parts;
  std::stringstream ss(request);
  for (std::string p; std::getline(ss, p, ',');)
    if (!p.empty()) parts.push_back(p);
  if (parts.empty()) throw core::InvalidArgument("device request is empty (use cpu, cuda:N or cuda:all)");
  // Every name is checked before CUDA is asked about, so that a typo is refused on a machine without one too.
  bool wants_cuda = false;
  for (const auto& p : parts) {
    if (p == "cpu") continue;
    if (!cuda_index(p)) throw core::InvalidArgument("device '" + p + "' is not one of cpu, cuda:N, cuda:all");
    wants_cuda = true;
  }
  std::vector<std::string> out;
  for (const auto& p : parts)
    if (p == "cpu") out.push_back("cpu");
  if (wants_cuda) {
    const int n = cuda_device_count();
    if (n == 0) {
      spdlog::warn("inference: CUDA requested ('{}') but no CUDA device is available; using the CPU", request);
      return {"cpu"};
    }
    for (const auto& p : parts) {
      if (p == "cpu") continue;
      const int i = *cuda_index(p);
      if (i < 0) {
        for (int k = 0; k < n; ++k) out.push_back("cuda:" + std::to_string(k));
        continue;
      }
      if (i >= n)
        throw core::InvalidArgument("device '" + p + "': only " + std::to_string(n) + " CUDA device(s) present");
      out.push_back("cuda:" + std::to_string(i));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

struct WorkerPool::State {
  PoolOptions opts;
  std::vector<std::unique_ptr<Model>> models;
  std::vector<std::string> devices;
  std::size_t capacity = 1;

  std::mutex mu;
  std::condition_variable cv;  // one condition for every state change: simple and not a bottleneck here
  std::deque<TileJob> in;
  std::deque<TileResult> out;
  std::size_t in_flight = 0;
  int alive = 0;
  bool finished = false;
  bool cancelled = false;
  std::exception_ptr fatal;        // set when no worker is left
  std::exception_ptr first_error;  // first worker failure
  std::vector<std::thread> threads;

  std::vector<std::vector<Detection>> run(Model& m, const std::vector<TileJob>& jobs, std::size_t begin,
                                          std::size_t end, int& batch_size, int worker, std::int64_t batch_index) {
    std::vector<TileView> views;
    for (std::size_t i = begin; i < end; ++i) views.push_back(TileView::of(jobs[i].image));
    try {
      if (opts.before_batch) opts.before_batch(worker, batch_index, end - begin);
      return m.detect(views);
    } catch (const OutOfMemory& e) {
      if (end - begin <= 1) throw;
      const std::size_t half = (end - begin) / 2;
      batch_size = static_cast<int>(std::max<std::size_t>(1, half));
      spdlog::warn("inference worker {} ({}): out of memory with {} tiles; batch size now {}", worker, m.device(),
                   end - begin, batch_size);
      auto a = run(m, jobs, begin, begin + half, batch_size, worker, batch_index);
      auto b = run(m, jobs, begin + half, end, batch_size, worker, batch_index);
      for (auto& r : b) a.push_back(std::move(r));
      return a;
    }
  }

  void worker(int index) {
    Model& model = *models[static_cast<std::size_t>(index)];
    int batch_size = std::max(1, opts.batch_size);
    std::int64_t batch_index = 0;
    for (;;) {
      std::vector<TileJob> batch;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return cancelled || !in.empty() || finished; });
        if (cancelled || in.empty()) break;  // in.empty() here means finished
        while (!in.empty() && batch.size() < static_cast<std::size_t>(batch_size)) {
          batch.push_back(std::move(in.front()));
          in.pop_front();
        }
        in_flight += batch.size();
      }
      cv.notify_all();
      std::vector<std::vector<Detection>> dets;
      try {
        dets = run(model, batch, 0, batch.size(), batch_size, index, batch_index++);
      } catch (...) {
        spdlog::error("inference worker {} ({}) failed; handing its {} tile(s) back: {}", index, model.device(),
                      batch.size(), describe(std::current_exception()));
        {
          std::lock_guard lk(mu);
          for (auto it = batch.rbegin(); it != batch.rend(); ++it) in.push_front(std::move(*it));
          in_flight -= batch.size();
          if (!first_error) first_error = std::current_exception();
          if (--alive == 0) fatal = first_error;
        }
        cv.notify_all();
        return;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return cancelled || out.size() < capacity; });
        if (cancelled) return;
        out.push_back(TileResult{batch[i].tile_id, std::move(dets[i]), index});
        --in_flight;
        lk.unlock();
        cv.notify_all();
      }
    }
    std::lock_guard lk(mu);
    --alive;
    cv.notify_all();
  }

  static std::string describe(const std::exception_ptr& p) {
    try {
      std::rethrow_exception(p);
    } catch (const std::exception& e) {
      return e.what();
    } catch (...) {
      return "unknown error";
    }
  }
};

WorkerPool::WorkerPool(const std::string& model_path, PoolOptions options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.opts = std::move(options);
  if (s.opts.batch_size < 1) throw core::InvalidArgument("batch size must be >= 1, got " + std::to_string(s.opts.batch_size));
  if (s.opts.workers_per_device < 0)
    throw core::InvalidArgument("workers per device must be >= 0 (0: automatic), got " +
                                std::to_string(s.opts.workers_per_device));
  const std::vector<std::string> devs = resolve_devices(s.opts.device);
  ModelOptions mo = s.opts.model;
  mo.device = devs.front();
  auto first = std::make_unique<Model>(Model::load(model_path, mo));
  // Automatic: on CPU one single-threaded worker per core (up to 8), which beat one worker with all the
  // cores by 1.22x on 2 cores (docs/BENCHMARKS.md); one per GPU.
  auto workers_for = [&](const std::string& d) {
    if (s.opts.workers_per_device > 0) return s.opts.workers_per_device;
    return d == "cpu" ? std::clamp(default_cpu_threads(), 1, 8) : 1;
  };
  for (const auto& d : devs)
    for (int k = 0; k < workers_for(d); ++k) {
      if (s.models.empty()) s.models.push_back(std::move(first));
      else s.models.push_back(std::make_unique<Model>(s.models.front()->replica(d)));
      s.devices.push_back(s.models.back()->device());
    }
  const std::size_t w = s.models.size();
  const auto cpu_workers = std::count(s.devices.begin(), s.devices.end(), "cpu");
  if (cpu_workers > 0) {
    const int threads = s.opts.threads_per_worker > 0
                            ? s.opts.threads_per_worker
                            : std::max(1, default_cpu_threads() / static_cast<int>(cpu_workers));
    // Only when it changes: at::set_num_threads also empties oneDNN's primitive cache.
    if (cpu_threads() != threads) set_cpu_threads(threads);
    spdlog::info("inference: {} CPU worker(s) x {} intra-op thread(s)", cpu_workers, threads);
  }
  s.capacity = s.opts.queue_capacity > 0 ? static_cast<std::size_t>(s.opts.queue_capacity)
                                         : 2 * static_cast<std::size_t>(s.opts.batch_size) * w;
  s.alive = static_cast<int>(w);
  spdlog::info("inference: {} worker(s) on {}, batch size {}", w, s.opts.device, s.opts.batch_size);
  for (std::size_t i = 0; i < w; ++i) s.threads.emplace_back([this, i] { state_->worker(static_cast<int>(i)); });
}

WorkerPool::~WorkerPool() {
  cancel();
  for (auto& t : state_->threads)
    if (t.joinable()) t.join();
}

void WorkerPool::submit(TileJob job) {
  validate_tile(TileView::of(job.image), "tile " + std::to_string(job.tile_id));
  State& s = *state_;
  std::unique_lock lk(s.mu);
  if (s.finished) throw core::InvalidArgument("submit() after finish()");
  s.cv.wait(lk, [&] { return s.cancelled || s.fatal || s.in.size() < s.capacity; });
  if (s.fatal) std::rethrow_exception(s.fatal);
  if (s.cancelled) throw core::Cancelled();
  s.in.push_back(std::move(job));
  lk.unlock();
  s.cv.notify_all();
}

void WorkerPool::finish() {
  {
    std::lock_guard lk(state_->mu);
    state_->finished = true;
  }
  state_->cv.notify_all();
}

void WorkerPool::cancel() {
  {
    std::lock_guard lk(state_->mu);
    state_->cancelled = true;
  }
  state_->cv.notify_all();
}

std::optional<TileResult> WorkerPool::pop() {
  State& s = *state_;
  std::unique_lock lk(s.mu);
  s.cv.wait(lk, [&] {
    return !s.out.empty() || s.fatal || s.cancelled || (s.finished && s.in.empty() && s.in_flight == 0);
  });
  if (!s.out.empty()) {
    TileResult r = std::move(s.out.front());
    s.out.pop_front();
    lk.unlock();
    s.cv.notify_all();
    return r;
  }
  if (s.fatal) std::rethrow_exception(s.fatal);
  if (s.cancelled) throw core::Cancelled();
  return std::nullopt;
}

std::vector<TileResult> WorkerPool::run_all(std::vector<TileJob> jobs) {
  std::exception_ptr feeder_error;
  std::thread feeder([&] {
    try {
      for (auto& j : jobs) submit(std::move(j));
      finish();
    } catch (...) {
      feeder_error = std::current_exception();
      cancel();
    }
  });
  std::vector<TileResult> results;
  try {
    while (auto r = pop()) results.push_back(std::move(*r));
  } catch (...) {
    cancel();
    feeder.join();
    if (feeder_error) std::rethrow_exception(feeder_error);
    throw;
  }
  feeder.join();
  if (feeder_error) std::rethrow_exception(feeder_error);
  std::sort(results.begin(), results.end(), [](const auto& a, const auto& b) { return a.tile_id < b.tile_id; });
  return results;
}

int WorkerPool::worker_count() const { return static_cast<int>(state_->models.size()); }
std::vector<std::string> WorkerPool::worker_devices() const { return state_->devices; }
const ModelCard& WorkerPool::card() const { return state_->models.front()->card(); }

}  // namespace karyon::inference
