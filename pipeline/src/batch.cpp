// Batch runs: discovery, naming, shards, reports, and the loop over analyze_slide.
#include "karyon/pipeline/batch.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <spdlog/spdlog.h>

#include "karyon/core/clock.hpp"
#include "karyon/core/csv.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"
#include "karyon/core/version.hpp"
#include "karyon/inference/model_card.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::pipeline {
namespace fs = std::filesystem;
using core::InvalidArgument;
using json = nlohmann::json;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string extension_of(const fs::path& p) {
  std::string e = lower(p.extension().string());
  return e.empty() ? e : e.substr(1);
}

bool wanted(const fs::path& p, const std::set<std::string>& exts) { return exts.count(extension_of(p)) > 0; }

json row_json(const ReportRow& r) {
  json j = {{"slide", r.slide}, {"output", r.output}, {"status", to_string(r.status)}};
  j["nuclei"] = r.nuclei >= 0 ? json(r.nuclei) : json(nullptr);
  j["tiles"] = r.tiles >= 0 ? json(r.tiles) : json(nullptr);
  j["damaged_tiles"] = r.damaged_tiles;
  j["seconds"] = r.seconds;
  j["error"] = r.error;
  j["reused"] = r.reused;
  return j;
}

json shard_json(const std::optional<Shard>& s) {
  return s ? json{{"index", s->index}, {"count", s->count}} : json(nullptr);
}

// A complete summary.json of this slide's folder, or nullopt (absent, or cut short by a kill:
// analyze_slide writes it last and not atomically, so unparsable means unfinished).
std::optional<json> finished_summary(const fs::path& dir) {
  const fs::path p = dir / "summary.json";
  if (!fs::exists(p)) return std::nullopt;
  std::ifstream in(p);
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("counts") || !j["counts"].contains("nuclei") || !j.contains("outputs"))
    return std::nullopt;
  return j;
}

// The options with the defaults analyze_slide would apply made explicit: the default model and its card's score
// threshold. Read once per batch; an unreadable card is left for each slide's analysis to report.
AnalyzeOptions as_run(AnalyzeOptions o) {
  if (o.model.empty()) o.model = default_model_path();
  if (o.score_threshold < 0 && !o.model.empty()) {
    try {
      o.score_threshold = inference::read_model_card(o.model.string()).thresholds.box_score;
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

const std::vector<std::string>& default_slide_extensions() {
  // OpenSlide's formats plus plain TIFF; no .png/.jpg: folders of slides often hold thumbnails and
  // label images in those formats. Pass --ext to include them.
  static const std::vector<std::string> exts = {"svs", "ndpi", "tif", "tiff", "mrxs", "scn", "vms",
                                                "vmu", "svslide", "bif", "czi", "dcm"};
  return exts;
}

std::vector<std::string> output_names(const std::vector<std::string>& keys) {
  std::map<std::string, int> stem_count;
  for (const auto& k : keys) ++stem_count[fs::path(k).stem().string()];
  std::vector<std::string> names;
  std::set<std::string> used;
  for (const auto& k : keys) {
    std::string name = fs::path(k).stem().string();
    if (stem_count[name] > 1) {
      name = k;
      while (!name.empty() && name.front() == '/') name.erase(0, 1);
      std::string flat;
      for (std::size_t i = 0; i < name.size(); ++i) flat += name[i] == '/' ? std::string("__") : std::string(1, name[i]);
      name = flat;
    }
    if (name.empty() || name == "." || name == "..") name = "slide";
    // Only a pathological mix (a file literally called "a__x.svs.tiff" next to a/x.svs and b/x.svs)
    // can still collide; number those, in key order, so the names stay deterministic.
    const std::string base = name;
    for (int n = 2; used.count(name); ++n) name = base + "~" + std::to_string(n);
    used.insert(name);
    names.push_back(name);
  }
  return names;
}

std::vector<SlideEntry> discover_slides(const DiscoverOptions& o) {
  std::set<std::string> exts;
  for (const auto& e : o.extensions.empty() ? default_slide_extensions() : o.extensions) {
    std::string x = lower(e);
    if (!x.empty() && x.front() == '.') x.erase(0, 1);
    if (!x.empty()) exts.insert(x);
  }
  std::vector<SlideEntry> slides;
  if (!o.list_file.empty()) {
    if (!o.input_dir.empty()) throw InvalidArgument("give either an input folder or --list, not both");
    std::ifstream in(o.list_file);
    if (!in) throw InvalidArgument(o.list_file.string() + ": cannot read the slide list");
    const fs::path base = o.list_file.parent_path();
    std::string line;
    std::set<std::string> seen;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      std::size_t b = 0;
      while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
      line.erase(0, b);
      if (line.empty() || line.front() == '#') continue;
      const fs::path p = fs::path(line).is_absolute() ? fs::path(line) : base / line;
      if (!fs::is_regular_file(p))
        throw InvalidArgument(o.list_file.string() + ":" + std::to_string(lineno) + ": " + p.string() +
                              " is not a file");
      const std::string key = fs::path(line).lexically_normal().generic_string();
      if (!seen.insert(key).second) continue;  // listed twice: analyse once
      slides.push_back({p, key, {}});
    }
  } else {
    if (o.input_dir.empty()) throw InvalidArgument("no input: give a folder of slides or --list FILE");
    if (!fs::is_directory(o.input_dir)) throw InvalidArgument(o.input_dir.string() + ": not a folder");
    auto add = [&](const fs::directory_entry& e) {
      // Folders named like slides (.mrxs companions, .zarr) are not slides; regular files and links to them are.
      if (!e.is_regular_file() || !wanted(e.path(), exts)) return;
      slides.push_back({e.path(), e.path().lexically_relative(o.input_dir).generic_string(), {}});
    };
    std::error_code ec;
    if (o.recursive) {
      for (fs::recursive_directory_iterator it(o.input_dir, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end; it.increment(ec))
        add(*it);
    } else {
      for (fs::directory_iterator it(o.input_dir, ec), end; !ec && it != end; it.increment(ec)) add(*it);
    }
    if (ec) throw InvalidArgument(o.input_dir.string() + ": cannot list: " + ec.message());
  }
  std::sort(slides.begin(), slides.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  std::vector<std::string> keys;
  for (const auto& s : slides) keys.push_back(s.key);
  const auto names = output_names(keys);
  for (std::size_t i = 0; i < slides.size(); ++i) slides[i].name = names[i];
  return slides;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  try {
    std::size_t n1 = 0, n2 = 0;
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    s.index = std::stoi(text.substr(0, slash), &n1);
    s.count = std::stoi(text.substr(slash + 1), &n2);
    if (n1 != slash || n2 != text.size() - slash - 1) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw InvalidArgument("--shard \"" + text + "\": expected I/N, e.g. 0/4 (shard I of N, 0-based)");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw InvalidArgument("--shard \"" + text + "\": need 0 <= I < N (shards are numbered from 0)");
  return s;
}

std::vector<SlideEntry> select_shard(const std::vector<SlideEntry>& slides, const Shard& shard) {
  std::vector<SlideEntry> out;
  for (std::size_t i = 0; i < slides.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(shard.count)) == shard.index) out.push_back(slides[i]);
  return out;
}

const char* to_string(SlideStatus s) {
  switch (s) {
    case SlideStatus::Pending: return "pending";
    case SlideStatus::Running: return "running";
    case SlideStatus::Done: return "done";
    case SlideStatus::Failed: return "failed";
    case SlideStatus::Skipped: return "skipped";
  }
  return "?";
}

SlideStatus slide_status_from_string(const std::string& s) {
  for (auto st : {SlideStatus::Pending, SlideStatus::Running, SlideStatus::Done, SlideStatus::Failed, SlideStatus::Skipped})
    if (s == to_string(st)) return st;
  throw InvalidArgument("unknown slide status \"" + s + "\"");
}

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

fs::path report_path(const fs::path& out_dir, const std::optional<Shard>& shard, const std::string& extension) {
  std::string name = "batch_report";
  if (shard) name += ".shard-" + std::to_string(shard->index) + "-of-" + std::to_string(shard->count);
  return out_dir / (name + "." + extension);
}

void write_report(const fs::path& out_dir, const BatchReport& r) {
  std::map<std::string, int> totals;
  for (auto st : {SlideStatus::Pending, SlideStatus::Running, SlideStatus::Done, SlideStatus::Failed, SlideStatus::Skipped})
    totals[to_string(st)] = 0;
  json rows = json::array();
  std::string csv = "slide,output,status,nuclei,tiles,damaged_tiles,seconds,error\n";
  for (const auto& row : r.rows) {
    ++totals[to_string(row.status)];
    rows.push_back(row_json(row));
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", row.seconds);
    csv += core::csv_field(row.slide) + "," + core::csv_field(row.output) + "," + to_string(row.status) + "," +
           (row.nuclei >= 0 ? std::to_string(row.nuclei) : "") + "," + (row.tiles >= 0 ? std::to_string(row.tiles) : "") +
           "," + std::to_string(row.damaged_tiles) + "," + secs + "," + core::csv_field(row.error) + "\n";
  }
  json j = {{"karyon_version", core::version}, {"shard", shard_json(r.shard)}, {"started", r.started_utc},
            {"updated", r.updated_utc}, {"finished", r.finished}, {"slides_total", r.rows.size()},
            {"totals", totals}, {"slides", rows}};
  core::write_file_atomically(report_path(out_dir, r.shard, "json"), j.dump(2) + "\n", "batch report");
  core::write_file_atomically(report_path(out_dir, r.shard, "csv"), csv, "batch report");
}

BatchReport read_report(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InvalidArgument(path.string() + ": cannot read the batch report");
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("slides") || !j["slides"].is_array())
    throw InvalidArgument(path.string() + ": not a Karyon batch report (no \"slides\" array)");
  BatchReport r;
  try {
    if (j.contains("shard") && j["shard"].is_object()) r.shard = Shard{j["shard"].at("index"), j["shard"].at("count")};
    r.started_utc = j.value("started", "");
    r.updated_utc = j.value("updated", "");
    r.finished = j.value("finished", false);
    for (const auto& s : j["slides"]) {
      ReportRow row;
      row.slide = s.at("slide").get<std::string>();
      row.output = s.at("output").get<std::string>();
      row.status = slide_status_from_string(s.at("status").get<std::string>());
      row.nuclei = s.at("nuclei").is_null() ? -1 : s.at("nuclei").get<std::int64_t>();
      row.tiles = s.at("tiles").is_null() ? -1 : s.at("tiles").get<std::int64_t>();
      row.damaged_tiles = s.value("damaged_tiles", std::int64_t{0});
      row.seconds = s.value("seconds", 0.0);
      row.error = s.value("error", "");
      row.reused = s.value("reused", false);
      r.rows.push_back(row);
    }
  } catch (const json::exception& e) {
    throw InvalidArgument(path.string() + ": malformed batch report: " + e.what());
  }
  return r;
}

BatchReport merge_shard_reports(const fs::path& out_dir) {
  if (!fs::is_directory(out_dir)) throw InvalidArgument(out_dir.string() + ": not a folder");
  std::map<int, fs::path> found;
  int count = -1;
  for (const auto& e : fs::directory_iterator(out_dir)) {
    const std::string f = e.path().filename().string();
    int i = 0, n = 0;
    char tail[8] = {};
    if (std::sscanf(f.c_str(), "batch_report.shard-%d-of-%d.%7s", &i, &n, tail) != 3 || std::string(tail) != "json")
      continue;
    if (count >= 0 && n != count)
      throw InvalidArgument(out_dir.string() + ": shard reports of different shard counts (" + std::to_string(count) +
                            " and " + std::to_string(n) + "); delete the stale ones");
    count = n;
    found[i] = e.path();
  }
  if (count < 0) throw InvalidArgument(out_dir.string() + ": no shard reports (batch_report.shard-I-of-N.json) to merge");
  std::string missing;
  for (int i = 0; i < count; ++i)
    if (!found.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  if (!missing.empty())
    throw InvalidArgument(out_dir.string() + ": shard report(s) " + missing + " of " + std::to_string(count) +
                          " missing (batch_report.shard-I-of-" + std::to_string(count) + ".json); has every task run?");
  BatchReport merged;
  merged.finished = true;
  std::map<std::string, std::string> owner;
  for (const auto& [i, path] : found) {
    auto r = read_report(path);
    if (!r.shard || r.shard->index != i || r.shard->count != count)
      throw InvalidArgument(path.string() + ": its \"shard\" field does not match its file name");
    merged.finished = merged.finished && r.finished;
    if (merged.started_utc.empty() || (!r.started_utc.empty() && r.started_utc < merged.started_utc))
      merged.started_utc = r.started_utc;
    for (auto& row : r.rows) {
      if (auto [it, fresh] = owner.emplace(row.slide, path.filename().string()); !fresh)
        throw InvalidArgument("slide " + row.slide + " appears in both " + it->second + " and " +
                              path.filename().string() + ": were the shards run over different slide lists?");
      merged.rows.push_back(std::move(row));
    }
  }
  std::sort(merged.rows.begin(), merged.rows.end(), [](const auto& a, const auto& b) { return a.slide < b.slide; });
  merged.updated_utc = core::utc_timestamp();
  write_report(out_dir, merged);
  return merged;
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
