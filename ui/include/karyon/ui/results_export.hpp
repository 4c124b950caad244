#pragma once
// One export of File > Export (GeoJSON, CSV, or the heatmap as PNG or JSON grid), as it runs on a
// worker thread: its own store connection, so millions of nuclei stream out while the reviewer
// keeps working. Nothing is thrown: a failure is the outcome's error.
#include <QString>
#include <cstdint>
#include <filesystem>

#include "karyon/postprocess/geojson.hpp"

namespace karyon::ui {

struct ExportOutcome {
  qint64 count = 0;            // nuclei written, or heatmap cells
  qint64 rejectedLeftOut = 0;  // GeoJSON/CSV without rejected nuclei: how many were left out
  QString error;
};

// kind: "geojson", "csv" or "heatmap" (a PNG, or a JSON grid when `target` ends in .json). The
// heatmap needs the slide's level-0 size (> 0) and µm/px.
ExportOutcome runExport(const std::filesystem::path& store, const QString& kind, const std::filesystem::path& target,
                        std::int64_t slideWidth, std::int64_t slideHeight, double mppX, double mppY,
                        const postprocess::ExportOptions& options);

}  // namespace karyon::ui
