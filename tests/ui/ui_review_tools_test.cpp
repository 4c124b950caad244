// The review tools a QuPath user expects (issue 14), in the main window on the offscreen platform,
// over the synthetic slide and a results store made here (no model needed): review states in
// exports with rejected nuclei left out and counted, the measurement table (sort, click to go
// there, counts per class and state, histogram), brightness/contrast/gamma of the display only,
// outlines hidden by state and class, auto-advance after Accept/Reject, Help → Keyboard Shortcuts.
#include <QtTest>
#include <QAction>
#include <QComboBox>
#include <QFile>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QMenu>
#include <QSettings>
#include <QSlider>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableView>
#include <cmath>

#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/result_store.hpp"
#include "karyon/ui/display_adjustment.hpp"
#include "karyon/ui/histogram_widget.hpp"
#include "karyon/ui/image_adjust_dialog.hpp"
#include "karyon/ui/main_window.hpp"
#include "karyon/ui/measurement_panel.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/nucleus_table_model.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/shortcuts_dialog.hpp"
#include "karyon/ui/slide_viewer.hpp"
#include "ui_test_support.hpp"

using namespace karyon::ui;
using karyon::core::ReviewState;

namespace {

constexpr int kGrid = 6;            // kGrid x kGrid nuclei
constexpr double kStep = 60;        // level-0 px between centres
const QPointF kCentre(1500, 1200);  // of the grid, level-0 px
constexpr double kMpp = 0.25;       // the synthetic slide's

QPointF centreOf(int i) {
  return {kCentre.x() + (i % kGrid - (kGrid - 1) / 2.0) * kStep, kCentre.y() + (i / kGrid - (kGrid - 1) / 2.0) * kStep};
}

// What each made nucleus is, by index (ids are index + 1).
ReviewState stateOf(int i) {
  switch (i % 9) {
    case 1: return ReviewState::Accepted;
    case 2: return ReviewState::Rejected;
    case 4: return ReviewState::Deleted;
    default: return ReviewState::Unreviewed;
  }
}
bool isTumor(int i) { return i % 9 == 3; }
double radiusOf(int i) { return 10 + (i * 7) % 11; }  // 10..20 px, not monotonic in i

}  // namespace

class ReviewToolsTest : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> m_window;
  QStringList m_reports;
  int m_stores = 0;
  static constexpr int kCount = kGrid * kGrid;

  // A fresh store of kCount hexagon-ish nuclei in a grid, with the states and classes above.
  QString makeStore() {
    const QString path = karyon::uitest::scratchDir().filePath(QStringLiteral("tools%1.sqlite").arg(++m_stores));
    karyon::postprocess::ResultStore s(path.toStdString());
    std::vector<karyon::core::Nucleus> nuclei;
    for (int i = 0; i < kCount; ++i) {
      karyon::core::Nucleus n;
      n.uuid = "00000000-0000-4000-8000-" + std::to_string(100000000000 + i);
      n.tile_id = 0;
      const QPointF c = centreOf(i);
      const double r = radiusOf(i);
      for (int k = 0; k < 12; ++k)
        n.polygon.outer.push_back({c.x() + r * std::cos(k * M_PI / 6), c.y() + r * std::sin(k * M_PI / 6)});
      karyon::postprocess::set_bounds_and_centroid(n);
      n.score = static_cast<float>(0.30 + 0.01 * ((i * 13) % kCount));  // distinct: a fixed queue order
      n.measurements.area_um2 = karyon::postprocess::polygon_area(n.polygon) * kMpp * kMpp;
      n.measurements.perimeter_um = karyon::postprocess::polygon_perimeter(n.polygon) * kMpp;
      n.measurements.circularity = 0.5 + 0.01 * i;
      nuclei.push_back(std::move(n));
    }
    s.commit(nuclei, {});
    for (int i = 0; i < kCount; ++i) {
      if (isTumor(i)) s.set_class(i + 1, "Tumor", "maker");
      if (stateOf(i) != ReviewState::Unreviewed) s.set_state(i + 1, stateOf(i), "maker");
    }
    return path;
  }

  static int countWhere(const std::function<bool(int)>& pred) {
    int n = 0;
    for (int i = 0; i < kCount; ++i) n += pred(i);
    return n;
  }

  bool waitIdle() {
    return QTest::qWaitFor([&] { return !m_window->isBusy() && !m_window->measurementPanel()->isLoading(); }, 30000);
  }

  void newWindow() {
    m_window = std::make_unique<MainWindow>();
    m_window->setErrorReporter([this](const QString& t, const QString& m) { m_reports << t + QStringLiteral(": ") + m; });
    m_window->setConfirmer([](const QString&, const QString&) { return false; });
    m_window->resize(1200, 900);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
  }

  // A window showing the synthetic slide with a fresh store, the grid in view at outline zoom.
  void openWithResults() {
    newWindow();
    QSignalSpy opened(m_window.get(), &MainWindow::slideOpened);
    m_window->openSlide(karyon::uitest::syntheticSlidePath());
    QVERIFY(QTest::qWaitFor([&] { return opened.size() == 1; }, 20000));
    QVERIFY(m_window->openResults(makeStore()));
    m_window->viewer()->setDownsample(1.0);
    m_window->viewer()->centerOn(kCentre);
    QVERIFY(waitIdle());
    QVERIFY(QTest::qWaitFor([&] { return m_window->viewer()->isIdle(); }, 20000));
    QVERIFY(m_window->overlay()->showsOutlines());
    QCOMPARE(static_cast<int>(m_window->overlay()->shapes().size()), countWhere([](int i) { return stateOf(i) != ReviewState::Deleted; }));
  }

  QImage grabView() {
    QCoreApplication::processEvents();
    return m_window->viewer()->grab().toImage().convertToFormat(QImage::Format_RGB32);
  }

  // The widget rectangle of nucleus i's box, shrunk into its inside plus the outline.
  QRect widgetBox(int i) {
    const double r = radiusOf(i) + 2;
    const QPointF a = m_window->viewer()->mapFromLevel0(centreOf(i) - QPointF(r, r));
    const QPointF b = m_window->viewer()->mapFromLevel0(centreOf(i) + QPointF(r, r));
    return QRectF(a, b).toAlignedRect();
  }

  static int differingPixels(const QImage& a, const QImage& b, const QRect& r) {
    int n = 0;
    for (int y = std::max(0, r.top()); y <= std::min(a.height() - 1, r.bottom()); ++y)
      for (int x = std::max(0, r.left()); x <= std::min(a.width() - 1, r.right()); ++x) n += a.pixel(x, y) != b.pixel(x, y);
    return n;
  }

  static double meanGrey(const QImage& img) {
    double sum = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width(); ++x) sum += qGray(img.pixel(x, y));
    return sum / (static_cast<double>(img.width()) * img.height());
  }

 private slots:
  void initTestCase() {
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, karyon::uitest::scratchDir().path());
    QCoreApplication::setOrganizationName(QStringLiteral("KaryonTest"));
    QCoreApplication::setApplicationName(QStringLiteral("karyon-review-tools-test"));
    QStandardPaths::setTestModeEnabled(true);
  }

  void init() {
    m_reports.clear();
    QSettings().clear();
  }

  void cleanup() {
    m_window.reset();
    QVERIFY2(m_reports.isEmpty(), qPrintable(m_reports.join(QLatin1Char('\n'))));
  }

  // Defect 3 through the window: the export leaves rejected nuclei out and says how many; kept on
  // request, they are "Nucleus: Rejected"; the app's class colour is the export's.
  void export_leaves_rejected_nuclei_out_and_says_how_many() {
    openWithResults();
    const int rejected = countWhere([](int i) { return stateOf(i) == ReviewState::Rejected; });
    const int deleted = countWhere([](int i) { return stateOf(i) == ReviewState::Deleted; });
    QVERIFY(rejected >= 2);
    const QString out = karyon::uitest::scratchDir().filePath(QStringLiteral("tools-export.geojson"));
    QSignalSpy done(m_window.get(), &MainWindow::exportFinished);
    m_window->exportResults(QStringLiteral("geojson"), out);
    QVERIFY(QTest::qWaitFor([&] { return done.size() == 1; }, 20000));
    QCOMPARE(done.at(0).at(1).toLongLong(), qint64(kCount - rejected - deleted));
    const QString message = m_window->statusBar()->currentMessage();
    QVERIFY2(message.contains(QStringLiteral("%1 rejected left out").arg(rejected)), qPrintable(message));

    auto classesIn = [&] {
      QFile f(out);
      if (!f.open(QIODevice::ReadOnly)) qFatal("export missing");
      QMap<QString, QJsonObject> byName;
      for (const auto& v : QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("features")).toArray()) {
        const QJsonObject c = v.toObject().value(QStringLiteral("properties")).toObject().value(QStringLiteral("classification")).toObject();
        byName[c.value(QStringLiteral("name")).toString()] = c;
      }
      return byName;
    };
    auto names = classesIn();
    QVERIFY(names.contains(QStringLiteral("Nucleus: Accepted")));
    QVERIFY(!names.contains(QStringLiteral("Nucleus: Rejected")));
    QVERIFY(names.contains(QStringLiteral("Tumor")));
    // The colour the app draws the Tumor class in (colour by class) is the one QuPath gets.
    const QJsonArray rgb = names.value(QStringLiteral("Tumor")).value(QStringLiteral("color")).toArray();
    QCOMPARE(NucleusOverlay::classColor(QStringLiteral("Tumor")), QColor(rgb[0].toInt(), rgb[1].toInt(), rgb[2].toInt()));

    m_window->exportResults(QStringLiteral("geojson"), out, true);
    QVERIFY(QTest::qWaitFor([&] { return done.size() == 2; }, 20000));
    QCOMPARE(done.at(1).at(1).toLongLong(), qint64(kCount - deleted));
    QVERIFY(!m_window->statusBar()->currentMessage().contains(QStringLiteral("left out")));
    names = classesIn();
    QVERIFY(names.contains(QStringLiteral("Nucleus: Rejected")));
    QVERIFY(waitIdle());
  }

  void measurement_table_sorts_counts_and_goes_to_the_clicked_nucleus() {
    openWithResults();
    MeasurementPanel* panel = m_window->measurementPanel();
    QVERIFY(panel->isVisible());
    NucleusTableModel* model = panel->model();
    const int shown = countWhere([](int i) { return stateOf(i) != ReviewState::Deleted; });
    QCOMPARE(model->rowCount(), shown);

    // Counts per class and state: the engine's tally of what is in the table.
    const auto& c = model->counts();
    QCOMPARE(c.per_class.at("Tumor")[int(ReviewState::Unreviewed)], qint64(countWhere(isTumor)));
    QCOMPARE(c.per_state[int(ReviewState::Rejected)], qint64(countWhere([](int i) { return stateOf(i) == ReviewState::Rejected; })));
    QCOMPARE(c.total(), qint64(shown));
    QVERIFY(panel->countsLabel()->text().contains(QStringLiteral("Tumor")));

    // Sort by area, largest first (numbers as numbers: "9.8" must not sort above "12.3").
    QTableView* table = panel->table();
    const int areaColumn = NucleusTableModel::FirstMeasurementColumn;
    QCOMPARE(model->headerData(areaColumn, Qt::Horizontal, Qt::DisplayRole).toString(), QStringLiteral("Area \u00b5m^2"));
    table->sortByColumn(areaColumn, Qt::DescendingOrder);
    int largest = -1;
    for (int i = 0; i < kCount; ++i)
      if (stateOf(i) != ReviewState::Deleted && (largest < 0 || radiusOf(i) > radiusOf(largest))) largest = i;
    double previous = 1e300;
    for (int r = 0; r < table->model()->rowCount(); ++r) {
      const double v = table->model()->index(r, areaColumn).data(NucleusTableModel::kSortRole).toDouble();
      QVERIFY2(v <= previous, "area column not sorted");
      previous = v;
    }
    const double topArea = table->model()->index(0, areaColumn).data(NucleusTableModel::kSortRole).toDouble();
    QCOMPARE(radiusOf(static_cast<int>(table->model()->index(0, 0).data(NucleusTableModel::kIdRole).toLongLong() - 1)),
             radiusOf(largest));
    QVERIFY(topArea > 0);

    // Click the last row: the view centres on that nucleus and selects it.
    const int row = table->model()->rowCount() - 1;
    const qint64 id = table->model()->index(row, 0).data(NucleusTableModel::kIdRole).toLongLong();
    m_window->viewer()->centerOn(QPointF(300, 300));  // elsewhere first
    table->scrollTo(table->model()->index(row, 0));
    const QRect cell = table->visualRect(table->model()->index(row, 1));
    QVERIFY(cell.isValid());
    QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, cell.center());
    QCOMPARE(m_window->overlay()->selected(), id);
    const QPointF centre = centreOf(static_cast<int>(id - 1));
    QVERIFY2(QLineF(m_window->viewer()->centerLevel0(), centre).length() < 2,
             qPrintable(QStringLiteral("view centre %1,%2, nucleus at %3,%4").arg(m_window->viewer()->centerLevel0().x())
                            .arg(m_window->viewer()->centerLevel0().y()).arg(centre.x()).arg(centre.y())));

    // Histogram of the chosen measurement over the nuclei not rejected; another choice rebins.
    const int notRejected = countWhere([](int i) { return stateOf(i) != ReviewState::Deleted && stateOf(i) != ReviewState::Rejected; });
    QCOMPARE(panel->histogram()->histogram().total(), qint64(notRejected));
    QCOMPARE(static_cast<int>(panel->histogram()->histogram().counts.size()), MeasurementPanel::kHistogramBins);
    QVERIFY(panel->histogram()->histogram().hi > panel->histogram()->histogram().lo);
    panel->histogramChoice()->setCurrentIndex(panel->histogramChoice()->findText(QStringLiteral("Circularity")));
    QVERIFY(panel->histogram()->label().startsWith(QStringLiteral("Circularity")));
    QVERIFY(panel->histogram()->histogram().hi <= 0.5 + 0.01 * kCount);

    // A review edit updates its row and the counts without a rescan.
    const int unreviewedBefore = static_cast<int>(model->counts().per_state[int(ReviewState::Unreviewed)]);
    int target = 0;
    while (stateOf(target) != ReviewState::Unreviewed || isTumor(target)) ++target;
    m_window->jumpTo(target + 1);
    m_window->acceptSelected();
    QTRY_COMPARE(model->counts().per_state[int(ReviewState::Unreviewed)], qint64(unreviewedBefore - 1));
    QCOMPARE(model->index(model->rowOfId(target + 1), NucleusTableModel::StateColumn).data().toString(), QStringLiteral("accepted"));
    QVERIFY(!panel->isLoading());
    QVERIFY(waitIdle());
  }

  void brightness_contrast_and_gamma_change_the_display_only() {
    // The lookup table itself.
    DisplayAdjustment a;
    QVERIFY(a.isIdentity());
    auto lut = a.lookupTable();
    for (int i = 0; i < 256; ++i) QCOMPARE(int(lut[i]), i);
    a.brightness = -0.2;
    QCOMPARE(int(a.lookupTable()[255]), 204);
    a = {};
    a.contrast = 2;
    QCOMPARE(int(a.lookupTable()[64]), 0);
    QCOMPARE(int(a.lookupTable()[192]), 255);
    a = {};
    a.gamma = 2;
    QCOMPARE(int(a.lookupTable()[64]), static_cast<int>(std::lround(std::sqrt(64 / 255.0) * 255)));

    openWithResults();
    SlideViewer* viewer = m_window->viewer();
    for (int i = 0; i < kCount; ++i) m_window->overlay()->setStateShown(stateOf(i), false);  // the tissue only
    const QImage plain = grabView();
    ImageAdjustDialog* dialog = m_window->showImageAdjustDialog();
    QVERIFY(dialog->isVisible());
    dialog->brightnessSlider()->setValue(-30);
    QCOMPARE(viewer->displayAdjustment().brightness, -0.3);
    const QImage darker = grabView();
    QVERIFY2(meanGrey(darker) < meanGrey(plain) - 30,
             qPrintable(QStringLiteral("mean grey %1 -> %2").arg(meanGrey(plain)).arg(meanGrey(darker))));
    dialog->brightnessSlider()->setValue(0);
    dialog->gammaSlider()->setValue(100);  // gamma 2: mid-tones lighter
    QCOMPARE(viewer->displayAdjustment().gamma, 2.0);
    const QImage lighter = grabView();
    QVERIFY(meanGrey(lighter) > meanGrey(plain) + 5);
    dialog->contrastSlider()->setValue(100);  // contrast 2
    QCOMPARE(viewer->displayAdjustment().contrast, 2.0);

    // Display only: what the engine measures under an outline does not change.
    karyon::core::Polygon poly;
    for (int k = 0; k < 12; ++k)
      poly.outer.push_back({kCentre.x() + 15 * std::cos(k * M_PI / 6), kCentre.y() + 15 * std::sin(k * M_PI / 6)});
    const auto adjusted = m_window->session()->withPolygon({}, poly).measurements;
    dialog->reset();
    QVERIFY(viewer->displayAdjustment().isIdentity());
    QCOMPARE(dialog->gammaSlider()->value(), 0);
    const auto unadjusted = m_window->session()->withPolygon({}, poly).measurements;
    QVERIFY(unadjusted.hematoxylin_od > 0);
    QCOMPARE(adjusted.hematoxylin_od, unadjusted.hematoxylin_od);
    QCOMPARE(adjusted.eosin_od, unadjusted.eosin_od);
    // Reset gives back exactly the unadjusted picture.
    QCOMPARE(differingPixels(plain, grabView(), plain.rect()), 0);
  }

  void outlines_hide_by_state_and_by_class() {
    openWithResults();
    NucleusOverlay* overlay = m_window->overlay();
    int accepted = 0, unreviewed = 0, tumor = 0;
    while (stateOf(accepted) != ReviewState::Accepted) ++accepted;
    while (stateOf(unreviewed) != ReviewState::Unreviewed || isTumor(unreviewed)) ++unreviewed;
    while (!isTumor(tumor)) ++tumor;
    QCOMPARE(overlay->nucleusAt(centreOf(accepted)), qint64(accepted + 1));
    const QImage all = grabView();

    auto* hideAccepted = m_window->findChild<QAction*>(QStringLiteral("showState_accepted"));
    QVERIFY(hideAccepted && hideAccepted->isChecked());
    hideAccepted->trigger();
    QVERIFY(!overlay->isStateShown(ReviewState::Accepted));
    const QImage noAccepted = grabView();
    QVERIFY2(differingPixels(all, noAccepted, widgetBox(accepted)) > 20, "the accepted outline is still drawn");
    QCOMPARE(differingPixels(all, noAccepted, widgetBox(unreviewed)), 0);
    QCOMPARE(overlay->nucleusAt(centreOf(accepted)), qint64(0));  // hidden: not clickable either
    hideAccepted->trigger();
    QCOMPARE(differingPixels(all, grabView(), all.rect()), 0);

    // By class: the menu lists the classes of the results.
    QMenu* byClass = nullptr;
    for (QMenu* m : m_window->findChildren<QMenu*>())
      if (m->title().remove(QLatin1Char('&')) == QStringLiteral("Show Outlines by Class")) byClass = m;
    QVERIFY(byClass);
    QMetaObject::invokeMethod(byClass, "aboutToShow");
    QAction* tumorAction = nullptr;
    for (QAction* a : byClass->actions())
      if (a->objectName() == QStringLiteral("showClass_Tumor")) tumorAction = a;
    QVERIFY2(tumorAction, "no Tumor entry in Show Outlines by Class");
    tumorAction->trigger();
    QVERIFY(!overlay->isClassShown(QStringLiteral("Tumor")));
    const QImage noTumor = grabView();
    QVERIFY(differingPixels(all, noTumor, widgetBox(tumor)) > 20);
    QCOMPARE(differingPixels(all, noTumor, widgetBox(unreviewed)), 0);
    QCOMPARE(overlay->nucleusAt(centreOf(tumor)), qint64(0));
    QVERIFY(waitIdle());
  }

  void auto_advance_after_accept_or_reject_is_a_remembered_setting() {
    openWithResults();
    QVERIFY(!m_window->autoAdvance());  // off by default
    // Off: Accept leaves the nucleus selected.
    m_window->nextInQueue();
    const qint64 first = m_window->overlay()->selected();
    QVERIFY(first);
    m_window->acceptSelected();
    QCOMPARE(m_window->overlay()->selected(), first);

    auto* action = m_window->findChild<QAction*>(QStringLiteral("autoAdvanceAction"));
    QVERIFY(action && action->isCheckable());
    action->trigger();
    QVERIFY(m_window->autoAdvance());
    QCOMPARE(QSettings().value(QStringLiteral("review/autoAdvance")).toBool(), true);
    // On: the queue order (lowest score first) after `first`, through Accept and Reject.
    m_window->nextInQueue();
    const qint64 second = m_window->overlay()->selected();
    QVERIFY(second && second != first);
    m_window->acceptSelected();
    const qint64 third = m_window->overlay()->selected();
    QVERIFY2(third && third != second, "Accept did not move on to the next in the queue");
    QCOMPARE(m_window->session()->nucleus(second)->state, ReviewState::Accepted);
    QVERIFY(m_window->session()->nucleus(third)->state == ReviewState::Unreviewed);
    QVERIFY(m_window->session()->nucleus(third)->score > m_window->session()->nucleus(second)->score);
    m_window->rejectSelected();
    QVERIFY(m_window->overlay()->selected() != third);
    QCOMPARE(m_window->session()->nucleus(third)->state, ReviewState::Rejected);
    QVERIFY(waitIdle());

    // Remembered by the next session.
    m_window.reset();
    newWindow();
    QVERIFY(m_window->autoAdvance());
  }

  void help_lists_the_keyboard_shortcuts_on_f1_and_question_mark() {
    newWindow();
    QVERIFY(!m_window->findChild<ShortcutsDialog*>());
    QTest::keyClick(m_window->viewer(), Qt::Key_F1);
    auto* dialog = m_window->findChild<ShortcutsDialog*>();
    QVERIFY2(dialog && dialog->isVisible(), "F1 did not open the shortcuts");
    auto has = [&](const QString& key, const QString& action) {
      for (const auto& [k, a] : dialog->entries())
        if (k == key && a.contains(action)) return true;
      return false;
    };
    QVERIFY(has(QStringLiteral("A"), QStringLiteral("Review \u2192 Accept")));
    QVERIFY(has(QStringLiteral("R"), QStringLiteral("Review \u2192 Reject")));
    QVERIFY(has(QStringLiteral("N"), QStringLiteral("Next in Queue")));
    QVERIFY(has(QStringLiteral("Ctrl+Shift+C"), QStringLiteral("Adjust Image")));
    QVERIFY(has(QStringLiteral("Home"), QStringLiteral("Fit the slide")));
    dialog->close();
    QVERIFY(!dialog->isVisible());
    QTest::keyClick(m_window->viewer(), Qt::Key_Question);
    QVERIFY2(dialog->isVisible(), "? did not open the shortcuts");
    dialog->close();
    QTest::keyClick(m_window->viewer(), Qt::Key_Question, Qt::ShiftModifier);
    QVERIFY2(dialog->isVisible(), "Shift+? did not open the shortcuts");
  }
};

QTEST_MAIN(ReviewToolsTest)
#include "ui_review_tools_test.moc"
