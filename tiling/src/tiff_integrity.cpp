#include "tiff_integrity.hpp"

#include <array>
#include <fstream>
#include <set>

#include "tiff_handle.hpp"

namespace karyon::tiling {
namespace fs = std::filesystem;

namespace {

enum class TiffKind { None, Classic, Big };

struct TiffHeader {
  TiffKind kind = TiffKind::None;
  bool little_endian = true;
};

TiffHeader tiff_header(const fs::path& path) {
  std::array<unsigned char, 4> m{};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(m.data()), m.size())) return {};
  const bool ii = m[0] == 'I' && m[1] == 'I', mm = m[0] == 'M' && m[1] == 'M';
  if (!ii && !mm) return {};
  const int version = ii ? m[2] | (m[3] << 8) : (m[2] << 8) | m[3];
  return {version == 42 ? TiffKind::Classic : version == 43 ? TiffKind::Big : TiffKind::None, ii};
}

// Bytes per value of a TIFF field type (TIFF 6.0 and BigTIFF); unknown types count as 1, the least.
std::uint64_t type_size(unsigned type) {
  switch (type) {
    case 3: case 8: return 2;                     // SHORT, SSHORT
    case 4: case 9: case 11: case 13: return 4;   // LONG, SLONG, FLOAT, IFD
    case 5: case 10: case 12: case 16: case 17: case 18: return 8;  // RATIONALs, DOUBLE, LONG8, SLONG8, IFD8
    default: return 1;
  }
}

// Walks every directory's entries without libtiff and finds a field claiming more bytes than the whole
// file. OpenSlide's own TIFF parser (vendor detection) allocates what a field claims before it reads:
// found by tools/fuzz, a 2.6 KB file whose ImageDescription claims 3.8 GB.
std::optional<std::string> oversized_field(const fs::path& path, const TiffHeader& header, std::uint64_t file_size) {
  std::ifstream in(path, std::ios::binary);
  const bool little = header.little_endian;
  const bool big = header.kind == TiffKind::Big;
  bool ok = true;
  auto read_uint = [&](std::uint64_t at, int bytes) -> std::uint64_t {
    std::array<unsigned char, 8> b{};
    in.seekg(static_cast<std::streamoff>(at));
    if (!in.read(reinterpret_cast<char*>(b.data()), bytes)) {
      ok = false;
      in.clear();
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{b[static_cast<std::size_t>(little ? i : bytes - 1 - i)]} << (8 * i);
    return v;
  };
  const int offset_bytes = big ? 8 : 4, entry_bytes = big ? 20 : 12;
  std::uint64_t ifd = read_uint(big ? 8 : 4, offset_bytes);
  std::set<std::uint64_t> seen;
  for (int dir = 0; ok && ifd != 0 && ifd < file_size && seen.insert(ifd).second && dir < 65536; ++dir) {
    const std::uint64_t entries = read_uint(ifd, big ? 8 : 2);
    const std::uint64_t first = ifd + (big ? 8 : 2);
    if (!ok || entries > (file_size - first) / static_cast<std::uint64_t>(entry_bytes)) return std::nullopt;  // libtiff says what
    for (std::uint64_t e = 0; e < entries; ++e) {
      const std::uint64_t at = first + e * static_cast<std::uint64_t>(entry_bytes);
      const auto tag = read_uint(at, 2), type = read_uint(at + 2, 2), count = read_uint(at + 4, offset_bytes);
      if (!ok) return std::nullopt;
      const std::uint64_t size = type_size(static_cast<unsigned>(type));
      if (count > file_size / size)
        return "field " + std::to_string(tag) + " of directory " + std::to_string(dir) + " claims " + std::to_string(count) +
               " values of " + std::to_string(size) + " bytes, more than the whole file (" + std::to_string(file_size) +
               " bytes)";
    }
    ifd = read_uint(first + entries * static_cast<std::uint64_t>(entry_bytes), offset_bytes);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> tiff_damage(const fs::path& path, std::uintmax_t file_size) {
  const TiffHeader header = tiff_header(path);
  const TiffKind kind = header.kind;
  if (kind == TiffKind::None) return std::nullopt;
  // NDPI writes files over 4 GiB as classic TIFF with the offsets' high bits elsewhere: offsets cannot be
  // compared with the size there.
  const bool offsets_comparable = kind == TiffKind::Big || file_size <= 0xffffffffULL;
  if (offsets_comparable)
    if (auto problem = oversized_field(path, header, file_size)) return problem;
  const TiffHandle handle(path.c_str(), "rm");  // no memory map: a cut file must not fault on access
  TIFF* tif = handle.get();
  if (!tif) return "libtiff cannot read its first directory (" + handle.last_error() + ")";
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
