// karyon-bench-export [N]: fills a results store with N nuclei (16-vertex polygons on a grid, like a
// dense slide) and times the streamed GeoJSON (plain and .gz) and CSV exports. Prints JSON.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numbers>

#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/result_store.hpp"

using namespace karyon;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  const fs::path dir = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "karyon-bench-export";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto seconds_since = [](auto t0) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  nlohmann::json out;
  out["nuclei"] = n;
  try {
    postprocess::ResultStore store(dir / "results.sqlite");
    auto t0 = std::chrono::steady_clock::now();
    const std::int64_t per_row = 1000;
    std::vector<core::Nucleus> batch;
    for (std::int64_t i = 0; i < n; ++i) {
      core::Nucleus nu;
      nu.uuid = std::to_string(i);
      nu.tile_id = i / 1000;
      const double cx = 30.0 * (i % per_row) + 15, cy = 30.0 * (i / per_row) + 15;
      for (int k = 0; k < 16; ++k) {
        const double t = 2 * std::numbers::pi * k / 16;
        nu.polygon.outer.push_back({cx + 9 * std::cos(t), cy + 6 * std::sin(t)});
      }
      nu.bbox = {cx - 9, cy - 6, cx + 9, cy + 6};
      nu.centroid = {cx, cy};
      nu.score = 0.9f;
      nu.measurements.area_um2 = 10.6;
      batch.push_back(std::move(nu));
      if (batch.size() == 10000 || i + 1 == n) {
        store.commit(batch, {});
        batch.clear();
      }
    }
    out["fill_seconds"] = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    postprocess::export_geojson(store, dir / "nuclei.geojson");
    out["geojson_seconds"] = seconds_since(t0);
    out["geojson_mb"] = fs::file_size(dir / "nuclei.geojson") / 1e6;
    t0 = std::chrono::steady_clock::now();
    postprocess::export_geojson(store, dir / "nuclei.geojson.gz");
    out["geojson_gz_seconds"] = seconds_since(t0);
    out["geojson_gz_mb"] = fs::file_size(dir / "nuclei.geojson.gz") / 1e6;
    t0 = std::chrono::steady_clock::now();
    postprocess::export_csv(store, dir / "nuclei.csv");
    out["csv_seconds"] = seconds_since(t0);
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    out["peak_rss_mb"] = ru.ru_maxrss / 1024.0;
  } catch (const std::exception& e) {
    std::cerr << "karyon-bench-export: " << e.what() << "\n";
    return 1;
  }
  std::cout << out.dump() << "\n";
  fs::remove_all(dir);
}
