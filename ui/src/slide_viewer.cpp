#include "karyon/ui/slide_viewer.hpp"

#include <QApplication>
#include <QDebug>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
#include <exception>

#include "karyon/ui/scale_bar.hpp"
#include "karyon/ui/tile_loader.hpp"

namespace karyon::ui {

namespace {
constexpr double kZoomStep = 1.25;     // per +/- key and per wheel notch
constexpr double kMaxOverzoom = 4.0;   // screen px per level-0 px at the closest zoom
constexpr double kFitMargin = 1.04;    // a little border around the fitted slide
}  // namespace

SlideViewer::SlideViewer(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setMinimumSize(200, 150);
  m_requestTimer.setSingleShot(true);
  m_requestTimer.setInterval(0);
  connect(&m_requestTimer, &QTimer::timeout, this, &SlideViewer::issueRequests);
}

SlideViewer::~SlideViewer() = default;

void SlideViewer::setSource(std::shared_ptr<const SlideTileSource> source) {
  // Joining the old loader's workers waits for at most one tile read per worker.
  m_loader.reset();
  m_requestTimer.stop();
  m_cache.clear();
  m_failed.clear();
  m_thumbnail = QPixmap();
  m_thumbnailImage = QImage();
  m_thumbnailDownsample = 0;
  m_reportedError = false;
  m_source = std::move(source);
  if (m_source) {
    m_loader = std::make_unique<TileLoader>(m_source);
    connect(m_loader.get(), &TileLoader::tileLoaded, this, &SlideViewer::onTileLoaded);
    connect(m_loader.get(), &TileLoader::tileFailed, this, &SlideViewer::onTileFailed);
    connect(m_loader.get(), &TileLoader::thumbnailLoaded, this, &SlideViewer::onThumbnail);
    connect(m_loader.get(), &TileLoader::thumbnailFailed, this, [this](const QString& message) {
      if (!m_reportedError) {
        m_reportedError = true;
        emit loadError(message);
      }
    });
    connect(m_loader.get(), &TileLoader::idle, this, [this] {
      if (isIdle()) emit idle();
    });
    m_loader->requestThumbnail(kThumbnailMaxSide);
    m_fitted = true;
    const auto& m = m_source->metadata();
    m_center = QPointF(m.width() / 2.0, m.height() / 2.0);
    m_downsample = fitDownsample();
    scheduleRequests();
  }
  update();
  emit viewChanged();
}

ViewTransform SlideViewer::viewTransform() const {
  const QPointF halfWidget(width() / 2.0, height() / 2.0);
  return ViewTransform{m_center - halfWidget * m_downsample, m_downsample};
}

QRectF SlideViewer::visibleLevel0() const {
  if (!m_source) return {};
  const auto& m = m_source->metadata();
  return viewTransform().toLevel0(QRectF(rect())).intersected(
      QRectF(0, 0, static_cast<double>(m.width()), static_cast<double>(m.height())));
}

int SlideViewer::displayLevel() const {
  // On a high-DPI screen a widget pixel is several device pixels: pick the level for the device
  // pixels, or the picture is blurred by the pixel ratio.
  return m_source ? m_source->levelForDownsample(m_downsample / std::max(1.0, devicePixelRatioF())) : 0;
}

std::vector<TileKey> SlideViewer::tilesIn(int level, const QRectF& level0) const {
  std::vector<TileKey> keys;
  if (!m_source || level0.isEmpty()) return keys;
  const double span = m_source->tileSize() * m_source->levelDownsample(level);  // level-0 px per tile
  const int c0 = std::max(0, static_cast<int>(std::floor(level0.left() / span)));
  const int r0 = std::max(0, static_cast<int>(std::floor(level0.top() / span)));
  const int c1 = std::min(m_source->columns(level) - 1, static_cast<int>(std::ceil(level0.right() / span)) - 1);
  const int r1 = std::min(m_source->rows(level) - 1, static_cast<int>(std::ceil(level0.bottom() / span)) - 1);
  for (int r = r0; r <= r1; ++r)
    for (int c = c0; c <= c1; ++c) keys.push_back(TileKey{level, c, r});
  return keys;
}

std::vector<TileKey> SlideViewer::visibleTiles() const { return tilesIn(displayLevel(), visibleLevel0()); }

double SlideViewer::minDownsample() const { return 1.0 / kMaxOverzoom; }

double SlideViewer::fitDownsample() const {
  if (!m_source) return 1;
  const auto& m = m_source->metadata();
  const double ds = std::max(static_cast<double>(m.width()) / std::max(1, width()),
                             static_cast<double>(m.height()) / std::max(1, height())) * kFitMargin;
  return std::max(ds, minDownsample());
}

double SlideViewer::maxDownsample() const { return std::max(fitDownsample() * 4, minDownsample()); }

bool SlideViewer::isIdle() const {
  return m_loader && !m_loader->thumbnailPending() && m_loader->outstanding() == 0 && !m_requestTimer.isActive();
}

int SlideViewer::outstandingRequests() const { return m_loader ? m_loader->outstanding() : 0; }

QString SlideViewer::magnificationText() const {
  if (!m_source) return {};
  const auto& m = m_source->metadata();
  return ui::magnificationText(m.objective_power, m.mpp_x, m_downsample);
}

void SlideViewer::addOverlay(std::shared_ptr<OverlayLayer> layer) {
  if (!layer) return;
  m_overlays.push_back(std::move(layer));
  update();
}

void SlideViewer::removeOverlay(const std::shared_ptr<OverlayLayer>& layer) {
  if (m_grabber == layer.get()) m_grabber = nullptr;
  m_overlays.erase(std::remove(m_overlays.begin(), m_overlays.end(), layer), m_overlays.end());
  update();
}

void SlideViewer::setView(const QPointF& center, double downsample) {
  if (!m_source) return;
  const auto& m = m_source->metadata();
  const double ds = std::clamp(downsample, minDownsample(), maxDownsample());
  // The view centre stays on the slide, so at least a quarter of the widget shows tissue.
  const QPointF c(std::clamp(center.x(), 0.0, static_cast<double>(m.width())),
                  std::clamp(center.y(), 0.0, static_cast<double>(m.height())));
  if (c == m_center && ds == m_downsample) return;
  m_center = c;
  m_downsample = ds;
  update();
  scheduleRequests();
  emit viewChanged();
}

void SlideViewer::zoomAt(const QPointF& widgetPos, double factor) {
  if (!m_source || !(factor > 0)) return;
  m_fitted = false;
  const QPointF anchor = mapToLevel0(widgetPos);
  const double ds = std::clamp(m_downsample / factor, minDownsample(), maxDownsample());
  const QPointF halfWidget(width() / 2.0, height() / 2.0);
  // anchor = topLeft + widgetPos*ds  and  center = topLeft + halfWidget*ds.
  setView(anchor + (halfWidget - widgetPos) * ds, ds);
}

void SlideViewer::zoomIn() { zoomAt(QPointF(width() / 2.0, height() / 2.0), kZoomStep); }
void SlideViewer::zoomOut() { zoomAt(QPointF(width() / 2.0, height() / 2.0), 1 / kZoomStep); }

void SlideViewer::fitToWindow() {
  if (!m_source) return;
  m_fitted = true;
  const auto& m = m_source->metadata();
  setView(QPointF(m.width() / 2.0, m.height() / 2.0), fitDownsample());
}

void SlideViewer::centerOn(const QPointF& level0) {
  m_fitted = false;
  setView(level0, m_downsample);
}

void SlideViewer::panBy(const QPointF& widgetPixels) {
  m_fitted = false;
  setView(m_center - widgetPixels * m_downsample, m_downsample);
}

void SlideViewer::setDownsample(double downsample) {
  m_fitted = false;
  setView(m_center, downsample);
}

void SlideViewer::scheduleRequests() {
  if (m_loader) m_requestTimer.start();
}

void SlideViewer::issueRequests() {
  if (!m_loader || !m_source) return;
  // Every viewport change is a new generation: tiles still queued for the previous viewport are
  // dropped, and the visible ones are pushed again, the centre last so that it is read first.
  const auto generation = m_loader->startGeneration();
  std::vector<TileKey> wanted;
  for (const TileKey& k : visibleTiles())
    if (!m_cache.contains(k) && !m_failed.count(k)) wanted.push_back(k);
  const ViewTransform vt = viewTransform();
  const QPointF centre(width() / 2.0, height() / 2.0);
  auto distance = [&](const TileKey& k) {
    const QPointF d = vt.toWidget(m_source->tileRectLevel0(k).center()) - centre;
    return d.x() * d.x() + d.y() * d.y();
  };
  std::sort(wanted.begin(), wanted.end(),
            [&](const TileKey& a, const TileKey& b) { return distance(a) > distance(b); });
  // While display tiles are missing, the few tiles of a level about 4x coarser that cover the view
  // are pushed last, so they are read first: each covers 16 display tiles, so a fast pan or zoom
  // shows slightly soft tissue at once instead of the (much coarser) thumbnail.
  std::vector<TileKey> coarse;
  if (!wanted.empty()) {
    const int level = displayLevel();
    const int coarseLevel = m_source->levelForDownsample(m_source->levelDownsample(level) * 4);
    if (coarseLevel > level)
      for (const TileKey& k : tilesIn(coarseLevel, visibleLevel0()))
        if (!m_cache.contains(k) && !m_failed.count(k)) coarse.push_back(k);
  }
  for (const TileKey& k : wanted) m_loader->request(k, generation);
  for (const TileKey& k : coarse) m_loader->request(k, generation);
  if (isIdle()) emit idle();
}

void SlideViewer::onTileLoaded(const TileKey& key, QImage image) {
  if (image.isNull()) {
    onTileFailed(key, QStringLiteral("empty tile image"));
    return;
  }
  // The only place a QPixmap is made from slide pixels: here, on the GUI thread.
  QPixmap pixmap = QPixmap::fromImage(std::move(image));
  const std::int64_t bytes = static_cast<std::int64_t>(pixmap.width()) * pixmap.height() * pixmap.depth() / 8;
  m_cache.insert(key, std::move(pixmap), bytes);
  if (m_source && m_source->tileRectLevel0(key).intersects(visibleLevel0())) update();
  if (isIdle()) emit idle();
}

void SlideViewer::onTileFailed(const TileKey& key, const QString& message) {
  m_failed.insert(key);
  qWarning().noquote() << "tile" << key.level << key.col << key.row << "failed:" << message;
  if (!m_reportedError) {
    m_reportedError = true;
    emit loadError(message);
  }
  update();
}

void SlideViewer::onThumbnail(const QImage& image, double downsample) {
  m_thumbnailImage = image;
  m_thumbnail = QPixmap::fromImage(image);
  m_thumbnailDownsample = downsample;
  update();
  emit thumbnailReady(image, downsample);
  if (isIdle()) emit idle();
}

QRect SlideViewer::snappedWidgetRect(const QRectF& level0) const {
  // Both edges of a tile are rounded the same way as its neighbours' shared edges, so scaled tiles
  // meet without hairline gaps.
  const ViewTransform vt = viewTransform();
  const QPointF a = vt.toWidget(level0.topLeft());
  const QPointF b = vt.toWidget(level0.bottomRight());
  const int x0 = static_cast<int>(std::lround(a.x())), y0 = static_cast<int>(std::lround(a.y()));
  const int x1 = static_cast<int>(std::lround(b.x())), y1 = static_cast<int>(std::lround(b.y()));
  return QRect(x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0));
}

void SlideViewer::drawTiles(QPainter& p, int level, const QRectF& visible) {
  for (const TileKey& k : tilesIn(level, visible))
    if (const QPixmap* pm = m_cache.get(k)) p.drawPixmap(snappedWidgetRect(m_source->tileRectLevel0(k)), *pm);
}

void SlideViewer::paintEvent(QPaintEvent*) {
  // No exception may leave an event handler (Qt's event loop is not exception-safe).
  try {
    QPainter p(this);
    p.fillRect(rect(), QColor(0x40, 0x40, 0x44));
    if (!m_source) {
      p.setPen(QColor(0xd0, 0xd0, 0xd0));
      p.drawText(rect(), Qt::AlignCenter,
                 tr("Open a slide: File \u2192 Open, drop a file here, or pass it on the command line."));
      return;
    }
    if (m_adjustment.isIdentity()) {
      paintSlide(p);
    } else {
      // Display adjustment: the slide is painted into an image, its pixels mapped through the
      // lookup table, then shown; the overlays are painted afterwards, unadjusted.
      const qreal dpr = devicePixelRatioF();
      QImage frame((QSizeF(size()) * dpr).toSize(), QImage::Format_RGB32);
      frame.setDevicePixelRatio(dpr);
      frame.fill(QColor(0x40, 0x40, 0x44));
      {
        QPainter fp(&frame);
        paintSlide(fp);
      }
      m_adjustment.apply(frame);
      p.drawImage(QPointF(0, 0), frame);
    }

    const QRectF visible = visibleLevel0();
    const ViewTransform vt = viewTransform();
    for (const auto& layer : m_overlays) {
      if (!layer->isVisible()) continue;
      p.save();
      layer->paint(p, vt, visible);
      p.restore();
    }
    drawScaleBar(p);
  } catch (const std::exception& e) {
    qCritical() << "SlideViewer::paintEvent:" << e.what();
  } catch (...) {
    qCritical() << "SlideViewer::paintEvent: unknown exception";
  }
}

void SlideViewer::paintSlide(QPainter& p) {
  const auto& m = m_source->metadata();
  const QRectF slideRect(0, 0, static_cast<double>(m.width()), static_cast<double>(m.height()));
  const QRectF visible = visibleLevel0();
  p.setRenderHint(QPainter::SmoothPixmapTransform, true);
  p.fillRect(snappedWidgetRect(slideRect), Qt::white);

  const int level = displayLevel();
  const std::vector<TileKey> tiles = tilesIn(level, visible);
  const bool complete = std::all_of(tiles.begin(), tiles.end(), [&](const TileKey& k) { return m_cache.contains(k); });
  if (!complete) {
    // Painter's algorithm: thumbnail, then coarser cached tiles, each finer layer over the last,
    // so every missing tile shows the best coarser data available.
    if (!m_thumbnail.isNull())
      p.drawPixmap(snappedWidgetRect(QRectF(0, 0, m_thumbnail.width() * m_thumbnailDownsample,
                                            m_thumbnail.height() * m_thumbnailDownsample)),
                   m_thumbnail);
    for (int coarser = m_source->levelCount() - 1; coarser > level; --coarser) drawTiles(p, coarser, visible);
  }
  drawTiles(p, level, visible);
}

void SlideViewer::setDisplayAdjustment(const DisplayAdjustment& adjustment) {
  const DisplayAdjustment a = adjustment.clamped();
  if (a == m_adjustment) return;
  m_adjustment = a;
  update();
  emit displayAdjustmentChanged();
}

void SlideViewer::drawScaleBar(QPainter& p) {
  const auto& m = m_source->metadata();
  std::optional<double> umPerPixel;
  if (m.mpp_x) umPerPixel = *m.mpp_x * m_downsample;
  const ScaleBar bar = chooseScaleBar(umPerPixel, m_downsample, 160);
  if (bar.lengthPixels <= 0) return;
  p.setRenderHint(QPainter::Antialiasing, false);
  const QFontMetrics fm = p.fontMetrics();
  const int pad = 6;
  const int barH = 5;
  const int textW = fm.horizontalAdvance(bar.label);
  const int boxW = std::max(static_cast<int>(std::ceil(bar.lengthPixels)), textW) + 2 * pad;
  const int boxH = fm.height() + barH + 3 * pad;
  const QRect box(12, height() - 12 - boxH, boxW, boxH);
  p.fillRect(box, QColor(255, 255, 255, 210));
  p.setPen(Qt::black);
  p.drawText(QRect(box.left() + pad, box.top() + pad, boxW - 2 * pad, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
             bar.label);
  p.fillRect(QRectF(box.left() + pad, box.bottom() - pad - barH, bar.lengthPixels, barH), Qt::black);
}

void SlideViewer::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  if (!m_source) return;
  if (m_fitted)
    fitToWindow();
  else
    setView(m_center, m_downsample);
  scheduleRequests();
}

void SlideViewer::wheelEvent(QWheelEvent* event) {
  if (!m_source) return event->ignore();
  const QPoint delta = event->angleDelta();
  const int d = delta.y() != 0 ? delta.y() : delta.x();
  if (d == 0) return event->ignore();
  // 120 units = one notch; trackpads send fractions of a notch, hence pow().
  zoomAt(event->position(), std::pow(kZoomStep, d / 120.0));
  event->accept();
}

void SlideViewer::mousePressEvent(QMouseEvent* event) {
  if (!m_source) return QWidget::mousePressEvent(event);
  const ViewTransform vt = viewTransform();
  for (auto it = m_overlays.rbegin(); it != m_overlays.rend(); ++it)
    if ((*it)->isVisible() && (*it)->mousePress(event, vt)) {
      m_grabber = it->get();
      event->accept();
      return;
    }
  if (event->button() == Qt::LeftButton) {
    m_dragLast = event->position();
    m_pressPos = event->position();
    m_dragMoved = false;
    event->accept();
    return;
  }
  QWidget::mousePressEvent(event);
}

void SlideViewer::mouseMoveEvent(QMouseEvent* event) {
  if (m_grabber) {
    m_grabber->mouseMove(event, viewTransform());
  } else if (m_dragLast) {
    const QPointF pos = event->position();
    // A few pixels of jitter while clicking is not a pan: clicks select nuclei.
    if (!m_dragMoved && (pos - m_pressPos).manhattanLength() >= QApplication::startDragDistance() / 2 + 2) {
      m_dragMoved = true;
      setCursor(Qt::ClosedHandCursor);
    }
    if (m_dragMoved) {
      panBy(pos - *m_dragLast);
      m_dragLast = pos;
    }
  } else {
    for (auto it = m_overlays.rbegin(); it != m_overlays.rend(); ++it)
      if ((*it)->isVisible()) (*it)->mouseMove(event, viewTransform());
  }
  if (m_source) emit cursorMoved(mapToLevel0(event->position()));
  QWidget::mouseMoveEvent(event);
}

void SlideViewer::mouseReleaseEvent(QMouseEvent* event) {
  if (m_grabber) {
    OverlayLayer* layer = m_grabber;
    m_grabber = nullptr;
    layer->mouseRelease(event, viewTransform());
    event->accept();
    return;
  }
  if (event->button() == Qt::LeftButton && m_dragLast) {
    m_dragLast.reset();
    unsetCursor();
    if (!m_dragMoved) emit clicked(mapToLevel0(event->position()), event->modifiers());
    event->accept();
    return;
  }
  QWidget::mouseReleaseEvent(event);
}

void SlideViewer::mouseDoubleClickEvent(QMouseEvent* event) {
  const ViewTransform vt = viewTransform();
  for (auto it = m_overlays.rbegin(); it != m_overlays.rend(); ++it)
    if ((*it)->isVisible() && (*it)->mouseDoubleClick(event, vt)) {
      event->accept();
      return;
    }
  // Otherwise a double click is two clicks (press/release pairs already handled).
  QWidget::mouseDoubleClickEvent(event);
}

void SlideViewer::keyPressEvent(QKeyEvent* event) {
  for (auto it = m_overlays.rbegin(); it != m_overlays.rend(); ++it)
    if ((*it)->isVisible() && (*it)->keyPress(event)) {
      event->accept();
      return;
    }
  const QPointF step(width() / 8.0, height() / 8.0);
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      zoomIn();
      break;
    case Qt::Key_Minus:
      zoomOut();
      break;
    case Qt::Key_Left:
      panBy(QPointF(step.x(), 0));
      break;
    case Qt::Key_Right:
      panBy(QPointF(-step.x(), 0));
      break;
    case Qt::Key_Up:
      panBy(QPointF(0, step.y()));
      break;
    case Qt::Key_Down:
      panBy(QPointF(0, -step.y()));
      break;
    case Qt::Key_Home:
      fitToWindow();
      break;
    default:
      QWidget::keyPressEvent(event);
      return;
  }
  event->accept();
}

}  // namespace karyon::ui
