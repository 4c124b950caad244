#pragma once
// Each karyon-cli subcommand lives in its own file and registers itself here.
#include <CLI/CLI.hpp>

namespace karyon::cli {

void register_info_command(CLI::App& app);
void register_synth_command(CLI::App& app);
void register_plan_command(CLI::App& app);
void register_demo_command(CLI::App& app);
#ifdef KARYON_HAVE_INFERENCE
void register_detect_command(CLI::App& app);
void register_analyze_command(CLI::App& app);
void register_batch_command(CLI::App& app);
#endif

}  // namespace karyon::cli
