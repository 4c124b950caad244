#pragma once
// Nucleus annotations in the formats users actually have, as polygons in image (level-0) pixels:
//   *.geojson / *.json (QuPath or Karyon), *.xml (Aperio ImageScope), an instance label map (*.png /
//   *.tif: grey, 8 or 16 bit, 0 = background, each other value one nucleus; or colour, black =
//   background, each other colour one nucleus), or a folder of one binary PNG mask per nucleus (Data
//   Science Bowl 2018 layout: the folder itself or its masks/ subfolder; every PNG must be black and white).
// Errors: core::InvalidArgument naming the file and what is wrong with it (with line and vertex for XML):
// a missing, non-regular (FIFO, device) or unreadable path, a Karyon output folder given as a mask folder,
// a coordinate that is missing, not a number or beyond ±core::kMaxCoordinate.
#include <filesystem>
#include <vector>

#include "karyon/core/nucleus.hpp"

namespace karyon::postprocess {

std::vector<core::Nucleus> read_annotations(const std::filesystem::path& path);

std::vector<core::Nucleus> read_imagescope_xml(const std::filesystem::path& path);
std::vector<core::Nucleus> read_label_map(const std::filesystem::path& path);
std::vector<core::Nucleus> read_mask_folder(const std::filesystem::path& folder);

}  // namespace karyon::postprocess
