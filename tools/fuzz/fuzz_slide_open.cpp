// libFuzzer target: tiling::Slide::open on small files (OpenSlide formats detected by content: Aperio SVS,
// generic tiled TIFF, Philips, Ventana, Leica, Trestle; and the plain-image fallback: PNG, JPEG, strip TIFF),
// then one small read_region at the coarsest level and one at level 0, as `karyon-cli info` / `plan` do.
// Plain images are decoded whole on the first read, so those reads are only made for images of at most
// 2^22 px ("small inputs": a 2^30 px header is refused at open, below that the whole decode is the design).
#include <algorithm>

#include "fuzz_support.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/core/image.hpp"
#include "karyon/tiling/slide.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = karyon::fuzz::input_file("input.svs", data, size);
  try {
    const auto slide = karyon::tiling::Slide::open(path);
    const auto& m = slide->metadata();
    if (m.format == "image" && m.width() * m.height() > (std::int64_t{1} << 22)) return 0;
    karyon::core::RgbImage out;
    const int top = static_cast<int>(m.levels.size()) - 1;
    const auto& l = m.levels[static_cast<std::size_t>(top)];
    slide->read_region(top, 0, 0, static_cast<int>(std::min<std::int64_t>(l.width, 64)),
                       static_cast<int>(std::min<std::int64_t>(l.height, 64)), out);
    slide->read_region(0, m.width() / 2, m.height() / 2, 32, 32, out);
    (void)slide->best_level_for_downsample(4.0);
  } catch (const karyon::core::Error&) {
  }
  return 0;
}
