#pragma once
// Karyon's main job for one slide: plan → read → infer → postprocess → merge → store → export.
//
//   reader pool (N threads) → feeder thread → inference worker pool (one replica per device/worker)
//   → caller's thread: masks → polygons + measurements → cross-tile merge → SQLite (one transaction
//   per tile) → at the end GeoJSON, CSV, heatmap, summary.
//
// Every queue is bounded, so memory does not grow with the slide. Progress is reported on the
// caller's thread. The first error from any thread stops everything and is rethrown here; a cancel
// stops cleanly (core::Cancelled) with a consistent store that `resume` continues. The result does
// not depend on thread counts, batch size or tile completion order.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "karyon/core/geometry.hpp"
#include "karyon/core/progress.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::pipeline {

struct AnalyzeOptions {
  std::filesystem::path slide;
  std::filesystem::path out_dir;
  std::filesystem::path model;        // model card (JSON); empty = default_model_path()
  std::string device = "cpu";         // cpu | cuda:N | cuda:all
  std::string precision = "fp32";     // fp32 | fp16 | bf16 (CUDA only)
  int batch_size = 2;
  int workers_per_device = 0;         // 0: automatic (CPU: one per core, at most 8; one per GPU)
  int threads_per_worker = 0;         // intra-op threads of each CPU worker; 0 = the cores shared out
  int reader_threads = 2;
  std::optional<core::Level0Rect> region;
  std::optional<double> mpp;          // slide µm/px when the file lacks (or misstates) it
  int tile_size = 512;
  int overlap = -1;                   // -1: the largest nucleus diameter
  double score_threshold = -1;        // < 0: the model card's thresholds.box_score (what it was tuned at)
  int test_time_flips = 1;            // 1 (off), 2 or 4 views per tile, fused (inference::ModelOptions)
  bool resume = false;                // continue a killed run in out_dir
  bool overwrite = false;             // replace an earlier run's results, or files named like them, in out_dir
  bool gzip = false;                  // nuclei.geojson.gz instead of nuclei.geojson
  double heatmap_cell_um = 100;
  // A tile that cannot be decoded ends the run, instead of being read from a coarser level or left out
  // (and reported).
  bool strict = false;
};

struct AnalyzeProgress {
  std::int64_t tiles_done = 0;
  std::int64_t tiles_total = 0;       // this run's tiles (resumed tiles excluded)
  std::int64_t nuclei = 0;            // stored so far, including earlier runs
  double seconds = 0;
  double tiles_per_second = 0;
  double eta_seconds = 0;
};

struct AnalyzeSummary {
  std::int64_t tiles_planned = 0;
  int workers = 0;                    // inference workers this run used
  std::int64_t tiles_run = 0;         // in this invocation (re-run context tiles included)
  std::int64_t tiles_resumed = 0;     // already final from an earlier run
  std::int64_t nuclei = 0;
  double seconds = 0;
  std::filesystem::path store, geojson, csv, heatmap_png, heatmap_json, summary_json;
  std::vector<std::string> warnings;
  std::vector<postprocess::DamagedTile> damaged_tiles;  // this run's and the resumed runs'
};

// Every option, the model (card and weights) and the slide are checked before anything is written to
// out_dir, so that a refused run leaves nothing behind that blocks the corrected one. out_dir is written
// only when it holds none of the run's output names (results.sqlite, nuclei.geojson, ...), or an earlier
// run's results.sqlite with `resume`; `overwrite` replaces those files (never any other).
// Throws: core::SlideError (slide), core::ModelError (model), core::InvalidArgument (options,
// existing results or files without resume/overwrite), core::SettingsMismatch (resume with other
// settings; an InvalidArgument), core::OutputError
// (disk), core::Cancelled.
AnalyzeSummary analyze_slide(const AnalyzeOptions& options,
                             const std::function<void(const AnalyzeProgress&)>& progress = {},
                             const core::CancelToken* cancel = nullptr);

// The model shipped in resources/models (KARYON_MODEL overrides); empty when there is none.
std::filesystem::path default_model_path();

}  // namespace karyon::pipeline
