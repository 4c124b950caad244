// karyon-bench-reader SLIDE: tiles/s of the reader pool over a whole slide (every grid tile, no
// tissue filter, at the slide's own µm/px so that no resampling is timed), for several thread
// counts, and the process's peak RSS. tools/bench/bench_reader.sh pairs it with openslide-python.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "karyon/tiling/reader_pool.hpp"

using namespace karyon;

int main(int argc, char** argv) {
  CLI::App app{"Reader pool benchmark"};
  std::string path;
  std::vector<int> threads{1, 2};
  int tile_size = 512, overlap = 0;
  std::int64_t max_tiles = 0;
  app.add_option("slide", path)->required();
  app.add_option("--threads", threads, "Thread counts to time")->capture_default_str();
  app.add_option("--tile-size", tile_size)->capture_default_str();
  app.add_option("--overlap", overlap)->capture_default_str();
  app.add_option("--max-tiles", max_tiles, "Stop after this many tiles (0 = all)");
  CLI11_PARSE(app, argc, argv);
  try {
    const auto slide = tiling::Slide::open(path);
    const double mpp = slide->metadata().mpp_x.value_or(1.0);
    const auto resolution = tiling::resolve_resolution(*slide, mpp, mpp);
    tiling::TilePlanOptions o;
    o.tile_size = tile_size;
    o.overlap = overlap;
    o.tissue_only = false;
    auto plan = tiling::plan_tiles(*slide, resolution, nullptr, o);
    if (max_tiles > 0 && static_cast<std::int64_t>(plan.tiles.size()) > max_tiles) plan.tiles.resize(max_tiles);
    nlohmann::json out;
    out["slide"] = path;
    out["tiles"] = plan.tiles.size();
    out["tile_size"] = tile_size;
    for (int n : threads) {
      const auto t0 = std::chrono::steady_clock::now();
      std::uint64_t checksum = 0;
      tiling::ReaderPool pool(*slide, plan, {n, 2 * n});
      while (auto t = pool.next()) checksum += t->image.pixels[t->image.pixels.size() / 2];
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      out["runs"].push_back({{"threads", n}, {"seconds", s}, {"tiles_per_s", plan.tiles.size() / s}, {"checksum", checksum}});
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    out["peak_rss_mb"] = ru.ru_maxrss / 1024.0;
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "karyon-bench-reader: " << e.what() << "\n";
    return 1;
  }
}
