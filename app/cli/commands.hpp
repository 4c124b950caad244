#pragma once
// Each karyon-cli subcommand lives in its own file and registers itself here.
#include <CLI/CLI.hpp>
#include <string>

namespace karyon::cli {

void register_info_command(CLI::App& app);
void register_synth_command(CLI::App& app);
void register_plan_command(CLI::App& app);
void register_demo_command(CLI::App& app);
void register_evaluate_command(CLI::App& app);
#ifdef KARYON_HAVE_INFERENCE
}  // namespace karyon::cli
namespace karyon::pipeline {
struct AnalyzeProgress;
struct AnalyzeOptions;
}
namespace karyon::cli {
// Progress bar of `analyze` (and `demo`): redrawn in place on a terminal, a line per 10% otherwise.
void print_analyze_progress(const pipeline::AnalyzeProgress& p);
std::string analyze_progress_detail(const pipeline::AnalyzeProgress& p);  // "nuclei N  X tiles/s  ETA Ys"
// The options `analyze` and `batch` share (precision, batch, workers, readers, tiling, threshold, heatmap,
// gzip, strict), bound to `o`.
void add_analysis_options(CLI::App* cmd, pipeline::AnalyzeOptions& o);
void register_detect_command(CLI::App& app);
void register_analyze_command(CLI::App& app);
void register_batch_command(CLI::App& app);
#endif

}  // namespace karyon::cli
