// Batch reports: batch_report.csv/json after every slide, reading them back, merging a Slurm array's shards.
#include "karyon/pipeline/batch.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "karyon/core/clock.hpp"
#include "karyon/core/csv.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"
#include "karyon/core/version.hpp"

namespace karyon::pipeline {
namespace fs = std::filesystem;
using core::InvalidArgument;
using json = nlohmann::json;

namespace {

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

}  // namespace

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

}  // namespace karyon::pipeline
