#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/postprocess/geojson.hpp"
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

TEST(GeoJson, export_into_a_missing_folder_fails_cleanly) {
  const auto store = store_with_nuclei("g3.sqlite", 2);
  EXPECT_THROW(postprocess::export_geojson(store, "/nonexistent-dir/out.geojson"), core::OutputError);
}

}  // namespace
