// Detection and review in the main window (offscreen platform), with the tiny random test model
// (fixed seed, score threshold 0.3) on a small synthetic slide. These test the plumbing — worker
// thread, progress, cancel/resume, the overlay, review edits in the store, undo/redo, persistence
// across a restart, import/export — not the model's accuracy.
//
// One detection run in initTestCase makes the "master" results; tests that only review copy the
// slide and its SLIDE.karyon/ folder into a folder of their own, so that they do not see each
// other's edits.
#include <QtTest>
#include <QAction>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSettings>
#include <QStandardPaths>
#include <QLabel>
#include <QPushButton>
#include <QStatusBar>
#include <QUndoStack>
#include <cmath>
#include <pwd.h>
#include <unistd.h>

#include "karyon/postprocess/nucleus_builder.hpp"
#include "karyon/postprocess/result_store.hpp"
#include "karyon/tiling/slide.hpp"
#include "karyon/tiling/synthetic_slide.hpp"
#include "karyon/ui/detection_controller.hpp"
#include "karyon/ui/main_window.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"
#include "ui_test_support.hpp"

using namespace karyon::ui;
using karyon::core::ReviewState;

namespace {

struct Report {
  QString title, message;
};

// Copies a folder tree (results folders are flat plus regions/, small).
bool copyTree(const QString& from, const QString& to) {
  QDir().mkpath(to);
  const QDir src(from);
  for (const QFileInfo& f : src.entryInfoList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot)) {
    const QString target = QDir(to).filePath(f.fileName());
    if (f.isDir() ? !copyTree(f.absoluteFilePath(), target) : !QFile::copy(f.absoluteFilePath(), target)) return false;
  }
  return true;
}

}  // namespace

class ReviewTest : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> m_window;
  QList<Report> m_reports;
  QString m_slide;   // master slide (1280 x 1024 at 0.5 µm/px)
  QString m_master;  // its results folder after one full run
  qint64 m_masterNuclei = 0;
  int m_folders = 0;

  void newWindow() {
    m_window = std::make_unique<MainWindow>();
    m_window->setErrorReporter([this](const QString& t, const QString& m) { m_reports.append({t, m}); });
    m_window->setConfirmer([](const QString&, const QString&) { return true; });
    m_window->setModelPath(QStringLiteral(KARYON_UI_TEST_MODEL));
    m_window->setScoreThreshold(0.3);  // a random model's scores sit around 0.5
    m_window->resize(1000, 700);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
  }

  bool openAndWait(const QString& path) {
    QSignalSpy opened(m_window.get(), &MainWindow::slideOpened);
    QSignalSpy failed(m_window.get(), &MainWindow::openFailed);
    m_window->openSlide(path);
    if (!QTest::qWaitFor([&] { return opened.size() + failed.size() > 0; }, 20000)) return false;
    return opened.size() == 1;
  }

  // Waits for the end of a detection run; true when it finished (not cancelled or failed).
  bool waitForDetection(int timeoutMs = 90000) {
    QSignalSpy done(m_window.get(), &MainWindow::detectionFinished);
    QSignalSpy stopped(m_window.get(), &MainWindow::detectionStopped);
    if (!QTest::qWaitFor([&] { return done.size() + stopped.size() > 0; }, timeoutMs)) qFatal("detection did not end");
    return done.size() == 1;
  }

  bool waitIdle() { return QTest::qWaitFor([&] { return !m_window->isBusy(); }, 30000); }

  // A fresh folder holding a copy of the master slide and (when `withResults`) its results.
  QString slideCopy(bool withResults) {
    const QString dir = karyon::uitest::scratchDir().filePath(QStringLiteral("case%1").arg(++m_folders));
    QDir().mkpath(dir);
    const QString slide = QDir(dir).filePath(QStringLiteral("slide.tiff"));
    if (!QFile::copy(m_slide, slide)) qFatal("cannot copy the slide");
    if (withResults && !copyTree(m_master, slide + QStringLiteral(".karyon"))) qFatal("cannot copy the results");
    return slide;
  }

  // Opens a copy with results and waits until the counts and the queue are known.
  void openReviewCopy() {
    QVERIFY(openAndWait(slideCopy(true)));
    QVERIFY(m_window->session());
    QVERIFY(waitIdle());
  }

  // Shows nucleus `id` at outline zoom and waits for the viewport query.
  void showNucleus(qint64 id) {
    m_window->jumpTo(id);
    QVERIFY(waitIdle());
    QVERIFY(m_window->overlay()->showsOutlines());
  }

  // `n`'s stored measurements are what postprocess::measure_outline gives for its outline on the
  // slide's level-0 pixels (what a detection's measurements come from, and the CLI uses).
  void expectEngineMeasurements(const karyon::core::Nucleus& n) {
    const auto slide = karyon::tiling::Slide::open(m_window->currentPath().toStdString());
    const qint64 x0 = std::max<qint64>(0, static_cast<qint64>(std::floor(n.bbox.x0)));
    const qint64 y0 = std::max<qint64>(0, static_cast<qint64>(std::floor(n.bbox.y0)));
    karyon::core::RgbImage pixels;
    slide->read_region(0, x0, y0, static_cast<int>(std::min<qint64>(slide->metadata().width(), std::ceil(n.bbox.x1) + 1) - x0),
                       static_cast<int>(std::min<qint64>(slide->metadata().height(), std::ceil(n.bbox.y1) + 1) - y0), pixels);
    const auto e = karyon::postprocess::measure_outline(n, n.polygon, 0.5, 0.5, {&pixels, x0, y0}).measurements;
    const auto& m = n.measurements;
    const double got[] = {m.area_um2, m.perimeter_um, m.circularity, m.solidity, m.eccentricity,
                          m.major_axis_um, m.minor_axis_um, m.hematoxylin_od, m.eosin_od};
    const double want[] = {e.area_um2, e.perimeter_um, e.circularity, e.solidity, e.eccentricity,
                           e.major_axis_um, e.minor_axis_um, e.hematoxylin_od, e.eosin_od};
    const char* names[] = {"area", "perimeter", "circularity", "solidity", "eccentricity", "major axis", "minor axis",
                           "haematoxylin OD", "eosin OD"};
    for (int i = 0; i < 9; ++i)
      QVERIFY2(std::abs(got[i] - want[i]) <= 1e-9 * std::max(1.0, std::abs(want[i])),
               qPrintable(QStringLiteral("%1: stored %2, engine %3").arg(QString::fromLatin1(names[i])).arg(got[i]).arg(want[i])));
  }

  ReviewState stateInStore(const QString& store, qint64 id) {
    return karyon::postprocess::ResultStore(store.toStdString()).get(id).value().state;
  }

 private slots:
  void initTestCase() {
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, karyon::uitest::scratchDir().path());
    QCoreApplication::setOrganizationName(QStringLiteral("KaryonTest"));
    QCoreApplication::setApplicationName(QStringLiteral("karyon-review-test"));
    QStandardPaths::setTestModeEnabled(true);
    if (!QFile::exists(QStringLiteral(KARYON_UI_TEST_MODEL))) QFAIL("test model missing: run the ui.make_model fixture");

    const QString dir = karyon::uitest::scratchDir().filePath(QStringLiteral("master"));
    QDir().mkpath(dir);
    m_slide = QDir(dir).filePath(QStringLiteral("slide.tiff"));
    karyon::tiling::SynthOptions o;
    o.width = 1280;
    o.height = 1024;
    o.mpp = 0.5;  // the tiny model's µm/px: tiles are read without resampling
    karyon::tiling::write_synthetic_slide(m_slide.toStdString(), (dir + QStringLiteral("/truth.geojson")).toStdString(), o);

    // The master run, through the window: progress arrives, nuclei appear while it runs.
    newWindow();
    QVERIFY(openAndWait(m_slide));
    QVERIFY(!m_window->session());  // no results yet
    QVERIFY(m_window->runDetectionAction()->isEnabled());
    QSignalSpy progress(m_window->detector(), &DetectionController::progress);
    QSignalSpy opened(m_window.get(), &MainWindow::resultsOpened);
    QVERIFY(m_window->runDetection());
    QVERIFY(m_window->isDetecting());
    QVERIFY2(waitForDetection(), qPrintable(m_reports.isEmpty() ? QString() : m_reports.first().message));
    QVERIFY(m_reports.isEmpty());
    QVERIFY(progress.size() >= 1);
    const auto last = progress.last().first().value<DetectionProgress>();
    QCOMPARE(last.tilesDone, last.tilesTotal);
    // The store was opened while the run was going (on the first progress signal), not at the end.
    QCOMPARE(opened.size(), 1);
    m_master = m_slide + QStringLiteral(".karyon");
    QCOMPARE(m_window->session()->storePath(), DetectionController::storePathIn(m_master));
    QVERIFY(QFile::exists(m_master + QStringLiteral("/nuclei.geojson")));
    QVERIFY(waitIdle());
    m_masterNuclei = m_window->session()->store().count();
    QVERIFY2(m_masterNuclei > 20, "too few nuclei for the tests to mean anything");
    QCOMPARE(m_window->session()->count(ReviewState::Unreviewed), m_masterNuclei);
    m_window.reset();  // closes every connection, so the folder can be copied consistently
  }

  void init() {
    m_reports.clear();
    newWindow();
  }

  void cleanup() { m_window.reset(); }

  void detection_results_show_as_outlines_and_heatmap() {
    openReviewCopy();
    NucleusOverlay* overlay = m_window->overlay();
    // Fitted view of a 1280 px slide in a ~700 px viewer: outlines (downsample <= 4).
    QVERIFY(overlay->showsOutlines());
    QCOMPARE(static_cast<qint64>(overlay->shapes().size()), m_masterNuclei);
    QVERIFY(!overlay->heatmapImage().isNull());
    QVERIFY(overlay->heatmapMax() > 0);
    // Zoomed out beyond outline level, the heatmap is drawn instead.
    m_window->viewer()->setDownsample(NucleusOverlay::kOutlineMaxDownsample * 1.5);
    QVERIFY(!overlay->showsOutlines());
    // Point-in-polygon picks the nucleus under its centroid.
    const auto n = m_window->session()->nucleus(overlay->shapes().front().id).value();
    QCOMPARE(overlay->nucleusAt(QPointF(n.centroid.x, n.centroid.y)), n.id);
    QCOMPARE(overlay->nucleusAt(QPointF(-1000, -1000)), qint64(0));  // beyond any click slop from every nucleus
  }

  void click_selects_and_keys_review() {
    openReviewCopy();
    const qint64 id = m_window->session()->nextInQueue();
    QVERIFY(id);
    showNucleus(id);
    // A real click at the nucleus' centroid selects it.
    m_window->overlay()->select(0);
    m_window->viewer()->setDownsample(0.25);  // the random model's nuclei are a few pixels wide
    m_window->jumpTo(id);
    m_window->overlay()->select(0);
    QVERIFY(waitIdle());
    const auto n = m_window->session()->nucleus(id).value();
    // A point inside the outline (the stored centroid is the mask's, which for a random model's
    // ragged masks may lie outside the traced outline).
    QPolygonF outline;
    for (const auto& p : n.polygon.outer) outline << QPointF(p.x, p.y);
    std::optional<QPointF> inside;
    for (double y = n.bbox.y0; y <= n.bbox.y1 && !inside; y += 0.25)
      for (double x = n.bbox.x0; x <= n.bbox.x1 && !inside; x += 0.25)
        if (outline.containsPoint(QPointF(x, y), Qt::OddEvenFill)) inside = QPointF(x, y);
    QVERIFY(inside);
    const QPoint at = m_window->viewer()->mapFromLevel0(*inside).toPoint();
    QTest::mouseClick(m_window->viewer(), Qt::LeftButton, Qt::NoModifier, at);
    QCOMPARE(m_window->overlay()->selected(), id);
    // The A key (a window shortcut) accepts it, written to the store at once.
    m_window->activateWindow();
    m_window->viewer()->setFocus();
    QTest::keyClick(m_window->viewer(), Qt::Key_A);
    QCOMPARE(stateInStore(m_window->session()->storePath(), id), ReviewState::Accepted);
    QTest::keyClick(m_window->viewer(), Qt::Key_R);
    QCOMPARE(stateInStore(m_window->session()->storePath(), id), ReviewState::Rejected);
    QCOMPARE(m_window->session()->count(ReviewState::Rejected), qint64(1));
    QCOMPARE(m_window->session()->count(ReviewState::Unreviewed), m_masterNuclei - 1);
  }

  void review_queue_walks_lowest_score_first() {
    openReviewCopy();
    ReviewSession* s = m_window->session();
    QCOMPARE(s->queueSize(), static_cast<int>(m_masterNuclei));
    float previous = -1;
    for (int i = 0; i < 5; ++i) {
      m_window->nextInQueue();
      const qint64 id = m_window->overlay()->selected();
      QVERIFY(id);
      const float score = s->nucleus(id)->score;
      QVERIFY2(score >= previous, "queue not in ascending score order");
      previous = score;
      // The view jumped there: the nucleus is at the centre.
      const auto c = s->nucleus(id)->centroid;
      QVERIFY((m_window->viewer()->centerLevel0() - QPointF(c.x, c.y)).manhattanLength() < 2);
    }
    // The lowest score of all comes first.
    float lowest = 2;
    s->store().for_each([&](const karyon::core::Nucleus& n) { lowest = std::min(lowest, n.score); });
    m_window->previousInQueue();
    m_window->previousInQueue();
    m_window->previousInQueue();
    m_window->previousInQueue();
    QCOMPARE(s->nucleus(m_window->overlay()->selected())->score, lowest);
    // Reviewed nuclei are skipped going forwards.
    const qint64 first = m_window->overlay()->selected();
    m_window->acceptSelected();
    m_window->previousInQueue();  // at the start already: stays
    m_window->nextInQueue();
    QVERIFY(m_window->overlay()->selected() != first);
  }

  void review_edits_survive_a_restart() {
    const QString slide = slideCopy(true);
    QVERIFY(openAndWait(slide));
    QVERIFY(waitIdle());
    ReviewSession* s = m_window->session();
    const qint64 a = s->nextInQueue(), r = s->nextInQueue(), c = s->nextInQueue(), d = s->nextInQueue();
    QVERIFY(a && r && c && d);
    m_window->jumpTo(a);
    m_window->acceptSelected();
    m_window->jumpTo(r);
    m_window->rejectSelected();
    m_window->jumpTo(c);
    m_window->reclassifySelected(QStringLiteral("Lymphocyte"));
    m_window->jumpTo(d);
    m_window->deleteSelected();
    const auto n = s->nucleus(a).value();
    karyon::core::Polygon drawn;
    drawn.outer = {{n.centroid.x + 40, n.centroid.y}, {n.centroid.x + 60, n.centroid.y},
                   {n.centroid.x + 60, n.centroid.y + 20}, {n.centroid.x + 40, n.centroid.y + 20}};
    const qint64 drawnId = s->drawNucleus(drawn);
    QVERIFY(drawnId);
    QVERIFY(m_reports.isEmpty());

    // "Kill" the app: no save step exists, the window just goes.
    m_window.reset();
    newWindow();
    QVERIFY(openAndWait(slide));
    QVERIFY(m_window->session());  // reopened automatically with the slide
    QVERIFY(waitIdle());
    s = m_window->session();
    QCOMPARE(s->nucleus(a)->state, ReviewState::Accepted);
    QCOMPARE(s->nucleus(r)->state, ReviewState::Rejected);
    QCOMPARE(QString::fromStdString(s->nucleus(c)->class_name), QStringLiteral("Lymphocyte"));
    QCOMPARE(s->nucleus(d)->state, ReviewState::Deleted);
    const auto dn = s->nucleus(drawnId).value();
    QCOMPARE(dn.state, ReviewState::Drawn);
    QCOMPARE(dn.polygon.outer.size(), std::size_t(4));
    QCOMPARE(dn.measurements.area_um2, 20 * 20 * 0.5 * 0.5);  // 20 x 20 px at 0.5 µm/px
    QCOMPARE(s->nucleus(c)->state, ReviewState::Accepted);  // reclassifying is a review decision
    QCOMPARE(s->count(ReviewState::Accepted), qint64(2));
    QCOMPARE(s->count(ReviewState::Drawn), qint64(1));
    QCOMPARE(s->count(ReviewState::Unreviewed), m_masterNuclei - 4);
    QVERIFY(s->store().edits().size() >= 5);
  }

  void undo_redo_round_trip_writes_each_step() {
    openReviewCopy();
    ReviewSession* s = m_window->session();
    const QString store = s->storePath();
    const qint64 id = s->nextInQueue();
    m_window->jumpTo(id);
    const auto before = s->nucleus(id).value();
    m_window->acceptSelected();
    m_window->reclassifySelected(QStringLiteral("Tumor"));
    karyon::core::Polygon moved = before.polygon;
    for (auto& p : moved.outer) p.x += 5;
    QVERIFY(s->setPolygon(id, moved));
    QCOMPARE(s->undoStack()->count(), 3);

    s->undoStack()->undo();  // polygon
    QCOMPARE(karyon::postprocess::ResultStore(store.toStdString()).get(id)->polygon.outer.front().x,
             before.polygon.outer.front().x);
    s->undoStack()->undo();  // class
    QCOMPARE(QString::fromStdString(s->nucleus(id)->class_name), QString::fromStdString(before.class_name));
    s->undoStack()->undo();  // state
    QCOMPARE(stateInStore(store, id), ReviewState::Unreviewed);
    QCOMPARE(s->count(ReviewState::Accepted), qint64(0));
    s->undoStack()->redo();
    QCOMPARE(stateInStore(store, id), ReviewState::Accepted);
    s->undoStack()->redo();
    s->undoStack()->redo();
    QCOMPARE(QString::fromStdString(s->nucleus(id)->class_name), QStringLiteral("Tumor"));
    QCOMPARE(s->nucleus(id)->polygon.outer.front().x, before.polygon.outer.front().x + 5);
    // Every step, undo and redo included, is in the store's edit log: 3 edits + 3 undos + 3 redos.
    QCOMPARE(static_cast<int>(s->store().edits().size()), 9);

    // A drawn nucleus: undo marks it deleted (kept in the log), redo brings it back.
    karyon::core::Polygon tri;
    tri.outer = {{10, 10}, {30, 10}, {20, 30}};
    const qint64 drawn = s->drawNucleus(tri);
    s->undoStack()->undo();
    QCOMPARE(stateInStore(store, drawn), ReviewState::Deleted);
    s->undoStack()->redo();
    QCOMPARE(stateInStore(store, drawn), ReviewState::Drawn);
  }

  void dragging_a_vertex_reshapes_the_outline() {
    openReviewCopy();
    ReviewSession* s = m_window->session();
    const qint64 id = s->nextInQueue();
    showNucleus(id);
    m_window->viewer()->setDownsample(0.25);  // closest zoom: vertices far enough apart to grab one
    m_window->jumpTo(id);
    QVERIFY(waitIdle());
    const auto before = s->nucleus(id).value();
    const QPointF v0(before.polygon.outer.front().x, before.polygon.outer.front().y);
    const QPoint from = m_window->viewer()->mapFromLevel0(v0).toPoint();
    const QPoint to = from + QPoint(12, 8);
    QTest::mousePress(m_window->viewer(), Qt::LeftButton, Qt::NoModifier, from);
    QMouseEvent move(QEvent::MouseMove, QPointF(to), m_window->viewer()->mapToGlobal(QPointF(to)), Qt::NoButton,
                     Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(m_window->viewer(), &move);
    QTest::mouseRelease(m_window->viewer(), Qt::LeftButton, Qt::NoModifier, to);
    const auto after = s->nucleus(id).value();
    const QPointF expected = m_window->viewer()->mapToLevel0(QPointF(to));
    QVERIFY(std::abs(after.polygon.outer.front().x - expected.x()) < 1e-6);
    QVERIFY(std::abs(after.polygon.outer.front().y - expected.y()) < 1e-6);
    QVERIFY(after.measurements.area_um2 != before.measurements.area_um2);
    // Not only area and perimeter: every measurement follows the new outline.
    expectEngineMeasurements(after);
    // The view did not pan: the press went to the vertex, not to the viewer.
    QCOMPARE(m_window->viewer()->mapFromLevel0(v0).toPoint(), from);
    s->undoStack()->undo();
    QCOMPARE(s->nucleus(id)->polygon.outer.front().x, before.polygon.outer.front().x);
  }

  void drawing_a_nucleus_with_the_mouse() {
    openReviewCopy();
    m_window->viewer()->setDownsample(1);
    QVERIFY(waitIdle());
    m_window->overlay()->setTool(NucleusOverlay::Tool::Draw);
    const QPoint pts[] = {{100, 100}, {140, 100}, {140, 130}, {100, 130}};
    for (const QPoint& p : pts) QTest::mouseClick(m_window->viewer(), Qt::LeftButton, Qt::NoModifier, p);
    QTest::keyClick(m_window->viewer(), Qt::Key_Return);
    QCOMPARE(m_window->overlay()->tool(), NucleusOverlay::Tool::Navigate);
    const qint64 id = m_window->overlay()->selected();
    QVERIFY(id);
    const auto n = m_window->session()->nucleus(id).value();
    QCOMPARE(n.state, ReviewState::Drawn);
    QCOMPARE(n.polygon.outer.size(), std::size_t(4));
    QCOMPARE(n.measurements.area_um2, 40 * 30 * 0.5 * 0.5);  // 40 x 30 px at downsample 1, 0.5 µm/px
    // Every measurement, as the engine measures an outline on the slide's own pixels (not 0).
    const auto m = n.measurements;
    QVERIFY(m.circularity > 0.5 && m.solidity > 0.99 && m.eccentricity > 0.5 && m.major_axis_um > m.minor_axis_um);
    expectEngineMeasurements(n);
  }

  void export_then_import_round_trip() {
    openReviewCopy();
    const QString out = karyon::uitest::scratchDir().filePath(QStringLiteral("export%1").arg(m_folders));
    QDir().mkpath(out);
    QSignalSpy exported(m_window.get(), &MainWindow::exportFinished);
    m_window->exportResults(QStringLiteral("geojson"), out + QStringLiteral("/nuclei.geojson"));
    m_window->exportResults(QStringLiteral("csv"), out + QStringLiteral("/nuclei.csv"));
    m_window->exportResults(QStringLiteral("heatmap"), out + QStringLiteral("/heatmap.png"));
    QVERIFY(QTest::qWaitFor([&] { return exported.size() == 3; }, 30000));
    for (const auto& e : exported) QVERIFY2(e.at(2).toString().isEmpty(), qPrintable(e.at(2).toString()));
    QCOMPARE(exported.at(0).at(1).toLongLong(), m_masterNuclei);
    QFile geo(out + QStringLiteral("/nuclei.geojson"));
    QVERIFY(geo.open(QIODevice::ReadOnly));
    const QJsonObject fc = QJsonDocument::fromJson(geo.readAll()).object();
    QCOMPARE(fc.value(QStringLiteral("type")).toString(), QStringLiteral("FeatureCollection"));
    QCOMPARE(static_cast<qint64>(fc.value(QStringLiteral("features")).toArray().size()), m_masterNuclei);
    QFile csv(out + QStringLiteral("/nuclei.csv"));
    QVERIFY(csv.open(QIODevice::ReadOnly));
    QCOMPARE(static_cast<qint64>(csv.readAll().count('\n')), m_masterNuclei + 1);  // header + rows
    QVERIFY(QImage(out + QStringLiteral("/heatmap.png")).width() > 0);

    // Into a slide without results: the import creates its store and shows the nuclei.
    m_window.reset();
    newWindow();
    QVERIFY(openAndWait(slideCopy(false)));
    QVERIFY(!m_window->session());
    QSignalSpy imported(m_window.get(), &MainWindow::importFinished);
    QSignalSpy importFailed(m_window.get(), &MainWindow::importFailed);
    QVERIFY(m_window->importGeoJson(out + QStringLiteral("/nuclei.geojson")));
    // Asynchronous: the call returns before the file is read; the window is busy until the end.
    QVERIFY(m_window->isImporting());
    QVERIFY(m_window->isBusy());
    QVERIFY(imported.wait(60000));
    QCOMPARE(imported.first().at(1).toLongLong(), m_masterNuclei);
    QVERIFY(importFailed.isEmpty());
    QVERIFY(!m_window->isImporting());
    QVERIFY(waitIdle());
    QCOMPARE(m_window->session()->count(ReviewState::Drawn), m_masterNuclei);
    QCOMPARE(static_cast<qint64>(m_window->overlay()->shapes().size()), m_masterNuclei);
    // A bad file is reported with its name, not thrown, and what the store held stays.
    QVERIFY(m_window->importGeoJson(out + QStringLiteral("/nuclei.csv")));
    QVERIFY(importFailed.wait(30000));
    QVERIFY2(importFailed.first().at(1).toString().contains(QStringLiteral("nuclei.csv")),
             qPrintable(importFailed.first().at(1).toString()));
    QCOMPARE(imported.size(), 1);
    QCOMPARE(m_reports.size(), 1);
    QVERIFY(m_reports.first().message.contains(QStringLiteral("nuclei.csv")));
    QVERIFY(waitIdle());
    QCOMPARE(m_window->session()->count(ReviewState::Drawn), m_masterNuclei);
    // One import at a time; closing the results before the file is read stops it, and the store
    // keeps what it had.
    const QString store = m_window->session()->storePath();
    QVERIFY(m_window->importGeoJson(out + QStringLiteral("/nuclei.geojson")));
    QVERIFY(!m_window->importGeoJson(out + QStringLiteral("/nuclei.geojson")));
    QCOMPARE(m_reports.size(), 2);
    m_window->closeResults();
    QVERIFY(importFailed.wait(30000));
    QVERIFY2(importFailed.last().at(1).toString().contains(QStringLiteral("closed")),
             qPrintable(importFailed.last().at(1).toString()));
    QCOMPARE(m_reports.size(), 3);
    QCOMPARE(imported.size(), 1);
    QVERIFY(m_window->openResults(store));
    QVERIFY(waitIdle());
    QCOMPARE(m_window->session()->count(ReviewState::Drawn), m_masterNuclei);
  }

  void cancel_then_run_again_resumes() {
    QVERIFY(openAndWait(slideCopy(false)));
    QSignalSpy stopped(m_window.get(), &MainWindow::detectionStopped);
    // Cancel as soon as the first tile is stored, so some work is kept and some remains.
    connect(m_window->detector(), &DetectionController::progress, m_window.get(), [this] { m_window->cancelDetection(); });
    QVERIFY(m_window->runDetection());
    QVERIFY(!waitForDetection());
    QCOMPARE(stopped.size(), 1);
    QCOMPARE(stopped.first().at(1).toBool(), true);  // cancelled, not failed
    QVERIFY(m_reports.isEmpty());
    QVERIFY(!m_window->isDetecting());
    QVERIFY(m_window->runDetectionAction()->isEnabled());
    disconnect(m_window->detector(), &DetectionController::progress, m_window.get(), nullptr);
    QVERIFY(m_window->session());  // the partial results are shown
    const qint64 partial = m_window->session()->store().count();
    QVERIFY(partial < m_masterNuclei);
    // Same settings: the second run resumes the store (analyze_slide would refuse a fresh run).
    QVERIFY(m_window->runDetection());
    QVERIFY2(waitForDetection(), qPrintable(m_reports.isEmpty() ? QString() : m_reports.first().message));
    QVERIFY(waitIdle());
    QCOMPARE(m_window->session()->store().count(), m_masterNuclei);
  }

  void other_settings_keep_the_old_results_aside() {
    const QString slide = slideCopy(true);
    QVERIFY(openAndWait(slide));
    QStringList questions;
    m_window->setConfirmer([&](const QString&, const QString& q) {
      questions << q;
      return true;
    });
    m_window->setScoreThreshold(0.6);
    QVERIFY(m_window->runDetection());
    QVERIFY2(waitForDetection(), qPrintable(m_reports.isEmpty() ? QString() : m_reports.first().message));
    QCOMPARE(questions.size(), 1);
    const QStringList aside = QDir(QFileInfo(slide).absolutePath())
                                  .entryList({QStringLiteral("slide.tiff.karyon.previous-*")}, QDir::Dirs);
    QCOMPARE(aside.size(), 1);
    QVERIFY(waitIdle());
    // A higher threshold keeps fewer nuclei; the old run is intact next to it.
    QVERIFY(m_window->session()->store().count() <= m_masterNuclei);
    const QString oldStore = QDir(QFileInfo(slide).absolutePath()).filePath(aside.first() + QStringLiteral("/results.sqlite"));
    QCOMPARE(karyon::postprocess::ResultStore(oldStore.toStdString()).count(), m_masterNuclei);
  }

  void region_run_goes_to_its_own_folder() {
    const QString slide = slideCopy(false);
    QVERIFY(openAndWait(slide));
    const QRect region(0, 0, 640, 512);
    QVERIFY(m_window->runDetection(region));
    QVERIFY2(waitForDetection(), qPrintable(m_reports.isEmpty() ? QString() : m_reports.first().message));
    QVERIFY(waitIdle());
    const QString expected = slide + QStringLiteral(".karyon/regions/x0_y0_w640_h512/results.sqlite");
    QCOMPARE(m_window->session()->storePath(), expected);
    const qint64 n = m_window->session()->store().count();
    // (Not compared with the whole-slide count: a random model's output depends on the tile grid.)
    QVERIFY(n > 0);
    // The run was limited to the tiles around the region: nothing beyond one tile (512 px here, the
    // slide being at the model's µm/px) from it.
    qint64 outside = 0;
    m_window->session()->store().for_each([&](const karyon::core::Nucleus& nu) {
      QVERIFY(nu.centroid.x < 640 + 512 && nu.centroid.y < 512 + 512);
      if (!QRectF(region).contains(QPointF(nu.centroid.x, nu.centroid.y))) ++outside;
    });
    QCOMPARE(outside, qint64(0));
    // Reopening the slide finds the region's results (there are no whole-slide ones).
    m_window.reset();
    newWindow();
    QVERIFY(openAndWait(slide));
    QVERIFY(m_window->session());
    QCOMPARE(m_window->session()->storePath(), expected);
    // The same region again resumes its store instead of failing on it.
    QVERIFY(m_window->runDetection(region));
    QVERIFY2(waitForDetection(), qPrintable(m_reports.isEmpty() ? QString() : m_reports.first().message));
    QCOMPARE(m_window->session()->store().count(), n);
  }

  void bad_model_is_reported_not_fatal() {
    QVERIFY(openAndWait(slideCopy(false)));
    const QString bad = karyon::uitest::scratchDir().filePath(QStringLiteral("no-such-model.json"));
    m_window->setModelPath(bad);
    QVERIFY(m_window->runDetection());
    QVERIFY(!waitForDetection());
    QCOMPARE(m_reports.size(), 1);
    QCOMPARE(m_reports.first().title, QStringLiteral("Detection failed"));
    QVERIFY2(m_reports.first().message.contains(QStringLiteral("no-such-model.json")), qPrintable(m_reports.first().message));
    QVERIFY(!m_window->isDetecting());
    // The window still works: a good model runs afterwards.
    m_window->setModelPath(QStringLiteral(KARYON_UI_TEST_MODEL));
    QVERIFY(m_window->runDetectionAction()->isEnabled());
  }

  void rubber_band_region_starts_a_region_run() {
    QVERIFY(openAndWait(slideCopy(false)));
    // A model that cannot load: the run fails fast, which is enough to see what was asked for.
    m_window->setModelPath(karyon::uitest::scratchDir().filePath(QStringLiteral("absent.json")));
    m_window->viewer()->setDownsample(1);
    m_window->viewer()->centerOn(QPointF(640, 512));
    QVERIFY(waitIdle());
    QSignalSpy chosen(m_window->overlay(), &NucleusOverlay::regionChosen);
    m_window->overlay()->setTool(NucleusOverlay::Tool::Region);
    const QPoint from(50, 60), to(250, 180);
    QTest::mousePress(m_window->viewer(), Qt::LeftButton, Qt::NoModifier, from);
    QMouseEvent move(QEvent::MouseMove, QPointF(to), m_window->viewer()->mapToGlobal(QPointF(to)), Qt::NoButton,
                     Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(m_window->viewer(), &move);
    QTest::mouseRelease(m_window->viewer(), Qt::LeftButton, Qt::NoModifier, to);
    QCOMPARE(chosen.size(), 1);
    const QRect r = chosen.first().first().toRect();
    const QPointF tl = m_window->viewer()->mapToLevel0(QPointF(from));
    QVERIFY(std::abs(r.x() - tl.x()) <= 1 && std::abs(r.y() - tl.y()) <= 1);
    QVERIFY(std::abs(r.width() - 200) <= 2 && std::abs(r.height() - 120) <= 2);  // downsample 1
    QCOMPARE(m_window->overlay()->tool(), NucleusOverlay::Tool::Navigate);
    // The band started a region run, into the region's own folder (it then fails on the model).
    QVERIFY(m_window->detector()->request().regionLevel0.has_value());
    QCOMPARE(*m_window->detector()->request().regionLevel0, r);
    QVERIFY(m_window->detector()->request().outputDir.contains(QStringLiteral("/regions/x")));
    QVERIFY(!waitForDetection());
    QCOMPARE(m_reports.size(), 1);
  }

  void read_only_slide_folder_falls_back_to_app_data() {
    const QString dir = karyon::uitest::scratchDir().filePath(QStringLiteral("readonly"));
    QDir().mkpath(dir);
    const QString slide = QDir(dir).filePath(QStringLiteral("slide.tiff"));
    QVERIFY(QFile::copy(m_slide, slide));
    QVERIFY(QFile::setPermissions(dir, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
    const bool writable = QFileInfo(dir).isWritable();  // root may write anywhere
    const QString out = DetectionController::outputFolderFor(slide);
    QFile::setPermissions(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    if (writable) {
      QCOMPARE(out, slide + QStringLiteral(".karyon"));
    } else {
      QVERIFY2(out.startsWith(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)), qPrintable(out));
      QVERIFY(out.endsWith(QStringLiteral(".karyon")));
    }
    // A region gets its own folder, named by its level-0 rectangle.
    QCOMPARE(DetectionController::outputFolderFor(slide, QRect(1, 2, 3, 4)),
             (writable ? slide + QStringLiteral(".karyon") : out) + QStringLiteral("/regions/x1_y2_w3_h4"));
  }

  void reclassify_marks_the_nucleus_reviewed() {
    openReviewCopy();
    ReviewSession* s = m_window->session();
    const qint64 id = s->nextInQueue();
    m_window->jumpTo(id);
    m_window->reclassifySelected(QStringLiteral("Lymphocyte"));
    QCOMPARE(stateInStore(s->storePath(), id), ReviewState::Accepted);
    QCOMPARE(QString::fromStdString(s->nucleus(id)->class_name), QStringLiteral("Lymphocyte"));
    QCOMPARE(s->count(ReviewState::Unreviewed), m_masterNuclei - 1);
    QCOMPARE(s->count(ReviewState::Accepted), qint64(1));
    // One step to undo: class and state together.
    QCOMPARE(s->undoStack()->count(), 1);
    s->undoStack()->undo();
    QCOMPARE(stateInStore(s->storePath(), id), ReviewState::Unreviewed);
    QCOMPARE(QString::fromStdString(s->nucleus(id)->class_name), QStringLiteral("Nucleus"));
    QCOMPARE(s->count(ReviewState::Unreviewed), m_masterNuclei);
    // A drawn nucleus stays drawn when its class changes.
    karyon::core::Polygon tri;
    tri.outer = {{10, 10}, {30, 10}, {20, 30}};
    const qint64 drawn = s->drawNucleus(tri);
    m_window->jumpTo(drawn);
    m_window->reclassifySelected(QStringLiteral("Tumor"));
    QCOMPARE(stateInStore(s->storePath(), drawn), ReviewState::Drawn);
  }

  void edit_log_names_the_os_user() {
    // Whatever the environment says (a desktop launcher may set no USER at all): the account.
    const QByteArray user = qgetenv("USER"), username = qgetenv("USERNAME"), logname = qgetenv("LOGNAME");
    qunsetenv("USER");
    qunsetenv("USERNAME");
    qunsetenv("LOGNAME");
    openReviewCopy();
    const passwd* pw = getpwuid(geteuid());
    QVERIFY(pw && pw->pw_name);
    QCOMPARE(m_window->session()->user(), QString::fromLocal8Bit(pw->pw_name));
    m_window->jumpTo(m_window->session()->nextInQueue());
    m_window->acceptSelected();
    const auto edits = m_window->session()->store().edits();
    QVERIFY(!edits.empty());
    QCOMPARE(QString::fromStdString(edits.back().user), QString::fromLocal8Bit(pw->pw_name));
    if (!user.isNull()) qputenv("USER", user);
    if (!username.isNull()) qputenv("USERNAME", username);
    if (!logname.isNull()) qputenv("LOGNAME", logname);
  }

  void review_keys_with_nothing_selected_say_so() {
    openReviewCopy();
    m_window->overlay()->select(0);
    m_window->statusBar()->clearMessage();
    m_window->activateWindow();
    m_window->viewer()->setFocus();
    for (const int key : {int(Qt::Key_A), int(Qt::Key_R), int(Qt::Key_Delete)}) {
      m_window->statusBar()->clearMessage();
      QTest::keyClick(m_window->viewer(), static_cast<Qt::Key>(key));
      QVERIFY2(m_window->statusBar()->currentMessage().contains(QStringLiteral("no nucleus is selected")),
               qPrintable(m_window->statusBar()->currentMessage()));
    }
    QCOMPARE(m_window->session()->count(ReviewState::Unreviewed), m_masterNuclei);
    // With results the review buttons work.
    QVERIFY(m_window->findChild<QPushButton*>(QStringLiteral("acceptButton"))->isEnabled());
    QVERIFY(m_window->findChild<QPushButton*>(QStringLiteral("nextButton"))->isEnabled());
  }

  void review_queue_total_is_the_same_after_a_restart() {
    const QString slide = slideCopy(true);
    QVERIFY(openAndWait(slide));
    QVERIFY(waitIdle());
    auto* queue = m_window->findChild<QLabel*>(QStringLiteral("reviewQueue"));
    QVERIFY(queue);
    m_window->nextInQueue();
    m_window->acceptSelected();
    m_window->nextInQueue();
    m_window->rejectSelected();
    const QString inSession = queue->text();
    QVERIFY2(inSession.contains(QString::number(m_masterNuclei - 2)), qPrintable(inSession));
    m_window.reset();
    newWindow();
    QVERIFY(openAndWait(slide));
    QVERIFY(waitIdle());
    queue = m_window->findChild<QLabel*>(QStringLiteral("reviewQueue"));
    QCOMPARE(queue->text(), inSession);
  }

  void results_folder_geojson_and_csv_follow_the_review() {
    openReviewCopy();
    ReviewSession* s = m_window->session();
    const QDir folder = QFileInfo(s->storePath()).dir();
    const qint64 a = s->nextInQueue(), r = s->nextInQueue();
    m_window->jumpTo(a);
    m_window->acceptSelected();
    m_window->jumpTo(r);
    m_window->rejectSelected();
    QVERIFY(m_window->outputsPending());
    QVERIFY(waitIdle());
    auto features = [&] {
      QFile f(folder.filePath(QStringLiteral("nuclei.geojson")));
      if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read nuclei.geojson");
      QHash<QString, QString> states;  // uuid -> state
      for (const auto v : QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("features")).toArray()) {
        const QJsonObject o = v.toObject();
        states.insert(o.value(QStringLiteral("id")).toString(),
                      o.value(QStringLiteral("properties")).toObject().value(QStringLiteral("karyon")).toObject()
                          .value(QStringLiteral("state")).toString());
      }
      return states;
    };
    auto csvRows = [&] {
      QFile f(folder.filePath(QStringLiteral("nuclei.csv")));
      if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read nuclei.csv");
      return static_cast<qint64>(f.readAll().count('\n')) - 1;  // less the header
    };
    auto states = features();
    const QString ua = QString::fromStdString(s->nucleus(a)->uuid), ur = QString::fromStdString(s->nucleus(r)->uuid);
    QCOMPARE(states.value(ua), QStringLiteral("accepted"));
    QVERIFY(!states.contains(ur));  // rejected: left out, as by karyon-cli analyze
    QCOMPARE(static_cast<qint64>(states.size()), m_masterNuclei - 1);
    QCOMPARE(csvRows(), m_masterNuclei - 1);
    // Undo is an edit too.
    s->undoStack()->undo();
    QVERIFY(waitIdle());
    states = features();
    QCOMPARE(states.value(ur), QStringLiteral("unreviewed"));
    QCOMPARE(csvRows(), m_masterNuclei);
    // Closing the results writes what is still due at once.
    m_window->jumpTo(a);
    m_window->rejectSelected();
    m_window->closeResults();
    QVERIFY(!features().contains(ua));
  }
};

QTEST_MAIN(ReviewTest)
#include "ui_review_test.moc"
