// The nucleus overlay with many nuclei (offscreen platform): the viewport query is bounded
// (kMaxOutlines) and runs off the GUI thread, a crowded view falls back to the heatmap, a zoomed-in
// view shows every outline in it, and a repaint stays cheap. Default: 60,000 nuclei on the 3072 x
// 2560 synthetic slide (more than kMaxOutlines, so the limit is exercised, in a few seconds);
// KARYON_UI_SCALE_NUCLEI=1000000 runs the million-nucleus case and prints its timings.
#include <QtTest>
#include <QElapsedTimer>
#include <QSettings>
#include <cmath>

#include "karyon/postprocess/result_store.hpp"
#include "karyon/ui/main_window.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"
#include "ui_test_support.hpp"

using namespace karyon::ui;

class OverlayScaleTest : public QObject {
  Q_OBJECT
 private slots:
  void crowded_slide_stays_interactive() {
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, karyon::uitest::scratchDir().path());
    QCoreApplication::setOrganizationName(QStringLiteral("KaryonTest"));
    QCoreApplication::setApplicationName(QStringLiteral("karyon-scale-test"));
    const qint64 n = qEnvironmentVariableIsSet("KARYON_UI_SCALE_NUCLEI")
                         ? qEnvironmentVariable("KARYON_UI_SCALE_NUCLEI").toLongLong()
                         : 60000;
    QVERIFY(n > static_cast<qint64>(NucleusOverlay::kMaxOutlines));
    const QString slide = karyon::uitest::syntheticSlidePath();  // 3072 x 2560 px
    const QString store = karyon::uitest::scratchDir().filePath(QStringLiteral("crowded.sqlite"));

    // A regular grid of small hexagonal nuclei, committed in tile-sized transactions like the pipeline.
    QElapsedTimer clock;
    clock.start();
    const double step = std::sqrt(3072.0 * 2560.0 / static_cast<double>(n));
    const int cols = static_cast<int>(3072 / step);
    const auto centre = [&](qint64 i) { return QPointF((i % cols + 0.5) * step, (i / cols + 0.5) * step); };
    {
      karyon::postprocess::ResultStore s(store.toStdString());
      std::vector<karyon::core::Nucleus> batch;
      qint64 made = 0;
      for (int i = 0; made < n; ++i, ++made) {
        const double cx = centre(i).x(), cy = centre(i).y();
        const double r = step * 0.35;
        karyon::core::Nucleus nu;
        nu.uuid = "n" + std::to_string(i);
        nu.tile_id = i / 1000;
        for (int k = 0; k < 6; ++k)
          nu.polygon.outer.push_back({cx + r * std::cos(k * M_PI / 3), cy + r * std::sin(k * M_PI / 3)});
        nu.bbox = {cx - r, cy - r, cx + r, cy + r};
        nu.centroid = {cx, cy};
        nu.score = static_cast<float>(0.3 + 0.7 * ((i * 7919) % 1000) / 1000.0);
        batch.push_back(std::move(nu));
        if (batch.size() == 5000) {
          s.commit(batch, {});
          batch.clear();
        }
      }
      if (!batch.empty()) s.commit(batch, {});
    }
    qInfo("store with %lld nuclei written in %lld ms", n, clock.elapsed());

    MainWindow window;
    window.setErrorReporter([](const QString& t, const QString& m) { qFatal("%s: %s", qPrintable(t), qPrintable(m)); });
    window.resize(1200, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QSignalSpy opened(&window, &MainWindow::slideOpened);
    window.openSlide(slide);
    QVERIFY(QTest::qWaitFor([&] { return opened.size() == 1; }, 20000));
    clock.restart();
    QVERIFY(window.openResults(store));
    const qint64 openMs = clock.elapsed();
    QVERIFY2(openMs < 2000, "opening results must not scan the store on the GUI thread");
    QVERIFY(QTest::qWaitFor([&] { return !window.isBusy(); }, 300000));
    qInfo("results opened in %lld ms (GUI thread); query + heatmap + counts done after %lld ms", openMs, clock.elapsed());
    NucleusOverlay* overlay = window.overlay();
    SlideViewer* viewer = window.viewer();

    // The whole slide in view at outline level (downsample 3 <= 4): too many nuclei in view, so the
    // query stopped at the limit and the heatmap is drawn.
    viewer->setDownsample(3.0);
    QVERIFY(QTest::qWaitFor([&] { return !window.isBusy(); }, 60000));
    QVERIFY(overlay->outlinesTruncated());
    QCOMPARE(overlay->shapes().size(), NucleusOverlay::kMaxOutlines);
    QVERIFY(!overlay->heatmapImage().isNull());
    QVERIFY(!overlay->showsOutlines());
    QCOMPARE(window.session()->count(karyon::core::ReviewState::Unreviewed), n);
    QCOMPARE(window.session()->queueSize(), static_cast<int>(n));

    // Zoomed in: a fresh query of the viewport returns every nucleus in it, and outlines are drawn.
    // Closest zoom: on this small slide a million nuclei are far denser than in tissue (one per
    // 3 px), and the viewport must still hold fewer than kMaxOutlines of them.
    viewer->setDownsample(viewer->minDownsample());
    viewer->centerOn(QPointF(1536, 1280));
    clock.restart();
    QVERIFY(QTest::qWaitFor([&] { return !overlay->queryPending(); }, 30000));
    const qint64 queryMs = clock.elapsed();
    const std::size_t fetched = overlay->shapes().size();
    QVERIFY(!overlay->outlinesTruncated());
    QVERIFY(overlay->showsOutlines());
    QVERIFY(!overlay->shapes().empty());
    // Every nucleus whose centre is on screen was fetched (the cache covers the viewport + margin).
    const QRectF visible = viewer->visibleLevel0();
    qint64 inView = 0, expected = 0;
    for (const auto& s : overlay->shapes()) inView += visible.contains(s.bbox.center());
    for (qint64 i = 0; i < n; ++i) expected += visible.contains(centre(i));
    QVERIFY(expected > 0);
    QCOMPARE(inView, expected);

    // Repaints with outlines and with the heatmap, timed for the record (the machine is shared,
    // so the bound is generous: it catches a per-nucleus GUI-thread loop over the whole store).
    clock.restart();
    for (int i = 0; i < 5; ++i) viewer->grab();
    const qint64 outlineMs = clock.elapsed() / 5;
    viewer->setDownsample(3.0);
    QVERIFY(QTest::qWaitFor([&] { return !window.isBusy(); }, 60000));
    QVERIFY(!overlay->showsOutlines());
    clock.restart();
    for (int i = 0; i < 5; ++i) viewer->grab();
    const qint64 heatmapMs = clock.elapsed() / 5;
    qInfo("zoomed query %lld ms (%zu nuclei fetched); repaint with outlines %lld ms, with heatmap %lld ms", queryMs,
          fetched, outlineMs, heatmapMs);
    QVERIFY2(outlineMs < 1000 && heatmapMs < 1000, "a repaint took over a second");
  }
};

QTEST_MAIN(OverlayScaleTest)
#include "ui_overlay_scale_test.moc"
