#include "karyon/ui/results_export.hpp"

#include <exception>

#include "karyon/core/errors.hpp"
#include "karyon/postprocess/heatmap.hpp"
#include "karyon/postprocess/nucleus_statistics.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::ui {

ExportOutcome runExport(const std::filesystem::path& store, const QString& kind, const std::filesystem::path& target,
                        std::int64_t width, std::int64_t height, double mx, double my,
                        const postprocess::ExportOptions& options) {
  ExportOutcome o;
  try {
    postprocess::ResultStore s(store);
    if (kind == QLatin1String("geojson") || kind == QLatin1String("csv")) {
      o.count = kind == QLatin1String("csv") ? postprocess::export_csv(s, target, options)
                                             : postprocess::export_geojson(s, target, options);
      // Counted on the same connection as the export, so the two numbers agree.
      if (!options.include_rejected)
        o.rejectedLeftOut = postprocess::count_by_class_and_state(s).per_state[static_cast<int>(core::ReviewState::Rejected)];
    } else {
      if (width <= 0) throw core::InvalidArgument("the heatmap needs the slide open (its size)");
      const auto grid = postprocess::compute_heatmap(s, width, height, mx, my, 100);
      if (target.extension() == ".json")
        postprocess::write_heatmap_json(grid, target);
      else
        postprocess::write_heatmap_png(grid, target);
      o.count = static_cast<qint64>(grid.cols) * grid.rows;
    }
  } catch (const std::exception& e) {
    o.error = QString::fromUtf8(e.what());
  }
  return o;
}

}  // namespace karyon::ui
