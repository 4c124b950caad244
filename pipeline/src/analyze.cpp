#include "karyon/pipeline/analyze.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"
#include "karyon/core/resources.hpp"
#include "karyon/core/stage_profile.hpp"
#include "karyon/core/uuid.hpp"
#include "karyon/core/version.hpp"
#include "karyon/inference/model_card.hpp"
#include "karyon/inference/worker_pool.hpp"
#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/heatmap.hpp"
#include "karyon/postprocess/mask_paste.hpp"
#include "karyon/postprocess/nucleus_builder.hpp"
#include "karyon/postprocess/result_store.hpp"
#include "karyon/postprocess/tile_merger.hpp"
#include "karyon/tiling/reader_pool.hpp"
#include "karyon/tiling/tile_plan.hpp"

namespace karyon::pipeline {
namespace fs = std::filesystem;
using core::InvalidArgument;
using nlohmann::json;

namespace {

// Same run salt + tile + index → same UUID: a resumed run re-creates the ids it had, so the store
// recognises what it already holds.
std::string nucleus_uuid(std::uint64_t salt, std::int64_t tile, int index) {
  return core::name_based_uuid("run " + std::to_string(salt) + "/tile " + std::to_string(tile) + "/nucleus " +
                               std::to_string(index));
}

std::string display_class(std::string name) {
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return name;
}

// What must match for --resume to continue rather than mix two different analyses.
json settings_fingerprint(const AnalyzeOptions& o, const tiling::SlideMetadata& m, const inference::ModelCard& card,
                          const tiling::TilePlan& plan, double score_threshold) {
  json j;
  j["slide"] = fs::absolute(o.slide).lexically_normal().string();
  j["slide_size"] = {m.width(), m.height()};
  j["model"] = fs::absolute(card.weights_path).lexically_normal().string();
  j["analysis_mpp"] = plan.resolution.target_mpp;
  j["slide_mpp"] = {plan.resolution.slide_mpp_x, plan.resolution.slide_mpp_y};
  j["tile_size"] = plan.tile_size;
  j["overlap"] = plan.overlap;
  j["extent"] = {plan.extent.x, plan.extent.y, plan.extent.width, plan.extent.height};
  j["score_threshold"] = score_threshold;
  if (o.test_time_flips != 1) j["test_time_flips"] = o.test_time_flips;  // absent in stores made before the option
  // How detections become nuclei (level-0 masks, pixel ownership): a store made by another version of
  // that step must not be continued with this one.
  j["merge"] = "level0-masks+ownership/1";
  return j;
}

// A detection as a merge candidate: its mask pasted from the mask head's probabilities at the slide's
// level 0 (clipped to the tile and the slide) and its centroid in analysis pixels. nullopt when the mask
// is empty at that resolution.
std::optional<postprocess::Candidate> to_candidate(const core::Detection& d, int index, const core::Tile& tile,
                                                   const postprocess::Frame& frame, double mask_threshold,
                                                   const core::Level0Rect& slide_bounds) {
  if (d.mask_probs_size <= 0) return std::nullopt;
  const double sx = frame.scale_x, sy = frame.scale_y;
  const double tx = static_cast<double>(tile.rect.x), ty = static_cast<double>(tile.rect.y);
  const postprocess::Box box{(tx + d.x0) * sx, (ty + d.y0) * sy, (tx + d.x1) * sx, (ty + d.y1) * sy};
  const auto x0 = static_cast<std::int64_t>(std::floor(tx * sx)), y0 = static_cast<std::int64_t>(std::floor(ty * sy));
  // Within the tile, and within the slide: edge tiles reach past it (white there), nuclei do not.
  const core::Level0Rect clip = core::Level0Rect{x0, y0, static_cast<std::int64_t>(std::floor((tx + tile.rect.width) * sx)) - x0,
                                                 static_cast<std::int64_t>(std::floor((ty + tile.rect.height) * sy)) - y0}
                                    .intersect(slide_bounds);
  auto placed = postprocess::paste_mask(d.mask_probs.data(), d.mask_probs_size, box, mask_threshold, clip);
  const auto centroid = postprocess::mask_centroid(placed);
  if (!centroid) return std::nullopt;
  postprocess::Candidate c;
  c.tile_id = tile.id;
  c.index = index;
  c.cx = centroid->x / sx;
  c.cy = centroid->y / sy;
  c.score = d.score;
  c.label = d.label;
  c.mask_x = placed.x;
  c.mask_y = placed.y;
  c.mask = std::move(placed.mask);
  return c;
}

// Keeps the tile pixels under a candidate's mask (analysis pixels) for its measurements: the tile's
// buffer goes back to the reader before the merge decides.
void keep_pixels_under(postprocess::Candidate& c, const core::Tile& tile, const core::RgbImage& pixels,
                       const postprocess::Frame& frame) {
  const double sx = frame.scale_x, sy = frame.scale_y;
  const auto px0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(c.mask_x / sx)) - tile.rect.x, 0, pixels.width);
  const auto py0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(c.mask_y / sy)) - tile.rect.y, 0, pixels.height);
  const auto px1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil((c.mask_x + c.mask.width) / sx)) - tile.rect.x, 0, pixels.width);
  const auto py1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil((c.mask_y + c.mask.height) / sy)) - tile.rect.y, 0, pixels.height);
  c.pixels_x = tile.rect.x + px0;
  c.pixels_y = tile.rect.y + py0;
  c.pixels.resize(static_cast<int>(px1 - px0), static_cast<int>(py1 - py0));
  for (std::int64_t y = py0; y < py1; ++y)
    std::copy_n(pixels.row(static_cast<int>(y)) + px0 * 3, (px1 - px0) * 3, c.pixels.row(static_cast<int>(y - py0)));
}

// Options that no run can use, refused before the model loads or out_dir is touched. The rest (tile size,
// --mpp, region, heatmap cell, device) are checked by the steps that know their bounds, also before.
void check_options(const AnalyzeOptions& o) {
  auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  if (!in(o.batch_size, 1, 256)) throw InvalidArgument("batch " + std::to_string(o.batch_size) + " must be within 1..256");
  if (!in(o.workers_per_device, 0, 64))
    throw InvalidArgument("workers " + std::to_string(o.workers_per_device) + " must be within 1..64 (or 0: automatic)");
  if (!in(o.threads_per_worker, 0, 256))
    throw InvalidArgument("threads " + std::to_string(o.threads_per_worker) + " must be within 1..256 (or 0: automatic)");
  if (!in(o.reader_threads, 1, 256))
    throw InvalidArgument("readers " + std::to_string(o.reader_threads) + " must be within 1..256");
  if (o.overlap < -1) throw InvalidArgument("overlap " + std::to_string(o.overlap) + " must be >= 0 (or left out)");
  if (!(o.score_threshold < 1))  // negative: the card's; NaN and >= 1 are refused
    throw InvalidArgument("score threshold " + std::to_string(o.score_threshold) + " must be within [0, 1)");
  (void)inference::parse_precision(o.precision);
  if (o.test_time_flips != 1 && o.test_time_flips != 2 && o.test_time_flips != 4)
    throw InvalidArgument("flips " + std::to_string(o.test_time_flips) + " must be 1 (off), 2 or 4");
  if (o.resume && o.overwrite) throw InvalidArgument("--resume and --overwrite contradict each other: choose one");
}

// Everything a run writes in its output folder (the store with its SQLite side files, the exports).
const std::vector<std::string>& output_names() {
  static const std::vector<std::string> names = {"results.sqlite", "results.sqlite-wal", "results.sqlite-shm",
                                                 "results.sqlite-journal", "nuclei.geojson", "nuclei.geojson.gz",
                                                 "nuclei.csv", "heatmap.png", "heatmap.json", "summary.json"};
  return names;
}

// Makes out_dir ready for the store: refuses to touch files that are not an earlier run's (or, with
// `overwrite`, removes them), creates the folder. Returns whether an earlier run's store is to be resumed.
bool prepare_output_folder(const AnalyzeOptions& o) {
  std::error_code ec;
  if (fs::exists(o.out_dir) && !fs::is_directory(o.out_dir))
    throw InvalidArgument(o.out_dir.string() + ": exists and is not a folder");
  const bool has_store = fs::exists(o.out_dir / "results.sqlite");
  std::vector<std::string> present;
  for (const auto& name : output_names())
    if (fs::exists(fs::symlink_status(o.out_dir / name))) present.push_back(name);
  if (o.overwrite) {
    for (const auto& name : present)
      if (!fs::remove(o.out_dir / name, ec) || ec)
        throw core::OutputError((o.out_dir / name).string() + ": cannot remove for --overwrite: " + ec.message());
  } else if (has_store && !o.resume) {
    throw InvalidArgument(o.out_dir.string() + " already holds the results of an earlier run (results.sqlite): pass "
                          "--resume to finish it, --overwrite to start again, or choose another output folder");
  } else if (!has_store && !present.empty()) {
    std::string list;
    for (const auto& name : present) list += (list.empty() ? "" : ", ") + name;
    throw InvalidArgument(o.out_dir.string() + " holds " + list + " but no results of a Karyon run (results.sqlite): "
                          "they are not replaced; choose another output folder, or pass --overwrite to replace them");
  }
  fs::create_directories(o.out_dir, ec);
  if (ec) throw core::OutputError(o.out_dir.string() + ": cannot create output folder: " + ec.message());
  return has_store && !o.overwrite;
}

// A detection that reaches into an area that did not decode (white in the tile) was seen in part only.
bool touches_any(const postprocess::Candidate& c, const std::vector<core::Level0Rect>& holes) {
  const core::Level0Rect box{c.mask_x, c.mask_y, c.mask.width, c.mask.height};
  return std::any_of(holes.begin(), holes.end(), [&](const core::Level0Rect& h) { return h.intersects(box); });
}

// Keeps a damaged tile's record in the store (so that a resumed run and every export still know it) and
// says so in the log.
void record_damage(postprocess::ResultStore& store, const core::Tile& tile, const tiling::TileDamage& damage,
                   const postprocess::Frame& frame) {
  const auto x0 = static_cast<std::int64_t>(std::floor(tile.core.x * frame.scale_x));
  const auto y0 = static_cast<std::int64_t>(std::floor(tile.core.y * frame.scale_y));
  const auto x1 = static_cast<std::int64_t>(std::floor(tile.core.right() * frame.scale_x));
  const auto y1 = static_cast<std::int64_t>(std::floor(tile.core.bottom() * frame.scale_y));
  postprocess::DamagedTile record{tile.id, {x0, y0, x1 - x0, y1 - y0}, damage.problem, damage.read_level, {}};
  for (const auto& hole : damage.holes)  // the tile's own share; its neighbours record theirs
    if (const auto own = hole.intersect(record.area); !own.empty()) record.left_out_areas.push_back(own);
  // Holes only in its overlap are its neighbours' to report (the cores partition the slide).
  if (damage.left_out() && record.left_out_areas.empty()) return;
  store.add_damaged_tile(record);
  if (damage.left_out())
    spdlog::warn("tile {} (level-0 {},{} {}x{}): {} area(s) left out, no coarser level decodes them: {}", tile.id, x0,
                 y0, x1 - x0, y1 - y0, damage.holes.size(), damage.problem);
  else
    spdlog::warn("tile {} (level-0 {},{} {}x{}) read from level {} instead: {}", tile.id, x0, y0, x1 - x0, y1 - y0,
                 damage.read_level, damage.problem);
}

json damaged_tiles_json(const std::vector<postprocess::DamagedTile>& tiles) {
  json list = json::array();
  for (const auto& t : tiles) {
    json left_out = json::array();
    for (const auto& r : t.left_out_areas) left_out.push_back({r.x, r.y, r.width, r.height});
    list.push_back({{"tile", t.tile_id},
                    {"area_level0", {t.area.x, t.area.y, t.area.width, t.area.height}},
                    {"problem", t.problem},
                    {"outcome", t.left_out() ? std::string("left out where it does not decode")
                                             : "read from level " + std::to_string(t.read_level)},
                    {"left_out_level0", left_out}});
  }
  return list;
}


// A new run: its settings (what --resume must match) and the salt its nucleus ids are made from.
std::uint64_t start_run(postprocess::ResultStore& store, const json& fingerprint, const fs::path& slide,
                        const std::string& model_name, const tiling::AnalysisResolution& resolution) {
  const std::uint64_t salt = std::random_device{}() * 0x100000000ULL + std::random_device{}();
  store.set_meta("settings", fingerprint.dump());
  store.set_meta("run_salt", std::to_string(salt));
  store.set_meta("slide", slide.string());
  store.set_meta("model", model_name);
  store.set_meta("mpp", json({resolution.slide_mpp_x, resolution.slide_mpp_y}).dump());
  return salt;
}

// An earlier run, resumed: only with the same settings; its salt, so that replayed tiles get the ids they had.
std::uint64_t continue_run(const postprocess::ResultStore& store, const json& fingerprint) {
  const auto saved = store.meta("settings");
  if (!saved || json::parse(*saved) != fingerprint)
    throw core::SettingsMismatch(store.path().string() + ": was made with other settings (" + saved.value_or("none") +
                                 "); --resume needs the same slide, model, µm/px, tile size, overlap, region and "
                                 "score threshold");
  return std::stoull(store.meta("run_salt").value_or("0"));
}

// The tiles not final yet, plus their final neighbours, re-read as context for the merge decisions.
struct TilesToRun {
  tiling::TilePlan plan;               // the full plan's tiles to read, in plan order
  std::set<std::int64_t> context_ids;  // of those, the final ones (their nuclei are stored already)
  std::int64_t unfinished = 0;
};
TilesToRun tiles_to_run(const tiling::TilePlan& plan, const std::set<std::int64_t>& final_tiles) {
  TilesToRun out;
  std::set<std::int64_t> run_ids, planned;
  for (const auto& t : plan.tiles) planned.insert(t.id);
  for (const auto& t : plan.tiles) {
    if (final_tiles.count(t.id)) continue;
    run_ids.insert(t.id);
    for (std::int64_t dr = -1; dr <= 1; ++dr)
      for (std::int64_t dc = -1; dc <= 1; ++dc) {
        const std::int64_t c = t.col + dc, r = t.row + dr;
        if (c < 0 || r < 0 || c >= plan.cols || r >= plan.rows) continue;
        const std::int64_t n = r * plan.cols + c;
        if (final_tiles.count(n) && planned.count(n)) out.context_ids.insert(n);
      }
  }
  out.unfinished = static_cast<std::int64_t>(run_ids.size());
  out.plan = plan;
  out.plan.tiles.clear();
  for (const auto& t : plan.tiles)
    if (run_ids.count(t.id) || out.context_ids.count(t.id)) out.plan.tiles.push_back(t);
  return out;
}

// The merger's decided nuclei as stored: outline traced and measured at level 0, class named, id from the
// run's salt; a region run keeps those whose centre is in the region (the others still took part in the
// overlap decisions, as they would in a whole-slide run).
std::vector<core::Nucleus> nuclei_to_store(const std::vector<postprocess::Candidate>& decided,
                                           const std::vector<std::string>& class_names, const postprocess::Frame& frame,
                                           const std::optional<core::Level0Rect>& region, std::uint64_t salt) {
  std::vector<core::Nucleus> nuclei;
  for (const auto& c : decided) {
    const std::string class_name = display_class(
        c.label >= 0 && c.label < static_cast<int>(class_names.size()) ? class_names[c.label] : "nucleus");
    auto nucleus = postprocess::build_nucleus(c.mask, c.mask_x, c.mask_y, {&c.pixels, c.pixels_x, c.pixels_y}, frame,
                                              c.score, c.tile_id, class_name);
    if (!nucleus) continue;
    if (region && !region->contains(static_cast<std::int64_t>(std::floor(nucleus->centroid.x)),
                                    static_cast<std::int64_t>(std::floor(nucleus->centroid.y))))
      continue;
    nucleus->uuid = nucleus_uuid(salt, c.tile_id, c.index);
    nuclei.push_back(std::move(*nucleus));
  }
  return nuclei;
}

// GeoJSON, CSV and heatmap from the store, each written to a .partial file first.
void write_exports(const postprocess::ResultStore& store, const AnalyzeOptions& o, const tiling::SlideMetadata& m,
                   const tiling::AnalysisResolution& resolution, AnalyzeSummary& summary) {
  core::StageTimer exports_time("exports");
  summary.geojson = o.out_dir / (o.gzip ? "nuclei.geojson.gz" : "nuclei.geojson");
  summary.nuclei = postprocess::export_geojson(store, summary.geojson);
  summary.csv = o.out_dir / "nuclei.csv";
  postprocess::export_csv(store, summary.csv);
  const auto grid = postprocess::compute_heatmap(store, m.width(), m.height(), resolution.slide_mpp_x,
                                                 resolution.slide_mpp_y, o.heatmap_cell_um);
  summary.heatmap_png = o.out_dir / "heatmap.png";
  summary.heatmap_json = o.out_dir / "heatmap.json";
  postprocess::write_heatmap_png(grid, summary.heatmap_png);
  postprocess::write_heatmap_json(grid, summary.heatmap_json);
}

// Written last and atomically: a complete summary.json is how `batch` knows a slide is finished.
void write_summary_json(const AnalyzeOptions& o, const fs::path& model, const inference::ModelCard& card,
                        const tiling::SlideMetadata& m, const tiling::AnalysisResolution& resolution,
                        const tiling::TilePlan& plan, double score_threshold, AnalyzeSummary& summary) {
  json s;
  s["karyon_version"] = core::version;
  s["slide"] = {{"path", o.slide.string()}, {"format", m.format}, {"width", m.width()}, {"height", m.height()},
                {"mpp", {resolution.slide_mpp_x, resolution.slide_mpp_y}}, {"mpp_source", resolution.mpp_source}};
  s["model"] = {{"card", model.string()}, {"name", card.name}, {"mpp", card.mpp}, {"license", card.license}};
  s["settings"] = {{"device", o.device},         {"precision", o.precision},     {"batch_size", o.batch_size},
                   {"workers", summary.workers}, {"threads_per_worker", o.threads_per_worker},
                   {"tile_size", plan.tile_size}, {"overlap", plan.overlap},      {"score_threshold", score_threshold},
                   {"read_level", resolution.read_level}, {"heatmap_cell_um", o.heatmap_cell_um},
                   {"test_time_flips", o.test_time_flips}};
  if (o.region) s["settings"]["region"] = {o.region->x, o.region->y, o.region->width, o.region->height};
  s["counts"] = {{"tiles_planned", summary.tiles_planned}, {"tiles_run", summary.tiles_run},
                 {"tiles_resumed", summary.tiles_resumed}, {"tiles_damaged", summary.damaged_tiles.size()},
                 {"nuclei", summary.nuclei}};
  s["damaged_tiles"] = damaged_tiles_json(summary.damaged_tiles);
  s["timings"] = {{"seconds", summary.seconds},
                  {"tiles_per_second", summary.tiles_run / std::max(summary.seconds, 1e-9)},
                  {"nuclei_per_second", summary.nuclei / std::max(summary.seconds, 1e-9)}};
  // Seconds per stage, summed over the threads that ran it (readers, engine workers, this merging thread).
  for (const auto& [stage, seconds] : core::StageProfile::process().totals()) s["timings"]["stages"][stage] = seconds;
  s["outputs"] = {{"store", summary.store.filename().string()}, {"geojson", summary.geojson.filename().string()},
                  {"csv", summary.csv.filename().string()}, {"heatmap_png", summary.heatmap_png.filename().string()},
                  {"heatmap_json", summary.heatmap_json.filename().string()}};
  s["warnings"] = summary.warnings;
  summary.summary_json = o.out_dir / "summary.json";
  core::write_file_atomically(summary.summary_json, s.dump(2) + "\n", "summary");
}

}  // namespace

fs::path default_model_path() { return core::shipped_model_card(core::default_model_name); }

AnalyzeSummary analyze_slide(const AnalyzeOptions& o, const std::function<void(const AnalyzeProgress&)>& progress,
                             const core::CancelToken* cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  core::StageProfile::process().reset();  // this run's stages only (one analysis at a time per process)
  AnalyzeSummary summary;

  // Model card first: it says the µm/px to plan at.
  const fs::path model = o.model.empty() ? default_model_path() : o.model;
  if (model.empty())
    throw InvalidArgument("no model given and no default model installed (" +
                          (core::resource_dir().empty() ? std::string("no resources folder found next to the executable")
                                                        : (core::resource_dir() / "models" / std::string(core::default_model_name)).string()) +
                          "); pass --model CARD.json");
  check_options(o);
  const auto card = inference::read_model_card(model.string());
  if (!(card.mpp > 0)) throw core::ModelError(model.string() + ": the model card does not say its µm/px (input.mpp)");
  // The card's threshold is the one its model was tuned at (on training images); --score-threshold overrides.
  const double score_threshold = o.score_threshold >= 0 ? o.score_threshold : card.thresholds.box_score;

  // Slide, tissue, plan.
  const auto slide = tiling::Slide::open(o.slide);
  const auto resolution = tiling::resolve_resolution(*slide, card.mpp, o.mpp);
  summary.warnings = resolution.warnings;
  for (const auto& w : resolution.warnings) spdlog::warn("{}", w);
  const auto tissue = tiling::detect_tissue(*slide);
  tiling::TilePlanOptions plan_options;
  plan_options.tile_size = o.tile_size;
  if (o.tile_size < card.min_tile_size) {
    // Below its minimum the model's scores move with the tile's field of view, so a smaller tile would
    // change which nuclei are found, not only how the work is cut (docs/BENCHMARKS.md, "Tiling invariance").
    plan_options.tile_size = card.min_tile_size;
    summary.warnings.push_back("tile size " + std::to_string(o.tile_size) + " px is below this model's minimum of " +
                               std::to_string(card.min_tile_size) + " px (" + model.string() +
                               ", input.min_tile_size: its detections change with a smaller field of view); using " +
                               std::to_string(card.min_tile_size) + " px tiles");
    spdlog::warn("{}", summary.warnings.back());
  }
  plan_options.overlap = o.overlap;
  plan_options.region = o.region;
  const auto plan = tiling::plan_tiles(*slide, resolution, &tissue, plan_options);
  summary.tiles_planned = static_cast<std::int64_t>(plan.tiles.size());

  const auto& m = slide->metadata();
  (void)postprocess::heatmap_geometry(m.width(), m.height(), resolution.slide_mpp_x, resolution.slide_mpp_y,
                                      o.heatmap_cell_um);

  // The model (weights, device, precision, batch) before the first byte is written: a refused start must
  // not leave a store that blocks the corrected command.
  inference::PoolOptions pool_options;
  pool_options.device = o.device;
  pool_options.workers_per_device = o.workers_per_device;
  pool_options.threads_per_worker = o.threads_per_worker;
  pool_options.batch_size = o.batch_size;
  pool_options.model.precision = inference::parse_precision(o.precision);
  pool_options.model.score_threshold = score_threshold;
  pool_options.model.test_time_flips = o.test_time_flips;
  pool_options.model.paste_masks = false;  // masks are pasted at level 0 from mask_probs (to_candidate)
  inference::WorkerPool pool(model.string(), pool_options);
  summary.workers = pool.worker_count();
  if (cancel && cancel->cancelled()) throw core::Cancelled();

  // Output folder and store. An existing store is never overwritten: resume it or choose another folder.
  const bool existing = prepare_output_folder(o);
  summary.store = o.out_dir / "results.sqlite";
  postprocess::ResultStore store(summary.store);
  const json fingerprint = settings_fingerprint(o, slide->metadata(), card, plan, score_threshold);
  const std::uint64_t salt = existing ? continue_run(store, fingerprint)
                                     : start_run(store, fingerprint, o.slide, card.name, resolution);

  const auto todo = tiles_to_run(plan, store.final_tiles());
  const auto& context_ids = todo.context_ids;
  const tiling::TilePlan& run_plan = todo.plan;
  summary.tiles_resumed = static_cast<std::int64_t>(plan.tiles.size()) - todo.unfinished;
  summary.tiles_run = static_cast<std::int64_t>(run_plan.tiles.size());
  if (summary.tiles_resumed > 0)
    spdlog::info("resuming: {} of {} tiles already done, {} to run ({} re-read as merge context)",
                 summary.tiles_resumed, plan.tiles.size(), todo.unfinished, context_ids.size());
  if (plan.tiles.empty()) {
    summary.warnings.push_back("no tissue found in the planned area: nothing to analyse");
    spdlog::warn("{}: {}", o.slide.string(), summary.warnings.back());
  }

  if (!run_plan.tiles.empty()) {
    tiling::ReaderPool reader(*slide, run_plan, {o.reader_threads, 2 * o.batch_size + 2, o.strict}, cancel);
    const postprocess::Frame frame{resolution.target_mpp, resolution.scale_x, resolution.scale_y};
    postprocess::MergeOptions merge_options;
    merge_options.mask_scale_x = resolution.scale_x;  // masks are pasted at level 0
    merge_options.mask_scale_y = resolution.scale_y;
    postprocess::TileMerger merger(plan.tiles, plan.cols, plan.rows, merge_options);
    const core::Level0Rect slide_bounds{0, 0, slide->metadata().width(), slide->metadata().height()};
    const core::Level0Rect region_l0 = o.region ? o.region->intersect(slide_bounds) : slide_bounds;

    // Tiles travel to the model as copies; the reader's buffer stays here, keyed by tile id, until the
    // tile's detections come back (the measurements need its pixels). Buffers are recycled, so this
    // map is bounded by the reader pool's capacity.
    std::mutex inflight_mutex;
    std::map<std::int64_t, tiling::ReaderPool::Handle> inflight;
    std::exception_ptr feeder_error;
    std::thread feeder([&] {
      try {
        while (auto h = reader.next()) {
          inference::TileJob job{h->tile.id, h->image};
          {
            std::lock_guard lock(inflight_mutex);
            inflight.emplace(h->tile.id, std::move(h));
          }
          pool.submit(std::move(job));
        }
        pool.finish();
      } catch (...) {
        feeder_error = std::current_exception();
        pool.cancel();
      }
    });
    auto stop_all = [&] {
      reader.cancel();
      pool.cancel();
      if (feeder.joinable()) feeder.join();
    };

    try {
      std::int64_t done = 0, stored_nuclei = store.count(true);
      while (true) {
        core::StageTimer wait_time("wait_for_inference");  // this thread idle: the engine is the bottleneck
        auto result = pool.pop();
        wait_time.stop();
        if (!result) break;
        if (cancel && cancel->cancelled()) throw core::Cancelled();
        core::StageTimer candidates_time("masks_to_level0");
        tiling::ReaderPool::Handle pixels;
        {
          std::lock_guard lock(inflight_mutex);
          auto it = inflight.find(result->tile_id);
          if (it == inflight.end()) throw core::Error("internal: result for a tile that was not sent: " + std::to_string(result->tile_id));
          pixels = std::move(it->second);
          inflight.erase(it);
        }
        const core::Tile tile = pixels->tile;  // a copy: the buffer goes back to the reader below
        const std::vector<core::Level0Rect> no_holes;
        const auto& holes = pixels->damage ? pixels->damage->holes : no_holes;
        if (pixels->damage) record_damage(store, tile, *pixels->damage, frame);
        std::vector<postprocess::Candidate> candidates;
        for (std::size_t i = 0; i < result->detections.size(); ++i) {
          auto c = to_candidate(result->detections[i], static_cast<int>(i), tile, frame, card.thresholds.mask,
                                slide_bounds);
          if (!c || !merger.keeps(tile.id, c->cx, c->cy) || touches_any(*c, holes)) continue;
          keep_pixels_under(*c, tile, pixels->image, frame);
          candidates.push_back(std::move(*c));
        }
        pixels = {};  // back to the reader pool
        candidates_time.stop();
        core::StageTimer merge_time("merge");
        auto merged = merger.add_tile(tile.id, std::move(candidates), context_ids.count(tile.id) > 0);
        merge_time.stop();
        core::StageTimer outline_time("outline_measure");
        auto nuclei = nuclei_to_store(merged.nuclei, card.class_names, frame,
                                      o.region ? std::optional(region_l0) : std::nullopt, salt);
        outline_time.stop();
        core::StageTimer store_time("store");
        stored_nuclei += store.commit(nuclei, merged.final_tiles);
        store_time.stop();
        ++done;
        if (progress) {
          AnalyzeProgress p;
          p.tiles_done = done;
          p.tiles_total = summary.tiles_run;
          p.nuclei = stored_nuclei;  // a running count: COUNT(*) per tile would rescan the table
          p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          p.tiles_per_second = done / std::max(p.seconds, 1e-9);
          p.eta_seconds = (p.tiles_total - done) / std::max(p.tiles_per_second, 1e-9);
          progress(p);
        }
      }
    } catch (...) {
      stop_all();
      if (feeder_error) {
        // The feeder's own failure (e.g. a slide read) is the root cause; the pool's Cancelled is its echo.
        try {
          std::rethrow_exception(feeder_error);
        } catch (const core::Cancelled&) {
        }
      }
      throw;
    }
    stop_all();
    if (feeder_error) std::rethrow_exception(feeder_error);
    if (cancel && cancel->cancelled()) throw core::Cancelled();
    const auto now_final = store.final_tiles();
    if (now_final.size() < plan.tiles.size())
      throw core::Error("internal: " + std::to_string(plan.tiles.size() - now_final.size()) +
                        " tiles did not complete the merge; the store is consistent, --resume retries them");
  }

  summary.damaged_tiles = store.damaged_tiles();
  if (!summary.damaged_tiles.empty()) {
    const auto left_out = std::count_if(summary.damaged_tiles.begin(), summary.damaged_tiles.end(),
                                        [](const postprocess::DamagedTile& t) { return t.left_out(); });
    summary.warnings.push_back(std::to_string(summary.damaged_tiles.size()) + " damaged tile(s) in " +
                               o.slide.string() + ": " + std::to_string(summary.damaged_tiles.size() - left_out) +
                               " read from a coarser level, " + std::to_string(left_out) +
                               " with areas left out (no nuclei there; see damaged_tiles in summary.json)");
  }

  write_exports(store, o, m, resolution, summary);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_summary_json(o, model, card, m, resolution, plan, score_threshold, summary);
  return summary;
}

}  // namespace karyon::pipeline
