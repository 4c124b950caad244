#include "karyon/postprocess/geojson.hpp"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <map>
#include <sstream>

#include "karyon/core/errors.hpp"
#include "karyon/core/csv.hpp"
#include "karyon/core/files.hpp"
#include "karyon/core/uuid.hpp"
#include "karyon/postprocess/nucleus_statistics.hpp"
#include "karyon/postprocess/review_labels.hpp"

namespace karyon::postprocess {
namespace fs = std::filesystem;

namespace {

// Buffered writer to a plain or gzip file, writing PATH.partial and renaming on close().
class OutputFile {
 public:
  explicit OutputFile(const fs::path& path) : path_(path), partial_(core::partial_path(path).string()) {
    gzip_ = path.extension() == ".gz";
    if (gzip_) gz_ = gzopen(partial_.c_str(), "wb1");  // fast: exports are read once, stored long
    else file_ = std::fopen(partial_.c_str(), "wb");
    if (!gz_ && !file_) throw core::OutputError(path.string() + ": cannot create (folder missing or read-only?)");
    buffer_.reserve(1 << 20);
  }
  ~OutputFile() {
    if (gz_ || file_) {  // not closed: an error unwound past us; remove the partial file
      if (gz_) gzclose(gz_);
      if (file_) std::fclose(file_);
      std::error_code ec;
      fs::remove(partial_, ec);
    }
  }
  void put(std::string_view s) {
    buffer_.append(s);
    if (buffer_.size() >= (1 << 20)) flush();
  }
  void put(double v, int precision) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, precision);
    put(std::string_view(buf, r.ptr - buf));
  }
  void put_general(double v) {
    char buf[64];
    if (!std::isfinite(v)) v = 0;
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    put(std::string_view(buf, r.ptr - buf));
  }
  void close() {
    flush();
    bool ok = true;
    if (gz_) ok = gzclose(gz_) == Z_OK;
    if (file_) ok = std::fclose(file_) == 0 && ok;
    gz_ = nullptr;
    file_ = nullptr;
    if (!ok) fail();
    core::replace_with_partial(path_, "export");
  }

 private:
  void flush() {
    if (buffer_.empty()) return;
    bool ok = gz_ ? gzwrite(gz_, buffer_.data(), static_cast<unsigned>(buffer_.size())) == static_cast<int>(buffer_.size())
                  : std::fwrite(buffer_.data(), 1, buffer_.size(), file_) == buffer_.size();
    buffer_.clear();
    if (!ok) fail();
  }
  [[noreturn]] void fail() {
    throw core::OutputError(path_.string() + ": write failed (disk full?)");
  }
  fs::path path_;
  std::string partial_;
  bool gzip_ = false;
  gzFile gz_ = nullptr;
  std::FILE* file_ = nullptr;
  std::string buffer_;
};

std::string json_string(const std::string& s) { return nlohmann::json(s).dump(); }

void put_ring(OutputFile& out, const std::vector<core::Point>& ring) {
  out.put("[");
  for (std::size_t i = 0; i <= ring.size(); ++i) {  // GeoJSON rings are closed: repeat the first point
    const auto& p = ring[i % ring.size()];
    out.put(i ? ",[" : "[");
    out.put(p.x, 2);
    out.put(",");
    out.put(p.y, 2);
    out.put("]");
  }
  out.put("]");
}

std::string colour_json(const Rgb& c) {
  return "[" + std::to_string(c[0]) + "," + std::to_string(c[1]) + "," + std::to_string(c[2]) + "]";
}

// Which nuclei are exported: never deleted ones; rejected ones only when asked.
bool exported(const core::Nucleus& n, const ExportOptions& options) {
  if (n.state == core::ReviewState::Deleted) return false;
  return n.state != core::ReviewState::Rejected || options.include_rejected;
}

// The class each reclassified nucleus had before its first reclassification (review log), for
// those whose class differs from it now. Review edits are made by hand: a map of them is small.
std::map<std::int64_t, std::string> original_classes(const ResultStore& store) {
  std::map<std::int64_t, std::string> first;
  for (const auto& e : store.edits())
    if (e.action == "class") first.emplace(e.nucleus_id, e.before);
  return first;
}

std::string read_all(const fs::path& path) {
  if (const auto problem = core::regular_file_problem(path)) throw core::InvalidArgument(path.string() + ": " + *problem);
  gzFile gz = gzopen(path.c_str(), "rb");  // reads plain files too
  if (!gz) throw core::InvalidArgument(path.string() + ": cannot open");
  std::string data;
  char buf[1 << 16];
  int n;
  while ((n = gzread(gz, buf, sizeof buf)) > 0) data.append(buf, n);
  const bool failed = n < 0;
  gzclose(gz);
  if (failed) throw core::InvalidArgument(path.string() + ": corrupt gzip data");
  return data;
}

std::vector<core::Point> parse_ring(const nlohmann::json& ring, const std::string& where) {
  if (!ring.is_array()) throw std::runtime_error(where + ": a ring is not an array of positions");
  std::vector<core::Point> out;
  for (const auto& p : ring) {
    if (!p.is_array() || p.size() < 2 || !p[0].is_number() || !p[1].is_number())
      throw std::runtime_error(where + ": a position is not [x, y]");
    const core::Point q{p[0].get<double>(), p[1].get<double>()};
    if (!(std::abs(q.x) <= core::kMaxCoordinate && std::abs(q.y) <= core::kMaxCoordinate))
      throw std::runtime_error(where + ": position " + std::to_string(out.size()) + " [" + p[0].dump() + ", " +
                               p[1].dump() + "] is beyond ±1e7 px (larger than any slide)");
    out.push_back(q);
  }
  if (out.size() >= 2 && out.front() == out.back()) out.pop_back();
  if (out.size() < 3) throw std::runtime_error(where + ": a ring has fewer than 3 distinct points");
  return out;
}

core::Polygon parse_polygon(const nlohmann::json& coords, const std::string& where) {
  if (!coords.is_array() || coords.empty()) throw std::runtime_error(where + ": Polygon without rings");
  core::Polygon p;
  p.outer = parse_ring(coords[0], where);
  for (std::size_t i = 1; i < coords.size(); ++i) p.holes.push_back(parse_ring(coords[i], where));
  return p;
}

}  // namespace

void set_bounds_and_centroid(core::Nucleus& n) {
  n.bbox = {1e300, 1e300, -1e300, -1e300};
  double sx = 0, sy = 0;
  for (const auto& p : n.polygon.outer) {
    n.bbox = {std::min(n.bbox.x0, p.x), std::min(n.bbox.y0, p.y), std::max(n.bbox.x1, p.x), std::max(n.bbox.y1, p.y)};
    sx += p.x;
    sy += p.y;
  }
  if (!n.polygon.outer.empty()) n.centroid = {sx / n.polygon.outer.size(), sy / n.polygon.outer.size()};
}

double polygon_area(const core::Polygon& p) {
  auto ring_area = [](const std::vector<core::Point>& r) {
    double a = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const auto& u = r[i];
      const auto& v = r[(i + 1) % r.size()];
      a += u.x * v.y - v.x * u.y;
    }
    return std::abs(a) / 2;
  };
  double a = ring_area(p.outer);
  for (const auto& h : p.holes) a -= ring_area(h);
  return a;
}

double polygon_perimeter(const core::Polygon& p) {
  auto ring_len = [](const std::vector<core::Point>& r) {
    double l = 0;
    for (std::size_t i = 0; i < r.size(); ++i) l += std::hypot(r[(i + 1) % r.size()].x - r[i].x, r[(i + 1) % r.size()].y - r[i].y);
    return l;
  };
  double l = ring_len(p.outer);
  for (const auto& h : p.holes) l += ring_len(h);
  return l;
}

std::int64_t export_geojson(const ResultStore& store, const fs::path& path, const ExportOptions& options) {
  OutputFile out(path);
  const auto originals = original_classes(store);
  out.put("{\"type\":\"FeatureCollection\",\"features\":[");
  std::int64_t n = 0;
  store.for_each(
      [&](const core::Nucleus& nu) {
        if (nu.polygon.outer.size() < 3 || !exported(nu, options)) return;
        const auto original = originals.find(nu.id);
        const bool reclassified = original != originals.end() && original->second != nu.class_name;
        out.put(n++ ? ",\n{\"type\":\"Feature\",\"id\":" : "\n{\"type\":\"Feature\",\"id\":");
        out.put(json_string(nu.uuid));
        out.put(",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[");
        put_ring(out, nu.polygon.outer);
        for (const auto& h : nu.polygon.holes) {
          out.put(",");
          put_ring(out, h);
        }
        out.put("]},\"properties\":{\"objectType\":\"detection\",");
        if (reclassified) out.put("\"name\":" + json_string("Reclassified from " + original->second) + ",");
        out.put("\"classification\":{\"name\":");
        out.put(json_string(qupath_classification(nu.class_name, nu.state)));
        // A derived "<class>: <State>" class shows in QuPath in the app's colour for that state.
        const bool derived = !qupath_state_name(nu.state).empty();
        out.put(",\"color\":" + colour_json(derived ? state_colour(nu.state) : class_colour(nu.class_name)) +
                "},\"measurements\":{");
        for (const auto& [name, member] : measurement_columns()) {
          out.put("\"");
          out.put(name);
          out.put("\":");
          out.put_general(nu.measurements.*member);
          out.put(",");
        }
        out.put("\"Detection probability\":");
        out.put_general(nu.score);
        out.put(reclassified ? ",\"Reclassified\":1" : ",\"Reclassified\":0");
        out.put("},\"karyon\":{\"state\":\"");
        out.put(core::to_string(nu.state));
        out.put("\",\"tile\":" + std::to_string(nu.tile_id));
        if (reclassified) out.put(",\"original_class\":" + json_string(original->second));
        out.put("}}}");
      },
      true);
  out.put("\n]}\n");
  out.close();
  return n;
}

std::int64_t export_csv(const ResultStore& store, const fs::path& path, const ExportOptions& options) {
  OutputFile out(path);
  out.put("id,uuid,class,score,state,centroid_x_px,centroid_y_px");
  for (const auto& [name, member] : measurement_columns()) {
    (void)member;
    out.put(",");
    out.put(core::csv_field(name));
  }
  out.put("\n");
  std::int64_t n = 0;
  store.for_each(
      [&](const core::Nucleus& nu) {
        if (!exported(nu, options)) return;
        ++n;
        out.put(std::to_string(nu.id) + "," + core::csv_field(nu.uuid) + "," + core::csv_field(nu.class_name) + ",");
        out.put_general(nu.score);
        out.put(std::string(",") + core::to_string(nu.state) + ",");
        out.put(nu.centroid.x, 2);
        out.put(",");
        out.put(nu.centroid.y, 2);
        for (const auto& [name, member] : measurement_columns()) {
          (void)name;
          out.put(",");
          out.put_general(nu.measurements.*member);
        }
        out.put("\n");
      },
      true);
  out.close();
  return n;
}

std::vector<core::Nucleus> read_geojson(const fs::path& path, double mpp) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_all(path));
  } catch (const nlohmann::json::exception& e) {
    throw core::InvalidArgument(path.string() + ": not valid JSON: " + e.what());
  }
  const nlohmann::json* features = nullptr;
  nlohmann::json single;
  // Not doc.value("type", ""): it throws nlohmann's type_error when "type" is not a string (found by fuzz_geojson).
  const std::string type =
      doc.is_object() && doc.contains("type") && doc["type"].is_string() ? doc["type"].get<std::string>() : "";
  if (type == "FeatureCollection" && doc.contains("features")) features = &doc["features"];
  else if (doc.is_array()) features = &doc;  // QuPath also writes a bare array of features
  else if (type == "Feature") {
    single = nlohmann::json::array({doc});
    features = &single;
  } else {
    throw core::InvalidArgument(path.string() + ": expected a GeoJSON FeatureCollection, Feature or array of Features");
  }
  if (!features->is_array()) throw core::InvalidArgument(path.string() + ": \"features\" is not an array");

  std::vector<core::Nucleus> out;
  std::size_t index = 0;
  for (const auto& f : *features) {
    const std::string where = path.string() + ": feature " + std::to_string(index++);
    try {
      if (!f.is_object() || !f.contains("geometry") || !f["geometry"].is_object())
        throw std::runtime_error(where + ": no geometry");
      const auto& g = f["geometry"];
      const std::string type = g.value("type", "");
      core::Nucleus n;
      if (type == "Polygon") {
        n.polygon = parse_polygon(g.at("coordinates"), where);
      } else if (type == "MultiPolygon") {  // keep the largest part: a nucleus is one region
        double best = -1;
        for (const auto& part : g.at("coordinates")) {
          auto p = parse_polygon(part, where);
          if (const double a = polygon_area(p); a > best) best = a, n.polygon = std::move(p);
        }
        if (best < 0) throw std::runtime_error(where + ": empty MultiPolygon");
      } else {
        continue;  // points, lines: not nuclei
      }
      n.uuid = f.contains("id") && f["id"].is_string() ? f["id"].get<std::string>() : core::random_uuid();
      const auto props = f.value("properties", nlohmann::json::object());
      if (props.contains("classification") && props["classification"].is_object()) {
        auto parsed = parse_qupath_classification(props["classification"].value("name", "Nucleus"));
        n.class_name = std::move(parsed.class_name);
        if (parsed.state) n.state = *parsed.state;
      }
      if (props.contains("measurements") && props["measurements"].is_object()) {
        const auto& m = props["measurements"];
        for (const auto& [name, member] : measurement_columns())
          if (m.contains(name) && m[name].is_number()) n.measurements.*member = m[name].get<double>();
        if (m.contains("Detection probability") && m["Detection probability"].is_number())
          n.score = m["Detection probability"].get<float>();
      }
      set_bounds_and_centroid(n);
      if (mpp > 0 && n.measurements.area_um2 == 0) {
        n.measurements.area_um2 = polygon_area(n.polygon) * mpp * mpp;
        n.measurements.perimeter_um = polygon_perimeter(n.polygon) * mpp;
      }
      out.push_back(std::move(n));
    } catch (const nlohmann::json::exception& e) {
      throw core::InvalidArgument(where + ": " + e.what());
    } catch (const std::runtime_error& e) {
      throw core::InvalidArgument(e.what());
    }
  }
  return out;
}

std::int64_t add_imported(ResultStore& store, core::Nucleus nucleus, const std::string& user) {
  const bool rejected = nucleus.state == core::ReviewState::Rejected;
  const std::int64_t id = store.add_drawn(std::move(nucleus), user);
  if (rejected) store.set_state(id, core::ReviewState::Rejected, user);
  return id;
}

std::int64_t import_geojson(ResultStore& store, const fs::path& path, double mpp, const std::string& user) {
  auto nuclei = read_geojson(path, mpp);
  for (auto& n : nuclei) add_imported(store, std::move(n), user);
  return static_cast<std::int64_t>(nuclei.size());
}

}  // namespace karyon::postprocess
