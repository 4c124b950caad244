// karyon-cli synth OUT.tiff: a synthetic H&E-like pyramidal slide plus its ground-truth GeoJSON.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"
#include "karyon/tiling/synthetic_slide.hpp"

namespace karyon::cli {

void register_synth_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write a synthetic H&E-like pyramidal TIFF with known nuclei + ground-truth GeoJSON");
  struct Args {
    std::string out, truth;
    tiling::SynthOptions o;
    int plan_tile = 0, plan_overlap = -1;
    double plan_mpp = 0.5;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("output", a->out, "Output TIFF path")->required();
  cmd->add_option("--truth", a->truth, "Ground-truth GeoJSON path (default: OUTPUT with .truth.geojson)");
  cmd->add_option("--width", a->o.width, "Level-0 width in px")->capture_default_str();
  cmd->add_option("--height", a->o.height, "Level-0 height in px")->capture_default_str();
  cmd->add_option("--mpp", a->o.mpp, "µm per level-0 pixel")->capture_default_str();
  cmd->add_option("--seed", a->o.seed, "Scene seed")->capture_default_str();
  cmd->add_option("--level-factor", a->o.level_factor, "Downsample between pyramid levels")->capture_default_str();
  cmd->add_option("--jpeg-quality", a->o.jpeg_quality, "JPEG quality of the tiles")->capture_default_str();
  cmd->add_option("--density", a->o.nucleus_density, "Probability that a 32 µm tissue cell holds a nucleus")->capture_default_str();
  cmd->add_option("--border-tile-size", a->plan_tile, "Also place nuclei on the tile/core borders of this tile plan (analysis px)");
  cmd->add_option("--border-overlap", a->plan_overlap, "Overlap of that tile plan (analysis px; default: Karyon's default)");
  cmd->add_option("--border-mpp", a->plan_mpp, "Analysis µm/px of that tile plan")->capture_default_str();
  cmd->callback([a] {
    if (a->truth.empty()) a->truth = std::filesystem::path(a->out).replace_extension(".truth.geojson").string();
    if (a->plan_tile > 0)
      a->o.border_plan = tiling::BorderPlanGeometry{
          a->plan_tile, a->plan_overlap >= 0 ? a->plan_overlap : tiling::default_overlap(a->plan_mpp), a->plan_mpp};
    const auto r = tiling::write_synthetic_slide(a->out, a->truth, a->o, progress_bar());
    std::cout << "wrote " << a->out << " (" << a->o.width << " x " << a->o.height << " px, " << r.levels
              << " levels, " << a->o.mpp << " µm/px)\n"
              << "wrote " << a->truth << " (" << r.nuclei << " nuclei, " << r.border_nuclei << " on tile borders)\n";
  });
}

}  // namespace karyon::cli
