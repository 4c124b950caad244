#pragma once
// Private to tiling/: is a TIFF-based file (SVS, generic tiled TIFF, ...) cut short or damaged? A slide cut
// at 90-99 % still has readable first directories and would open as something else (a plain image
// without µm/px, say), so the cut is looked for before any backend sees the file.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace karyon::tiling {

// nullopt for files that are not TIFF or are intact; otherwise what is wrong (an unreadable directory,
// strip or tile data beyond the end of the file's `file_size` bytes).
std::optional<std::string> tiff_damage(const std::filesystem::path& path, std::uintmax_t file_size);

}  // namespace karyon::tiling
