#include <gtest/gtest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "karyon/core/errors.hpp"
#include "karyon/postprocess/result_store.hpp"
#include "test_support.hpp"

using namespace karyon;
namespace fs = std::filesystem;

namespace {

core::Nucleus square(const std::string& uuid, double x, double y, double size = 10) {
  core::Nucleus n;
  n.uuid = uuid;
  n.tile_id = 3;
  n.polygon.outer = {{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}};
  n.bbox = {x, y, x + size, y + size};
  n.centroid = {x + size / 2, y + size / 2};
  n.score = 0.8f;
  n.measurements.area_um2 = size * size / 16;
  return n;
}

fs::path fresh(const std::string& name) {
  const auto p = test::scratch_dir() / name;
  fs::remove(p);
  return p;
}

TEST(ResultStore, commit_query_by_rtree_and_reopen) {
  const auto path = fresh("store1.sqlite");
  {
    postprocess::ResultStore store(path);
    std::vector<core::Nucleus> nuclei;
    for (int i = 0; i < 100; ++i) nuclei.push_back(square("u" + std::to_string(i), i * 20.0, 0));
    store.commit(nuclei, {1, 2});
    EXPECT_GT(nuclei[5].id, 0);
    store.set_meta("slide", "x.svs");
  }
  postprocess::ResultStore store(path);
  EXPECT_EQ(store.count(), 100);
  EXPECT_EQ(store.final_tiles(), (std::set<std::int64_t>{1, 2}));
  EXPECT_EQ(store.meta("slide"), "x.svs");
  const auto hits = store.query({195, 0, 405, 5});  // squares [20i, 20i+10]: i = 10..20
  ASSERT_EQ(hits.size(), 11u);
  EXPECT_EQ(hits.front().uuid, "u10");
  EXPECT_EQ(hits.front().polygon.outer.size(), 4u);
  EXPECT_DOUBLE_EQ(hits.front().polygon.outer[1].x, 210.0);
  EXPECT_FLOAT_EQ(hits.front().score, 0.8f);
}

TEST(ResultStore, replaying_a_tile_after_a_kill_adds_nothing_twice) {
  const auto path = fresh("store2.sqlite");
  postprocess::ResultStore store(path);
  std::vector<core::Nucleus> a{square("a", 0, 0), square("b", 50, 0)};
  EXPECT_EQ(store.commit(a, {7}), 2);
  std::vector<core::Nucleus> again{square("b", 50, 0), square("c", 100, 0)};
  EXPECT_EQ(store.commit(again, {7, 8}), 1);  // only "c" is new
  EXPECT_EQ(store.count(), 3);
  EXPECT_EQ(again[0].id, a[1].id);
  EXPECT_EQ(store.query({0, 0, 1000, 1000}).size(), 3u);  // the R*Tree has no duplicates either
}

TEST(ResultStore, review_edits_persist_with_their_history) {
  const auto path = fresh("store3.sqlite");
  std::int64_t id = 0, drawn = 0;
  {
    postprocess::ResultStore store(path);
    std::vector<core::Nucleus> n{square("a", 0, 0), square("b", 50, 0)};
    store.commit(n, {});
    id = n[0].id;
    store.set_state(id, core::ReviewState::Rejected, "dr.who");
    store.set_class(n[1].id, "Lymphocyte", "dr.who");
    drawn = store.add_drawn(square("d", 200, 200), "dr.who");
  }  // "kill": nothing but the destructor ran
  postprocess::ResultStore store(path);
  EXPECT_EQ(store.get(id)->state, core::ReviewState::Rejected);
  EXPECT_EQ(store.count(), 2);  // rejected is not counted
  EXPECT_EQ(store.count(true), 3);
  EXPECT_EQ(store.get(drawn)->state, core::ReviewState::Drawn);
  const auto edits = store.edits();
  ASSERT_EQ(edits.size(), 3u);
  EXPECT_EQ(edits[0].action, "state");
  EXPECT_EQ(edits[0].before, "unreviewed");
  EXPECT_EQ(edits[0].after, "rejected");
  EXPECT_EQ(edits[0].user, "dr.who");
  EXPECT_EQ(edits[1].before, "Nucleus");
  EXPECT_EQ(edits[1].after, "Lymphocyte");
  EXPECT_THROW(store.set_state(99999, core::ReviewState::Accepted, "x"), core::InvalidArgument);
}

TEST(ResultStore, unusable_paths_and_other_schema_versions_are_clear_errors) {
  EXPECT_THROW(postprocess::ResultStore("/nonexistent-dir/x.sqlite"), core::OutputError);
  const auto path = fresh("store4.sqlite");
  { postprocess::ResultStore(path).set_meta("schema_version", "99"); }
  try {
    postprocess::ResultStore again(path);
    FAIL();
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99"), std::string::npos) << e.what();
  }
  const auto garbage = test::scratch_dir() / "garbage.sqlite";
  test::write_bytes(garbage, test::random_bytes(8192, 3));
  EXPECT_THROW(postprocess::ResultStore{garbage}, core::OutputError);
}

// Issue 15 item 4: what a damaged or foreign store holds is refused with the file's path, on every read
// path, instead of a zero-padded outline, a silent "unreviewed", or a bare SQLite exception.
TEST(ResultStore, damaged_rows_and_sqlite_read_errors_name_the_file) {
  const auto path = fresh("damaged_rows.sqlite");
  std::vector<core::Nucleus> nuclei = {square("a", 0, 0), square("b", 20, 0), square("c", 40, 0)};
  postprocess::ResultStore store(path);
  store.commit(nuclei, {3});
  {
    SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE);
    // a: the outline cut short by one coordinate (a torn write); b: a review state this version never wrote.
    raw.exec("UPDATE nuclei SET geometry = substr(geometry, 1, length(geometry) - 8) WHERE uuid = 'a'");
    raw.exec("UPDATE nuclei SET state = 'approved' WHERE uuid = 'b'");
  }
  const auto expect_refused = [&](auto&& read, const std::string& why) {
    try {
      read();
      ADD_FAILURE() << "no error for " << why;
    } catch (const core::OutputError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  expect_refused([&] { store.get(1); }, "outline of nucleus 1 is damaged (cut short inside ring 0)");
  expect_refused([&] { store.query({-1, -1, 15, 15}, 10); }, "outline of nucleus 1 is damaged");
  expect_refused([&] { store.for_each([](const core::Nucleus&) {}); }, "outline of nucleus 1 is damaged");
  expect_refused([&] { store.get(2); }, "unknown review state 'approved'");
  EXPECT_EQ(store.get(3)->polygon.outer.size(), 4u);  // an intact row still reads
  {
    SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE nuclei SET geometry = x'0000' WHERE uuid = 'c'");  // 2 bytes: not even one coordinate
    raw.exec("DROP TABLE edits");
  }
  expect_refused([&] { store.get(3); }, "not a whole number of coordinates");
  expect_refused([&] { store.edits(); }, "cannot read the review log");
}

}  // namespace