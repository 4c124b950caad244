// Procedural H&E-like scene: glass, an eosin-pink tissue blob with a lumen, and haematoxylin-purple
// elliptical nuclei on a jittered grid of kSynthCellUm cells (one nucleus at most per cell, so
// nuclei never overlap and each can be regenerated from its cell index alone). Every pixel of
// every pyramid level is a pure function of its level-0 position, which is what lets the writer
// stream tiles in constant memory.
#include "karyon/tiling/synthetic_slide.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "karyon/core/errors.hpp"
#include "karyon/core/hash.hpp"
#include "karyon/core/uuid.hpp"
#include "tiff_handle.hpp"

namespace karyon::tiling {
namespace fs = std::filesystem;
using core::InvalidArgument;
using core::OutputError;

namespace {
using core::mix64;

std::uint64_t hash(std::uint64_t seed, std::int64_t a, std::int64_t b, std::uint64_t salt) {
  return mix64(seed ^ mix64(static_cast<std::uint64_t>(a) ^ mix64(static_cast<std::uint64_t>(b) ^ mix64(salt))));
}
double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

struct Nucleus {
  double cx, cy;   // level-0 px
  double a, b;     // semi-axes, level-0 px
  double angle;    // radians
  bool border;
  std::uint64_t id_hash;
  bool contains(double x, double y) const {
    const double dx = x - cx, dy = y - cy, c = std::cos(angle), s = std::sin(angle);
    const double u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
    return u * u + v * v <= 1.0;
  }
};

class Scene {
 public:
  explicit Scene(const SynthOptions& o) : o_(o) {
    cell_px_ = kSynthCellUm / o.mpp;
    cells_x_ = static_cast<std::int64_t>(std::ceil(o.width / cell_px_));
    cells_y_ = static_cast<std::int64_t>(std::ceil(o.height / cell_px_));
    if (o.border_plan) {
      const auto& bp = *o.border_plan;
      const double scale = bp.target_mpp / o.mpp;  // level-0 px per analysis px
      const int stride = bp.tile_size - bp.overlap;
      // Tile edges (k*stride, k*stride + T) and core borders (k*stride + overlap/2), level-0 px.
      for (std::int64_t k = 0; k * stride * scale < std::max(o.width, o.height); ++k) {
        for (double v : {double(k * stride), double(k * stride + bp.tile_size), double(k * stride + bp.overlap / 2)})
          if (v > 0) lines_.push_back(v * scale);
      }
      std::sort(lines_.begin(), lines_.end());
    }
  }

  std::int64_t cells_x() const { return cells_x_; }
  std::int64_t cells_y() const { return cells_y_; }
  double cell_px() const { return cell_px_; }

  // Fraction-of-slide coordinates → inside tissue? A wobbly ellipse minus a lumen, plus an island.
  bool tissue(double x, double y) const {
    const double u = x / o_.width, v = y / o_.height;
    const double dx = (u - 0.5) / 0.42, dy = (v - 0.5) / 0.38;
    const double theta = std::atan2(dy, dx);
    const double wobble = 1.0 + 0.08 * std::sin(3 * theta + phase(1)) + 0.05 * std::sin(7 * theta + phase(2));
    const bool main_blob = dx * dx + dy * dy <= wobble * wobble;
    const double lx = (u - 0.36) / 0.07, ly = (v - 0.44) / 0.06;
    const bool lumen = lx * lx + ly * ly <= 1.0;
    const double ix = (u - 0.88) / 0.07, iy = (v - 0.12) / 0.07;
    const bool island = ix * ix + iy * iy <= 1.0;
    return (main_blob && !lumen) || island;
  }

  std::optional<Nucleus> nucleus(std::int64_t i, std::int64_t j) const {
    if (i < 0 || j < 0 || i >= cells_x_ || j >= cells_y_) return std::nullopt;
    const std::uint64_t h = hash(o_.seed, i, j, 0x6e75636c);
    const double um = 1.0 / o_.mpp;
    Nucleus n;
    n.cx = (i + 0.5) * cell_px_ + (unit(mix64(h ^ 1)) * 2 - 1) * 3 * um;
    n.cy = (j + 0.5) * cell_px_ + (unit(mix64(h ^ 2)) * 2 - 1) * 3 * um;
    const auto snap_x = snap(i * cell_px_, (i + 1) * cell_px_), snap_y = snap(j * cell_px_, (j + 1) * cell_px_);
    if (snap_x) n.cx = *snap_x;
    if (snap_y) n.cy = *snap_y;
    n.border = snap_x || snap_y;
    if (!n.border && unit(mix64(h ^ 3)) >= o_.nucleus_density) return std::nullopt;
    n.a = (3.0 + 2.5 * unit(mix64(h ^ 4))) * um;
    n.b = n.a * (0.6 + 0.4 * unit(mix64(h ^ 5)));
    n.angle = unit(mix64(h ^ 6)) * std::numbers::pi;
    n.id_hash = h;
    const double r = n.a + 2;
    if (n.cx - r < 0 || n.cy - r < 0 || n.cx + r >= o_.width || n.cy + r >= o_.height) return std::nullopt;
    if (!tissue(n.cx, n.cy)) return std::nullopt;
    return n;
  }

  // Colour of the background (glass or tissue) at a level-0 position, with per-pixel noise.
  std::array<std::uint8_t, 3> background(bool in_tissue, std::int64_t px, std::int64_t py, int level) const {
    const std::uint64_t h = hash(o_.seed, px, py, 0x7078 + level);
    const int n = static_cast<int>(h & 15) - 8;
    if (!in_tissue) return {clamp(243 + n / 3), clamp(242 + n / 3), clamp(240 + n / 3)};
    const int m = static_cast<int>((h >> 8) & 31) - 16;
    return {clamp(230 + n), clamp(158 + m), clamp(196 + n)};
  }
  std::array<std::uint8_t, 3> nucleus_colour(std::int64_t px, std::int64_t py, int level) const {
    const std::uint64_t h = hash(o_.seed, px, py, 0x6e63 + level);
    const int n = static_cast<int>(h & 31) - 16;
    return {clamp(92 + n), clamp(62 + n), clamp(148 + n / 2)};
  }

 private:
  static std::uint8_t clamp(int v) { return static_cast<std::uint8_t>(std::clamp(v, 0, 255)); }
  double phase(int k) const { return unit(mix64(o_.seed * 31 + k)) * 2 * std::numbers::pi; }
  std::optional<double> snap(double lo, double hi) const {
    auto it = std::lower_bound(lines_.begin(), lines_.end(), lo);
    if (it != lines_.end() && *it < hi) return *it;
    return std::nullopt;
  }

  SynthOptions o_;
  double cell_px_;
  std::int64_t cells_x_, cells_y_;
  std::vector<double> lines_;
};

std::string uuid_from(std::uint64_t h) { return core::name_based_uuid("synthetic nucleus " + std::to_string(h)); }

void render_tile(const Scene& scene, int level, double ds, std::int64_t tx, std::int64_t ty, int tile,
                 std::vector<std::uint8_t>& buf) {
  buf.assign(static_cast<std::size_t>(tile) * tile * 3, 0);
  // Tissue membership per 8x8 block: the tissue boundary needs no finer detail and atan2 per pixel
  // would dominate the time at gigapixel sizes.
  constexpr int kBlock = 8;
  for (int by = 0; by < tile; by += kBlock)
    for (int bx = 0; bx < tile; bx += kBlock) {
      const bool in = scene.tissue((tx + bx + kBlock / 2) * ds, (ty + by + kBlock / 2) * ds);
      for (int y = by; y < std::min(tile, by + kBlock); ++y)
        for (int x = bx; x < std::min(tile, bx + kBlock); ++x) {
          const auto c = scene.background(in, tx + x, ty + y, level);
          std::copy(c.begin(), c.end(), buf.begin() + (static_cast<std::size_t>(y) * tile + x) * 3);
        }
    }
  // Nuclei of the cells around this tile (level-0 extent + the largest radius).
  const double margin = kSynthMaxNucleusRadiusUm * scene.cell_px() / kSynthCellUm;
  const double x0 = tx * ds - margin, y0 = ty * ds - margin, x1 = (tx + tile) * ds + margin, y1 = (ty + tile) * ds + margin;
  const double c = scene.cell_px();
  for (auto j = static_cast<std::int64_t>(std::floor(y0 / c)) - 1; j <= static_cast<std::int64_t>(y1 / c) + 1; ++j)
    for (auto i = static_cast<std::int64_t>(std::floor(x0 / c)) - 1; i <= static_cast<std::int64_t>(x1 / c) + 1; ++i) {
      const auto n = scene.nucleus(i, j);
      if (!n) continue;
      const int px0 = std::max(0, static_cast<int>(std::floor((n->cx - n->a) / ds - tx)) - 1);
      const int py0 = std::max(0, static_cast<int>(std::floor((n->cy - n->a) / ds - ty)) - 1);
      const int px1 = std::min(tile, static_cast<int>(std::ceil((n->cx + n->a) / ds - tx)) + 1);
      const int py1 = std::min(tile, static_cast<int>(std::ceil((n->cy + n->a) / ds - ty)) + 1);
      for (int y = py0; y < py1; ++y)
        for (int x = px0; x < px1; ++x)
          if (n->contains((tx + x + 0.5) * ds, (ty + y + 0.5) * ds)) {
            const auto col = scene.nucleus_colour(tx + x, ty + y, level);
            std::copy(col.begin(), col.end(), buf.begin() + (static_cast<std::size_t>(y) * tile + x) * 3);
          }
    }
}

void write_ground_truth(const Scene& scene, const fs::path& path, SynthResult& result) {
  std::ofstream out(path);
  if (!out) throw OutputError(path.string() + ": cannot create ground-truth file");
  out << "{\"type\":\"FeatureCollection\",\"features\":[";
  bool first = true;
  char buf[256];
  for (std::int64_t j = 0; j < scene.cells_y(); ++j)
    for (std::int64_t i = 0; i < scene.cells_x(); ++i) {
      const auto n = scene.nucleus(i, j);
      if (!n) continue;
      ++result.nuclei;
      result.border_nuclei += n->border;
      out << (first ? "\n" : ",\n") << "{\"type\":\"Feature\",\"id\":\"" << uuid_from(n->id_hash)
          << "\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[";
      first = false;
      constexpr int kVertices = 32;
      for (int k = 0; k <= kVertices; ++k) {
        const double t = 2 * std::numbers::pi * (k % kVertices) / kVertices;
        const double ex = n->a * std::cos(t), ey = n->b * std::sin(t);
        const double x = n->cx + ex * std::cos(n->angle) - ey * std::sin(n->angle);
        const double y = n->cy + ex * std::sin(n->angle) + ey * std::cos(n->angle);
        std::snprintf(buf, sizeof buf, "%s[%.2f,%.2f]", k ? "," : "", x, y);
        out << buf;
      }
      std::snprintf(buf, sizeof buf,
                    "]]},\"properties\":{\"objectType\":\"annotation\",\"classification\":{\"name\":\"Nucleus\","
                    "\"color\":[92,62,148]},\"truth\":{\"cx\":%.3f,\"cy\":%.3f,\"a\":%.3f,\"b\":%.3f,\"angle\":%.5f,"
                    "\"border\":%s}}}",
                    n->cx, n->cy, n->a, n->b, n->angle, n->border ? "true" : "false");
      out << buf;
    }
  out << "\n]}\n";
  out.flush();
  if (!out) throw OutputError(path.string() + ": write failed (disk full?)");
}

}  // namespace

SynthResult write_synthetic_slide(const fs::path& tiff_path, const fs::path& geojson_path, const SynthOptions& o,
                                  const core::ProgressCallback& progress, const core::CancelToken* cancel) {
  if (o.width < 64 || o.height < 64 || o.width > 400000 || o.height > 400000)
    throw InvalidArgument("synthetic slide size must be within 64..400000 px per side");
  if (!(o.mpp >= 0.05 && o.mpp <= 10)) throw InvalidArgument("synthetic µm/px must be within 0.05..10");
  if (o.tiff_tile % 16 != 0 || o.tiff_tile < 16 || o.tiff_tile > 4096) throw InvalidArgument("TIFF tile size must be a multiple of 16");
  if (o.level_factor < 2) throw InvalidArgument("level factor must be at least 2");
  if (o.jpeg_quality < 1 || o.jpeg_quality > 100) throw InvalidArgument("JPEG quality must be within 1..100");
  if (o.border_plan && (o.border_plan->overlap < 0 || o.border_plan->overlap >= o.border_plan->tile_size))
    throw InvalidArgument("border plan overlap must be within 0..tile size");

  const Scene scene(o);
  std::vector<std::pair<std::int64_t, std::int64_t>> dims;
  for (double ds = 1;; ds *= o.level_factor) {
    const auto w = static_cast<std::int64_t>(std::ceil(o.width / ds)), h = static_cast<std::int64_t>(std::ceil(o.height / ds));
    dims.emplace_back(w, h);
    if (std::max(w, h) <= 1024) break;
  }

  const bool big = o.width * o.height > 1'000'000'000LL;
  TiffHandle handle(tiff_path.c_str(), big ? "w8" : "w");
  TIFF* tif = handle.get();
  if (!tif) throw OutputError(tiff_path.string() + ": cannot create: " + handle.last_error());
  auto fail = [&](const std::string& why) {
    handle.close();
    std::error_code ec;
    fs::remove(tiff_path, ec);
    throw OutputError(tiff_path.string() + ": " + why);
  };

  std::int64_t total_rows = 0, done_rows = 0;
  for (auto [w, h] : dims) total_rows += (h + o.tiff_tile - 1) / o.tiff_tile;
  std::vector<std::uint8_t> buf;
  double ds = 1;
  for (std::size_t level = 0; level < dims.size(); ++level, ds *= o.level_factor) {
    const auto [w, h] = dims[level];
    TIFFSetField(tif, TIFFTAG_SUBFILETYPE, level == 0 ? 0 : FILETYPE_REDUCEDIMAGE);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(w));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(h));
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, o.tiff_tile);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, o.tiff_tile);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(tif, TIFFTAG_JPEGQUALITY, o.jpeg_quality);
    TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
    TIFFSetField(tif, TIFFTAG_XRESOLUTION, static_cast<float>(1e4 / (o.mpp * ds)));
    TIFFSetField(tif, TIFFTAG_YRESOLUTION, static_cast<float>(1e4 / (o.mpp * ds)));
    TIFFSetField(tif, TIFFTAG_SOFTWARE, "Karyon synthetic slide");
    const std::string desc = "Karyon synthetic H&E slide; seed=" + std::to_string(o.seed) +
                             "; mpp=" + std::to_string(o.mpp) + "; level " + std::to_string(level);
    TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, desc.c_str());
    for (std::int64_t ty = 0; ty < h; ty += o.tiff_tile) {
      if (cancel && cancel->cancelled()) {
        handle.close();
        std::error_code ec;
        fs::remove(tiff_path, ec);
        throw core::Cancelled();
      }
      for (std::int64_t tx = 0; tx < w; tx += o.tiff_tile) {
        render_tile(scene, static_cast<int>(level), ds, tx, ty, o.tiff_tile, buf);
        if (TIFFWriteTile(tif, buf.data(), static_cast<std::uint32_t>(tx), static_cast<std::uint32_t>(ty), 0, 0) < 0)
          fail("writing a tile failed (disk full?): " + handle.last_error());
      }
      if (progress) progress({"synth level " + std::to_string(level), ++done_rows, total_rows});
    }
    if (!TIFFWriteDirectory(tif)) fail("writing the TIFF directory failed: " + handle.last_error());
  }
  handle.close();

  SynthResult result;
  result.levels = static_cast<int>(dims.size());
  write_ground_truth(scene, geojson_path, result);
  return result;
}

}  // namespace karyon::tiling
