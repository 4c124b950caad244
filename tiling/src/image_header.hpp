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

// Whether the file starts with the signature of a plain-image format Karyon reads: PNG, JPEG, TIFF (classic
// or BigTIFF). OpenCV decodes many more (DICOM through GDCM, Radiance HDR, PFM, PxM, Sun raster, ...), whose
// decoders trust sizes in the file (a 1 KB "DICM" file asks GDCM for 3 GB): those are never handed to it.
bool has_plain_image_signature(const std::filesystem::path& path);

}  // namespace karyon::tiling
