// karyon-cli demo: the built-in default job. Makes (once) a synthetic slide with known nuclei, then
// shows what Karyon sees of it: metadata, tissue, tile plan and a picture of both.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/core/resources.hpp"
#include "karyon/postprocess/annotations.hpp"
#include "karyon/tiling/synthetic_slide.hpp"
#ifdef KARYON_HAVE_INFERENCE
#include "karyon/pipeline/analyze.hpp"
#endif

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
#ifdef KARYON_HAVE_INFERENCE
    // The synthetic slide is analysed with the model trained on synthetic slides (tests and demo
    // only), not the default model for real H&E; KARYON_MODEL overrides.
    pipeline::AnalyzeOptions o;
    o.slide = slide;
    o.out_dir = fs::path(*out) / "analysis";
    o.model = core::shipped_model_card(core::synthetic_test_model_name);
    if (o.model.empty())
      throw core::InvalidArgument("the demo's model (models/" + std::string(core::synthetic_test_model_name) +
                                  ") is not installed next to karyon-cli; set KARYON_MODEL=CARD.json");
    o.resume = fs::exists(o.out_dir / "results.sqlite");  // a second demo run re-uses the first
    std::cout << "\nanalysing with " << o.model.string() << "\n";
    const auto result = pipeline::analyze_slide(o, print_analyze_progress);
    std::cout << "found " << result.nuclei << " nuclei in " << static_cast<int>(result.seconds) << " s: " << result.geojson.string()
              << ", " << result.csv.string() << ", " << result.heatmap_png.string() << ", " << result.summary_json.string() << "\n\n"
              << "against the slide's known nuclei (" << truth.string() << "):\n";
    print_evaluation(postprocess::evaluate(postprocess::read_annotations(truth), postprocess::read_annotations(result.geojson)));
#else
    std::cout << "\n(built without the inference engine: no detection)\n";
#endif
  });
}

}  // namespace karyon::cli
