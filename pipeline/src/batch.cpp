// Batch runs: the loop over analyze_slide (reuse of finished slides, locks, resume, events, the JSON log).
// Discovery and shards: batch_discovery.cpp; reports: batch_report.cpp.
#include "karyon/pipeline/batch.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "karyon/core/clock.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/inference/model_card.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::pipeline {
namespace fs = std::filesystem;
using core::InvalidArgument;
using json = nlohmann::json;

namespace {

// A complete summary.json of this slide's folder, or nullopt (absent, or not a finished analysis: analyze_slide
// writes it last, atomically, so a summary from an older or foreign run that lacks the counts is not trusted).
std::optional<json> finished_summary(const fs::path& dir) {
  const fs::path p = dir / "summary.json";
  if (!fs::exists(p)) return std::nullopt;
  std::ifstream in(p);
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("counts") || !j["counts"].contains("nuclei") || !j.contains("outputs"))
    return std::nullopt;
  return j;
}

// The options as analyze_slide would apply them: the default model, its card's score threshold, and the tile size
// raised to the card's input.min_tile_size. Read once per batch; an unreadable card is left for each slide's
// analysis to report.
AnalyzeOptions as_run(AnalyzeOptions o) {
  if (o.model.empty()) o.model = default_model_path();
  if (!o.model.empty()) {
    try {
      const auto card = inference::read_model_card(o.model.string());
      if (o.score_threshold < 0) o.score_threshold = card.thresholds.box_score;
      o.tile_size = std::max(o.tile_size, card.min_tile_size);
    } catch (const core::Error&) {
    }
  }
  return o;
}

// Empty when a finished slide was analysed with the settings asked for now; otherwise what differs.
// Re-running with other settings must not silently report old results as done.
std::string settings_mismatch(const json& s, const AnalyzeOptions& o) {  // o: as_run(), defaults made explicit
  std::vector<std::string> diff;
  const json& set = s.value("settings", json::object());
  auto num = [&](const char* key, double want) {
    if (!set.contains(key) || !set[key].is_number() || std::abs(set[key].get<double>() - want) > 1e-9)
      diff.push_back(std::string(key) + " " + (set.contains(key) ? set[key].dump() : "?") + " (now " +
                     json(want).dump() + ")");
  };
  if (o.score_threshold >= 0) num("score_threshold", o.score_threshold);  // < 0 only if the card was unreadable
  num("tile_size", o.tile_size);
  if (set.contains("test_time_flips") || o.test_time_flips != 1) num("test_time_flips", o.test_time_flips);
  num("heatmap_cell_um", o.heatmap_cell_um);
  if (o.overlap >= 0) num("overlap", o.overlap);
  if (set.contains("region") != o.region.has_value()) diff.push_back("region");
  const std::string geo = s["outputs"].value("geojson", "");
  if ((geo == "nuclei.geojson.gz") != o.gzip) diff.push_back("gzip");
  const std::string card = s.value("model", json::object()).value("card", "");
  std::error_code ec1, ec2;
  const auto have = fs::weakly_canonical(card, ec1), want = fs::weakly_canonical(o.model, ec2);
  if (!o.model.empty() && (ec1 || ec2 || have != want)) diff.push_back("model " + card + " (now " + o.model.string() + ")");
  std::string out;
  for (const auto& d : diff) out += (out.empty() ? "" : ", ") + d;
  return out;
}

// An exclusive lock on OUT/<name>/.batch.lock for as long as the object lives, so that two
// processes (say a re-submitted array task and a straggler) never write the same store.
class SlideLock {
 public:
  explicit SlideLock(const fs::path& dir) {
    const fs::path p = dir / ".batch.lock";
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw core::OutputError(p.string() + ": cannot create lock file");
    locked_ = ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }
  ~SlideLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  SlideLock(const SlideLock&) = delete;
  SlideLock& operator=(const SlideLock&) = delete;
  bool locked() const { return locked_; }

 private:
  int fd_ = -1;
  bool locked_ = false;
};

// A store killed between its creation and analyze_slide's first meta write holds neither settings
// nor tiles; resume would refuse it for good ("made with other settings"), so it is started afresh.
bool store_never_started(const fs::path& store) {
  try {
    const postprocess::ResultStore s(store);
    return !s.meta("settings") && s.final_tiles().empty();
  } catch (const std::exception&) {
    return false;  // unreadable: let analyze_slide report it
  }
}

class JsonLog {
 public:
  explicit JsonLog(const fs::path& path) {
    if (path.empty()) return;
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    out_.open(path, std::ios::app);
    if (!out_) throw core::OutputError(path.string() + ": cannot open the JSON log for appending");
    path_ = path;
  }
  void write(json j) {
    if (!out_.is_open()) return;
    json line = {{"time", core::utc_timestamp()}};
    line.update(j);
    out_ << line.dump() << '\n';
    out_.flush();  // one complete line per event, even if we are killed right after
    if (!out_) spdlog::warn("{}: cannot write the JSON log", path_.string());
  }

 private:
  std::ofstream out_;
  fs::path path_;
};

}  // namespace

const char* to_string(BatchEventKind k) {
  switch (k) {
    case BatchEventKind::BatchStart: return "batch_start";
    case BatchEventKind::SlideStart: return "slide_start";
    case BatchEventKind::SlideDone: return "slide_done";
    case BatchEventKind::SlideReused: return "slide_reused";
    case BatchEventKind::SlideFailed: return "slide_failed";
    case BatchEventKind::SlideSkipped: return "slide_skipped";
    case BatchEventKind::BatchEnd: return "batch_end";
  }
  return "?";
}

BatchResult run_batch(const BatchOptions& o, const std::function<void(const BatchEvent&)>& on_event,
                      const std::function<void(const AnalyzeProgress&)>& slide_progress, const core::CancelToken* cancel) {
  if (o.out_dir.empty()) throw InvalidArgument("no output folder (-o)");
  if (fs::exists(o.out_dir) && !fs::is_directory(o.out_dir))
    throw InvalidArgument(o.out_dir.string() + ": exists and is not a folder");
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) throw core::OutputError(o.out_dir.string() + ": cannot create output folder: " + ec.message());

  JsonLog log(o.log_json);
  BatchResult result;
  BatchReport& report = result.report;
  report.shard = o.shard;
  report.started_utc = core::utc_timestamp();
  const int total = static_cast<int>(o.slides.size());

  auto save = [&] {
    report.updated_utc = core::utc_timestamp();
    write_report(o.out_dir, report);
  };
  auto emit = [&](BatchEventKind kind, int index, const ReportRow* row, bool resumed, json extra = json::object()) {
    json j = {{"event", to_string(kind)}};
    if (o.shard) j["shard"] = std::to_string(o.shard->index) + "/" + std::to_string(o.shard->count);
    if (row) {
      j["slide"] = row->slide;
      j["output"] = row->output;
      j["index"] = index;
      j["total"] = total;
      if (kind == BatchEventKind::SlideStart) j["resumed"] = resumed;
      if (row->nuclei >= 0) j["nuclei"] = row->nuclei;
      if (row->tiles >= 0) j["tiles"] = row->tiles;
      if (row->damaged_tiles > 0) j["damaged_tiles"] = row->damaged_tiles;
      if (kind != BatchEventKind::SlideStart) j["seconds"] = row->seconds;
      if (!row->error.empty()) j["error"] = row->error;
    }
    j.update(extra);
    log.write(j);
    if (on_event) on_event(BatchEvent{kind, index, total, row, resumed});
  };

  // Finished slides are known before anything runs, so the first report is already complete.
  const AnalyzeOptions wanted = as_run(o.analyze);
  for (const auto& s : o.slides) {
    ReportRow row;
    row.slide = s.key;
    row.output = s.name;
    if (auto sum = finished_summary(o.out_dir / s.name)) {
      if (const auto diff = settings_mismatch(*sum, wanted); diff.empty()) {
        row.status = SlideStatus::Done;
        row.reused = true;
        row.nuclei = (*sum)["counts"].value("nuclei", std::int64_t{-1});
        row.tiles = (*sum)["counts"].value("tiles_planned", std::int64_t{-1});
        row.damaged_tiles = (*sum)["counts"].value("tiles_damaged", std::int64_t{0});
        row.seconds = sum->value("timings", json::object()).value("seconds", 0.0);
      }
    }
    report.rows.push_back(row);
  }
  save();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  emit(BatchEventKind::BatchStart, 0, nullptr, false,
       {{"slides", total}, {"out", o.out_dir.string()}, {"device", o.analyze.device}, {"host", host},
        {"pid", static_cast<long>(::getpid())}});

  bool stop = false;
  for (int i = 0; i < total; ++i) {
    const SlideEntry& s = o.slides[i];
    ReportRow& row = report.rows[i];
    if (stop || (cancel && cancel->cancelled())) {
      stop = true;
      if (row.status == SlideStatus::Pending) {
        row.status = SlideStatus::Skipped;
        row.error = "batch stopped before this slide; the next run does it";
        ++result.skipped;
      } else {
        ++result.done;
      }
      continue;
    }
    if (row.reused) {
      ++result.done;
      emit(BatchEventKind::SlideReused, i + 1, &row, false);
      continue;
    }
    const fs::path dir = o.out_dir / s.name;
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    fs::create_directories(dir, ec);
    if (ec) throw core::OutputError(dir.string() + ": cannot create: " + ec.message());
    SlideLock lock(dir);
    if (!lock.locked()) {
      row.status = SlideStatus::Skipped;
      row.error = "another process is working on " + dir.string() + " (its .batch.lock is held)";
      ++result.skipped;
      save();
      emit(BatchEventKind::SlideSkipped, i + 1, &row, false);
      continue;
    }
    AnalyzeOptions a = o.analyze;
    a.slide = s.path;
    a.out_dir = dir;
    if (fs::exists(dir / "results.sqlite") && store_never_started(dir / "results.sqlite"))
      for (const char* f : {"results.sqlite", "results.sqlite-wal", "results.sqlite-shm", "results.sqlite-journal"})
        fs::remove(dir / f, ec);
    a.resume = fs::exists(dir / "results.sqlite");
    row.status = SlideStatus::Running;
    row.error.clear();
    save();
    emit(BatchEventKind::SlideStart, i + 1, &row, a.resume);
    bool fatal = false;
    std::exception_ptr rethrow;
    try {
      const auto summary = analyze_slide(a, slide_progress, cancel);
      row.status = SlideStatus::Done;
      row.nuclei = summary.nuclei;
      row.tiles = summary.tiles_planned;
      row.damaged_tiles = static_cast<std::int64_t>(summary.damaged_tiles.size());
      row.seconds = summary.seconds;
      ++result.done;
    } catch (const core::Cancelled&) {
      row.status = SlideStatus::Skipped;
      row.error = "stopped by a signal; the next run resumes it";
      row.seconds = elapsed();
      ++result.skipped;
      stop = true;
    } catch (const core::ModelError& e) {
      // Not the slide's fault, and every other slide would fail the same way: stop here.
      row.status = SlideStatus::Failed;
      row.error = e.what();
      fatal = true;
      rethrow = std::current_exception();
    } catch (const core::OutputError& e) {
      row.status = SlideStatus::Failed;
      row.error = e.what();
      fatal = true;
      rethrow = std::current_exception();
    } catch (const std::exception& e) {
      row.status = SlideStatus::Failed;
      row.error = e.what();
    } catch (...) {
      row.status = SlideStatus::Failed;
      row.error = "unknown error";
    }
    if (row.status == SlideStatus::Failed) {
      row.seconds = elapsed();
      ++result.failed;
    }
    save();
    emit(row.status == SlideStatus::Done     ? BatchEventKind::SlideDone
         : row.status == SlideStatus::Failed ? BatchEventKind::SlideFailed
                                             : BatchEventKind::SlideSkipped,
         i + 1, &row, false);
    if (fatal) {
      for (int k = i + 1; k < total; ++k)
        if (report.rows[k].status == SlideStatus::Pending) {
          report.rows[k].status = SlideStatus::Skipped;
          report.rows[k].error = "batch stopped: " + row.error;
        }
      save();
      emit(BatchEventKind::BatchEnd, 0, nullptr, false, {{"aborted", row.error}});
      std::rethrow_exception(rethrow);
    }
  }
  result.cancelled = stop;
  report.finished = !stop;
  save();
  emit(BatchEventKind::BatchEnd, 0, nullptr, false,
       {{"done", result.done}, {"failed", result.failed}, {"skipped", result.skipped}, {"cancelled", result.cancelled}});
  return result;
}

}  // namespace karyon::pipeline
