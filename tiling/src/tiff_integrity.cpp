#include "tiff_integrity.hpp"

#include <array>
#include <fstream>

#include "tiff_handle.hpp"

namespace karyon::tiling {
namespace fs = std::filesystem;

namespace {

enum class TiffKind { None, Classic, Big };

TiffKind tiff_kind(const fs::path& path) {
  std::array<unsigned char, 4> m{};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(m.data()), m.size())) return TiffKind::None;
  const bool ii = m[0] == 'I' && m[1] == 'I', mm = m[0] == 'M' && m[1] == 'M';
  if (!ii && !mm) return TiffKind::None;
  const int version = ii ? m[2] | (m[3] << 8) : (m[2] << 8) | m[3];
  return version == 42 ? TiffKind::Classic : version == 43 ? TiffKind::Big : TiffKind::None;
}

}  // namespace

std::optional<std::string> tiff_damage(const fs::path& path, std::uintmax_t file_size) {
  const TiffKind kind = tiff_kind(path);
  if (kind == TiffKind::None) return std::nullopt;
  const TiffHandle handle(path.c_str(), "rm");  // no memory map: a cut file must not fault on access
  TIFF* tif = handle.get();
  if (!tif) return "libtiff cannot read its first directory (" + handle.last_error() + ")";
  // NDPI writes files over 4 GiB as classic TIFF with the offsets' high bits elsewhere: offsets cannot be
  // compared with the size there.
  const bool offsets_comparable = kind == TiffKind::Big || file_size <= 0xffffffffULL;
  int dir = 0;
  do {
    const bool tiled = TIFFIsTiled(tif);
    const std::uint32_t n = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    std::uint64_t* offsets = nullptr;
    std::uint64_t* counts = nullptr;
    if (!TIFFGetField(tif, tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &offsets) ||
        !TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &counts) || !offsets || !counts)
      return "directory " + std::to_string(dir) + " has no readable " + (tiled ? "tile" : "strip") + " offsets" +
             (handle.last_error().empty() ? "" : " (" + handle.last_error() + ")");
    for (std::uint32_t i = 0; offsets_comparable && i < n; ++i)
      if (counts[i] > 0 && (offsets[i] > file_size || counts[i] > file_size - offsets[i]))
        return std::string(tiled ? "tile " : "strip ") + std::to_string(i) + " of directory " + std::to_string(dir) +
               " lies at bytes " + std::to_string(offsets[i]) + ".." + std::to_string(offsets[i] + counts[i]) +
               ", beyond the end of the file (" + std::to_string(file_size) + " bytes)";
    ++dir;
  } while (TIFFReadDirectory(tif));
  // TIFFReadDirectory returns 0 both at the last directory and on a damaged one; only the latter reports.
  if (!handle.last_error().empty())
    return "directory " + std::to_string(dir) + " cannot be read (" + handle.last_error() + ")";
  return std::nullopt;
}

}  // namespace karyon::tiling
