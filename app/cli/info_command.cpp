// karyon-cli info SLIDE [--json]: what the slide is, as OpenSlide (or the image fallback) sees it.
#include <iostream>

#include "cli_common.hpp"
#include "commands.hpp"

namespace karyon::cli {

void register_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a slide's metadata (levels, µm/px, objective, vendor)");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("slide", *path, "Slide file (SVS, NDPI, MRXS, SCN, TIFF, PNG, JPEG, ...)")->required();
  cmd->add_flag("--json", *as_json, "Machine-readable output");
  cmd->callback([=] {
    const auto slide = tiling::Slide::open(*path);
    const auto& m = slide->metadata();
    if (*as_json) {
      std::cout << metadata_json(m).dump(2) << "\n";
      return;
    }
    std::cout << "slide:       " << m.path.string() << "\n"
              << "format:      " << m.format << "\n"
              << "dimensions:  " << m.width() << " x " << m.height() << " px (level 0)\n";
    if (m.mpp_x)
      std::cout << "µm/px:       " << *m.mpp_x << " x " << *m.mpp_y << "  (from " << m.mpp_source << ")\n";
    else
      std::cout << "µm/px:       unknown (analysis will need --mpp)\n";
    std::cout << "objective:   " << (m.objective_power ? std::to_string(*m.objective_power) + "x" : "unknown") << "\n"
              << "levels:      " << m.levels.size() << "\n";
    for (std::size_t i = 0; i < m.levels.size(); ++i)
      std::cout << "  level " << i << ": " << m.levels[i].width << " x " << m.levels[i].height << "  downsample "
                << m.levels[i].downsample << "\n";
    std::cout << "associated:  ";
    for (const auto& a : m.associated_images) std::cout << a << " ";
    std::cout << (m.associated_images.empty() ? "none\n" : "\n");
  });
}

}  // namespace karyon::cli
