#include "karyon/ui/slide_tile_source.hpp"

#include <QFile>
#include <cmath>
#include <stdexcept>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/tile_plan.hpp"

namespace karyon::ui {

SlideTileSource::SlideTileSource(std::shared_ptr<const tiling::Slide> slide, int tileSize)
    : m_slide(std::move(slide)), m_tileSize(tileSize) {
  if (!m_slide) throw core::InvalidArgument("SlideTileSource: null slide");
  if (tileSize < 16) throw core::InvalidArgument("SlideTileSource: tile size " + std::to_string(tileSize) + " < 16");
}

std::shared_ptr<SlideTileSource> SlideTileSource::open(const QString& path, int tileSize) {
  // encodeName: the file system's byte encoding, not whatever the locale thinks.
  const std::filesystem::path fsPath(QFile::encodeName(path).toStdString());
  std::shared_ptr<const tiling::Slide> slide = tiling::Slide::open(fsPath);
  return std::make_shared<SlideTileSource>(std::move(slide), tileSize);
}

QString SlideTileSource::path() const { return QFile::decodeName(m_slide->path().c_str()); }

int SlideTileSource::columns(int level) const {
  const auto w = metadata().levels.at(level).width;
  return static_cast<int>((w + m_tileSize - 1) / m_tileSize);
}

int SlideTileSource::rows(int level) const {
  const auto h = metadata().levels.at(level).height;
  return static_cast<int>((h + m_tileSize - 1) / m_tileSize);
}

int SlideTileSource::levelForDownsample(double downsample) const {
  return tiling::level_for_downsample(metadata().levels, downsample, 0.01);
}

bool SlideTileSource::isValid(const TileKey& key) const {
  return key.level >= 0 && key.level < levelCount() && key.col >= 0 && key.row >= 0 &&
         key.col < columns(key.level) && key.row < rows(key.level);
}

QRectF SlideTileSource::tileRectLevel0(const TileKey& key) const {
  const auto& l = metadata().levels.at(key.level);
  const double x = static_cast<double>(key.col) * m_tileSize;
  const double y = static_cast<double>(key.row) * m_tileSize;
  const double w = std::min<double>(m_tileSize, static_cast<double>(l.width) - x);
  const double h = std::min<double>(m_tileSize, static_cast<double>(l.height) - y);
  return QRectF(x * l.downsample, y * l.downsample, w * l.downsample, h * l.downsample);
}

QImage SlideTileSource::readTile(const TileKey& key) const {
  if (!isValid(key))
    throw core::InvalidArgument("tile (level " + std::to_string(key.level) + ", col " + std::to_string(key.col) +
                                ", row " + std::to_string(key.row) + ") is outside " + m_slide->path().string());
  const auto& l = metadata().levels[key.level];
  const std::int64_t x = static_cast<std::int64_t>(key.col) * m_tileSize;
  const std::int64_t y = static_cast<std::int64_t>(key.row) * m_tileSize;
  const int w = static_cast<int>(std::min<std::int64_t>(m_tileSize, l.width - x));
  const int h = static_cast<int>(std::min<std::int64_t>(m_tileSize, l.height - y));
  core::RgbImage rgb;
  m_slide->read_region(key.level, std::llround(x * l.downsample), std::llround(y * l.downsample), w, h, rgb);
  return toQImage(rgb);
}

QImage SlideTileSource::readThumbnail(int maxSide, double& downsample) const {
  const core::RgbImage rgb = tiling::read_thumbnail(*m_slide, maxSide, downsample);
  return toQImage(rgb);
}

QImage SlideTileSource::toQImage(const core::RgbImage& rgb) {
  if (rgb.empty()) return QImage();
  // RGB32, the raster paint engine's native format: QPixmap::fromImage on the GUI thread then needs
  // no per-pixel conversion, which is done here, on the reader thread, instead.
  QImage img(rgb.width, rgb.height, QImage::Format_RGB32);
  if (img.isNull()) throw std::bad_alloc();
  for (int y = 0; y < rgb.height; ++y) {
    const std::uint8_t* src = rgb.row(y);
    auto* dst = reinterpret_cast<QRgb*>(img.scanLine(y));
    for (int x = 0; x < rgb.width; ++x, src += 3) dst[x] = qRgb(src[0], src[1], src[2]);
  }
  return img;
}

}  // namespace karyon::ui
