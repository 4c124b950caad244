#include "karyon/postprocess/result_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <type_traits>

#include "karyon/core/clock.hpp"
#include "karyon/core/errors.hpp"

namespace karyon::postprocess {
namespace fs = std::filesystem;

namespace {

// Polygon ↔ BLOB: [ring count][points in ring][x y]... as doubles (outer ring first). Compact and
// fast to stream; GeoJSON is produced from it on export.
std::string encode_polygon(const core::Polygon& p) {
  std::vector<double> v;
  v.push_back(1.0 + p.holes.size());
  auto ring = [&](const std::vector<core::Point>& r) {
    v.push_back(static_cast<double>(r.size()));
    for (const auto& q : r) v.insert(v.end(), {q.x, q.y});
  };
  ring(p.outer);
  for (const auto& h : p.holes) ring(h);
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}

// Refuses a blob that is not exactly what encode_polygon writes (a damaged or foreign store): padding it with
// zeros would draw and measure an outline that was never detected.
core::Polygon decode_polygon(const void* data, int bytes, std::int64_t id) {
  const auto damaged = [&](const std::string& why) {
    return std::runtime_error("the outline of nucleus " + std::to_string(id) + " is damaged (" + why + ")");
  };
  if (bytes < 0 || bytes % static_cast<int>(sizeof(double)) != 0)
    throw damaged(std::to_string(bytes) + " bytes is not a whole number of coordinates");
  const std::size_t n = static_cast<std::size_t>(bytes) / sizeof(double);
  std::vector<double> v(n);
  if (n) std::memcpy(v.data(), data, n * sizeof(double));
  std::size_t i = 0;
  const auto count = [&](const char* what, std::size_t most) {
    if (i >= n) throw damaged(std::string("cut short before the ") + what);
    const double c = v[i++];
    if (!(c >= 0 && c <= static_cast<double>(most)) || c != static_cast<double>(static_cast<std::size_t>(c)))
      throw damaged(std::string("impossible ") + what + " " + std::to_string(c));
    return static_cast<std::size_t>(c);
  };
  core::Polygon p;
  const std::size_t rings = count("ring count", n);
  if (rings == 0) throw damaged("no outer ring");
  for (std::size_t r = 0; r < rings; ++r) {
    const std::size_t points = count("point count", n);
    if (n - i < 2 * points) throw damaged("cut short inside ring " + std::to_string(r));
    std::vector<core::Point> ring(points);
    for (auto& q : ring) {
      q = {v[i], v[i + 1]};
      i += 2;
    }
    if (r == 0) p.outer = std::move(ring);
    else p.holes.push_back(std::move(ring));
  }
  if (i != n) throw damaged(std::to_string(n - i) + " values after the last ring");
  return p;
}

core::ReviewState parse_state(const std::string& s) {
  for (auto st : {core::ReviewState::Unreviewed, core::ReviewState::Accepted, core::ReviewState::Rejected,
                  core::ReviewState::Deleted, core::ReviewState::Drawn})
    if (s == core::to_string(st)) return st;
  throw std::runtime_error("unknown review state '" + s + "'");
}

// Read order of read_nucleus(); queries name the nuclei table `n`.
constexpr const char* kNucleusColumns =
    "n.id, n.uuid, n.tile_id, n.class, n.score, n.state, n.cx, n.cy, n.x0, n.y0, n.x1, n.y1, n.area_um2, "
    "n.perimeter_um, n.circularity, n.solidity, n.eccentricity, n.major_um, n.minor_um, n.h_od, n.e_od, n.geometry";
constexpr const char* kInsertColumns =
    "uuid, tile_id, class, score, state, cx, cy, x0, y0, x1, y1, area_um2, perimeter_um, circularity, "
    "solidity, eccentricity, major_um, minor_um, h_od, e_od, geometry";

core::Nucleus read_nucleus(SQLite::Statement& q) {
  core::Nucleus n;
  n.id = q.getColumn(0).getInt64();
  n.uuid = q.getColumn(1).getString();
  n.tile_id = q.getColumn(2).getInt64();
  n.class_name = q.getColumn(3).getString();
  n.score = static_cast<float>(q.getColumn(4).getDouble());
  n.state = parse_state(q.getColumn(5).getString());
  n.centroid = {q.getColumn(6).getDouble(), q.getColumn(7).getDouble()};
  n.bbox = {q.getColumn(8).getDouble(), q.getColumn(9).getDouble(), q.getColumn(10).getDouble(), q.getColumn(11).getDouble()};
  auto& m = n.measurements;
  m.area_um2 = q.getColumn(12).getDouble();
  m.perimeter_um = q.getColumn(13).getDouble();
  m.circularity = q.getColumn(14).getDouble();
  m.solidity = q.getColumn(15).getDouble();
  m.eccentricity = q.getColumn(16).getDouble();
  m.major_axis_um = q.getColumn(17).getDouble();
  m.minor_axis_um = q.getColumn(18).getDouble();
  m.hematoxylin_od = q.getColumn(19).getDouble();
  m.eosin_od = q.getColumn(20).getDouble();
  const auto geom = q.getColumn(21);
  n.polygon = decode_polygon(geom.getBlob(), geom.getBytes(), n.id);
  return n;
}

}  // namespace

struct ResultStore::Impl {
  fs::path path;
  std::unique_ptr<SQLite::Database> db;
  // Prepared once: re-preparing per nucleus would cost more than the insert itself.
  std::unique_ptr<SQLite::Statement> insert_nucleus, insert_rtree, find_uuid;

  [[noreturn]] void fail(const std::string& what, const std::exception& e) const {
    throw core::OutputError(path.string() + ": " + what + ": " + e.what());
  }

  // Runs `work` in one transaction; SQLite's exceptions become OutputError("PATH: what: reason"),
  // Karyon's own pass through.
  template <typename Work>
  auto in_transaction(const char* what, Work&& work) {
    try {
      SQLite::Transaction tx(*db);
      if constexpr (std::is_void_v<decltype(work())>) {
        work();
        tx.commit();
      } else {
        auto result = work();
        tx.commit();
        return result;
      }
    } catch (const core::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }

  // Runs a read; SQLite's exceptions and damaged rows become OutputError("PATH: what: reason").
  template <typename Work>
  auto reading(const char* what, Work&& work) const {
    try {
      return work();
    } catch (const core::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }

  // True when the row is new (false: an earlier, killed run already stored this uuid).
  bool insert(core::Nucleus& n) {
    if (!insert_nucleus) {
      insert_nucleus = std::make_unique<SQLite::Statement>(
          *db, std::string("INSERT OR IGNORE INTO nuclei (") + kInsertColumns +
                   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
      insert_rtree = std::make_unique<SQLite::Statement>(
          *db, "INSERT INTO nuclei_rtree (id, min_x, max_x, min_y, max_y) VALUES (?,?,?,?,?)");
      find_uuid = std::make_unique<SQLite::Statement>(*db, "SELECT id FROM nuclei WHERE uuid = ?");
    }
    SQLite::Statement& q = *insert_nucleus;
    q.reset();
    const auto& m = n.measurements;
    q.bind(1, n.uuid);
    q.bind(2, static_cast<std::int64_t>(n.tile_id));
    q.bind(3, n.class_name);
    q.bind(4, static_cast<double>(n.score));
    q.bind(5, core::to_string(n.state));
    q.bind(6, n.centroid.x);
    q.bind(7, n.centroid.y);
    q.bind(8, n.bbox.x0);
    q.bind(9, n.bbox.y0);
    q.bind(10, n.bbox.x1);
    q.bind(11, n.bbox.y1);
    q.bind(12, m.area_um2);
    q.bind(13, m.perimeter_um);
    q.bind(14, m.circularity);
    q.bind(15, m.solidity);
    q.bind(16, m.eccentricity);
    q.bind(17, m.major_axis_um);
    q.bind(18, m.minor_axis_um);
    q.bind(19, m.hematoxylin_od);
    q.bind(20, m.eosin_od);
    const std::string blob = encode_polygon(n.polygon);
    q.bind(21, blob.data(), static_cast<int>(blob.size()));
    if (q.exec() == 0) {  // already stored by an earlier (killed) run: keep that row
      SQLite::Statement& f = *find_uuid;
      f.reset();
      f.bind(1, n.uuid);
      if (f.executeStep()) n.id = f.getColumn(0).getInt64();
      f.reset();
      return false;
    }
    n.id = db->getLastInsertRowid();
    SQLite::Statement& r = *insert_rtree;
    r.reset();
    r.bind(1, static_cast<std::int64_t>(n.id));
    r.bind(2, n.bbox.x0);
    r.bind(3, n.bbox.x1);
    r.bind(4, n.bbox.y0);
    r.bind(5, n.bbox.y1);
    r.exec();
    return true;
  }

  void log_edit(std::int64_t id, const std::string& action, const std::string& before, const std::string& after,
                const std::string& user) {
    SQLite::Statement q(*db, "INSERT INTO edits (nucleus_id, action, before, after, user, at) VALUES (?,?,?,?,?,?)");
    q.bind(1, static_cast<std::int64_t>(id));
    q.bind(2, action);
    q.bind(3, before);
    q.bind(4, after);
    q.bind(5, user);
    q.bind(6, core::utc_timestamp());
    q.exec();
  }

  // One reviewed field changed and logged with its previous value, in one transaction.
  void update_column(std::int64_t id, const char* column, const std::string& value, const std::string& user) {
    in_transaction("cannot save review edit", [&] {
      const std::string before = column_of(id, column);
      SQLite::Statement q(*db, std::string("UPDATE nuclei SET ") + column + " = ? WHERE id = ?");
      q.bind(1, value);
      q.bind(2, static_cast<std::int64_t>(id));
      q.exec();
      log_edit(id, column, before, value, user);
    });
  }

  std::string column_of(std::int64_t id, const char* column) const {
    SQLite::Statement q(*db, std::string("SELECT ") + column + " FROM nuclei WHERE id = ?");
    q.bind(1, static_cast<std::int64_t>(id));
    if (!q.executeStep())
      throw core::InvalidArgument(path.string() + ": no nucleus with id " + std::to_string(id));
    return q.getColumn(0).getString();
  }
};

ResultStore::ResultStore(const fs::path& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  try {
    impl_->db = std::make_unique<SQLite::Database>(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    impl_->db->setBusyTimeout(5000);
    impl_->db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    SQLite::Transaction tx(*impl_->db);
    impl_->db->exec(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS tiles (id INTEGER PRIMARY KEY, finished_at TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS nuclei (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, tile_id INTEGER, "
        " class TEXT NOT NULL, score REAL, state TEXT NOT NULL, cx REAL, cy REAL, x0 REAL, y0 REAL, x1 REAL, y1 REAL, "
        " area_um2 REAL, perimeter_um REAL, circularity REAL, solidity REAL, eccentricity REAL, major_um REAL, "
        " minor_um REAL, h_od REAL, e_od REAL, geometry BLOB NOT NULL);"
        "CREATE VIRTUAL TABLE IF NOT EXISTS nuclei_rtree USING rtree(id, min_x, max_x, min_y, max_y);"
        "CREATE TABLE IF NOT EXISTS edits (id INTEGER PRIMARY KEY, nucleus_id INTEGER NOT NULL, action TEXT NOT NULL, "
        " before TEXT, after TEXT, user TEXT, at TEXT NOT NULL);");
    SQLite::Statement v(*impl_->db, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (v.executeStep()) {
      const int version = std::stoi(v.getColumn(0).getString());
      if (version != kStoreSchemaVersion)
        throw core::InvalidArgument(path.string() + ": results store schema version " + std::to_string(version) +
                                    ", this Karyon reads version " + std::to_string(kStoreSchemaVersion));
    } else {
      SQLite::Statement s(*impl_->db, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)");
      s.bind(1, std::to_string(kStoreSchemaVersion));
      s.exec();
    }
    tx.commit();
  } catch (const core::Error&) {
    throw;
  } catch (const std::exception& e) {
    impl_->fail("cannot open results store", e);
  }
}

ResultStore::~ResultStore() = default;
ResultStore::ResultStore(ResultStore&&) noexcept = default;
ResultStore& ResultStore::operator=(ResultStore&&) noexcept = default;

const fs::path& ResultStore::path() const { return impl_->path; }

void ResultStore::set_meta(const std::string& key, const std::string& value) {
  try {
    SQLite::Statement q(*impl_->db, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    q.bind(1, key);
    q.bind(2, value);
    q.exec();
  } catch (const std::exception& e) {
    impl_->fail("cannot write metadata (disk full or read-only?)", e);
  }
}

std::optional<std::string> ResultStore::meta(const std::string& key) const {
  return impl_->reading("cannot read run metadata", [&]() -> std::optional<std::string> {
    SQLite::Statement q(*impl_->db, "SELECT value FROM meta WHERE key = ?");
    q.bind(1, key);
    if (!q.executeStep()) return std::nullopt;
    return q.getColumn(0).getString();
  });
}

// Kept as one JSON list in the meta table: a handful of records per slide at most, read once per export.
void ResultStore::add_damaged_tile(const DamagedTile& tile) {
  std::map<std::int64_t, DamagedTile> by_id;
  for (auto& t : damaged_tiles()) by_id[t.tile_id] = std::move(t);
  by_id[tile.tile_id] = tile;
  nlohmann::json list = nlohmann::json::array();
  auto rect = [](const core::Level0Rect& r) { return nlohmann::json::array({r.x, r.y, r.width, r.height}); };
  for (const auto& [id, t] : by_id) {
    nlohmann::json holes = nlohmann::json::array();
    for (const auto& h : t.left_out_areas) holes.push_back(rect(h));
    list.push_back({{"tile", id}, {"area", rect(t.area)}, {"problem", t.problem}, {"read_level", t.read_level},
                    {"left_out", holes}});
  }
  set_meta("damaged_tiles", list.dump());
}

std::vector<DamagedTile> ResultStore::damaged_tiles() const {
  std::vector<DamagedTile> out;
  const auto saved = meta("damaged_tiles");
  if (!saved) return out;
  try {
    for (const auto& j : nlohmann::json::parse(*saved)) {
      DamagedTile t;
      t.tile_id = j.at("tile").get<std::int64_t>();
      auto rect = [](const nlohmann::json& a) {
        return core::Level0Rect{a.at(0).get<std::int64_t>(), a.at(1).get<std::int64_t>(),
                                a.at(2).get<std::int64_t>(), a.at(3).get<std::int64_t>()};
      };
      t.area = rect(j.at("area"));
      for (const auto& h : j.at("left_out")) t.left_out_areas.push_back(rect(h));
      t.problem = j.at("problem").get<std::string>();
      t.read_level = j.at("read_level").get<int>();
      out.push_back(std::move(t));
    }
  } catch (const nlohmann::json::exception& e) {
    throw core::OutputError(path().string() + ": damaged-tile records are unreadable: " + e.what());
  }
  return out;
}

std::int64_t ResultStore::commit(std::vector<core::Nucleus>& nuclei, const std::vector<std::int64_t>& final_tiles) {
  return impl_->in_transaction("cannot store results (disk full or read-only?)", [&] {
    std::int64_t inserted = 0;
    for (auto& n : nuclei) inserted += impl_->insert(n);
    const std::string at = core::utc_timestamp();
    for (const auto t : final_tiles) {
      SQLite::Statement q(*impl_->db, "INSERT OR REPLACE INTO tiles (id, finished_at) VALUES (?, ?)");
      q.bind(1, static_cast<std::int64_t>(t));
      q.bind(2, at);
      q.exec();
    }
    return inserted;
  });
}

std::set<std::int64_t> ResultStore::final_tiles() const {
  return impl_->reading("cannot read the tile journal", [&] {
    std::set<std::int64_t> out;
    SQLite::Statement q(*impl_->db, "SELECT id FROM tiles");
    while (q.executeStep()) out.insert(q.getColumn(0).getInt64());
    return out;
  });
}

std::int64_t ResultStore::count(bool include_removed) const {
  return impl_->reading("cannot count nuclei", [&] {
    SQLite::Statement q(*impl_->db, include_removed ? "SELECT COUNT(*) FROM nuclei"
                                                    : "SELECT COUNT(*) FROM nuclei WHERE state NOT IN ('rejected','deleted')");
    q.executeStep();
    return q.getColumn(0).getInt64();
  });
}

std::optional<core::Nucleus> ResultStore::get(std::int64_t id) const {
  return impl_->reading("cannot read a nucleus", [&]() -> std::optional<core::Nucleus> {
    SQLite::Statement q(*impl_->db, std::string("SELECT ") + kNucleusColumns + " FROM nuclei n WHERE n.id = ?");
    q.bind(1, static_cast<std::int64_t>(id));
    if (!q.executeStep()) return std::nullopt;
    return read_nucleus(q);
  });
}

std::vector<core::Nucleus> ResultStore::query(const core::BoundingBox& r, std::size_t limit, bool include_removed) const {
  const std::string sql =
      std::string("SELECT ") + kNucleusColumns +
      " FROM nuclei_rtree t JOIN nuclei n ON n.id = t.id WHERE t.max_x >= ? AND t.min_x <= ? AND t.max_y >= ? AND "
      "t.min_y <= ?" +
      (include_removed ? "" : " AND n.state NOT IN ('rejected','deleted')") + " ORDER BY n.id LIMIT ?";
  return impl_->reading("cannot read nuclei", [&] {
    SQLite::Statement q(*impl_->db, sql);
    q.bind(1, r.x0);
    q.bind(2, r.x1);
    q.bind(3, r.y0);
    q.bind(4, r.y1);
    q.bind(5, static_cast<std::int64_t>(limit));
    std::vector<core::Nucleus> out;
    while (q.executeStep()) out.push_back(read_nucleus(q));
    return out;
  });
}

void ResultStore::for_each(const std::function<void(const core::Nucleus&)>& fn, bool include_removed) const {
  impl_->reading("cannot read nuclei", [&] {
    SQLite::Statement q(*impl_->db, std::string("SELECT ") + kNucleusColumns + " FROM nuclei n" +
                                        (include_removed ? "" : " WHERE n.state NOT IN ('rejected','deleted')") +
                                        " ORDER BY n.tile_id, n.uuid");
    while (q.executeStep()) fn(read_nucleus(q));  // by tile then uuid: exports do not depend on completion order
  });
}

void ResultStore::set_state(std::int64_t id, core::ReviewState state, const std::string& user) {
  impl_->update_column(id, "state", core::to_string(state), user);
}

void ResultStore::set_class(std::int64_t id, const std::string& class_name, const std::string& user) {
  impl_->update_column(id, "class", class_name, user);
}

void ResultStore::set_polygon(std::int64_t id, const core::Nucleus& n, const std::string& user) {
  impl_->in_transaction("cannot save review edit", [&] {
    impl_->column_of(id, "id");  // throws for an unknown id
    SQLite::Statement q(*impl_->db,
                        "UPDATE nuclei SET geometry = ?, cx = ?, cy = ?, x0 = ?, y0 = ?, x1 = ?, y1 = ?, area_um2 = ?, "
                        "perimeter_um = ?, circularity = ?, solidity = ?, eccentricity = ?, major_um = ?, minor_um = ?, "
                        "h_od = ?, e_od = ? WHERE id = ?");
    const std::string blob = encode_polygon(n.polygon);
    q.bind(1, blob.data(), static_cast<int>(blob.size()));
    q.bind(2, n.centroid.x);
    q.bind(3, n.centroid.y);
    q.bind(4, n.bbox.x0);
    q.bind(5, n.bbox.y0);
    q.bind(6, n.bbox.x1);
    q.bind(7, n.bbox.y1);
    q.bind(8, n.measurements.area_um2);
    q.bind(9, n.measurements.perimeter_um);
    // Every measurement of the new outline, not only area and perimeter (the rest went stale).
    q.bind(10, n.measurements.circularity);
    q.bind(11, n.measurements.solidity);
    q.bind(12, n.measurements.eccentricity);
    q.bind(13, n.measurements.major_axis_um);
    q.bind(14, n.measurements.minor_axis_um);
    q.bind(15, n.measurements.hematoxylin_od);
    q.bind(16, n.measurements.eosin_od);
    q.bind(17, static_cast<std::int64_t>(id));
    q.exec();
    SQLite::Statement r(*impl_->db, "UPDATE nuclei_rtree SET min_x = ?, max_x = ?, min_y = ?, max_y = ? WHERE id = ?");
    r.bind(1, n.bbox.x0);
    r.bind(2, n.bbox.x1);
    r.bind(3, n.bbox.y0);
    r.bind(4, n.bbox.y1);
    r.bind(5, static_cast<std::int64_t>(id));
    r.exec();
    impl_->log_edit(id, "polygon", "", std::to_string(n.polygon.outer.size()) + " points", user);
  });
}

std::int64_t ResultStore::add_drawn(core::Nucleus n, const std::string& user) {
  return impl_->in_transaction("cannot save drawn nucleus", [&] {
    n.state = core::ReviewState::Drawn;
    n.tile_id = -1;
    impl_->insert(n);
    impl_->log_edit(n.id, "draw", "", n.uuid, user);
    return n.id;
  });
}

std::vector<ReviewEdit> ResultStore::edits() const {
  return impl_->reading("cannot read the review log", [&] {
    std::vector<ReviewEdit> out;
    SQLite::Statement q(*impl_->db, "SELECT id, nucleus_id, action, before, after, user, at FROM edits ORDER BY id");
    while (q.executeStep())
      out.push_back({q.getColumn(0).getInt64(), q.getColumn(1).getInt64(), q.getColumn(2).getString(),
                     q.getColumn(3).getString(), q.getColumn(4).getString(), q.getColumn(5).getString(),
                     q.getColumn(6).getString()});
    return out;
  });
}

}  // namespace karyon::postprocess
