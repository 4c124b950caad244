// karyon-cli demo: the built-in default job. Makes (once) a synthetic slide with known nuclei, then
// shows what Karyon sees of it: metadata, tissue, tile plan and a picture of both.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "karyon/tiling/synthetic_slide.hpp"

namespace karyon::cli {

void register_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Run Karyon on its built-in synthetic slide (no arguments needed)");
  auto out = std::make_shared<std::string>("karyon-demo");
  cmd->add_option("--out", *out, "Output folder")->capture_default_str();
  cmd->callback([out] {
    namespace fs = std::filesystem;
    fs::create_directories(*out);
    const fs::path slide = fs::path(*out) / "synthetic.tiff";
    const fs::path truth = fs::path(*out) / "synthetic.truth.geojson";
    if (!fs::exists(slide) || !fs::exists(truth)) {
      tiling::SynthOptions o;  // 8192 x 6144 at 0.25 µm/px: a 2 x 1.5 mm tissue section
      o.border_plan = tiling::BorderPlanGeometry{512, tiling::default_overlap(0.5), 0.5};
      const auto r = tiling::write_synthetic_slide(slide, truth, o, progress_bar());
      std::cout << "made the built-in synthetic slide: " << slide.string() << " (" << r.nuclei
                << " known nuclei in " << truth.string() << ")\n\n";
    }
    const auto s = tiling::Slide::open(slide);
    const auto& m = s->metadata();
    std::cout << "slide:       " << m.path.string() << " (" << m.format << ", " << m.width() << " x " << m.height()
              << " px, " << m.levels.size() << " levels, " << *m.mpp_x << " µm/px)\n";
    PlanArgs a;
    a.slide = slide.string();
    a.thumbnail = (fs::path(*out) / "plan.png").string();
    print_plan(run_plan(a));
    std::cout << "\nNucleus detection on this plan arrives with the inference engine and the default model.\n";
  });
}

}  // namespace karyon::cli
