// karyon-cli plan SLIDE: resolution choice, tissue detection and the tile plan, with a picture.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"

namespace karyon::cli {

nlohmann::json run_plan(const PlanArgs& a) {
  const auto slide = tiling::Slide::open(a.slide);
  const auto resolution = tiling::resolve_resolution(*slide, a.target_mpp, a.mpp);
  for (const auto& w : resolution.warnings) spdlog::warn("{}", w);
  const auto tissue = tiling::detect_tissue(*slide);
  tiling::TilePlanOptions options;
  options.tile_size = a.tile_size;
  options.overlap = a.overlap;
  if (a.region) options.region = parse_region(*a.region);
  const auto plan = tiling::plan_tiles(*slide, resolution, &tissue, options);
  if (plan.tiles.empty()) spdlog::warn("{}: no tissue found in the planned area; nothing to analyse", a.slide);
  if (!a.thumbnail.empty()) write_plan_thumbnail(*slide, tissue, plan, a.thumbnail);
  auto j = plan_json(plan, &tissue);
  j["slide"] = a.slide;
  if (!a.thumbnail.empty()) j["thumbnail"] = a.thumbnail;
  return j;
}

void print_plan(const nlohmann::json& j) {
  std::cout << "analysis:    " << j["target_mpp"].get<double>() << " µm/px, read from level " << j["read_level"]
            << " (downsample " << j["read_downsample"].get<double>() << "), slide µm/px from " << j["mpp_source"].get<std::string>()
            << "\n"
            << "tiles:       " << j["tile_size"] << " px, overlap " << j["overlap"] << " px; grid " << j["grid"]["cols"]
            << " x " << j["grid"]["rows"] << " = " << j["grid_tiles"] << ", with tissue " << j["tissue_tiles"] << "\n"
            << "tissue:      " << static_cast<int>(100 * j["tissue_fraction"].get<double>()) << "% of the thumbnail\n";
  if (j.contains("thumbnail")) std::cout << "thumbnail:   " << j["thumbnail"].get<std::string>() << "\n";
}

void register_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "Detect tissue and plan the analysis tiles of a slide");
  auto a = std::make_shared<PlanArgs>();
  cmd->add_option("slide", a->slide, "Slide file")->required();
  cmd->add_option("--target-mpp", a->target_mpp, "Analysis resolution, µm/px (the model's)")->capture_default_str();
  cmd->add_option("--mpp", a->mpp, "Slide µm/px, when the file does not say (or says wrong)");
  cmd->add_option("--tile-size", a->tile_size, "Tile size, analysis px")->capture_default_str();
  cmd->add_option("--overlap", a->overlap, "Tile overlap, analysis px (default: largest nucleus diameter)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--region", a->region, "Only this region: x,y,w,h in level-0 px");
  cmd->add_option("--thumbnail", a->thumbnail, "Write a PNG of the tissue mask and tile grid");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->callback([a] {
    const auto j = run_plan(*a);
    if (a->json) std::cout << j.dump(2) << "\n";
    else print_plan(j);
  });
}

}  // namespace karyon::cli
