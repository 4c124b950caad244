#include "image_header.hpp"

#include <fstream>
#include <vector>

#include "karyon/core/files.hpp"
#include "tiff_handle.hpp"

namespace karyon::tiling {
namespace fs = std::filesystem;

namespace {

using Size = std::pair<std::int64_t, std::int64_t>;

std::uint32_t be(const unsigned char* p, int n) {
  std::uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// IHDR is the first chunk: signature (8), length (4), "IHDR" (4), width (4), height (4).
std::optional<Size> png_size(const std::vector<unsigned char>& h) {
  if (h.size() < 24 || std::string(h.begin() + 12, h.begin() + 16) != "IHDR") return std::nullopt;
  return Size{be(&h[16], 4), be(&h[20], 4)};
}

// Walks the marker segments up to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
std::optional<Size> jpeg_size(std::ifstream& in) {
  in.seekg(2);
  unsigned char m[2];
  while (in.read(reinterpret_cast<char*>(m), 2)) {
    if (m[0] != 0xFF) return std::nullopt;
    while (m[1] == 0xFF && in.read(reinterpret_cast<char*>(&m[1]), 1)) {
    }  // fill bytes
    const unsigned char marker = m[1];
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
    unsigned char len[2];
    if (!in.read(reinterpret_cast<char*>(len), 2)) return std::nullopt;
    const std::uint32_t length = be(len, 2);
    if (length < 2) return std::nullopt;
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      unsigned char sof[5];
      if (!in.read(reinterpret_cast<char*>(sof), 5)) return std::nullopt;
      return Size{be(&sof[3], 2), be(&sof[1], 2)};
    }
    in.seekg(length - 2, std::ios::cur);
  }
  return std::nullopt;
}

std::optional<Size> tiff_size(const fs::path& path) {
  const TiffHandle handle(path.c_str(), "rm");
  std::uint32_t w = 0, h = 0;
  if (!handle || !TIFFGetField(handle.get(), TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(handle.get(), TIFFTAG_IMAGELENGTH, &h))
    return std::nullopt;
  return Size{w, h};
}

}  // namespace

bool has_plain_image_signature(const fs::path& path) {
  return core::raster_signature(path) != core::RasterSignature::Unknown;
}

std::optional<Size> image_size_from_header(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(24);
  if (!in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()))) return std::nullopt;
  if (head[0] == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G') return png_size(head);
  if (head[0] == 0xFF && head[1] == 0xD8) return jpeg_size(in);
  if ((head[0] == 'I' && head[1] == 'I') || (head[0] == 'M' && head[1] == 'M')) return tiff_size(path);
  return std::nullopt;
}

}  // namespace karyon::tiling
