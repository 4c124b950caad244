#pragma once
// Private to tiling/: the pixel size of a plain image (PNG, JPEG, TIFF) read from its header, so that
// `info`, `detect` and the size checks never decode a 20000² PNG just to learn that it is 20000².
#include <cstdint>
#include <filesystem>
#include <optional>
#include <utility>

namespace karyon::tiling {

// {width, height}; nullopt for other formats or a header that cannot be parsed (the caller decodes).
std::optional<std::pair<std::int64_t, std::int64_t>> image_size_from_header(const std::filesystem::path& path);

}  // namespace karyon::tiling
