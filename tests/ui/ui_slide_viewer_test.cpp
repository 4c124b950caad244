// SlideViewer on a synthetic pyramidal slide (offscreen platform): tiles fill the cache for the
// visible area and land at the right place, zoom keeps the point under the cursor, keys work, the
// coarser fallback is drawn while tiles load, and overlays get the view transform.
#include <QtTest>
#include <QWheelEvent>
#include <cmath>

#include "karyon/core/image.hpp"
#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/slide_viewer.hpp"
#include "karyon/ui/tile_loader.hpp"
#include "ui_test_support.hpp"

using namespace karyon::ui;

namespace {

constexpr int kWaitMs = 20000;

// Mean absolute per-channel difference between two same-sized images.
double meanAbsDiff(const QImage& a, const QImage& b) {
  const QImage x = a.convertToFormat(QImage::Format_RGB888), y = b.convertToFormat(QImage::Format_RGB888);
  double sum = 0;
  for (int r = 0; r < x.height(); ++r) {
    const uchar* p = x.constScanLine(r);
    const uchar* q = y.constScanLine(r);
    for (int i = 0; i < x.width() * 3; ++i) sum += std::abs(int(p[i]) - int(q[i]));
  }
  return sum / (double(x.width()) * x.height() * 3);
}

class RecordingOverlay : public OverlayLayer {
 public:
  QString name() const override { return QStringLiteral("test marker"); }
  void paint(QPainter& painter, const ViewTransform& view, const QRectF& visibleLevel0) override {
    ++calls;
    lastVisible = visibleLevel0;
    // A 20x20 level-0 px red square at `marker`.
    painter.fillRect(view.toWidget(QRectF(marker, QSizeF(20, 20))), Qt::red);
  }
  int calls = 0;
  QRectF lastVisible;
  QPointF marker{1000, 1000};
};

}  // namespace

class SlideViewerTest : public QObject {
  Q_OBJECT
 private:
  std::shared_ptr<const SlideTileSource> m_source;
  std::unique_ptr<SlideViewer> m_viewer;

  void waitIdle() { QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isIdle(), kWaitMs); }

  // Checks every visible tile of the display level is cached.
  void verifyVisibleCached() {
    const auto tiles = m_viewer->visibleTiles();
    QVERIFY(!tiles.empty());
    for (const TileKey& k : tiles)
      QVERIFY2(m_viewer->tileCache().contains(k),
               qPrintable(QStringLiteral("tile %1/%2/%3 not cached").arg(k.level).arg(k.col).arg(k.row)));
  }

  // Widget pixels vs. the slide read directly at the display level, away from the scale bar.
  // Valid when downsample equals the display level's and the view origin is on whole level pixels,
  // so tiles are drawn 1:1.
  void verifyPixelsMatchSlide() {
    const int level = m_viewer->displayLevel();
    const double ds = m_source->levelDownsample(level);
    QCOMPARE(m_viewer->downsample(), ds);
    const QImage shot = m_viewer->grab().toImage().convertToFormat(QImage::Format_RGB888);
    const QPointF origin = m_viewer->viewTransform().topLeftLevel0;
    const int w = 300, h = 200;  // top-left area: the scale bar sits bottom-left
    karyon::core::RgbImage ref;
    m_source->slide().read_region(level, std::llround(origin.x()), std::llround(origin.y()), w, h, ref);
    const QImage expected = SlideTileSource::toQImage(ref);
    const double diff = meanAbsDiff(shot.copy(0, 0, w, h), expected);
    QVERIFY2(diff < 0.5, qPrintable(QStringLiteral("level %1: mean |diff| %2").arg(level).arg(diff)));
  }

 private slots:
  void initTestCase() {
    m_source = SlideTileSource::open(karyon::uitest::syntheticSlidePath());
    QVERIFY(m_source->levelCount() >= 3);
  }

  void init() {
    m_viewer = std::make_unique<SlideViewer>();
    m_viewer->resize(800, 600);
    m_viewer->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_viewer.get()));
    m_viewer->setSource(m_source);
    waitIdle();
  }

  void cleanup() { m_viewer.reset(); }

  void fit_view_fills_cache_for_visible_tiles() {
    QVERIFY(!m_viewer->thumbnail().isNull());
    QCOMPARE(m_viewer->downsample(), m_viewer->fitDownsample());
    QVERIFY(m_viewer->displayLevel() > 0);
    verifyVisibleCached();
  }

  void zoomed_in_view_fills_cache_and_tiles_land_at_their_slide_position() {
    // Level 0, 1:1, away from the origin (an origin/size frame mix-up would shift the picture).
    m_viewer->setDownsample(1.0);
    m_viewer->centerOn(QPointF(1700, 1300));
    QCOMPARE(m_viewer->displayLevel(), 0);
    waitIdle();
    verifyVisibleCached();
    QVERIFY(m_viewer->visibleTiles().size() >= 4);
    verifyPixelsMatchSlide();
    // Level 1 (downsample 2): read_region takes a level-0 origin with a level-1 size.
    m_viewer->setDownsample(2.0);
    m_viewer->centerOn(QPointF(1800, 1400));
    QCOMPARE(m_viewer->displayLevel(), 1);
    waitIdle();
    verifyVisibleCached();
    verifyPixelsMatchSlide();
  }

  void zoom_at_cursor_keeps_point_under_cursor() {
    const QPointF cursors[] = {{100, 80}, {400, 300}, {731.5, 522.25}, {20, 590}};
    const double factors[] = {1.25, 2.0, 1 / 1.25, 1.7, 0.5};  // product 1.7: stays within zoom limits
    for (const QPointF& c : cursors) {
      m_viewer->setDownsample(3.0);
      m_viewer->centerOn(QPointF(1500, 1250));
      for (double f : factors) {
        const QPointF anchor = m_viewer->mapToLevel0(c);
        const double before = m_viewer->downsample();
        m_viewer->zoomAt(c, f);
        QVERIFY(std::abs(m_viewer->downsample() - before / f) < 1e-9);  // not clamped here
        const QPointF after = m_viewer->mapFromLevel0(anchor);
        QVERIFY2(std::hypot(after.x() - c.x(), after.y() - c.y()) <= 1.0,
                 qPrintable(QStringLiteral("cursor (%1,%2) factor %3 moved to (%4,%5)")
                                .arg(c.x()).arg(c.y()).arg(f).arg(after.x()).arg(after.y())));
      }
    }
  }

  void wheel_zooms_at_cursor() {
    m_viewer->setDownsample(4.0);
    m_viewer->centerOn(QPointF(1500, 1250));
    const QPointF cursor(250, 420);
    const QPointF anchor = m_viewer->mapToLevel0(cursor);
    const double before = m_viewer->downsample();
    QWheelEvent wheel(cursor, m_viewer->mapToGlobal(cursor), QPoint(), QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
    QVERIFY(QCoreApplication::sendEvent(m_viewer.get(), &wheel));
    QVERIFY(m_viewer->downsample() < before);  // wheel away from the user zooms in
    const QPointF after = m_viewer->mapFromLevel0(anchor);
    QVERIFY(std::hypot(after.x() - cursor.x(), after.y() - cursor.y()) <= 1.0);
    waitIdle();
    verifyVisibleCached();
  }

  void drag_pans_and_keys_zoom_pan_and_fit() {
    m_viewer->setDownsample(2.0);
    m_viewer->centerOn(QPointF(1500, 1250));
    QTest::mousePress(m_viewer.get(), Qt::LeftButton, Qt::NoModifier, QPoint(400, 300));
    QTest::mouseMove(m_viewer.get(), QPoint(450, 280));
    QTest::mouseRelease(m_viewer.get(), Qt::LeftButton, Qt::NoModifier, QPoint(450, 280));
    // Content follows the mouse: +50, -20 widget px = -100, +40 level-0 px of view centre.
    QCOMPARE(m_viewer->centerLevel0(), QPointF(1400, 1290));

    const double ds = m_viewer->downsample();
    QTest::keyClick(m_viewer.get(), Qt::Key_Plus);
    QVERIFY(m_viewer->downsample() < ds);
    QTest::keyClick(m_viewer.get(), Qt::Key_Minus);
    QVERIFY(std::abs(m_viewer->downsample() - ds) < 1e-9);
    const QPointF c = m_viewer->centerLevel0();
    QTest::keyClick(m_viewer.get(), Qt::Key_Left);
    QVERIFY(m_viewer->centerLevel0().x() < c.x());
    QTest::keyClick(m_viewer.get(), Qt::Key_Down);
    QVERIFY(m_viewer->centerLevel0().y() > c.y());
    QTest::keyClick(m_viewer.get(), Qt::Key_Home);
    QCOMPARE(m_viewer->downsample(), m_viewer->fitDownsample());
    QCOMPARE(m_viewer->centerLevel0(), QPointF(3072 / 2.0, 2560 / 2.0));
  }

  void missing_tiles_show_coarser_data_scaled_up() {
    // Zoom from the fitted view into level 0 and grab at once: no level-0 tile can have arrived
    // (requests go out on the next event-loop pass), so what shows is the coarser fallback.
    m_viewer->setDownsample(1.0);
    m_viewer->centerOn(QPointF(1500, 1250));
    const QImage fallback = m_viewer->grab().toImage();
    QVERIFY(m_viewer->outstandingRequests() == 0 && !m_viewer->tileCache().contains(m_viewer->visibleTiles().front()));
    waitIdle();
    const QImage sharp = m_viewer->grab().toImage();
    QImage white(sharp.size(), QImage::Format_RGB888);
    white.fill(Qt::white);
    const double fallbackError = meanAbsDiff(fallback, sharp);
    const double blankError = meanAbsDiff(white, sharp);
    QVERIFY2(fallbackError < blankError / 3,
             qPrintable(QStringLiteral("fallback %1 vs blank %2").arg(fallbackError).arg(blankError)));
  }

  void coarser_cover_tiles_are_loaded_with_a_zoomed_in_view() {
    // Empty the cache, then jump to level 0: besides the level-0 tiles, the level-2 tiles (4x
    // coarser) covering the view are read, so later pans show them instead of the thumbnail.
    m_viewer->setCacheMaxBytes(0);
    m_viewer->setCacheMaxBytes(SlideViewer::kDefaultCacheBytes);
    QCOMPARE(m_viewer->tileCache().size(), std::size_t(0));
    m_viewer->setDownsample(1.0);
    m_viewer->centerOn(QPointF(1500, 1250));
    waitIdle();
    verifyVisibleCached();
    const QRectF visible = m_viewer->visibleLevel0();
    const double span = m_source->tileSize() * m_source->levelDownsample(2);
    int coarse = 0;
    for (int r = int(visible.top() / span); r * span < visible.bottom(); ++r)
      for (int c = int(visible.left() / span); c * span < visible.right(); ++c) {
        QVERIFY(m_viewer->tileCache().contains(TileKey{2, c, r}));
        ++coarse;
      }
    QVERIFY(coarse >= 1);
  }

  void fast_panning_ends_with_the_final_viewport_complete() {
    // Twenty viewports in quick succession at level 0, each a new generation that drops the last
    // one's queued requests (tested exactly on the queue itself): the final viewport must still
    // be complete and nothing left queued.
    m_viewer->setDownsample(1.0);
    for (int i = 0; i < 20; ++i) {
      m_viewer->centerOn(QPointF(400 + i * 120, 400 + i * 90));
      QCoreApplication::processEvents();  // issue this viewport's requests
    }
    waitIdle();
    verifyVisibleCached();
    const auto& q = m_viewer->loader()->queue();
    QCOMPARE(q.queued(), std::size_t(0));
  }

  void overlay_layers_paint_with_the_view_transform() {
    auto overlay = std::make_shared<RecordingOverlay>();
    m_viewer->addOverlay(overlay);
    m_viewer->setDownsample(2.0);
    m_viewer->centerOn(QPointF(1000, 1000));
    const QImage shot = m_viewer->grab().toImage();
    QVERIFY(overlay->calls > 0);
    QCOMPARE(overlay->lastVisible, m_viewer->visibleLevel0());
    const QPoint p = m_viewer->mapFromLevel0(overlay->marker + QPointF(10, 10)).toPoint();
    QCOMPARE(shot.pixelColor(p), QColor(Qt::red));
    m_viewer->removeOverlay(overlay);
    const int calls = overlay->calls;
    m_viewer->grab();
    QCOMPARE(overlay->calls, calls);
  }

  void unreadable_tiles_are_reported_once_and_not_retried() {
    // A copy of the slide with its tile data overwritten (directories intact): opening works,
    // tile reads fail inside OpenSlide's JPEG decoder. The viewer must report the error as a
    // signal (no exception out of a slot), stay idle, and not request the failed tiles again.
    const QString src = karyon::uitest::syntheticSlidePath();
    const QString dst = karyon::uitest::scratchDir().filePath(QStringLiteral("damaged.tiff"));
    QFile::remove(dst);
    QVERIFY(QFile::copy(src, dst));
    QFile f(dst);
    QVERIFY(f.open(QIODevice::ReadWrite));
    const qint64 size = f.size();
    f.seek(size / 20);
    f.write(QByteArray(static_cast<int>(size * 0.6), '\x00'));  // the largest level's tiles
    f.close();
    std::shared_ptr<const SlideTileSource> damaged;
    try {
      damaged = SlideTileSource::open(dst);
    } catch (const std::exception& e) {
      QSKIP(qPrintable(QStringLiteral("damaged copy does not even open: %1").arg(e.what())));
    }
    QSignalSpy errors(m_viewer.get(), &SlideViewer::loadError);
    m_viewer->setSource(damaged);
    m_viewer->setDownsample(1.0);
    m_viewer->centerOn(QPointF(1500, 1250));
    waitIdle();
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.at(0).at(0).toString().contains(QStringLiteral("damaged.tiff")),
             qPrintable(errors.at(0).at(0).toString()));
    // Panning back and forth does not queue the failed tiles again.
    m_viewer->panBy(QPointF(1, 1));
    m_viewer->panBy(QPointF(-1, -1));
    QCoreApplication::processEvents();
    QCOMPARE(m_viewer->outstandingRequests(), 0);
    QVERIFY(m_viewer->isIdle());
    QCOMPARE(errors.size(), 1);
  }

  void lru_bound_holds_while_viewing() {
    // A cache of four 512x512 tiles (32-bit pixmaps: 1 MiB each) never exceeds its bytes, even
    // when a viewport needs more tiles than it holds.
    m_viewer->setCacheMaxBytes(4 << 20);
    m_viewer->setDownsample(1.0);
    for (int i = 0; i < 6; ++i) {
      m_viewer->centerOn(QPointF(500 + i * 400, 500 + i * 300));
      waitIdle();
      QVERIFY(m_viewer->tileCache().bytes() <= 4 << 20);
    }
    QVERIFY(m_viewer->tileCache().evictions() > 0);
  }
};

QTEST_MAIN(SlideViewerTest)
#include "ui_slide_viewer_test.moc"
