// Batch bookkeeping without a model: which slides, which output names, which shard, what the
// reports say and how shard reports merge. (Runs with a model are in batch_cli_test.py.)
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "karyon/core/errors.hpp"
#include "karyon/pipeline/batch.hpp"
#include "test_support.hpp"

namespace karyon::pipeline {
namespace {
namespace fs = std::filesystem;
using karyon::test::scratch_dir;

fs::path fresh(const std::string& name) {
  const fs::path d = scratch_dir() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

std::vector<std::string> keys_of(const std::vector<SlideEntry>& s) {
  std::vector<std::string> k;
  for (const auto& e : s) k.push_back(e.key);
  return k;
}

TEST(BatchNames, unique_stems_are_kept_equal_stems_get_their_relative_path) {
  const auto names = output_names({"a/x.svs", "b/x.svs", "c/y.ndpi", "x.tiff", "z.tiff"});
  EXPECT_EQ(names, (std::vector<std::string>{"a__x.svs", "b__x.svs", "y", "x.tiff", "z"}));
}

TEST(BatchNames, same_stem_different_extension_in_one_folder) {
  EXPECT_EQ(output_names({"s.svs", "s.tiff"}), (std::vector<std::string>{"s.svs", "s.tiff"}));
}

TEST(BatchNames, residual_collisions_are_numbered_deterministically) {
  // "a__x.svs.tiff" has the stem "a__x.svs", which is also the flattened name of a/x.svs.
  const auto names = output_names({"a/x.svs", "a__x.svs.tiff", "b/x.svs"});
  EXPECT_EQ(names, (std::vector<std::string>{"a__x.svs", "a__x.svs~2", "b__x.svs"}));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
}

TEST(BatchDiscover, filters_by_extension_sorts_and_recurses_only_when_asked) {
  const fs::path d = fresh("discover");
  for (const char* f : {"b.svs", "a.TIFF", "notes.txt", "thumb.png", "sub/c.ndpi", "sub/b.svs"}) touch(d / f);
  fs::create_directories(d / "folder.svs");  // a folder named like a slide is not a slide

  DiscoverOptions o;
  o.input_dir = d;
  EXPECT_EQ(keys_of(discover_slides(o)), (std::vector<std::string>{"a.TIFF", "b.svs"}));

  o.recursive = true;
  const auto all = discover_slides(o);
  EXPECT_EQ(keys_of(all), (std::vector<std::string>{"a.TIFF", "b.svs", "sub/b.svs", "sub/c.ndpi"}));
  EXPECT_EQ(all[1].name, "b.svs");
  EXPECT_EQ(all[2].name, "sub__b.svs");
  EXPECT_EQ(all[3].name, "c");

  o.extensions = {".PNG", "ndpi"};
  EXPECT_EQ(keys_of(discover_slides(o)), (std::vector<std::string>{"sub/c.ndpi", "thumb.png"}));
}

TEST(BatchDiscover, list_file_relative_to_itself_comments_and_duplicates) {
  const fs::path d = fresh("list");
  touch(d / "slides/one.svs");
  touch(d / "slides/two.tiff");
  std::ofstream(d / "list.txt") << "# slides for tonight\nslides/two.tiff\n\n  slides/one.svs  \nslides/two.tiff\n"
                                << (d / "slides/one.svs").string() << "\n";
  DiscoverOptions o;
  o.list_file = d / "list.txt";
  const auto s = discover_slides(o);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].key, (d / "slides/one.svs").lexically_normal().generic_string());  // absolute sorts first
  EXPECT_EQ(s[1].key, "slides/one.svs");
  EXPECT_EQ(s[2].key, "slides/two.tiff");
  EXPECT_TRUE(fs::exists(s[1].path));
  EXPECT_NE(s[0].name, s[1].name);  // same stem: disambiguated
}

TEST(BatchDiscover, errors_name_the_file) {
  const fs::path d = fresh("errors");
  std::ofstream(d / "list.txt") << "there.svs\nmissing.svs\n";
  touch(d / "there.svs");
  DiscoverOptions o;
  o.list_file = d / "list.txt";
  try {
    discover_slides(o);
    FAIL() << "a missing listed slide must be an error";
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("list.txt:2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing.svs"), std::string::npos) << e.what();
  }
  DiscoverOptions none;
  none.input_dir = d / "nope";
  EXPECT_THROW(discover_slides(none), core::InvalidArgument);
}

TEST(BatchShard, parse_accepts_i_of_n_and_rejects_the_rest) {
  const auto s = parse_shard("2/8");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 8);
  for (const char* bad : {"8/8", "-1/4", "1/0", "1", "a/b", "1/4x", "", "/4"})
    EXPECT_THROW(parse_shard(bad), core::InvalidArgument) << bad;
}

TEST(BatchShard, shards_partition_the_sorted_list_by_position) {
  std::vector<SlideEntry> slides;
  for (int i = 0; i < 10; ++i) slides.push_back({"p", "s" + std::to_string(i), "n" + std::to_string(i)});
  std::multiset<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    const auto part = select_shard(slides, Shard{i, 3});
    for (std::size_t k = 0; k < part.size(); ++k) {
      EXPECT_EQ(part[k].key, "s" + std::to_string(i + 3 * static_cast<int>(k)));
      seen.insert(part[k].key);
    }
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 10u);
  EXPECT_TRUE(select_shard(slides, Shard{5, 20}).size() == 1 && select_shard(slides, Shard{15, 20}).empty());
}

BatchReport sample(std::optional<Shard> shard, std::vector<std::string> slides) {
  BatchReport r;
  r.shard = shard;
  r.started_utc = "2026-01-01T00:00:00.000Z";
  r.finished = true;
  for (const auto& s : slides) {
    ReportRow row;
    row.slide = s;
    row.output = s;
    row.status = SlideStatus::Done;
    row.nuclei = static_cast<std::int64_t>(s.size());
    row.tiles = 4;
    row.seconds = 1.5;
    r.rows.push_back(row);
  }
  return r;
}

TEST(BatchReport, round_trip_and_csv_quoting) {
  const fs::path d = fresh("report");
  auto r = sample(std::nullopt, {"a.svs", "b,\"odd\".svs"});
  r.rows[1].status = SlideStatus::Failed;
  r.rows[1].nuclei = -1;
  r.rows[1].error = "b,\"odd\".svs: not a slide\nsecond line";
  write_report(d, r);
  EXPECT_FALSE(fs::exists(d / "batch_report.json.partial"));
  const auto back = read_report(d / "batch_report.json");
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(back.rows[1].slide, r.rows[1].slide);
  EXPECT_EQ(back.rows[1].status, SlideStatus::Failed);
  EXPECT_EQ(back.rows[1].nuclei, -1);
  EXPECT_EQ(back.rows[1].error, r.rows[1].error);
  EXPECT_EQ(back.rows[0].nuclei, 5);

  std::ifstream csv(d / "batch_report.csv");
  std::string all((std::istreambuf_iterator<char>(csv)), {});
  EXPECT_EQ(all.substr(0, all.find('\n')), "slide,output,status,nuclei,tiles,damaged_tiles,seconds,error");
  EXPECT_NE(all.find("a.svs,a.svs,done,5,4,0,1.5,\n"), std::string::npos) << all;
  EXPECT_NE(all.find("\"b,\"\"odd\"\".svs\",\"b,\"\"odd\"\".svs\",failed,,4,0,1.5,\"b,\"\"odd\"\".svs: not a slide\nsecond line\""),
            std::string::npos)
      << all;
}

TEST(BatchMerge, shard_reports_merge_in_slide_order) {
  const fs::path d = fresh("merge");
  write_report(d, sample(Shard{0, 2}, {"a.svs", "c.svs"}));
  auto r1 = sample(Shard{1, 2}, {"b.svs"});
  r1.finished = false;
  write_report(d, r1);
  EXPECT_TRUE(fs::exists(d / "batch_report.shard-0-of-2.csv"));
  const auto m = merge_shard_reports(d);
  ASSERT_EQ(m.rows.size(), 3u);
  EXPECT_EQ(m.rows[0].slide, "a.svs");
  EXPECT_EQ(m.rows[1].slide, "b.svs");
  EXPECT_EQ(m.rows[2].slide, "c.svs");
  EXPECT_FALSE(m.finished);  // shard 1 did not finish
  EXPECT_FALSE(m.shard.has_value());
  EXPECT_EQ(read_report(d / "batch_report.json").rows.size(), 3u);
}

TEST(BatchMerge, missing_shard_mixed_counts_and_duplicates_are_errors) {
  const fs::path d = fresh("merge_bad");
  EXPECT_THROW(merge_shard_reports(d), core::InvalidArgument);  // nothing to merge
  write_report(d, sample(Shard{0, 3}, {"a.svs"}));
  write_report(d, sample(Shard{2, 3}, {"c.svs"}));
  try {
    merge_shard_reports(d);
    FAIL() << "shard 1 of 3 is missing";
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("shard report(s) 1 of 3 missing"), std::string::npos) << e.what();
  }
  write_report(d, sample(Shard{1, 3}, {"a.svs"}));
  try {
    merge_shard_reports(d);
    FAIL() << "a.svs is in two shards";
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("a.svs appears in both"), std::string::npos) << e.what();
  }
  write_report(d, sample(Shard{0, 2}, {"x.svs"}));
  EXPECT_THROW(merge_shard_reports(d), core::InvalidArgument);  // 2 and 3 shards mixed
}

TEST(BatchReport, malformed_report_names_the_file) {
  const fs::path d = fresh("malformed");
  std::ofstream(d / "r.json") << "{\"slides\": [{\"slide\": 1}]}";
  try {
    read_report(d / "r.json");
    FAIL();
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("r.json"), std::string::npos) << e.what();
  }
}

TEST(BatchRun, a_broken_model_stops_the_batch_after_reporting_why) {
  // Every slide would fail the same way, so a ModelError is not "a bad slide": the batch records it,
  // marks the rest skipped, writes the report and the JSON log, and rethrows.
  const fs::path d = fresh("run_badmodel");
  touch(d / "in/a.svs");
  touch(d / "in/b.svs");
  std::ofstream(d / "model.json") << "{ not json";
  DiscoverOptions disc;
  disc.input_dir = d / "in";
  BatchOptions o;
  o.slides = discover_slides(disc);
  o.out_dir = d / "out";
  o.log_json = d / "log.jsonl";
  o.analyze.model = d / "model.json";
  std::vector<std::string> events;
  EXPECT_THROW(run_batch(o, [&](const BatchEvent& e) { events.push_back(to_string(e.kind)); }), core::ModelError);
  const auto r = read_report(d / "out/batch_report.json");
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].status, SlideStatus::Failed);
  EXPECT_NE(r.rows[0].error.find("model.json"), std::string::npos) << r.rows[0].error;
  EXPECT_EQ(r.rows[1].status, SlideStatus::Skipped);
  EXPECT_NE(r.rows[1].error.find("batch stopped"), std::string::npos) << r.rows[1].error;
  EXPECT_FALSE(r.finished);
  EXPECT_EQ(events, (std::vector<std::string>{"batch_start", "slide_start", "slide_failed", "batch_end"}));
  std::ifstream log(d / "log.jsonl");
  std::string line;
  std::vector<std::string> logged;
  while (std::getline(log, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("time")) << line;
    logged.push_back(j.at("event"));
  }
  EXPECT_EQ(logged, events);
}

}  // namespace
}  // namespace karyon::pipeline
