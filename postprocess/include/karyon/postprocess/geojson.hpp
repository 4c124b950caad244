#pragma once
// GeoJSON as QuPath reads and writes it (see DESIGN.md): a FeatureCollection, one Feature per nucleus
// with a UUID id, a Polygon (shell then holes) in level-0 pixels, and properties objectType
// "detection", classification {name, color}, measurements (a flat object of numbers).
// CSV of the measurements, one row per nucleus.
//
// Review results are visible in QuPath itself (review_labels.hpp has the convention): the
// classification is "<class>" for unreviewed detections and QuPath's derived class
// "<class>: Accepted" / "<class>: Rejected" / "<class>: Drawn" for reviewed ones, coloured as the
// app colours the state; a reclassified nucleus also has the Feature "name" "Reclassified from
// <old class>" and the measurement "Reclassified" 1 (0 for every other nucleus). properties.karyon
// keeps Karyon's own state name, tile and original class. Deleted nuclei are never exported;
// rejected ones only with ExportOptions::include_rejected.
//
// Export streams from the store (millions of nuclei in constant memory), gzips when the path ends in
// ".gz", and writes to PATH.partial first, renamed at the end: a failed export never leaves a
// truncated file under the final name. Errors: core::OutputError (disk full, read-only), with the path.
// Import reads ours and QuPath's (FeatureCollection, Feature arrays, Polygon/MultiPolygon);
// malformed input throws core::InvalidArgument naming the file and what is wrong.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "karyon/core/nucleus.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::postprocess {

struct ExportOptions {
  bool include_rejected = false;  // rejected nuclei are left out unless asked for
};
// Both return how many nuclei were written.
std::int64_t export_geojson(const ResultStore& store, const std::filesystem::path& path, const ExportOptions& options = {});
std::int64_t export_csv(const ResultStore& store, const std::filesystem::path& path, const ExportOptions& options = {});

// Nuclei from a GeoJSON file (plain or .gz). `mpp` (µm per level-0 pixel) fills area/perimeter when
// the file carries no measurements; 0 leaves them at 0. A classification written by export_geojson
// ("Nucleus: Accepted") is read back as its class ("Nucleus") and state (accepted); any other
// name, derived classes such as QuPath's "Tumor: Positive" included, is the class as it stands.
std::vector<core::Nucleus> read_geojson(const std::filesystem::path& path, double mpp = 0);

// Adds one nucleus read from a file to the store as drawn/imported (review state "drawn" keeps it apart
// from detections); one a reviewer rejected (an export that kept them) stays rejected. Returns its id.
std::int64_t add_imported(ResultStore& store, core::Nucleus nucleus, const std::string& user);

// Adds read_geojson(path) to the store with add_imported; returns how many.
std::int64_t import_geojson(ResultStore& store, const std::filesystem::path& path, double mpp, const std::string& user);

// Bounding box and vertex centroid from the outer ring, for nuclei read from files.
void set_bounds_and_centroid(core::Nucleus& n);

// Polygon area and perimeter in level-0 pixels (holes subtracted / added).
double polygon_area(const core::Polygon& p);
double polygon_perimeter(const core::Polygon& p);

}  // namespace karyon::postprocess
