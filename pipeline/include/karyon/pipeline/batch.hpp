#pragma once
// Karyon's batch job: every slide of a folder (or of a list file) through analyze_slide, one output
// folder per slide, a report after every slide, resumable after Ctrl-C, SIGTERM or kill -9, and
// splittable into shards (a Slurm job array) whose reports merge into one.
//
//   OUT/<name>/...            analyze_slide's outputs for one slide (results.sqlite, nuclei.geojson, ...)
//   OUT/batch_report.csv|json the report of an unsharded run (or of batch-merge)
//   OUT/batch_report.shard-I-of-N.csv|json   the report of shard I (0-based) of N
//
// A slide counts as finished when OUT/<name>/summary.json is complete (analyze_slide writes it last);
// then it is not recomputed. A slide with results.sqlite but no complete summary.json is resumed
// (analyze_slide with resume=true), one without either is started afresh.
//
// Thread-safety: run_batch runs on the caller's thread and calls the callbacks there; the functions
// share no state, so separate processes (shards) may run on the same OUT at once: each writes only
// its own report, and a per-slide lock file keeps two processes from working on the same slide.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "karyon/core/progress.hpp"
#include "karyon/pipeline/analyze.hpp"

namespace karyon::pipeline {

// Extensions (lower case, no dot) that batch looks for by default.
const std::vector<std::string>& default_slide_extensions();

struct SlideEntry {
  std::filesystem::path path;   // as opened
  std::string key;              // sort key and identity: path relative to the input folder ('/'-separated),
                                // or the path as written in the list file
  std::string name;             // output folder name under OUT (unique within the batch)
};

struct DiscoverOptions {
  std::filesystem::path input_dir;            // either this ...
  std::filesystem::path list_file;            // ... or this: one slide path per line ('#' comments);
                                              // relative paths are relative to the list file's folder
  bool recursive = false;
  std::vector<std::string> extensions;        // empty: default_slide_extensions(); case-insensitive
};

// The slides of a batch, sorted by key (byte order), each with its output folder name: the file
// stem when no other slide has the same stem, otherwise the key with '/' replaced by "__" (so
// "a/x.svs" and "b/x.svs" become "a__x.svs" and "b__x.svs"). Names never depend on the shard.
// Throws core::InvalidArgument (missing folder or list, unreadable list, a listed file missing).
std::vector<SlideEntry> discover_slides(const DiscoverOptions& options);

// Output folder names for these keys (same rule as discover_slides); exposed for tests.
std::vector<std::string> output_names(const std::vector<std::string>& sorted_keys);

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
};
// "i/N" with 0 <= i < N; throws core::InvalidArgument naming the bad text.
Shard parse_shard(const std::string& text);
// The slides of shard i of N: those at positions p of the sorted list with p % N == i.
std::vector<SlideEntry> select_shard(const std::vector<SlideEntry>& slides, const Shard& shard);

enum class SlideStatus { Pending, Running, Done, Failed, Skipped };
const char* to_string(SlideStatus s);
SlideStatus slide_status_from_string(const std::string& s);  // throws core::InvalidArgument

struct ReportRow {
  std::string slide;           // the slide's key
  std::string output;          // folder name under OUT
  SlideStatus status = SlideStatus::Pending;
  std::int64_t nuclei = -1;    // -1: unknown (not finished)
  std::int64_t tiles = -1;     // tiles planned
  std::int64_t damaged_tiles = 0;  // tiles read from a coarser level or left out (summary.json damaged_tiles)
  double seconds = 0;          // analysis time of the run that finished it (this one or an earlier one)
  std::string error;           // why it failed or was skipped; empty otherwise
  bool reused = false;         // finished by an earlier run, nothing recomputed
};

struct BatchReport {
  std::vector<ReportRow> rows;  // in key order
  std::optional<Shard> shard;   // the shard this report covers; none for a whole batch
  std::string started_utc, updated_utc;
  bool finished = false;        // false while running or after a stop
};

// File names of a report: batch_report[.shard-I-of-N].{csv,json} in out_dir.
std::filesystem::path report_path(const std::filesystem::path& out_dir, const std::optional<Shard>& shard,
                                  const std::string& extension);
// Writes both files atomically (each to .partial, then rename). Throws core::OutputError.
void write_report(const std::filesystem::path& out_dir, const BatchReport& report);
// Reads a JSON report. Throws core::InvalidArgument naming the file and the problem.
BatchReport read_report(const std::filesystem::path& json_path);

// Merges every batch_report.shard-*-of-N.json in out_dir into batch_report.csv/json. Shards of
// different N, a missing shard or a slide in two shards are errors (core::InvalidArgument); so is
// finding no shard report at all. Returns the merged report.
BatchReport merge_shard_reports(const std::filesystem::path& out_dir);

struct BatchOptions {
  std::vector<SlideEntry> slides;  // from discover_slides (+ select_shard)
  std::optional<Shard> shard;      // for the report's name; the slides must already be this shard's
  std::filesystem::path out_dir;
  AnalyzeOptions analyze;          // template: slide, out_dir and resume are set per slide
  std::filesystem::path log_json;  // append one JSON object per event here; empty: none
};

enum class BatchEventKind { BatchStart, SlideStart, SlideDone, SlideReused, SlideFailed, SlideSkipped, BatchEnd };
const char* to_string(BatchEventKind k);

struct BatchEvent {
  BatchEventKind kind;
  int index = 0;            // 1-based position of the slide in this run (0 for batch events)
  int total = 0;            // slides in this run
  const ReportRow* row = nullptr;  // the slide's row (nullptr for batch events)
  bool resumed = false;     // SlideStart: continues an interrupted analysis
};

struct BatchResult {
  BatchReport report;
  int done = 0, failed = 0, skipped = 0;
  bool cancelled = false;
};

// Runs the batch. A failing slide (SlideError, ModelError, InvalidArgument, OutputError, any other
// exception) is recorded with its message and the batch goes on. When cancel is set, the current
// slide stops cleanly (its store stays resumable), the report is written and the result says
// cancelled (nothing is thrown). Throws core::OutputError when the report or out_dir cannot be
// written, core::InvalidArgument for an unusable out_dir.
BatchResult run_batch(const BatchOptions& options, const std::function<void(const BatchEvent&)>& on_event = {},
                      const std::function<void(const AnalyzeProgress&)>& slide_progress = {},
                      const core::CancelToken* cancel = nullptr);

}  // namespace karyon::pipeline
