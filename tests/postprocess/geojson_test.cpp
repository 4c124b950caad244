#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/nucleus_statistics.hpp"
#include "karyon/postprocess/review_labels.hpp"
#include "test_support.hpp"

using namespace karyon;
namespace fs = std::filesystem;

namespace {

postprocess::ResultStore store_with_nuclei(const std::string& name, int count) {
  const auto path = test::scratch_dir() / name;
  fs::remove(path);
  postprocess::ResultStore store(path);
  std::vector<core::Nucleus> nuclei;
  for (int i = 0; i < count; ++i) {
    core::Nucleus n;
    n.uuid = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
    const double x = 10.0 * i;
    n.polygon.outer = {{x, 0}, {x + 8, 0}, {x + 8, 8}, {x, 8}};
    n.polygon.holes = {{{x + 2, 2}, {x + 4, 2}, {x + 4, 4}}};
    n.bbox = {x, 0, x + 8, 8};
    n.centroid = {x + 4, 4};
    n.score = 0.75f;
    n.measurements.area_um2 = 3.5;
    n.measurements.circularity = 0.8;
    nuclei.push_back(n);
  }
  store.commit(nuclei, {});
  return store;
}

TEST(GeoJson, export_is_qupath_shaped_and_reads_back) {
  const auto store = store_with_nuclei("g1.sqlite", 5);
  const auto out = test::scratch_dir() / "nuclei.geojson";
  EXPECT_EQ(postprocess::export_geojson(store, out), 5);
  EXPECT_FALSE(fs::exists(out.string() + ".partial"));
  std::ifstream in(out);
  const auto doc = nlohmann::json::parse(in);
  ASSERT_EQ(doc["type"], "FeatureCollection");
  ASSERT_EQ(doc["features"].size(), 5u);
  const auto& f = doc["features"][0];
  EXPECT_EQ(f["type"], "Feature");
  EXPECT_TRUE(f["id"].is_string());
  EXPECT_EQ(f["geometry"]["type"], "Polygon");
  ASSERT_EQ(f["geometry"]["coordinates"].size(), 2u);  // shell + hole
  EXPECT_EQ(f["geometry"]["coordinates"][0].size(), 5u);  // closed ring
  EXPECT_EQ(f["geometry"]["coordinates"][0][0], f["geometry"]["coordinates"][0][4]);
  EXPECT_EQ(f["properties"]["objectType"], "detection");
  EXPECT_EQ(f["properties"]["classification"]["name"], "Nucleus");
  EXPECT_EQ(f["properties"]["classification"]["color"].size(), 3u);
  for (const auto& [k, v] : f["properties"]["measurements"].items()) EXPECT_TRUE(v.is_number()) << k;
  EXPECT_DOUBLE_EQ(f["properties"]["measurements"]["Area µm^2"].get<double>(), 3.5);

  const auto back = postprocess::read_geojson(out);
  ASSERT_EQ(back.size(), 5u);
  EXPECT_EQ(back[2].uuid, "00000000-0000-4000-8000-100000000002");
  EXPECT_EQ(back[2].polygon.outer.size(), 4u);
  EXPECT_EQ(back[2].polygon.holes.size(), 1u);
  EXPECT_DOUBLE_EQ(back[2].polygon.outer[1].x, 28.0);
  EXPECT_DOUBLE_EQ(back[2].measurements.circularity, 0.8);
  EXPECT_FLOAT_EQ(back[2].score, 0.75f);
}

TEST(GeoJson, gzip_export_round_trips_and_csv_has_a_row_per_nucleus) {
  const auto store = store_with_nuclei("g2.sqlite", 7);
  const auto gz = test::scratch_dir() / "nuclei.geojson.gz";
  postprocess::export_geojson(store, gz);
  std::ifstream raw(gz, std::ios::binary);
  unsigned char magic[2];
  raw.read(reinterpret_cast<char*>(magic), 2);
  EXPECT_EQ(magic[0], 0x1f);
  EXPECT_EQ(magic[1], 0x8b);
  EXPECT_EQ(postprocess::read_geojson(gz).size(), 7u);
  const auto csv = test::scratch_dir() / "nuclei.csv";
  EXPECT_EQ(postprocess::export_csv(store, csv), 7);
  std::ifstream in(csv);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, 8);
}

TEST(GeoJson, imports_qupath_arrays_and_multipolygons) {
  const auto path = test::scratch_dir() / "qupath.geojson";
  std::ofstream(path) << R"([
    {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]},
     "properties":{"objectType":"annotation","classification":{"name":"Tumor"}}},
    {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[2,0],[2,2],[0,0]]],
                                                                      [[[5,5],[25,5],[25,25],[5,25],[5,5]]]]}},
    {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}}])";
  const auto nuclei = postprocess::read_geojson(path, 0.5);
  ASSERT_EQ(nuclei.size(), 2u);  // the point is not a nucleus
  EXPECT_EQ(nuclei[0].class_name, "Tumor");
  EXPECT_DOUBLE_EQ(nuclei[0].measurements.area_um2, 25.0);  // 100 px² at 0.5 µm/px
  EXPECT_DOUBLE_EQ(postprocess::polygon_area(nuclei[1].polygon), 400.0);  // the larger part
  EXPECT_FALSE(nuclei[1].uuid.empty());

  const auto store_path = test::scratch_dir() / "import.sqlite";
  fs::remove(store_path);
  postprocess::ResultStore store(store_path);
  EXPECT_EQ(postprocess::import_geojson(store, path, 0.5, "importer"), 2);
  EXPECT_EQ(store.count(), 2);
}

TEST(GeoJson, malformed_files_name_the_file_and_the_problem) {
  auto expect_error = [](const std::string& name, const std::string& text, const std::string& reason) {
    const auto path = test::scratch_dir() / name;
    test::write_bytes(path, text);
    try {
      postprocess::read_geojson(path);
      FAIL() << name;
    } catch (const core::InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
    }
  };
  expect_error("trunc.geojson", R"({"type":"FeatureCollection","features":[{"type":"Fea)", "not valid JSON");
  expect_error("random.geojson", test::random_bytes(500, 9), "");
  expect_error("wrongtype.geojson", R"({"type":"Topology"})", "expected a GeoJSON");
  // Found by tools/fuzz (fuzz_geojson): a "type" that is not a string let nlohmann's type_error escape.
  expect_error("numbertype.geojson", R"({"type": 28})", "expected a GeoJSON");
  expect_error("arraytype.geojson", R"({"type": ["FeatureCollection"], "features": []})", "expected a GeoJSON");
  expect_error("badcoords.geojson",
               R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,"a"],[1,1],[2,0]]]}}]})",
               "feature 0");
  expect_error("tworing.geojson",
               R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]}}]})",
               "fewer than 3");
  expect_error("missing.geojson", "", "");
  try {
    postprocess::read_geojson(test::scratch_dir() / "does-not-exist.geojson");
    FAIL();
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("does-not-exist.geojson"), std::string::npos);
  }
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Features by uuid.
std::map<std::string, nlohmann::json> features_of(const nlohmann::json& doc) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& f : doc["features"]) out[f["id"].get<std::string>()] = f;
  return out;
}

std::vector<int> rgb(const postprocess::Rgb& c) { return {c[0], c[1], c[2]}; }

// Issue 14, defect 3: a QuPath user sees (and can filter) what the reviewer decided: classification
// "<class>: <State>" as QuPath derived classes, reclassified nuclei named, rejected ones left out
// unless asked for, deleted ones never.
TEST(GeoJson, review_states_are_qupath_classes_and_rejected_nuclei_are_left_out_unless_asked) {
  auto store = store_with_nuclei("review.sqlite", 6);
  const auto uuid = [](int i) { return "00000000-0000-4000-8000-" + std::to_string(100000000000 + i); };
  store.set_state(1, core::ReviewState::Accepted, "pat");
  store.set_state(2, core::ReviewState::Rejected, "pat");
  store.set_class(3, "Lymphocyte", "pat");
  store.set_state(3, core::ReviewState::Accepted, "pat");
  store.set_state(4, core::ReviewState::Deleted, "pat");
  core::Nucleus drawn;
  drawn.uuid = "00000000-0000-4000-8000-999999999999";
  drawn.polygon.outer = {{100, 100}, {110, 100}, {110, 110}};
  postprocess::set_bounds_and_centroid(drawn);
  store.add_drawn(drawn, "pat");

  const auto out = test::scratch_dir() / "reviewed.geojson";
  EXPECT_EQ(postprocess::export_geojson(store, out), 5);  // 7 nuclei less 1 rejected, 1 deleted
  auto f = features_of(read_json(out));
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f.count(uuid(1)), 0u);  // rejected: left out by default
  EXPECT_EQ(f.count(uuid(3)), 0u);  // deleted: never exported
  const auto cls = [&](const std::string& id) { return f.at(id)["properties"]["classification"]; };
  EXPECT_EQ(cls(uuid(0))["name"], "Nucleus: Accepted");
  EXPECT_EQ(cls(uuid(0))["color"].get<std::vector<int>>(), rgb(postprocess::state_colour(core::ReviewState::Accepted)));
  EXPECT_EQ(cls(uuid(2))["name"], "Lymphocyte: Accepted");
  EXPECT_EQ(f.at(uuid(2))["properties"]["name"], "Reclassified from Nucleus");
  EXPECT_EQ(f.at(uuid(2))["properties"]["measurements"]["Reclassified"], 1);
  EXPECT_EQ(f.at(uuid(2))["properties"]["karyon"]["original_class"], "Nucleus");
  EXPECT_EQ(f.at(uuid(0))["properties"]["measurements"]["Reclassified"], 0);
  EXPECT_FALSE(f.at(uuid(0))["properties"].contains("name"));
  EXPECT_EQ(cls(uuid(4))["name"], "Nucleus");  // unreviewed: the plain class, its own colour
  EXPECT_EQ(cls(uuid(4))["color"].get<std::vector<int>>(), rgb(postprocess::class_colour("Nucleus")));
  EXPECT_EQ(cls(drawn.uuid)["name"], "Nucleus: Drawn");
  EXPECT_EQ(f.at(uuid(0))["properties"]["objectType"], "detection");

  // Asked for: the rejected nucleus is there, as "Nucleus: Rejected"; the deleted one still is not.
  EXPECT_EQ(postprocess::export_geojson(store, out, {.include_rejected = true}), 6);
  f = features_of(read_json(out));
  EXPECT_EQ(cls(uuid(1))["name"], "Nucleus: Rejected");
  EXPECT_EQ(f.count(uuid(3)), 0u);
  const auto csv = test::scratch_dir() / "reviewed.csv";
  EXPECT_EQ(postprocess::export_csv(store, csv), 5);
  EXPECT_EQ(postprocess::export_csv(store, csv, {.include_rejected = true}), 6);

  // Read back: class and state apart again; QuPath's own derived classes stay whole.
  const auto back = postprocess::read_geojson(out);
  std::map<std::string, core::Nucleus> by_uuid;
  for (const auto& n : back) by_uuid[n.uuid] = n;
  EXPECT_EQ(by_uuid.at(uuid(1)).class_name, "Nucleus");
  EXPECT_EQ(by_uuid.at(uuid(1)).state, core::ReviewState::Rejected);
  EXPECT_EQ(by_uuid.at(uuid(2)).class_name, "Lymphocyte");
  EXPECT_EQ(by_uuid.at(uuid(2)).state, core::ReviewState::Accepted);
  EXPECT_EQ(by_uuid.at(uuid(4)).state, core::ReviewState::Unreviewed);
  EXPECT_EQ(postprocess::parse_qupath_classification("Tumor: Positive").class_name, "Tumor: Positive");
  EXPECT_FALSE(postprocess::parse_qupath_classification("Tumor: Positive").state.has_value());
  // Imported, a rejected nucleus stays rejected (not a drawn one).
  const auto imported_path = test::scratch_dir() / "reimport.sqlite";
  fs::remove(imported_path);
  postprocess::ResultStore imported(imported_path);
  EXPECT_EQ(postprocess::import_geojson(imported, out, 0.5, "pat"), 6);
  EXPECT_EQ(imported.count(), 5);  // the rejected one is kept, as rejected
  EXPECT_EQ(imported.count(true), 6);
}

// Class colours are the same in every build: FNV-1a of the name (the GUI uses the same function),
// not std::hash, which differs between standard libraries.
TEST(GeoJson, class_colours_are_stable_across_builds) {
  EXPECT_EQ(postprocess::stable_hash(""), 2166136261u);
  EXPECT_EQ(postprocess::stable_hash("a"), 0xe40c292cu);  // the published FNV-1a test vector
  EXPECT_EQ(rgb(postprocess::class_colour("Nucleus")), (std::vector<int>{0, 220, 255}));
  EXPECT_EQ(rgb(postprocess::class_colour("nucleus")), (std::vector<int>{0, 220, 255}));
  // Hue stable_hash("Lymphocyte") % 360, saturation 230/255, value 1: fixed numbers, so a change
  // of the function (or a std::hash creeping back) fails here.
  const auto h = postprocess::stable_hash("Lymphocyte") % 360;
  EXPECT_EQ(h, 89u);
  EXPECT_EQ(rgb(postprocess::class_colour("Lymphocyte")), (std::vector<int>{144, 255, 25}));
  auto store = store_with_nuclei("colours.sqlite", 1);
  store.set_class(1, "Lymphocyte", "pat");
  const auto out = test::scratch_dir() / "colours.geojson";
  postprocess::export_geojson(store, out);
  const auto f = read_json(out)["features"][0]["properties"]["classification"];
  EXPECT_EQ(f["name"], "Lymphocyte");  // still unreviewed: the class's own colour
  EXPECT_EQ(f["color"].get<std::vector<int>>(), rgb(postprocess::class_colour("Lymphocyte")));
}

TEST(NucleusStatistics, counts_per_class_and_state) {
  auto store = store_with_nuclei("counts.sqlite", 5);
  store.set_state(1, core::ReviewState::Accepted, "pat");
  store.set_state(2, core::ReviewState::Rejected, "pat");
  store.set_class(3, "Tumor", "pat");
  const auto c = postprocess::count_by_class_and_state(store);
  EXPECT_EQ(c.total(), 5);
  EXPECT_EQ(c.per_state[int(core::ReviewState::Unreviewed)], 3);
  EXPECT_EQ(c.per_state[int(core::ReviewState::Accepted)], 1);
  EXPECT_EQ(c.per_state[int(core::ReviewState::Rejected)], 1);
  ASSERT_EQ(c.per_class.size(), 2u);
  EXPECT_EQ(c.per_class.at("Nucleus")[int(core::ReviewState::Unreviewed)], 2);
  EXPECT_EQ(c.per_class.at("Tumor")[int(core::ReviewState::Unreviewed)], 1);
  auto d = c;
  d.add("Tumor", core::ReviewState::Unreviewed, -1);  // the last Tumor: the class row goes
  EXPECT_EQ(d.per_class.count("Tumor"), 0u);
  EXPECT_EQ(d.total(), 4);
}

TEST(NucleusStatistics, histogram_bins_span_the_values) {
  const auto h = postprocess::make_histogram({0, 1, 2, 3, 4, 10, std::nan(""), 10}, 5);
  EXPECT_DOUBLE_EQ(h.lo, 0);
  EXPECT_DOUBLE_EQ(h.hi, 10);
  EXPECT_DOUBLE_EQ(h.bin_width(), 2);
  EXPECT_EQ(h.counts, (std::vector<std::int64_t>{2, 2, 1, 0, 2}));  // the largest value in the last bin
  EXPECT_EQ(h.skipped, 1);
  EXPECT_EQ(h.total(), 7);
  const auto same = postprocess::make_histogram({3, 3}, 4);
  EXPECT_DOUBLE_EQ(same.lo, 2.5);
  EXPECT_EQ(same.total(), 2);
  EXPECT_EQ(postprocess::make_histogram({}, 3).total(), 0);
  EXPECT_THROW(postprocess::make_histogram({1}, 0), core::InvalidArgument);
  EXPECT_EQ(postprocess::measurement_columns().front().name, std::string("Area µm^2"));
}

TEST(GeoJson, export_into_a_missing_folder_fails_cleanly) {
  const auto store = store_with_nuclei("g3.sqlite", 2);
  EXPECT_THROW(postprocess::export_geojson(store, "/nonexistent-dir/out.geojson"), core::OutputError);
}

}  // namespace

// Issue 15 item 5: nuclei.csv is RFC 4180, checked by Python's csv module (what a lab's script reads it
// with): a class name with a comma and quotes, and an imported id with a comma, come back intact, and
// every row has the header's number of fields with the values the store holds.
TEST(GeoJson, nuclei_csv_round_trips_through_pythons_csv_module) {
  auto store = store_with_nuclei("csv_rfc4180.sqlite", 3);
  const std::string tricky_class = "Tumor, \"grade 2\"";
  store.set_class(1, tricky_class, "pat");
  core::Nucleus drawn;
  drawn.uuid = "imported,id \"7\"";
  drawn.polygon.outer = {{100, 100}, {110, 100}, {110, 110}};
  postprocess::set_bounds_and_centroid(drawn);
  store.add_drawn(drawn, "pat");
  const auto csv = test::scratch_dir() / "rfc4180.csv";
  ASSERT_EQ(postprocess::export_csv(store, csv), 4);

  const auto parsed = test::scratch_dir() / "rfc4180.json";
  const std::string cmd = "python3 -c 'import csv, json, sys; rows = list(csv.reader(open(sys.argv[1], newline=\"\")));"
                          " json.dump(rows, open(sys.argv[2], \"w\"))' '" +
                          csv.string() + "' '" + parsed.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto rows = read_json(parsed);
  ASSERT_EQ(rows.size(), 5u);  // header + 4 nuclei
  const auto& header = rows[0];
  const auto column = [&](const std::string& name) {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    ADD_FAILURE() << "no column " << name;
    return std::size_t{0};
  };
  std::map<std::string, nlohmann::json> by_uuid;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].size(), header.size()) << "row " << r;
    by_uuid[rows[r][column("uuid")].get<std::string>()] = rows[r];
  }
  const std::string reclassified = "00000000-0000-4000-8000-100000000000";
  ASSERT_EQ(by_uuid.count(reclassified), 1u);
  EXPECT_EQ(by_uuid[reclassified][column("class")], tricky_class);
  ASSERT_EQ(by_uuid.count(drawn.uuid), 1u);
  EXPECT_EQ(by_uuid[drawn.uuid][column("state")], "drawn");
  EXPECT_EQ(by_uuid[drawn.uuid][column("class")], "Nucleus");
  const auto& plain = by_uuid["00000000-0000-4000-8000-100000000001"];
  EXPECT_DOUBLE_EQ(std::stod(plain[column("score")].get<std::string>()), 0.75);
  EXPECT_DOUBLE_EQ(std::stod(plain[column("centroid_x_px")].get<std::string>()), 14.0);
}
