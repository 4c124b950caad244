#pragma once
// Segmentation accuracy of predicted nuclei against ground truth, the metrics of the nucleus
// literature: AJI (Kumar et al. 2017), PQ = DQ x SQ (Kirillov et al.; Graham et al. for nuclei),
// object F1 at IoU 0.5, and pixel Dice. Instances are rasterised locally (level-0 pixel grid), so a
// whole slide's worth of nuclei is evaluated without a slide-sized image.
#include <cstdint>
#include <vector>

#include "karyon/core/nucleus.hpp"

namespace karyon::postprocess {

struct EvaluationResult {
  std::int64_t truth = 0, predicted = 0, matched = 0;  // matched: pairs with IoU > 0.5
  double precision = 0, recall = 0, f1 = 0;
  double dq = 0, sq = 0, pq = 0;
  double aji = 0;
  double dice = 0;
};

EvaluationResult evaluate(const std::vector<core::Nucleus>& truth, const std::vector<core::Nucleus>& predicted);

}  // namespace karyon::postprocess
