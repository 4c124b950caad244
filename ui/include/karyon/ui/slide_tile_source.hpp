#pragma once
// Adapts karyon::tiling::Slide (std types) to Qt: display tiles and thumbnails as QImage.
//
// Frames: a TileKey addresses tileSize() x tileSize() pixels AT ITS LEVEL; tileRectLevel0() gives
// the same area in level-0 pixels (the viewer's frame), which is what Slide::read_region's origin
// wants (its size is in level pixels — OpenSlide's convention).
// Thread-safety: const methods may be called from many threads at once (Slide::read_region is
// thread-safe). QImage only: QPixmap must be made on the GUI thread, by the viewer.
// Errors: open() and the read methods throw karyon::core::SlideError (or InvalidArgument for a
// key outside the grid), with the file name in the message.
#include <QImage>
#include <QRectF>
#include <QString>
#include <memory>

#include "karyon/core/image.hpp"
#include "karyon/tiling/slide.hpp"
#include "karyon/ui/tile_key.hpp"

namespace karyon::ui {

class SlideTileSource {
 public:
  static constexpr int kDefaultTileSize = 512;

  explicit SlideTileSource(std::shared_ptr<const tiling::Slide> slide, int tileSize = kDefaultTileSize);
  static std::shared_ptr<SlideTileSource> open(const QString& path, int tileSize = kDefaultTileSize);

  const tiling::SlideMetadata& metadata() const { return m_slide->metadata(); }
  const tiling::Slide& slide() const { return *m_slide; }
  QString path() const;

  int tileSize() const { return m_tileSize; }
  int levelCount() const { return static_cast<int>(metadata().levels.size()); }
  double levelDownsample(int level) const { return metadata().levels.at(level).downsample; }
  int columns(int level) const;
  int rows(int level) const;
  // Level to display at `downsample` level-0 pixels per screen pixel: the coarsest level that is not
  // coarser than asked (1% slack so that a level at 4.0003 is used for a 4.0 view).
  int levelForDownsample(double downsample) const;

  bool isValid(const TileKey& key) const;
  QRectF tileRectLevel0(const TileKey& key) const;
  QImage readTile(const TileKey& key) const;
  // Whole slide, longer side at most maxSide; `downsample` receives level-0 px per thumbnail px.
  QImage readThumbnail(int maxSide, double& downsample) const;

  // Copy of an interleaved RGB buffer into a Format_RGB32 QImage (the format QPixmap uses).
  static QImage toQImage(const core::RgbImage& rgb);

 private:
  std::shared_ptr<const tiling::Slide> m_slide;
  int m_tileSize;
};

}  // namespace karyon::ui
