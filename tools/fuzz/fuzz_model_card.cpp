// libFuzzer target: inference::read_model_card (the JSON card next to the weights), then what Model::load
// computes from an accepted card before it opens the weights: the expected tensor names and shapes, anchors
// per location and the per-area top-n counts. std-only (no LibTorch).
#include "fuzz_support.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/inference/model_card.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = karyon::fuzz::input_file("model.json", data, size);
  try {
    const auto card = karyon::inference::read_model_card(path.string());
    const auto& a = card.architecture;
    long long numel = 0;
    for (const auto& p : karyon::inference::expected_parameters(a))
      for (long long d : p.shape) numel += d;
    (void)numel;
    (void)a.anchors_per_location();
    (void)a.top_n_for(a.rpn_pre_nms_top_n, 512LL * 512);
    (void)a.top_n_for(card.thresholds.detections_per_img, 0);
  } catch (const karyon::core::Error&) {
  }
  return 0;
}
