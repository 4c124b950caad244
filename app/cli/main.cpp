// karyon-cli: finds every nucleus in H&E whole-slide images, headless.
#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/core/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Karyon: nucleus detection for H&E whole-slide images (headless)"};
  app.require_subcommand(0, 1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  app.set_version_flag("--version", std::string("karyon-cli ") + karyon::core::version);
  karyon::cli::remember_command_line(argc, argv);

  karyon::cli::register_demo_command(app);
  karyon::cli::register_info_command(app);
  karyon::cli::register_synth_command(app);
  karyon::cli::register_plan_command(app);
  karyon::cli::register_evaluate_command(app);
#ifdef KARYON_HAVE_INFERENCE
  karyon::cli::register_analyze_command(app);
  karyon::cli::register_detect_command(app);
  karyon::cli::register_batch_command(app);
#endif
  app.parse_complete_callback([&] { spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info); });

  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
      return 0;
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const karyon::core::Cancelled&) {
    std::cerr << "karyon-cli: cancelled\n";
    return karyon::cli::stopped_exit_code();  // 130 SIGINT, 143 SIGTERM
  } catch (const karyon::core::InvalidArgument& e) {
    std::cerr << "karyon-cli: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "karyon-cli: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
