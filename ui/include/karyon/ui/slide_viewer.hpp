#pragma once
// Multi-resolution slide viewer (a plain QWidget: the view is one transform, so QGraphicsView's
// scene machinery would add nothing but per-tile items).
//
// What it does: shows the pyramid level matching the zoom, tiles of SlideTileSource::tileSize()
// level pixels loaded by a TileLoader (worker threads, LIFO queue with generations), kept in a
// byte-bounded LRU of QPixmaps. While a tile loads, the best coarser cached tile (ultimately the
// thumbnail) is drawn scaled up in its place. Mouse wheel zooms at the cursor, dragging pans, keys:
// + / - zoom, arrows pan, Home fits the slide. A scale bar is drawn bottom left. Overlay layers
// see mouse and key events first (see overlay_layer.hpp); a click without drag emits clicked().
// The GUI thread never reads the slide: it only requests tiles and paints what has arrived.
//
// Coordinates: "level-0" = full-resolution slide pixels; "widget" = this widget's pixels.
#include <QImage>
#include <QPixmap>
#include <QPointF>
#include <QTimer>
#include <QWidget>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "karyon/ui/display_adjustment.hpp"
#include "karyon/ui/lru_cache.hpp"
#include "karyon/ui/overlay_layer.hpp"
#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/tile_key.hpp"
#include "karyon/ui/view_transform.hpp"

namespace karyon::ui {

class TileLoader;
using TileCache = LruCache<TileKey, QPixmap, TileKeyHash>;

class SlideViewer : public QWidget {
  Q_OBJECT
 public:
  static constexpr std::int64_t kDefaultCacheBytes = 256ll << 20;
  static constexpr int kThumbnailMaxSide = 1024;

  explicit SlideViewer(QWidget* parent = nullptr);
  ~SlideViewer() override;

  // Shows `source` (nullptr: shows nothing), fitted to the widget. Starts the thumbnail and tile
  // loads; never reads the slide on this thread.
  void setSource(std::shared_ptr<const SlideTileSource> source);
  const SlideTileSource* source() const { return m_source.get(); }
  bool hasSlide() const { return m_source != nullptr; }

  ViewTransform viewTransform() const;
  double downsample() const { return m_downsample; }
  QPointF centerLevel0() const { return m_center; }
  QPointF mapToLevel0(const QPointF& widgetPos) const { return viewTransform().toLevel0(widgetPos); }
  QPointF mapFromLevel0(const QPointF& level0) const { return viewTransform().toWidget(level0); }
  // The part of the slide on screen, level-0 pixels (clipped to the slide).
  QRectF visibleLevel0() const;
  int displayLevel() const;
  // Tiles of the display level that intersect the widget.
  std::vector<TileKey> visibleTiles() const;
  double minDownsample() const;
  double maxDownsample() const;
  double fitDownsample() const;

  const TileCache& tileCache() const { return m_cache; }
  void setCacheMaxBytes(std::int64_t bytes) { m_cache.setMaxBytes(bytes); }
  // True when a slide is shown, its thumbnail has arrived and no tile request is outstanding.
  bool isIdle() const;
  int outstandingRequests() const;
  const TileLoader* loader() const { return m_loader.get(); }

  QImage thumbnail() const { return m_thumbnailImage; }
  double thumbnailDownsample() const { return m_thumbnailDownsample; }
  QString magnificationText() const;

  // Brightness, contrast and gamma of the slide as painted (overlays are not adjusted); the tiles
  // and everything the engine reads are untouched.
  void setDisplayAdjustment(const DisplayAdjustment& adjustment);
  DisplayAdjustment displayAdjustment() const { return m_adjustment; }

  // Extension point for result layers (see overlay_layer.hpp). Painted in order of addition.
  void addOverlay(std::shared_ptr<OverlayLayer> layer);
  void removeOverlay(const std::shared_ptr<OverlayLayer>& layer);

 public slots:
  // factor > 1 zooms in. The slide point under `widgetPos` stays under it (unless a zoom limit or
  // the pan limit intervenes).
  void zoomAt(const QPointF& widgetPos, double factor);
  void zoomIn();
  void zoomOut();
  void fitToWindow();
  void centerOn(const QPointF& level0);
  void panBy(const QPointF& widgetPixels);
  void setDownsample(double downsample);

 signals:
  void viewChanged();
  void displayAdjustmentChanged();
  void cursorMoved(QPointF level0);
  void thumbnailReady(QImage thumbnail, double downsample);
  void loadError(QString message);
  // All requested tiles have arrived (or failed) and the thumbnail is there.
  void idle();
  // Left button pressed and released without dragging (no layer took the press).
  void clicked(QPointF level0, Qt::KeyboardModifiers modifiers);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;

 private:
  void setView(const QPointF& center, double downsample);
  void scheduleRequests();
  void issueRequests();
  std::vector<TileKey> tilesIn(int level, const QRectF& level0) const;
  QRect snappedWidgetRect(const QRectF& level0) const;
  void drawTiles(QPainter& p, int level, const QRectF& visible);
  void drawScaleBar(QPainter& p);
  void paintSlide(QPainter& p);  // background, thumbnail and tiles
  void onTileLoaded(const TileKey& key, QImage image);
  void onTileFailed(const TileKey& key, const QString& message);
  void onThumbnail(const QImage& image, double downsample);

  std::shared_ptr<const SlideTileSource> m_source;
  std::unique_ptr<TileLoader> m_loader;
  TileCache m_cache{kDefaultCacheBytes};
  std::unordered_set<TileKey, TileKeyHash> m_failed;  // not re-requested for this slide
  QImage m_thumbnailImage;
  QPixmap m_thumbnail;
  double m_thumbnailDownsample = 0;
  QPointF m_center;        // level-0
  double m_downsample = 1; // level-0 px per widget px
  bool m_fitted = true;    // follow resizes until the user zooms or pans
  QTimer m_requestTimer;   // coalesces request bursts (one per event-loop pass)
  std::optional<QPointF> m_dragLast;
  QPointF m_pressPos;
  bool m_dragMoved = false;
  OverlayLayer* m_grabber = nullptr;  // layer that took the current mouse press
  std::vector<std::shared_ptr<OverlayLayer>> m_overlays;
  bool m_reportedError = false;
  DisplayAdjustment m_adjustment;
};

}  // namespace karyon::ui
