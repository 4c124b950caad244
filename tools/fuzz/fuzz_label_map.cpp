// libFuzzer target: postprocess::read_label_map (instance label maps: grey 8/16-bit or colour PNG/TIFF, as
// MoNuSeg's extra labels and CoNSeP store them). The image decoders are OpenCV's (libpng, libtiff); what is
// fuzzed is everything Karyon does with what they return.
#include "fuzz_support.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/postprocess/annotations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The extension only picks the reader in read_annotations(); OpenCV decodes by content.
  const auto path = karyon::fuzz::input_file("input.png", data, size);
  try {
    (void)karyon::postprocess::read_label_map(path);
  } catch (const karyon::core::Error&) {
  }
  return 0;
}
