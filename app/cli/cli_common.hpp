#pragma once
// Helpers shared by karyon-cli subcommands: progress bar, metadata as JSON, region parsing, stopping on
// signals, the command line for a resume hint.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "karyon/core/geometry.hpp"
#include "karyon/core/progress.hpp"
#include "karyon/postprocess/evaluation.hpp"
#include "karyon/tiling/slide.hpp"
#include "karyon/tiling/tile_plan.hpp"

namespace karyon::cli {

// Ctrl-C and SIGTERM ask the running job to stop cleanly through stop_token() (a second Ctrl-C kills at
// once). stopped_exit_code() is then 128 + that signal: 130 for SIGINT, 143 for SIGTERM.
core::CancelToken& stop_token();
void stop_on_signals();
int stopped_exit_code();

// The command line as typed (main() records it), shell-quoted, with `extra` appended unless present.
void remember_command_line(int argc, char** argv);
std::string command_line_with(const std::string& extra);

// The one progress display of karyon-cli, on stderr: a bar redrawn in place on a terminal; elsewhere (logs,
// Slurm) one line per 1/log_steps of the work and whenever the label changes, so logs stay short.
class ProgressLine {
 public:
  explicit ProgressLine(int log_steps = 10);
  // `detail`: what else is worth knowing ("nuclei 120  3.1 tiles/s  ETA 40s").
  void show(const std::string& label, long long done, long long total, const std::string& detail);
  void restart() { last_step_ = -1; }  // the next show() prints a line even off a terminal

 private:
  bool tty_;
  int log_steps_;
  int last_step_ = -1;
  std::string last_label_;
};

// A ProgressLine for core::ProgressUpdate (stage, done, total), with the time left.
core::ProgressCallback progress_bar();

nlohmann::json metadata_json(const tiling::SlideMetadata& m);
nlohmann::json plan_json(const tiling::TilePlan& plan, const tiling::TissueMask* tissue);

// "x,y,w,h" in level-0 pixels; throws InvalidArgument.
core::Level0Rect parse_region(const std::string& text);

// Thumbnail with the tissue mask tinted and the planned tiles' cores outlined, written as PNG.
void write_plan_thumbnail(const tiling::Slide& slide, const tiling::TissueMask& tissue, const tiling::TilePlan& plan,
                          const std::string& png_path);

// `plan` and `demo`: open a slide, detect tissue, plan tiles, optionally draw them.
struct PlanArgs {
  std::string slide, thumbnail;
  double target_mpp = 0.5;
  std::optional<double> mpp;
  std::optional<std::string> region;
  int tile_size = 512;
  int overlap = -1;
  bool json = false;
};
nlohmann::json run_plan(const PlanArgs& a);
void print_plan(const nlohmann::json& plan);

// `evaluate` and `demo`: accuracy against ground truth, printed for people.
void print_evaluation(const postprocess::EvaluationResult& r);

}  // namespace karyon::cli
