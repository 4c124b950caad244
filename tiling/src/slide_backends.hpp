#pragma once
// Private to tiling/: the concrete Slide backends. Each converts its library's failures into
// SlideError in one place.
#include <filesystem>
#include <memory>
#include <optional>

#include "karyon/tiling/slide.hpp"

namespace karyon::tiling {

std::unique_ptr<Slide> open_with_openslide(const std::filesystem::path& path);
std::unique_ptr<Slide> open_plain_image(const std::filesystem::path& path);

// µm/px from TIFF resolution tags: `x_resolution` pixels per `unit` ("centimeter" or "inch").
// Empty when the unit is absent/"none" or the value is not positive.
std::optional<double> mpp_from_tiff_resolution(double x_resolution, const std::string& unit);

}  // namespace karyon::tiling
