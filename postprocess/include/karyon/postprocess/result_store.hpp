#pragma once
// One SQLite file per slide (WAL): the nuclei with an R*Tree over their level-0 bounding boxes, a
// tile journal (tiles whose nuclei are all stored: a killed run resumes after them), run metadata,
// and the review log (who changed what, when). Every write is one transaction, so a kill at any
// point leaves the previous consistent state.
//
// Thread-safety: one ResultStore per thread (SQLite serialises writers across connections).
// Errors: core::OutputError for anything SQLite refuses (disk full, read-only, corrupt, locked),
// with the file name; core::InvalidArgument for a store of another schema version.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "karyon/core/geometry.hpp"
#include "karyon/core/nucleus.hpp"

namespace karyon::postprocess {

inline constexpr int kStoreSchemaVersion = 1;

// A planned tile whose area could not be decoded at the analysis level (clinical slides have damaged
// tiles): read from a coarser level instead, or left out.
struct DamagedTile {
  std::int64_t tile_id = 0;
  core::Level0Rect area;  // the part of the slide the tile owns (its core), level-0 px
  std::string problem;    // the reader's message
  int read_level = -1;    // the coarser level used; -1: none decodes it
  std::vector<core::Level0Rect> left_out_areas;  // read_level -1: the parts of `area` not analysed, no nuclei there
  bool left_out() const { return read_level < 0; }
};

struct ReviewEdit {
  std::int64_t id = 0;
  std::int64_t nucleus_id = 0;
  std::string action;  // "state", "class", "polygon", "draw"
  std::string before, after;
  std::string user;
  std::string at;      // ISO 8601 UTC
};

class ResultStore {
 public:
  // Opens `path`, creating it (and its schema) when absent.
  explicit ResultStore(const std::filesystem::path& path);
  ~ResultStore();
  ResultStore(ResultStore&&) noexcept;
  ResultStore& operator=(ResultStore&&) noexcept;

  const std::filesystem::path& path() const;

  void set_meta(const std::string& key, const std::string& value);
  std::optional<std::string> meta(const std::string& key) const;

  // Damaged tiles of this run and of the runs it resumed (one record per tile id, the latest wins).
  void add_damaged_tile(const DamagedTile& tile);
  std::vector<DamagedTile> damaged_tiles() const;

  // One transaction: inserts `nuclei` (ignoring any already stored under the same uuid, so that a
  // resumed run can replay a tile) and marks `final_tiles` done. Fills in the nuclei's ids; returns
  // how many were new.
  std::int64_t commit(std::vector<core::Nucleus>& nuclei, const std::vector<std::int64_t>& final_tiles);
  std::set<std::int64_t> final_tiles() const;

  std::int64_t count(bool include_removed = false) const;  // removed = rejected or deleted
  std::optional<core::Nucleus> get(std::int64_t id) const;
  // Nuclei whose bounding box intersects the level-0 rectangle (R*Tree), at most `limit`.
  std::vector<core::Nucleus> query(const core::BoundingBox& level0, std::size_t limit = 1'000'000,
                                   bool include_removed = false) const;
  // Streams every nucleus ordered by (tile, uuid), which does not depend on the order tiles finished
  // in (exports); the callback may not touch the store.
  void for_each(const std::function<void(const core::Nucleus&)>& fn, bool include_removed = false) const;

  // Review: each change is written at once, with its previous value, in the edit log.
  void set_state(std::int64_t id, core::ReviewState state, const std::string& user);
  void set_class(std::int64_t id, const std::string& class_name, const std::string& user);
  void set_polygon(std::int64_t id, const core::Nucleus& reshaped, const std::string& user);
  std::int64_t add_drawn(core::Nucleus nucleus, const std::string& user);
  std::vector<ReviewEdit> edits() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace karyon::postprocess
