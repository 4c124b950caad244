// libFuzzer target: postprocess::read_imagescope_xml (Aperio ImageScope annotations, MoNuSeg's truth format).
#include "fuzz_support.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/postprocess/annotations.hpp"
#include "karyon/postprocess/geojson.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = karyon::fuzz::input_file("input.xml", data, size);
  try {
    for (const auto& n : karyon::postprocess::read_imagescope_xml(path))
      (void)karyon::postprocess::polygon_area(n.polygon);
  } catch (const karyon::core::Error&) {
  }
  return 0;
}
