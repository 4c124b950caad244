// libFuzzer target: postprocess::read_geojson (QuPath / Karyon GeoJSON, plain or gzip) on one file, then the
// geometry helpers every consumer calls on what it returns.
#include <cmath>

#include "fuzz_support.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/postprocess/geojson.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = karyon::fuzz::input_file("input.geojson", data, size);
  try {
    const auto nuclei = karyon::postprocess::read_geojson(path, 0.25);
    double sink = 0;
    for (const auto& n : nuclei)
      sink += karyon::postprocess::polygon_area(n.polygon) + karyon::postprocess::polygon_perimeter(n.polygon) +
              n.centroid.x + n.bbox.x1 + n.measurements.area_um2;
    (void)std::isfinite(sink);
  } catch (const karyon::core::Error&) {
  }
  return 0;
}
