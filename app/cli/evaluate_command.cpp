// karyon-cli evaluate PREDICTED TRUTH: AJI, PQ (DQ, SQ), F1 at IoU 0.5 and pixel Dice of predicted
// nuclei against ground truth, each in any format read_annotations() knows.
//
// Exit codes: 0 scored; 3 nothing to score (no nuclei in either input: every metric is undefined, so
// none is printed as 0 or 1); 2 an unreadable or invalid input; 1 other errors.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli_common.hpp"
#include "commands.hpp"
#include "karyon/postprocess/annotations.hpp"
#include "karyon/postprocess/evaluation.hpp"

namespace karyon::cli {
namespace {
constexpr int kNothingToScore = 3;
}  // namespace

nlohmann::json evaluation_json(const postprocess::EvaluationResult& r) {
  return {{"truth", r.truth}, {"predicted", r.predicted}, {"matched_iou_0.5", r.matched}, {"precision", r.precision},
          {"recall", r.recall}, {"f1", r.f1}, {"dq", r.dq}, {"sq", r.sq}, {"pq", r.pq}, {"aji", r.aji}, {"dice", r.dice}};
}

void print_evaluation(const postprocess::EvaluationResult& r) {
  std::printf("nuclei:    %lld predicted, %lld in the truth, %lld matched (IoU > 0.5)\n",
              static_cast<long long>(r.predicted), static_cast<long long>(r.truth), static_cast<long long>(r.matched));
  std::printf("F1@0.5:    %.4f  (precision %.4f, recall %.4f)\n", r.f1, r.precision, r.recall);
  std::printf("PQ:        %.4f  (DQ %.4f x SQ %.4f)\n", r.pq, r.dq, r.sq);
  std::printf("AJI:       %.4f\n", r.aji);
  std::printf("Dice:      %.4f\n", r.dice);
}

void register_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "evaluate", "Compare predicted nuclei with ground truth: AJI, PQ, F1@0.5, Dice (GeoJSON, ImageScope XML, "
                  "label maps, mask folders)");
  auto pred = std::make_shared<std::string>();
  auto truth = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("predicted", *pred, "Predicted nuclei (e.g. OUTDIR/nuclei.geojson)")->required();
  cmd->add_option("truth", *truth, "Ground truth")->required();
  cmd->add_flag("--json", *as_json, "Machine-readable output");
  cmd->callback([=] {
    const auto r = postprocess::evaluate(postprocess::read_annotations(*truth), postprocess::read_annotations(*pred));
    if (r.truth == 0 && r.predicted == 0) {
      const std::string why = "no nuclei in either " + *pred + " or " + *truth + ": nothing to score";
      if (*as_json)
        std::cout << nlohmann::json{{"truth", 0}, {"predicted", 0}, {"matched_iou_0.5", 0}, {"note", why}}.dump(2) << "\n";
      std::cerr << "karyon-cli: " << why << "\n";
      throw CLI::RuntimeError(kNothingToScore);
    }
    if (*as_json) std::cout << evaluation_json(r).dump(2) << "\n";
    else print_evaluation(r);
  });
}

}  // namespace karyon::cli
